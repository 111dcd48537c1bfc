//! The ID card reader port and the simulated reader that reads demo cards from a folder.
//!
//! A demo card is `NAME.json` with the card's text fields and `photo`, a file name in the
//! same folder. `scripts/setup-faces` builds them; they are never committed.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use kiosk_core::ids::{Date, IdNumber};
use opencv::core::Mat;
use opencv::prelude::*;
use serde::Deserialize;

use crate::FaceError;

/// What a reader returns from a second-generation resident ID card's chip.
#[derive(Clone)]
pub struct IdCard {
    pub name: String,
    pub id_number: IdNumber,
    pub valid_from: Date,
    /// `None` for a long-term card (长期).
    pub valid_to: Option<Date>,
    /// The chip photo, BGR, in memory only.
    pub photo: Mat,
}

impl IdCard {
    /// Whether the card is valid on `today` (the shell passes the date in).
    pub fn valid_on(&self, today: Date) -> bool {
        today >= self.valid_from && self.valid_to.is_none_or(|to| today <= to)
    }
}

impl fmt::Debug for IdCard {
    // Personal data stays masked in any log line or panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut name = self.name.chars();
        let first: String = name.next().into_iter().collect();
        f.debug_struct("IdCard")
            .field("name", &format!("{first}{}", "*".repeat(name.count())))
            .field("id_number", &self.id_number)
            .field("valid_from", &self.valid_from)
            .field("valid_to", &self.valid_to)
            .field(
                "photo",
                &format!("{}x{} withheld", self.photo.cols(), self.photo.rows()),
            )
            .finish()
    }
}

/// A card reader: `Ok(None)` while no card is on it.
pub trait IdCardReader: Send {
    fn read(&mut self) -> Result<Option<IdCard>, FaceError>;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardFile {
    name: String,
    id_number: String,
    valid_from: String,
    valid_to: String,
    photo: String,
}

/// The simulated reader: a folder of demo cards, one of which is "on the reader".
pub struct DemoCardReader {
    dir: PathBuf,
    cards: Vec<String>,
    inserted: Option<usize>,
}

impl DemoCardReader {
    /// Opens the folder with the first card (in name order) on the reader.
    pub fn open(dir: &Path) -> Result<DemoCardReader, FaceError> {
        let unavailable = |detail: String| FaceError::ReaderUnavailable {
            endpoint: format!("dir://{}", dir.display()),
            detail,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| unavailable(e.to_string()))?;
        let mut cards: Vec<String> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
            .collect();
        cards.sort();
        if cards.is_empty() {
            return Err(unavailable("the folder holds no demo cards".into()));
        }
        Ok(DemoCardReader {
            dir: dir.to_path_buf(),
            cards,
            inserted: Some(0),
        })
    }

    /// The demo cards, by file stem.
    pub fn cards(&self) -> &[String] {
        &self.cards
    }

    /// Puts the card `stem` on the reader; false if there is no such card.
    pub fn insert(&mut self, stem: &str) -> bool {
        self.inserted = self.cards.iter().position(|c| c == stem);
        self.inserted.is_some()
    }

    pub fn remove(&mut self) {
        self.inserted = None;
    }

    /// Parses one card file; every field is checked as a real reader's driver would.
    pub fn load(&self, stem: &str) -> Result<IdCard, FaceError> {
        let path = self.dir.join(format!("{stem}.json"));
        let bad = |detail: String| FaceError::BadCard {
            path: path.clone(),
            detail,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let raw: CardFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let id_number =
            IdNumber::parse(&raw.id_number).map_err(|e| bad(format!("id_number: {e}")))?;
        let valid_from =
            Date::parse(&raw.valid_from).map_err(|e| bad(format!("valid_from: {e}")))?;
        let valid_to = match raw.valid_to.trim() {
            "长期" | "long-term" => None,
            s => Some(Date::parse(s).map_err(|e| bad(format!("valid_to: {e}")))?),
        };
        if valid_to.is_some_and(|to| to < valid_from) {
            return Err(bad("valid_to is before valid_from".into()));
        }
        let rel = Path::new(&raw.photo);
        if raw.photo.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad(format!(
                "photo {:?} must be a file name inside the card folder",
                raw.photo
            )));
        }
        let photo =
            crate::image::read_bgr(&self.dir.join(rel)).map_err(|e| bad(format!("photo: {e}")))?;
        Ok(IdCard {
            name: raw.name,
            id_number,
            valid_from,
            valid_to,
            photo,
        })
    }
}

impl IdCardReader for DemoCardReader {
    fn read(&mut self) -> Result<Option<IdCard>, FaceError> {
        match self.inserted {
            None => Ok(None),
            Some(i) => self.load(&self.cards[i].clone()).map(Some),
        }
    }
}
