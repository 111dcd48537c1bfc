//! Shared test rig: a console in-process on loopback ports, kiosks that use the kiosk's
//! own telemetry code, and a browser-less staff client that logs in the way a browser
//! does (login page cookie, session cookie, CSRF token from the page).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hall::live::Thresholds;
use hall::{BrokerMode, Running, Settings};
use telemetry::{BrokerAddr, Incoming, KioskLink, LinkSettings};
use tokio::sync::mpsc::UnboundedReceiver;

pub const IT_USER: &str = "it-admin";
pub const IT_PASS: &str = "it-password-123";
pub const STAFF_USER: &str = "staff-wang";
pub const STAFF_PASS: &str = "staff-password-123";
pub const HALL: &str = "HALL-5301";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tmpdir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = workspace().join("target").join("hall-tests").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn kiosk_keys(n: usize) -> HashMap<String, Vec<u8>> {
    (1..=n)
        .map(|i| {
            let id = kiosk_id(i);
            (
                id.clone(),
                format!("test-key-of-{id}-0123456789").into_bytes(),
            )
        })
        .collect()
}

pub fn kiosk_id(i: usize) -> String {
    format!("KSK-T-{i:04}")
}

pub struct Rig {
    pub running: Running,
    pub dir: PathBuf,
    pub keys: HashMap<String, Vec<u8>>,
    pub signing: ed25519_dalek::SigningKey,
    pub broker: BrokerAddr,
}

pub struct RigOptions {
    pub kiosks: usize,
    pub database: Option<String>,
    pub external_broker: Option<BrokerAddr>,
    pub thresholds: Thresholds,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            kiosks: 4,
            database: None,
            external_broker: None,
            thresholds: Thresholds {
                heartbeat_timeout_ms: 3_000,
                offline_alert_ms: 1_500,
                stuck_session_ms: 60_000,
                outbox_backlog: 10,
            },
        }
    }
}

pub fn loopback0() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

impl Rig {
    pub async fn start(name: &str, o: RigOptions) -> Rig {
        let dir = tmpdir(name);
        let keys = kiosk_keys(o.kiosks);
        let signing = telemetry::bundle::generate_key();
        let database = o
            .database
            .unwrap_or_else(|| dir.join("hall.db").display().to_string());
        let broker = match &o.external_broker {
            Some(b) => BrokerMode::External(b.clone()),
            None => BrokerMode::Embedded {
                listen: loopback0(),
            },
        };
        let settings = Settings {
            listen: loopback0(),
            broker,
            database: database.clone(),
            kiosk_keys: keys.clone(),
            reference_bundle: workspace().join("kiosk-config"),
            config_public_key: Some(signing.verifying_key()),
            halls: vec![],
            thresholds: o.thresholds,
            secure_cookies: true,
            default_service_minutes: 6,
            appointment_capacity: 2,
        };
        let db = hall::db::Db::open(&database).await.unwrap();
        for (name, role, pass) in [
            (IT_USER, hall::auth::Role::It, IT_PASS),
            (STAFF_USER, hall::auth::Role::Staff, STAFF_PASS),
        ] {
            match hall::auth::add_user(&db, name, role, pass).await {
                Ok(_) | Err(hall::auth::AuthError::Exists(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        let running = hall::start(settings).await.unwrap();
        let broker = BrokerAddr {
            host: running.mqtt.0.clone(),
            port: running.mqtt.1,
            username: None,
            password: None,
        };
        Rig {
            running,
            dir,
            keys,
            signing,
            broker,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.http)
    }

    pub fn kiosk(&self, i: usize) -> (KioskLink, UnboundedReceiver<Incoming>) {
        let id = kiosk_id(i);
        let mut s = LinkSettings::new(HALL, &id, self.broker.clone(), &self.keys[&id], "test-1.0");
        s.heartbeat = Duration::from_millis(500);
        s.keep_alive = Duration::from_secs(5);
        KioskLink::start(s)
    }

    pub fn live<T>(&self, id: &str, f: impl FnOnce(&hall::live::KioskLive) -> T) -> Option<T> {
        let live = self.running.app.live.lock().unwrap();
        live.get(id).map(f)
    }

    pub fn connected(&self, id: &str) -> bool {
        let now = telemetry::now_ms();
        self.live(id, |k| {
            k.connected(now, &self.running.app.settings.thresholds)
        })
        .unwrap_or(false)
    }

    pub fn has_alert(&self, id: &str, kind: hall::live::AlertKind) -> bool {
        self.live(id, |k| k.alerts.contains_key(&kind))
            .unwrap_or(false)
    }
}

/// Waits for a connection news item; panics after the timeout.
pub async fn wait_connected(rx: &mut UnboundedReceiver<Incoming>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(Incoming::Connected)) => return,
            Ok(Some(_)) => {}
            _ => panic!("the kiosk did not connect within 10 s"),
        }
    }
}

/// Polls until `f` is true.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A staff member's browser, without the browser.
pub struct Staff {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn set_cookie_value(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let first = v.split(';').next()?;
            let (k, val) = first.split_once('=')?;
            (k == name).then(|| val.to_string())
        })
}

