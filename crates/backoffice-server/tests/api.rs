//! The reference back office over real HTTP: authentication and provenance, identity,
//! records, applications with idempotency and recomputation, back-office processing,
//! payments and the ledger, document verification, and bad input.

mod support;

use std::time::Duration;

use backoffice::ClientError;
use backoffice_api as api;
use support::*;

fn refused(e: ClientError) -> api::ApiError {
    match e {
        ClientError::Refused(a) | ClientError::Auth(a) => a,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn unsigned_or_incomplete_requests_are_refused_clearly() {
    let s = Server::start("auth");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/identity/sms", s.base()))
        .json(&serde_json::json!({"id_number": id(WANG.0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: api::ApiError = r.json().await.unwrap();
    assert_eq!(e.code, "missing_provenance");
    assert!(
        e.message_en.contains("x-kiosk-signature"),
        "{}",
        e.message_en
    );

    // A kiosk with the wrong key.
    let mut cfg =
        backoffice::ClientConfig::new(&s.base(), KIOSK, b"not-the-right-key-at-all".to_vec());
    cfg.attempts = 1;
    let bad = backoffice::Client::new(cfg).unwrap();
    let e = refused(
        bad.send_sms(&prov("S1", "none"), &id(WANG.0))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, "bad_signature");

    // An unknown kiosk.
    let cfg = backoffice::ClientConfig::new(&s.base(), "KSK-9999-9999", key());
    let e = refused(
        backoffice::Client::new(cfg)
            .unwrap()
            .send_sms(&prov("S1", "none"), &id(WANG.0))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, "unknown_kiosk");
}

#[tokio::test]
async fn identity_by_face_and_by_sms() {
    let s = Server::start("identity");
    let c = s.client();
    let t = token(&c, WANG).await;
    let rec = c.records(&prov("S1", "face"), &t).await.unwrap();
    assert_eq!(rec.profile.name_masked, "王*明");
    assert!(rec.profile.id_masked.starts_with("530102********"));
    assert!(!rec.businesses.is_empty());

    // Wrong name, low face score, unknown person: each refused with its reason.
    let mut req = api::VerifyRequest {
        id_number: id(WANG.0),
        name: "王大明".into(),
        method: api::VerificationMethod::Face,
        face_score_milli: Some(700),
        sms_code: None,
    };
    assert_eq!(
        refused(c.verify(&prov("S2", "face"), &req).await.unwrap_err()).code,
        "identity_mismatch"
    );
    req.name = WANG.1.into();
    req.face_score_milli = Some(200);
    assert_eq!(
        refused(c.verify(&prov("S2", "face"), &req).await.unwrap_err()).code,
        "face_not_matched"
    );
    let stranger = api::VerifyRequest {
        id_number: id("53010219990101001"),
        name: "路人".into(),
        method: api::VerificationMethod::Face,
        face_score_milli: Some(900),
        sms_code: None,
    };
    assert_eq!(
        refused(c.verify(&prov("S2", "face"), &stranger).await.unwrap_err()).code,
        "no_taxpayer"
    );

    // SMS: the code reaches the simulated phone; a wrong one is refused, the right one works.
    let sent = c.send_sms(&prov("S3", "none"), &id(ZHANG.0)).await.unwrap();
    assert_eq!(sent.phone_masked, "139****5678");
    let code = s.sms(&id(ZHANG.0)).await;
    let mut req = api::VerifyRequest {
        id_number: id(ZHANG.0),
        name: ZHANG.1.into(),
        method: api::VerificationMethod::Sms,
        face_score_milli: None,
        sms_code: Some("000000".into()),
    };
    if code == "000000" {
        req.sms_code = Some("111111".into());
    }
    assert_eq!(
        refused(c.verify(&prov("S3", "sms"), &req).await.unwrap_err()).code,
        "sms_code_wrong"
    );
    req.sms_code = Some(code);
    assert!(c.verify(&prov("S3", "sms"), &req).await.is_ok());
}

#[tokio::test]
async fn self_service_return_completes_at_once_and_is_idempotent() {
    let s = Server::start("ss");
    let c = s.client();
    let t = token(&c, ZHANG).await;
    let p = prov("S1", "face");
    let req = c02("2026Q3", "100000.00");
    let a = c.submit(&p, &t, "idem-ss-000001", &req).await.unwrap();
    assert_eq!(a.status, api::ApplicationStatus::Done);
    // 3% of 100,000.00, plus 7% city tax on it halved: 3,000.00 + 105.00.
    assert_eq!(a.due_fen, 300_000 + 10_500);
    let doc = a.document.clone().unwrap();
    // Same key, same body: the same application.
    let again = c.submit(&p, &t, "idem-ss-000001", &req).await.unwrap();
    assert_eq!(again, a);
    // Same key, different body: refused.
    let other = c02("2026Q3", "100001.00");
    assert_eq!(
        refused(
            c.submit(&p, &t, "idem-ss-000001", &other)
                .await
                .unwrap_err()
        )
        .code,
        "idempotency_key_reused"
    );
    // The same period again under a new key: already filed.
    let e = refused(c.submit(&p, &t, "idem-ss-000002", &req).await.unwrap_err());
    assert_eq!(e.code, "already_filed");
    assert!(e.message_zh.contains("更正申报"));
    // The receipt's QR page confirms the document, and refuses a wrong code.
    let url = format!(
        "{}/documents/{}/verify?code={}",
        s.base(),
        doc.number,
        doc.verify_code
    );
    let check: api::DocumentCheck = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert!(check.valid);
    assert_eq!(check.taxpayer_masked.as_deref(), Some("张*丰"));
    let bad: api::DocumentCheck = reqwest::get(format!(
        "{}/documents/{}/verify?code=WRONG",
        s.base(),
        doc.number
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(!bad.valid);
}

#[tokio::test]
async fn computed_values_are_recomputed_and_bad_fields_named() {
    let s = Server::start("recompute");
    let c = s.client();
    let t = token(&c, ZHANG).await;
    let p = prov("S1", "face");
    let mut req = c02("2026Q2", "100000.00");
    *req.computed.get_mut("tax_3").unwrap() += 1;
    let e = refused(c.submit(&p, &t, "idem-bad-000001", &req).await.unwrap_err());
    assert_eq!(e.code, "computed_mismatch");
    assert!(
        e.fields
            .iter()
            .any(|f| f.field == "tax_3" && f.message_en.contains("kiosk 3,000.01")),
        "{e:?}"
    );

    let mut req = c02("2026Q2", "100000.00");
    req.values.insert("sales_3".into(), "12.345".into());
    req.values.insert("period".into(), "2026-13".into());
    let e = refused(c.submit(&p, &t, "idem-bad-000002", &req).await.unwrap_err());
    assert_eq!(e.code, "invalid_form");
    let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
    assert!(
        fields.contains(&"sales_3") && fields.contains(&"period"),
        "{e:?}"
    );
    assert!(e.fields.iter().any(|f| f.message_zh.contains("两位小数")));

    let mut req = c02("2026Q2", "100000.00");
    req.business = "Z99".into();
    assert_eq!(
        refused(c.submit(&p, &t, "idem-bad-000003", &req).await.unwrap_err()).code,
        "unknown_business"
    );
    assert_eq!(s.stats().await["applications"], 0, "nothing was stored");
}

#[tokio::test]
async fn back_office_applications_move_through_their_states() {
    let s = Server::start("bo");
    let c = s.client();
    let t = token(&c, WANG).await;
    let p = prov("S1", "face");
    let req = api::ApplicationRequest {
        business: "K07".into(),
        values: [
            (
                "reason".to_string(),
                "年度纳税信用评价结果有误，申请复评".to_string(),
            ),
            ("phone".to_string(), "13800138000".to_string()),
        ]
        .into_iter()
        .collect(),
        computed: Default::default(),
    };
    let a = c.submit(&p, &t, "idem-bo-0000001", &req).await.unwrap();
    assert_eq!(a.status, api::ApplicationStatus::Accepted);
    let mut seen = vec![a.status];
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = c.application(&p, &a.tracking).await.unwrap().status;
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        if now == api::ApplicationStatus::Approved {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            api::ApplicationStatus::Accepted,
            api::ApplicationStatus::Processing,
            api::ApplicationStatus::Approved
        ]
    );
}

#[tokio::test]
async fn payments_debit_decline_qr_and_the_ledger_balances() {
    let s = Server::start("pay");
    let c = s.client();
    let p = prov("S1", "face");
    // Zhang has funds: the return's tax is debited once, even when asked twice.
    let t = token(&c, ZHANG).await;
    let a = c
        .submit(&p, &t, "idem-pay-app-01", &c02("2026Q1", "100000.00"))
        .await
        .unwrap();
    let req = api::PaymentRequest {
        target: a.tracking.clone(),
        amount_fen: a.due_fen,
        method: api::PaymentMethod::TripartiteDebit,
        pos_auth: None,
    };
    let paid = c.pay(&p, &t, "idem-pay-0000001", &req).await.unwrap();
    assert_eq!(paid.status, api::PaymentStatus::Paid);
    assert_eq!(c.pay(&p, &t, "idem-pay-0000001", &req).await.unwrap(), paid);
    // Paying it again under a new key: nothing is due any more.
    assert_eq!(
        refused(c.pay(&p, &t, "idem-pay-0000002", &req).await.unwrap_err()).code,
        "amount_exceeds_due"
    );

    // Biden has 3.00 in his account: a debit of a larger liability is declined, with why.
    let tb = token(&c, BIDEN).await;
    let ab = c
        .submit(&p, &tb, "idem-pay-app-02", &c02("2026Q1", "50000.00"))
        .await
        .unwrap();
    let req = api::PaymentRequest {
        target: ab.tracking.clone(),
        amount_fen: ab.due_fen,
        method: api::PaymentMethod::TripartiteDebit,
        pos_auth: None,
    };
    let declined = c.pay(&p, &tb, "idem-pay-0000003", &req).await.unwrap();
    assert_eq!(declined.status, api::PaymentStatus::Declined);
    assert_eq!(declined.reason_zh.as_deref(), Some("账户余额不足"));
    // Then by QR: pending until the bank confirms through its own endpoint.
    let req = api::PaymentRequest {
        method: api::PaymentMethod::Qr,
        ..req
    };
    let qr = c.pay(&p, &tb, "idem-pay-0000004", &req).await.unwrap();
    assert_eq!(qr.status, api::PaymentStatus::Pending);
    assert!(qr.qr_payload.as_deref().unwrap().contains(&qr.id));
    let http = reqwest::Client::new();
    let url = format!("http://{}/bank/qr/{}/confirm", s.addr, qr.id);
    assert_eq!(
        http.post(&url).send().await.unwrap().status(),
        401,
        "only the bank may confirm"
    );
    for _ in 0..2 {
        let r = http
            .post(&url)
            .header("x-bank-key", BANK)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        c.payment(&p, &qr.id).await.unwrap().status,
        api::PaymentStatus::Paid
    );

    // Bank card needs the POS authorisation.
    let tw = token(&c, WANG).await;
    let bad_card = api::PaymentRequest {
        target: "L-2026-0004".into(),
        amount_fen: 86_000,
        method: api::PaymentMethod::BankCard,
        pos_auth: None,
    };
    assert_eq!(
        refused(
            c.pay(&p, &tw, "idem-pay-0000005", &bad_card)
                .await
                .unwrap_err()
        )
        .code,
        "bad_pos_auth"
    );
    let card = api::PaymentRequest {
        pos_auth: Some("A1B2C3".into()),
        ..bad_card
    };
    assert_eq!(
        c.pay(&p, &tw, "idem-pay-0000006", &card)
            .await
            .unwrap()
            .status,
        api::PaymentStatus::Paid
    );
    // Someone else's liability is not found for this taxpayer.
    let other = api::PaymentRequest {
        target: "L-2026-0003".into(),
        amount_fen: 100,
        method: api::PaymentMethod::BankCard,
        pos_auth: Some("A1B2C3".into()),
    };
    assert_eq!(
        refused(
            c.pay(&p, &tw, "idem-pay-0000007", &other)
                .await
                .unwrap_err()
        )
        .code,
        "no_target"
    );

    // The ledger holds each paid payment exactly once, and the sums agree.
    let st = s.stats().await;
    assert_eq!(st["payments_paid"], 3);
    assert_eq!(st["ledger_entries"], 3);
    assert_eq!(st["ledger_total_fen"], st["paid_total_fen"]);
    assert_eq!(
        st["ledger_total_fen"].as_i64().unwrap(),
        a.due_fen + ab.due_fen + 86_000
    );
}

#[tokio::test]
async fn openapi_document_matches_the_committed_one() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tax-backoffice"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = root().join("docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(generated.contains("\"openapi\": \"3.1"), "not OpenAPI 3.1");
    assert_eq!(
        generated.trim(),
        committed.trim(),
        "docs/openapi.json is out of date: run `cargo run -p backoffice-server -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn only_repeatable_calls_are_retried_and_the_breaker_opens() {
    let s = Server::start("retry");
    let c = s.client();
    let t = token(&c, ZHANG).await;
    s.faults(&api::Faults {
        error_rate: 1.0,
        ..Default::default()
    })
    .await;
    let p = prov("S1", "face");
    let count = || async { s.stats().await["requests"].as_u64().unwrap() };

    // A verify has no idempotency key: one attempt only.
    let before = count().await;
    let req = api::VerifyRequest {
        id_number: id(WANG.0),
        name: WANG.1.into(),
        method: api::VerificationMethod::Face,
        face_score_milli: Some(700),
        sms_code: None,
    };
    assert!(matches!(
        c.verify(&p, &req).await,
        Err(ClientError::Unavailable)
    ));
    assert_eq!(
        count().await - before,
        1 + 1,
        "one attempt (plus the stats call)"
    );

    // A submission carries its key: retried up to the configured attempts.
    let before = count().await;
    assert!(matches!(
        c.submit(&p, &t, "idem-retry-0001", &c02("2026Q4", "1000.00"))
            .await,
        Err(ClientError::Unavailable)
    ));
    assert_eq!(
        count().await - before,
        3 + 1,
        "three attempts (plus the stats call)"
    );

    // Five failures in a row open the breaker: the next call fails at once, unsent.
    let _ = c.records(&p, &t).await; // three more failures: six in all
    let before = count().await;
    let started = std::time::Instant::now();
    assert!(matches!(
        c.records(&p, &t).await,
        Err(ClientError::Unavailable)
    ));
    assert!(started.elapsed() < Duration::from_millis(50));
    assert_eq!(
        count().await - before,
        1,
        "nothing was sent while the breaker is open (only the stats call)"
    );
    assert!(
        ClientError::Unavailable
            .message(kiosk_core::Lang::Zh)
            .contains("已保存")
    );
}
