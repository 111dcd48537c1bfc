//! The dashboard in a real browser: Debian's chromium driven by playwright-core
//! (`e2e/dashboard.mjs`). A member of staff logs in, watches a kiosk go offline and come
//! back, acknowledges the alert, calls a ticket and sees it on the call board; the
//! script saves screenshots under `target/hall-e2e/`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use telemetry::hall_api::{Provenance, TICKET_PATH, TicketRequest, signed_headers};
use telemetry::{DeviceStatus, KioskEvent, PrinterStatus, SessionState};

use crate::common::*;

async fn ticket(rig: &Rig, kiosk: &str, idem: &str, category: &str) {
    let body = serde_json::to_vec(&TicketRequest {
        business: None,
        category: category.into(),
        appointment: false,
    })
    .unwrap();
    let p = Provenance {
        kiosk,
        software: "t",
        config: "c",
        session: "s",
        verification: "none",
        timestamp_ms: telemetry::now_ms(),
        idempotency_key: idem,
    };
    let mut r = client().post(rig.url(TICKET_PATH)).body(body.clone());
    for (k, v) in signed_headers(&rig.keys[kiosk], "POST", TICKET_PATH, &p, &body) {
        r = r.header(k, v);
    }
    assert_eq!(r.send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dashboard_in_chromium() {
    let e2e = workspace().join("crates/hall/e2e");
    assert!(
        e2e.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run scripts/setup (scripts/setup-hall runs npm ci in crates/hall/e2e)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium is missing: run scripts/setup"
    );
    let rig = Rig::start(
        "browser",
        RigOptions {
            kiosks: 8,
            ..RigOptions::default()
        },
    )
    .await;
    // A small hall: idle, in session, paper low, one that never came today.
    let mut links = Vec::new();
    for i in 1..=6 {
        let (link, mut rx) = rig.kiosk(i);
        wait_connected(&mut rx).await;
        let mut status = DeviceStatus::default();
        if i == 3 {
            status.printer = PrinterStatus {
                paper_near_end: true,
                ..PrinterStatus::default()
            };
        }
        if i == 5 {
            status.outbox_depth = 3;
        }
        link.status(&status).await.unwrap();
        if i == 2 || i == 4 {
            link.session(&SessionState {
                in_session: true,
                screen: "form".into(),
                zone: Some("Z03".into()),
                business: Some("A01".into()),
                practice: false,
                since_ms: telemetry::now_ms(),
            })
            .await
            .unwrap();
        }
        links.push(Some(link));
    }
    // Today's visits, for the figures page.
    let visits = [
        ("A01", "Z03", "done", 150),
        ("A01", "Z03", "done", 210),
        ("A02", "Z03", "done", 95),
        ("B01", "Z04", "submitted", 320),
        ("B02", "Z04", "done", 180),
        ("C01", "Z05", "ticket", 60),
        ("C01", "Z05", "done", 400),
        ("A02", "Z03", "abandoned", 40),
    ];
    let l0 = links[0].as_ref().unwrap();
    for (b, z, outcome, secs) in visits {
        l0.event(KioskEvent::SessionEnded {
            business: Some(b.into()),
            zone: Some(z.into()),
            outcome: outcome.into(),
            duration_ms: secs * 1000,
            reason: "finished".into(),
            practice: false,
        })
        .await
        .unwrap();
    }
    ticket(&rig, &kiosk_id(2), "b-1", "individual").await;
    ticket(&rig, &kiosk_id(2), "b-2", "priority").await;
    ticket(&rig, &kiosk_id(3), "b-3", "business").await;
    let target = kiosk_id(1);
    eventually("kiosks online", Duration::from_secs(10), || async {
        rig.connected(&target)
    })
    .await;

    let shots = workspace().join("target/hall-e2e");
    let mut node = Command::new("node")
        .arg(e2e.join("dashboard.mjs"))
        .current_dir(&e2e)
        .env("HALL_URL", rig.url(""))
        .env("HALL_USER", STAFF_USER)
        .env("HALL_PASS", STAFF_PASS)
        .env("SHOTS", &shots)
        .env("KIOSK", &target)
        .env("TICKET", "V001")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs (Debian's nodejs)");
    let mut stdin = node.stdin.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = node.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("e2e: {line}");
            let _ = tx.send(line);
        }
    });
    let mut expect = async |want: &str| loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(l)) if l == format!("STEP {want}") => return,
            Ok(Some(_)) => continue,
            _ => panic!("the browser script did not reach {want}"),
        }
    };
    expect("ready").await;
    // Power cut at kiosk 1.
    links[0].take().unwrap().kill();
    writeln!(stdin, "GO").unwrap();
    expect("offline-seen").await;
    let (back, mut brx) = rig.kiosk(1);
    wait_connected(&mut brx).await;
    back.status(&DeviceStatus::default()).await.unwrap();
    writeln!(stdin, "GO").unwrap();
    expect("acked").await;
    let acked = rig
        .running
        .app
        .db
        .query_one(
            "SELECT acked_by FROM alerts WHERE kiosk_id = ? AND kind = 'offline' AND acked_ms IS NOT NULL",
            vec![target.as_str().into()],
        )
        .await
        .unwrap();
    assert_eq!(
        acked.map(|r| r[0].text()).as_deref(),
        Some(STAFF_USER),
        "the acknowledgement is recorded"
    );
    writeln!(stdin, "GO").unwrap();
    expect("done").await;
    let status = tokio::task::spawn_blocking(move || node.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "the browser script failed");
    for f in [
        "dashboard-offline.png",
        "dashboard.png",
        "queue.png",
        "board.png",
        "figures.png",
        "kiosk.png",
    ] {
        let p = shots.join(f);
        assert!(
            std::fs::metadata(&p)
                .map(|m| m.len() > 10_000)
                .unwrap_or(false),
            "no screenshot {}",
            p.display()
        );
    }
    let called = rig
        .running
        .app
        .db
        .query_one(
            "SELECT COUNT(*) FROM tickets WHERE called_by = ?",
            vec![STAFF_USER.into()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called[0].int(), 2, "two tickets called from the browser");
}
