//! Scoring a query set: top-1 and top-3 accuracy of the business ranking. A query counts
//! as right at k when any of its expected codes is among the first k businesses.
//!
//! File format (TSV, UTF-8, a header line): `query`, `expected_codes` (comma separated),
//! `lang` (`zh` or `en`).

use kiosk_core::Lang;

use crate::Index;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvalError {
    #[error(
        "line {line}: expected 3 tab-separated columns (query, expected_codes, lang), found {found}"
    )]
    Columns { line: usize, found: usize },
    #[error("line {line}: language '{lang}' is not zh or en")]
    Lang { line: usize, lang: String },
    #[error("line {line}: no expected business code")]
    NoCodes { line: usize },
    #[error("the file has no queries")]
    Empty,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub line: usize,
    pub query: String,
    pub expected: Vec<String>,
    pub lang: Lang,
}

/// Parses a query set. A header line starting with `query` is skipped; blank lines too.
pub fn parse(tsv: &str) -> Result<Vec<Case>, EvalError> {
    let mut out = Vec::new();
    for (i, l) in tsv.lines().enumerate() {
        let line = i + 1;
        let l = l.trim_end_matches('\r');
        if l.trim().is_empty() || (i == 0 && l.starts_with("query")) {
            continue;
        }
        let cols: Vec<&str> = l.split('\t').collect();
        if cols.len() != 3 {
            return Err(EvalError::Columns {
                line,
                found: cols.len(),
            });
        }
        let lang = Lang::from_code(cols[2].trim()).ok_or_else(|| EvalError::Lang {
            line,
            lang: cols[2].to_string(),
        })?;
        let expected: Vec<String> = cols[1]
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        if expected.is_empty() {
            return Err(EvalError::NoCodes { line });
        }
        out.push(Case {
            line,
            query: cols[0].trim().to_string(),
            expected,
            lang,
        });
    }
    if out.is_empty() {
        return Err(EvalError::Empty);
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub case: Case,
    /// The first three codes returned.
    pub got: Vec<String>,
    /// 1-based rank of the first expected code, if in the first three.
    pub rank: Option<usize>,
    /// Whether an answer was shown and it leads to an expected business.
    pub answer_fits: Option<bool>,
    /// The best entry's id and confidence, whether shown or not.
    pub best_entry: Option<(String, f32)>,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn total(&self) -> usize {
        self.outcomes.len()
    }

    pub fn hits_at(&self, k: usize) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.rank.is_some_and(|r| r <= k))
            .count()
    }

    /// Share of queries with an expected code in the first `k` (0..1).
    pub fn top(&self, k: usize) -> f64 {
        self.hits_at(k) as f64 / self.total().max(1) as f64
    }

    /// Queries that got an answer, and of those how many lead to an expected business.
    pub fn answers(&self) -> (usize, usize) {
        let shown = self
            .outcomes
            .iter()
            .filter(|o| o.answer_fits.is_some())
            .count();
        let fit = self
            .outcomes
            .iter()
            .filter(|o| o.answer_fits == Some(true))
            .count();
        (shown, fit)
    }
}

pub fn run(index: &Index, cases: &[Case]) -> Report {
    let outcomes = cases
        .iter()
        .map(|c| {
            let r = index.search(&c.query, c.lang, 3);
            let got: Vec<String> = r.businesses.iter().map(|b| b.code.clone()).collect();
            let rank = got
                .iter()
                .position(|g| c.expected.contains(g))
                .map(|p| p + 1);
            let answer_fits = r
                .answer
                .as_ref()
                .map(|a| a.businesses.iter().any(|b| c.expected.contains(b)));
            Outcome {
                case: c.clone(),
                got,
                rank,
                answer_fits,
                best_entry: r.best_entry,
            }
        })
        .collect();
    Report { outcomes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_format_and_points_at_bad_lines() {
        let ok =
            parse("query\texpected_codes\tlang\n开证明\tF01, F03\tzh\n\nprint\tF01\ten\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].expected, ["F01", "F03"]);
        assert_eq!(ok[1].lang, Lang::En);
        assert_eq!(ok[1].line, 4);
        assert_eq!(
            parse("query\texpected_codes\tlang\n开证明\tF01\n"),
            Err(EvalError::Columns { line: 2, found: 2 })
        );
        assert_eq!(
            parse("开证明\tF01\tfr\n"),
            Err(EvalError::Lang {
                line: 1,
                lang: "fr".into()
            })
        );
        assert_eq!(
            parse("开证明\t \tzh\n"),
            Err(EvalError::NoCodes { line: 1 })
        );
        assert_eq!(
            parse("query\texpected_codes\tlang\n"),
            Err(EvalError::Empty)
        );
    }
}
