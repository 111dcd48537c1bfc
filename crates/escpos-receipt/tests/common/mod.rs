//! Shared by the integration tests: the shipped bundle, print jobs shaped like the ones
//! `Kiosk::print_job` makes, a decoder of text-mode bytes written independently of the
//! encoder, the emulator, zbarimg, and where PNGs go.

#![allow(dead_code)]

pub mod decoder;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use escpos_receipt::emulator::{self, DeviceSpec, Emulator};
use kiosk_core::Lang;
use kiosk_core::config::Bundle;
use kiosk_core::session::PrintJob;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn bundle() -> Bundle {
    let files = bundle_dir::read(&repo().join("kiosk-config")).unwrap();
    kiosk_core::config::load(&files)
        .unwrap_or_else(|d| panic!("shipped bundle does not load: {d:?}"))
        .bundle
}

/// A note that must be seen even when the test passes (the harness captures `eprintln!`).
pub fn note(s: &str) {
    let _ = writeln!(std::io::stderr(), "{s}");
}

pub const HALL: &str = "昆明市五华区税务局智慧办税服务厅";
pub const KIOSK: &str = "KSK-5301-0001";
pub const NAME: &str = "张*丰";
pub const ID_MASKED: &str = "530102********1234";
pub const TRACKING: &str = "SANDBOX-C02-0001";
pub const DOC: &str = "PRACTICE-000001";
pub const CODE: &str = "0A5E";
pub const TIME: &str = "2026-11-29 18:31";

pub fn verify_url() -> String {
    format!("http://127.0.0.1:8700/v1/documents/{DOC}/verify?code={CODE}")
}

fn base(template: &str, lang: Lang) -> PrintJob {
    PrintJob {
        template: template.into(),
        lang,
        fields: vec![
            ("hall_name".into(), HALL.into()),
            ("kiosk_id".into(), KIOSK.into()),
            ("business_code".into(), "C02".into()),
            (
                "business_name".into(),
                "增值税及附加税费申报（小规模纳税人）".into(),
            ),
            ("materials".into(), "居民身份证原件; 营业执照副本".into()),
            ("taxpayer_name".into(), NAME.into()),
            ("taxpayer_id_masked".into(), ID_MASKED.into()),
            ("time".into(), TIME.into()),
        ],
        lines: vec![],
    }
}

/// A finished matter: what `Kiosk::print_job` gives for `Outcome::Done`, paid.
pub fn done_job(template: &str, lang: Lang) -> PrintJob {
    let mut j = base(template, lang);
    j.fields.extend([
        ("tracking_no".into(), TRACKING.into()),
        ("document_no".into(), DOC.into()),
        ("verify_code".into(), CODE.into()),
        ("verify_url".into(), verify_url()),
        ("total".into(), "1,234.56".into()),
    ]);
    j.lines = vec![
        ("税款所属期".into(), "2026年第3季度".into()),
        ("应税销售额（3%征收率）".into(), "98,000.00".into()),
        ("本期应纳税额".into(), "1,234.56".into()),
    ];
    j
}

/// Submitted to the back office: a tracking number, no document yet.
pub fn accepted_job(lang: Lang) -> PrintJob {
    let mut j = base("acceptance", lang);
    j.fields.push(("tracking_no".into(), TRACKING.into()));
    j
}

pub fn ticket_job(lang: Lang) -> PrintJob {
    let mut j = base("ticket", lang);
    j.fields.retain(|(k, _)| !k.starts_with("taxpayer"));
    j.fields.extend([
        ("ticket_no".into(), "A023".into()),
        ("ticket_ahead".into(), "7".into()),
        ("ticket_wait_minutes".into(), "25".into()),
        ("ticket_window".into(), "3号窗口".into()),
    ]);
    j
}

pub fn set_field(j: &mut PrintJob, k: &str, v: &str) {
    match j.fields.iter_mut().find(|(x, _)| x == k) {
        Some(f) => f.1 = v.into(),
        None => j.fields.push((k.into(), v.into())),
    }
}

/// Where the tests put PNGs for people to look at.
pub fn png_dir() -> PathBuf {
    let d = repo().join("target/escpos-receipt");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// zbarimg's decodings (`QR-Code:...`, `CODE-128:...`), or `None` when it is missing.
pub fn zbar(png: &[u8], name: &str) -> Option<Vec<String>> {
    let p =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}.png", std::process::id()));
    std::fs::write(&p, png).unwrap();
    let out = match std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(&p)
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            note("SKIPPED zbarimg checks: zbarimg not found (install zbar-tools: scripts/setup)");
            return None;
        }
    };
    let _ = std::fs::remove_file(&p);
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// The printers of the shared emulator: one per test that changes a printer's state.
pub const DEVICES: &[(&str, u16, bool)] = &[
    ("text80", 576, false),
    ("raster80", 576, false),
    ("raster58", 384, false),
    ("text58", 384, false),
    ("near", 576, false),
    ("out", 576, false),
    ("cover", 576, false),
    ("offline", 576, false),
    ("held", 576, false),
    ("gsh", 576, false),
    ("journal", 576, false),
    ("serial", 576, true),
];

/// One emulator for the whole test binary, or `None` (with a SKIPPED line) when emupos
/// is not installed.
pub fn emu(test: &str) -> Option<&'static Emulator> {
    static EMU: OnceLock<Option<Emulator>> = OnceLock::new();
    let e = EMU.get_or_init(|| {
        let bin = emulator::find_binary()?;
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("emupos-{}", std::process::id()));
        let specs: Vec<DeviceSpec> = DEVICES
            .iter()
            .map(|(id, w, serial)| DeviceSpec {
                id: id.to_string(),
                width_dots: *w,
                serial: *serial,
            })
            .collect();
        // Started from a thread that lives as long as the process: the emulator is told to
        // die with the thread that started it, and test threads end early.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Emulator::start(&bin, &dir, &specs, true));
            loop {
                std::thread::park();
            }
        });
        match rx.recv() {
            Ok(Ok(e)) => Some(e),
            Ok(Err(e)) => panic!("emupos is installed but did not start: {e}"),
            Err(_) => panic!("emupos start-up thread died"),
        }
    });
    if e.is_none() {
        note(&format!(
            "SKIPPED {test}: emupos is not installed (needs Python >= 3.13; run scripts/setup-printer)"
        ));
    }
    e.as_ref()
}
