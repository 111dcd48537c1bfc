//! The printer emulator (emupos, from PyPI, in `.venv-emupos/` made by
//! `scripts/setup-printer`): the simulated printer of tests, benchmarks and the demo.
//! It listens on loopback only, answers DLE EOT and GS r on the same connection, renders
//! every receipt to PNG and text, and takes faults through its control API.
//!
//! This module starts it and talks to its control API with a few lines of HTTP/1.1 over a
//! loopback socket (the API has no authentication and is never exposed).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The emupos release the tests were written against.
pub const EMUPOS_VERSION: &str = "0.4.0";

/// One simulated printer.
#[derive(Clone, Debug)]
pub struct DeviceSpec {
    pub id: String,
    /// 576 uses emupos's Epson TM-T20III profile; any other width gets a profile file.
    pub width_dots: u16,
    /// Also open a serial port (a pty, linked at `<dir>/emupos/<id>`).
    pub serial: bool,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub tcp_port: u16,
    pub serial_path: Option<PathBuf>,
}

pub struct Emulator {
    child: Child,
    pub api_port: u16,
    pub dir: PathBuf,
    pub devices: Vec<Device>,
}

/// The emupos program: `EMUPOS_BIN`, else `.venv-emupos/bin/emupos` in the repository.
pub fn find_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EMUPOS_BIN") {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    let mut starts = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    for start in starts {
        for dir in start.ancestors() {
            let p = dir.join(".venv-emupos/bin/emupos");
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

fn free_port() -> io::Result<u16> {
    // Bound and released: another process could take it in between, which on a loopback
    // test machine is rare enough; emupos then fails to start and says so.
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn profile_yaml(width: u16) -> String {
    format!(
        "# {width}-dot printer for the kiosk tests (58 mm paper at 203 dpi is 384 dots).\n\
         type: printer\nname: Test {width} dots\ndpi: 203\nwidth_dots: {width}\n\
         font_a: {{ width: 12, height: 24 }}\nfont_b: {{ width: 9, height: 17 }}\n\
         code_pages:\n  0: PC437\ndefault_code_page: 0\ndrawer_sensor_open_level: high\n\
         serial: {{ baud: 9600, data_bits: 8, parity: none, stop_bits: 1 }}\n"
    )
}

impl Emulator {
    /// Starts emupos with these printers in `dir` (its configuration, receipts, pty links
    /// and log go there) and waits until its API answers.
    ///
    /// With `die_with_parent`, the emulator gets SIGTERM when the thread that started it
    /// ends (Linux `PR_SET_PDEATHSIG`): a test process that is killed leaves no emulator
    /// behind.
    pub fn start(
        bin: &Path,
        dir: &Path,
        specs: &[DeviceSpec],
        die_with_parent: bool,
    ) -> io::Result<Emulator> {
        std::fs::create_dir_all(dir)?;
        let api_port = free_port()?;
        let mut yaml =
            format!("schema: 1\napi: {{ host: 127.0.0.1, port: {api_port} }}\ndevices:\n");
        let mut devices = Vec::new();
        for s in specs {
            let port = free_port()?;
            let profile = if s.width_dots == 576 {
                "epson-tm-t20iii".to_string()
            } else {
                let f = dir.join(format!("profile-{}.yaml", s.width_dots));
                std::fs::write(&f, profile_yaml(s.width_dots))?;
                f.display().to_string()
            };
            yaml.push_str(&format!(
                "  - id: {}\n    type: printer\n    profile: {profile}\n    job_idle_timeout_ms: 1000\n    receipts_dir: ./receipts\n    connections:\n      - tcp: {{ host: 127.0.0.1, port: {port} }}\n",
                s.id
            ));
            if s.serial {
                yaml.push_str("      - serial: { pty: true }\n");
            }
            devices.push(Device {
                id: s.id.clone(),
                tcp_port: port,
                serial_path: s.serial.then(|| dir.join("emupos").join(&s.id)),
            });
        }
        std::fs::write(dir.join("emupos.yaml"), yaml)?;
        let log = std::fs::File::create(dir.join("emupos.log"))?;
        let mut cmd = Command::new(bin);
        cmd.args(["run", "--config", "emupos.yaml"])
            .current_dir(dir)
            // pty links go under $TMPDIR/emupos: one folder per emulator.
            .env("TMPDIR", dir)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "200")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if die_with_parent {
            use std::os::unix::process::CommandExt;
            // SAFETY: only an async-signal-safe prctl between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    rustix::process::set_parent_process_death_signal(Some(
                        rustix::process::Signal::TERM,
                    ))
                    .map_err(io::Error::from)
                });
            }
        }
        let child = cmd.spawn()?;
        let mut emu = Emulator {
            child,
            api_port,
            dir: dir.to_path_buf(),
            devices,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = emu.child.try_wait()? {
                let log = std::fs::read_to_string(dir.join("emupos.log")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "emupos exited ({status}) during start-up:\n{log}"
                )));
            }
            let ready = matches!(emu.http("GET", "/api/v1/health"), Ok((200, _)))
                && emu
                    .devices
                    .iter()
                    .all(|d| d.serial_path.as_ref().is_none_or(|p| p.exists()));
            if ready {
                return Ok(emu);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "emupos did not answer within 30 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// `PUT` or `DELETE /api/v1/devices/{id}/faults/{fault}`: paper-near-end, paper-out,
    /// cover-open, offline.
    pub fn set_fault(&self, device: &str, fault: &str, active: bool) -> io::Result<()> {
        let method = if active { "PUT" } else { "DELETE" };
        let (code, body) =
            self.http(method, &format!("/api/v1/devices/{device}/faults/{fault}"))?;
        if code != 204 {
            return Err(io::Error::other(format!(
                "emupos refused {method} fault {fault}: {code} {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(())
    }

    /// Completed receipt ids, newest first.
    pub fn receipts(&self, device: &str) -> io::Result<Vec<String>> {
        let (code, body) = self.http("GET", &format!("/api/v1/devices/{device}/receipts"))?;
        if code != 200 {
            return Err(io::Error::other(format!("receipts: HTTP {code}")));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(io::Error::other)?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("id").and_then(|x| x.as_str()).map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Waits until the device has at least `count` receipts; returns their ids.
    pub fn wait_receipts(
        &self,
        device: &str,
        count: usize,
        timeout: Duration,
    ) -> io::Result<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = self.receipts(device)?;
            if r.len() >= count || Instant::now() > deadline {
                return Ok(r);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn receipt_png(&self, device: &str, id: &str) -> io::Result<Vec<u8>> {
        self.get_ok(&format!("/api/v1/devices/{device}/receipts/{id}/image"))
    }

    pub fn receipt_text(&self, device: &str, id: &str) -> io::Result<String> {
        let b = self.get_ok(&format!("/api/v1/devices/{device}/receipts/{id}/text"))?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    fn get_ok(&self, path: &str) -> io::Result<Vec<u8>> {
        match self.http("GET", path)? {
            (200, b) => Ok(b),
            (c, b) => Err(io::Error::other(format!(
                "GET {path}: {c} {}",
                String::from_utf8_lossy(&b)
            ))),
        }
    }

    /// One request on a fresh connection; returns the status code and the body.
    pub fn http(&self, method: &str, path: &str) -> io::Result<(u16, Vec<u8>)> {
        let mut s = TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, self.api_port).into(),
            Duration::from_secs(2),
        )?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            self.api_port
        )?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp)?;
        let split = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| io::Error::other("malformed HTTP response"))?;
        let head = String::from_utf8_lossy(&resp[..split]).to_string();
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| io::Error::other("no HTTP status"))?;
        let mut body = resp[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Ok((code, body))
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..p]).trim(), 16).unwrap_or(0);
        if size == 0 || p + 2 + size > b.len() {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + size]);
        b = &b[(p + 4 + size).min(b.len())..];
    }
    out
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
