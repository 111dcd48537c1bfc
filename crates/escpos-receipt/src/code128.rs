//! CODE128 for the tracking number: symbol values (to draw bars in raster mode) and the
//! GS k data form that a printer draws itself. Both come from one encoding, so the bars
//! are the same whichever mode prints them.
//!
//! The escpos crate's barcode systems stop at CODABAR (GS k function A); CODE128 is
//! function B (m = 73) and is sent raw.

use crate::profile::PrinterProfile;

/// Bar and space widths of symbol values 0 to 106 (106 is the stop, with its final bar).
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

const START_B: u8 = 104;
const START_C: u8 = 105;
const TO_B: u8 = 100;
const TO_C: u8 = 99;
const STOP: u8 = 106;
/// Quiet zone: ten modules each side.
pub const QUIET: usize = 10;

/// CODE128 set B covers printable ASCII; that is what a tracking number may hold.
pub fn encodable(data: &str) -> bool {
    !data.is_empty() && data.len() <= 80 && data.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// Start, data, check and stop symbol values.
    pub values: Vec<u8>,
    /// The GS k m=73 data: `{B`/`{C` code set selections, set C digits as byte values.
    pub printer_data: Vec<u8>,
}

fn digit_run(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Encodes with set C for runs of digits (half the width) and set B for the rest.
pub fn encode(data: &str) -> Option<Encoded> {
    if !encodable(data) {
        return None;
    }
    let b = data.as_bytes();
    let mut values = Vec::new();
    let mut pd = Vec::new();
    let mut i = 0;
    let lead = digit_run(b);
    // Four or more leading digits: start in C (an odd last digit goes in B after a switch).
    let mut in_c = lead >= 4;
    if in_c {
        values.push(START_C);
        pd.extend_from_slice(b"{C");
    } else {
        values.push(START_B);
        pd.extend_from_slice(b"{B");
    }
    while i < b.len() {
        if in_c {
            if digit_run(&b[i..]) >= 2 {
                let v = (b[i] - b'0') * 10 + (b[i + 1] - b'0');
                values.push(v);
                pd.push(v);
                i += 2;
                continue;
            }
            values.push(TO_B);
            pd.extend_from_slice(b"{B");
            in_c = false;
            continue;
        }
        let run = digit_run(&b[i..]);
        // Switching costs a symbol: worth it for 6 digits inside, 4 at the end.
        if run >= 6 || (run >= 4 && i + run == b.len()) {
            if !run.is_multiple_of(2) {
                values.push(b[i] - 32);
                pd.push(b[i]);
                i += 1;
            }
            values.push(TO_C);
            pd.extend_from_slice(b"{C");
            in_c = true;
            continue;
        }
        values.push(b[i] - 32);
        if b[i] == b'{' {
            // A literal brace is doubled in the printer's data form.
            pd.extend_from_slice(b"{{");
        } else {
            pd.push(b[i]);
        }
        i += 1;
    }
    let check = values
        .iter()
        .enumerate()
        .map(|(k, v)| k.max(1) as u32 * u32::from(*v))
        .sum::<u32>()
        % 103;
    values.push(check as u8);
    values.push(STOP);
    Some(Encoded {
        values,
        printer_data: pd,
    })
}

/// Bar/space widths in modules, starting with a bar.
pub fn widths(e: &Encoded) -> Vec<u8> {
    e.values
        .iter()
        .flat_map(|v| PATTERNS[usize::from(*v)].bytes().map(|c| c - b'0'))
        .collect()
}

pub fn modules(e: &Encoded) -> usize {
    widths(e).iter().map(|w| usize::from(*w)).sum()
}

/// Dots a module: 3 if it fits with its quiet zones, else 2, else none (left out: below two
/// dots a module thermal bars bleed into each other and scanners give up).
pub fn module_for(data: &str, p: &PrinterProfile) -> Option<u8> {
    let e = encode(data)?;
    let m = modules(&e) + 2 * QUIET;
    [3u8, 2]
        .into_iter()
        .find(|w| m * usize::from(*w) <= usize::from(p.dots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_eleven_modules() {
        for (v, p) in PATTERNS.iter().enumerate() {
            let sum: u32 = p.bytes().map(|c| u32::from(c - b'0')).sum();
            assert_eq!(sum, if v == 106 { 13 } else { 11 }, "value {v}");
        }
    }

    #[test]
    fn check_symbol_by_hand() {
        // Start B (104), 'A' = 33, 'B' = 34: (104 + 1*33 + 2*34) mod 103 = 205 mod 103 = 102.
        let e = encode("AB").unwrap();
        assert_eq!(e.values, vec![104, 33, 34, 102, 106]);
        assert_eq!(e.printer_data, b"{BAB");
    }

    #[test]
    fn digits_use_set_c() {
        // "TK-123456": B for "TK-", then C for 12 34 56.
        let e = encode("TK-123456").unwrap();
        assert_eq!(&e.values[..4], &[104, 52, 43, 13]);
        assert_eq!(&e.values[4..8], &[99, 12, 34, 56]);
        assert_eq!(
            e.printer_data,
            [b"{BTK-{C".as_slice(), &[12, 34, 56]].concat()
        );
        // All digits: start in C.
        let e = encode("20261129").unwrap();
        assert_eq!(e.values[0], 105);
        assert_eq!(e.values.len(), 1 + 4 + 2);
        // A literal brace is doubled for the printer.
        assert_eq!(encode("a{b").unwrap().printer_data, b"{Ba{{b");
        assert!(encode("编号1").is_none());
    }

    #[test]
    fn fits_the_paper() {
        let p58 = PrinterProfile::by_id("pos-58-gbk").unwrap();
        let p80 = PrinterProfile::by_id("pos-80-gbk").unwrap();
        // 18 symbols: 17 x 11 + 13 = 200 modules, plus 2 x 10 quiet.
        assert_eq!(modules(&encode("SANDBOX-C02-0001").unwrap()), 200);
        assert_eq!(module_for("SANDBOX-C02-0001", &p80), Some(2));
        assert_eq!(module_for("SANDBOX-C02-0001", &p58), None);
        assert_eq!(module_for("A023", &p58), Some(3));
    }
}
