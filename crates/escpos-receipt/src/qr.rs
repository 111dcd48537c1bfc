//! QR codes: how much fits, how large a module is, and the matrix for raster mode.
//!
//! Model 2, error correction M: M survives a crease or a smudge on thermal paper and keeps
//! a verification URL at version 4 to 6, which scans easily at 6 dots a module.

use qrcode::{EcLevel, QrCode};

use crate::Error;
use crate::profile::PrinterProfile;

/// Byte-mode capacity at error correction M for versions 1 to 40 (ISO/IEC 18004, table 7).
/// Printers encode GS ( k data in byte mode, so this is what they fit.
const CAP_M: [usize; 40] = [
    14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
    711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911,
    1989, 2099, 2213, 2331,
];

/// Smallest module a phone camera reads reliably off 203 dpi thermal paper.
pub const MIN_MODULE: u8 = 3;
pub const MAX_MODULE: u8 = 6;
/// Quiet zone in modules on each side (the standard asks for 4).
pub const QUIET: usize = 4;

/// The smallest version that holds `len` bytes.
pub fn version_for(len: usize) -> Option<usize> {
    CAP_M.iter().position(|&c| c >= len).map(|i| i + 1)
}

pub fn modules(version: usize) -> usize {
    17 + 4 * version
}

fn fits(version: usize, p: &PrinterProfile, module: u8) -> bool {
    (modules(version) + 2 * QUIET) * usize::from(module) <= usize::from(p.dots)
}

/// The longest payload that fits this paper.
pub fn max_len(p: &PrinterProfile) -> usize {
    (1..=40)
        .rev()
        .find(|&v| fits(v, p, MIN_MODULE))
        .map_or(0, |v| CAP_M[v - 1])
}

/// Whether `len` bytes fit in a QR code at all (`None`) or on this paper.
pub fn check_len(len: usize, p: Option<&PrinterProfile>) -> Result<(), Error> {
    let (max, paper) = match p {
        Some(p) => (max_len(p), format!("on {} mm paper", p.paper_mm)),
        None => (CAP_M[39], "in any QR code".to_string()),
    };
    if len > max {
        return Err(Error::QrTooLong { len, max, paper });
    }
    Ok(())
}

/// Dots a module for a payload of `len` bytes: as large as 6 while the code stays within
/// two thirds of the paper, never below 3.
pub fn module_dots(len: usize, p: &PrinterProfile) -> Result<u8, Error> {
    check_len(len, Some(p))?;
    let v = version_for(len).unwrap_or(40);
    let span = (modules(v) + 2 * QUIET) as f64;
    let by_width = (f64::from(p.dots) * 2.0 / 3.0 / span).floor() as u8;
    let m = by_width.clamp(MIN_MODULE, MAX_MODULE);
    // The two-thirds rule may ask for less than the minimum on long payloads; the minimum
    // still fits (check_len said so).
    debug_assert!(fits(v, p, m) || m == MIN_MODULE);
    Ok(m)
}

/// The module matrix (true = dark), without quiet zone.
pub fn matrix(payload: &str) -> Result<Vec<Vec<bool>>, Error> {
    let code =
        QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|_| {
            Error::QrTooLong {
                len: payload.len(),
                max: CAP_M[39],
                paper: "in any QR code".into(),
            }
        })?;
    let w = code.width();
    let colors = code.to_colors();
    Ok(colors
        .chunks(w)
        .map(|r| r.iter().map(|c| *c == qrcode::Color::Dark).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::Version;

    #[test]
    fn capacity_table_matches_the_encoder() {
        // Lower-case letters force byte mode, as a printer's GS ( k data does.
        for v in 1..=40i16 {
            let cap = CAP_M[v as usize - 1];
            let fits = |n: usize| {
                QrCode::with_version(vec![b'a'; n], Version::Normal(v), EcLevel::M).is_ok()
            };
            assert!(fits(cap), "version {v} should hold {cap}");
            assert!(!fits(cap + 1), "version {v} should not hold {}", cap + 1);
        }
    }

    #[test]
    fn module_sizes() {
        let p58 = PrinterProfile::by_id("pos-58-gbk").unwrap();
        let p80 = PrinterProfile::by_id("pos-80-gbk").unwrap();
        // 80 bytes need version 5 (37 modules, 45 with quiet zones): two thirds of 384
        // dots is 256, 256 / 45 = 5.7 -> 5 dots; on 576 dots 384 / 45 = 8.5 -> capped at 6.
        assert_eq!(module_dots(80, &p58).unwrap(), 5);
        assert_eq!(module_dots(80, &p80).unwrap(), 6);
        // Longer payloads shrink the module but never below 3.
        let m = module_dots(400, &p58).unwrap();
        assert!((MIN_MODULE..6).contains(&m));
        assert!(max_len(&p58) < max_len(&p80));
        assert!(matches!(
            module_dots(max_len(&p58) + 1, &p58),
            Err(Error::QrTooLong { .. })
        ));
        assert!(check_len(2332, None).is_err());
    }
}
