//! On-screen input for form fields: a kiosk has a touch screen and no keyboard.
//!
//! Numbers, amounts, rates, ID numbers, credit codes, phones and digit-only text get a
//! keypad with only the keys their kind can use; dates get year/month/day steppers and
//! "today"; tax periods get a year stepper and one button per month, quarter or year.
//! Free text (names, bank names, descriptions, the consultation's questions) gets a full
//! keyboard that types Chinese by pinyin itself (`pinyin-ime`): a kiosk has no system
//! input method a taxpayer could reach.
//!
//! Pure functions of the field, the text so far and the key: the controller keeps the
//! text and feeds the result to the core as if it had been typed, so every check the core
//! makes on typed input applies unchanged.

use kiosk_core::Lang;
use kiosk_core::config::{Field, FieldKind};
use kiosk_core::ids::{Date, PeriodKind, TaxPeriod, days_in_month};

/// The letters a unified social credit code may contain (GB 32100: no I, O, S, V, Z).
const CREDIT_LETTERS: &str = "ABCDEFGHJKLMNPQRTUWXY";

/// What input a field gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pad {
    /// A keypad with these keys (besides backspace and clear), at most `max` characters
    /// and at most `decimals` digits after a point.
    Keys {
        keys: Vec<String>,
        max: Option<usize>,
        decimals: Option<usize>,
    },
    Date,
    Period(PeriodKind),
    /// The letter keyboard with pinyin (free text): at most `max` characters; `upper`
    /// when the field's pattern takes capitals and no small letters (a licence plate).
    Keyboard {
        max: Option<usize>,
        upper: bool,
    },
    /// Choice and yes/no buttons, or a computed value: nothing to type.
    None,
}

const DIGITS: [&str; 10] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];

fn keys(extra: &[&str]) -> Vec<String> {
    DIGITS.iter().chain(extra).map(|s| s.to_string()).collect()
}

/// The input a field gets.
pub fn pad_for(field: &Field) -> Pad {
    match &field.kind {
        FieldKind::Integer { min, .. } => Pad::Keys {
            keys: keys(if min.is_some_and(|m| m < 0) {
                &["-"]
            } else {
                &[]
            }),
            max: Some(12),
            decimals: None,
        },
        FieldKind::Amount { min, .. } => Pad::Keys {
            keys: keys(if min.is_some_and(|m| m.fen() < 0) {
                &[".", "-"]
            } else {
                &["."]
            }),
            // 9,999,999,999.99 yuan is far above any amount a kiosk takes.
            max: Some(13),
            decimals: Some(2),
        },
        FieldKind::Rate { .. } => Pad::Keys {
            keys: keys(&["."]),
            max: Some(8),
            decimals: Some(4),
        },
        FieldKind::IdNumber => Pad::Keys {
            keys: keys(&["X"]),
            max: Some(18),
            decimals: None,
        },
        FieldKind::Phone => Pad::Keys {
            keys: keys(&[]),
            max: Some(11),
            decimals: None,
        },
        FieldKind::CreditCode => {
            let mut k = keys(&[]);
            k.extend(CREDIT_LETTERS.chars().map(|c| c.to_string()));
            Pad::Keys {
                keys: k,
                max: Some(18),
                decimals: None,
            }
        }
        FieldKind::Text {
            max_len, pattern, ..
        } if pattern.as_ref().is_some_and(|p| digits_only(p.as_str())) => Pad::Keys {
            keys: keys(&[]),
            max: *max_len,
            decimals: None,
        },
        FieldKind::Text {
            max_len, pattern, ..
        } => Pad::Keyboard {
            max: *max_len,
            upper: pattern.as_ref().is_some_and(|p| {
                let p = p.as_str();
                p.contains("A-Z") && !p.contains("a-z") && !p.contains("(?i")
            }),
        },
        FieldKind::Date => Pad::Date,
        FieldKind::Period(k) => Pad::Period(*k),
        FieldKind::Choice(_) | FieldKind::Bool | FieldKind::Computed(_) => Pad::None,
    }
}

