//! Load simulator: N kiosks (the kiosk's own telemetry code, one MQTT connection each)
//! against a real `tax-hall serve` process with its embedded broker and SQLite.
//!
//! `cargo bench -p hall --bench load -- [--kiosks 1000,5000] [--seconds 20] [--interval-ms 5000]`
//!
//! Each kiosk sends a heartbeat every interval and changes its session state every two
//! intervals (retained, QoS 1), as a busy hall does. Printed figures:
//! - `FIGURE hall.ingest.msgs_per_s`: MQTT messages the console applied per second
//!   under the steady load, and `hall.ingest.burst_msgs_per_s` when every kiosk sends
//!   events back to back for 5 s (the console's capacity);
//! - `FIGURE hall.dashboard.latency_ms`: from a kiosk publishing a printer change to
//!   the dashboard's server-sent event carrying that kiosk's new tile (20 samples,
//!   while the load runs);
//! - `FIGURE hall.memory.rss_mib`: the console process's resident memory under the
//!   steady load, after the burst, and its peak.
//!
//! Bounded: connects N clients, runs `--seconds`, takes 20 latency samples with a
//! 5 s timeout each, then stops everything it started.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use telemetry::{
    BrokerAddr, DeviceStatus, Incoming, KioskLink, LinkSettings, PrinterStatus, SessionState,
};

const HALL: &str = "HALL-5301";
const USER: &str = "bench";
const PASS: &str = "bench-password-1";

struct Args {
    kiosks: Vec<usize>,
    seconds: u64,
    interval: Duration,
}

fn args() -> Args {
    let mut a = Args {
        kiosks: vec![1000, 5000],
        seconds: 20,
        interval: Duration::from_millis(5000),
    };
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--kiosks" => {
                a.kiosks = next
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect();
                i += 1;
            }
            "--seconds" => {
                a.seconds = next.parse().unwrap_or(a.seconds).clamp(5, 300);
                i += 1;
            }
            "--interval-ms" => {
                a.interval = Duration::from_millis(next.parse().unwrap_or(5000).clamp(500, 60_000));
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    a.kiosks.retain(|n| (1..=20_000).contains(n));
    a
}

fn key_of(id: &str) -> Vec<u8> {
    format!("bench-key-of-{id}-0123456789").into_bytes()
}

fn kiosk_id(i: usize) -> String {
    format!("KSK-B-{i:05}")
}

struct Console {
    child: Child,
    http: String,
    mqtt: (String, u16),
}

