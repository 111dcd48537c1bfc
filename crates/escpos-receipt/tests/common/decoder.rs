//! A decoder of the ESC/POS bytes the kiosk sends, written from the Epson command reference
//! and independent of the encoder: it turns a byte stream back into printed lines (GB18030
//! text, the columns they take, justification, size), QR codes, barcodes, raster slices
//! and the cut, and refuses anything it does not know.

use encoding_rs::GB18030;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// Columns on paper: one a byte below 0x80, two a double-byte or four-byte character.
    pub columns: usize,
    pub align: u8,
    pub bold: bool,
    pub size: (u8, u8),
    pub kanji: bool,
    pub raw: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qr {
    pub model: u8,
    pub module: u8,
    pub ec: u8,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Barcode {
    pub system: u8,
    pub data: Vec<u8>,
    pub module: u8,
    pub height: u8,
    pub hri: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Init,
    KanjiOn,
    KanjiOff,
    Line(Line),
    Feed(u8),
    Qr(Qr),
    Barcode(Barcode),
    /// GS v 0: bytes a row, rows, data.
    Raster(usize, usize, Vec<u8>),
    /// GS V m [n].
    Cut(u8, Option<u8>),
}

#[derive(Debug, Default)]
pub struct Decoded {
    pub items: Vec<Item>,
}

impl Decoded {
    pub fn lines(&self) -> Vec<&Line> {
        self.items
            .iter()
            .filter_map(|i| if let Item::Line(l) = i { Some(l) } else { None })
            .collect()
    }
    pub fn text(&self) -> String {
        self.lines()
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
    pub fn qrs(&self) -> Vec<&Qr> {
        self.items
            .iter()
            .filter_map(|i| if let Item::Qr(q) = i { Some(q) } else { None })
            .collect()
    }
    pub fn barcodes(&self) -> Vec<&Barcode> {
        self.items
            .iter()
            .filter_map(|i| {
                if let Item::Barcode(b) = i {
                    Some(b)
                } else {
                    None
                }
            })
            .collect()
    }
    pub fn cuts(&self) -> Vec<(u8, Option<u8>)> {
        self.items
            .iter()
            .filter_map(|i| {
                if let Item::Cut(m, n) = i {
                    Some((*m, *n))
                } else {
                    None
                }
            })
            .collect()
    }
}

/// Columns of GB18030 bytes as a Chinese printer lays them out.
pub fn gb_columns(b: &[u8]) -> usize {
    let mut i = 0;
    let mut cols = 0;
    while i < b.len() {
        if b[i] < 0x80 {
            cols += 1;
            i += 1;
        } else if b.get(i + 1).is_some_and(|x| (0x30..=0x39).contains(x)) {
            cols += 2;
            i += 4;
        } else {
            cols += 2;
            i += 2;
        }
    }
    cols
}

/// Four-byte GB18030 codes in the bytes (second byte a digit).
pub fn four_byte_codes(b: &[u8]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] < 0x80 {
            i += 1;
        } else if b.get(i + 1).is_some_and(|x| (0x30..=0x39).contains(x)) {
            n += 1;
            i += 4;
        } else {
            i += 2;
        }
    }
    n
}

struct State {
    align: u8,
    bold: bool,
    size: (u8, u8),
    kanji: bool,
    hri: u8,
    bar_h: u8,
    bar_w: u8,
    qr_model: u8,
    qr_module: u8,
    qr_ec: u8,
    qr_data: Vec<u8>,
}

impl Default for State {
    fn default() -> Self {
        State {
            align: 0,
            bold: false,
            size: (1, 1),
            kanji: false,
            hri: 0,
            bar_h: 162,
            bar_w: 3,
            qr_model: 50,
            qr_module: 3,
            qr_ec: 48,
            qr_data: Vec::new(),
        }
    }
}

