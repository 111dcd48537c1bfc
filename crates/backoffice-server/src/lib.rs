//! `tax-backoffice`: a faithful reference of the tax bureau's back office, so the kiosk runs
//! end to end and is tested against something real: identity, taxpayer records,
//! applications (self-service at once, back-office ones by parallel workers), payments
//! with a ledger, documents with a public verification page, and fault switches.
//!
//! It owns its SQLite database and nothing else. It must never link slint or opencv, and
//! never answer bad input with a 500.

pub mod db;
mod routes;
mod serve;
mod workers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use backoffice_api::Faults;
use kiosk_core::config::Bundle;

pub use routes::ApiDoc;
pub use serve::serve;

/// How the server is set up; `main` fills it from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: String,
    pub database: PathBuf,
    pub bundle: PathBuf,
    /// Kiosk id to HMAC key.
    pub kiosk_keys: HashMap<String, Vec<u8>>,
    /// Guards `/admin` (fault switches, the simulated SMS inbox).
    pub admin_token: String,
    /// Shared secret of the simulated bank that confirms QR payments.
    pub bank_key: String,
    pub workers: usize,
    /// Time a back-office application spends in each state before it moves on.
    pub bo_step_ms: u64,
    /// Minimum face score (thousandths) the back office accepts from a kiosk.
    pub min_face_score_milli: u32,
}

pub struct State {
    pub settings: Settings,
    pub bundle: Arc<Bundle>,
    pub db: Mutex<rusqlite::Connection>,
    pub faults: RwLock<Faults>,
    pub requests: AtomicU64,
}

pub type Shared = Arc<State>;

/// Reads the kiosk keys file: a TOML table of kiosk id to hex key.
pub fn read_keys(text: &str) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    #[derive(serde::Deserialize)]
    struct Keys {
        kiosks: HashMap<String, String>,
    }
    let k: Keys = toml::from_str(text)?;
    k.kiosks
        .into_iter()
        .map(|(id, hex_key)| {
            let key = hex::decode(hex_key.trim())
                .map_err(|e| anyhow::anyhow!("the key of kiosk {id} is not hex: {e}"))?;
            anyhow::ensure!(
                key.len() >= 16,
                "the key of kiosk {id} is shorter than 16 bytes"
            );
            Ok((id, key))
        })
        .collect()
}

/// Loads the bundle and the kiosk keys, opens and seeds the database: everything `serve`
/// needs. Errors name the file and what is wrong with it.
pub fn prepare(settings: Settings) -> anyhow::Result<Shared> {
    use anyhow::Context;
    let files = bundle_dir::read(&settings.bundle)?;
    let loaded = kiosk_core::config::load(&files).map_err(|d| {
        let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        anyhow::anyhow!(
            "the configuration in {} is not valid:\n{}",
            settings.bundle.display(),
            lines.join("\n")
        )
    })?;
    if let Some(dir) = settings.database.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    let mut conn = db::open(&settings.database.to_string_lossy())
        .with_context(|| format!("cannot open the database {}", settings.database.display()))?;
    db::seed(&mut conn)?;
    Ok(Arc::new(State {
        settings,
        bundle: Arc::new(loaded.bundle),
        db: Mutex::new(conn),
        faults: RwLock::new(Faults::default()),
        requests: AtomicU64::new(0),
    }))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
