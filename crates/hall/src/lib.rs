//! `tax-hall`: the hall console.
//!
//! It owns the hall side of the kiosks: it ingests their MQTT telemetry (from its
//! embedded rumqttd broker, or from an external broker), keeps the live picture and the
//! alerts, stores history in SQLite or PostgreSQL, serves the staff dashboard, the
//! public call board and the kiosks' signed ticket endpoint, and distributes signed
//! configuration bundles.
//!
//! It must never link slint or opencv, never hold personal data (telemetry carries
//! none, tickets carry a business code and a category, nothing else), never publish a
//! bundle that failed the signature check or `kiosk_core::config::load`, and never
//! answer a request with a 500 for bad input. Nothing but the call board, its event
//! stream, the kiosks' ticket endpoint and `/healthz` is readable without logging in.
//!
//! Map: [`live`] (pure kiosk state and alert rules), [`ingest`] (MQTT in, alerts,
//! dashboard updates), [`broker`] (the embedded broker), [`db`] (SQLite/PostgreSQL),
//! [`auth`] (accounts, sessions, throttling, audit), [`tickets`] (queue), [`configs`]
//! (bundle upload, check, publish, rollback), [`figures`] (today's numbers and charts),
//! [`web`] and `pages` (HTTP).

pub mod auth;
pub mod broker;
pub mod configs;
pub mod db;
pub mod figures;
pub mod ingest;
pub mod live;
mod pages;
pub mod tickets;
pub mod time;
pub mod web;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use ed25519_dalek::VerifyingKey;
use kiosk_core::config::Bundle;
use telemetry::BrokerAddr;
use tokio::sync::{broadcast, mpsc};

use crate::db::{Db, Stmt};
use crate::live::{KioskLive, Thresholds};
use crate::time::Clock;

#[derive(Debug, thiserror::Error)]
pub enum HallError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the reference bundle {path} does not load: {detail}")]
    Reference { path: String, detail: String },
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Telemetry(#[from] telemetry::Error),
}

/// Where the console gets its MQTT.
#[derive(Clone, Debug)]
pub enum BrokerMode {
    /// rumqttd inside the console, listening here.
    Embedded { listen: SocketAddr },
    /// An existing broker (Mosquitto, EMQX, NATS); credentials in the address.
    External(BrokerAddr),
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// HTTP listen address.
    pub listen: SocketAddr,
    pub broker: BrokerMode,
    /// A SQLite file path, or `postgres://…`.
    pub database: String,
    /// Kiosk id to HMAC key (the back office's keys file format).
    pub kiosk_keys: HashMap<String, Vec<u8>>,
    /// The bundle folder the console reads names, zones, schedule and the reference
    /// `kiosk.toml` from until IT publishes a bundle.
    pub reference_bundle: PathBuf,
    /// The configuration signing public key; uploads are refused without it.
    pub config_public_key: Option<VerifyingKey>,
    /// Halls that get the published bundle. Empty: the reference `kiosk.toml`'s hall.
    pub halls: Vec<String>,
    pub thresholds: Thresholds,
    /// Cookies with `Secure` and the `__Host-` prefix. Off only for plain-HTTP trials
    /// away from localhost, where browsers would drop a Secure cookie.
    pub secure_cookies: bool,
    pub default_service_minutes: u32,
    pub appointment_capacity: u32,
}

/// What the console reads business names, zones and the schedule from.
pub struct Reference {
    pub bundle: Arc<Bundle>,
    pub kiosk_toml: Vec<u8>,
    /// The hall version of the published bundle in force (None: the reference folder).
    pub published: Option<String>,
}

#[derive(Default)]
pub struct Stats {
    pub messages: AtomicU64,
    pub rejected: AtomicU64,
    pub db_rows: AtomicU64,
}

pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub clock: RwLock<Clock>,
    pub reference: RwLock<Reference>,
    pub halls: Vec<String>,
    pub live: Mutex<HashMap<String, KioskLive>>,
    /// Kiosks whose tile changed since the last dashboard push.
    pub dirty: Mutex<HashSet<String>>,
    /// Kiosks whose saved snapshot is out of date.
    pub persist_dirty: Mutex<HashSet<String>>,
    pub alerts_changed: AtomicBool,
    /// Dashboard pushes (JSON).
    pub updates: broadcast::Sender<Arc<str>>,
    /// Call board pushes (JSON).
    pub board: broadcast::Sender<Arc<str>>,
    pub writer: mpsc::UnboundedSender<Stmt>,
    pub mqtt: rumqttc::AsyncClient,
    pub throttle: Mutex<auth::Throttle>,
    pub stats: Stats,
    pub started_ms: i64,
}

impl App {
    pub fn clock(&self) -> Clock {
        *self.clock.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn bundle(&self) -> Arc<Bundle> {
        self.reference
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .bundle
            .clone()
    }

    pub fn queue(&self) -> tickets::Queue<'_> {
        tickets::Queue {
            db: &self.db,
            clock: self.clock(),
            default_service_ms: self.settings.default_service_minutes as i64 * 60_000,
            appointment_capacity: self.settings.appointment_capacity,
        }
    }

