//! MQTT in, live state, alerts, and the dashboard's push stream.
//!
//! Tasks, each with one job:
//! - the MQTT event loop (alone in its task: a cancelled `poll()` aborts rumqttc's
//!   connection), which only forwards publishes;
//! - the state task, the single writer of the live picture and of alerts: it applies
//!   messages and, twice a second, re-judges every kiosk (offline by silence, stuck
//!   sessions). One task means an alert is never raised twice by a race;
//! - the push task, which every 100 ms renders the tiles that changed into one message
//!   for all dashboards, so a burst of 5,000 kiosks costs one push, not 5,000;
//! - the writer, which batches history rows into one transaction;
//! - the snapshot task, which saves each kiosk's last state for a console restart.
//!
//! Heartbeats change memory only; the database sees changes, not chatter.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use telemetry::topics::{self, Kind};
use telemetry::{ConfigState, DeviceStatus, EventMessage, KioskEvent, Online, SessionState};
use tokio::sync::mpsc;

use crate::db::{Stmt, Val};
use crate::live::{self, AlertKind, KioskLive};
use crate::time::now_ms;
use crate::{App, HallError};

pub fn client(host: &str, port: u16, creds: Option<(String, String)>) -> (AsyncClient, EventLoop) {
    let id = format!(
        "{}-{}",
        crate::broker::CONSOLE_USER,
        crate::auth::random_hex(4)
    );
    let mut o = MqttOptions::new(id, host, port);
    o.set_keep_alive(Duration::from_secs(15));
    o.set_max_packet_size(
        crate::broker::MAX_PAYLOAD + 4096,
        crate::broker::MAX_PAYLOAD + 4096,
    );
    o.set_clean_session(true);
    o.set_inflight(1000);
    if let Some((u, p)) = creds {
        o.set_credentials(u, p);
    }
    AsyncClient::new(o, 1024)
}

struct Msg {
    topic: String,
    payload: bytes::Bytes,
    at: i64,
}

/// Loads kiosks and open alerts saved by the last run.
pub async fn restore(app: &Arc<App>) -> Result<(), HallError> {
    let now = now_ms();
    let rows = app
        .db
        .query(
            "SELECT kiosk_id, hall_id, last_seen_ms, online, software, status_json, session_json, config_json FROM kiosks",
            vec![],
        )
        .await?;
    let alerts = app
        .db
        .query(
            "SELECT id, kiosk_id, kind, detail FROM alerts WHERE cleared_ms IS NULL",
            vec![],
        )
        .await?;
    let mut live = app.live.lock().unwrap_or_else(|e| e.into_inner());
    for r in rows {
        let id = r[0].text();
        let mut k = KioskLive::new(&r[1].text(), &id, now);
        k.last_seen_ms = r[2].int();
        // Whatever it said last, the console has not heard from it since its restart.
        k.online = false;
        k.went_offline_ms = Some(k.last_seen_ms);
        k.software = r[4].text();
        k.status = r[5].opt_text().and_then(|s| serde_json::from_str(&s).ok());
        k.session = r[6].opt_text().and_then(|s| serde_json::from_str(&s).ok());
        k.config = r[7].opt_text().and_then(|s| serde_json::from_str(&s).ok());
        live.insert(id, k);
    }
    for a in alerts {
        if let (Some(k), Some(kind)) = (
            live.get_mut(&a[1].text()),
            AlertKind::from_code(&a[2].text()),
        ) {
            k.alerts.insert(kind, (a[0].int(), a[3].text()));
        }
    }
    Ok(())
}

pub fn spawn(app: Arc<App>, eventloop: EventLoop, writer_rx: mpsc::UnboundedReceiver<Stmt>) {
    let (tx, rx) = mpsc::channel::<Msg>(65_536);
    tokio::spawn(poll_loop(app.clone(), eventloop, tx));
    tokio::spawn(state_task(app.clone(), rx));
    tokio::spawn(push_task(app.clone()));
    tokio::spawn(writer_task(app.clone(), writer_rx));
    tokio::spawn(snapshot_task(app));
}

