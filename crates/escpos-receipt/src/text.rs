//! Text mode: the printer draws the characters from its own Chinese font. GB18030 bytes
//! between FS & and FS .; the escpos crate builds the ordinary commands, and what it gets
//! wrong or lacks goes raw (FS &, FS ., the partial cut, CODE128).

use std::cell::RefCell;
use std::rc::Rc;

use encoding_rs::GB18030;
use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::Error;
use crate::code128;
use crate::layout::{Align, Block, Layout};
use crate::profile::{Chinese, PrinterProfile};

pub const FS_KANJI_ON: &[u8] = &[0x1c, b'&'];
pub const FS_KANJI_OFF: &[u8] = &[0x1c, b'.'];
/// GS V 66 0: feed to the cutting position, then a partial cut. The escpos crate's
/// `partial_cut` sends GS V 65 1, which many printers take as a full cut.
pub const PARTIAL_CUT: &[u8] = &[0x1d, b'V', 66, 0];
/// Barcode height in dots (10 mm).
pub const BARCODE_HEIGHT: u8 = 80;

/// An in-memory escpos driver: the crate builds the bytes, the transport sends them.
#[derive(Clone, Default)]
struct Memory(Rc<RefCell<Vec<u8>>>);

impl Driver for Memory {
    fn name(&self) -> String {
        "memory".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

fn esc(e: escpos::errors::PrinterError) -> Error {
    Error::Escpos(e.to_string())
}

/// GB18030 bytes of `s`, refusing what the printer's font cannot print.
pub fn encode_gb(s: &str, chinese: Chinese) -> Result<Vec<u8>, Error> {
    if chinese == Chinese::None && !s.is_ascii() {
        let ch = s.chars().find(|c| !c.is_ascii()).unwrap_or('?');
        return Err(Error::Unencodable {
            ch,
            code: ch as u32,
            reason: "the printer has no Chinese font",
        });
    }
    let (bytes, _, _) = GB18030.encode(s);
    // A four-byte GB18030 code has a digit (0x30-0x39) as its second byte; two-byte codes
    // never do.
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x80 {
            i += 1;
        } else if bytes.get(i + 1).is_some_and(|b| (0x30..=0x39).contains(b)) {
            if chinese != Chinese::Gb18030 {
                let ch = s
                    .chars()
                    .find(|c| {
                        let mut b = [0u8; 4];
                        GB18030.encode(c.encode_utf8(&mut b)).0.len() == 4
                    })
                    .unwrap_or('?');
                return Err(Error::Unencodable {
                    ch,
                    code: ch as u32,
                    reason: "it needs a four-byte GB18030 code and the printer's font is GBK",
                });
            }
            i += 4;
        } else {
            i += 2;
        }
    }
    Ok(bytes.into_owned())
}

/// The text-mode bytes of a receipt, or an error naming the first character the printer
/// cannot print (the caller then sends the receipt as a raster image instead).
pub fn encode_text(layout: &Layout, p: &PrinterProfile) -> Result<Vec<u8>, Error> {
    if !p.text_mode() {
        return Err(Error::Unencodable {
            ch: ' ',
            code: 0x20,
            reason: "the printer profile has no text mode",
        });
    }
    let blocks = layout.blocks(p)?;
    let mem = Memory::default();
    let mut pr = Printer::new(mem.clone(), Protocol::default(), None);
    pr.init().map_err(esc)?;
    pr.custom(FS_KANJI_ON).map_err(esc)?;
    for b in &blocks {
        match b {
            Block::Text {
                text,
                align,
                w,
                h,
                bold,
            } => {
                let bytes = encode_gb(text, p.chinese)?;
                pr.justify(justify(*align)).map_err(esc)?;
                if *bold {
                    pr.bold(true).map_err(esc)?;
                }
                if (*w, *h) != (1, 1) {
                    pr.size(*w, *h).map_err(esc)?;
                }
                pr.custom(&bytes).map_err(esc)?;
                pr.custom(b"\n").map_err(esc)?;
                if (*w, *h) != (1, 1) {
                    pr.reset_size().map_err(esc)?;
                }
                if *bold {
                    pr.bold(false).map_err(esc)?;
                }
            }
            Block::Blank(n) => {
                pr.feeds(*n).map_err(esc)?;
            }
            Block::Rule => {
                pr.justify(JustifyMode::LEFT).map_err(esc)?;
                pr.custom(&vec![b'-'; usize::from(p.columns)])
                    .map_err(esc)?;
                pr.custom(b"\n").map_err(esc)?;
            }
            Block::Qr { payload, module } => {
                pr.justify(JustifyMode::CENTER).map_err(esc)?;
                // The crate defaults to model 1, which phones read badly: always model 2.
                let opt = QRCodeOption::new(QRCodeModel::Model2, *module, QRCodeCorrectionLevel::M);
                pr.qrcode_option(payload, opt).map_err(esc)?;
            }
            Block::Barcode { data, module } => {
                let Some(e) = code128::encode(data) else {
                    continue;
                };
                pr.justify(JustifyMode::CENTER).map_err(esc)?;
                let mut cmd = vec![
                    0x1d,
                    b'H',
                    2, // HRI below
                    0x1d,
                    b'f',
                    0, // HRI in font A
                    0x1d,
                    b'h',
                    BARCODE_HEIGHT,
                    0x1d,
                    b'w',
                    *module,
                    0x1d,
                    b'k',
                    73,
                    e.printer_data.len() as u8,
                ];
                cmd.extend_from_slice(&e.printer_data);
                pr.custom(&cmd).map_err(esc)?;
                pr.custom(b"\n").map_err(esc)?;
            }
        }
    }
    pr.justify(JustifyMode::LEFT).map_err(esc)?;
    pr.custom(FS_KANJI_OFF).map_err(esc)?;
    trailer(&mut pr, p).map_err(esc)?;
    pr.print().map_err(esc)?;
    let out = mem.0.borrow().clone();
    Ok(out)
}

/// Feed and cut: past the cutter with a partial cut, or past the tear bar.
fn trailer<D: Driver>(pr: &mut Printer<D>, p: &PrinterProfile) -> escpos::errors::Result<()> {
    if p.cutter {
        pr.feeds(1)?;
        pr.custom(PARTIAL_CUT)?;
    } else {
        pr.feeds(5)?;
    }
    Ok(())
}

/// The trailer bytes alone (raster mode appends them after the image).
pub fn trailer_bytes(p: &PrinterProfile) -> Vec<u8> {
    if p.cutter {
        [&[0x1b, b'd', 1][..], PARTIAL_CUT].concat()
    } else {
        vec![0x1b, b'd', 5]
    }
}

fn justify(a: Align) -> JustifyMode {
    match a {
        Align::Left => JustifyMode::LEFT,
        Align::Center => JustifyMode::CENTER,
        Align::Right => JustifyMode::RIGHT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb_encoding_rules() {
        // Two-byte codes: fine on a GBK font.
        assert_eq!(
            encode_gb("元￥", Chinese::Gbk).unwrap(),
            vec![0xd4, 0xaa, 0xa3, 0xa4]
        );
        // U+00A5 is a four-byte code in GB18030 (81 30 84 36).
        let e = encode_gb("¥1", Chinese::Gbk).unwrap_err();
        assert!(matches!(e, Error::Unencodable { ch: '¥', .. }), "{e}");
        assert_eq!(
            encode_gb("¥", Chinese::Gb18030).unwrap(),
            vec![0x81, 0x30, 0x84, 0x36]
        );
        // A rare name character outside GBK (U+2020C, CJK extension B).
        assert!(encode_gb("张\u{2020c}", Chinese::Gbk).is_err());
        assert!(encode_gb("中", Chinese::None).is_err());
        assert_eq!(encode_gb("A-1", Chinese::None).unwrap(), b"A-1");
    }
}
