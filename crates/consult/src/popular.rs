//! Popular questions of one hall: how often each knowledge-base entry was shown as the
//! answer and each business was started from a search. Counts of ids only: never the text
//! typed, never who asked, never when. That is what makes it safe to keep on the kiosk and
//! to send to the hall console.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::Target;

/// A counter file of another format or hall, or a broken one.
#[derive(Debug, thiserror::Error)]
pub enum PopularError {
    #[error("the popularity file is not valid: {0}")]
    Format(#[from] serde_json::Error),
    #[error("the popularity file has version {0}; this kiosk reads version {VERSION}")]
    Version(u32),
    #[error("the popularity file counts hall {found}, not this hall {expected}")]
    OtherHall { expected: String, found: String },
    #[error("the popularity file holds '{0}', which is not a question id or business code")]
    NotAnId(String),
    #[error("cannot read or write the popularity file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

const VERSION: u32 = 1;

/// Per-hall counts. Serialised as a small JSON object:
/// `{"version":1,"hall_id":"HALL-5301","faq":{"iit-refund":12},"business":{"F01":30}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Popular {
    version: u32,
    hall_id: String,
    faq: BTreeMap<String, u64>,
    business: BTreeMap<String, u64>,
}

/// The shapes an id may have. Checked on load, so a hand-edited or foreign file cannot
/// smuggle free text into the kiosk's suggestions.
fn faq_id_shape(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn business_code_shape(s: &str) -> bool {
    s.len() == 3
        && s.as_bytes()[0].is_ascii_uppercase()
        && s[1..].bytes().all(|b| b.is_ascii_digit())
}

impl Popular {
    pub fn new(hall_id: impl Into<String>) -> Popular {
        Popular {
            version: VERSION,
            hall_id: hall_id.into(),
            ..Popular::default()
        }
    }

    pub fn hall_id(&self) -> &str {
        &self.hall_id
    }

    /// Counting goes through [`crate::Index::record`], which checks the id is in the bundle.
    pub(crate) fn bump(&mut self, t: &Target) {
        let (map, id) = match t {
            Target::Faq(id) => (&mut self.faq, id),
            Target::Business(code) => (&mut self.business, code),
        };
        let c = map.entry(id.clone()).or_insert(0);
        *c = c.saturating_add(1);
    }

    pub fn count(&self, t: &Target) -> u64 {
        match t {
            Target::Faq(id) => self.faq.get(id).copied().unwrap_or(0),
            Target::Business(code) => self.business.get(code).copied().unwrap_or(0),
        }
    }

    /// Every counted target, most counted first; questions before businesses on a tie (a
    /// question with its answer helps more than a bare business name), then by id.
    pub fn ranked(&self) -> Vec<Target> {
        let mut all: Vec<(u64, Target)> = self
            .faq
            .iter()
            .map(|(k, v)| (*v, Target::Faq(k.clone())))
            .chain(
                self.business
                    .iter()
                    .map(|(k, v)| (*v, Target::Business(k.clone()))),
            )
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        all.into_iter().map(|(_, t)| t).collect()
    }

    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and integers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads counts for `hall_id`; a file of another hall is refused rather than merged, so
    /// one hall's habits never show up as another's.
    pub fn from_json(bytes: &[u8], hall_id: &str) -> Result<Popular, PopularError> {
        let p: Popular = serde_json::from_slice(bytes)?;
        if p.version != VERSION {
            return Err(PopularError::Version(p.version));
        }
        if p.hall_id != hall_id {
            return Err(PopularError::OtherHall {
                expected: hall_id.to_string(),
                found: p.hall_id,
            });
        }
        if let Some(bad) = p
            .faq
            .keys()
            .find(|k| !faq_id_shape(k))
            .or_else(|| p.business.keys().find(|k| !business_code_shape(k)))
        {
            return Err(PopularError::NotAnId(bad.clone()));
        }
        Ok(p)
    }

    /// Writes the counts to `path` atomically (a temporary file renamed over it), so a
    /// kiosk switched off mid-write keeps the previous counts.
    pub fn save(&self, path: &Path) -> Result<(), PopularError> {
        let io = |source| PopularError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads the counts at `path`, or starts empty when there is no file yet.
    pub fn load(path: &Path, hall_id: &str) -> Result<Popular, PopularError> {
        match std::fs::read(path) {
            Ok(b) => Popular::from_json(&b, hall_id),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Popular::new(hall_id)),
            Err(source) => Err(PopularError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_count_then_questions_first() {
        let mut p = Popular::new("HALL-1");
        for _ in 0..3 {
            p.bump(&Target::Business("F01".into()));
        }
        for _ in 0..3 {
            p.bump(&Target::Faq("iit-refund".into()));
        }
        p.bump(&Target::Faq("appointment".into()));
        assert_eq!(
            p.ranked(),
            [
                Target::Faq("iit-refund".into()),
                Target::Business("F01".into()),
                Target::Faq("appointment".into()),
            ]
        );
        assert_eq!(p.count(&Target::Business("F01".into())), 3);
    }

    #[test]
    fn json_round_trip_and_refusals() {
        let mut p = Popular::new("HALL-1");
        p.bump(&Target::Faq("iit-refund".into()));
        let bytes = p.to_json();
        assert_eq!(Popular::from_json(&bytes, "HALL-1").unwrap(), p);
        assert!(matches!(
            Popular::from_json(&bytes, "HALL-2"),
            Err(PopularError::OtherHall { .. })
        ));
        let smuggled = br#"{"version":1,"hall_id":"HALL-1","faq":{"my id is 530102199001011234":1},"business":{}}"#;
        assert!(matches!(
            Popular::from_json(smuggled, "HALL-1"),
            Err(PopularError::NotAnId(_))
        ));
        let future = br#"{"version":2,"hall_id":"HALL-1","faq":{},"business":{}}"#;
        assert!(matches!(
            Popular::from_json(future, "HALL-1"),
            Err(PopularError::Version(2))
        ));
        assert!(matches!(
            Popular::from_json(b"{", "HALL-1"),
            Err(PopularError::Format(_))
        ));
    }

    #[test]
    fn save_and_load_through_a_file() {
        let dir = std::env::temp_dir().join(format!("consult-popular-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("popular.json");
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            Popular::load(&path, "HALL-1").unwrap(),
            Popular::new("HALL-1")
        );
        let mut p = Popular::new("HALL-1");
        p.bump(&Target::Business("K04".into()));
        p.save(&path).unwrap();
        assert_eq!(Popular::load(&path, "HALL-1").unwrap(), p);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
