//! The configuration bundle IT swaps into kiosks: model, loader and validator.

mod load;
pub mod model;

pub use load::{BundleFiles, Diagnostic, Loaded, Severity, line_col, load};
pub use model::*;

/// Texts the kiosk cannot run without. The loader refuses a bundle that lacks one, so a
/// screen never shows a raw key to a taxpayer.
pub const REQUIRED_TEXT_KEYS: &[&str] = &[
    "app.title",
    "app.practice_banner",
    "attract.touch_to_start",
    "attract.after_hours",
    "common.back",
    "common.home",
    "common.call_staff",
    "common.next",
    "common.confirm",
    "common.cancel",
    "common.language",
    "language.choose",
    "language.elder_mode",
    "identify.insert_card",
    "identify.look_at_camera",
    "identify.failed",
    "identify.alternatives",
    "zone.choose",
    "business.materials",
    "business.minutes",
    "business.ends.SS",
    "business.ends.BO",
    "business.ends.TK",
    "form.required",
    "form.invalid",
    "review.title",
    "submit.sending",
    "submit.queued",
    "payment.title",
    "payment.declined",
    "outcome.done",
    "outcome.submitted",
    "outcome.ticket",
    "outcome.refused",
    "print.printing",
    "print.failed",
    "rating.ask",
    "idle.warning",
    "idle.extend",
    "goodbye.thanks",
];
