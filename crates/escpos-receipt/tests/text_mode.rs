//! Text mode, checked by decoding the bytes: GB18030 text between FS & and FS ., rows that
//! fill the paper with values right-aligned, QR model 2 with the verification URL, CODE128
//! with the tracking number, a partial cut. And the bad inputs: each a clear error before
//! any byte, or the whole receipt as a raster image.

mod common;

use common::decoder::{Item, decode, four_byte_codes};
use common::*;
use escpos_receipt::layout::Layout;
use escpos_receipt::{
    CjkFont, Error, Mode, PrinterProfile, check_bundle, check_template, encode, encode_text,
};
use kiosk_core::Lang;

fn p58() -> PrinterProfile {
    PrinterProfile::by_id("pos-58-gbk").unwrap()
}
fn p80() -> PrinterProfile {
    PrinterProfile::by_id("pos-80-gbk").unwrap()
}

fn row_with<'a>(d: &'a common::decoder::Decoded, label: &str) -> Option<&'a common::decoder::Line> {
    d.lines().into_iter().find(|l| l.text.starts_with(label))
}

#[test]
fn every_shipped_template_decodes_on_58_and_80_mm() {
    let b = bundle();
    for p in [p58(), p80()] {
        for (id, t) in &b.receipts {
            for lang in Lang::ALL {
                let job = match t.kind {
                    kiosk_core::config::ReceiptKind::Ticket => ticket_job(lang),
                    _ => done_job(id, lang),
                };
                let layout = Layout::build(t, &job).unwrap();
                let bytes = encode_text(&layout, &p).unwrap();
                let d = decode(&bytes).unwrap_or_else(|e| panic!("{id}/{}: {e}", p.id));
                let cols = usize::from(p.columns);
                // Starts clean and in Chinese mode, ends leaving Chinese mode.
                assert_eq!(d.items[0], Item::Init, "{id}");
                assert_eq!(d.items[1], Item::KanjiOn, "{id}");
                assert!(d.items.contains(&Item::KanjiOff), "{id}");
                for l in d.lines() {
                    assert!(l.kanji, "{id}: text outside FS & ... FS .");
                    let width = l.columns * usize::from(l.size.0);
                    assert!(
                        width <= cols,
                        "{id}/{}: `{}` is {width} columns",
                        p.id,
                        l.text
                    );
                }
                // The template's rows: label at the left, the value flush right, full width.
                for line in &t.lines {
                    let label = line.label.get(lang);
                    let want = match line.value.as_str() {
                        "{time}" => TIME,
                        "{document_no}" => DOC,
                        "{taxpayer_name}" => NAME,
                        "{taxpayer_id_masked}" => ID_MASKED,
                        _ => continue,
                    };
                    let r = row_with(&d, label).unwrap_or_else(|| panic!("{id}: no row {label}"));
                    assert_eq!(r.columns, cols, "{id}/{}: row `{}`", p.id, r.text);
                    assert!(
                        r.text.ends_with(want),
                        "{id}: `{}` should end with {want}",
                        r.text
                    );
                }
                // QR model 2, error correction M, the document's verification URL.
                if t.qr.is_some() {
                    let q = d.qrs();
                    assert_eq!(q.len(), 1, "{id}");
                    assert_eq!(q[0].model, 50, "{id}: QR model 2");
                    assert_eq!(q[0].ec, 49, "{id}: error correction M");
                    assert_eq!(q[0].data, verify_url().as_bytes(), "{id}");
                } else {
                    assert!(d.qrs().is_empty(), "{id}");
                }
                // A partial cut (GS V 66), never the crate's GS V 65 1.
                if p.cutter {
                    assert_eq!(d.cuts(), vec![(66, Some(0))], "{id}");
                } else {
                    assert!(d.cuts().is_empty(), "{id}: a tear-bar printer gets no cut");
                }
                assert_eq!(
                    *d.items.last().unwrap(),
                    if p.cutter {
                        Item::Cut(66, Some(0))
                    } else {
                        Item::Feed(5)
                    }
                );
            }
        }
    }
}

#[test]
fn payment_receipt_reads_back() {
    let b = bundle();
    let job = done_job("payment", Lang::Zh);
    let layout = Layout::from_bundle(&b, &job).unwrap();
    let d = decode(&encode_text(&layout, &p80()).unwrap()).unwrap();
    let text = d.text();
    // Title large and bold, centred.
    let title = d.lines()[0];
    assert_eq!(title.text, "电子缴款凭证");
    assert_eq!((title.size, title.bold, title.align), ((2, 2), true, 1));
    for s in [HALL, "终端 KSK-5301-0001", NAME, ID_MASKED, DOC, TIME] {
        assert!(text.contains(s), "missing {s} in\n{text}");
    }
    // The total: bold, in 元 (the label says so), right-aligned across 48 columns.
    let total = row_with(&d, "实缴金额（元）").unwrap();
    assert!(total.bold && total.text.ends_with("1,234.56"));
    assert_eq!(total.columns, 48);
    // Form lines: right-aligned in the same column, so the decimal points line up.
    let amounts: Vec<_> = d
        .lines()
        .into_iter()
        .filter(|l| l.text.ends_with(".00") || l.text.ends_with(".56"))
        .collect();
    assert!(amounts.len() >= 3);
    assert!(amounts.iter().all(|l| l.columns == 48));
    // The barcode of the document number (payment template): CODE128, code set B.
    let bc = d.barcodes();
    assert_eq!(bc.len(), 1);
    assert_eq!(bc[0].system, 73);
    assert_eq!(bc[0].hri, 2, "number printed below the bars");
    assert!(bc[0].data.starts_with(b"{B"));
    // No four-byte code anywhere: a GBK font has none.
    assert!(d.lines().iter().all(|l| four_byte_codes(&l.raw) == 0));
}

