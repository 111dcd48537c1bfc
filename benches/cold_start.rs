//! Cold start of the real kiosk program: a fresh `tax-kiosk run --config kiosk-config
//! --practice` process (the release build) under Xvfb + matchbox, from just before the
//! process is spawned to (1) its window mapped and (2) its first frame on screen.
//!
//! How "first frame on screen" is observed: from outside, on the X server. Slint's
//! `Window::set_rendering_notifier` is unsupported by the software renderer (the renderer
//! trait's default answers `SetRenderingNotifierError::Unsupported`), and a log line from
//! inside the app would say when the app thinks it drew, not when the screen shows it. So
//! this bench reads three pixels of the root window every 2 ms over its own X connection
//! (GetImage of 1x1 each) and takes the first sample where all three show the attract
//! screen: the top bar's blue at both top corners and the page background at the bottom.
//! The mapped time is the first poll where a top-level window with the child's
//! `_NET_WM_PID` is viewable.
//!
//! For comparison, in the same run and the same way: a trivial Slint window (this bench
//! binary re-executed with `COLD_START_HELLO=1`: one fullscreen coloured rectangle, same
//! Slint build, backend and renderer), so the ratio says how much the kiosk's own start-up
//! (bundle load, fonts, face models, controller, first render of a full screen) adds to
//! what the toolkit costs anyway. Runs alternate kiosk and hello so drift hits both.
//!
//! Run: `cargo bench -p tax-kiosk --bench cold_start` (N=10; `COLD_START_RUNS` to change).
//! Without Xvfb or matchbox it says so and exits 0.

#[path = "../tests/support/x11.rs"]
mod x11;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use x11::{Kill, have, matchbox, xvfb};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, ImageFormat, MapState, Screen, Window,
};
use x11rb::rust_connection::RustConnection;

const W: u16 = 1920;
const H: u16 = 1080;
/// The attract screen: top bar blue at both top corners, page background at the bottom.
const KIOSK_PIXELS: [(i16, i16, [u8; 3]); 3] = [
    (4, 4, [0x0b, 0x5c, 0xad]),
    (1915, 4, [0x0b, 0x5c, 0xad]),
    (960, 1075, [0xf3, 0xf6, 0xfa]),
];
const HELLO_RGB: [u8; 3] = [0x7a, 0x1f, 0xa2];