pub fn decode(b: &[u8]) -> Result<Decoded, String> {
    let mut d = Decoded::default();
    let mut st = State::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut i = 0;
    let need = |i: usize, n: usize| -> Result<(), String> {
        if i + n > b.len() {
            Err(format!("command at {i} cut short"))
        } else {
            Ok(())
        }
    };
    let flush = |d: &mut Decoded, st: &State, pending: &mut Vec<u8>| {
        let raw = std::mem::take(pending);
        let (text, _, bad) = GB18030.decode(&raw);
        assert!(!bad, "invalid GB18030 in {raw:x?}");
        d.items.push(Item::Line(Line {
            text: text.into_owned(),
            columns: gb_columns(&raw),
            align: st.align,
            bold: st.bold,
            size: st.size,
            kanji: st.kanji,
            raw,
        }));
    };
    while i < b.len() {
        let c = b[i];
        if c >= 0x20 {
            pending.push(c);
            i += 1;
            continue;
        }
        // Commands inside a line are only allowed at its start here (the encoder never
        // changes modes mid-line), so pending text before one is an error.
        match c {
            0x0a => {
                flush(&mut d, &st, &mut pending);
                i += 1;
                continue;
            }
            _ if !pending.is_empty() => {
                return Err(format!("command {c:#x} at {i} in the middle of a line"));
            }
            _ => {}
        }
        need(i, 2)?;
        let (c1, c2) = (b[i], b[i + 1]);
        match (c1, c2) {
            (0x1b, b'@') => {
                st = State::default();
                d.items.push(Item::Init);
                i += 2;
            }
            (0x1b, b'a') => {
                need(i, 3)?;
                st.align = b[i + 2] % 48;
                i += 3;
            }
            (0x1b, b'E') => {
                need(i, 3)?;
                st.bold = b[i + 2] & 1 == 1;
                i += 3;
            }
            (0x1b, b'd') => {
                need(i, 3)?;
                d.items.push(Item::Feed(b[i + 2]));
                i += 3;
            }
            (0x1b, b'2') => i += 2,
            (0x1d, b'!') => {
                need(i, 3)?;
                let n = b[i + 2];
                st.size = ((n >> 4) + 1, (n & 7) + 1);
                i += 3;
            }
            (0x1c, b'&') => {
                st.kanji = true;
                d.items.push(Item::KanjiOn);
                i += 2;
            }
            (0x1c, b'.') => {
                st.kanji = false;
                d.items.push(Item::KanjiOff);
                i += 2;
            }
            (0x1d, b'H') | (0x1d, b'f') | (0x1d, b'h') | (0x1d, b'w') => {
                need(i, 3)?;
                match c2 {
                    b'H' => st.hri = b[i + 2],
                    b'h' => st.bar_h = b[i + 2],
                    b'w' => st.bar_w = b[i + 2],
                    _ => {}
                }
                i += 3;
            }
            (0x1d, b'k') => {
                need(i, 4)?;
                let m = b[i + 2];
                if m <= 6 {
                    let end = b[i + 3..]
                        .iter()
                        .position(|x| *x == 0)
                        .ok_or("GS k A without NUL")?;
                    d.items.push(Item::Barcode(Barcode {
                        system: m,
                        data: b[i + 3..i + 3 + end].to_vec(),
                        module: st.bar_w,
                        height: st.bar_h,
                        hri: st.hri,
                    }));
                    i += 4 + end;
                } else {
                    let n = usize::from(b[i + 3]);
                    need(i, 4 + n)?;
                    d.items.push(Item::Barcode(Barcode {
                        system: m,
                        data: b[i + 4..i + 4 + n].to_vec(),
                        module: st.bar_w,
                        height: st.bar_h,
                        hri: st.hri,
                    }));
                    i += 4 + n;
                }
            }
            (0x1d, b'(') => {
                need(i, 5)?;
                let f = b[i + 2];
                let len = usize::from(b[i + 3]) + 256 * usize::from(b[i + 4]);
                need(i, 5 + len)?;
                let p = &b[i + 5..i + 5 + len];
                if f != b'k' || p.first() != Some(&49) {
                    return Err(format!("GS ( {} at {i}: not a QR command", f as char));
                }
                match p.get(1) {
                    Some(65) => st.qr_model = p[2],
                    Some(67) => st.qr_module = p[2],
                    Some(69) => st.qr_ec = p[2],
                    Some(80) => st.qr_data = p[3..].to_vec(),
                    Some(81) => d.items.push(Item::Qr(Qr {
                        model: st.qr_model,
                        module: st.qr_module,
                        ec: st.qr_ec,
                        data: st.qr_data.clone(),
                    })),
                    other => return Err(format!("QR function {other:?}")),
                }
                i += 5 + len;
            }
            (0x1d, b'v') => {
                need(i, 8)?;
                if b[i + 2] != b'0' {
                    return Err("GS v other than 0".into());
                }
                let x = usize::from(b[i + 4]) + 256 * usize::from(b[i + 5]);
                let y = usize::from(b[i + 6]) + 256 * usize::from(b[i + 7]);
                need(i, 8 + x * y)?;
                d.items
                    .push(Item::Raster(x, y, b[i + 8..i + 8 + x * y].to_vec()));
                i += 8 + x * y;
            }
            (0x1d, b'V') => {
                need(i, 3)?;
                let m = b[i + 2];
                if matches!(m, 65 | 66 | 97 | 98) {
                    need(i, 4)?;
                    d.items.push(Item::Cut(m, Some(b[i + 3])));
                    i += 4;
                } else {
                    d.items.push(Item::Cut(m, None));
                    i += 3;
                }
            }
            _ => return Err(format!("unknown command {c1:#04x} {c2:#04x} at {i}")),
        }
    }
    if !pending.is_empty() {
        return Err("text without a final line feed".into());
    }
    Ok(d)
}
