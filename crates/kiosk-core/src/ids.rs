//! Identifiers parsed at the edge: once a value is an `IdNumber` or a `CreditCode`, its
//! format and check character are right, and nothing past the edge checks again.
//! Personal identifiers print masked by default (`Display` and `Debug`), so that a log
//! line or a panic message can never leak one; `expose()` is the explicit way out.

use std::fmt;

use crate::Lang;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an ID number has 18 characters, this one has {0}")]
    IdLength(usize),
    #[error("an ID number is 17 digits and then a digit or X")]
    IdChars,
    #[error("the birth date inside the ID number is not a real date")]
    IdBirthDate,
    #[error("the ID number's check digit is wrong; please check for a typing error")]
    IdCheck,
    #[error("a unified social credit code has 18 characters, this one has {0}")]
    CreditLength(usize),
    #[error("a unified social credit code cannot contain '{0}' (I, O, S, V and Z are never used)")]
    CreditChar(char),
    #[error("the credit code's check character is wrong; please check for a typing error")]
    CreditCheck,
    #[error("a mobile number has 11 digits and starts with 13 to 19")]
    Phone,
    #[error("write the period as 2026-03 (month), 2026Q1 (quarter) or 2026 (year)")]
    Period,
    #[error("write the date as YYYY-MM-DD, for example 2026-11-29")]
    Date,
}

impl IdError {
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Zh => match self {
                IdError::IdLength(n) => format!("身份证号码应为18位，当前为{n}位"),
                IdError::IdChars => "身份证号码应为17位数字加1位数字或X".into(),
                IdError::IdBirthDate => "身份证号码中的出生日期无效".into(),
                IdError::IdCheck => "身份证号码校验位不正确，请检查是否输错".into(),
                IdError::CreditLength(n) => format!("统一社会信用代码应为18位，当前为{n}位"),
                IdError::CreditChar(c) => {
                    format!("统一社会信用代码不能含有“{c}”（不使用 I、O、S、V、Z）")
                }
                IdError::CreditCheck => "统一社会信用代码校验位不正确，请检查是否输错".into(),
                IdError::Phone => "手机号码应为以13至19开头的11位数字".into(),
                IdError::Period => "所属期请写作 2026-03（月）、2026Q1（季）或 2026（年）".into(),
                IdError::Date => "日期请写作 年-月-日，例如 2026-11-29".into(),
            },
        }
    }
}

/// An 18-digit resident identity number (GB 11643-1999), check digit verified.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

impl IdNumber {
    pub fn parse(s: &str) -> Result<IdNumber, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(IdError::IdLength(n));
        }
        let b = s.as_bytes();
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdError::IdChars);
        }
        let y: i32 = s[6..10].parse().map_err(|_| IdError::IdChars)?;
        let m: u32 = s[10..12].parse().map_err(|_| IdError::IdChars)?;
        let d: u32 = s[12..14].parse().map_err(|_| IdError::IdChars)?;
        if !(1900..=2100).contains(&y) || Date::new(y, m, d).is_none() {
            return Err(IdError::IdBirthDate);
        }
        if id_check_char(&b[..17]) != b[17] {
            return Err(IdError::IdCheck);
        }
        Ok(IdNumber(s))
    }

    /// `530102********1234`: region and last four, as on receipts and screens.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// The full number, for the back-office call and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Date {
        let p = |r: std::ops::Range<usize>| self.0[r].parse().unwrap_or(1);
        Date {
            year: p(6..10) as i32,
            month: p(10..12),
            day: p(12..14),
        }
    }
}

/// The check character for the first 17 digits; public so that tests and demo data can
/// build valid numbers instead of copying them.
pub fn id_check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| (c - b'0') as u32 * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015), check character verified.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

