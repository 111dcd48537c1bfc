//! A throwaway X server for the window tests and the cold-start bench: Xvfb on a free
//! display, matchbox as the window manager, and children killed when dropped. Included with
//! `#[path]` so the bench does not pull in the back-office test support.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

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

/// Starts Xvfb at `width`x`height` and answers its display with the server. Xvfb picks
/// the display itself (`-displayfd`) and names it once it accepts clients: tests run in
/// parallel and killed runs leave lock files behind, and a number chosen here could be
/// taken by a parallel test's server between the choice and the lock, leaving two tests
/// on one server and one test's kiosk dying with the other's.
pub fn xvfb(width: u32, height: u32) -> (String, Child) {
    use std::io::Read;
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            &format!("{width}x{height}x24"),
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (installed by scripts/setup)");
    // Xvfb writes the number and a newline, and keeps the pipe open; a server that fails
    // closes it, which ends the read.
    let mut out = child.stdout.take().expect("piped");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let number = String::from_utf8_lossy(&line).trim().to_string();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        let _ = child.kill();
        let status = child.wait();
        panic!("Xvfb named no display ({status:?})");
    }
    // Kept open: a later write to a closed pipe would kill the server.
    child.stdout = Some(out);
    (format!(":{number}"), child)
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
