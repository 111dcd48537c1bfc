//! From a receipt template and a print job to a layout, and from a layout to printed lines.
//!
//! Two steps, because a receipt outlives its printer: [`Layout`] holds what the receipt
//! says (title, rows, QR payload...) and is what the journal keeps; [`Layout::blocks`]
//! wraps and aligns it for one printer's columns. Both encoders and the PNG preview draw
//! the same blocks, so text mode, raster mode and the screen agree column for column.

use kiosk_core::Lang;
use kiosk_core::config::{Bundle, RECEIPT_PLACEHOLDERS, ReceiptKind, ReceiptTemplate};
use kiosk_core::session::PrintJob;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::code128;
use crate::profile::PrinterProfile;
use crate::qr;

/// Columns a character takes on paper. In Chinese mode a printer prints every multi-byte
/// code as a full-width cell, so on paper the rule is bytes, not Unicode width: `·`, `—` or
/// `é` take two columns there although a terminal (and `kiosk_core::text::display_width`)
/// gives them one. Raster mode follows the same rule so that both modes look the same.
pub fn print_width(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

pub fn text_width(s: &str) -> usize {
    s.chars().map(print_width).sum()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Receipt,
    Certificate,
    Ticket,
    Notice,
}

impl From<ReceiptKind> for Kind {
    fn from(k: ReceiptKind) -> Kind {
        match k {
            ReceiptKind::Receipt => Kind::Receipt,
            ReceiptKind::Certificate => Kind::Certificate,
            ReceiptKind::Ticket => Kind::Ticket,
            ReceiptKind::Notice => Kind::Notice,
        }
    }
}

/// What a receipt says, independent of the paper width.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Element {
    /// Large, bold, centred.
    Title(String),
    /// A small centred line (hall, kiosk).
    Center(String),
    /// A bold centred marker (reprint).
    Marker(String),
    /// A queue number, as large as the paper allows.
    Number(String),
    /// Label on the left, value right-aligned; `bold` for totals.
    Row {
        label: String,
        value: String,
        bold: bool,
    },
    /// A numbered list item with a hanging indent (materials on a notice).
    Item {
        n: usize,
        text: String,
    },
    /// Running text (footer).
    Paragraph(String),
    Rule,
    Blank,
    Qr(String),
    Barcode(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub template: String,
    pub kind: Kind,
    pub lang: Lang,
    pub title: String,
    /// The number to find this receipt again by: ticket, tracking or document number.
    pub reference: Option<String>,
    pub verify_url: Option<String>,
    pub time: String,
    pub elements: Vec<Element>,
    /// Whether this is a reprint (the paper says so).
    pub reprint: bool,
    /// What the layout left out and why (a field the job does not carry, a barcode that
    /// does not fit). For logs; never personal data.
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One physical block on paper, wrapped for a printer's columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// One printed line. `text` is at most `columns / w` wide; rows are padded with spaces
    /// to the full width, so alignment survives any renderer.
    Text {
        text: String,
        align: Align,
        w: u8,
        h: u8,
        bold: bool,
    },
    Blank(u8),
    Rule,
    /// QR model 2, error correction M, `module` dots a module.
    Qr {
        payload: String,
        module: u8,
    },
    /// CODE128 with its text below, `module` dots a module.
    Barcode {
        data: String,
        module: u8,
    },
}

/// Fields a job must carry for a receipt of this kind to mean anything.
fn required_fields(kind: Kind) -> &'static [&'static [&'static str]] {
    // Each inner list: at least one of these.
    match kind {
        Kind::Ticket => &[&["time"], &["ticket_no"]],
        Kind::Certificate => &[&["time"], &["document_no"], &["verify_url"]],
        Kind::Receipt => &[&["time"], &["tracking_no", "document_no"]],
        Kind::Notice => &[&["time"], &["materials"]],
    }
}

/// Pieces of a template string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Lit(&'a str),
    Field(&'a str),
}

pub(crate) fn parse_placeholders<'a>(
    template: &str,
    text: &'a str,
) -> Result<Vec<Piece<'a>>, Error> {
    let syntax = || Error::TemplateSyntax {
        template: template.to_string(),
        text: text.to_string(),
    };
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match (rest.find('{'), rest.find('}')) {
            (None, None) => {
                out.push(Piece::Lit(rest));
                break;
            }
            (Some(o), Some(c)) if o < c => {
                if o > 0 {
                    out.push(Piece::Lit(&rest[..o]));
                }
                let name = &rest[o + 1..c];
                if name.is_empty() || name.contains('{') {
                    return Err(syntax());
                }
                if !RECEIPT_PLACEHOLDERS.contains(&name) {
                    return Err(Error::UnknownPlaceholder {
                        template: template.to_string(),
                        placeholder: name.to_string(),
                    });
                }
                out.push(Piece::Field(name));
                rest = &rest[c + 1..];
            }
            _ => return Err(syntax()),
        }
    }
    Ok(out)
}

