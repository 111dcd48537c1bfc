//! Message bodies, as JSON. Field names are part of the contract with deployed kiosks:
//! add optional fields, never rename.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The retained presence message. The kiosk publishes `online: true` on every connect;
/// the broker publishes the last will (`online: false`) when the connection dies without
/// a clean goodbye, and the kiosk publishes `online: false` itself when it shuts down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Online {
    pub online: bool,
    /// The kiosk software version (`tax-kiosk --version`).
    pub software: String,
    /// When the kiosk connected; 0 in the last will, which is written before connecting.
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at_ms: i64,
    pub seq: u64,
    pub uptime_s: u64,
}

/// A device that either works or does not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    #[default]
    Ok,
    Fault {
        detail: String,
    },
    /// Not fitted on this kiosk.
    Absent,
}

impl Health {
    pub fn is_fault(&self) -> bool {
        matches!(self, Health::Fault { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterStatus {
    pub online: bool,
    pub paper_near_end: bool,
    pub paper_out: bool,
    pub cover_open: bool,
}

impl Default for PrinterStatus {
    fn default() -> Self {
        PrinterStatus {
            online: true,
            paper_near_end: false,
            paper_out: false,
            cover_open: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackofficeStatus {
    pub reachable: bool,
    /// Round trip of the last call, when there was one.
    pub latency_ms: Option<u32>,
}

impl Default for BackofficeStatus {
    fn default() -> Self {
        BackofficeStatus {
            reachable: true,
            latency_ms: None,
        }
    }
}

/// The retained device picture, published whenever a part of it changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub camera: Health,
    pub id_reader: Health,
    pub printer: PrinterStatus,
    pub backoffice: BackofficeStatus,
    /// Submissions waiting in the durable outbox.
    pub outbox_depth: u32,
}

/// Where the kiosk is, never who is at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    pub in_session: bool,
    /// A screen name from `kiosk_core::session::Screen::name`.
    pub screen: String,
    pub zone: Option<String>,
    pub business: Option<String>,
    pub practice: bool,
    /// When this screen was entered, kiosk clock.
    pub since_ms: i64,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            in_session: false,
            screen: "attract".into(),
            zone: None,
            business: None,
            practice: false,
            since_ms: 0,
        }
    }
}

/// The kiosk's answer to the hall's current bundle. `version` is always the full
/// content hash of the hall's (shared) bundle, so that the console can compare kiosks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConfigState {
    /// Running it. `local_version` is the short hash of the bundle as loaded with this
    /// kiosk's own `kiosk.toml` (the version in its back-office provenance headers).
    Applied {
        version: String,
        local_version: String,
    },
    /// Verified and waiting for the current session to end.
    Deferred { version: String },
    /// Refused; the kiosk keeps what it had.
    Refused { version: String, reason: String },
}

impl ConfigState {
    pub fn version(&self) -> &str {
        match self {
            ConfigState::Applied { version, .. }
            | ConfigState::Deferred { version }
            | ConfigState::Refused { version, .. } => version,
        }
    }
}

/// Something that happened, with the kiosk's wall-clock time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    pub at_ms: i64,
    #[serde(flatten)]
    pub event: KioskEvent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KioskEvent {
    /// A visit ended. `outcome` is the core's word: done, submitted, queued, ticket,
    /// refused, payment_pending, abandoned.
    SessionEnded {
        business: Option<String>,
        zone: Option<String>,
        outcome: String,
        duration_ms: u64,
        /// finished, idle_timeout, left, cancelled.
        reason: String,
        practice: bool,
    },
    Rated {
        business: Option<String>,
        stars: u8,
    },
    /// A taxpayer or the session asked for staff at the kiosk.
    StaffCall {
        reason: String,
    },
    /// A fault worth a line in the kiosk's history (device, network, software).
    Error {
        source: String,
        message: String,
    },
    /// A receipt entered the journal or changed state (journal id from the kiosk's
    /// receipt journal; the reference is a tracking or ticket number, not personal data).
    Receipt {
        journal_id: i64,
        template: String,
        reference: Option<String>,
        state: String,
    },
    /// The kiosk's answer to a [`Command`].
    CommandResult {
        id: String,
        ok: bool,
        detail: String,
    },
}

impl KioskEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            KioskEvent::SessionEnded { .. } => "session_ended",
            KioskEvent::Rated { .. } => "rated",
            KioskEvent::StaffCall { .. } => "staff_call",
            KioskEvent::Error { .. } => "error",
            KioskEvent::Receipt { .. } => "receipt",
            KioskEvent::CommandResult { .. } => "command_result",
        }
    }
}

/// A request from the console to one kiosk. The kiosk answers with
/// [`KioskEvent::CommandResult`] carrying the same id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub id: String,
    /// Who asked (a staff account name), for the kiosk's own log.
    pub by: String,
    pub at_ms: i64,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// End any session (with the usual wipe) and show the attract screen.
    ReturnToAttract,
    /// Print a receipt again from the kiosk's journal. `confirmed_by_staff` is required
    /// for a receipt whose first print was never confirmed: that job may still come out.
    Reprint {
        journal_id: i64,
        confirmed_by_staff: bool,
    },
}

/// The hall's current configuration bundle. `files` hold the shared files of the bundle
/// (every file except the per-machine `kiosk.toml` and the signature file), base64, by
/// path; `signature` is ed25519 over [`crate::bundle::signed_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleMessage {
    /// The content hash of `files` (hex sha256, see `BundleFiles::content_hash`).
    pub version: String,
    pub signature: String,
    pub published_ms: i64,
    /// Who published it, and whether it is a rollback.
    pub note: String,
    pub files: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_a_stable_shape() {
        let e = EventMessage {
            at_ms: 5,
            event: KioskEvent::Error {
                source: "printer".into(),
                message: "cover open".into(),
            },
        };
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"at_ms":5,"type":"error","source":"printer","message":"cover open"})
        );
        let back: EventMessage = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn commands_round_trip() {
        let c = Command {
            id: "c1".into(),
            by: "wang".into(),
            at_ms: 1,
            action: Action::Reprint {
                journal_id: 7,
                confirmed_by_staff: false,
            },
        };
        let s = serde_json::to_string(&c).unwrap();
        assert!(s.contains("\"action\":\"reprint\""), "{s}");
        assert_eq!(serde_json::from_str::<Command>(&s).unwrap(), c);
    }

    #[test]
    fn health_reads_its_tags() {
        let h: Health = serde_json::from_str(r#"{"state":"fault","detail":"no frames"}"#).unwrap();
        assert!(h.is_fault());
        let ok: Health = serde_json::from_str(r#"{"state":"ok"}"#).unwrap();
        assert!(!ok.is_fault());
    }
}
