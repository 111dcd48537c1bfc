//! The printer's real-time status (DLE EOT 1 to 4) and what it means for a job.
//!
//! Bit meanings follow the Epson ESC/POS reference (`dle_eot`). Every status byte has the
//! fixed pattern 0xx1xx10, which also tells a status reply apart from a late GS r reply
//! (bit 4 clear) or a GS ( H reply (0x37 ...) on the same connection.

use kiosk_core::Localized;
use kiosk_core::session::PrinterState;
use serde::{Deserialize, Serialize};

/// Whether `b` has the fixed bits of a DLE EOT reply.
pub fn is_status_byte(b: u8) -> bool {
    b & 0x93 == 0x12
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    Offline,
    CoverOpen,
    PaperOut,
    CutterError,
    UnrecoverableError,
    AutoRecoverableError,
}

impl Fault {
    pub fn text(self) -> Localized {
        match self {
            Fault::Offline => Localized::new("打印机离线", "printer offline"),
            Fault::CoverOpen => Localized::new("打印机盖未关", "printer cover open"),
            Fault::PaperOut => Localized::new("打印纸用完", "out of paper"),
            Fault::CutterError => Localized::new("切纸刀故障", "cutter error"),
            Fault::UnrecoverableError => {
                Localized::new("打印机故障，需维修", "unrecoverable printer error")
            }
            Fault::AutoRecoverableError => {
                Localized::new("打印头过热，稍后恢复", "print head overheated, recovering")
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterStatus {
    /// The four reply bytes, for the log and the hall console.
    pub raw: [u8; 4],
    pub offline: bool,
    pub cover_open: bool,
    pub paper_out: bool,
    pub paper_near_end: bool,
    pub cutter_error: bool,
    pub unrecoverable_error: bool,
    pub auto_recoverable_error: bool,
}

impl PrinterStatus {
    /// Decodes the replies to DLE EOT 1, 2, 3 and 4, in that order.
    pub fn from_replies(raw: [u8; 4]) -> Option<PrinterStatus> {
        if !raw.iter().all(|b| is_status_byte(*b)) {
            return None;
        }
        let [s1, s2, s3, s4] = raw;
        Some(PrinterStatus {
            raw,
            offline: s1 & 0x08 != 0,
            cover_open: s2 & 0x04 != 0,
            // Paper out: the roll sensor (n=4 bits 5-6) or "stopped by paper end" (n=2 bit 5).
            paper_out: s4 & 0x60 != 0 || s2 & 0x20 != 0,
            paper_near_end: s4 & 0x0c != 0,
            cutter_error: s3 & 0x08 != 0,
            unrecoverable_error: s3 & 0x20 != 0,
            auto_recoverable_error: s3 & 0x40 != 0,
        })
    }

    /// Faults that stop printing, most specific first. A printer reports itself offline
    /// whenever another fault stops it, so `Offline` is listed only when nothing explains it.
    pub fn faults(&self) -> Vec<Fault> {
        let mut f = Vec::new();
        if self.paper_out {
            f.push(Fault::PaperOut);
        }
        if self.cover_open {
            f.push(Fault::CoverOpen);
        }
        if self.cutter_error {
            f.push(Fault::CutterError);
        }
        if self.unrecoverable_error {
            f.push(Fault::UnrecoverableError);
        }
        if self.auto_recoverable_error {
            f.push(Fault::AutoRecoverableError);
        }
        if self.offline && f.is_empty() {
            f.push(Fault::Offline);
        }
        f
    }

    /// Whether a job may start. Paper near end does not stop one.
    pub fn can_print(&self) -> bool {
        self.faults().is_empty()
    }

    /// What the session core is told (`Event::PrinterChecked`): ready, paper low (print,
    /// and staff are told), or a fault.
    pub fn to_printer_state(&self) -> PrinterState {
        let faults = self.faults();
        if !faults.is_empty() {
            let zh: Vec<String> = faults.iter().map(|f| f.text().zh).collect();
            let en: Vec<String> = faults.iter().map(|f| f.text().en).collect();
            return PrinterState::Fault(Localized::new(zh.join("，"), en.join(", ")));
        }
        if self.paper_near_end {
            PrinterState::PaperLow
        } else {
            PrinterState::Ready
        }
    }

    pub fn summary_en(&self) -> String {
        let f = self.faults();
        if f.is_empty() {
            if self.paper_near_end {
                "ready, paper near end".into()
            } else {
                "ready".into()
            }
        } else {
            f.iter().map(|x| x.text().en).collect::<Vec<_>>().join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(b: [u8; 4]) -> PrinterStatus {
        PrinterStatus::from_replies(b).unwrap()
    }

    #[test]
    fn decoding() {
        // All clear: only the fixed bits.
        let ok = st([0x12; 4]);
        assert!(ok.can_print());
        assert_eq!(ok.to_printer_state(), PrinterState::Ready);
        // Near end (n=4 bits 2 and 3): print, but tell staff.
        let low = st([0x12, 0x12, 0x12, 0x12 | 0x0c]);
        assert!(low.can_print() && low.paper_near_end);
        assert_eq!(low.to_printer_state(), PrinterState::PaperLow);
        // Paper out: offline (n=1 bit 3), stopped by paper end (n=2 bit 5), sensor (n=4).
        let out = st([0x1a, 0x32, 0x12, 0x7e]);
        assert_eq!(out.faults(), vec![Fault::PaperOut]);
        assert!(!out.can_print());
        // Cover open.
        assert_eq!(
            st([0x1a, 0x16, 0x12, 0x12]).faults(),
            vec![Fault::CoverOpen]
        );
        // Offline with no other cause.
        assert_eq!(st([0x1a, 0x12, 0x12, 0x12]).faults(), vec![Fault::Offline]);
        // Cutter error (n=3 bit 3).
        assert_eq!(
            st([0x1a, 0x52, 0x1a, 0x12]).faults(),
            vec![Fault::CutterError]
        );
        assert!(matches!(
            st([0x1a, 0x16, 0x12, 0x12]).to_printer_state(),
            PrinterState::Fault(_)
        ));
    }

    #[test]
    fn foreign_bytes_are_not_status() {
        // A GS r 1 reply (paper adequate = 0x00, near end = 0x03) and a GS ( H header.
        for b in [0x00, 0x03, 0x0f, 0x37, 0x22] {
            assert!(!is_status_byte(b), "{b:#x}");
        }
        assert!(PrinterStatus::from_replies([0x12, 0x12, 0x00, 0x12]).is_none());
    }
}