/// Text as it may go on paper: control characters removed (a byte below 0x20 in a name or a
/// form value would be a printer command), `¥` replaced by `￥` (U+00A5 needs a four-byte
/// GB18030 code that GBK printers lack; U+FFE5 is two bytes), and an unmasked resident ID
/// number masked, as a last guard: receipts and the journal never show one in full.
pub fn clean(s: &str) -> String {
    let s: String = s
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' | '\u{a0}' => Some(' '),
            '¥' => Some('￥'),
            c if c.is_control() => None,
            // Line and paragraph separators, zero-width and bidi controls: invisible, and
            // some printers print them as garbage.
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' => None,
            '\u{feff}' => None,
            c => Some(c),
        })
        .collect();
    mask_id_numbers(&s)
}

fn mask_id_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 18 {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let boundary_before = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if boundary_before && i + 18 <= chars.len() {
            let cand: String = chars[i..i + 18].iter().collect();
            let boundary_after = chars.get(i + 18).is_none_or(|c| !c.is_ascii_alphanumeric());
            if boundary_after && let Ok(id) = kiosk_core::IdNumber::parse(&cand) {
                out.push_str(&id.masked());
                i += 18;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

enum Filled {
    Text(String),
    Missing(String),
}

fn fill(template: &str, text: &str, job: &PrintJob) -> Result<Filled, Error> {
    let mut out = String::new();
    for piece in parse_placeholders(template, text)? {
        match piece {
            Piece::Lit(s) => out.push_str(s),
            Piece::Field(name) => match field(job, name) {
                Some(v) => out.push_str(v),
                None => return Ok(Filled::Missing(name.to_string())),
            },
        }
    }
    Ok(Filled::Text(clean(&out)))
}

fn field<'a>(job: &'a PrintJob, name: &str) -> Option<&'a str> {
    job.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

struct Words {
    kiosk: &'static str,
    reprint: &'static str,
    yuan: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::Zh => Words {
            kiosk: "终端",
            reprint: "** 重打 REPRINT **",
            yuan: "元",
        },
        Lang::En => Words {
            kiosk: "Kiosk",
            reprint: "** REPRINT **",
            yuan: " yuan",
        },
    }
}

impl Layout {
    /// The layout of a print job with its template from the bundle.
    pub fn from_bundle(bundle: &Bundle, job: &PrintJob) -> Result<Layout, Error> {
        let t = bundle
            .receipts
            .get(&job.template)
            .ok_or_else(|| Error::UnknownTemplate(job.template.clone()))?;
        Layout::build(t, job)
    }

    /// The layout of a print job. Lines whose fields the job does not carry are left out
    /// (no taxpayer line when no card was read; no QR before there is a document); a field
    /// the kind cannot do without is an error.
    pub fn build(t: &ReceiptTemplate, job: &PrintJob) -> Result<Layout, Error> {
        let kind = Kind::from(t.kind);
        let lang = job.lang;
        let w = words(lang);
        for any_of in required_fields(kind) {
            if !any_of.iter().any(|f| field(job, f).is_some()) {
                return Err(Error::MissingField {
                    template: t.id.clone(),
                    field: any_of.join(" or "),
                });
            }
        }
        let mut notes = Vec::new();
        let mut el = Vec::new();
        let title = clean(t.title.get(lang));
        el.push(Element::Title(title.clone()));
        if let Some(hall) = field(job, "hall_name") {
            el.push(Element::Center(clean(hall)));
        }
        if let Some(k) = field(job, "kiosk_id") {
            el.push(Element::Center(clean(&format!("{} {k}", w.kiosk))));
        }
        el.push(Element::Rule);
        let ticket_no = field(job, "ticket_no").map(clean);
        if kind == Kind::Ticket
            && let Some(n) = &ticket_no
        {
            el.push(Element::Number(n.clone()));
            el.push(Element::Blank);
        }
        for line in &t.lines {
            // The number is already printed large.
            if kind == Kind::Ticket && line.value.trim() == "{ticket_no}" {
                parse_placeholders(&t.id, &line.value)?;
                continue;
            }
            let label = clean(line.label.get(lang));
            let value = match fill(&t.id, &line.value, job)? {
                Filled::Text(v) => v,
                Filled::Missing(f) => {
                    notes.push(format!("line `{label}` left out: no `{f}`"));
                    continue;
                }
            };
            if line.value.trim() == "{materials}" {
                let items: Vec<&str> = value
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                el.push(Element::Row {
                    label,
                    value: String::new(),
                    bold: false,
                });
                for (i, it) in items.iter().enumerate() {
                    el.push(Element::Item {
                        n: i + 1,
                        text: it.to_string(),
                    });
                }
                continue;
            }
            let total = line.value.trim() == "{total}";
            let value = if total && !mentions_unit(&label) {
                format!("{value}{}", w.yuan)
            } else {
                value
            };
            el.push(Element::Row {
                label,
                value,
                bold: total,
            });
        }
        if t.form_lines && !job.lines.is_empty() {
            el.push(Element::Rule);
            for (label, value) in &job.lines {
                el.push(Element::Row {
                    label: clean(label),
                    value: clean(value),
                    bold: false,
                });
            }
        }
        el.push(Element::Rule);
        let verify_url = field(job, "verify_url").map(clean);
        if let Some(q) = &t.qr {
            match fill(&t.id, q, job)? {
                Filled::Text(payload) => {
                    qr::check_len(payload.len(), None)?;
                    el.push(Element::Qr(payload));
                }
                Filled::Missing(f) => notes.push(format!("QR code left out: no `{f}`")),
            }
        }
        if let Some(b) = &t.barcode {
            match fill(&t.id, b, job)? {
                Filled::Text(data) if code128::encodable(&data) => el.push(Element::Barcode(data)),
                Filled::Text(_) => {
                    notes.push("barcode left out: CODE128 takes printable ASCII only".into())
                }
                Filled::Missing(f) => notes.push(format!("barcode left out: no `{f}`")),
            }
        }
        el.push(Element::Paragraph(clean(t.footer.get(lang))));
        let reference = match kind {
            Kind::Ticket => ticket_no,
            _ => field(job, "tracking_no")
                .or_else(|| field(job, "document_no"))
                .map(clean),
        };
        Ok(Layout {
            template: t.id.clone(),
            kind,
            lang,
            title,
            reference,
            verify_url,
            time: field(job, "time").map(clean).unwrap_or_default(),
            elements: el,
            reprint: false,
            notes,
        })
    }

    /// The same receipt, marked as a reprint.
    pub fn as_reprint(&self) -> Layout {
        let mut l = self.clone();
        if !l.reprint {
            l.reprint = true;
            l.elements
                .insert(0, Element::Marker(words(l.lang).reprint.to_string()));
        }
        l
    }

    /// Wraps and aligns the layout for a printer. Fails only when the QR code cannot fit
    /// this paper; a barcode that does not fit is left out (its number is printed anyway).
    pub fn blocks(&self, p: &PrinterProfile) -> Result<Vec<Block>, Error> {
        let cols = usize::from(p.columns);
        let mut out = Vec::new();
        let text = |out: &mut Vec<Block>, text: String, align, w: u8, h: u8, bold| {
            out.push(Block::Text {
                text,
                align,
                w,
                h,
                bold,
            })
        };
        for e in &self.elements {
            match e {
                Element::Title(t) => {
                    let tw = text_width(t);
                    let (w, lines) = if balanced_wrap(t, cols / 2).len() <= 2 || tw <= cols / 2 {
                        (2, balanced_wrap(t, cols / 2))
                    } else {
                        (1, balanced_wrap(t, cols))
                    };
                    for l in lines {
                        text(&mut out, l, Align::Center, w, 2, true);
                    }
                }
                Element::Center(s) => {
                    for l in wrap(s, cols) {
                        text(&mut out, l, Align::Center, 1, 1, false);
                    }
                }
                Element::Marker(s) => {
                    for l in wrap(s, cols) {
                        text(&mut out, l, Align::Center, 1, 1, true);
                    }
                }
                Element::Number(n) => {
                    let nw = text_width(n).max(1);
                    let s = (1..=4u8)
                        .rev()
                        .find(|s| nw * usize::from(*s) <= cols)
                        .unwrap_or(1);
                    for l in wrap(n, cols / usize::from(s)) {
                        text(&mut out, l, Align::Center, s, s, true);
                    }
                }
                Element::Row { label, value, bold } => {
                    for l in row(label, value, cols) {
                        text(&mut out, l, Align::Left, 1, 1, *bold);
                    }
                }
                Element::Item { n, text: t } => {
                    let head = format!("{n}. ");
                    let hw = text_width(&head);
                    for (i, l) in wrap(t, cols.saturating_sub(hw).max(4))
                        .into_iter()
                        .enumerate()
                    {
                        let prefix = if i == 0 { head.clone() } else { " ".repeat(hw) };
                        text(&mut out, format!("{prefix}{l}"), Align::Left, 1, 1, false);
                    }
                }
                Element::Paragraph(s) => {
                    let lines = balanced_wrap(s, cols);
                    let align = if lines.len() == 1 {
                        Align::Center
                    } else {
                        Align::Left
                    };
                    for l in lines {
                        text(&mut out, l, align, 1, 1, false);
                    }
                }
                Element::Rule => out.push(Block::Rule),
                Element::Blank => out.push(Block::Blank(1)),
                Element::Qr(payload) => {
                    let module = qr::module_dots(payload.len(), p)?;
                    out.push(Block::Qr {
                        payload: payload.clone(),
                        module,
                    });
                }
                Element::Barcode(data) => {
                    // Left out when it does not fit rather than printed too narrow to
                    // scan; the number is on the receipt as text.
                    if let Some(module) = code128::module_for(data, p) {
                        out.push(Block::Barcode {
                            data: data.clone(),
                            module,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every text the layout prints, for checks and for the e-receipt.
    pub fn texts(&self) -> Vec<&str> {
        let mut v = Vec::new();
        for e in &self.elements {
            match e {
                Element::Title(s)
                | Element::Center(s)
                | Element::Marker(s)
                | Element::Number(s)
                | Element::Paragraph(s)
                | Element::Barcode(s)
                | Element::Qr(s) => v.push(s.as_str()),
                Element::Row { label, value, .. } => {
                    v.push(label.as_str());
                    v.push(value.as_str());
                }
                Element::Item { text, .. } => v.push(text.as_str()),
                Element::Rule | Element::Blank => {}
            }
        }
        v
    }
}

fn mentions_unit(label: &str) -> bool {
    label.contains('元') || label.to_lowercase().contains("yuan")
}

/// Label left, value right-aligned on one line of exactly `cols` columns when both fit;
/// otherwise the label, then the value right-aligned (or wrapped with an indent when it
/// is longer than a line).
pub fn row(label: &str, value: &str, cols: usize) -> Vec<String> {
    let (lw, vw) = (text_width(label), text_width(value));
    if value.is_empty() {
        return wrap(label, cols);
    }
    if lw + 1 + vw <= cols {
        return vec![format!("{label}{}{value}", " ".repeat(cols - lw - vw))];
    }
    let mut out = if label.is_empty() {
        Vec::new()
    } else {
        wrap(label, cols)
    };
    if vw <= cols {
        out.push(format!("{}{value}", " ".repeat(cols - vw)));
    } else {
        out.extend(
            balanced_wrap(value, cols.saturating_sub(2))
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    out
}

/// Characters that must not start a line (Chinese line-breaking rules, 避头).
fn no_line_start(c: char) -> bool {
    "，。、；：？！）》」』】〕”’%,.;:?!)]}·…—".contains(c)
}

/// Wraps to `width` columns: Latin words move whole to the next line, a closing mark never
/// starts a line, and a double-width character is never split.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = print_width(c);
        if w + cw > width {
            if c == ' ' {
                lines.push(cur.trim_end().to_string());
                cur.clear();
                w = 0;
                continue;
            }
            let mut carry = String::new();
            let in_word =
                c.is_ascii_graphic() && cur.chars().last().is_some_and(|l| l.is_ascii_graphic());
            if in_word {
                // Inside a Latin word (or its trailing punctuation): move the word down.
                if let Some(p) = cur.rfind(' ') {
                    let word = &cur[p + 1..];
                    if word.chars().all(|x| x.is_ascii_graphic()) && text_width(word) + cw <= width
                    {
                        carry = word.to_string();
                        cur.truncate(p);
                    }
                }
            } else if no_line_start(c)
                && cur.chars().count() > 1
                && let Some(last) = cur.pop()
            {
                carry.push(last);
            }
            lines.push(cur.trim_end().to_string());
            w = text_width(&carry);
            cur = carry;
        }
        if cur.is_empty() && c == ' ' && !lines.is_empty() {
            continue;
        }
        cur.push(c);
        w += cw;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur.trim_end().to_string());
    }
    lines
}

/// Wraps into lines of similar width (for titles: `中华人民共和国 / 税收完税证明`, not a
/// full line and an orphan).
pub fn balanced_wrap(s: &str, width: usize) -> Vec<String> {
    let first = wrap(s, width);
    if first.len() < 2 {
        return first;
    }
    let n = first.len();
    let total = text_width(s);
    let mut target = total.div_ceil(n);
    while target <= width {
        let lines = wrap(s, target);
        if lines.len() <= n {
            return lines;
        }
        target += 1;
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_is_bytes_on_paper() {
        assert_eq!(text_width("A01 增值税"), 10);
        assert_eq!(text_width("·—é"), 6);
        // Where a terminal and the paper agree (CJK, ASCII), the core's width is the same.
        for s in ["增值税申报", "ABC 123", "（元）￥"] {
            assert_eq!(text_width(s), kiosk_core::text::display_width(s), "{s}");
        }
    }

    #[test]
    fn rows_fill_the_line_and_right_align() {
        let r = row("合计（元）", "1,234.56", 32);
        assert_eq!(r.len(), 1);
        assert_eq!(text_width(&r[0]), 32);
        assert!(r[0].starts_with("合计（元）") && r[0].ends_with("1,234.56"));
        // Too long for one line: label alone, then the value right-aligned.
        let r = row("本期应补（退）税额合计", "12,345,678.90", 24);
        assert_eq!(
            r,
            vec![
                "本期应补（退）税额合计".to_string(),
                format!("{}12,345,678.90", " ".repeat(11))
            ]
        );
    }

    #[test]
    fn wrapping_keeps_words_and_punctuation() {
        let l = wrap("Watch the call board. If you miss your number", 20);
        assert!(l.iter().all(|x| text_width(x) <= 20), "{l:?}");
        assert_eq!(l[0], "Watch the call");
        // A full stop never starts a line.
        let l = wrap("一二三四五。六七", 10);
        assert_eq!(l, vec!["一二三四".to_string(), "五。六七".into()]);
        // Double-width characters never straddle the edge.
        let l = wrap("a一二三", 6);
        assert_eq!(l, vec!["a一二".to_string(), "三".into()]);
    }

    #[test]
    fn balanced_titles() {
        assert_eq!(
            balanced_wrap("中华人民共和国税收完税证明", 24),
            vec!["中华人民共和国".to_string(), "税收完税证明".into()]
        );
        assert_eq!(balanced_wrap("办理回执", 24), vec!["办理回执".to_string()]);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("¥12\x1b@\x1dV0"), "￥12@V0");
        // A valid unmasked resident ID number is masked; other 18-character runs are not.
        let first = "11010519491231002";
        let id = format!(
            "{first}{}",
            kiosk_core::ids::id_check_char(first.as_bytes()) as char
        );
        assert_eq!(
            clean(&format!("ID {id}.")),
            format!("ID 110105********{}.", &id[14..])
        );
        assert_eq!(clean("DOC-123456789012345678"), "DOC-123456789012345678");
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            parse_placeholders("t", "{business_code} {business_name}").unwrap(),
            vec![
                Piece::Field("business_code"),
                Piece::Lit(" "),
                Piece::Field("business_name")
            ]
        );
        assert!(matches!(
            parse_placeholders("t", "{taxpayer_nmae}"),
            Err(Error::UnknownPlaceholder { .. })
        ));
        for bad in ["{time", "time}", "{}", "{{time}}"] {
            assert!(parse_placeholders("t", bad).is_err(), "{bad}");
        }
    }
}