const CREDIT_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl CreditCode {
    pub fn parse(s: &str) -> Result<CreditCode, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if n != 18 {
            return Err(IdError::CreditLength(n));
        }
        let mut vals = [0u32; 18];
        for (i, c) in s.chars().enumerate() {
            vals[i] = CREDIT_CHARS
                .iter()
                .position(|&x| x as char == c)
                .ok_or(IdError::CreditChar(c))? as u32;
        }
        if credit_check_char(&s.as_bytes()[..17]) != Some(s.as_bytes()[17]) {
            return Err(IdError::CreditCheck);
        }
        Ok(CreditCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Credit codes are public registry data, but receipts still shorten them.
    pub fn masked(&self) -> String {
        format!("{}******{}", &self.0[..8], &self.0[14..])
    }
}

/// The check character for the first 17 characters, or `None` if one is not allowed.
pub fn credit_check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(CREDIT_WEIGHTS) {
        sum += CREDIT_CHARS.iter().position(|x| x == c)? as u32 * w;
    }
    Some(CREDIT_CHARS[((31 - sum % 31) % 31) as usize])
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

/// A mainland mobile number, 11 digits; `+86`, spaces and dashes are accepted on input.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Phone, IdError> {
        let cleaned: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = cleaned
            .strip_prefix("+86")
            .or_else(|| cleaned.strip_prefix("0086"))
            .unwrap_or(&cleaned);
        let b = digits.as_bytes();
        if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) || b[0] != b'1' || b[1] < b'3' {
            return Err(IdError::Phone);
        }
        Ok(Phone(digits.to_string()))
    }

    /// `138****5678`
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// A civil date, checked (leap years included). The core never reads the clock; the shell
/// passes today's date in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    pub fn parse(s: &str) -> Result<Date, IdError> {
        let s = s.trim();
        let mut it = s.split('-');
        let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(IdError::Date);
        };
        if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
            return Err(IdError::Date);
        }
        let num = |x: &str| x.parse::<u32>().map_err(|_| IdError::Date);
        Date::new(num(y)? as i32, num(m)?, num(d)?).ok_or(IdError::Date)
    }

    /// Days since 1970-01-01, for differences between dates (Howard Hinnant's algorithm).
    pub fn days_since_epoch(self) -> i64 {
        let y = self.year as i64 - if self.month <= 2 { 1 } else { 0 };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::days_since_epoch`].
    pub fn from_days_since_epoch(z: i64) -> Date {
        let z = z + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i32;
        Date { year, month, day }
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u32 {
        (self.days_since_epoch() + 3).rem_euclid(7) as u32
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A tax period (税款所属期).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaxPeriod {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl TaxPeriod {
    /// Parses `2026-03`, `2026Q1` / `2026-Q1`, or `2026`.
    pub fn parse(s: &str) -> Result<TaxPeriod, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let year = |y: &str| -> Result<i32, IdError> {
            if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IdError::Period);
            }
            let v: i32 = y.parse().map_err(|_| IdError::Period)?;
            if (1990..=2100).contains(&v) {
                Ok(v)
            } else {
                Err(IdError::Period)
            }
        };
        if let Some((y, q)) = s.split_once('Q') {
            let y = y.strip_suffix('-').unwrap_or(y);
            let quarter: u32 = q.parse().map_err(|_| IdError::Period)?;
            if q.len() != 1 || !(1..=4).contains(&quarter) {
                return Err(IdError::Period);
            }
            return Ok(TaxPeriod::Quarter {
                year: year(y)?,
                quarter,
            });
        }
        if let Some((y, m)) = s.split_once('-') {
            let month: u32 = m.parse().map_err(|_| IdError::Period)?;
            if m.len() != 2 || !(1..=12).contains(&month) {
                return Err(IdError::Period);
            }
            return Ok(TaxPeriod::Month {
                year: year(y)?,
                month,
            });
        }
        Ok(TaxPeriod::Year { year: year(&s)? })
    }

    pub fn kind(self) -> PeriodKind {
        match self {
            TaxPeriod::Month { .. } => PeriodKind::Month,
            TaxPeriod::Quarter { .. } => PeriodKind::Quarter,
            TaxPeriod::Year { .. } => PeriodKind::Year,
        }
    }

    /// Number of months covered: 1, 3 or 12.
    pub fn months(self) -> u32 {
        match self.kind() {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }

    /// First month as `year * 12 + month0`, so periods compare on one scale.
    pub fn start_index(self) -> i64 {
        match self {
            TaxPeriod::Month { year, month } => year as i64 * 12 + month as i64 - 1,
            TaxPeriod::Quarter { year, quarter } => year as i64 * 12 + (quarter as i64 - 1) * 3,
            TaxPeriod::Year { year } => year as i64 * 12,
        }
    }
}

impl fmt::Display for TaxPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaxPeriod::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            TaxPeriod::Quarter { year, quarter } => write!(f, "{year:04}Q{quarter}"),
            TaxPeriod::Year { year } => write!(f, "{year:04}"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid ID number from 17 digits, computing the check digit, so tests never
    /// rely on a copied "known good" number.
    pub fn make_id(first17: &str) -> String {
        let c = id_check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn id_number_check_digit_from_the_standard() {
        // GB 11643-1999 appendix example: 11010519491231002 -> X.
        assert_eq!(id_check_char(b"11010519491231002"), b'X');
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert!(IdNumber::parse("11010519491231002x").is_ok());
        assert_eq!(IdNumber::parse("110105194912310021"), Err(IdError::IdCheck));
        assert_eq!(
            IdNumber::parse("1101051949123100"),
            Err(IdError::IdLength(16))
        );
        assert_eq!(
            IdNumber::parse(&make_id("11010519490230002")),
            Err(IdError::IdBirthDate)
        );
        assert_eq!(IdNumber::parse("1101051949123100AX"), Err(IdError::IdChars));
    }

    #[test]
    fn id_number_masks_everywhere() {
        let id = IdNumber::parse(&make_id("53010219800101123")).unwrap();
        assert_eq!(id.masked(), format!("530102********{}", &id.expose()[14..]));
        assert_eq!(format!("{id}"), id.masked());
        assert!(!format!("{id:?}").contains("19800101"));
        assert_eq!(id.birth_date(), Date::new(1980, 1, 1).unwrap());
    }

    #[test]
    fn credit_code_check_character() {
        // The check character is computed, then a single-character typo must be caught.
        let body = b"91350100M000100Y4";
        let c = credit_check_char(body).unwrap() as char;
        let code = format!("{}{c}", std::str::from_utf8(body).unwrap());
        assert!(CreditCode::parse(&code).is_ok());
        assert_eq!(CreditCode::parse("91350100M000100Y43").is_ok(), c == '3');
        assert_eq!(
            CreditCode::parse("9135010OM000100Y43"),
            Err(IdError::CreditChar('O'))
        );
        assert_eq!(CreditCode::parse("913501"), Err(IdError::CreditLength(6)));
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(
            Phone::parse("+86 138-0013-8000").unwrap().expose(),
            "13800138000"
        );
        assert_eq!(Phone::parse("13800138000").unwrap().masked(), "138****8000");
        assert_eq!(Phone::parse("12800138000"), Err(IdError::Phone));
        assert_eq!(Phone::parse("1380013800"), Err(IdError::Phone));
    }

    #[test]
    fn periods_and_dates() {
        assert_eq!(
            TaxPeriod::parse("2026q3"),
            Ok(TaxPeriod::Quarter {
                year: 2026,
                quarter: 3
            })
        );
        assert_eq!(
            TaxPeriod::parse("2026-Q3"),
            Ok(TaxPeriod::Quarter {
                year: 2026,
                quarter: 3
            })
        );
        assert_eq!(TaxPeriod::parse("2026-13"), Err(IdError::Period));
        assert_eq!(TaxPeriod::parse("2026Q5"), Err(IdError::Period));
        assert_eq!(TaxPeriod::parse("26"), Err(IdError::Period));
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert_eq!(Date::parse("2025-02-29"), Err(IdError::Date));
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::new(2026, 11, 29).unwrap().weekday(), 6); // a Sunday
    }

    proptest! {
        #[test]
        fn every_single_digit_typo_in_an_id_is_caught(
            body in "[1-8][0-9]{5}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
            pos in 0usize..17, delta in 1u8..10,
        ) {
            let good = make_id(&body);
            prop_assert!(IdNumber::parse(&good).is_ok());
            let mut bad = good.clone().into_bytes();
            bad[pos] = b'0' + (bad[pos] - b'0' + delta) % 10;
            let bad = String::from_utf8(bad).unwrap();
            prop_assert!(IdNumber::parse(&bad).is_err());
        }

        #[test]
        fn credit_codes_round_trip_and_catch_typos(
            body in "[0-9A-HJ-NP-RTUWXY]{17}", pos in 0usize..17, delta in 1usize..31,
        ) {
            let c = credit_check_char(body.as_bytes()).unwrap() as char;
            let good = format!("{body}{c}");
            prop_assert_eq!(CreditCode::parse(&good).map(|c| c.as_str().to_string()), Ok(good.clone()));
            let mut bad = good.into_bytes();
            let i = CREDIT_CHARS.iter().position(|&x| x == bad[pos]).unwrap();
            bad[pos] = CREDIT_CHARS[(i + delta) % 31];
            prop_assert!(CreditCode::parse(std::str::from_utf8(&bad).unwrap()).is_err());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,30}") {
            let _ = IdNumber::parse(&s);
            let _ = CreditCode::parse(&s);
            let _ = Phone::parse(&s);
            let _ = TaxPeriod::parse(&s);
            let _ = Date::parse(&s);
        }

        #[test]
        fn days_round_trip(days in -800_000i64..800_000) {
            let d = Date::from_days_since_epoch(days);
            prop_assert!(Date::new(d.year, d.month, d.day).is_some());
            prop_assert_eq!(d.days_since_epoch(), days);
        }

        #[test]
        fn periods_round_trip(year in 1990i32..=2100, m in 1u32..=12, q in 1u32..=4) {
            for p in [TaxPeriod::Month { year, month: m }, TaxPeriod::Quarter { year, quarter: q }, TaxPeriod::Year { year }] {
                prop_assert_eq!(TaxPeriod::parse(&p.to_string()), Ok(p));
            }
        }
    }
}
