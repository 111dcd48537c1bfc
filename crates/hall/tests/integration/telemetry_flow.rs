//! Kiosks (the kiosk's own telemetry code) against the console with its embedded broker:
//! presence and last will, device alerts with acknowledgement, the dashboard's push
//! latency, remote commands, visits into today's figures, and broker authentication.

use std::time::{Duration, Instant};

use hall::live::AlertKind;
use telemetry::{Action, DeviceStatus, Incoming, KioskEvent, LinkSettings, PrinterStatus};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_alerts_commands_and_figures() {
    let rig = Rig::start("flow", RigOptions::default()).await;
    let id = kiosk_id(1);
    let (link, mut rx) = rig.kiosk(1);
    wait_connected(&mut rx).await;
    link.status(&DeviceStatus::default()).await.unwrap();
    eventually(
        "kiosk online on the console",
        Duration::from_secs(5),
        || async { rig.connected(&id) },
    )
    .await;

    // A staff dashboard subscribed to the push stream sees a paper-low alert within a
    // second of the kiosk saying so.
    let staff = Staff::login(&rig.url(""), STAFF_USER, STAFF_PASS).await;
    let mut sse = staff
        .http
        .get(rig.url("/events"))
        .header("cookie", format!("__Host-hall={}", staff.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let _first = sse.chunk().await.unwrap();
    let sent = Instant::now();
    link.status(&DeviceStatus {
        printer: PrinterStatus {
            paper_near_end: true,
            ..PrinterStatus::default()
        },
        ..DeviceStatus::default()
    })
    .await
    .unwrap();
    let mut seen = String::new();
    let want = format!("\"id\":\"{id}\",\"tone\":\"warn\"");
    while !seen.contains(&want) {
        let chunk = tokio::time::timeout(Duration::from_secs(2), sse.chunk())
            .await
            .expect("a dashboard push within 2 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let latency = sent.elapsed();
    assert!(
        latency < Duration::from_secs(1),
        "dashboard update took {latency:?}"
    );
    assert!(rig.has_alert(&id, AlertKind::PaperLow));

    // The alert shows on the dashboard, and acknowledging it is recorded.
    let html = staff.get_text("/").await;
    assert!(
        html.contains("data-kind=\"paper_low\""),
        "no paper alert on the page"
    );
    let alert_id = html
        .split("data-alert=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = staff
        .post(&format!("/alerts/{alert_id}/ack"), &[("back", "/")])
        .await;
    assert_eq!(r.status(), 303);
    let it = Staff::login(&rig.url(""), IT_USER, IT_PASS).await;
    let audit = it.get_text("/audit").await;
    assert!(
        audit.contains("alert_ack") && audit.contains(STAFF_USER),
        "ack not audited"
    );
    let row = rig
        .running
        .app
        .db
        .query_one(
            "SELECT acked_by FROM alerts WHERE id = ?",
            vec![alert_id.parse::<i64>().unwrap().into()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row[0].text(), STAFF_USER);

    // Remote commands reach the kiosk and its answer is shown.
    let r = staff.post(&format!("/kiosks/{id}/attract"), &[]).await;
    assert_eq!(r.status(), 303);
    let cmd = loop {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(Incoming::Command(c))) => break c,
            Ok(Some(_)) => continue,
            _ => panic!("no command reached the kiosk"),
        }
    };
    assert_eq!(cmd.action, Action::ReturnToAttract);
    assert_eq!(cmd.by, STAFF_USER);
    link.command_result(&cmd.id, true, "attract screen shown")
        .await
        .unwrap();
    link.event(KioskEvent::Receipt {
        journal_id: 42,
        template: "receipt-generic".into(),
        reference: Some("TRK-1".into()),
        state: "printed".into(),
    })
    .await
    .unwrap();
    eventually("command result stored", Duration::from_secs(5), || async {
        staff
            .get_text(&format!("/kiosks/{id}"))
            .await
            .contains("attract screen shown")
    })
    .await;
    let r = staff
        .post(&format!("/kiosks/{id}/reprint"), &[("journal_id", "42")])
        .await;
    assert_eq!(r.status(), 303);
    let cmd = loop {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(Incoming::Command(c))) => break c,
            Ok(Some(_)) => continue,
            _ => panic!("no reprint reached the kiosk"),
        }
    };
    assert_eq!(
        cmd.action,
        Action::Reprint {
            journal_id: 42,
            confirmed_by_staff: false
        }
    );

    // Visits feed today's figures; practice visits do not.
    for (b, outcome, practice) in [
        ("A01001", "done", false),
        ("A01001", "done", false),
        ("A01001", "abandoned", false),
        ("A01001", "done", true),
    ] {
        link.event(KioskEvent::SessionEnded {
            business: Some(b.into()),
            zone: None,
            outcome: outcome.into(),
            duration_ms: 120_000,
            reason: "finished".into(),
            practice,
        })
        .await
        .unwrap();
    }
    eventually(
        "figures count the visits",
        Duration::from_secs(5),
        || async {
            let html = staff.get_text("/figures").await;
            html.contains("<b id=\"f-visits\">3</b>")
                && html.contains("<b id=\"f-abandoned\">1</b>")
        },
    )
    .await;
    let html = staff.get_text("/figures").await;
    assert!(html.contains("<svg"), "no chart");
    assert!(
        html.contains("id=\"f-share\">100%<"),
        "two done of two with an outcome is 100% without a counter"
    );

    // Power cut: the broker publishes the last will, the tile goes offline at once, and
    // the offline alert follows after its threshold.
    link.kill();
    eventually(
        "kiosk offline by last will",
        Duration::from_secs(20),
        || async { !rig.connected(&id) },
    )
    .await;
    eventually("offline alert", Duration::from_secs(10), || async {
        rig.has_alert(&id, AlertKind::Offline)
    })
    .await;
    let history = staff.get_text(&format!("/kiosks/{id}")).await;
    assert!(
        history.contains("offline"),
        "the history lacks the offline event"
    );

    // Back again: online, and the offline alert clears (and stays listed until acked).
    let (link2, mut rx2) = rig.kiosk(1);
    wait_connected(&mut rx2).await;
    eventually("back online", Duration::from_secs(5), || async {
        rig.connected(&id)
    })
    .await;
    eventually("offline alert cleared", Duration::from_secs(5), || async {
        !rig.has_alert(&id, AlertKind::Offline)
    })
    .await;
    let html = staff.get_text("/").await;
    assert!(
        html.contains("data-kind=\"offline\""),
        "a cleared, unacknowledged alert stays listed"
    );
    link2.shutdown().await;
    eventually(
        "clean shutdown shows offline",
        Duration::from_secs(5),
        || async { !rig.connected(&id) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_refuses_wrong_credentials_and_foreign_kiosks() {
    let rig = Rig::start("auth", RigOptions::default()).await;
    // A kiosk with the wrong key never gets a session.
    let mut s = LinkSettings::new(
        HALL,
        &kiosk_id(2),
        rig.broker.clone(),
        b"wrong-key-0123456789",
        "x",
    );
    s.heartbeat = Duration::from_millis(200);
    let (_bad, mut rx) = telemetry::KioskLink::start(s);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(Incoming::Connected)) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            panic!("a kiosk with a wrong password was let in");
        }
    }
    assert!(
        rig.live(&kiosk_id(2), |_| ()).is_none(),
        "the console took its messages"
    );

    // A kiosk id the console has no key for cannot connect either.
    let mut s = LinkSettings::new(
        HALL,
        "KSK-ROGUE",
        rig.broker.clone(),
        b"any-key-0123456789",
        "x",
    );
    s.heartbeat = Duration::from_millis(200);
    let (_rogue, mut rx) = telemetry::KioskLink::start(s);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(Some(Incoming::Connected)) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            panic!("an unknown kiosk was let in");
        }
    }

    // The right key works.
    let (_ok, mut rx) = rig.kiosk(3);
    wait_connected(&mut rx).await;
}
