//! Configuration-time checks of receipt templates against a printer profile, for the
//! config check to call: everything that would otherwise surface as a surprise at the
//! printer, in sentences a person can act on.

use kiosk_core::config::{Bundle, ReceiptTemplate};

use crate::code128;
use crate::layout::{Kind, Piece, parse_placeholders};
use crate::profile::PrinterProfile;
use crate::qr;
use crate::text::encode_gb;

/// Fields a print job carries for each kind of receipt. Mirrors `Kiosk::print_job` in
/// kiosk-core (plus `time`, which the shell adds): a template that uses any other field
/// gets a line that never prints.
fn carried(kind: Kind) -> &'static [&'static str] {
    const TICKET: &[&str] = &[
        "hall_name",
        "kiosk_id",
        "business_code",
        "business_name",
        "materials",
        "taxpayer_name",
        "taxpayer_id_masked",
        "time",
        "ticket_no",
        "ticket_ahead",
        "ticket_wait_minutes",
        "ticket_window",
    ];
    const DOCUMENT: &[&str] = &[
        "hall_name",
        "kiosk_id",
        "business_code",
        "business_name",
        "materials",
        "taxpayer_name",
        "taxpayer_id_masked",
        "time",
        "tracking_no",
        "document_no",
        "verify_code",
        "verify_url",
        "total",
    ];
    match kind {
        Kind::Ticket => TICKET,
        Kind::Receipt | Kind::Certificate | Kind::Notice => DOCUMENT,
    }
}

/// Fields whose values are Chinese text or free text (never fit for a CODE128 barcode).
const TEXT_FIELDS: &[&str] = &[
    "hall_name",
    "business_name",
    "taxpayer_name",
    "materials",
    "time",
];

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Receipt => "receipt",
        Kind::Certificate => "certificate",
        Kind::Ticket => "ticket",
        Kind::Notice => "notice",
    }
}

/// Problems of one template on one printer; empty when it prints as intended.
pub fn check_template(t: &ReceiptTemplate, p: &PrinterProfile) -> Vec<String> {
    let mut out = Vec::new();
    let kind = Kind::from(t.kind);
    let at = format!("receipts/{}.toml", t.id);
    let mut values: Vec<(&str, &str)> = t
        .lines
        .iter()
        .map(|l| ("line value", l.value.as_str()))
        .collect();
    if let Some(q) = &t.qr {
        values.push(("qr", q));
    }
    if let Some(b) = &t.barcode {
        values.push(("barcode", b));
    }
    let mut literals: Vec<String> = vec![
        t.title.zh.clone(),
        t.title.en.clone(),
        t.footer.zh.clone(),
        t.footer.en.clone(),
    ];
    for l in &t.lines {
        literals.push(l.label.zh.clone());
        literals.push(l.label.en.clone());
    }
    for (what, v) in &values {
        match parse_placeholders(&t.id, v) {
            Err(e) => out.push(format!("{at}: {what} `{v}`: {e}")),
            Ok(pieces) => {
                let mut lit = String::new();
                for piece in &pieces {
                    match piece {
                        Piece::Lit(s) => lit.push_str(s),
                        Piece::Field(f) if !carried(kind).contains(f) => out.push(format!(
                            "{at}: {what} `{v}` uses {{{f}}}, which a {} print job never carries, so it would never print; remove it or use one of: {}",
                            kind_name(kind),
                            carried(kind).join(", ")
                        )),
                        Piece::Field(_) => {}
                    }
                }
                if *what == "qr" && qr::check_len(lit.len(), Some(p)).is_err() {
                    out.push(format!(
                        "{at}: the QR text alone is {} bytes; at most {} fit on {} mm paper",
                        lit.len(),
                        qr::max_len(p),
                        p.paper_mm
                    ));
                }
                if *what == "barcode" {
                    if !lit.is_empty() && !code128::encodable(&lit) {
                        out.push(format!(
                            "{at}: barcode `{v}`: CODE128 takes printable ASCII only"
                        ));
                    }
                    for piece in &pieces {
                        if let Piece::Field(f) = piece
                            && TEXT_FIELDS.contains(f)
                        {
                            out.push(format!(
                                "{at}: barcode `{v}`: {{{f}}} is text (often Chinese); a CODE128 barcode needs a number such as {{tracking_no}}"
                            ));
                        }
                    }
                }
                literals.push(lit);
            }
        }
    }
    if t.title.zh.trim().is_empty() || t.title.en.trim().is_empty() {
        out.push(format!("{at}: the title is empty"));
    }
    if p.text_mode() {
        for s in &literals {
            if let Err(e) = encode_gb(&crate::layout::clean(s), p.chinese) {
                out.push(format!(
                    "{at}: `{s}`: {e} on {}; every receipt from this template would print as an image (slower, larger)",
                    p.name
                ));
            }
        }
    }
    out
}

/// Problems of every receipt template of a bundle on one printer.
pub fn check_bundle(b: &Bundle, p: &PrinterProfile) -> Vec<String> {
    b.receipts
        .values()
        .flat_map(|t| check_template(t, p))
        .collect()
}
