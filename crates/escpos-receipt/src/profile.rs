//! Printer profiles: what the layout and the encoders need to know about a model.
//!
//! Paper width, dots and Font A columns of the Epson and ZiJiang entries come from
//! escpos-printer-db (<https://github.com/receipt-print-hq/escpos-printer-db>, CC-BY-4.0,
//! by the receipt-print-hq contributors): `TM-T20III`, `TM-T70II-CH`, `TM-T70II-CH-58mm` and
//! `ZJ-5870`. Chinese support, completion command, cutter and speed are ours, from the
//! vendors' manuals; the two `pos-*-gbk` entries describe the common unbranded Chinese
//! printers (GBK font behind FS &, GS r, no GS ( H).

use serde::{Deserialize, Serialize};

/// How the printer can print Chinese text from bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Chinese {
    /// No Chinese font: every receipt goes as a raster image.
    None,
    /// FS & selects a GB2312/GBK font: two-byte codes only. A character that needs a
    /// four-byte GB18030 code (rare name characters, `¥`) forces raster mode.
    Gbk,
    /// FS & selects a full GB18030 font, four-byte codes included.
    Gb18030,
}

/// How the printer confirms that a job has been processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Completion {
    /// GS r 1 (paper sensor status): answered when the printer reaches it in the data.
    GsR,
    /// GS ( H fn 48 (process ID response): the reply echoes an id, so a late reply of an
    /// earlier job can never be taken for this one.
    GsParenH,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterProfile {
    pub id: String,
    pub name: String,
    /// Paper roll width.
    pub paper_mm: u16,
    /// Printable width in dots (the raster width).
    pub dots: u16,
    pub dpi: u16,
    /// Font A columns (12 x 24 dots a half-width cell; a Chinese character takes two).
    pub columns: u16,
    pub chinese: Chinese,
    pub completion: Completion,
    /// Whether there is an auto-cutter; without one the receipt is fed past the tear bar.
    pub cutter: bool,
    /// Whether the printer draws QR codes itself (GS ( k). Without it, text mode is not used.
    pub native_qr: bool,
    /// Print speed to size the completion timeout; the slow end of the vendor's range.
    pub speed_mm_s: u16,
    /// Rows per GS v 0 command: cheap printers have receive buffers of a few KB and drop
    /// data from a larger image, so images go in slices.
    pub raster_slice_rows: u16,
}

/// Font A cell: 12 x 24 dots on every 203 dpi model in the table.
pub const CELL_W: u16 = 12;
pub const CELL_H: u16 = 24;
/// ESC 2 default line spacing on these models: 30 dots (3.75 mm).
pub const LINE_PITCH: u16 = 30;

impl PrinterProfile {
    /// The built-in table. Kiosks name a profile by id in their device settings.
    pub fn builtin() -> Vec<PrinterProfile> {
        let p = |id: &str,
                 name: &str,
                 paper_mm,
                 dots,
                 columns,
                 chinese,
                 completion,
                 cutter,
                 native_qr,
                 speed_mm_s| PrinterProfile {
            id: id.into(),
            name: name.into(),
            paper_mm,
            dots,
            dpi: 203,
            columns,
            chinese,
            completion,
            cutter,
            native_qr,
            speed_mm_s,
            raster_slice_rows: if dots > 400 { 96 } else { 128 },
        };
        vec![
            p(
                "pos-80-gbk",
                "80 mm Chinese thermal printer (GBK font, GS r)",
                80,
                576,
                48,
                Chinese::Gbk,
                Completion::GsR,
                true,
                true,
                100,
            ),
            p(
                "pos-58-gbk",
                "58 mm Chinese thermal printer (GBK font, GS r, tear bar)",
                58,
                384,
                32,
                Chinese::Gbk,
                Completion::GsR,
                false,
                true,
                60,
            ),
            p(
                "tm-t70ii-ch",
                "Epson TM-T70II Simplified Chinese (80 mm)",
                80,
                576,
                48,
                Chinese::Gb18030,
                Completion::GsParenH,
                true,
                true,
                150,
            ),
            p(
                "tm-t70ii-ch-58",
                "Epson TM-T70II Chinese, 58 mm paper",
                58,
                416,
                34,
                Chinese::Gb18030,
                Completion::GsParenH,
                true,
                true,
                150,
            ),
            p(
                "tm-t20iii",
                "Epson TM-T20III (80 mm, no Chinese font: raster)",
                80,
                576,
                48,
                Chinese::None,
                Completion::GsR,
                true,
                true,
                150,
            ),
            p(
                "zj-5870",
                "ZiJiang ZJ-5870 (58 mm, no Chinese font, no QR: raster)",
                58,
                384,
                32,
                Chinese::None,
                Completion::GsR,
                false,
                false,
                50,
            ),
        ]
    }

    pub fn by_id(id: &str) -> Option<PrinterProfile> {
        Self::builtin().into_iter().find(|p| p.id == id)
    }

    /// Whether receipts go as text (smaller, faster) when every character is encodable.
    pub fn text_mode(&self) -> bool {
        self.chinese != Chinese::None && self.native_qr
    }

    pub fn bytes_per_row(&self) -> usize {
        usize::from(self.dots).div_ceil(8)
    }

    /// Dots per millimetre of paper (8 at 203 dpi).
    pub fn dots_per_mm(&self) -> f64 {
        f64::from(self.dpi) / 25.4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let all = PrinterProfile::builtin();
        assert!(all.iter().any(|p| p.paper_mm == 58 && p.text_mode()));
        assert!(all.iter().any(|p| p.paper_mm == 80 && p.text_mode()));
        for p in &all {
            // Columns of Font A must fit in the printable width, or text mode wraps by itself.
            assert!(p.columns * CELL_W <= p.dots, "{}", p.id);
            assert!(p.dots % 8 == 0, "{}: raster rows are whole bytes", p.id);
            assert!(p.raster_slice_rows > 0 && p.speed_mm_s > 0);
            assert_eq!(PrinterProfile::by_id(&p.id).as_ref(), Some(p));
        }
        let mut ids: Vec<_> = all.iter().map(|p| &p.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }
}