/// A pattern that only ever matches digits, such as `[0-9]{20}` or `\d{6,8}`.
fn digits_only(p: &str) -> bool {
    // The loader anchors a field's pattern as `^(?:…)$`.
    let body = p
        .strip_prefix("^(?:")
        .and_then(|b| b.strip_suffix(")$"))
        .unwrap_or(p);
    let body = body.trim_start_matches('^').trim_end_matches('$');
    // `[0-9]{10}|[0-9]{12}`: every alternative must be digits only.
    if body.contains('|') {
        return !body.contains('(') && body.split('|').all(digits_only);
    }
    let mut rest = body;
    let mut any = false;
    while !rest.is_empty() {
        let after = if let Some(r) = rest.strip_prefix("[0-9]") {
            r
        } else if let Some(r) = rest.strip_prefix("\\d") {
            r
        } else {
            return false;
        };
        any = true;
        rest = match after.strip_prefix('{') {
            Some(r) => match r.split_once('}') {
                Some((n, tail)) if n.chars().all(|c| c.is_ascii_digit() || c == ',') => tail,
                _ => return false,
            },
            None => after.trim_start_matches(['+', '*']),
        };
    }
    any
}

/// The text after a key press on a keypad. Keys that cannot apply (a second decimal
/// point, a minus sign after the first character, a key past the length limit, a key
/// that is not on this pad) leave the text as it was.
pub fn press(pad: &Pad, text: &str, key: &str) -> String {
    let mut t = text.to_string();
    match key {
        "back" => {
            t.pop();
        }
        "clear" => t.clear(),
        _ => {
            let Pad::Keys {
                keys,
                max,
                decimals,
            } = pad
            else {
                return t;
            };
            if !keys.iter().any(|k| k == key)
                || max.is_some_and(|m| t.chars().count() >= m)
                || (key == "." && t.contains('.'))
                || (key == "-" && !t.is_empty())
                || decimals.is_some_and(|d| t.split_once('.').is_some_and(|(_, f)| f.len() >= d))
            {
                return t;
            }
            t.push_str(key);
        }
    }
    t
}

/// The date a date field shows: what was entered, or today to start from.
fn date_of(text: &str, today: Date) -> Date {
    Date::parse(text).unwrap_or(today)
}

/// The date after a stepper key (`y-`, `y+`, `m-`, `m+`, `d-`, `d+`, `today`). Months wrap
/// within the year and days within the month; the day is clamped when the month is
/// shorter (31 January, one month on, is 28 or 29 February).
pub fn date_key(text: &str, key: &str, today: Date) -> Option<String> {
    let d = date_of(text, today);
    let (mut y, mut m, mut day) = (d.year, d.month, d.day);
    match key {
        "today" => return Some(today.to_string()),
        "y-" => y = (y - 1).max(1900),
        "y+" => y = (y + 1).min(2100),
        "m-" => m = if m == 1 { 12 } else { m - 1 },
        "m+" => m = if m == 12 { 1 } else { m + 1 },
        "d-" => {
            day = if day == 1 {
                days_in_month(y, m)
            } else {
                day - 1
            }
        }
        "d+" => {
            day = if day >= days_in_month(y, m) {
                1
            } else {
                day + 1
            }
        }
        _ => return None,
    }
    let day = day.min(days_in_month(y, m));
    Date::new(y, m, day).map(|d| d.to_string())
}

/// The stepper rows of a date field: (label, value, minus key, plus key).
pub fn date_steppers(
    text: &str,
    today: Date,
    lang: Lang,
) -> Vec<(String, String, &'static str, &'static str)> {
    let d = date_of(text, today);
    let (y, m, dd) = match lang {
        Lang::Zh => ("年", "月", "日"),
        Lang::En => ("Year", "Month", "Day"),
    };
    vec![
        (y.into(), d.year.to_string(), "y-", "y+"),
        (m.into(), format!("{:02}", d.month), "m-", "m+"),
        (dd.into(), format!("{:02}", d.day), "d-", "d+"),
    ]
}

/// The year a period field shows: the one its stepper was moved to, else the entered
/// period's, else this year.
pub fn period_year(text: &str, moved_to: Option<i32>, today: Date) -> i32 {
    moved_to.unwrap_or(match TaxPeriod::parse(text) {
        Ok(
            TaxPeriod::Month { year, .. }
            | TaxPeriod::Quarter { year, .. }
            | TaxPeriod::Year { year },
        ) => year,
        Err(_) => today.year,
    })
}

/// What a key on a period field does: `y-`/`y+` move the shown year (and an entered
/// month or quarter with it, so 2027-05 becomes 2026-05); `set:<period>` picks one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodPress {
    pub year: i32,
    /// The new text, when the key changes it.
    pub text: Option<String>,
}

