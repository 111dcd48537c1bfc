//! The console's live picture of every kiosk, and the alert rules.
//!
//! Everything here is pure: messages and the console's clock go in, state and alert
//! sets come out. Staleness is judged by the console's receive time, never by the time a
//! kiosk wrote into a message, so a kiosk with a wrong clock cannot look alive.

use std::collections::BTreeMap;

use telemetry::{ConfigState, DeviceStatus, Health, SessionState};

/// What the console is told to watch for. Defaults suit a hall; tests shrink them.
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// No message for this long and a kiosk counts as gone (heartbeats come every 5 s).
    pub heartbeat_timeout_ms: i64,
    /// Offline for this long raises the offline alert.
    pub offline_alert_ms: i64,
    /// The same screen of a running session for this long is a stuck session.
    pub stuck_session_ms: i64,
    /// Submissions waiting in a kiosk's outbox from this many on are a backlog.
    pub outbox_backlog: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            heartbeat_timeout_ms: 20_000,
            offline_alert_ms: 60_000,
            stuck_session_ms: 10 * 60_000,
            outbox_backlog: 20,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    Offline,
    PaperOut,
    PaperLow,
    PrinterFault,
    CameraFault,
    ReaderFault,
    BackofficeUnreachable,
    OutboxBacklog,
    SessionStuck,
    ConfigRefused,
}

impl AlertKind {
    pub const ALL: [AlertKind; 10] = [
        AlertKind::Offline,
        AlertKind::PaperOut,
        AlertKind::PaperLow,
        AlertKind::PrinterFault,
        AlertKind::CameraFault,
        AlertKind::ReaderFault,
        AlertKind::BackofficeUnreachable,
        AlertKind::OutboxBacklog,
        AlertKind::SessionStuck,
        AlertKind::ConfigRefused,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AlertKind::Offline => "offline",
            AlertKind::PaperOut => "paper_out",
            AlertKind::PaperLow => "paper_low",
            AlertKind::PrinterFault => "printer_fault",
            AlertKind::CameraFault => "camera_fault",
            AlertKind::ReaderFault => "reader_fault",
            AlertKind::BackofficeUnreachable => "backoffice_unreachable",
            AlertKind::OutboxBacklog => "outbox_backlog",
            AlertKind::SessionStuck => "session_stuck",
            AlertKind::ConfigRefused => "config_refused",
        }
    }

    pub fn from_code(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// Chinese and English label for the dashboard.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            AlertKind::Offline => ("终端离线", "Offline"),
            AlertKind::PaperOut => ("打印纸用完", "Paper out"),
            AlertKind::PaperLow => ("打印纸将尽", "Paper low"),
            AlertKind::PrinterFault => ("打印机故障", "Printer fault"),
            AlertKind::CameraFault => ("摄像头故障", "Camera failure"),
            AlertKind::ReaderFault => ("读卡器故障", "ID reader failure"),
            AlertKind::BackofficeUnreachable => ("后台不可达", "Back office unreachable"),
            AlertKind::OutboxBacklog => ("待发积压", "Outbox backlog"),
            AlertKind::SessionStuck => ("业务卡住", "Session stuck"),
            AlertKind::ConfigRefused => ("配置被拒", "Config refused"),
        }
    }

    /// Whether the kiosk cannot serve taxpayers while this holds (red), or only needs
    /// attention soon (amber).
    pub fn severe(self) -> bool {
        !matches!(
            self,
            AlertKind::PaperLow | AlertKind::OutboxBacklog | AlertKind::ConfigRefused
        )
    }
}

/// One kiosk as the console sees it.
#[derive(Clone, Debug)]
pub struct KioskLive {
    pub hall: String,
    pub id: String,
    /// The last presence message said online.
    pub online: bool,
    /// Console clock of the last message of any kind.
    pub last_seen_ms: i64,
    /// Console clock of the explicit offline (last will or goodbye), if that is the state.
    pub went_offline_ms: Option<i64>,
    pub software: String,
    pub status: Option<DeviceStatus>,
    pub session: Option<SessionState>,
    /// Console clock of the last session screen change.
    pub session_changed_ms: i64,
    pub config: Option<ConfigState>,
    /// Open alerts: kind to (database id, detail).
    pub alerts: BTreeMap<AlertKind, (i64, String)>,
}

