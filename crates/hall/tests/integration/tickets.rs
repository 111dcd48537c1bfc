//! The kiosks' signed ticket endpoint, the call order, counter calls and the call board.

use telemetry::hall_api::{Provenance, TICKET_PATH, TicketRequest, TicketResponse, signed_headers};

use crate::common::*;

async fn request(
    rig: &Rig,
    kiosk: &str,
    key: &[u8],
    idem: &str,
    body: &TicketRequest,
    ts_skew_ms: i64,
) -> reqwest::Response {
    let body = serde_json::to_vec(body).unwrap();
    let p = Provenance {
        kiosk,
        software: "test-1.0",
        config: "abc",
        session: "S-1",
        verification: "card",
        timestamp_ms: telemetry::now_ms() + ts_skew_ms,
        idempotency_key: idem,
    };
    let mut r = client().post(rig.url(TICKET_PATH)).body(body.clone());
    for (k, v) in signed_headers(key, "POST", TICKET_PATH, &p, &body) {
        r = r.header(k, v);
    }
    r.header("content-type", "application/json")
        .send()
        .await
        .unwrap()
}

fn req(category: &str) -> TicketRequest {
    TicketRequest {
        business: None,
        category: category.into(),
        appointment: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_tickets_priority_and_calls() {
    let rig = Rig::start("tickets", RigOptions::default()).await;
    let k1 = kiosk_id(1);
    let key = rig.keys[&k1].clone();

    let a1: TicketResponse = request(&rig, &k1, &key, "idem-1", &req("individual"), 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (a1.number.as_str(), a1.ahead, a1.wait_minutes),
        ("A001", 0, 0)
    );
    // The same idempotency key answers with the same ticket.
    let again: TicketResponse = request(&rig, &k1, &key, "idem-1", &req("individual"), 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.number, "A001");
    let b1: TicketResponse = request(&rig, &k1, &key, "idem-2", &req("business"), 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((b1.number.as_str(), b1.ahead), ("B001", 1));
    // Default 6 minutes a service, one counter.
    assert_eq!(b1.wait_minutes, 6);
    // The green channel goes before everyone.
    let v1: TicketResponse = request(&rig, &k1, &key, "idem-3", &req("priority"), 0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((v1.number.as_str(), v1.ahead), ("V001", 0));
    assert!(v1.window.contains("绿色通道"));

    // Bad requests change nothing.
    let r = request(
        &rig,
        &k1,
        b"not-the-key-0123456789",
        "idem-4",
        &req("individual"),
        0,
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("bad_signature"));
    let r = request(&rig, "KSK-NOBODY", &key, "idem-5", &req("individual"), 0).await;
    assert_eq!(r.status(), 401);
    let r = request(&rig, &k1, &key, "idem-6", &req("individual"), -10 * 60_000).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("stale_request"));
    let r = request(&rig, &k1, &key, "idem-7", &req("vip"), 0).await;
    assert_eq!(r.status(), 422);
    let r = client()
        .post(rig.url(TICKET_PATH))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let n = rig
        .running
        .app
        .db
        .query_one("SELECT COUNT(*) FROM tickets", vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n[0].int(), 3);

    // Counter 3 calls: green channel first, then in order of drawing.
    let staff = Staff::login(&rig.url(""), STAFF_USER, STAFF_PASS).await;
    for expect in ["V001", "A001", "B001"] {
        let r = staff
            .post("/queue/call", &[("hall", HALL), ("counter", "3")])
            .await;
        assert_eq!(r.status(), 303);
        let page = staff.get_text("/queue?counter=3").await;
        assert!(
            page.contains(&format!("id=\"serving\">{expect}<")),
            "expected {expect} at counter 3"
        );
        let board = client()
            .get(rig.url("/board/state"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            board.contains(&format!("\"number\":\"{expect}\"")),
            "{board}"
        );
    }
    let r = staff
        .post("/queue/call", &[("hall", HALL), ("counter", "3")])
        .await;
    assert!(
        r.headers()["location"].to_str().unwrap().contains("msg="),
        "nobody waiting"
    );
    // The public board shows the latest call without logging in.
    let board = client().get(rig.url("/board")).send().await.unwrap();
    assert_eq!(board.status(), 200);
    assert!(board.text().await.unwrap().contains("B001"));
    // Served tickets give today's service times, which the next estimate uses.
    let served = rig
        .running
        .app
        .db
        .query_one("SELECT COUNT(*) FROM tickets WHERE state = 'done'", vec![])
        .await
        .unwrap()
        .unwrap();
    // Each call closed the ticket the counter served, the last call too.
    assert_eq!(
        served[0].int(),
        3,
        "calling the next ticket closes the previous one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointments_land_in_staffed_hours() {
    let rig = Rig::start("appointments", RigOptions::default()).await;
    let k1 = kiosk_id(1);
    let key = rig.keys[&k1].clone();
    let mut r = req("individual");
    r.appointment = true;
    let t: TicketResponse = request(&rig, &k1, &key, "ap-1", &r, 0)
        .await
        .json()
        .await
        .unwrap();
    assert!(t.number.starts_with('Y'), "{t:?}");
    let slot = t.appointment.expect("an appointment slot");
    // Staffed hours of the shipped bundle: weekdays 09:00-17:00, Saturday 09:00-12:00.
    let time = slot.split(' ').nth(1).unwrap();
    assert!(("09:00".."17:00").contains(&time), "{slot}");
}