pub fn period_key(kind: PeriodKind, text: &str, year: i32, key: &str) -> Option<PeriodPress> {
    if let Some(v) = key.strip_prefix("set:") {
        let p = TaxPeriod::parse(v).ok().filter(|p| p.kind() == kind)?;
        return Some(PeriodPress {
            year: period_year(v, None, Date::new(year, 1, 1)?),
            text: Some(p.to_string()),
        });
    }
    let year = match key {
        "y-" => year - 1,
        "y+" => year + 1,
        _ => return None,
    }
    .clamp(1990, 2100);
    let text = match TaxPeriod::parse(text) {
        Ok(TaxPeriod::Month { month, .. }) => Some(TaxPeriod::Month { year, month }),
        Ok(TaxPeriod::Quarter { quarter, .. }) => Some(TaxPeriod::Quarter { year, quarter }),
        _ if kind == PeriodKind::Year => Some(TaxPeriod::Year { year }),
        _ => None,
    }
    .filter(|p| p.kind() == kind)
    .map(|p| p.to_string());
    Some(PeriodPress { year, text })
}

/// The buttons of a period field for the year it shows: (value, label).
pub fn period_picks(kind: PeriodKind, year: i32, today: Date, lang: Lang) -> Vec<(String, String)> {
    match kind {
        PeriodKind::Month => (1..=12)
            .map(|m| {
                let v = TaxPeriod::Month { year, month: m }.to_string();
                let l = match lang {
                    Lang::Zh => format!("{m}月"),
                    Lang::En => MONTHS[m as usize - 1].to_string(),
                };
                (v, l)
            })
            .collect(),
        PeriodKind::Quarter => (1..=4)
            .map(|q| {
                let v = TaxPeriod::Quarter { year, quarter: q }.to_string();
                let l = match lang {
                    Lang::Zh => format!("第{q}季度"),
                    Lang::En => format!("Q{q}"),
                };
                (v, l)
            })
            .collect(),
        // Years: the last three, for annual returns of the years just closed.
        PeriodKind::Year => (today.year - 3..today.year)
            .map(|y| (y.to_string(), y.to_string()))
            .collect(),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The label of a period field's year stepper.
pub fn year_label(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "年度",
        Lang::En => "Year",
    }
}

/// The pinyin engine, built once (tens of milliseconds; the kiosk warms it on a worker at
/// start so the first keyboard does not wait).
pub fn ime() -> &'static pinyin_ime::Engine {
    static ENGINE: std::sync::OnceLock<pinyin_ime::Engine> = std::sync::OnceLock::new();
    // The consultation's copy of jieba's dictionary: one per process.
    ENGINE.get_or_init(|| pinyin_ime::Engine::with_dictionary(consult::dictionary()))
}

/// A key: what it sends, and its label.
pub type KeyLabel = (String, String);

/// The keyboard's keys: a grid ten to a row (digits, the three letter rows with the
/// syllable break `'`, the name dot `·`, the hyphen and backspace), and a row of wide keys
/// under it (mode, shift in English, space, clear, done). Each is (key sent, label).
pub fn keyboard_keys(
    composer: &pinyin_ime::Composer,
    lang: Lang,
) -> (Vec<KeyLabel>, Vec<KeyLabel>) {
    use pinyin_ime::Mode;
    let en_mode = composer.mode() == Mode::En;
    let upper = en_mode && composer.upper();
    let mut grid: Vec<KeyLabel> = Vec::new();
    for row in ["1234567890", "qwertyuiop", "asdfghjkl'", "zxcvbnm·-"] {
        for c in row.chars() {
            let label = if upper { c.to_ascii_uppercase() } else { c };
            grid.push((c.to_string(), label.to_string()));
        }
    }
    grid.push(("back".into(), "⌫".into()));
    let t = |z: &str, e: &str| {
        if lang == Lang::Zh {
            z.to_string()
        } else {
            e.to_string()
        }
    };
    let mut wide = Vec::new();
    // The mode key names the mode it switches to.
    wide.push((
        "mode".into(),
        if en_mode {
            t("切换到中文", "Type Chinese")
        } else {
            t("切换到英文", "Type English")
        },
    ));
    if en_mode {
        wide.push((
            "shift".into(),
            if upper {
                t("小写", "Lower case")
            } else {
                t("大写", "Capitals")
            },
        ));
    }
    wide.push(("space".into(), t("空格", "Space")));
    wide.push(("clear".into(), t("清空", "Clear")));
    wide.push(("done".into(), t("完成", "Done")));
    (grid, wide)
}

