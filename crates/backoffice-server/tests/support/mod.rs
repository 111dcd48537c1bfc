//! Starting the real `tax-backoffice` process on a loopback port, with its own database,
//! and a signed client for it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use backoffice::{Client, ClientConfig, Prov};
use backoffice_api as api;

pub const KIOSK: &str = "KSK-TEST-0001";
pub const ADMIN: &str = "test-admin-token";
pub const BANK: &str = "test-bank-key";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn key() -> Vec<u8> {
    let text = std::fs::read_to_string(root().join("backoffice/dev-keys.toml")).unwrap();
    backoffice_server::read_keys(&text).unwrap()[KIOSK].clone()
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub db: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tax-bo-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

impl Server {
    pub fn start(name: &str) -> Server {
        Server::start_at(&temp(name).join("bo.db"), "127.0.0.1:0", 200)
    }

    pub fn start_with_keys(db: &Path, keys: &Path) -> Server {
        Server::spawn(db, "127.0.0.1:0", 200, keys)
    }

    pub fn start_at(db: &Path, listen: &str, bo_step_ms: u64) -> Server {
        Server::spawn(
            db,
            listen,
            bo_step_ms,
            &root().join("backoffice/dev-keys.toml"),
        )
    }

    fn spawn(db: &Path, listen: &str, bo_step_ms: u64, keys: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tax-backoffice"))
            .args([
                "serve",
                "--listen",
                listen,
                "--bo-step-ms",
                &bo_step_ms.to_string(),
                "--workers",
                "4",
            ])
            .arg("--database")
            .arg(db)
            .arg("--config")
            .arg(root().join("kiosk-config"))
            .arg("--keys")
            .arg(keys)
            .args(["--admin-token", ADMIN, "--bank-key", BANK])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tax-backoffice starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            db: db.to_path_buf(),
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn client(&self) -> Client {
        let mut cfg = ClientConfig::new(&self.base(), KIOSK, key());
        cfg.timeout = Duration::from_secs(5);
        cfg.backoff_base = Duration::from_millis(50);
        Client::new(cfg).unwrap()
    }

    pub async fn faults(&self, f: &api::Faults) {
        let r = reqwest::Client::new()
            .put(format!("http://{}/admin/faults", self.addr))
            .header("x-admin-token", ADMIN)
            .json(f)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }

    pub async fn stats(&self) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("http://{}/admin/stats", self.addr))
            .header("x-admin-token", ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sms(&self, id_number: &str) -> String {
        let v: serde_json::Value = reqwest::Client::new()
            .get(format!("http://{}/admin/sms/{id_number}", self.addr))
            .header("x-admin-token", ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["code"].as_str().unwrap().to_string()
    }
}

pub fn prov(session: &str, method: &str) -> Prov {
    Prov {
        config_version: "test".into(),
        session_id: session.into(),
        verification: method.into(),
    }
}

/// A seeded taxpayer's ID number, with its check digit computed here.
pub fn id(body: &str) -> String {
    format!(
        "{body}{}",
        kiosk_core::ids::id_check_char(body.as_bytes()) as char
    )
}

pub const WANG: (&str, &str) = ("53010219900307153", "王小明");
pub const ZHANG: (&str, &str) = ("53010219800101123", "张三丰");
pub const BIDEN: (&str, &str) = ("11010119421120002", "拜登");

pub async fn token(c: &Client, who: (&str, &str)) -> String {
    let req = api::VerifyRequest {
        id_number: id(who.0),
        name: who.1.into(),
        method: api::VerificationMethod::Face,
        face_score_milli: Some(700),
        sms_code: None,
    };
    c.verify(&prov("S-login", "face"), &req)
        .await
        .unwrap()
        .token
}

/// A C02 return for a quarter, with the computed values the kiosk would send.
pub fn c02(period: &str, sales_3: &str) -> api::ApplicationRequest {
    let bundle = bundle();
    let f = bundle.forms["C02"].clone();
    let mut wire = std::collections::BTreeMap::new();
    wire.insert("period".to_string(), period.to_string());
    wire.insert("sales_3".to_string(), sales_3.to_string());
    wire.insert("location".to_string(), "city".to_string());
    let values = kiosk_core::form::parse_wire(&f, &wire).unwrap();
    let computed = kiosk_core::form::compute(&f, &values)
        .into_iter()
        .map(|(k, v)| (k, v.fen()))
        .collect();
    api::ApplicationRequest {
        business: "C02".into(),
        values: wire,
        computed,
    }
}

pub fn bundle() -> kiosk_core::config::Bundle {
    let files = bundle_dir::read(&root().join("kiosk-config")).unwrap();
    kiosk_core::config::load(&files).unwrap().bundle
}