impl KioskLive {
    pub fn new(hall: &str, id: &str, now: i64) -> KioskLive {
        KioskLive {
            hall: hall.to_string(),
            id: id.to_string(),
            online: false,
            last_seen_ms: now,
            went_offline_ms: None,
            software: String::new(),
            status: None,
            session: None,
            session_changed_ms: now,
            config: None,
            alerts: BTreeMap::new(),
        }
    }

    /// Whether the kiosk is reachable now.
    pub fn connected(&self, now: i64, th: &Thresholds) -> bool {
        self.online && now - self.last_seen_ms <= th.heartbeat_timeout_ms
    }

    /// Since when (console clock) the kiosk has been unreachable, if it is.
    pub fn offline_since(&self, now: i64, th: &Thresholds) -> Option<i64> {
        if self.connected(now, th) {
            return None;
        }
        let silent_from = self.last_seen_ms + th.heartbeat_timeout_ms;
        Some(match self.went_offline_ms {
            Some(t) if self.online => t.min(silent_from),
            Some(t) => t,
            None => silent_from,
        })
    }
}

/// The alerts that hold for a kiosk now, with a detail line each. While a kiosk is
/// unreachable its device alerts are unknown, so the ones already open are kept as they
/// are (an offline kiosk does not get its paper alert cleared by silence).
pub fn alerts_for(k: &KioskLive, now: i64, th: &Thresholds) -> BTreeMap<AlertKind, String> {
    let mut out = BTreeMap::new();
    if let Some(since) = k.offline_since(now, th) {
        for (kind, (_, detail)) in &k.alerts {
            if *kind != AlertKind::Offline {
                out.insert(*kind, detail.clone());
            }
        }
        let away = now - since;
        if away >= th.offline_alert_ms {
            out.insert(
                AlertKind::Offline,
                format!(
                    "no contact for {} s when raised",
                    (now - k.last_seen_ms) / 1000
                ),
            );
        }
        return out;
    }
    if let Some(s) = &k.status {
        let p = &s.printer;
        if p.paper_out {
            out.insert(AlertKind::PaperOut, "the printer reports no paper".into());
        } else if p.paper_near_end {
            out.insert(AlertKind::PaperLow, "the paper roll is near its end".into());
        }
        if !p.online || p.cover_open {
            let what = if p.cover_open {
                "the printer cover is open"
            } else {
                "the printer does not answer"
            };
            out.insert(AlertKind::PrinterFault, what.into());
        }
        if let Health::Fault { detail } = &s.camera {
            out.insert(AlertKind::CameraFault, detail.clone());
        }
        if let Health::Fault { detail } = &s.id_reader {
            out.insert(AlertKind::ReaderFault, detail.clone());
        }
        if !s.backoffice.reachable {
            out.insert(
                AlertKind::BackofficeUnreachable,
                "the kiosk cannot reach the back office; submissions wait in its outbox".into(),
            );
        }
        if s.outbox_depth >= th.outbox_backlog {
            out.insert(
                AlertKind::OutboxBacklog,
                format!("{} submissions waiting", s.outbox_depth),
            );
        }
    }
    if let Some(s) = &k.session
        && s.in_session
        && now - k.session_changed_ms >= th.stuck_session_ms
    {
        out.insert(
            AlertKind::SessionStuck,
            format!(
                "on screen {} for {} min",
                s.screen,
                (now - k.session_changed_ms) / 60_000
            ),
        );
    }
    if let Some(ConfigState::Refused { version, reason }) = &k.config {
        out.insert(
            AlertKind::ConfigRefused,
            format!("{}: {reason}", telemetry::bundle::short(version)),
        );
    }
    out
}

/// The colour class of a kiosk tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Working and idle.
    Ok,
    /// Working, serving a taxpayer.
    Busy,
    /// Needs attention soon.
    Warn,
    /// Cannot serve.
    Fault,
    Offline,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Ok => "ok",
            Tone::Busy => "busy",
            Tone::Warn => "warn",
            Tone::Fault => "fault",
            Tone::Offline => "offline",
        }
    }
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Tone::Ok => ("空闲", "Idle"),
            Tone::Busy => ("办理中", "In session"),
            Tone::Warn => ("需关注", "Attention"),
            Tone::Fault => ("故障", "Fault"),
            Tone::Offline => ("离线", "Offline"),
        }
    }
}