/// The field's text after a keyboard edit, and whether the keyboard closes. Nothing goes
/// past the field's length limit: an insert is cut to what still fits.
pub fn keyboard_edit(text: &str, edit: pinyin_ime::Edit, max: Option<usize>) -> (String, bool) {
    use pinyin_ime::Edit;
    let insert = |t: &str, s: &str| {
        let room = max.map_or(usize::MAX, |m| m.saturating_sub(t.chars().count()));
        let mut t = t.to_string();
        t.extend(s.chars().take(room));
        t
    };
    match edit {
        Edit::None => (text.to_string(), false),
        Edit::Insert(s) => (insert(text, &s), false),
        Edit::Back => {
            let mut t = text.to_string();
            t.pop();
            (t, false)
        }
        Edit::Clear => (String::new(), false),
        Edit::Done(s) => (insert(text, s.as_deref().unwrap_or("")), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_core::Localized;

    fn field(kind: FieldKind) -> Field {
        Field {
            id: "f".into(),
            label: Localized::new("字段", "Field"),
            help: None,
            kind,
            required: true,
            visible_if: None,
            default: None,
        }
    }

    fn today() -> Date {
        Date::new(2027, 3, 15).unwrap()
    }

    fn typed(pad: &Pad, keys: &[&str]) -> String {
        keys.iter().fold(String::new(), |t, k| press(pad, &t, k))
    }

    #[test]
    fn an_amount_takes_one_point_and_two_decimals() {
        let p = pad_for(&field(FieldKind::Amount {
            min: None,
            max: None,
        }));
        assert_eq!(
            typed(&p, &["1", "2", ".", "3", ".", "4", "5", "6"]),
            "12.34"
        );
        assert_eq!(
            typed(&p, &["-", "5"]),
            "5",
            "no minus unless negatives are allowed"
        );
        assert_eq!(typed(&p, &["9", "8", "back", "clear", "7"]), "7");
    }

    #[test]
    fn id_numbers_stop_at_eighteen_and_take_x() {
        let p = pad_for(&field(FieldKind::IdNumber));
        let t = typed(&p, &["5"; 20]);
        assert_eq!(t.len(), 18);
        assert_eq!(typed(&p, &["1", "X"]), "1X");
        assert_eq!(typed(&p, &["A"]), "", "letters are not on the ID keypad");
    }

    #[test]
    fn credit_codes_have_no_ambiguous_letters() {
        let Pad::Keys { keys, .. } = pad_for(&field(FieldKind::CreditCode)) else {
            panic!("a keypad")
        };
        for bad in ["I", "O", "S", "V", "Z"] {
            assert!(!keys.iter().any(|k| k == bad), "{bad}");
        }
        assert!(keys.iter().any(|k| k == "Y"));
    }

    #[test]
    fn digit_patterns_get_the_keypad_and_free_text_does_not() {
        let digits = |p: &str| {
            pad_for(&field(FieldKind::Text {
                min_len: None,
                max_len: Some(20),
                pattern: Some(regex::Regex::new(&format!("^(?:{p})$")).unwrap()),
            }))
        };
        assert!(digits_only("[0-9]{20}"));
        assert!(digits_only("\\d{6,8}"));
        assert!(!digits_only("[A-Z0-9]{10}"));
        assert!(digits_only("[0-9]{10}|[0-9]{12}"));
        assert!(!digits_only("[0-9]{10}|[A-Z]{2}"));
        assert!(matches!(
            digits("[0-9]{20}"),
            Pad::Keys { max: Some(20), .. }
        ));
        assert_eq!(
            digits("[A-Z]{3}"),
            Pad::Keyboard {
                max: Some(20),
                upper: true
            }
        );
        assert_eq!(
            digits("[a-zA-Z]{3}"),
            Pad::Keyboard {
                max: Some(20),
                upper: false
            }
        );
        assert_eq!(
            pad_for(&field(FieldKind::Text {
                min_len: None,
                max_len: None,
                pattern: None
            })),
            Pad::Keyboard {
                max: None,
                upper: false
            }
        );
    }

    #[test]
    fn keyboard_edits_stop_at_the_length_limit_and_done_closes() {
        use pinyin_ime::Edit;
        assert_eq!(
            keyboard_edit("银行", Edit::Insert("贷款申请".into()), Some(4)),
            ("银行贷款".to_string(), false)
        );
        assert_eq!(
            keyboard_edit("银行", Edit::Insert("x".into()), Some(2)),
            ("银行".to_string(), false)
        );
        assert_eq!(
            keyboard_edit("银行", Edit::Back, None),
            ("银".to_string(), false)
        );
        assert_eq!(
            keyboard_edit("银行", Edit::Clear, None),
            (String::new(), false)
        );
        assert_eq!(
            keyboard_edit("银行", Edit::Done(Some("卡".into())), None),
            ("银行卡".to_string(), true)
        );
        assert_eq!(
            keyboard_edit("", Edit::Done(None), None),
            (String::new(), true)
        );
    }

    #[test]
    fn the_keyboard_shows_capitals_only_when_english_capitals_are_on() {
        use pinyin_ime::{Composer, Mode};
        let (grid, wide) = keyboard_keys(&Composer::new(Mode::Zh, true), Lang::Zh);
        assert_eq!(grid.len(), 40, "four rows of ten");
        assert!(grid.iter().any(|(v, l)| v == "q" && l == "q"));
        assert!(!wide.iter().any(|(v, _)| v == "shift"), "no case in pinyin");
        let (grid, wide) = keyboard_keys(&Composer::new(Mode::En, true), Lang::En);
        assert!(grid.iter().any(|(v, l)| v == "q" && l == "Q"));
        assert!(wide.iter().any(|(v, l)| v == "shift" && l == "Lower case"));
        assert_eq!(wide.last().map(|(v, _)| v.as_str()), Some("done"));
    }

    #[test]
    fn dates_step_and_clamp() {
        let t = today();
        assert_eq!(date_key("", "today", t).unwrap(), "2027-03-15");
        assert_eq!(
            date_key("", "d+", t).unwrap(),
            "2027-03-16",
            "starts from today"
        );
        assert_eq!(date_key("2027-01-31", "m+", t).unwrap(), "2027-02-28");
        assert_eq!(date_key("2028-01-31", "m+", t).unwrap(), "2028-02-29");
        assert_eq!(
            date_key("2027-12-31", "d+", t).unwrap(),
            "2027-12-01",
            "days wrap in the month"
        );
        assert_eq!(
            date_key("2027-01-05", "m-", t).unwrap(),
            "2027-12-05",
            "months wrap in the year"
        );
        assert_eq!(date_key("2024-02-29", "y+", t).unwrap(), "2025-02-28");
        assert_eq!(date_key("x", "bogus", t), None);
    }

    #[test]
    fn periods_pick_and_keep_their_kind() {
        let t = today();
        let y = period_year("", None, t);
        assert_eq!(y, 2027);
        let picks = period_picks(PeriodKind::Month, y, t, Lang::Zh);
        assert_eq!(picks.len(), 12);
        assert_eq!(picks[0], ("2027-01".to_string(), "1月".to_string()));
        let moved = period_key(PeriodKind::Month, "2027-05", 2027, "y-").unwrap();
        assert_eq!((moved.year, moved.text.as_deref()), (2026, Some("2026-05")));
        let q = period_key(PeriodKind::Quarter, "2027Q2", 2027, "y+").unwrap();
        assert_eq!(q.text.as_deref(), Some("2028Q2"));
        let empty = period_key(PeriodKind::Month, "", 2027, "y-").unwrap();
        assert_eq!(
            (empty.year, empty.text),
            (2026, None),
            "no month picked yet: only the year moves"
        );
        assert_eq!(
            period_picks(PeriodKind::Month, empty.year, t, Lang::En)[11].0,
            "2026-12",
            "the buttons follow the stepper's year"
        );
        assert_eq!(
            period_key(PeriodKind::Month, "", 2027, "set:2027Q1"),
            None,
            "wrong kind"
        );
        let set = period_key(PeriodKind::Month, "", 2026, "set:2026-07").unwrap();
        assert_eq!((set.year, set.text.as_deref()), (2026, Some("2026-07")));
        let yr = period_key(PeriodKind::Year, "", 2027, "y-").unwrap();
        assert_eq!(yr.text.as_deref(), Some("2026"));
        let years = period_picks(PeriodKind::Year, 2027, t, Lang::Zh);
        assert_eq!(
            years.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(),
            ["2024", "2025", "2026"]
        );
    }
}
