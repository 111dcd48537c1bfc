//! Configuration swaps: upload, check, publish, roll back.
//!
//! IT uploads a bundle as a tar archive (optionally gzip-compressed) of the bundle
//! folder with its `bundle.sig` from `tax-hall config sign`, e.g.
//! `tar -czf bundle.tgz -C kiosk-config .`. The console
//! 1. unpacks it (regular files only, no absolute or `..` paths, at most 5,000 files and
//!    32 MiB; dot-files are skipped as `config sign` skips them; a single top folder is
//!    stripped);
//! 2. checks the signature against its configuration public key;
//! 3. validates the shared files with its reference `kiosk.toml` through
//!    `kiosk_core::config::load`, the same loader as `config check` (an uploaded
//!    `kiosk.toml` is ignored: each kiosk keeps its own);
//! 4. stores it. Publishing sends it retained on `hall/{hall}/config/bundle`, so a kiosk
//!    that was offline gets it when it reconnects. Rollback publishes the bundle that was
//!    in force before the current one.
//!
//! A refused upload changes nothing: nothing is stored and nothing is published.

use std::io::Read;
use std::sync::Arc;

use kiosk_core::config::{BundleFiles, Diagnostic};
use rumqttc::QoS;
use telemetry::BundleMessage;
use telemetry::bundle::{self, SIGNATURE_FILE, SignatureFile};

use crate::App;
use crate::db::DbError;
use crate::time::now_ms;

