//! The kiosk's domain core: identifiers and money, the configuration bundle (model,
//! loader, validator), forms, and the session state machine.
//!
//! It owns every decision the kiosk makes and performs none of its I/O: no files, no
//! sockets, no clock, no threads. The shell hands it bytes and events and executes the
//! effects it returns. It must never depend on tokio, slint, opencv, reqwest or axum.

pub mod config;
pub mod expr;
pub mod form;
pub mod ids;
pub mod money;
pub mod session;
pub mod text;

pub use ids::{CreditCode, Date, IdNumber, Phone, TaxPeriod};
pub use money::Amount;

use serde::{Deserialize, Serialize};

/// A language the kiosk speaks. Chinese first: it is the default everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn from_code(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// A text in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Localized {
    pub zh: String,
    pub en: String,
}

impl Localized {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Localized {
        Localized {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}
