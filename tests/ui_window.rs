//! The real kiosk window under Xvfb with a window manager, as on a kiosk: it must come up
//! fullscreen and borderless on the attract screen.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Kill(Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn screenshot(display: &str, path: &std::path::Path) -> bool {
    Command::new("import")
        .env("DISPLAY", display)
        .args(["-window", "root"])
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

fn pixel(png_path: &std::path::Path, x: u32, y: u32) -> [u8; 3] {
    let dec = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let i = ((y * info.width + x) as usize) * ch;
    [buf[i], buf[i + 1], buf[i + 2]]
}

#[test]
fn the_kiosk_window_is_fullscreen_on_the_attract_screen() {
    for tool in ["Xvfb", "matchbox-window-manager", "import"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .status()
                .unwrap()
                .success(),
            "{tool} is missing: run scripts/setup"
        );
    }
    let display = format!(":{}", 90 + std::process::id() % 9);
    let mut kids = Kill(Vec::new());
    kids.0.push(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(800));
    kids.0.push(
        Command::new("matchbox-window-manager")
            .env("DISPLAY", &display)
            .args(["-use_titlebar", "no"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    kids.0.push(
        Command::new(env!("CARGO_BIN_EXE_tax-kiosk"))
            .env("DISPLAY", &display)
            .current_dir(root)
            .args(["run", "--practice", "--journal"])
            .arg(std::env::temp_dir().join(format!(
                "tax-kiosk-window-journal-{}.db",
                std::process::id()
            )))
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let shot = root.join("target/ui-window-attract.png");
    let deadline = Instant::now() + Duration::from_secs(30);
    // The top bar's blue reaches the far right edge and the bottom of the screen is the
    // page background: the window covers the whole screen with no frame around it.
    let primary = [0x0b, 0x5c, 0xad];
    let close = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 12);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if screenshot(&display, &shot)
            && close(pixel(&shot, 1915, 4), primary)
            && close(pixel(&shot, 4, 4), primary)
            && close(pixel(&shot, 960, 1075), [0xf3, 0xf6, 0xfa])
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the window did not come up fullscreen; last screenshot at {}",
            shot.display()
        );
    }
}