pub const MAX_FILES: usize = 5_000;
pub const MAX_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the upload is not a readable tar archive: {0}")]
    Archive(String),
    #[error(
        "the bundle has no {SIGNATURE_FILE}; sign it with `tax-hall config sign DIR --key KEY`"
    )]
    Unsigned,
    #[error(
        "the console has no configuration public key (--config-public-key), so it cannot check signatures"
    )]
    NoKey,
    #[error("the signature is not valid for this bundle with the hall's public key: {0}")]
    BadSignature(String),
    #[error("the bundle does not pass the configuration check ({} problems)", .0.len())]
    Invalid(Vec<Diagnostic>),
    #[error("no bundle {0}")]
    NotFound(i64),
    #[error("there is no earlier bundle to roll back to")]
    NothingToRollBack,
    #[error("cannot publish on MQTT: {0}")]
    Mqtt(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Unpacks a tar or tar.gz upload into bundle files.
pub fn unpack(bytes: &[u8]) -> Result<BundleFiles, ConfigError> {
    let reader: Box<dyn Read + '_> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let mut ar = tar::Archive::new(reader);
    let mut raw: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    let err = |e: std::io::Error| ConfigError::Archive(e.to_string());
    for entry in ar.entries().map_err(err)? {
        let mut e = entry.map_err(err)?;
        let path = e.path().map_err(err)?.to_string_lossy().to_string();
        let path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let ty = e.header().entry_type();
        if ty.is_dir() || path.is_empty() || path == "." {
            continue;
        }
        if path
            .split('/')
            .any(|c| c.starts_with('.') && c != "." && c != "..")
        {
            continue;
        }
        if !ty.is_file() {
            return Err(ConfigError::Archive(format!(
                "{path} is not a regular file (links and devices are not allowed)"
            )));
        }
        if !bundle::is_bundle_path(&path) {
            return Err(ConfigError::Archive(format!(
                "the path {path:?} is not allowed"
            )));
        }
        total += e.size();
        if total > MAX_BYTES || raw.len() >= MAX_FILES {
            return Err(ConfigError::Archive(format!(
                "the bundle is larger than {MAX_FILES} files or {} MiB",
                MAX_BYTES >> 20
            )));
        }
        let mut buf = Vec::with_capacity(e.size() as usize);
        e.read_to_end(&mut buf).map_err(err)?;
        raw.push((path, buf));
    }
    // `tar -czf b.tgz kiosk-config` puts everything under one folder: strip it.
    let top: Vec<&str> = raw
        .iter()
        .map(|(p, _)| p.split('/').next().unwrap_or(""))
        .collect();
    let strip = !raw.is_empty()
        && raw.iter().all(|(p, _)| p.contains('/'))
        && top.iter().all(|t| *t == top[0]);
    let mut files = BundleFiles::default();
    for (p, b) in raw {
        let p = if strip {
            p.split_once('/').map_or(p.clone(), |(_, r)| r.to_string())
        } else {
            p
        };
        files.insert(p, b);
    }
    if files.files.is_empty() {
        return Err(ConfigError::Archive("the archive holds no files".into()));
    }
    Ok(files)
}

/// Checks an unpacked upload: signature, then the loader. Pure apart from reading the
/// console's reference `kiosk.toml`.
pub fn check(
    files: &BundleFiles,
    key: Option<&ed25519_dalek::VerifyingKey>,
    kiosk_toml: &[u8],
) -> Result<(SignatureFile, Vec<Diagnostic>), ConfigError> {
    let sig_text = files
        .files
        .get(SIGNATURE_FILE)
        .ok_or(ConfigError::Unsigned)?;
    let sig = SignatureFile::parse(&String::from_utf8_lossy(sig_text))
        .map_err(ConfigError::BadSignature)?;
    let key = key.ok_or(ConfigError::NoKey)?;
    let shared = bundle::shared(files);
    let version = shared.content_hash();
    if sig.version != version {
        return Err(ConfigError::BadSignature(format!(
            "it was made for content {} but the files hash to {} (a file changed after signing)",
            bundle::short(&sig.version),
            bundle::short(&version)
        )));
    }
    if !bundle::verify_signature(&version, &sig.signature, key) {
        return Err(ConfigError::BadSignature(
            "it was not made with the hall's signing key".into(),
        ));
    }
    let loaded = bundle::validate(&shared, kiosk_toml).map_err(ConfigError::Invalid)?;
    Ok((sig, loaded.warnings))
}

/// Checks and stores an upload; returns the bundle id and its version.
pub async fn upload(
    app: &App,
    bytes: &[u8],
    by: &str,
) -> Result<(i64, String, Vec<Diagnostic>), ConfigError> {
    let files = unpack(bytes)?;
    let kiosk_toml = app
        .reference
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .kiosk_toml
        .clone();
    let (sig, warnings) = check(&files, app.settings.config_public_key.as_ref(), &kiosk_toml)?;
    let msg = bundle::to_message(&files, &sig, 0, "");
    let json = serde_json::to_string(&msg).map_err(|e| DbError::Other(e.to_string()))?;
    let warn_text = warnings
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    app.db
        .exec(
            "INSERT INTO bundles (version, message, uploaded_ms, uploaded_by, warnings) VALUES (?, ?, ?, ?, ?) ON CONFLICT (version) DO NOTHING",
            vec![msg.version.as_str().into(), json.into(), now_ms().into(), by.into(), warn_text.into()],
        )
        .await?;
    let id = app
        .db
        .query_one(
            "SELECT id FROM bundles WHERE version = ?",
            vec![msg.version.as_str().into()],
        )
        .await?
        .map_or(0, |r| r[0].int());
    Ok((id, msg.version, warnings))
}

async fn message_of(app: &App, id: i64) -> Result<BundleMessage, ConfigError> {
    let r = app
        .db
        .query_one("SELECT message FROM bundles WHERE id = ?", vec![id.into()])
        .await?
        .ok_or(ConfigError::NotFound(id))?;
    serde_json::from_str(&r[0].text()).map_err(|e| DbError::Other(e.to_string()).into())
}

async fn send(app: &App, msg: &BundleMessage) -> Result<(), ConfigError> {
    let body = serde_json::to_vec(msg).map_err(|e| DbError::Other(e.to_string()))?;
    for hall in &app.halls {
        app.mqtt
            .publish(
                telemetry::topics::bundle(hall),
                QoS::AtLeastOnce,
                true,
                body.clone(),
            )
            .await
            .map_err(|e| ConfigError::Mqtt(e.to_string()))?;
    }
    Ok(())
}

/// Makes a published bundle the console's reference for names, zones and schedule.
fn adopt(app: &App, msg: &BundleMessage) {
    let Ok(files) = bundle::files_of(msg) else {
        return;
    };
    let mut r = app.reference.write().unwrap_or_else(|e| e.into_inner());
    if let Ok(loaded) = bundle::validate(&files, &r.kiosk_toml) {
        let offset = loaded.bundle.kiosk.schedule.utc_offset_minutes;
        r.bundle = Arc::new(loaded.bundle);
        r.published = Some(msg.version.clone());
        drop(r);
        app.clock
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .offset_minutes = offset;
    }
}

/// Publishes a stored bundle to every kiosk of the console's halls.
pub async fn publish(app: &App, id: i64, by: &str, rollback: bool) -> Result<String, ConfigError> {
    let mut msg = message_of(app, id).await?;
    let now = now_ms();
    msg.published_ms = now;
    msg.note = if rollback {
        format!("rollback by {by}")
    } else {
        format!("published by {by}")
    };
    send(app, &msg).await?;
    app.db
        .exec(
            "INSERT INTO publications (bundle_id, at_ms, by_user, rollback) VALUES (?, ?, ?, ?)",
            vec![id.into(), now.into(), by.into(), rollback.into()],
        )
        .await?;
    adopt(app, &msg);
    Ok(msg.version)
}

/// Publishes the bundle that was in force before the current one.
pub async fn rollback(app: &App, by: &str) -> Result<String, ConfigError> {
    let rows = app
        .db
        .query(
            "SELECT bundle_id FROM publications ORDER BY id DESC",
            vec![],
        )
        .await?;
    let current = rows
        .first()
        .map(|r| r[0].int())
        .ok_or(ConfigError::NothingToRollBack)?;
    let previous = rows
        .iter()
        .map(|r| r[0].int())
        .find(|b| *b != current)
        .ok_or(ConfigError::NothingToRollBack)?;
    publish(app, previous, by, true).await
}

/// The bundle in force: the latest publication.
pub async fn current(app: &App) -> Result<Option<(i64, BundleMessage)>, ConfigError> {
    let Some(r) = app
        .db
        .query_one(
            "SELECT p.bundle_id, p.at_ms, p.by_user, p.rollback FROM publications p ORDER BY p.id DESC LIMIT 1",
            vec![],
        )
        .await?
    else {
        return Ok(None);
    };
    let id = r[0].int();
    let mut msg = message_of(app, id).await?;
    msg.published_ms = r[1].int();
    msg.note = if r[3].int() != 0 {
        format!("rollback by {}", r[2].text())
    } else {
        format!("published by {}", r[2].text())
    };
    Ok(Some((id, msg)))
}

/// At start-up: the published bundle becomes the reference again.
pub async fn restore(app: &Arc<App>) -> Result<(), crate::HallError> {
    match current(app).await {
        Ok(Some((_, msg))) => adopt(app, &msg),
        Ok(None) => {}
        Err(ConfigError::Db(e)) => return Err(e.into()),
        Err(e) => tracing::warn!("the published bundle cannot be restored: {e}"),
    }
    Ok(())
}

/// Sends the current bundle again (the broker may have restarted without it).
pub async fn republish(app: &App) {
    match current(app).await {
        Ok(Some((_, msg))) => {
            if let Err(e) = send(app, &msg).await {
                tracing::warn!("cannot republish the current bundle: {e}");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot read the current bundle: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])], gz: bool) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, p, *data).unwrap();
        }
        let raw = b.into_inner().unwrap();
        if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &raw).unwrap();
            e.finish().unwrap()
        } else {
            raw
        }
    }

    #[test]
    fn unpacks_plain_and_gzip_and_strips_one_top_folder() {
        let t = tar_of(
            &[
                ("./zones.toml", b"z"),
                ("./forms/a.toml", b"a"),
                ("./.DS_Store", b"x"),
            ],
            false,
        );
        let f = unpack(&t).unwrap();
        assert_eq!(
            f.files.keys().collect::<Vec<_>>(),
            vec!["forms/a.toml", "zones.toml"]
        );
        let t = tar_of(
            &[
                ("kiosk-config/zones.toml", b"z"),
                ("kiosk-config/forms/a.toml", b"a"),
            ],
            true,
        );
        let f = unpack(&t).unwrap();
        assert_eq!(
            f.files.keys().collect::<Vec<_>>(),
            vec!["forms/a.toml", "zones.toml"]
        );
    }

    #[test]
    fn refuses_garbage_and_escapes() {
        assert!(matches!(
            unpack(b"not a tar at all"),
            Err(ConfigError::Archive(_))
        ));
        // A raw header whose name escapes the bundle (tar's builder refuses to write one,
        // so the header is made by hand).
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..9].copy_from_slice(b"../x.toml");
        h.set_size(1);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend_from_slice(&[b'x'; 512]);
        raw.extend_from_slice(&[0; 1024]);
        assert!(matches!(unpack(&raw), Err(ConfigError::Archive(_))));
    }
}