async fn poll_loop(app: Arc<App>, mut eventloop: EventLoop, tx: mpsc::Sender<Msg>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(100);
                tracing::info!("MQTT: console connected");
                let app = app.clone();
                // Not from this task: a full request channel would wait on ourselves.
                tokio::spawn(async move {
                    if let Err(e) = app
                        .mqtt
                        .subscribe(topics::CONSOLE_FILTER, QoS::AtLeastOnce)
                        .await
                    {
                        tracing::error!("MQTT: cannot subscribe: {e}");
                    }
                    crate::configs::republish(&app).await;
                });
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let m = Msg {
                    topic: p.topic,
                    payload: p.payload,
                    at: now_ms(),
                };
                if tx.send(m).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("MQTT: {e}; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn state_task(app: Arc<App>, mut rx: mpsc::Receiver<Msg>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tones: HashMap<String, live::Tone> = HashMap::new();
    loop {
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { return };
                if let Some(id) = handle(&app, m).await {
                    judge(&app, &id, now_ms()).await;
                }
            }
            _ = tick.tick() => {
                let now = now_ms();
                let ids: Vec<String> = app.live.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
                for id in ids {
                    judge(&app, &id, now).await;
                    // Tiles change colour with time alone (silence turns a kiosk offline).
                    let t = {
                        let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
                        live.get(&id).map(|k| live::tone(k, now, &app.settings.thresholds))
                    };
                    if let Some(t) = t
                        && tones.insert(id.clone(), t) != Some(t)
                    {
                        app.dirty.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
                    }
                }
            }
        }
    }
}

fn record(app: &App, hall: &str, kiosk: &str, kind: &str, detail: String, at: i64) {
    let _ = app.writer.send(Stmt {
        sql: "INSERT INTO events (at_ms, hall_id, kiosk_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
        params: vec![
            at.into(),
            hall.into(),
            kiosk.into(),
            kind.into(),
            detail.into(),
        ],
    });
}

fn status_summary(s: &DeviceStatus) -> String {
    let mut parts = vec![];
    let p = &s.printer;
    parts.push(format!(
        "printer {}{}{}{}",
        if p.online { "online" } else { "OFFLINE" },
        if p.paper_near_end {
            ", paper near end"
        } else {
            ""
        },
        if p.paper_out { ", PAPER OUT" } else { "" },
        if p.cover_open { ", COVER OPEN" } else { "" }
    ));
    for (name, h) in [("camera", &s.camera), ("ID reader", &s.id_reader)] {
        parts.push(match h {
            telemetry::Health::Ok => format!("{name} ok"),
            telemetry::Health::Absent => format!("{name} absent"),
            telemetry::Health::Fault { detail } => format!("{name} FAULT ({detail})"),
        });
    }
    parts.push(match (s.backoffice.reachable, s.backoffice.latency_ms) {
        (true, Some(ms)) => format!("back office {ms} ms"),
        (true, None) => "back office reachable".into(),
        (false, _) => "back office UNREACHABLE".into(),
    });
    parts.push(format!("outbox {}", s.outbox_depth));
    parts.join("; ")
}

