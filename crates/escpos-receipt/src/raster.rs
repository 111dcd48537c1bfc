//! Raster mode and the PNG preview: the layout drawn as a 1-bit image with the Noto CJK
//! font, sent as GS v 0 slices. Works on any printer and with any character the font has,
//! which is why it is the fallback when text mode cannot print a receipt whole.

use std::path::Path;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};

use crate::Error;
use crate::code128;
use crate::layout::{Align, Block, Layout, print_width, text_width};
use crate::profile::{CELL_H, CELL_W, LINE_PITCH, PrinterProfile};
use crate::qr;
use crate::text::{BARCODE_HEIGHT, trailer_bytes};

/// Where Debian's fonts-noto-cjk puts the font (installed by scripts/setup).
pub const DEFAULT_FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
];

/// Faces in order of preference: the monospaced face has half-width Latin glyphs that fit
/// the 12-dot cell exactly; SC gives Simplified Chinese glyph forms.
const FACES: &[&str] = &[
    "Noto Sans Mono CJK SC",
    "Noto Sans CJK SC",
    "Noto Sans Mono CJK",
];

pub struct CjkFont {
    font: FontVec,
    pub path: String,
    pub face: String,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CjkFont({} in {})", self.face, self.path)
    }
}

impl CjkFont {
    /// The font named by `KIOSK_CJK_FONT`, or the first of [`DEFAULT_FONT_PATHS`] present.
    pub fn system() -> Result<CjkFont, Error> {
        if let Ok(p) = std::env::var("KIOSK_CJK_FONT") {
            return CjkFont::load(Path::new(&p));
        }
        for p in DEFAULT_FONT_PATHS {
            if Path::new(p).exists() {
                return CjkFont::load(Path::new(p));
            }
        }
        Err(Error::Font {
            path: DEFAULT_FONT_PATHS[0].into(),
            reason: "not found; install fonts-noto-cjk (scripts/setup) or set KIOSK_CJK_FONT"
                .into(),
        })
    }

    pub fn load(path: &Path) -> Result<CjkFont, Error> {
        let err = |reason: String| Error::Font {
            path: path.display().to_string(),
            reason,
        };
        let data = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let (index, face) = pick_face(&data);
        let font = FontVec::try_from_vec_and_index(data, index)
            .map_err(|e| err(format!("face {index}: {e}")))?;
        Ok(CjkFont {
            font,
            path: path.display().to_string(),
            face,
        })
    }

    /// Whether the font has a glyph for `c` (without one, raster mode prints a box).
    pub fn has_glyph(&self, c: char) -> bool {
        self.font.glyph_id(c).0 != 0
    }
}

fn pick_face(data: &[u8]) -> (u32, String) {
    let n = ttf_parser::fonts_in_collection(data).unwrap_or(1);
    let mut names = Vec::new();
    for i in 0..n {
        let Ok(face) = ttf_parser::Face::parse(data, i) else {
            continue;
        };
        let family = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::FAMILY)
            .find_map(|n| n.to_string())
            .unwrap_or_default();
        names.push((i, family));
    }
    for want in FACES {
        if let Some((i, f)) = names.iter().find(|(_, f)| f == want) {
            return (*i, f.clone());
        }
    }
    names.into_iter().next().unwrap_or((0, "unknown".into()))
}

/// A 1-bit image, rows of whole bytes, most significant bit leftmost, 1 = black (the
/// GS v 0 layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Bitmap {
    pub fn new(width: usize, height: usize) -> Bitmap {
        Bitmap {
            width,
            height,
            data: vec![0; width.div_ceil(8) * height],
        }
    }

    pub fn row_bytes(&self) -> usize {
        self.width.div_ceil(8)
    }

    pub fn set(&mut self, x: i64, y: i64) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        let rb = self.row_bytes();
        self.data[y * rb + x / 8] |= 0x80 >> (x % 8);
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.height
            && self.data[y * self.row_bytes() + x / 8] & (0x80 >> (x % 8)) != 0
    }

    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy);
            }
        }
    }

    pub fn black_pixels(&self) -> usize {
        self.data.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// A 1-bit grayscale PNG (PNG's 0 is black, so the bits are inverted).
    pub fn to_png(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            let mut w = enc.write_header().map_err(|e| Error::Png(e.to_string()))?;
            let inverted: Vec<u8> = self.data.iter().map(|b| !b).collect();
            w.write_image_data(&inverted)
                .map_err(|e| Error::Png(e.to_string()))?;
        }
        Ok(out)
    }
}

