//! A submission is never lost and never applied twice, shown against the real server
//! process: (1) the kiosk is killed with SIGKILL after the back office committed and
//! before the reply, then restarted; (2) the connection drops after the commit; (3) the
//! back office is down for a minute while submissions continue; (4) 50 kiosks at once.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backoffice::{Answer, Client, ClientConfig, Item, Outbox, taxpayer_key};
use backoffice_api as api;
use support::*;

fn probe(s: &Server, outbox: &std::path::Path, count: usize, tag: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_kiosk-outbox-probe"))
        .args([
            "--base",
            &s.base(),
            "--count",
            &count.to_string(),
            "--tag",
            tag,
        ])
        .arg("--outbox")
        .arg(outbox)
        .arg("--keys")
        .arg(root().join("backoffice/dev-keys.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Applications the server holds whose subject carries this tag, read from its database.
fn count_tagged(s: &Server, tag: &str) -> Vec<(String, String)> {
    let conn = rusqlite_open(&s.db);
    let mut st = conn.prepare("SELECT tracking, values_json FROM applications WHERE values_json LIKE ?1 ORDER BY tracking").unwrap();
    st.query_map([format!("%探针{tag}-%")], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn rusqlite_open(p: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

#[tokio::test]
async fn kiosk_killed_after_commit_before_reply_resends_and_is_applied_once() {
    let s = Server::start("kill");
    let dir = temp("kill-outbox");
    let outbox = dir.join("outbox.db");
    s.faults(&api::Faults {
        reply_delay_ms: 3_000,
        ..Default::default()
    })
    .await;
    let mut child = probe(&s, &outbox, 1, "kill");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "enqueued 0");
    // Wait until the server has committed (the row is there), then kill the kiosk while
    // the reply is still held back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_tagged(&s, "kill").is_empty() {
        assert!(Instant::now() < deadline, "the server never committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the probe was meant to die");
    s.faults(&api::Faults::default()).await;

    // Restart: it finds the item in its outbox and resends it under the same key.
    let out = probe(&s, &outbox, 0, "kill").wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("drain delivered=1 failed=0 pending=0"),
        "{text}"
    );
    assert_eq!(count_tagged(&s, "kill").len(), 1, "applied exactly once");
    let ob = Outbox::open(&outbox).unwrap();
    let Some(backoffice::outbox::State::Done(answer)) = ob.state("kill-0000").unwrap() else {
        panic!("not acknowledged")
    };
    let Answer::Application(a) = *answer else {
        panic!("not an application")
    };
    assert_eq!(
        a.tracking,
        count_tagged(&s, "kill")[0].0,
        "the resend got the application that was committed"
    );
}

#[tokio::test]
async fn connection_dropped_after_commit_then_the_retry_returns_the_same_application() {
    let s = Server::start("drop");
    let c = s.client();
    let t = token(&c, ZHANG).await;
    let p = prov("S1", "face");
    let ob = Outbox::open(&temp("drop-outbox").join("o.db")).unwrap();
    let req = c02("2026Q1", "80000.00");
    ob.enqueue(
        "drop-key-0001",
        &taxpayer_key(&id(ZHANG.0)),
        &p,
        &t,
        &Item::Submit(req),
    )
    .unwrap();
    s.faults(&api::Faults {
        drop_after_commit: true,
        ..Default::default()
    })
    .await;
    let before = s.stats().await["requests"].as_u64().unwrap();
    // The first attempt commits and loses its reply; the client retries under the same
    // key, and the retry returns the application that was committed.
    let Some(Answer::Application(a)) = ob.deliver(&c, "drop-key-0001").await.unwrap() else {
        panic!("not delivered")
    };
    let after = s.stats().await["requests"].as_u64().unwrap();
    assert_eq!(
        after - before,
        3,
        "one dropped attempt, one retry (plus the stats call)"
    );
    assert_eq!(s.stats().await["applications"], 1, "committed once");
    assert_eq!(a.status, api::ApplicationStatus::Done);
    s.faults(&api::Faults::default()).await;
    // Asking again gives the same application, not a second one.
    let b = c
        .submit(&p, &t, "drop-key-0001", &c02("2026Q1", "80000.00"))
        .await
        .unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn back_office_down_for_a_minute_then_everything_arrives_once_in_order() {
    let outage = std::env::var("TAX_TEST_OUTAGE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60u64);
    let s = Server::start("outage");
    let mut cfg = ClientConfig::new(&s.base(), KIOSK, key());
    cfg.timeout = Duration::from_secs(3);
    cfg.attempts = 1;
    cfg.breaker_cooldown = Duration::from_secs(2);
    let c = Arc::new(Client::new(cfg).unwrap());
    let tw = token(&c, WANG).await;
    let tz = token(&c, ZHANG).await;
    let ob = Arc::new(Outbox::open(&temp("outage-outbox").join("o.db")).unwrap());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(ob.clone().run(c.clone(), stop_rx));
    s.faults(&api::Faults {
        down: true,
        ..Default::default()
    })
    .await;

    // Submissions continue through the outage, alternating between two taxpayers.
    let start = Instant::now();
    let mut keys: Vec<(String, &str)> = Vec::new();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(outage) {
        let (who, tok) = if i % 2 == 0 {
            (WANG, &tw)
        } else {
            (ZHANG, &tz)
        };
        let values = [
            ("category".to_string(), "quality".to_string()),
            ("subject".to_string(), format!("探针outage-{i:04}")),
            (
                "description".to_string(),
                "停机期间继续受理的投诉，用于验证恢复后按序送达".to_string(),
            ),
            ("phone".to_string(), "13800138000".to_string()),
        ];
        let item = Item::Submit(api::ApplicationRequest {
            business: "K09".into(),
            values: values.into_iter().collect(),
            computed: Default::default(),
        });
        let key = format!("outage-{i:04}");
        ob.enqueue(
            &key,
            &taxpayer_key(&id(who.0)),
            &prov("S-out", "face"),
            tok,
            &item,
        )
        .unwrap();
        keys.push((key, who.0));
        i += 1;
        tokio::time::sleep(Duration::from_millis(outage * 1000 / 30)).await;
    }
    assert!(
        ob.pending().unwrap() >= keys.len() - 1,
        "nothing can have been delivered while down"
    );
    assert_eq!(s.stats().await["applications"], 0);
    s.faults(&api::Faults::default()).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    while ob.pending().unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain after recovery"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_tx.send(true).unwrap();
    runner.await.unwrap();
    let held = count_tagged(&s, "outage");
    assert_eq!(
        held.len(),
        keys.len(),
        "every submission arrived exactly once"
    );
    // In order per taxpayer: tracking numbers grow with arrival; each taxpayer's items
    // arrived in the order they were made.
    for who in [WANG.0, ZHANG.0] {
        let mut trackings = Vec::new();
        for (key, w) in keys.iter().filter(|(_, w)| *w == who) {
            let Some(backoffice::outbox::State::Done(answer)) = ob.state(key).unwrap() else {
                panic!("{key} not done")
            };
            let Answer::Application(a) = *answer else {
                panic!("{key} is not an application")
            };
            let _ = w;
            trackings.push(a.tracking);
        }
        let mut sorted = trackings.clone();
        sorted.sort();
        assert_eq!(trackings, sorted, "delivered out of order for one taxpayer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_kiosks_submit_at_the_same_time() {
    // 50 kiosks, each with its own key, outbox and taxpayer session.
    let dir = temp("fifty");
    let mut keys_toml = String::from("[kiosks]\n");
    for k in 0..50 {
        keys_toml.push_str(&format!("\"KSK-LOAD-{k:04}\" = \"{}\"\n", hex_key(k)));
    }
    let keys_path = dir.join("keys.toml");
    std::fs::write(&keys_path, keys_toml).unwrap();
    let s = Server::start_with_keys(&dir.join("bo.db"), &keys_path);
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for k in 0..50 {
        let base = s.base();
        let barrier = barrier.clone();
        let dir = dir.clone();
        tasks.push(tokio::spawn(async move {
            let c = Client::new(ClientConfig::new(
                &base,
                &format!("KSK-LOAD-{k:04}"),
                hex::decode(hex_key(k)).unwrap(),
            ))
            .unwrap();
            let who = if k % 2 == 0 { WANG } else { ZHANG };
            let t = token(&c, who).await;
            let ob = Outbox::open(&dir.join(format!("outbox-{k}.db"))).unwrap();
            let values = [
                ("category".to_string(), "quality".to_string()),
                ("subject".to_string(), format!("探针fifty-{k:04}")),
                (
                    "description".to_string(),
                    "五十台终端同时提交的压力测试投诉".to_string(),
                ),
                ("phone".to_string(), "13800138000".to_string()),
            ];
            let item = Item::Submit(api::ApplicationRequest {
                business: "K09".into(),
                values: values.into_iter().collect(),
                computed: Default::default(),
            });
            // The same idempotency key on every kiosk: scoped per kiosk, so 50 applications.
            ob.enqueue(
                "same-key-everywhere",
                &taxpayer_key(&id(who.0)),
                &prov(&format!("S{k}"), "face"),
                &t,
                &item,
            )
            .unwrap();
            barrier.wait().await;
            ob.deliver(&c, "same-key-everywhere")
                .await
                .unwrap()
                .expect("delivered")
        }));
    }
    let mut trackings = std::collections::HashSet::new();
    for t in tasks {
        let Answer::Application(a) = t.await.unwrap() else {
            panic!()
        };
        trackings.insert(a.tracking);
    }
    assert_eq!(trackings.len(), 50);
    assert_eq!(count_tagged(&s, "fifty").len(), 50);
}

fn hex_key(k: usize) -> String {
    hex::encode(format!("load-kiosk-key-{k:04}-padding"))
}
