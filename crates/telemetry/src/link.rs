//! The kiosk's MQTT connection to the hall.
//!
//! One [`KioskLink`] per kiosk. It connects with the kiosk id as client id and username
//! and the derived password ([`crate::mqtt_password`]), sets a retained last will of
//! offline, and on every (re)connect publishes `online`, subscribes to its command topic
//! and the hall's bundle topic, and publishes its retained states again, so that a
//! broker that restarted without persistence (rumqttd has none) gets the picture back.
//!
//! rumqttc's `EventLoop::poll()` runs alone in its own task: inside a `select!` with a
//! timer, a cancelled poll can abort the connection (see STACK.md). The heartbeat has its
//! own task and uses `try_publish`, so a heartbeat never waits behind a dead link.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_core::session::{EndReason, Telemetry};
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::bundle::{Refusal, Verified};
use crate::messages::*;
use crate::topics::{self, Kind};
use crate::{Error, now_ms};

/// Largest message a kiosk accepts: a configuration bundle with its FAQ and forms is a
/// few hundred kilobytes as base64 JSON.
pub const MAX_INCOMING: usize = 8 * 1024 * 1024;

/// A broker address: `mqtt://[user:password@]host:port` (`tcp://` also accepted). The
/// user and password, when present, are used as they are (no percent-decoding): kiosk
/// passwords are hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerAddr {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl BrokerAddr {
    pub fn parse(url: &str) -> Result<BrokerAddr, Error> {
        let bad = || Error::BrokerUrl(url.to_string());
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(bad)?;
        let rest = rest.trim_end_matches('/');
        let (cred, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        let (username, password) = match cred {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(c.to_string()), None),
            },
            None => (None, None),
        };
        Ok(BrokerAddr {
            host: host.to_string(),
            port,
            username,
            password,
        })
    }
}

#[derive(Clone, Debug)]
pub struct LinkSettings {
    pub hall_id: String,
    pub kiosk_id: String,
    pub broker: BrokerAddr,
    /// The broker password ([`crate::mqtt_password`] of the kiosk key).
    pub password: String,
    pub software: String,
    pub heartbeat: Duration,
    pub keep_alive: Duration,
}

impl LinkSettings {
    pub fn new(
        hall_id: &str,
        kiosk_id: &str,
        broker: BrokerAddr,
        kiosk_key: &[u8],
        software: &str,
    ) -> LinkSettings {
        LinkSettings {
            hall_id: hall_id.to_string(),
            kiosk_id: kiosk_id.to_string(),
            broker,
            password: crate::mqtt_password(kiosk_key),
            software: software.to_string(),
            heartbeat: Duration::from_secs(5),
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// What the hall sends the kiosk, and the link's own news.
#[derive(Clone, Debug)]
pub enum Incoming {
    Connected,
    Disconnected(String),
    Command(Command),
    /// The hall's current bundle; check it with a [`crate::bundle::ConfigGate`].
    Bundle(Box<BundleMessage>),
    /// A message on a subscribed topic that could not be read.
    Unreadable {
        topic: String,
        error: String,
    },
}

#[derive(Default)]
struct Retained {
    status: Option<Vec<u8>>,
    session: Option<Vec<u8>>,
    config: Option<Vec<u8>>,
    /// The zone of the running session, for its `session_ended` event.
    zone: Option<String>,
    practice: bool,
    /// Local (kiosk.toml-merged) short version to hall version, for bundles this kiosk
    /// verified: the core reports the local one.
    versions: HashMap<String, String>,
}

pub struct KioskLink {
    client: AsyncClient,
    settings: Arc<LinkSettings>,
    state: Arc<Mutex<Retained>>,
    tasks: Vec<JoinHandle<()>>,
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Our message types always serialise.
    serde_json::to_vec(v).unwrap_or_default()
}

impl KioskLink {
    /// Starts the connection and its tasks; returns at once. Must be called inside a
    /// tokio runtime. The receiver gets commands, bundles and connection news.
    pub fn start(settings: LinkSettings) -> (KioskLink, mpsc::UnboundedReceiver<Incoming>) {
        let settings = Arc::new(settings);
        let mut opts = MqttOptions::new(
            settings.kiosk_id.clone(),
            settings.broker.host.clone(),
            settings.broker.port,
        );
        opts.set_credentials(settings.kiosk_id.clone(), settings.password.clone());
        opts.set_keep_alive(settings.keep_alive);
        opts.set_max_packet_size(MAX_INCOMING, 256 * 1024);
        opts.set_request_channel_capacity(64);
        opts.set_clean_session(true);
        opts.set_last_will(LastWill::new(
            topics::kiosk(&settings.hall_id, &settings.kiosk_id, Kind::Online),
            json(&Online {
                online: false,
                software: settings.software.clone(),
                at_ms: 0,
            }),
            QoS::AtLeastOnce,
            true,
        ));
        let (client, eventloop) = AsyncClient::new(opts, 64);
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(Retained::default()));
        let poll = tokio::spawn(run_eventloop(
            eventloop,
            client.clone(),
            settings.clone(),
            state.clone(),
            tx,
        ));
        let beat = tokio::spawn(heartbeat(client.clone(), settings.clone()));
        (
            KioskLink {
                client,
                settings,
                state,
                tasks: vec![poll, beat],
            },
            rx,
        )
    }

    pub fn kiosk_id(&self) -> &str {
        &self.settings.kiosk_id
    }

    fn topic(&self, kind: Kind) -> String {
        topics::kiosk(&self.settings.hall_id, &self.settings.kiosk_id, kind)
    }

    async fn publish_retained(&self, kind: Kind, body: Vec<u8>) -> Result<(), Error> {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match kind {
                Kind::Status => st.status = Some(body.clone()),
                Kind::Session => st.session = Some(body.clone()),
                Kind::Config => st.config = Some(body.clone()),
                _ => {}
            }
        }
        self.client
            .publish(self.topic(kind), QoS::AtLeastOnce, true, body)
            .await?;
        Ok(())
    }

    pub async fn status(&self, status: &DeviceStatus) -> Result<(), Error> {
        self.publish_retained(Kind::Status, json(status)).await
    }

    pub async fn session(&self, session: &SessionState) -> Result<(), Error> {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if session.in_session {
                if session.zone.is_some() {
                    st.zone = session.zone.clone();
                }
                st.practice = session.practice;
            }
        }
        self.publish_retained(Kind::Session, json(session)).await
    }