/// White above the title: the preview looks like torn-off paper, and on a printer the
/// image starts a millimetre below the previous cut instead of at it.
pub const TOP_MARGIN: usize = 8;

/// Height in dots a block takes, as a printer advances the paper for it.
fn block_height(b: &Block, qr_size: Option<usize>) -> usize {
    match b {
        // A line moves the paper by the line spacing, or by its height when taller.
        Block::Text { h, .. } => usize::from(LINE_PITCH).max(usize::from(CELL_H) * usize::from(*h)),
        Block::Blank(n) => usize::from(LINE_PITCH) * usize::from(*n),
        Block::Rule => usize::from(LINE_PITCH),
        Block::Qr { module, .. } => (qr_size.unwrap_or(0) + 4) * usize::from(*module),
        Block::Barcode { .. } => 6 + usize::from(BARCODE_HEIGHT) + 2 + usize::from(CELL_H) + 6,
    }
}

/// Draws the receipt as the paper will show it.
pub fn render(layout: &Layout, p: &PrinterProfile, font: &CjkFont) -> Result<Bitmap, Error> {
    let blocks = layout.blocks(p)?;
    let mut qrs = Vec::new();
    for b in &blocks {
        if let Block::Qr { payload, .. } = b {
            qrs.push(qr::matrix(payload)?);
        }
    }
    let mut qi = qrs.iter();
    let heights: Vec<usize> = blocks
        .iter()
        .map(|b| {
            let size = match b {
                Block::Qr { .. } => qi.next().map(|m| m.len()),
                _ => None,
            };
            block_height(b, size)
        })
        .collect();
    let total: usize = TOP_MARGIN + heights.iter().sum::<usize>();
    let mut bm = Bitmap::new(usize::from(p.dots), total);
    let mut y = TOP_MARGIN;
    let mut qi = qrs.iter();
    for (b, h) in blocks.iter().zip(&heights) {
        let top = y as i64;
        match b {
            Block::Text {
                text,
                align,
                w,
                h: sh,
                bold,
            } => draw_text(&mut bm, font, p, text, *align, *w, *sh, *bold, top),
            Block::Blank(_) => {}
            Block::Rule => {
                // Dashes like the text-mode rule of `-` characters, one every cell.
                let cols = i64::from(p.columns);
                for c in 0..cols {
                    bm.fill(c * i64::from(CELL_W) + 2, top + 12, 8, 2);
                }
            }
            Block::Qr { module, .. } => {
                if let Some(m) = qi.next() {
                    let md = i64::from(*module);
                    let n = m.len() as i64;
                    let x0 = (i64::from(p.dots) - n * md) / 2;
                    let y0 = top + 2 * md;
                    for (r, row) in m.iter().enumerate() {
                        for (c, dark) in row.iter().enumerate() {
                            if *dark {
                                bm.fill(x0 + c as i64 * md, y0 + r as i64 * md, md, md);
                            }
                        }
                    }
                }
            }
            Block::Barcode { data, module } => {
                if let Some(e) = code128::encode(data) {
                    let widths = code128::widths(&e);
                    let md = i64::from(*module);
                    let total: i64 = widths.iter().map(|w| i64::from(*w) * md).sum();
                    let mut x = (i64::from(p.dots) - total) / 2;
                    for (k, w) in widths.iter().enumerate() {
                        let ww = i64::from(*w) * md;
                        if k % 2 == 0 {
                            bm.fill(x, top + 6, ww, i64::from(BARCODE_HEIGHT));
                        }
                        x += ww;
                    }
                    let hri_top = top + 6 + i64::from(BARCODE_HEIGHT) + 2;
                    draw_text(&mut bm, font, p, data, Align::Center, 1, 1, false, hri_top);
                }
            }
        }
        y += h;
    }
    Ok(bm)
}

