//! Text width for fixed-width output (terminals, thermal printers): a Chinese character
//! takes two columns, so padding by `chars().count()` misaligns every column after it.

/// Columns a string takes in a monospaced CJK font.
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

pub fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// Pads with spaces on the right to `width` columns (no truncation).
pub fn pad_right(s: &str, width: usize) -> String {
    let w = display_width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("增值税"), 6);
        assert_eq!(display_width("（元）"), 6);
        assert_eq!(display_width("￥12"), 4);
        assert_eq!(pad_right("发票", 6), "发票  ");
        assert_eq!(display_width(&pad_right("a发", 10)), 10);
    }
}
