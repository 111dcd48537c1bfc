//! A throwaway X server for the window tests and the cold-start bench: Xvfb on a free
//! display, matchbox as the window manager, and children killed when dropped. Included with
//! `#[path]` so the bench does not pull in the back-office test support.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Children killed (and reaped) when dropped, so a failing test leaves no X server behind.
pub struct Kill(pub Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts Xvfb at `width`x`height` on the first display from `from` that it can take, and
/// answers the display with the server. Tests run in parallel (and killed runs leave lock
/// files behind), so picking a number is not enough: Xvfb's own lock decides, and a server
/// that exits at once (the display was taken meanwhile) is retried on the next number.
pub fn xvfb(from: u32, width: u32, height: u32) -> (String, Child) {
    for n in from..from + 100 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{n}");
        let mut child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
            ])
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (installed by scripts/setup)");
        let socket = format!("/tmp/.X11-unix/X{n}");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut exited = false;
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                exited = true;
                break;
            }
            if std::path::Path::new(&socket).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if exited {
            continue;
        }
        // The socket appears just before the server accepts clients; a server that lost
        // the race for the display exits within this.
        std::thread::sleep(Duration::from_millis(300));
        if child.try_wait().ok().flatten().is_some() {
            continue;
        }
        return (display, child);
    }
    panic!("no X display free from :{from}");
}

/// Starts matchbox with no title bar on `display`, with extra arguments (a key binding
/// file, say).
pub fn matchbox(display: &str, extra: &[&std::ffi::OsStr]) -> Child {
    Command::new("matchbox-window-manager")
        .env("DISPLAY", display)
        .args(["-use_titlebar", "no"])
        .args(extra)
        .stderr(Stdio::null())
        .spawn()
        .expect("matchbox-window-manager (installed by scripts/setup)")
}
