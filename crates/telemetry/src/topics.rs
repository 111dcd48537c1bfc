//! The topic layout. Everything of a hall lives under `hall/{hall_id}/`:
//!
//! | topic | direction | retained | body |
//! |---|---|---|---|
//! | `hall/{hall}/kiosk/{kiosk}/online` | kiosk → hall | yes (last will: offline) | [`crate::Online`] |
//! | `hall/{hall}/kiosk/{kiosk}/heartbeat` | kiosk → hall | no | [`crate::Heartbeat`] |
//! | `hall/{hall}/kiosk/{kiosk}/status` | kiosk → hall | yes | [`crate::DeviceStatus`] |
//! | `hall/{hall}/kiosk/{kiosk}/session` | kiosk → hall | yes | [`crate::SessionState`] |
//! | `hall/{hall}/kiosk/{kiosk}/config` | kiosk → hall | yes | [`crate::ConfigState`] |
//! | `hall/{hall}/kiosk/{kiosk}/event` | kiosk → hall | no | [`crate::EventMessage`] |
//! | `hall/{hall}/kiosk/{kiosk}/cmd` | hall → kiosk | no | [`crate::Command`] |
//! | `hall/{hall}/config/bundle` | hall → kiosks | yes | [`crate::BundleMessage`] |
//!
//! Retained states mean a console that restarts, or a kiosk that reconnects, learns the
//! current picture at once instead of waiting for the next change. Every kiosk topic
//! carries the kiosk id, so a broker ACL can pin a kiosk to its own subtree
//! (`pattern write hall/+/kiosk/%u/#` in Mosquitto).

/// The kinds of message a kiosk publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Online,
    Heartbeat,
    Status,
    Session,
    Config,
    Event,
    Command,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Online,
        Kind::Heartbeat,
        Kind::Status,
        Kind::Session,
        Kind::Config,
        Kind::Event,
        Kind::Command,
    ];

    pub fn segment(self) -> &'static str {
        match self {
            Kind::Online => "online",
            Kind::Heartbeat => "heartbeat",
            Kind::Status => "status",
            Kind::Session => "session",
            Kind::Config => "config",
            Kind::Event => "event",
            Kind::Command => "cmd",
        }
    }

    /// Whether the broker keeps the last message of this kind for late subscribers.
    pub fn retained(self) -> bool {
        matches!(
            self,
            Kind::Online | Kind::Status | Kind::Session | Kind::Config
        )
    }
}

pub fn kiosk(hall: &str, kiosk: &str, kind: Kind) -> String {
    format!("hall/{hall}/kiosk/{kiosk}/{}", kind.segment())
}

/// The retained configuration bundle of a hall.
pub fn bundle(hall: &str) -> String {
    format!("hall/{hall}/config/bundle")
}

/// What the console subscribes to: every kiosk message of every hall. Commands are in
/// the same subtree; the console ignores its own.
pub const CONSOLE_FILTER: &str = "hall/+/kiosk/+/+";

/// A kiosk topic taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KioskTopic<'a> {
    pub hall: &'a str,
    pub kiosk: &'a str,
    pub kind: Kind,
}

/// Parses `hall/{hall}/kiosk/{kiosk}/{kind}`; anything else is `None`. Ids with a `/`,
/// `+` or `#` cannot be expressed in this layout, so they never parse.
pub fn parse(topic: &str) -> Option<KioskTopic<'_>> {
    let mut parts = topic.split('/');
    let (Some("hall"), Some(hall), Some("kiosk"), Some(kiosk), Some(kind), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if hall.is_empty() || kiosk.is_empty() {
        return None;
    }
    let kind = Kind::ALL.into_iter().find(|k| k.segment() == kind)?;
    Some(KioskTopic { hall, kiosk, kind })
}

/// Whether an id can appear in a topic: MQTT wildcards and separators would change the
/// topic's meaning.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        for kind in Kind::ALL {
            let t = kiosk("HALL-5301", "KSK-1", kind);
            let p = parse(&t).unwrap();
            assert_eq!((p.hall, p.kiosk, p.kind), ("HALL-5301", "KSK-1", kind));
        }
    }

    #[test]
    fn foreign_topics_do_not_parse() {
        for t in [
            "hall/H/kiosk/K",
            "hall/H/kiosk/K/online/extra",
            "hall/H/kiosk/K/unknown",
            "hall//kiosk/K/online",
            "halls/H/kiosk/K/online",
            "hall/H/config/bundle",
        ] {
            assert_eq!(parse(t), None, "{t}");
        }
    }

    #[test]
    fn ids_with_wildcards_are_invalid() {
        assert!(valid_id("KSK-5301-0001"));
        for bad in ["", "a/b", "a+b", "a#", "a b", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
