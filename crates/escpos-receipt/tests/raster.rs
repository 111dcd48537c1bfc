//! Raster mode and the PNG preview: what a person sees. PNGs go to target/escpos-receipt/
//! for looking at; zbarimg reads their QR codes and barcodes back.

mod common;

use common::decoder::{Item, decode};
use common::*;
use escpos_receipt::layout::Layout;
use escpos_receipt::raster::{Bitmap, render};
use escpos_receipt::{CjkFont, PrinterProfile, encode_raster, render_png};
use kiosk_core::Lang;

fn font() -> CjkFont {
    CjkFont::system().expect("fonts-noto-cjk is installed by scripts/setup")
}

#[test]
fn picks_the_monospaced_simplified_chinese_face() {
    let f = font();
    assert_eq!(f.face, "Noto Sans Mono CJK SC");
    for c in "税务回执元￥A0".chars() {
        assert!(f.has_glyph(c), "{c}");
    }
}

#[test]
fn receipt_and_ticket_pngs_read_back() {
    let b = bundle();
    let f = font();
    let cases = [
        (
            "payment-80mm-zh",
            done_job("payment", Lang::Zh),
            "pos-80-gbk",
            Some(verify_url()),
            Some(DOC),
        ),
        (
            "certificate-58mm-zh",
            done_job("certificate", Lang::Zh),
            "pos-58-gbk",
            Some(verify_url()),
            None,
        ),
        (
            "ticket-58mm-zh",
            ticket_job(Lang::Zh),
            "pos-58-gbk",
            None,
            Some("A023"),
        ),
        (
            "ticket-80mm-en",
            ticket_job(Lang::En),
            "pos-80-gbk",
            None,
            Some("A023"),
        ),
        (
            "notice-80mm-zh",
            done_job("notice", Lang::Zh),
            "pos-80-gbk",
            None,
            None,
        ),
        (
            "acceptance-80mm-en",
            accepted_job(Lang::En),
            "pos-80-gbk",
            None,
            Some(TRACKING),
        ),
    ];
    for (name, job, profile, qr, bar) in cases {
        let p = PrinterProfile::by_id(profile).unwrap();
        let l = Layout::from_bundle(&b, &job).unwrap();
        let png = render_png(&l, &p, &f).unwrap();
        std::fs::write(png_dir().join(format!("{name}.png")), &png).unwrap();
        let Some(codes) = zbar(&png, name) else {
            return;
        };
        match &qr {
            Some(u) => assert!(codes.contains(&format!("QR-Code:{u}")), "{name}: {codes:?}"),
            None => assert!(
                !codes.iter().any(|c| c.starts_with("QR-Code")),
                "{name}: {codes:?}"
            ),
        }
        match bar {
            Some(n) => assert!(
                codes.contains(&format!("CODE-128:{n}")),
                "{name}: {codes:?}"
            ),
            None => assert!(!codes.iter().any(|c| c.starts_with("CODE-128")), "{name}"),
        }
    }
}

#[test]
fn raster_bytes_are_the_rendered_image_in_slices() {
    let b = bundle();
    let f = font();
    for profile in ["pos-58-gbk", "tm-t20iii", "zj-5870"] {
        let p = PrinterProfile::by_id(profile).unwrap();
        let l = Layout::from_bundle(&b, &done_job("payment", Lang::Zh)).unwrap();
        let bm = render(&l, &p, &f).unwrap();
        let d = decode(&encode_raster(&l, &p, &f).unwrap()).unwrap();
        assert_eq!(d.items[0], Item::Init);
        let mut rows = Vec::new();
        let mut height = 0;
        for it in &d.items {
            if let Item::Raster(x, y, data) = it {
                assert_eq!(*x, usize::from(p.dots) / 8, "{profile}");
                assert!(
                    *y <= usize::from(p.raster_slice_rows),
                    "{profile}: slice of {y} rows"
                );
                rows.extend_from_slice(data);
                height += y;
            }
        }
        assert_eq!(height, bm.height);
        assert_eq!(
            rows, bm.data,
            "{profile}: reassembled slices differ from the image"
        );
        // Nothing but the image, the feed and the cut (or the tear-bar feed).
        let tail: Vec<_> = d
            .items
            .iter()
            .filter(|i| !matches!(i, Item::Raster(..)))
            .collect();
        if p.cutter {
            assert_eq!(
                tail,
                vec![&Item::Init, &Item::Feed(1), &Item::Cut(66, Some(0))]
            );
        } else {
            assert_eq!(tail, vec![&Item::Init, &Item::Feed(5)]);
        }
    }
}

/// Black pixels in a band of rows.
fn ink(bm: &Bitmap, y0: usize, y1: usize, x0: usize, x1: usize) -> usize {
    (y0..y1.min(bm.height))
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|(x, y)| bm.get(*x, *y))
        .count()
}

#[test]
fn rows_are_drawn_where_text_mode_puts_them() {
    // A row on 32 columns: the label in the first cells, the value in the last ones, and
    // nothing in between. Checked on the bitmap, against column positions computed here.
    let b = bundle();
    let p = PrinterProfile::by_id("pos-58-gbk").unwrap();
    let l = Layout::from_bundle(&b, &done_job("payment", Lang::Zh)).unwrap();
    let blocks = l.blocks(&p).unwrap();
    let bm = render(&l, &p, &font()).unwrap();
    // Find the row "凭证号码 ... PRACTICE-000001" and its top.
    let mut y = escpos_receipt::raster::TOP_MARGIN;
    for blk in &blocks {
        let h = match blk {
            escpos_receipt::Block::Text { h, .. } => 30usize.max(24 * usize::from(*h)),
            escpos_receipt::Block::Rule | escpos_receipt::Block::Blank(_) => 30,
            _ => break,
        };
        if let escpos_receipt::Block::Text { text, .. } = blk
            && text.starts_with("凭证号码")
        {
            // Label: 4 characters = 8 columns = 96 dots. Value: 15 columns at the right
            // end of 32 x 12 = 384 dots, i.e. from dot 204.
            assert!(ink(&bm, y, y + 24, 0, 96) > 100, "label drawn");
            assert_eq!(ink(&bm, y, y + 24, 100, 200), 0, "gap is blank");
            assert!(
                ink(&bm, y, y + 24, 204, 384) > 100,
                "value drawn at the right"
            );
            return;
        }
        y += h;
    }
    panic!("row not found in {blocks:#?}");
}
