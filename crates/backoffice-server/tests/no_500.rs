//! Bad input never gets a 500: random and mangled bodies, signed properly so they reach
//! the parsers, against every state-changing endpoint. Each answer is a 4xx with an error
//! body in both languages, or a success.

mod support;

use backoffice_api as api;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use support::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        "\\PC{0,20}".prop_map(serde_json::Value::String),
        prop_oneof![
            Just("C02"),
            Just("K09"),
            Just("A08"),
            Just("2026Q3"),
            Just("face"),
            Just("qr"),
            Just("-1"),
            Just("9999999999999999")
        ]
        .prop_map(|s| serde_json::Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("business".to_string()),
                    Just("values".to_string()),
                    Just("computed".to_string()),
                    Just("target".to_string()),
                    Just("amount_fen".to_string()),
                    Just("method".to_string()),
                    Just("id_number".to_string()),
                    Just("name".to_string()),
                    Just("sms_code".to_string()),
                    Just("face_score_milli".to_string()),
                    Just("period".to_string()),
                    Just("sales_3".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>(), 0..64),
        // A valid request with one field replaced by something random.
        (
            json_value(),
            prop_oneof![Just("business"), Just("values"), Just("computed")]
        )
            .prop_map(|(v, k)| {
                let mut r = serde_json::to_value(c02("2026Q4", "1000.00")).unwrap();
                r[k] = v;
                serde_json::to_vec(&r).unwrap()
            }),
    ]
}

#[test]
fn random_bodies_never_get_a_500() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = Server::start("no500");
    let c = s.client();
    let t = rt.block_on(token(&c, ZHANG));
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let n = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(
        &(0usize..4, body(), any::<bool>()),
        |(endpoint, bytes, with_token)| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = [
                "/applications",
                "/payments",
                "/identity/verify",
                "/identity/sms",
            ][endpoint];
            let key = format!("fuzz-key-{n:08}");
            let tok = with_token.then_some(t.as_str());
            let (status, answer) = rt
                .block_on(c.raw(
                    Method::POST,
                    path,
                    &bytes,
                    &prov("S-fuzz", "face"),
                    Some(&key),
                    tok,
                ))
                .unwrap();
            prop_assert!(
                status < 500,
                "{path} answered {status} to {:?}: {}",
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&answer)
            );
            if status >= 400 {
                let e: api::ApiError = serde_json::from_slice(&answer).map_err(|e| {
                    TestCaseError::fail(format!("error body is not an ApiError: {e}"))
                })?;
                prop_assert!(!e.message_zh.is_empty() && !e.message_en.is_empty());
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
