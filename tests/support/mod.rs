//! Shared by the kiosk's end-to-end tests: the shipped bundle, and the reference back
//! office started in this process on a loopback port with a fresh database.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use kiosk_core::config::{Bundle, load};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn bundle() -> Bundle {
    let files = bundle_dir::read(&root().join("kiosk-config")).unwrap();
    load(&files).unwrap().bundle
}

pub fn shared_bundle() -> Arc<Bundle> {
    Arc::new(bundle())
}

/// The kiosk's link (signed client + a fresh durable outbox) to the back office at `base`,
/// checked reachable.
pub fn link(base: &str, kiosk_id: &str) -> tax_kiosk::link::Link {
    let outbox = std::env::temp_dir().join(format!(
        "tax-kiosk-test-outbox-{}-{}.db",
        std::process::id(),
        nanos()
    ));
    let l = tax_kiosk::link::Link::open(
        base,
        kiosk_id,
        &root().join("backoffice/dev-keys.toml"),
        &outbox,
        10,
    )
    .unwrap();
    assert!(l.reachable(), "the back office at {base} is not reachable");
    l
}

/// Starts `tax-backoffice`'s server in a thread; answers its `/v1` base URL.
pub fn start_backoffice() -> String {
    use backoffice_server::{Settings, prepare, read_keys, serve};
    let db = std::env::temp_dir().join(format!(
        "tax-kiosk-e2e-{}-{}.db",
        std::process::id(),
        nanos()
    ));
    let keys =
        read_keys(&std::fs::read_to_string(root().join("backoffice/dev-keys.toml")).unwrap())
            .unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database: db,
        bundle: root().join("kiosk-config"),
        kiosk_keys: keys,
        admin_token: "e2e".into(),
        bank_key: "dev-bank-key".into(),
        workers: 2,
        bo_step_ms: 200,
        min_face_score_milli: 363,
    };
    let state = prepare(settings).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            serve(state, tokio::net::TcpListener::from_std(listener).unwrap())
                .await
                .unwrap()
        });
    });
    format!("http://{addr}/v1")
}

pub fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
