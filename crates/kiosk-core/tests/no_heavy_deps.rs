//! The core must stay pure: its dependency tree has no runtime, UI, vision, HTTP or web
//! framework. This reads the real tree with `cargo tree`, so a new dependency that pulls
//! one of them in fails here.

use std::process::Command;

#[test]
fn core_has_no_heavy_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "kiosk-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"kiosk-core") && names.contains(&"toml"),
        "unexpected tree:\n{tree}"
    );
    for banned in [
        "tokio", "slint", "opencv", "reqwest", "axum", "hyper", "rusqlite",
    ] {
        assert!(
            !names
                .iter()
                .any(|n| *n == banned || n.starts_with(&format!("{banned}-"))),
            "kiosk-core depends on {banned}:\n{tree}"
        );
    }
}
