//! The real kiosk window under Xvfb with a window manager, as on a kiosk: it must come up
//! fullscreen and borderless on the attract screen.

#[path = "support/x11.rs"]
mod x11;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use x11::{Kill, have, matchbox, xvfb};

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

/// Takes a screenshot into `shot` and answers whether it is the attract screen over the
/// whole screen with no frame: the top bar's blue reaches both top corners and the bottom
/// of the screen is the page background.
fn fullscreen_attract(display: &str, shot: &std::path::Path) -> bool {
    let primary = [0x0b, 0x5c, 0xad];
    let close = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 12);
    screenshot(display, shot)
        && close(pixel(shot, 1915, 4), primary)
        && close(pixel(shot, 4, 4), primary)
        && close(pixel(shot, 960, 1075), [0xf3, 0xf6, 0xfa])
}

#[test]
fn the_kiosk_window_is_fullscreen_on_the_attract_screen() {
    for tool in ["Xvfb", "matchbox-window-manager", "import"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let (display, x) = xvfb(1920, 1080);
    let mut kids = Kill(vec![x]);
    kids.0.push(matchbox(&display, &[]));
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
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if fullscreen_attract(&display, &shot) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the window did not come up fullscreen; last screenshot at {}",
            shot.display()
        );
    }
}

fn x_output(display: &str, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .env("DISPLAY", display)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The keys a visitor might try to leave the kiosk with. The window manager gets a
/// desktop's bindings on purpose (Alt+F4 and Alt+C close, F11 toggles fullscreen, Alt+Tab
/// cycles, Alt+D shows the desktop): the app itself must hold, whatever the window manager
/// does with a key. The deployment (deploy/) also gives matchbox no bindings at all.
#[test]
fn no_key_closes_minimises_or_unfullscreens_the_kiosk() {
    if !have("Xvfb") {
        println!("SKIPPED: Xvfb is not installed (scripts/setup installs it)");
        return;
    }
    for tool in [
        "matchbox-window-manager",
        "import",
        "xdotool",
        "xwininfo",
        "xprop",
    ] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let tmp = std::env::temp_dir().join(format!("tax-kiosk-lockdown-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let kbd = tmp.join("kbdconfig");
    std::fs::write(
        &kbd,
        "<alt>F4=close\n<alt>c=close\nF11=fullscreen\n<alt>Tab=next\n<alt><shift>Tab=prev\n<alt>d=desktop\n<alt>n=next\n",
    )
    .unwrap();
    let (display, x) = xvfb(1920, 1080);
    let mut kids = Kill(vec![x]);
    kids.0.push(matchbox(
        &display,
        &["-kbdconfig".as_ref(), kbd.as_os_str()],
    ));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let log = tmp.join("kiosk.log");
    kids.0.push(
        Command::new(env!("CARGO_BIN_EXE_tax-kiosk"))
            .env("DISPLAY", &display)
            .current_dir(root)
            .args(["run", "--practice", "--journal"])
            .arg(tmp.join("journal.db"))
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = kids.0[2].id().to_string();
    let shot = root.join("target/ui-window-lockdown.png");
    let attract = || fullscreen_attract(&display, &shot);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !attract() {
        assert!(
            Instant::now() < deadline,
            "the window did not come up fullscreen; last screenshot at {}",
            shot.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let window = x_output(&display, "xdotool", &["search", "--sync", "--pid", &pid])
        .lines()
        .last()
        .expect("xdotool found no window of the kiosk")
        .trim()
        .to_string();
    for key in [
        "alt+F4", "ctrl+w", "ctrl+q", "Escape", "F11", "alt+Tab", "super", "alt+c", "alt+d",
    ] {
        let sent = x_output(&display, "xdotool", &["key", key]);
        assert!(sent.trim().is_empty(), "xdotool key {key}: {sent}");
        // Closing shows at once (the window goes), the process exits within about 2 s, and
        // the fullscreen guard looks every 0.5 s.
        std::thread::sleep(Duration::from_millis(2500));
        let why = || std::fs::read_to_string(&log).unwrap_or_default();
        let status = kids.0[2].try_wait().unwrap();
        assert!(
            status.is_none(),
            "after {key} the kiosk exited ({status:?}); its log:\n{}",
            why()
        );
        let info = x_output(&display, "xwininfo", &["-id", &window]);
        for want in [
            "Absolute upper-left X:  0",
            "Absolute upper-left Y:  0",
            "Width: 1920",
            "Height: 1080",
            "Map State: IsViewable",
        ] {
            assert!(
                info.contains(want),
                "after {key} the window is not fullscreen and shown ({want}):\n{info}"
            );
        }
        let state = x_output(&display, "xprop", &["-id", &window, "_NET_WM_STATE"]);
        assert!(
            state.contains("_NET_WM_STATE_FULLSCREEN") && !state.contains("HIDDEN"),
            "after {key} the window manager does not hold the window fullscreen: {state}"
        );
        assert!(
            attract(),
            "after {key} the screen is not the fullscreen attract screen; see {}",
            shot.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Kills a whole process group (the session script and everything it started).
struct KillGroup(Child);

impl Drop for KillGroup {
    fn drop(&mut self) {
        for sig in ["-TERM", "-KILL"] {
            let _ = Command::new("kill")
                .args([sig, "--", &format!("-{}", self.0.id())])
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = self.0.wait();
    }
}

/// The pids of `tax-kiosk` processes whose parent is `parent`.
fn kiosk_children(parent: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if comm == "tax-kiosk" && ppid == Some(&parent.to_string()) {
            v.push(pid);
        }
    }
    v
}

/// `deploy/kiosk-session` as the kiosk runs it, with Xvfb in place of Xorg and xinit: its
/// matchbox binds no key (a `--windowed` kiosk, which does not refuse close requests,
/// survives Alt+F4, Alt+C and F11), and it starts tax-kiosk again after a crash.
#[test]
fn the_deploy_session_binds_no_window_manager_keys_and_restarts_a_crashed_kiosk() {
    use std::os::unix::process::CommandExt;
    if !have("Xvfb") {
        println!("SKIPPED: Xvfb is not installed (scripts/setup installs it)");
        return;
    }
    for tool in ["matchbox-window-manager", "import", "xdotool"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("tax-kiosk-session-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (display, x) = xvfb(1920, 1080);
    let _x = Kill(vec![x]);
    let log = tmp.join("session.log");
    let session = Command::new("sh")
        .arg(root.join("deploy/kiosk-session"))
        .env("DISPLAY", &display)
        .env("KIOSK_BIN", env!("CARGO_BIN_EXE_tax-kiosk"))
        .env("KIOSK_CONFIG", root.join("kiosk-config"))
        .env("KIOSK_STATE", tmp.join("state"))
        // Relative paths in the kiosk's options would be under KIOSK_STATE.
        .env(
            "KIOSK_ARGS",
            format!(
                "--practice --windowed --keys {}",
                root.join("backoffice/dev-keys.toml").display()
            ),
        )
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let session_pid = session.id();
    let _session = KillGroup(session);
    let shot = root.join("target/ui-window-session.png");
    let attract = || fullscreen_attract(&display, &shot);
    let why = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for_kiosk = |not: Option<u32>| -> u32 {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let kids = kiosk_children(session_pid);
            if let Some(&pid) = kids.iter().find(|p| Some(**p) != not) {
                if attract() {
                    return pid;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the session shows no kiosk on the attract screen (see {}); its log:\n{}",
                shot.display(),
                why()
            );
        }
    };
    let first = wait_for_kiosk(None);
    for key in ["alt+F4", "alt+c", "F11"] {
        let out = Command::new("xdotool")
            .env("DISPLAY", &display)
            .args(["key", key])
            .output()
            .unwrap();
        assert!(out.status.success(), "xdotool key {key}");
        std::thread::sleep(Duration::from_millis(2500));
        assert_eq!(
            kiosk_children(session_pid),
            vec![first],
            "after {key} the windowed kiosk is gone: the session's matchbox acted on a key; log:\n{}",
            why()
        );
        assert!(attract(), "after {key} the kiosk is not on screen");
    }
    // A crash: the session starts a new tax-kiosk.
    assert!(
        Command::new("kill")
            .args(["-KILL", &first.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let second = wait_for_kiosk(Some(first));
    assert_ne!(first, second);
    assert!(
        why().contains("restarting"),
        "the session did not say it restarts tax-kiosk:\n{}",
        why()
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