/// Applies one message; returns the kiosk it concerned.
async fn handle(app: &Arc<App>, m: Msg) -> Option<String> {
    app.stats.messages.fetch_add(1, Ordering::Relaxed);
    let t = topics::parse(&m.topic)?;
    if t.kind == Kind::Command {
        return None;
    }
    if !app.settings.kiosk_keys.contains_key(t.kiosk) {
        app.stats.rejected.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    let (hall, kiosk) = (t.hall.to_string(), t.kiosk.to_string());
    let now = m.at;
    let body = &m.payload[..];
    let mut dirty = true;
    let mut visit: Option<(KioskEvent, i64)> = None;
    let mut command_result: Option<(String, bool, String)> = None;
    {
        let mut live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        let k = live
            .entry(kiosk.clone())
            .or_insert_with(|| KioskLive::new(&hall, &kiosk, now));
        k.hall = hall.clone();
        k.last_seen_ms = now;
        match t.kind {
            Kind::Online => {
                let Ok(o) = serde_json::from_slice::<Online>(body) else {
                    app.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                if o.online != k.online || k.went_offline_ms.is_some() == o.online {
                    let what = if o.online {
                        format!("online (software {})", o.software)
                    } else if o.at_ms == 0 {
                        "offline: connection lost (last will)".into()
                    } else {
                        "offline: shut down".into()
                    };
                    record(
                        app,
                        &hall,
                        &kiosk,
                        if o.online { "online" } else { "offline" },
                        what,
                        now,
                    );
                }
                k.online = o.online;
                k.went_offline_ms = if o.online { None } else { Some(now) };
                if !o.software.is_empty() {
                    k.software = o.software;
                }
            }
            Kind::Heartbeat => {
                // A heartbeat proves the link; it changes no tile unless the kiosk was
                // silent (the tick notices that).
                dirty = false;
                if !k.online && k.went_offline_ms.is_none() {
                    k.online = true;
                }
            }
            Kind::Status => {
                let Ok(s) = serde_json::from_slice::<DeviceStatus>(body) else {
                    app.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                if k.status.as_ref() != Some(&s) {
                    record(app, &hall, &kiosk, "status", status_summary(&s), now);
                } else {
                    dirty = false;
                }
                k.status = Some(s);
            }
            Kind::Session => {
                let Ok(s) = serde_json::from_slice::<SessionState>(body) else {
                    app.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                if k.session.as_ref().map(|o| (&o.screen, o.in_session))
                    != Some((&s.screen, s.in_session))
                {
                    k.session_changed_ms = now;
                }
                k.session = Some(s);
            }
            Kind::Config => {
                let Ok(c) = serde_json::from_slice::<ConfigState>(body) else {
                    app.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                if k.config.as_ref() != Some(&c) {
                    let text = match &c {
                        ConfigState::Applied {
                            version,
                            local_version,
                        } => format!(
                            "config {} applied (local {local_version})",
                            telemetry::bundle::short(version)
                        ),
                        ConfigState::Deferred { version } => format!(
                            "config {} verified, waiting for the session to end",
                            telemetry::bundle::short(version)
                        ),
                        ConfigState::Refused { version, reason } => format!(
                            "config {} REFUSED: {reason}",
                            telemetry::bundle::short(version)
                        ),
                    };
                    record(app, &hall, &kiosk, "config", text, now);
                }
                k.config = Some(c);
            }
            Kind::Event => {
                let Ok(e) = serde_json::from_slice::<EventMessage>(body) else {
                    app.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                dirty = false;
                let kind = e.event.type_name();
                let detail = match &e.event {
                    KioskEvent::Receipt { .. } => {
                        serde_json::to_string(&e.event).unwrap_or_default()
                    }
                    KioskEvent::SessionEnded {
                        business,
                        outcome,
                        duration_ms,
                        reason,
                        ..
                    } => format!(
                        "visit ended: {} {outcome} in {} s ({reason})",
                        business.as_deref().unwrap_or("-"),
                        duration_ms / 1000
                    ),
                    KioskEvent::Rated { business, stars } => {
                        format!("rated {stars}/5 ({})", business.as_deref().unwrap_or("-"))
                    }
                    KioskEvent::StaffCall { reason } => format!("staff called: {reason}"),
                    KioskEvent::Error { source, message } => format!("{source}: {message}"),
                    KioskEvent::CommandResult { id, ok, detail } => {
                        command_result = Some((id.clone(), *ok, detail.clone()));
                        format!(
                            "command {id} {}: {detail}",
                            if *ok { "done" } else { "FAILED" }
                        )
                    }
                };
                record(app, &hall, &kiosk, kind, detail, now);
                if matches!(e.event, KioskEvent::SessionEnded { .. }) {
                    visit = Some((e.event, now));
                }
            }
            Kind::Command => {}
        }
    }
    if let Some((
        KioskEvent::SessionEnded {
            business,
            zone,
            outcome,
            duration_ms,
            reason,
            practice,
        },
        at,
    )) = visit
        && !practice
    {
        // Practice visits (模拟办税) are training, not service: they stay out of the figures.
        let bundle = app.bundle();
        let b = business.as_deref().and_then(|c| bundle.business(c));
        let zone = zone.or_else(|| b.and_then(|b| b.zones.first().cloned()));
        let mode = b.map(|b| b.mode.code().to_string());
        let _ = app.writer.send(Stmt {
            sql: "INSERT INTO visits (at_ms, day, hall_id, kiosk_id, business, zone, mode, outcome, duration_ms, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params: vec![
                at.into(),
                app.clock().day(at).into(),
                hall.as_str().into(),
                kiosk.as_str().into(),
                business.into(),
                zone.into(),
                mode.into(),
                outcome.into(),
                (duration_ms as i64).into(),
                reason.into(),
            ],
        });
    }
    if let Some((id, ok, detail)) = command_result {
        let _ = app.writer.send(Stmt {
            sql: "UPDATE commands SET result_ok = ?, result_detail = ?, result_ms = ? WHERE id = ? AND kiosk_id = ?",
            params: vec![ok.into(), detail.into(), now.into(), id.into(), kiosk.as_str().into()],
        });
    }
    if dirty {
        app.dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kiosk.clone());
        app.persist_dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kiosk.clone());
    }
    Some(kiosk)
}

/// Raises and clears the alerts of one kiosk as the rules say now.
async fn judge(app: &Arc<App>, kiosk: &str, now: i64) {
    let (hall, raised, cleared) = {
        let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        let Some(k) = live.get(kiosk) else { return };
        let want = live::alerts_for(k, now, &app.settings.thresholds);
        let raised: BTreeMap<AlertKind, String> = want
            .iter()
            .filter(|(kind, _)| !k.alerts.contains_key(kind))
            .map(|(kind, d)| (*kind, d.clone()))
            .collect();
        let cleared: Vec<(AlertKind, i64)> = k
            .alerts
            .iter()
            .filter(|(kind, _)| !want.contains_key(kind))
            .map(|(kind, (id, _))| (*kind, *id))
            .collect();
        (k.hall.clone(), raised, cleared)
    };
    if raised.is_empty() && cleared.is_empty() {
        return;
    }
    for (kind, detail) in raised {
        let id = match app
            .db
            .query_one(
                "INSERT INTO alerts (hall_id, kiosk_id, kind, detail, raised_ms) VALUES (?, ?, ?, ?, ?) RETURNING id",
                vec![hall.as_str().into(), kiosk.into(), kind.code().into(), detail.as_str().into(), now.into()],
            )
            .await
        {
            Ok(Some(r)) => r[0].int(),
            Ok(None) => 0,
            Err(e) => {
                tracing::error!("cannot store an alert: {e}");
                0
            }
        };
        record(
            app,
            &hall,
            kiosk,
            "alert",
            format!("ALERT {}: {detail}", kind.label().1),
            now,
        );
        let mut live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = live.get_mut(kiosk) {
            k.alerts.insert(kind, (id, detail));
        }
    }
    for (kind, id) in cleared {
        if let Err(e) = app
            .db
            .exec(
                "UPDATE alerts SET cleared_ms = ? WHERE id = ?",
                vec![now.into(), id.into()],
            )
            .await
        {
            tracing::error!("cannot clear an alert: {e}");
        }
        record(
            app,
            &hall,
            kiosk,
            "alert",
            format!("cleared: {}", kind.label().1),
            now,
        );
        let mut live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = live.get_mut(kiosk) {
            k.alerts.remove(&kind);
        }
    }
    app.alerts_changed.store(true, Ordering::Relaxed);
    app.dirty
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(kiosk.to_string());
}

async fn push_task(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ids: Vec<String> = {
            let mut d = app.dirty.lock().unwrap_or_else(|e| e.into_inner());
            d.drain().collect()
        };
        let alerts = app.alerts_changed.swap(false, Ordering::Relaxed);
        if ids.is_empty() && !alerts {
            continue;
        }
        if app.updates.receiver_count() == 0 {
            continue;
        }
        let now = now_ms();
        let msg = crate::pages::update_message(&app, &ids, alerts, now);
        let _ = app.updates.send(msg.into());
    }
}

async fn writer_task(app: Arc<App>, mut rx: mpsc::UnboundedReceiver<Stmt>) {
    let mut batch = Vec::with_capacity(512);
    loop {
        let Some(first) = rx.recv().await else { return };
        batch.push(first);
        while batch.len() < 2000 {
            match rx.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        if let Err(e) = app.db.batch(std::mem::take(&mut batch)).await {
            tracing::error!("cannot store {n} history rows: {e}");
        } else {
            app.stats.db_rows.fetch_add(n, Ordering::Relaxed);
        }
    }
}

async fn snapshot_task(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        flush_snapshots(&app);
    }
}

/// Queues the saved state of every kiosk that changed.
pub fn flush_snapshots(app: &App) {
    let ids: Vec<String> = app
        .persist_dirty
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain()
        .collect();
    let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
    for id in ids {
        let Some(k) = live.get(&id) else { continue };
        let j = |v: Option<String>| Val::from(v);
        let _ = app.writer.send(Stmt {
            sql: "INSERT INTO kiosks (kiosk_id, hall_id, first_seen_ms, last_seen_ms, online, software, status_json, session_json, config_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk_id) DO UPDATE SET hall_id = excluded.hall_id, last_seen_ms = excluded.last_seen_ms, online = excluded.online, software = excluded.software, status_json = excluded.status_json, session_json = excluded.session_json, config_json = excluded.config_json",
            params: vec![
                id.as_str().into(),
                k.hall.as_str().into(),
                k.last_seen_ms.into(),
                k.last_seen_ms.into(),
                k.online.into(),
                k.software.as_str().into(),
                j(k.status.as_ref().and_then(|s| serde_json::to_string(s).ok())),
                j(k.session.as_ref().and_then(|s| serde_json::to_string(s).ok())),
                j(k.config.as_ref().and_then(|s| serde_json::to_string(s).ok())),
            ],
        });
    }
}