pub fn tone(k: &KioskLive, now: i64, th: &Thresholds) -> Tone {
    if !k.connected(now, th) {
        return Tone::Offline;
    }
    if k.alerts.keys().any(|a| a.severe()) {
        return Tone::Fault;
    }
    if !k.alerts.is_empty() {
        return Tone::Warn;
    }
    if k.session.as_ref().is_some_and(|s| s.in_session) {
        Tone::Busy
    } else {
        Tone::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telemetry::PrinterStatus;

    fn th() -> Thresholds {
        Thresholds {
            heartbeat_timeout_ms: 10_000,
            offline_alert_ms: 30_000,
            stuck_session_ms: 60_000,
            outbox_backlog: 5,
        }
    }

    fn alive(now: i64) -> KioskLive {
        let mut k = KioskLive::new("H", "K", now);
        k.online = true;
        k.status = Some(DeviceStatus::default());
        k
    }

    #[test]
    fn healthy_kiosk_has_no_alerts() {
        let k = alive(1_000);
        assert!(alerts_for(&k, 2_000, &th()).is_empty());
        assert_eq!(tone(&k, 2_000, &th()), Tone::Ok);
    }

    #[test]
    fn offline_alert_waits_for_its_threshold() {
        let mut k = alive(0);
        k.online = false;
        k.went_offline_ms = Some(5_000);
        assert!(!alerts_for(&k, 20_000, &th()).contains_key(&AlertKind::Offline));
        assert!(alerts_for(&k, 35_000, &th()).contains_key(&AlertKind::Offline));
        assert_eq!(tone(&k, 6_000, &th()), Tone::Offline);
    }

    #[test]
    fn silence_counts_as_offline_after_the_heartbeat_timeout() {
        let k = alive(0);
        assert!(k.connected(10_000, &th()));
        assert!(!k.connected(10_001, &th()));
        assert_eq!(k.offline_since(20_000, &th()), Some(10_000));
        assert!(!alerts_for(&k, 39_000, &th()).contains_key(&AlertKind::Offline));
        assert!(alerts_for(&k, 40_000, &th()).contains_key(&AlertKind::Offline));
    }

    #[test]
    fn device_alerts() {
        let mut k = alive(0);
        k.status = Some(DeviceStatus {
            camera: Health::Fault {
                detail: "no frames".into(),
            },
            id_reader: Health::Fault {
                detail: "usb gone".into(),
            },
            printer: PrinterStatus {
                online: true,
                paper_near_end: true,
                paper_out: false,
                cover_open: true,
            },
            backoffice: telemetry::BackofficeStatus {
                reachable: false,
                latency_ms: None,
            },
            outbox_depth: 5,
        });
        let a = alerts_for(&k, 1, &th());
        let kinds: Vec<_> = a.keys().copied().collect();
        assert_eq!(
            kinds,
            vec![
                AlertKind::PaperLow,
                AlertKind::PrinterFault,
                AlertKind::CameraFault,
                AlertKind::ReaderFault,
                AlertKind::BackofficeUnreachable,
                AlertKind::OutboxBacklog
            ]
        );
        // Paper out supersedes paper low.
        if let Some(s) = k.status.as_mut() {
            s.printer.paper_out = true;
        }
        let a = alerts_for(&k, 1, &th());
        assert!(a.contains_key(&AlertKind::PaperOut) && !a.contains_key(&AlertKind::PaperLow));
    }

    #[test]
    fn stuck_session_and_refused_config() {
        let mut k = alive(0);
        k.session = Some(SessionState {
            in_session: true,
            screen: "submitting".into(),
            ..SessionState::default()
        });
        k.session_changed_ms = 0;
        // Heartbeats keep it connected.
        k.last_seen_ms = 60_000;
        assert!(alerts_for(&k, 59_999, &th()).is_empty());
        assert!(alerts_for(&k, 60_000, &th()).contains_key(&AlertKind::SessionStuck));
        k.config = Some(ConfigState::Refused {
            version: "abcdef0123456789".into(),
            reason: "bad signature".into(),
        });
        let a = alerts_for(&k, 1, &th());
        assert_eq!(a[&AlertKind::ConfigRefused], "abcdef012345: bad signature");
    }

    #[test]
    fn offline_keeps_device_alerts_open() {
        let mut k = alive(0);
        k.alerts.insert(AlertKind::PaperOut, (1, "no paper".into()));
        k.online = false;
        k.went_offline_ms = Some(1_000);
        let a = alerts_for(&k, 2_000, &th());
        assert!(a.contains_key(&AlertKind::PaperOut));
    }

    #[test]
    fn codes_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::from_code(k.code()), Some(k));
        }
    }
}
