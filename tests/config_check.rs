//! `tax-kiosk config check` as IT runs it: on the shipped bundle, on a broken copy, and on
//! a path that is not a bundle.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tax-kiosk"))
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-config")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tax-kiosk-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn shipped_bundle_passes_with_a_summary() {
    let out = bin()
        .args(["config", "check"])
        .arg(shipped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("bundle OK"), "{stdout}");
    assert!(stdout.contains("zones: 10"), "{stdout}");
    assert!(stdout.contains("businesses: 179"), "{stdout}");
    assert!(stdout.contains("content hash"), "{stdout}");
}

#[test]
fn broken_bundle_lists_every_problem_and_fails() {
    let dir = temp_dir("broken");
    copy_dir(&shipped(), &dir);
    let zones = dir.join("zones.toml");
    let text = std::fs::read_to_string(&zones).unwrap();
    std::fs::write(
        &zones,
        text.replacen("hours = \"staffed\"", "hours = \"never\"", 1),
    )
    .unwrap();
    let kiosk = dir.join("kiosk.toml");
    let text = std::fs::read_to_string(&kiosk).unwrap();
    std::fs::write(&kiosk, text.replacen("idle = 60", "idle = 6000", 1)).unwrap();

    let out = bin().args(["config", "check"]).arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let zone_line = text_line(&zones, "\"never\"");
    assert!(
        stderr.contains(&format!("zones.toml:{zone_line}:")),
        "{stderr}"
    );
    assert!(
        stderr.contains("hours 'never' must be \"always\" or \"staffed\""),
        "{stderr}"
    );
    assert!(stderr.contains("timeouts.idle is 6000"), "{stderr}");
    assert!(stderr.contains("2 error(s)"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn text_line(p: &Path, needle: &str) -> usize {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[test]
fn not_a_folder() {
    let out = bin()
        .args(["config", "check", "/nonexistent/bundle"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
}