#[test]
fn ticket_prints_the_number_large() {
    let b = bundle();
    let job = ticket_job(Lang::Zh);
    for p in [p58(), p80()] {
        let d = decode(&encode_text(&Layout::from_bundle(&b, &job).unwrap(), &p).unwrap()).unwrap();
        let n = d
            .lines()
            .into_iter()
            .find(|l| l.text == "A023")
            .expect("number line");
        // Four characters: 4 x 4 = 16 columns fits 32 and 48 (5 would not on 58 mm).
        assert_eq!(n.size, (4, 4), "{}", p.id);
        assert_eq!(n.align, 1);
        let ahead = row_with(&d, "前面等候").unwrap();
        assert!(ahead.text.ends_with('7') && ahead.columns == usize::from(p.columns));
        let wait = row_with(&d, "预计等候（分钟）").unwrap();
        assert!(wait.text.ends_with("25"));
        // The category (the business), wrapped on 58 mm.
        let joined: String = d.lines().iter().map(|l| l.text.trim()).collect();
        assert!(
            joined.contains("增值税及附加税费申报（小规模纳税人）"),
            "{joined}"
        );
        // The number row of the template is not printed twice.
        assert!(row_with(&d, "号码").is_none());
        let bc = d.barcodes();
        assert_eq!(bc.len(), 1);
        assert_eq!(bc[0].data, b"{BA023");
    }
}

#[test]
fn long_tracking_barcode_is_left_out_on_58_mm_only() {
    // SANDBOX-C02-0001: start B + 12 characters + switch to C + 2 pairs + check + stop =
    // 18 symbols = 200 modules, 220 with quiet zones: 440 dots at 2 dots a module, more than
    // 384 (58 mm) and less than 576 (80 mm).
    let b = bundle();
    let job = accepted_job(Lang::Zh);
    let l = Layout::from_bundle(&b, &job).unwrap();
    assert!(
        decode(&encode_text(&l, &p58()).unwrap())
            .unwrap()
            .barcodes()
            .is_empty()
    );
    let d80 = decode(&encode_text(&l, &p80()).unwrap()).unwrap();
    let bc = d80.barcodes();
    assert_eq!(bc.len(), 1);
    assert_eq!(bc[0].module, 2);
    assert_eq!(
        bc[0].data,
        [b"{BSANDBOX-C02-{C".as_slice(), &[0, 1]].concat()
    );
    // Still on paper as text on both.
    assert!(
        decode(&encode_text(&l, &p58()).unwrap())
            .unwrap()
            .text()
            .contains(TRACKING)
    );
    // No document yet: no QR, and the layout says why.
    assert!(d80.qrs().is_empty());
    assert!(l.notes.iter().any(|n| n.contains("verify_url")));
}

#[test]
fn yen_sign_prints_as_fullwidth() {
    let b = bundle();
    let mut job = done_job("payment", Lang::Zh);
    job.lines.push(("滞纳金".into(), "¥12.30".into()));
    let l = Layout::from_bundle(&b, &job).unwrap();
    let bytes = encode_text(&l, &p58()).unwrap();
    // U+00A5 would be 81 30 84 36; U+FFE5 is A3 A4.
    assert!(!bytes.windows(4).any(|w| w == [0x81, 0x30, 0x84, 0x36]));
    let d = decode(&bytes).unwrap();
    assert!(row_with(&d, "滞纳金").unwrap().text.ends_with("￥12.30"));
}

#[test]
fn control_bytes_in_data_never_become_commands() {
    let b = bundle();
    let mut job = done_job("done", Lang::Zh);
    // A form value with ESC @ and GS V 0 (init, full cut) in it.
    job.lines.push(("备注".into(), "a\x1b@b\x1dV\x00c".into()));
    let bytes = encode_text(&Layout::from_bundle(&b, &job).unwrap(), &p80()).unwrap();
    let d = decode(&bytes).unwrap();
    assert_eq!(d.items.iter().filter(|i| **i == Item::Init).count(), 1);
    assert_eq!(d.cuts().len(), 1);
    assert!(row_with(&d, "备注").unwrap().text.ends_with("a@bVc"));
}

