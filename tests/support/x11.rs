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

/// A display number nobody uses: no socket and no lock file for it.
pub fn free_display(from: u32) -> String {
    let n = (from..from + 40)
        .find(|n| {
            !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("no free X display number");
    format!(":{n}")
}

/// Starts Xvfb on `display` at `width`x`height` and waits (up to 10 s) for its socket.
pub fn xvfb(display: &str, width: u32, height: u32) -> Child {
    let child = Command::new("Xvfb")
        .args([
            display,
            "-screen",
            "0",
            &format!("{width}x{height}x24"),
            "-nolisten",
            "tcp",
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (installed by scripts/setup)");
    let socket = format!("/tmp/.X11-unix/X{}", display.trim_start_matches(':'));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::path::Path::new(&socket).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The socket appears just before the server accepts clients.
    std::thread::sleep(Duration::from_millis(200));
    child
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