#[allow(clippy::too_many_arguments)]
fn draw_text(
    bm: &mut Bitmap,
    font: &CjkFont,
    p: &PrinterProfile,
    text: &str,
    align: Align,
    w: u8,
    h: u8,
    bold: bool,
    top: i64,
) {
    let cell = i64::from(CELL_W) * i64::from(w);
    let total = text_width(text) as i64 * cell;
    let dots = i64::from(p.dots);
    // Justified within the printable width, as the printer does with ESC a.
    let mut x = match align {
        Align::Left => 0,
        Align::Center => (dots - total).max(0) / 2,
        Align::Right => (dots - total).max(0),
    };
    let px_h = f32::from(CELL_H) * f32::from(h);
    let px_w = f32::from(CELL_H) * f32::from(w);
    // ab_glyph scales by ascent minus descent, which in Noto CJK is 1.448 em: the em box
    // (what fills a 24-dot cell on a printer) needs the scale enlarged by that ratio.
    let em = font.font.units_per_em().unwrap_or(1000.0);
    let ratio = font.font.height_unscaled() / em;
    let scale = PxScale {
        x: px_w * ratio,
        y: px_h * ratio,
    };
    let scaled = font.font.as_scaled(scale);
    // Ideographs fill the em box from 0.12 em below the baseline to 0.88 em above it, so
    // the baseline sits at 0.88 em: the glyphs fill the 24-dot cell as the printer's do.
    let baseline = top as f32 + 0.88 * px_h;
    for c in text.chars() {
        let cw = print_width(c) as i64 * cell;
        let id = font.font.glyph_id(c);
        if c == ' ' {
            x += cw;
            continue;
        }
        if id.0 == 0 {
            // No glyph in the font: a box, so the gap is visible rather than silent.
            let (bx, by, bw, bh) = (x + 2, top + 2, cw - 4, i64::from(CELL_H) * i64::from(h) - 4);
            bm.fill(bx, by, bw, 1);
            bm.fill(bx, by + bh - 1, bw, 1);
            bm.fill(bx, by, 1, bh);
            bm.fill(bx + bw - 1, by, 1, bh);
            x += cw;
            continue;
        }
        let adv = scaled.h_advance(id);
        let gx = x as f32 + ((cw as f32 - adv) / 2.0).max(0.0);
        let glyph = id.with_scale_and_position(scale, point(gx, baseline));
        if let Some(outline) = font.font.outline_glyph(glyph) {
            let bb = outline.px_bounds();
            let (ox, oy) = (bb.min.x as i64, bb.min.y as i64);
            let thick = if bold { i64::from(w).max(1) } else { 0 };
            outline.draw(|dx, dy, cov| {
                // 0.4 keeps the thin horizontal strokes of small characters.
                if cov > 0.4 {
                    let (px, py) = (ox + i64::from(dx), oy + i64::from(dy));
                    for k in 0..=thick {
                        bm.set(px + k, py);
                    }
                }
            });
        }
        x += cw;
    }
}

/// The raster-mode bytes: ESC @, the image as GS v 0 slices, feed and cut.
pub fn encode_raster(
    layout: &Layout,
    p: &PrinterProfile,
    font: &CjkFont,
) -> Result<Vec<u8>, Error> {
    let bm = render(layout, p, font)?;
    Ok(raster_bytes(&bm, p))
}

pub fn raster_bytes(bm: &Bitmap, p: &PrinterProfile) -> Vec<u8> {
    let rb = bm.row_bytes();
    let mut out = Vec::with_capacity(bm.data.len() + 64);
    out.extend_from_slice(&[0x1b, b'@']);
    for chunk in bm.data.chunks(rb * usize::from(p.raster_slice_rows)) {
        let rows = chunk.len() / rb;
        out.extend_from_slice(&[
            0x1d,
            b'v',
            b'0',
            0,
            (rb & 0xff) as u8,
            (rb >> 8) as u8,
            (rows & 0xff) as u8,
            (rows >> 8) as u8,
        ]);
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&trailer_bytes(p));
    out
}

/// The receipt as a PNG, for the kiosk screen and for looking at.
pub fn render_png(layout: &Layout, p: &PrinterProfile, font: &CjkFont) -> Result<Vec<u8>, Error> {
    render(layout, p, font)?.to_png()
}

/// A QR code alone as a PNG (the e-receipt on screen), `module` pixels a module.
pub fn qr_png(payload: &str, module: usize) -> Result<Vec<u8>, Error> {
    let m = qr::matrix(payload)?;
    let n = m.len();
    let side = (n + 2 * qr::QUIET) * module;
    let mut bm = Bitmap::new(side, side);
    for (r, row) in m.iter().enumerate() {
        for (c, dark) in row.iter().enumerate() {
            if *dark {
                bm.fill(
                    ((c + qr::QUIET) * module) as i64,
                    ((r + qr::QUIET) * module) as i64,
                    module as i64,
                    module as i64,
                );
            }
        }
    }
    bm.to_png()
}
