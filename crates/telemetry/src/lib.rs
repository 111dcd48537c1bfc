//! What a kiosk tells the hall and what the hall tells a kiosk, over MQTT (3.1.1).
//!
//! This crate owns the contract between the kiosks and `tax-hall`:
//! - [`topics`]: the topic layout, and parsing a topic back into (hall, kiosk, kind);
//! - [`messages`]: every message body, as serde JSON types both ends share;
//! - [`link`]: the kiosk side: one MQTT connection per kiosk that keeps a retained online
//!   state with a last will of offline, a heartbeat, the retained device, session and
//!   configuration states, and error and receipt events, and that hands the kiosk app the
//!   hall's commands and configuration bundles;
//! - [`bundle`]: ed25519 signing of configuration bundles (used by `tax-hall config sign`)
//!   and the kiosk's check of a received bundle (signature, then the same loader as
//!   `config check`), which ends in a bundle to apply or a reason to refuse;
//! - [`hall_api`]: the signed HTTP request for a queue ticket (same HMAC scheme as the
//!   back office);
//! - [`auth`]: the broker password each kiosk derives from its key.
//!
//! It must never carry personal data: no message type has a field for a name, an ID
//! number, a phone number or a form value, and the session state is screen, zone and
//! business only. It must never apply a configuration itself: it verifies and returns a
//! bundle, and the kiosk core swaps it in between sessions.
//!
//! How the kiosk app uses it (the public key file's path comes from its command line;
//! `tests/integration/config_swap.rs` in the `hall` crate runs this loop with the core):
//!
//! ```ignore
//! let (link, mut incoming) = KioskLink::start(LinkSettings::new(
//!     &bundle.kiosk.hall_id, &bundle.kiosk.kiosk_id,
//!     BrokerAddr::parse(&bundle.kiosk.endpoints.telemetry)?, &kiosk_key, VERSION));
//! let mut gate = bundle::ConfigGate::open(&public_key_path, &kiosk_toml_path)?;
//! while let Some(m) = incoming.recv().await {
//!     match m {
//!         Incoming::Bundle(msg) => match gate.offer(&msg) {
//!             bundle::Offer::Apply(v) => {
//!                 link.verified(&v);
//!                 // The core defers it while a session runs (ConfigDeferred) and
//!                 // applies it at the wipe (ConfigApplied); both reach the hall
//!                 // through `link.core(&telemetry)` like every core telemetry effect.
//!                 effects.extend(core.handle(Event::NewConfig(v.bundle)));
//!             }
//!             bundle::Offer::Refuse { version, refusal } => link.refused(&version, &refusal).await?,
//!             bundle::Offer::Unchanged => {}
//!         },
//!         Incoming::Command(c) => { /* attract screen or journal reprint, then */
//!             link.command_result(&c.id, true, "done").await? }
//!         _ => {}
//!     }
//! }
//! ```

pub mod auth;
pub mod bundle;
pub mod hall_api;
pub mod link;
pub mod messages;
pub mod topics;

pub use auth::mqtt_password;
pub use link::{BrokerAddr, Incoming, KioskLink, LinkSettings};
pub use messages::*;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the broker address {0:?} is not of the form mqtt://[user:password@]host:port")]
    BrokerUrl(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Key(String),
    #[error(transparent)]
    Bundle(#[from] bundle_dir::Error),
    #[error("MQTT client: {0}")]
    Mqtt(#[from] rumqttc::ClientError),
    #[error("cannot encode a message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Milliseconds since the Unix epoch. Messages carry wall-clock times so that the hall
/// can show them; the hall judges staleness by its own receive time, not by these.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