pub fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let i = html.find(&needle)? + needle.len();
    Some(html[i..].split('"').next()?.to_string())
}

pub async fn login_attempt(base: &str, user: &str, pass: &str) -> reqwest::Response {
    let http = client();
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = set_cookie_value(&page, "__Host-hall-login").expect("login cookie");
    let html = page.text().await.unwrap();
    let token = hidden(&html, "login_csrf").expect("login csrf field");
    http.post(format!("{base}/login"))
        .header("cookie", format!("__Host-hall-login={login_cookie}"))
        .form(&[
            ("name", user),
            ("password", pass),
            ("login_csrf", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
}

impl Staff {
    pub async fn login(base: &str, user: &str, pass: &str) -> Staff {
        let res = login_attempt(base, user, pass).await;
        assert_eq!(res.status(), 303, "login of {user} failed");
        let cookie = set_cookie_value(&res, "__Host-hall").expect("session cookie");
        let mut s = Staff {
            http: client(),
            base: base.to_string(),
            cookie,
            csrf: String::new(),
        };
        let html = s.get_text("/queue").await;
        s.csrf = hidden(&html, "_csrf").expect("csrf token on the page");
        s
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("__Host-hall={}", self.cookie))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
    }

    pub async fn get_text(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = vec![("_csrf", &self.csrf)];
        f.extend_from_slice(form);
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("__Host-hall={}", self.cookie))
            .form(&f)
            .send()
            .await
            .unwrap()
    }

    pub async fn upload(&self, tar: Vec<u8>, publish: bool) -> reqwest::Response {
        let q = if publish { "?publish=1" } else { "" };
        self.http
            .post(format!("{}/api/config/bundles{q}", self.base))
            .header("cookie", format!("__Host-hall={}", self.cookie))
            .header("x-csrf-token", &self.csrf)
            .header("content-type", "application/gzip")
            .body(tar)
            .send()
            .await
            .unwrap()
    }
}

/// A tar.gz of a bundle folder, as IT would make it.
pub fn targz(files: &kiosk_core::config::BundleFiles) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in &files.files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("./{p}"), &data[..]).unwrap();
    }
    let raw = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &raw).unwrap();
    e.finish().unwrap()
}

/// The shipped bundle, optionally changed, signed with `key`.
pub fn signed_bundle(
    key: &ed25519_dalek::SigningKey,
    change: impl FnOnce(&mut kiosk_core::config::BundleFiles),
) -> kiosk_core::config::BundleFiles {
    let mut files = telemetry::bundle::read_dir(&workspace().join("kiosk-config")).unwrap();
    files.files.remove(telemetry::bundle::SIGNATURE_FILE);
    change(&mut files);
    let sig = telemetry::bundle::sign(&files, key);
    files.insert(
        telemetry::bundle::SIGNATURE_FILE,
        sig.to_text().into_bytes(),
    );
    files
}

/// Finds a free loopback port (for servers that bind by themselves).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
