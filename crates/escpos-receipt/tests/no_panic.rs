//! Any template text and any job values: a layout or a clear error, never a panic; and
//! what encodes, decodes cleanly and stays within the paper.

mod common;

use common::decoder::decode;
use escpos_receipt::layout::Layout;
use escpos_receipt::{Error, PrinterProfile, encode_text};
use kiosk_core::Lang;
use kiosk_core::config::RECEIPT_PLACEHOLDERS;
use kiosk_core::session::PrintJob;
use proptest::prelude::*;

/// Text that mixes what receipts meet: ASCII, Chinese, full-width marks, `¥`, control
/// bytes, four-byte GB18030 characters, braces.
fn text() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        "[a-zA-Z0-9 .,:;/-]{0,12}",
        "[增值税申报回执纳税人元（）：，。]{0,10}",
        Just("¥".to_string()),
        Just("\u{2020c}".to_string()),
        Just("\x1b@\x1dV\x00\n\t".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\u{200b}\u{feff}".to_string()),
        "[0-9]{17}[0-9X]",
    ];
    prop::collection::vec(atoms, 0..6).prop_map(|v| v.concat())
}

fn placeholder_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(RECEIPT_PLACEHOLDERS).prop_map(|p| format!("{{{p}}}")),
        1 => text(),
        1 => (prop::sample::select(RECEIPT_PLACEHOLDERS), text()).prop_map(|(p, t)| format!("{t}{{{p}}}{t}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn layout_and_encoding_never_panic(
        values in prop::collection::vec(placeholder_text(), 1..6),
        qr in prop::option::of(placeholder_text()),
        barcode in prop::option::of(placeholder_text()),
        title in text(),
        fields in prop::collection::vec((prop::sample::select(RECEIPT_PLACEHOLDERS), text()), 0..20),
        lines in prop::collection::vec((text(), text()), 0..5),
        kind in 0..4usize,
    ) {
        static B: std::sync::OnceLock<kiosk_core::config::Bundle> = std::sync::OnceLock::new();
        let b = B.get_or_init(common::bundle);
        let mut t = b.receipts[["done", "ticket", "certificate", "notice"][kind]].clone();
        t.title.zh = title;
        for (i, v) in values.iter().enumerate() {
            if let Some(l) = t.lines.get_mut(i) {
                l.value = v.clone();
            }
        }
        t.qr = qr;
        t.barcode = barcode;
        let mut job = PrintJob {
            template: t.id.clone(),
            lang: Lang::Zh,
            fields: fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            lines,
        };
        // Usually complete enough to lay out.
        for f in ["time", "ticket_no", "document_no", "verify_url", "materials", "tracking_no"] {
            if kind % 2 == 0 || f == "time" {
                job.fields.push((f.into(), "X1".into()));
            }
        }
        let layout = match Layout::build(&t, &job) {
            Ok(l) => l,
            Err(Error::UnknownPlaceholder { .. } | Error::TemplateSyntax { .. } | Error::MissingField { .. } | Error::QrTooLong { .. }) => return Ok(()),
            Err(e) => panic!("unexpected error {e}"),
        };
        for p in [PrinterProfile::by_id("pos-58-gbk").unwrap(), PrinterProfile::by_id("tm-t70ii-ch").unwrap()] {
            match encode_text(&layout, &p) {
                Ok(bytes) => {
                    let d = decode(&bytes).map_err(TestCaseError::fail)?;
                    for l in d.lines() {
                        prop_assert!(l.columns * usize::from(l.size.0) <= usize::from(p.columns), "{} too wide: {:?}", p.id, l.text);
                    }
                    prop_assert_eq!(d.items.iter().filter(|i| **i == common::decoder::Item::Init).count(), 1);
                }
                Err(Error::Unencodable { .. } | Error::QrTooLong { .. }) => {}
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
}
