//! Smart consultation (智能咨询): taxpayers ask in their own words and reach the answer and
//! the business that solves it, offline, on the kiosk.
//!
//! This crate owns the search over one configuration bundle: Chinese segmentation (jieba
//! with the bundle's own phrases), a BM25 ranking over the knowledge base (`faq/*.toml`)
//! and the business catalog (names, keywords, summaries, materials), English queries,
//! pinyin initials and homophone and spelling slips; suggestions as the taxpayer types;
//! the per-hall counter of popular questions; and the print jobs for an answer and for the
//! one-time notice of required materials (K05).
//!
//! It must never keep or send what a taxpayer typed: the popularity counter holds ids of
//! the bundle only, and a search leaves no trace. It performs no I/O except where a caller
//! asks it to save or load the counter file, starts no thread and reads no clock. It never
//! decides what happens in a session: it returns results and the event that starts a
//! business, and the session core decides.
//!
//! ```no_run
//! # fn demo(bundle: std::sync::Arc<kiosk_core::config::Bundle>) {
//! use consult::{Consultation, Popular};
//! use kiosk_core::Lang;
//!
//! // When a bundle is loaded (and on every swap), build its index with it.
//! let c = Consultation::new(bundle);
//! let r = c.index.search("我想打印去年交税的证明", Lang::Zh, 3);
//! if let Some(a) = &r.answer {
//!     println!("{}\n{}\n({})", a.question, a.answer, a.source);
//! }
//! for b in &r.businesses {
//!     println!("{} {} in {:?}", b.code, b.name, b.zones);
//!     let _one_tap = b.start(); // Event::ChooseBusiness for the session core
//! }
//! let mut popular = Popular::new(&c.bundle.kiosk.hall_id);
//! if let Some(a) = &r.answer {
//!     c.index.record(&mut popular, &a.target());
//! }
//! let _job = consult::print::notice_job(&c.bundle, "F01", Lang::Zh, "2027-03-01 10:00");
//! # }
//! ```

mod index;
mod popular;
mod text;

pub mod eval;
pub mod print;

use std::sync::Arc;

use kiosk_core::config::Bundle;

pub use index::{Answer, BusinessHit, Index, Results, Suggestion, Target};
pub use popular::{Popular, PopularError};

/// jieba's default dictionary, loaded once per process, for whoever else ranks Chinese
/// words (the kiosk's pinyin keyboard) without a second copy.
pub fn dictionary() -> &'static jieba_rs::Jieba {
    text::jieba()
}
pub use print::{PrintError, answer_job, notice_job};

/// A bundle and the index built from it, made and swapped as one value, so that a search
/// can never rank the businesses of one bundle with the knowledge base of another.
pub struct Consultation {
    pub bundle: Arc<Bundle>,
    pub index: Index,
}

impl Consultation {
    pub fn new(bundle: Arc<Bundle>) -> Consultation {
        let index = Index::build(&bundle);
        Consultation { bundle, index }
    }
}