fn hello_window() {
    slint::slint! {
        export component Hello inherits Window {
            Rectangle { background: #7a1fa2; }
        }
    }
    let w = Hello::new().expect("hello window");
    w.window().set_fullscreen(true);
    w.run().expect("hello event loop");
}

struct X {
    conn: RustConnection,
    screen: Screen,
    pid_atom: u32,
}

impl X {
    fn connect(display: &str) -> Option<X> {
        for _ in 0..50 {
            if let Ok((conn, n)) = x11rb::connect(Some(display)) {
                let screen = conn.setup().roots[n].clone();
                let pid_atom = conn
                    .intern_atom(false, b"_NET_WM_PID")
                    .ok()?
                    .reply()
                    .ok()?
                    .atom;
                return Some(X {
                    conn,
                    screen,
                    pid_atom,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    fn rgb(&self, x: i16, y: i16) -> Option<[u8; 3]> {
        let r = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.screen.root, x, y, 1, 1, !0)
            .ok()?
            .reply()
            .ok()?;
        let d = &r.data;
        // 24-bit TrueColor at 32 bits per pixel, least significant byte first (Xvfb on
        // x86): B, G, R, pad.
        (d.len() >= 3).then(|| [d[2], d[1], d[0]])
    }

    fn shows(&self, pixels: &[(i16, i16, [u8; 3])]) -> bool {
        pixels.iter().all(|(x, y, want)| {
            self.rgb(*x, *y)
                .is_some_and(|got| got.iter().zip(want).all(|(a, b)| a.abs_diff(*b) < 12))
        })
    }

    fn pid_of(&self, w: Window) -> Option<u32> {
        self.conn
            .get_property(false, w, self.pid_atom, AtomEnum::CARDINAL, 0, 1)
            .ok()?
            .reply()
            .ok()?
            .value32()?
            .next()
    }

    fn children(&self, w: Window) -> Vec<Window> {
        self.conn
            .query_tree(w)
            .ok()
            .and_then(|c| c.reply().ok())
            .map(|r| r.children)
            .unwrap_or_default()
    }

    /// The viewable window with `_NET_WM_PID` = `pid`: a top-level one, or one a window
    /// manager reparented into its frame (matchbox does, even without a title bar).
    fn mapped_window_of(&self, pid: u32) -> Option<Window> {
        let viewable = |w: Window| {
            self.conn
                .get_window_attributes(w)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| a.map_state == MapState::VIEWABLE)
        };
        for top in self.children(self.screen.root) {
            let candidates = std::iter::once(top).chain(self.children(top));
            for w in candidates {
                if self.pid_of(w) == Some(pid) && viewable(w) {
                    return Some(w);
                }
            }
        }
        None
    }
}

struct Sample {
    mapped_ms: f64,
    frame_ms: f64,
}

fn measure(x: &X, mut cmd: Command, pixels: &[(i16, i16, [u8; 3])]) -> Result<Sample, String> {
    // The screen must not already show the target (the previous run is gone).
    let settle = Instant::now();
    while x.shows(pixels) {
        if settle.elapsed() > Duration::from_secs(5) {
            return Err("the screen still shows the previous run".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let t0 = Instant::now();
    let mut child = Kill(vec![cmd.spawn().map_err(|e| e.to_string())?]);
    let pid = child.0[0].id();
    let mut mapped = None;
    loop {
        let t = t0.elapsed();
        if mapped.is_none() && x.mapped_window_of(pid).is_some() {
            mapped = Some(t);
        }
        if x.shows(pixels) {
            let frame = t0.elapsed();
            // A frame cannot be on screen before its window is mapped: look once more
            // rather than guess.
            if mapped.is_none() && x.mapped_window_of(pid).is_some() {
                mapped = Some(frame);
            }
            let mapped = mapped
                .ok_or("the first frame showed, but no viewable window of the process was found")?;
            return Ok(Sample {
                mapped_ms: mapped.as_secs_f64() * 1e3,
                frame_ms: frame.as_secs_f64() * 1e3,
            });
        }
        if let Ok(Some(st)) = child.0[0].try_wait() {
            return Err(format!("the process exited ({st}) before its first frame"));
        }
        if t > Duration::from_secs(60) {
            return Err("no first frame within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, v: &[f64]) -> String {
    format!(
        "{name}: p50 {:.0} ms, p95 {:.0} ms, min {:.0} ms, max {:.0} ms (n={})",
        pct(v, 0.5),
        pct(v, 0.95),
        pct(v, 0.0),
        pct(v, 1.0),
        v.len()
    )
}

fn main() {
    if std::env::var_os("COLD_START_HELLO").is_some() {
        hello_window();
        return;
    }
    // `cargo bench` passes `--bench`; nothing else to parse.
    for tool in ["Xvfb", "matchbox-window-manager"] {
        if !have(tool) {
            println!("SKIPPED cold_start: {tool} is not installed (scripts/setup installs it)");
            return;
        }
    }
    let runs: usize = std::env::var("COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let kiosk_bin = env!("CARGO_BIN_EXE_tax-kiosk");
    let tmp = std::env::temp_dir().join(format!("tax-kiosk-cold-start-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (display, x) = xvfb(W as u32, H as u32);
    let mut kids = Kill(vec![x]);
    let Some(x) = X::connect(&display) else {
        println!("SKIPPED cold_start: Xvfb did not start on {display}");
        return;
    };
    assert_eq!(
        (x.screen.width_in_pixels, x.screen.height_in_pixels),
        (W, H)
    );
    kids.0.push(matchbox(&display, &[]));
    std::thread::sleep(Duration::from_millis(500));

    let kiosk = || {
        let mut c = Command::new(kiosk_bin);
        c.env("DISPLAY", &display)
            .current_dir(root)
            .args(["run", "--config", "kiosk-config", "--practice", "--journal"])
            .arg(tmp.join("journal.db"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let hello = || {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.env("DISPLAY", &display)
            .env("COLD_START_HELLO", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let hello_px: Vec<_> = KIOSK_PIXELS
        .iter()
        .map(|(x, y, _)| (*x, *y, HELLO_RGB))
        .collect();

    println!(
        "cold start under Xvfb {W}x{H} + matchbox, {runs} fresh processes each, kiosk {kiosk_bin}"
    );
    let (mut km, mut kf, mut hm, mut hf) = (vec![], vec![], vec![], vec![]);
    for i in 0..runs {
        let k =
            measure(&x, kiosk(), &KIOSK_PIXELS).unwrap_or_else(|e| panic!("kiosk run {i}: {e}"));
        let h = measure(&x, hello(), &hello_px).unwrap_or_else(|e| panic!("hello run {i}: {e}"));
        println!(
            "  run {i:2}: kiosk mapped {:6.0} ms, first frame {:6.0} ms | hello mapped {:5.0} ms, first frame {:5.0} ms",
            k.mapped_ms, k.frame_ms, h.mapped_ms, h.frame_ms
        );
        km.push(k.mapped_ms);
        kf.push(k.frame_ms);
        hm.push(h.mapped_ms);
        hf.push(h.frame_ms);
    }
    println!("{}", summary("kiosk  start -> window mapped", &km));
    println!("{}", summary("kiosk  start -> first frame  ", &kf));
    println!("{}", summary("hello  start -> window mapped", &hm));
    println!("{}", summary("hello  start -> first frame  ", &hf));
    println!(
        "FIGURE ui cold start (release): process start to first frame on screen p50 {:.0} ms, p95 {:.0} ms, min {:.0} ms, max {:.0} ms; window mapped p50 {:.0} ms; a bare Slint window p50 {:.0} ms (kiosk/bare = {:.1}x)",
        pct(&kf, 0.5),
        pct(&kf, 0.95),
        pct(&kf, 0.0),
        pct(&kf, 1.0),
        pct(&km, 0.5),
        pct(&hf, 0.5),
        pct(&kf, 0.5) / pct(&hf, 0.5)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
