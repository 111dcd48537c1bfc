//! Ways to reach a printer: TCP port 9100, the USB printer device file, a serial port, and
//! a plain file. Every read takes a deadline, because a printer that does not answer must
//! become an error in bounded time, never a hang.
//!
//! The escpos crate's drivers are not used here: `NetworkDriver` fixes the read timeout
//! at open (and with a timeout accepts only an IP address), `SerialPortDriver::read` resets
//! the timeout to 5 s on every call, and `FileDriver` reads without any timeout.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::Error;

pub trait Transport: Send {
    /// Where it goes, for messages (no personal data).
    fn describe(&self) -> String;
    /// Writes everything before the deadline or fails.
    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()>;
    /// Reads what arrives before the deadline; `Ok(0)` means nothing came in time.
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize>;
    /// Whether the printer can answer on this transport (a plain file cannot).
    fn can_read(&self) -> bool {
        true
    }
    /// Bytes a second the link carries, to size the completion timeout.
    fn link_rate(&self) -> u64;
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

// ---- TCP ------------------------------------------------------------------------------------

pub struct TcpTransport {
    stream: TcpStream,
    peer: String,
}

impl TcpTransport {
    /// Connects to a host name or address; replies come back on the same connection.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpTransport> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"));
        for addr in (host, port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    // Status requests are three bytes: without this, Nagle holds them back.
                    stream.set_nodelay(true)?;
                    return Ok(TcpTransport {
                        stream,
                        peer: format!("tcp://{host}:{port}"),
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Transport for TcpTransport {
    fn describe(&self) -> String {
        self.peer.clone()
    }

    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            let left = remaining(deadline);
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.stream.set_write_timeout(Some(left))?;
            match self.stream.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        let left = remaining(deadline).max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(left))?;
        match self.stream.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the printer closed the connection",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn link_rate(&self) -> u64 {
        // A 10 Mbit/s printer interface, with room for a busy LAN.
        500_000
    }
}

// ---- device file (USB printer class, /dev/usb/lpN) -----------------------------------------

/// A character device opened read-write and polled: the Linux USB printer class driver
/// returns the printer's replies on read and supports poll.
pub struct DeviceTransport {
    file: File,
    path: PathBuf,
    rate: u64,
}

impl DeviceTransport {
    pub fn open(path: impl Into<PathBuf>) -> io::Result<DeviceTransport> {
        let path = path.into();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            // Non-blocking, so a printer that stops taking data cannot hang a write past
            // its deadline; not a controlling terminal, if the path is a tty.
            .custom_flags(
                rustix::fs::OFlags::NONBLOCK.bits() as i32
                    | rustix::fs::OFlags::NOCTTY.bits() as i32,
            )
            .open(&path)?;
        Ok(DeviceTransport {
            file,
            path,
            rate: 200_000,
        })
    }

    fn wait(&self, flags: PollFlags, deadline: Instant) -> io::Result<bool> {
        let left = remaining(deadline);
        let ts = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&self.file, flags)];
        loop {
            match rustix::event::poll(&mut fds, Some(&ts)) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Transport for DeviceTransport {
    fn describe(&self) -> String {
        format!("usb://{}", self.path.display())
    }

    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.wait(PollFlags::OUT, deadline)? {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        loop {
            match self.file.read(buf) {
                Ok(n) if n > 0 => return Ok(n),
                // usblp returns 0 when the printer has nothing to say yet.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if remaining(deadline).is_zero() || !self.wait(PollFlags::IN, deadline)? {
                return Ok(0);
            }
        }
    }

    fn link_rate(&self) -> u64 {
        self.rate
    }
}

// ---- serial ---------------------------------------------------------------------------------

pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    path: String,
    baud: u32,
}

impl SerialTransport {
    pub fn open(path: &str, baud: u32) -> io::Result<SerialTransport> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            // DTR/RTS flow control is what most receipt printers use, but it needs the
            // cable for it; XON/XOFF would eat 0x11/0x13 bytes of raster data. None: the
            // timeouts catch a printer that stops taking data.
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(io::Error::other)?;
        Ok(SerialTransport {
            port,
            path: path.into(),
            baud,
        })
    }
}

impl Transport for SerialTransport {
    fn describe(&self) -> String {
        format!("serial://{}?baud={}", self.path, self.baud)
    }

    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            let left = remaining(deadline);
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.port.set_timeout(left).map_err(io::Error::other)?;
            match self.port.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Err(e) => return Err(e),
            }
        }
        self.port.flush()
    }

    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        let left = remaining(deadline).max(Duration::from_millis(1));
        self.port.set_timeout(left).map_err(io::Error::other)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn link_rate(&self) -> u64 {
        // 8N1: ten bits on the wire a byte.
        u64::from(self.baud) / 10
    }
}