    /// The hall a page shows when it does not say: the first configured one.
    pub fn default_hall(&self) -> String {
        self.halls.first().cloned().unwrap_or_default()
    }
}

/// A running console.
pub struct Running {
    pub app: Arc<App>,
    pub http: SocketAddr,
    /// The MQTT address kiosks connect to (the embedded broker's, or the external one).
    pub mqtt: (String, u16),
    pub server: tokio::task::JoinHandle<()>,
}

/// Reads a kiosk keys file (`[kiosks] "ID" = "hex key"`, as `backoffice/dev-keys.toml`).
pub fn read_keys(text: &str) -> Result<HashMap<String, Vec<u8>>, String> {
    #[derive(serde::Deserialize)]
    struct Keys {
        kiosks: HashMap<String, String>,
    }
    let k: Keys = toml::from_str(text).map_err(|e| e.to_string())?;
    k.kiosks
        .into_iter()
        .map(|(id, hex_key)| {
            if !telemetry::topics::valid_id(&id) {
                return Err(format!(
                    "the kiosk id {id:?} cannot be used in MQTT topics (letters, digits, '-', '_', '.')"
                ));
            }
            let key = hex::decode(hex_key.trim())
                .map_err(|e| format!("the key of kiosk {id} is not hex: {e}"))?;
            if key.len() < 16 {
                return Err(format!("the key of kiosk {id} is shorter than 16 bytes"));
            }
            Ok((id, key))
        })
        .collect()
}

/// Starts everything: database, broker, MQTT ingest, alert loop, web server.
pub async fn start(settings: Settings) -> Result<Running, HallError> {
    let db = Db::open(&settings.database).await?;
    let files = telemetry::bundle::read_dir(&settings.reference_bundle)?;
    let kiosk_toml = files
        .files
        .get(telemetry::bundle::LOCAL_FILE)
        .cloned()
        .ok_or_else(|| HallError::Reference {
            path: settings.reference_bundle.display().to_string(),
            detail: "it has no kiosk.toml".into(),
        })?;
    let loaded = kiosk_core::config::load(&files).map_err(|d| HallError::Reference {
        path: settings.reference_bundle.display().to_string(),
        detail: d
            .iter()
            .take(3)
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let bundle = Arc::new(loaded.bundle);
    let halls = if settings.halls.is_empty() {
        vec![bundle.kiosk.hall_id.clone()]
    } else {
        settings.halls.clone()
    };
    let clock = Clock {
        offset_minutes: bundle.kiosk.schedule.utc_offset_minutes,
    };

    let (mqtt_host, mqtt_port, hall_creds) = match &settings.broker {
        BrokerMode::Embedded { listen } => {
            let password = auth::random_hex(16);
            let addr = broker::start_embedded(*listen, &settings.kiosk_keys, &password)?;
            (
                addr.ip().to_string(),
                addr.port(),
                Some((broker::CONSOLE_USER.to_string(), password)),
            )
        }
        BrokerMode::External(b) => (
            b.host.clone(),
            b.port,
            b.username
                .clone()
                .map(|u| (u, b.password.clone().unwrap_or_default())),
        ),
    };

    let (writer_tx, writer_rx) = mpsc::unbounded_channel();
    let (mqtt, eventloop) = ingest::client(&mqtt_host, mqtt_port, hall_creds);
    let (updates, _) = broadcast::channel(256);
    let (board, _) = broadcast::channel(64);
    let app = Arc::new(App {
        db: db.clone(),
        clock: RwLock::new(clock),
        reference: RwLock::new(Reference {
            bundle,
            kiosk_toml,
            published: None,
        }),
        halls,
        live: Mutex::new(HashMap::new()),
        dirty: Mutex::new(HashSet::new()),
        persist_dirty: Mutex::new(HashSet::new()),
        alerts_changed: AtomicBool::new(false),
        updates,
        board,
        writer: writer_tx,
        mqtt,
        throttle: Mutex::new(auth::Throttle::default()),
        stats: Stats::default(),
        started_ms: time::now_ms(),
        settings,
    });
    ingest::restore(&app).await?;
    configs::restore(&app).await?;
    ingest::spawn(app.clone(), eventloop, writer_rx);

    let listener = tokio::net::TcpListener::bind(app.settings.listen)
        .await
        .map_err(|e| HallError::Io {
            path: app.settings.listen.to_string(),
            source: e,
        })?;
    let http = listener.local_addr().map_err(|e| HallError::Io {
        path: app.settings.listen.to_string(),
        source: e,
    })?;
    let router = web::router(app.clone());
    let server = tokio::spawn(async move {
        let svc = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, svc).await {
            tracing::error!("web server stopped: {e}");
        }
    });
    tracing::info!(
        "tax-hall: dashboard on http://{http}, MQTT at {mqtt_host}:{mqtt_port}, {} storage",
        app.db.kind()
    );
    Ok(Running {
        app,
        http,
        mqtt: (mqtt_host, mqtt_port),
        server,
    })
}
