//! The README's demo command, driven from a script as a person would type it: a small-scale
//! taxpayer files a quarterly VAT return, pays, gets the receipt, rates, and the session is
//! wiped. Expected figures are worked out here by hand, not read from the program.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod support;

use support::start_backoffice;

fn run_demo(script: &str) -> String {
    run_demo_with(script, &["--practice"])
}

fn run_demo_with(script: &str, extra: &[&str]) -> String {
    let outbox = std::env::temp_dir().join(format!(
        "tax-kiosk-demo-outbox-{}-{}.db",
        std::process::id(),
        extra.len()
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tax-kiosk"))
        .args(["demo", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-config"))
        .args(extra)
        .arg("--outbox")
        .arg(&outbox)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn shipped() -> kiosk_core::config::Bundle {
    support::bundle()
}

/// The menu number of a business in a zone's list, read from the shipped bundle.
fn position(zone: &str, code: &str) -> usize {
    shipped()
        .businesses_in(zone)
        .position(|x| x.code == code)
        .unwrap()
        + 1
}

#[test]
fn a_whole_vat_filing_session_in_the_terminal() {
    let c02 = position("Z03", "C02");
    // attract, Chinese, demo card, face passes, zone 3, C02, start, period, sales at 3%,
    // four more amounts keep their 0.00, prepaid keeps 0.00, city, confirm, pay by debit,
    // print, five stars.
    let script = format!("\n1\n1\n1\n3\n{c02}\n1\n2026Q3\n100000\n\n\n\n\n\ncity\n1\n1\n1\n5\n");
    let out = run_demo(&script);
    // 3% of 100,000.00 is 3,000.00; city maintenance tax 7% of that is 210.00, halved for
    // small-scale taxpayers to 105.00; education surcharges are waived at or below 300,000
    // a quarter. Due: 3,105.00.
    assert!(out.contains("3,000.00"), "{out}");
    assert!(out.contains("￥3,105.00"), "{out}");
    assert!(out.contains("→ Sandbox: submit"), "{out}");
    assert!(out.contains("→ Sandbox: pay"), "{out}");
    assert!(
        out.contains("电子缴款凭证"),
        "the payment voucher was not printed:\n{out}"
    );
    assert!(out.contains("王*明 530102********"), "{out}");
    assert!(
        !out.contains("王小明"),
        "the full name reached the receipt:\n{out}"
    );
    assert!(out.contains("personal data wiped"), "{out}");
    assert!(out.contains("模拟办税"), "the practice banner is missing");
}

#[test]
fn bad_input_gets_a_clear_message_and_changes_nothing() {
    let c02 = position("Z03", "C02");
    // A menu number that does not exist, then a period that is not one, then an amount with
    // three decimals: each is refused with a message, and the walk-through carries on.
    let script = format!("\n1\n1\n1\n99\n3\n{c02}\n1\n2026Q7\n2026Q3\n1.234\n");
    let out = run_demo(&script);
    assert!(out.contains("没有这一项"), "{out}");
    assert!(out.contains("所属期请写作"), "{out}");
    assert!(out.contains("金额最多保留两位小数"), "{out}");
    // Input ended mid-form: the person walked away, and the session was wiped.
    assert!(out.contains("personal data wiped"), "{out}");
}

#[test]
fn english_ticket_for_a_staffed_business() {
    // A staffed business that needs the ID card but no face.
    let b = shipped();
    let x = b
        .businesses_in("Z09")
        .find(|x| {
            x.identity == kiosk_core::config::IdentityLevel::Card && x.form == "generic-onewindow"
        })
        .unwrap();
    let n = position("Z09", &x.code);
    // English, skip the card at first, one-window zone, the business: the card is then
    // required; phone, matter, "now", then confirm, print, four stars.
    let script =
        format!("\n2\n3\n9\n{n}\n1\n1\n13800138000\nchange of contact details\nnow\n1\n1\n4\n");
    let out = run_demo(&script);
    assert!(out.contains("→ Sandbox: ticket"), "{out}");
    assert!(out.contains("Queue ticket"), "{out}");
    let category = if x.audience == kiosk_core::config::Audience::Business {
        "B"
    } else {
        "A"
    };
    assert!(
        out.contains(&format!("Your number is {category}001. 0 people ahead")),
        "{out}"
    );
    assert!(
        out.contains("verified by card"),
        "a card-level business must not ask for more:\n{out}"
    );
}

#[test]
fn a_whole_session_against_the_reference_back_office() {
    let base = start_backoffice();
    let c02 = position("Z03", "C02");
    // As before, but paid by QR: the demo plays the bank app through the simulated bank.
    let script = format!("\n1\n1\n1\n3\n{c02}\n1\n2026Q3\n100000\n\n\n\n\n\ncity\n1\n2\n1\n5\n");
    let out = run_demo_with(&script, &["--backoffice", &base]);
    assert!(out.contains(&format!("back office: {base}")), "{out}");
    assert!(
        !out.contains("【模拟办税"),
        "a live session must not carry the practice banner:\n{out}"
    );
    assert!(out.contains("→ BackOffice: verify-identity"), "{out}");
    assert!(out.contains("→ BackOffice: submit"), "{out}");
    assert!(out.contains("→ BackOffice: pay"), "{out}");
    assert!(out.contains("￥3,105.00"), "{out}");
    // The receipt's QR link is the back office's verification page, and it says genuine.
    let qr = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("[QR] "))
        .unwrap_or_else(|| panic!("no QR on the receipt:\n{out}"));
    assert!(qr.starts_with(&base), "{qr}");
    let check: serde_json::Value = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(qr).await.unwrap().json().await.unwrap() });
    assert_eq!(check["valid"], true, "{check}");
    assert_eq!(check["taxpayer_masked"], "王*明");
    assert!(out.contains("personal data wiped"), "{out}");
}