// ---- file -----------------------------------------------------------------------------------

/// Appends the bytes to a file: the demo's printer when no emulator runs, and a way to keep
/// exactly what a printer would get. It cannot answer, so nothing is confirmed.
pub struct FileTransport {
    file: File,
    path: PathBuf,
}

impl FileTransport {
    pub fn open(path: impl Into<PathBuf>) -> io::Result<FileTransport> {
        let path = path.into();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(FileTransport { file, path })
    }
}

impl Transport for FileTransport {
    fn describe(&self) -> String {
        format!("file://{}", self.path.display())
    }
    fn write_all(&mut self, data: &[u8], _deadline: Instant) -> io::Result<()> {
        self.file.write_all(data)?;
        self.file.flush()
    }
    fn read(&mut self, _buf: &mut [u8], _deadline: Instant) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a file printer cannot answer",
        ))
    }
    fn can_read(&self) -> bool {
        false
    }
    fn link_rate(&self) -> u64 {
        u64::MAX
    }
}

// ---- endpoints ------------------------------------------------------------------------------

/// A printer address as `kiosk.toml` writes it (`[endpoints] printer`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp { host: String, port: u16 },
    Usb { path: PathBuf },
    Serial { path: String, baud: u32 },
    File { path: PathBuf },
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Endpoint, Error> {
        let bad = || Error::BadEndpoint(s.to_string());
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        match scheme {
            "tcp" => {
                let rest = rest.trim_end_matches('/');
                let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
                    let (h, p) = v6.split_once(']').ok_or_else(bad)?;
                    let port = match p.strip_prefix(':') {
                        Some(p) => p.parse().map_err(|_| bad())?,
                        None if p.is_empty() => 9100,
                        None => return Err(bad()),
                    };
                    (h, port)
                } else if let Some((h, p)) = rest.rsplit_once(':') {
                    (h, p.parse().map_err(|_| bad())?)
                } else {
                    (rest, 9100)
                };
                if host.is_empty() || host.contains(['/', '?', '@']) || port == 0 {
                    return Err(bad());
                }
                Ok(Endpoint::Tcp {
                    host: host.into(),
                    port,
                })
            }
            "usb" if rest.starts_with('/') => Ok(Endpoint::Usb { path: rest.into() }),
            "file" if rest.starts_with('/') => Ok(Endpoint::File { path: rest.into() }),
            "serial" if rest.starts_with('/') => {
                let (path, q) = rest.split_once('?').unwrap_or((rest, ""));
                let mut baud = 9600;
                for kv in q.split('&').filter(|x| !x.is_empty()) {
                    match kv.split_once('=') {
                        Some(("baud", v)) => baud = v.parse().map_err(|_| bad())?,
                        _ => return Err(bad()),
                    }
                }
                Ok(Endpoint::Serial {
                    path: path.into(),
                    baud,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Usb { path } => write!(f, "usb://{}", path.display()),
            Endpoint::Serial { path, baud } => write!(f, "serial://{path}?baud={baud}"),
            Endpoint::File { path } => write!(f, "file://{}", path.display()),
        }
    }
}

impl Endpoint {
    pub fn open(&self, timeout: Duration) -> io::Result<Box<dyn Transport>> {
        Ok(match self {
            Endpoint::Tcp { host, port } => Box::new(TcpTransport::connect(host, *port, timeout)?),
            Endpoint::Usb { path } => Box::new(DeviceTransport::open(path)?),
            Endpoint::Serial { path, baud } => Box::new(SerialTransport::open(path, *baud)?),
            Endpoint::File { path } => Box::new(FileTransport::open(path)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            "tcp://127.0.0.1:9100".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 9100
            }
        );
        assert_eq!(
            "tcp://printer.hall.local".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp {
                host: "printer.hall.local".into(),
                port: 9100
            }
        );
        assert_eq!(
            "serial:///dev/ttyS0?baud=19200"
                .parse::<Endpoint>()
                .unwrap(),
            Endpoint::Serial {
                path: "/dev/ttyS0".into(),
                baud: 19200
            }
        );
        assert_eq!(
            "usb:///dev/usb/lp0".parse::<Endpoint>().unwrap(),
            Endpoint::Usb {
                path: "/dev/usb/lp0".into()
            }
        );
        for bad in [
            "lpt1",
            "tcp://:9100",
            "tcp://h:x",
            "usb://lp0",
            "serial:///dev/ttyS0?speed=9",
        ] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
        let e = "file:///tmp/x.bin".parse::<Endpoint>().unwrap();
        assert_eq!(e.to_string(), "file:///tmp/x.bin");
    }
}
