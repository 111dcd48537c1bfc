//! Money as integer fen. Floats never hold money: 0.1 + 0.2 is not 0.3, and a tax bureau's
//! ledger must add up to the fen.

use std::fmt;
use std::str::FromStr;

/// An amount of money in fen (分). Signed so that refunds and corrections can be negative
/// where the business says so; [`Amount::parse`] rejects negatives for the common case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

/// The largest amount a kiosk accepts: 999,999,999,999.99 元. Far above any real return,
/// far below `i64::MAX`, so sums of a few thousand lines cannot overflow.
pub const MAX_FEN: i64 = 99_999_999_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("the amount is empty")]
    Empty,
    #[error("the amount cannot be negative")]
    Negative,
    #[error("the amount has more than two decimal places")]
    TooManyDecimals,
    #[error("the amount is too large")]
    Overflow,
    #[error("the thousands separators are misplaced (write 1,234.56 or 1234.56)")]
    BadGrouping,
    #[error("the amount contains '{0}', which is not a digit")]
    BadChar(char),
}

impl AmountError {
    /// The same sentence in Chinese, for the taxpayer's screen.
    pub fn zh(&self) -> String {
        match self {
            AmountError::Empty => "请输入金额".into(),
            AmountError::Negative => "金额不能为负数".into(),
            AmountError::TooManyDecimals => "金额最多保留两位小数（到分）".into(),
            AmountError::Overflow => "金额过大".into(),
            AmountError::BadGrouping => "千位分隔符位置不对（应写作 1,234.56 或 1234.56）".into(),
            AmountError::BadChar(c) => format!("金额中含有非数字字符“{c}”"),
        }
    }
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_fen(fen: i64) -> Amount {
        Amount(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Parses `1,234.56`, `1234.5`, `0.05` or `￥12`. Rejects negatives.
    pub fn parse(s: &str) -> Result<Amount, AmountError> {
        let a = Self::parse_signed(s)?;
        if a.0 < 0 {
            return Err(AmountError::Negative);
        }
        Ok(a)
    }

    /// Like [`Amount::parse`] but accepts a leading minus, for corrections and refunds.
    pub fn parse_signed(s: &str) -> Result<Amount, AmountError> {
        let mut s = s.trim();
        for prefix in ["￥", "¥"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.trim_start();
            }
        }
        if let Some(rest) = s.strip_suffix('元') {
            s = rest.trim_end();
        }
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int_part.is_empty() && frac_part.is_none_or(str::is_empty) {
            return Err(AmountError::Empty);
        }
        let digits = ungroup(int_part)?;
        let mut yuan: i64 = 0;
        for c in digits.chars() {
            let d = c.to_digit(10).ok_or(AmountError::BadChar(c))? as i64;
            yuan = yuan
                .checked_mul(10)
                .and_then(|v| v.checked_add(d))
                .ok_or(AmountError::Overflow)?;
        }
        let mut fen_part = 0i64;
        if let Some(f) = frac_part {
            if let Some(c) = f.chars().find(|c| !c.is_ascii_digit()) {
                return Err(AmountError::BadChar(c));
            }
            if f.len() > 2 {
                return Err(AmountError::TooManyDecimals);
            }
            for (i, c) in f.chars().enumerate() {
                let d = c.to_digit(10).unwrap_or(0) as i64;
                fen_part += d * if i == 0 { 10 } else { 1 };
            }
        }
        let total = yuan
            .checked_mul(100)
            .and_then(|v| v.checked_add(fen_part))
            .ok_or(AmountError::Overflow)?;
        if total > MAX_FEN {
            return Err(AmountError::Overflow);
        }
        Ok(Amount(if neg { -total } else { total }))
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0
            .checked_add(other.0)
            .filter(|v| v.abs() <= MAX_FEN)
            .map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0
            .checked_sub(other.0)
            .filter(|v| v.abs() <= MAX_FEN)
            .map(Amount)
    }

    /// `1234.56` without grouping, as the back office and the printer want it.
    pub fn plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// Accepts digits with optional, correctly placed thousands separators.
fn ungroup(int_part: &str) -> Result<String, AmountError> {
    if !int_part.contains(',') {
        return Ok(int_part.to_string());
    }
    let groups: Vec<&str> = int_part.split(',').collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    if !first_ok || !rest_ok {
        return Err(AmountError::BadGrouping);
    }
    Ok(groups.concat())
}

impl fmt::Display for Amount {
    /// `1,234.56`: grouped, two decimals, no currency sign (the template adds 元).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.plain();
        let (sign, body) = match plain.strip_prefix('-') {
            Some(b) => ("-", b),
            None => ("", plain.as_str()),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, "00"));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}{grouped}.{frac}")
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Amount::parse("1,234.56"), Ok(Amount(123_456)));
        assert_eq!(Amount::parse("1234.5"), Ok(Amount(123_450)));
        assert_eq!(Amount::parse("0.05"), Ok(Amount(5)));
        assert_eq!(Amount::parse(".5"), Ok(Amount(50)));
        assert_eq!(Amount::parse("￥12"), Ok(Amount(1_200)));
        assert_eq!(Amount::parse("12 元"), Ok(Amount(1_200)));
        assert_eq!(Amount::parse("1,000,000"), Ok(Amount(100_000_000)));
    }

    #[test]
    fn rejects_bad_input_with_the_reason() {
        assert_eq!(Amount::parse("-1"), Err(AmountError::Negative));
        assert_eq!(Amount::parse("1.234"), Err(AmountError::TooManyDecimals));
        assert_eq!(Amount::parse("12,34"), Err(AmountError::BadGrouping));
        assert_eq!(Amount::parse("1,2345"), Err(AmountError::BadGrouping));
        assert_eq!(Amount::parse(""), Err(AmountError::Empty));
        assert_eq!(Amount::parse("."), Err(AmountError::Empty));
        assert_eq!(Amount::parse("1e5"), Err(AmountError::BadChar('e')));
        assert_eq!(Amount::parse("0.1.2"), Err(AmountError::BadChar('.')));
        assert_eq!(
            Amount::parse("99999999999999999999"),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount::parse("1000000000000.00"),
            Err(AmountError::Overflow)
        );
        assert_eq!(Amount::parse_signed("-1.50"), Ok(Amount(-150)));
    }

    #[test]
    fn displays_grouped() {
        assert_eq!(Amount(123_456).to_string(), "1,234.56");
        assert_eq!(Amount(5).to_string(), "0.05");
        assert_eq!(Amount(-10_000_000).to_string(), "-100,000.00");
        assert_eq!(Amount(99).plain(), "0.99");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(fen in -MAX_FEN..=MAX_FEN) {
            let a = Amount(fen);
            prop_assert_eq!(Amount::parse_signed(&a.to_string()), Ok(a));
            prop_assert_eq!(Amount::parse_signed(&a.plain()), Ok(a));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = Amount::parse_signed(&s);
        }

        #[test]
        fn parse_matches_integer_arithmetic(yuan in 0i64..1_000_000_000, fen in 0i64..100) {
            let s = format!("{yuan}.{fen:02}");
            prop_assert_eq!(Amount::parse(&s).map(Amount::fen), Ok(yuan * 100 + fen));
        }
    }
}