#[test]
fn rare_name_character_sends_the_whole_receipt_as_an_image() {
    let b = bundle();
    let mut job = done_job("done", Lang::Zh);
    // U+2020C (CJK extension B) has only a four-byte GB18030 code.
    set_field(&mut job, "taxpayer_name", "王\u{2020c}*");
    let l = Layout::from_bundle(&b, &job).unwrap();
    let e = encode_text(&l, &p80()).unwrap_err();
    assert!(matches!(e, Error::Unencodable { code: 0x2020c, .. }), "{e}");
    let font = CjkFont::system().unwrap();
    let job58 = encode(&l, &p58(), Some(&font)).unwrap();
    assert_eq!(job58.mode, Mode::Raster);
    assert!(job58.fallback.as_deref().unwrap().contains("U+2020C"));
    // Whole: one image, no text line anywhere in it.
    let d = decode(&job58.bytes).unwrap();
    assert!(d.lines().is_empty());
    assert!(d.items.iter().any(|i| matches!(i, Item::Raster(..))));
    // Without the font the error says what is missing; nothing half-done comes back.
    assert!(matches!(encode(&l, &p58(), None), Err(Error::Font { .. })));
    // A full GB18030 printer prints it as text, four bytes and all.
    let gb = PrinterProfile::by_id("tm-t70ii-ch").unwrap();
    let t = encode(&l, &gb, Some(&font)).unwrap();
    assert_eq!(t.mode, Mode::Text);
    assert!(decode(&t.bytes).unwrap().text().contains("王\u{2020c}*"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let b = bundle();
    // A QR payload too long for 58 mm paper: an error from the encoder, no bytes.
    let mut job = done_job("done", Lang::Zh);
    set_field(
        &mut job,
        "verify_url",
        &format!("https://example.org/{}", "x".repeat(1500)),
    );
    let l = Layout::from_bundle(&b, &job).unwrap();
    let e = encode_text(&l, &p58()).unwrap_err();
    assert!(matches!(e, Error::QrTooLong { .. }), "{e}");
    assert!(e.to_string().contains("58 mm"), "{e}");
    // Too long for any QR code: already at layout time.
    set_field(&mut job, "verify_url", &"y".repeat(3000));
    assert!(matches!(
        Layout::from_bundle(&b, &job),
        Err(Error::QrTooLong { .. })
    ));
    // A job without the field the kind cannot do without.
    let mut job = ticket_job(Lang::Zh);
    job.fields.retain(|(k, _)| k != "ticket_no");
    let e = Layout::from_bundle(&b, &job).unwrap_err();
    assert_eq!(
        e,
        Error::MissingField {
            template: "ticket".into(),
            field: "ticket_no".into()
        }
    );
    // A template that does not exist.
    let mut job = done_job("nonesuch", Lang::Zh);
    job.template = "nonesuch".into();
    assert_eq!(
        Layout::from_bundle(&b, &job).unwrap_err(),
        Error::UnknownTemplate("nonesuch".into())
    );
    // A template (built in code, past the loader) that references an unknown field.
    let mut t = b.receipts["done"].clone();
    t.lines[0].value = "{business_nmae}".into();
    let e = Layout::build(&t, &done_job("done", Lang::Zh)).unwrap_err();
    assert!(
        matches!(e, Error::UnknownPlaceholder { ref placeholder, .. } if placeholder == "business_nmae"),
        "{e}"
    );
}

#[test]
fn config_check_finds_each_problem() {
    let b = bundle();
    for p in PrinterProfile::builtin() {
        let problems = check_bundle(&b, &p);
        assert!(problems.is_empty(), "{}: {problems:#?}", p.id);
    }
    let p = p58();
    let base = b.receipts["ticket"].clone();
    // A field a ticket never carries.
    let mut t = base.clone();
    t.lines[0].value = "{verify_url}".into();
    let v = check_template(&t, &p);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("{verify_url}") && v[0].contains("never"),
        "{}",
        v[0]
    );
    // An unknown field and a stray brace.
    let mut t = base.clone();
    t.lines[1].value = "{window}".into();
    t.lines[2].value = "ahead}".into();
    let v = check_template(&t, &p);
    assert_eq!(v.len(), 2, "{v:?}");
    // Chinese text in a barcode.
    let mut t = base.clone();
    t.barcode = Some("{business_name}".into());
    assert_eq!(check_template(&t, &p).len(), 1);
    // A QR code whose fixed text alone does not fit 58 mm paper.
    let mut t = base.clone();
    t.qr = Some("z".repeat(1200));
    let v = check_template(&t, &p);
    assert!(v.len() == 1 && v[0].contains("QR"), "{v:?}");
    // A label a GBK printer cannot print: warned, as it forces raster mode every time.
    let mut t = base.clone();
    t.lines[0].label.zh = "号\u{2020c}".into();
    let v = check_template(&t, &p);
    assert!(v.len() == 1 && v[0].contains("image"), "{v:?}");
    // ...which a full GB18030 printer can.
    assert!(check_template(&t, &PrinterProfile::by_id("tm-t70ii-ch").unwrap()).is_empty());
}