impl Drop for Console {
    fn drop(&mut self) {
        // SIGTERM by pid (the console saves its snapshot and exits), then make sure.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_console(dir: &Path, n: usize) -> Console {
    let exe = env!("CARGO_BIN_EXE_tax-hall");
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut keys = String::from("[kiosks]\n");
    for i in 1..=n {
        let id = kiosk_id(i);
        keys.push_str(&format!("\"{id}\" = \"{}\"\n", hex::encode(key_of(&id))));
    }
    std::fs::write(dir.join("keys.toml"), keys).unwrap();
    let db = dir.join("hall.db");
    let o = Command::new(exe)
        .args(["user", "add", USER, "--role", "staff", "--database"])
        .arg(&db)
        .env("TAX_HALL_PASSWORD", PASS)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
            "--database",
        ])
        .arg(&db)
        .arg("--keys")
        .arg(dir.join("keys.toml"))
        .arg("--config")
        .arg(ws.join("kiosk-config"))
        // Per-connection broker errors (a kiosk dropped under load) would flood the output.
        .env("RUST_LOG", "warn,rumqttd::server::broker=off")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "tax-hall listening http://ADDR mqtt://HOST:PORT"
    let http = line
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string();
    let mqtt = line
        .split_whitespace()
        .nth(3)
        .unwrap_or_default()
        .trim_start_matches("mqtt://")
        .to_string();
    let (host, port) = mqtt.rsplit_once(':').expect("the console's start line");
    Console {
        child,
        http,
        mqtt: (host.to_string(), port.parse().unwrap()),
    }
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn login(base: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.split(';')
                    .next()?
                    .strip_prefix(&format!("{name}="))
                    .map(str::to_string)
            })
    };
    let lc = cookie(&page, "__Host-hall-login").unwrap();
    let html = page.text().await.unwrap();
    let token = html
        .split("name=\"login_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .post(format!("{base}/login"))
        .header("cookie", format!("__Host-hall-login={lc}"))
        .form(&[
            ("name", USER),
            ("password", PASS),
            ("login_csrf", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    cookie(&r, "__Host-hall").expect("bench login")
}

async fn stats(base: &str, cookie: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{base}/api/stats"))
        .header("cookie", format!("__Host-hall={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn run(n: usize, a: &Args, dir: PathBuf) {
    println!(
        "--- {n} kiosks, heartbeat every {:?}, {} s of load",
        a.interval, a.seconds
    );
    let console = start_console(&dir, n);
    let base = console.http.clone();
    let broker = BrokerAddr {
        host: console.mqtt.0.clone(),
        port: console.mqtt.1,
        username: None,
        password: None,
    };
    let connected = Arc::new(AtomicUsize::new(0));
    let mut links = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 1..=n {
        let id = kiosk_id(i);
        let mut s = LinkSettings::new(HALL, &id, broker.clone(), &key_of(&id), "bench-1.0");
        s.heartbeat = a.interval;
        s.keep_alive = Duration::from_secs(30);
        let (link, mut rx) = KioskLink::start(s);
        let c = connected.clone();
        tokio::spawn(async move {
            let mut first = true;
            while let Some(m) = rx.recv().await {
                if first && matches!(m, Incoming::Connected) {
                    first = false;
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        links.push(Arc::new(link));
        if i % 250 == 0 {
            // Pace the connects as a hall's kiosks come up, not all in one instant.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "connected {} of {n} kiosks in {:.1} s",
        connected.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
    for l in &links {
        l.status(&DeviceStatus::default()).await.unwrap();
    }
    let cookie = login(&base).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = stats(&base, &cookie).await;
        if s["online"].as_u64().unwrap_or(0) as usize >= n || Instant::now() > deadline {
            println!("console sees {} online", s["online"]);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The session churn: each kiosk changes state every two intervals.
    let mut churn = Vec::new();
    for (i, l) in links.iter().enumerate() {
        let l = l.clone();
        let period = a.interval * 2;
        churn.push(tokio::spawn(async move {
            tokio::time::sleep(period * (i as u32 % 97) / 97).await;
            let mut tick = tokio::time::interval(period);
            let mut busy = false;
            loop {
                tick.tick().await;
                busy = !busy;
                let _ = l
                    .session(&SessionState {
                        in_session: busy,
                        screen: if busy { "zones" } else { "attract" }.into(),
                        zone: busy.then(|| "Z03".to_string()),
                        business: None,
                        practice: false,
                        since_ms: telemetry::now_ms(),
                    })
                    .await;
            }
        }));
    }
    tokio::time::sleep(a.interval).await;

    // Ingest rate over the run.
    let m0 = stats(&base, &cookie).await["messages"]
        .as_u64()
        .unwrap_or(0);
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    let m1 = stats(&base, &cookie).await["messages"]
        .as_u64()
        .unwrap_or(0);
    let rate = (m1 - m0) as f64 / t.elapsed().as_secs_f64();

    // Dashboard latency under that load.
    let http = reqwest::Client::new();
    let mut sse = http
        .get(format!("{base}/events"))
        .header("cookie", format!("__Host-hall={cookie}"))
        .send()
        .await
        .unwrap();
    let _ = sse.chunk().await;
    let mut lat = Vec::new();
    let mut missed = 0;
    for s in 0..20usize {
        // Samples start at scattered moments, not in step with the console's 100 ms
        // push tick (which a sample right after the previous push would be).
        tokio::time::sleep(Duration::from_millis((s as u64 * 37) % 150 + 20)).await;
        let idx = (s * 7919) % n;
        let id = kiosk_id(idx + 1);
        let sent = Instant::now();
        links[idx]
            .status(&DeviceStatus {
                printer: PrinterStatus {
                    paper_near_end: true,
                    ..PrinterStatus::default()
                },
                ..DeviceStatus::default()
            })
            .await
            .unwrap();
        let want = format!("\"id\":\"{id}\",\"tone\":\"warn\"");
        let mut buf = String::new();
        let got = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(chunk)) = sse.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                if buf.contains(&want) {
                    return true;
                }
                // Keep only a tail that could hold the start of the match.
                if buf.len() > 1 << 20 {
                    buf = buf[buf.len() - 4096..].to_string();
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        if got {
            lat.push(sent.elapsed().as_secs_f64() * 1000.0);
        } else {
            missed += 1;
        }
        links[idx].status(&DeviceStatus::default()).await.unwrap();
    }
    let (steady_rss, _) = rss_kib(console.child.id());
    // Burst: every kiosk sends events back to back for 5 s (as after a network outage,
    // when kiosks flush what they held); what the console applies per second is its
    // capacity, not the offered load.
    let b0 = stats(&base, &cookie).await["messages"]
        .as_u64()
        .unwrap_or(0);
    let tb = Instant::now();
    let stop = tb + Duration::from_secs(5);
    let mut burst = Vec::new();
    for l in &links {
        let l = l.clone();
        burst.push(tokio::spawn(async move {
            while Instant::now() < stop {
                let _ = l
                    .event(telemetry::KioskEvent::StaffCall {
                        reason: "bench".into(),
                    })
                    .await;
            }
        }));
    }
    for b in burst {
        let _ = b.await;
    }
    // Let the console drain what the broker still holds, up to 10 s.
    let mut last = 0;
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let m = stats(&base, &cookie).await["messages"]
            .as_u64()
            .unwrap_or(0);
        if m == last || Instant::now() > drain_deadline {
            break;
        }
        last = m;
    }
    let burst_rate = (last - b0) as f64 / tb.elapsed().as_secs_f64();
    let (rss, peak) = rss_kib(console.child.id());
    let p50 = percentile(&mut lat, 0.5);
    let p95 = percentile(&mut lat, 0.95);
    let max = lat.iter().cloned().fold(f64::NAN, f64::max);
    let s = stats(&base, &cookie).await;
    println!(
        "FIGURE hall.ingest.msgs_per_s kiosks={n} value={rate:.0} (offered load: heartbeat and session churn)"
    );
    println!(
        "FIGURE hall.ingest.burst_msgs_per_s kiosks={n} value={burst_rate:.0} (every kiosk sending back to back, drained)"
    );
    println!(
        "FIGURE hall.dashboard.latency_ms kiosks={n} p50={p50:.0} p95={p95:.0} max={max:.0} samples={} missed={missed}",
        lat.len()
    );
    println!(
        "FIGURE hall.memory.rss_mib kiosks={n} steady={:.1} after_burst={:.1} peak={:.1}",
        steady_rss as f64 / 1024.0,
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!(
        "console: {} online, {} messages, {} rejected, {} history rows",
        s["online"], s["messages"], s["rejected"], s["db_rows"]
    );
    for c in churn {
        c.abort();
    }
    drop(links);
    drop(console);
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/hall-bench");
    for n in a.kiosks.clone() {
        rt.block_on(run(n, &a, target.join(format!("k{n}"))));
    }
}