    pub async fn config_state(&self, state: &ConfigState) -> Result<(), Error> {
        self.publish_retained(Kind::Config, json(state)).await
    }

    pub async fn event(&self, event: KioskEvent) -> Result<(), Error> {
        let msg = EventMessage {
            at_ms: now_ms(),
            event,
        };
        self.client
            .publish(self.topic(Kind::Event), QoS::AtLeastOnce, false, json(&msg))
            .await?;
        Ok(())
    }

    pub async fn error(&self, source: &str, message: &str) -> Result<(), Error> {
        self.event(KioskEvent::Error {
            source: source.into(),
            message: message.into(),
        })
        .await
    }

    pub async fn command_result(&self, id: &str, ok: bool, detail: &str) -> Result<(), Error> {
        self.event(KioskEvent::CommandResult {
            id: id.into(),
            ok,
            detail: detail.into(),
        })
        .await
    }

    /// Records a bundle this kiosk verified, so that the core's later `ConfigApplied`
    /// (which names the local version) is reported under the hall's version.
    pub fn verified(&self, v: &Verified) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.versions
            .insert(v.bundle.version().to_string(), v.version.clone());
    }

    /// Reports a refused bundle. The kiosk keeps running what it had.
    pub async fn refused(&self, version: &str, refusal: &Refusal) -> Result<(), Error> {
        self.config_state(&ConfigState::Refused {
            version: version.to_string(),
            reason: refusal.to_string(),
        })
        .await
    }

    /// Publishes what the kiosk core says, in hall terms. The core never emits personal
    /// data in telemetry; this mapping adds none.
    pub async fn core(&self, t: &Telemetry) -> Result<(), Error> {
        match t {
            Telemetry::Screen {
                screen,
                zone,
                business,
                practice,
            } => {
                let in_session = !matches!(*screen, "attract" | "goodbye");
                self.session(&SessionState {
                    in_session,
                    screen: screen.to_string(),
                    zone: zone.clone(),
                    business: business.clone(),
                    practice: *practice,
                    since_ms: now_ms(),
                })
                .await
            }
            Telemetry::SessionEnded {
                business,
                outcome,
                duration_ms,
                reason,
            } => {
                let (zone, practice) = {
                    let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    (st.zone.take(), std::mem::take(&mut st.practice))
                };
                self.event(KioskEvent::SessionEnded {
                    business: business.clone(),
                    zone,
                    outcome: outcome.to_string(),
                    duration_ms: *duration_ms,
                    reason: reason_name(*reason).into(),
                    practice,
                })
                .await
            }
            Telemetry::Rated { business, stars } => {
                self.event(KioskEvent::Rated {
                    business: business.clone(),
                    stars: *stars,
                })
                .await
            }
            Telemetry::ConfigApplied { version } => {
                let hall = self.hall_version(version);
                self.config_state(&ConfigState::Applied {
                    version: hall,
                    local_version: version.clone(),
                })
                .await
            }
            Telemetry::ConfigDeferred { version } => {
                let hall = self.hall_version(version);
                self.config_state(&ConfigState::Deferred { version: hall })
                    .await
            }
        }
    }

    fn hall_version(&self, local: &str) -> String {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.versions
            .get(local)
            .cloned()
            .unwrap_or_else(|| local.to_string())
    }

    /// A clean goodbye: offline is published (retained) before disconnecting, so the
    /// hall sees a planned shutdown at once rather than after the keep-alive.
    pub async fn shutdown(self) {
        let off = json(&Online {
            online: false,
            software: self.settings.software.clone(),
            at_ms: now_ms(),
        });
        let _ = self
            .client
            .publish(self.topic(Kind::Online), QoS::AtLeastOnce, true, off)
            .await;
        let _ = self.client.disconnect().await;
        // Give the event loop a moment to flush the two packets.
        let deadline = Instant::now() + Duration::from_secs(2);
        for t in &self.tasks[1..] {
            t.abort();
        }
        let poll = &self.tasks[0];
        while !poll.is_finished() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        poll.abort();
    }

    /// Drops the connection without a goodbye, as a power cut would: the broker then
    /// publishes the last will.
    pub fn kill(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for KioskLink {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn reason_name(r: EndReason) -> &'static str {
    match r {
        EndReason::Finished => "finished",
        EndReason::IdleTimeout => "idle_timeout",
        EndReason::Left => "left",
        EndReason::Cancelled => "cancelled",
    }
}

async fn heartbeat(client: AsyncClient, settings: Arc<LinkSettings>) {
    let started = Instant::now();
    let topic = topics::kiosk(&settings.hall_id, &settings.kiosk_id, Kind::Heartbeat);
    // Spread kiosks that start together over the interval so that a hall's heartbeats do
    // not arrive in one burst.
    let spread = settings.heartbeat.as_millis() as u64;
    let offset = if spread > 0 {
        fnv(&settings.kiosk_id) % spread
    } else {
        0
    };
    tokio::time::sleep(Duration::from_millis(offset)).await;
    let mut tick = tokio::time::interval(settings.heartbeat.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0u64;
    loop {
        tick.tick().await;
        seq += 1;
        let body = json(&Heartbeat {
            at_ms: now_ms(),
            seq,
            uptime_s: started.elapsed().as_secs(),
        });
        // A heartbeat that cannot go now is worthless later.
        let _ = client.try_publish(topic.clone(), QoS::AtMostOnce, false, body);
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

async fn run_eventloop(
    mut eventloop: EventLoop,
    client: AsyncClient,
    settings: Arc<LinkSettings>,
    state: Arc<Mutex<Retained>>,
    tx: mpsc::UnboundedSender<Incoming>,
) {
    let cmd_topic = topics::kiosk(&settings.hall_id, &settings.kiosk_id, Kind::Command);
    let bundle_topic = topics::bundle(&settings.hall_id);
    let mut backoff = Duration::from_millis(200);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(200);
                // Publishing from this task could wait on the request channel that only
                // this task drains: hand the work to a task of its own.
                tokio::spawn(on_connect(
                    client.clone(),
                    settings.clone(),
                    state.clone(),
                    cmd_topic.clone(),
                    bundle_topic.clone(),
                ));
                let _ = tx.send(Incoming::Connected);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let msg = if p.topic == cmd_topic {
                    serde_json::from_slice::<Command>(&p.payload).map(Incoming::Command)
                } else if p.topic == bundle_topic {
                    serde_json::from_slice::<BundleMessage>(&p.payload)
                        .map(|b| Incoming::Bundle(Box::new(b)))
                } else {
                    continue;
                };
                let msg = msg.unwrap_or_else(|e| Incoming::Unreadable {
                    topic: p.topic.clone(),
                    error: e.to_string(),
                });
                let _ = tx.send(msg);
            }
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send(Incoming::Disconnected(e.to_string()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn on_connect(
    client: AsyncClient,
    settings: Arc<LinkSettings>,
    state: Arc<Mutex<Retained>>,
    cmd_topic: String,
    bundle_topic: String,
) {
    let t = |k| topics::kiosk(&settings.hall_id, &settings.kiosk_id, k);
    let online = json(&Online {
        online: true,
        software: settings.software.clone(),
        at_ms: now_ms(),
    });
    let _ = client
        .publish(t(Kind::Online), QoS::AtLeastOnce, true, online)
        .await;
    let (status, session, config) = {
        let st = state.lock().unwrap_or_else(|e| e.into_inner());
        (st.status.clone(), st.session.clone(), st.config.clone())
    };
    for (kind, body) in [
        (Kind::Status, status),
        (Kind::Session, session),
        (Kind::Config, config),
    ] {
        if let Some(body) = body {
            let _ = client.publish(t(kind), QoS::AtLeastOnce, true, body).await;
        }
    }
    let _ = client.subscribe(cmd_topic, QoS::AtLeastOnce).await;
    let _ = client.subscribe(bundle_topic, QoS::AtLeastOnce).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let a = BrokerAddr::parse("mqtt://127.0.0.1:1883").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.username),
            ("127.0.0.1", 1883, None)
        );
        let b = BrokerAddr::parse("mqtt://hall:s3cret@broker.local:8883/").unwrap();
        assert_eq!(b.username.as_deref(), Some("hall"));
        assert_eq!(b.password.as_deref(), Some("s3cret"));
        assert_eq!(b.host, "broker.local");
        for bad in [
            "http://x:1",
            "mqtt://x",
            "mqtt://:1883",
            "mqtt://x:0",
            "mqtt://x:http",
        ] {
            assert!(BrokerAddr::parse(bad).is_err(), "{bad}");
        }
    }
}
