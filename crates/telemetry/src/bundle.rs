//! Signed configuration bundles.
//!
//! A bundle folder (`kiosk-config/`) has two parts. `kiosk.toml` belongs to one machine
//! (kiosk id, endpoints, devices) and never travels: each kiosk keeps its own. Every
//! other file is shared by the hall and is what IT signs and the hall distributes. The
//! signature is ed25519 over [`signed_bytes`] of the shared files' content hash
//! (`kiosk_core::config::BundleFiles::content_hash`), written beside the bundle as
//! [`SIGNATURE_FILE`]. Files and folders whose name starts with a dot are not part of a
//! bundle (editor and VCS litter must not break a signature).
//!
//! A kiosk checks a received bundle with [`check`]: the files must hash to the announced
//! version, the signature must verify with the public key the kiosk holds (a file whose
//! path the kiosk app is given, one line of 64 hex digits), and the shared files together
//! with the kiosk's own `kiosk.toml` must pass `kiosk_core::config::load`, the same
//! loader as `tax-kiosk config check`. Only then is there a [`Verified`] bundle; the
//! kiosk core applies it between sessions. Any failure is a [`Refusal`] and the caller
//! keeps the bundle it runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use kiosk_core::config::{Bundle, BundleFiles, Diagnostic, Loaded, Severity, load};

use crate::Error;
use crate::messages::BundleMessage;

/// The signature file that sits beside the bundle's files.
pub const SIGNATURE_FILE: &str = "bundle.sig";
/// The per-machine file that is never distributed.
pub const LOCAL_FILE: &str = "kiosk.toml";

/// What is signed: a domain label and the content hash, so that a signature can never
/// be mistaken for one over some other kind of message.
pub fn signed_bytes(version: &str) -> Vec<u8> {
    format!("tax-hall config bundle v1\n{version}").into_bytes()
}

/// Whether a bundle path names a file that is part of the bundle at all.
pub fn is_bundle_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && !c.starts_with('.') && c != "..")
}

/// Reads a bundle folder with `bundle_dir::read`, the workspace's one folder reader:
/// every file below it by `/`-separated relative path, dot-files and dot-folders skipped
/// (so every path it gives passes [`is_bundle_path`]), [`SIGNATURE_FILE`] and
/// [`LOCAL_FILE`] included; [`shared`] takes those two out.
pub fn read_dir(dir: &Path) -> Result<BundleFiles, Error> {
    Ok(bundle_dir::read(dir)?)
}

/// The distributed part of a bundle: everything but `kiosk.toml` and the signature.
pub fn shared(files: &BundleFiles) -> BundleFiles {
    BundleFiles {
        files: files
            .files
            .iter()
            .filter(|(p, _)| p.as_str() != LOCAL_FILE && p.as_str() != SIGNATURE_FILE)
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect(),
    }
}

/// The shared files with a machine's `kiosk.toml` added: what the loader checks.
pub fn with_local(shared: &BundleFiles, kiosk_toml: &[u8]) -> BundleFiles {
    let mut all = shared.clone();
    all.insert(LOCAL_FILE, kiosk_toml.to_vec());
    all
}

/// The contents of `bundle.sig`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignatureFile {
    /// Content hash of the shared files, hex.
    pub version: String,
    /// ed25519 signature over [`signed_bytes`], hex.
    pub signature: String,
    /// The public key that verifies it, hex (informational: kiosks trust only their own).
    pub public_key: String,
}

impl SignatureFile {
    pub fn to_text(&self) -> String {
        format!(
            "# tax-hall configuration bundle signature (ed25519). Made by `tax-hall config sign`.\n\
             version = \"{}\"\nsignature = \"{}\"\npublic_key = \"{}\"\n",
            self.version, self.signature, self.public_key
        )
    }

    pub fn parse(text: &str) -> Result<SignatureFile, String> {
        toml::from_str(text).map_err(|e| format!("{SIGNATURE_FILE} is not readable: {e}"))
    }
}

/// Signs the shared part of a bundle.
pub fn sign(files: &BundleFiles, key: &SigningKey) -> SignatureFile {
    let version = shared(files).content_hash();
    let sig = key.sign(&signed_bytes(&version));
    SignatureFile {
        signature: hex::encode(sig.to_bytes()),
        public_key: hex::encode(key.verifying_key().to_bytes()),
        version,
    }
}

/// Checks a signature over a version with a public key.
pub fn verify_signature(version: &str, signature_hex: &str, key: &VerifyingKey) -> bool {
    let Ok(bytes) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify(&signed_bytes(version), &sig).is_ok()
}

/// A new random signing key.
pub fn generate_key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom(&mut seed);
    SigningKey::from_bytes(&seed)
}

// The OS random source, read through std so that this crate needs no RNG crate: the
// kernel's getrandom via /dev/urandom.
fn getrandom(buf: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .expect("the OS random source /dev/urandom is readable");
}

fn read_hex32(path: &Path, what: &str) -> Result<[u8; 32], Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let bytes = hex::decode(line).map_err(|_| {
        Error::Key(format!(
            "{} must hold the {what} as 64 hex digits on one line",
            path.display()
        ))
    })?;
    bytes.try_into().map_err(|_| {
        Error::Key(format!(
            "{} must hold the {what} as 64 hex digits (32 bytes)",
            path.display()
        ))
    })
}

/// Reads a public key file: one line of 64 hex digits (`#` comment lines allowed).
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, Error> {
    let b = read_hex32(path, "ed25519 public key")?;
    VerifyingKey::from_bytes(&b).map_err(|e| {
        Error::Key(format!(
            "{} is not a valid ed25519 public key: {e}",
            path.display()
        ))
    })
}

/// Reads a private key file written by `tax-hall config keygen`.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, Error> {
    Ok(SigningKey::from_bytes(&read_hex32(
        path,
        "ed25519 private key",
    )?))
}

/// Encodes the shared files of a signed bundle for MQTT.
pub fn to_message(
    files: &BundleFiles,
    sig: &SignatureFile,
    published_ms: i64,
    note: &str,
) -> BundleMessage {
    let shared = shared(files);
    BundleMessage {
        version: shared.content_hash(),
        signature: sig.signature.clone(),
        published_ms,
        note: note.to_string(),
        files: shared
            .files
            .iter()
            .map(|(p, b)| (p.clone(), B64.encode(b)))
            .collect(),
    }
}

/// Decodes a message's files.
pub fn files_of(msg: &BundleMessage) -> Result<BundleFiles, String> {
    let mut files = BTreeMap::new();
    for (p, b64) in &msg.files {
        if !is_bundle_path(p) {
            return Err(format!("the path {p:?} is not allowed in a bundle"));
        }
        if p == LOCAL_FILE || p == SIGNATURE_FILE {
            return Err(format!(
                "{p} must not travel with a bundle: each kiosk keeps its own"
            ));
        }
        let bytes = B64
            .decode(b64)
            .map_err(|e| format!("{p} is not valid base64: {e}"))?;
        files.insert(p.clone(), bytes);
    }
    Ok(BundleFiles { files })
}

/// A bundle that passed every check on this kiosk.
#[derive(Clone)]
pub struct Verified {
    /// The hall's version (content hash of the shared files).
    pub version: String,
    pub bundle: Arc<Bundle>,
    pub warnings: Vec<Diagnostic>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("version", &self.version)
            .field("local_version", &self.bundle.version())
            .field("warnings", &self.warnings.len())
            .finish()
    }
}

/// Why a kiosk refused a bundle. Its `Display` is the reason reported to the hall.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the bundle message is malformed: {0}")]
    Malformed(String),
    #[error("the signature does not verify with this kiosk's configuration public key")]
    BadSignature,
    #[error("{}", describe(.0))]
    Invalid(Vec<Diagnostic>),
}

fn describe(diags: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let shown: Vec<String> = errors.iter().take(3).map(|d| d.to_string()).collect();
    let more = errors.len().saturating_sub(shown.len());
    let mut s = format!(
        "the bundle does not pass the configuration check ({} error{}): {}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        shown.join("; ")
    );
    if more > 0 {
        s.push_str(&format!("; and {more} more"));
    }
    s
}

/// Validates shared files with a machine's `kiosk.toml` using the one loader.
pub fn validate(shared: &BundleFiles, kiosk_toml: &[u8]) -> Result<Loaded, Vec<Diagnostic>> {
    load(&with_local(shared, kiosk_toml))
}

/// The kiosk's whole check of a received bundle. Pure apart from the loader: it changes
/// nothing, so a refusal leaves the kiosk exactly as it was.
pub fn check(
    msg: &BundleMessage,
    key: &VerifyingKey,
    kiosk_toml: &[u8],
) -> Result<Verified, Refusal> {
    let files = files_of(msg).map_err(Refusal::Malformed)?;
    let hash = files.content_hash();
    if hash != msg.version {
        return Err(Refusal::Malformed(format!(
            "the files hash to {} but the message announces {}",
            &hash[..12],
            short(&msg.version)
        )));
    }
    if !verify_signature(&msg.version, &msg.signature, key) {
        return Err(Refusal::BadSignature);
    }
    let loaded = validate(&files, kiosk_toml).map_err(Refusal::Invalid)?;
    Ok(Verified {
        version: msg.version.clone(),
        bundle: Arc::new(loaded.bundle),
        warnings: loaded.warnings,
    })
}

/// The first 12 characters of a version, for messages.
pub fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

/// What to do with a bundle message, given what the kiosk already runs.
#[derive(Debug)]
pub enum Offer {
    /// Hand `Verified::bundle` to the kiosk core (`Event::NewConfig`).
    Apply(Verified),
    /// The kiosk runs (or already holds) this version: nothing to do.
    Unchanged,
    Refuse {
        version: String,
        refusal: Refusal,
    },
}

/// The kiosk's gate for configuration bundles: it holds the public key and the machine's
/// `kiosk.toml`, and remembers the version in force so that a retained bundle delivered
/// again on reconnect is not applied twice.
pub struct ConfigGate {
    key: VerifyingKey,
    kiosk_toml: Vec<u8>,
    current: Option<String>,
}

impl ConfigGate {
    /// `public_key` is the path of the hall's configuration public key file (the kiosk
    /// app takes it from its command line); `kiosk_toml` is this machine's file.
    pub fn open(public_key: &Path, kiosk_toml: &Path) -> Result<ConfigGate, Error> {
        let key = read_public_key(public_key)?;
        let kiosk_toml = std::fs::read(kiosk_toml).map_err(|e| Error::Io {
            path: kiosk_toml.display().to_string(),
            source: e,
        })?;
        Ok(ConfigGate::new(key, kiosk_toml, None))
    }

    /// `current` is the hall version the kiosk started with, if it came from the hall.
    pub fn new(key: VerifyingKey, kiosk_toml: Vec<u8>, current: Option<String>) -> ConfigGate {
        ConfigGate {
            key,
            kiosk_toml,
            current,
        }
    }

    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    pub fn offer(&mut self, msg: &BundleMessage) -> Offer {
        if self.current.as_deref() == Some(msg.version.as_str()) {
            return Offer::Unchanged;
        }
        match check(msg, &self.key, &self.kiosk_toml) {
            Ok(v) => {
                self.current = Some(v.version.clone());
                Offer::Apply(v)
            }
            Err(refusal) => Offer::Refuse {
                version: msg.version.clone(),
                refusal,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> BundleFiles {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config");
        read_dir(&dir).unwrap()
    }

    #[test]
    fn paths_outside_the_bundle_are_rejected() {
        assert!(is_bundle_path("businesses/a.toml"));
        for p in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            ".git/config",
            "a//b",
            "a/.hidden",
        ] {
            assert!(!is_bundle_path(p), "{p}");
        }
    }

    #[test]
    fn a_read_folder_holds_only_bundle_paths_and_shares_all_but_the_local_files() {
        let dir = std::env::temp_dir().join(format!("telemetry-read-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, b) in [
            ("kiosk.toml", "local"),
            (SIGNATURE_FILE, "sig"),
            ("texts.toml", "t"),
            ("faq/a.toml", "a"),
            (".git/config", "x"),
            ("faq/.a.toml.swp", "x"),
        ] {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b).unwrap();
        }
        let files = read_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let files = files.unwrap();
        assert!(files.files.keys().all(|p| is_bundle_path(p)));
        let all: Vec<&str> = files.files.keys().map(String::as_str).collect();
        assert_eq!(
            all,
            [SIGNATURE_FILE, "faq/a.toml", LOCAL_FILE, "texts.toml"]
        );
        let shared: Vec<String> = shared(&files).files.into_keys().collect();
        assert_eq!(shared, ["faq/a.toml", "texts.toml"]);
        assert!(shipped().files.keys().all(|p| is_bundle_path(p)));
    }

    #[test]
    fn signature_binds_content_not_kiosk_toml() {
        let key = generate_key();
        let files = shipped();
        let sig = sign(&files, &key);
        assert!(verify_signature(
            &sig.version,
            &sig.signature,
            &key.verifying_key()
        ));
        // A different kiosk.toml does not change what was signed.
        let mut other = files.clone();
        other.insert(LOCAL_FILE, b"kiosk_id = \"X\"".to_vec());
        assert_eq!(sign(&other, &key).version, sig.version);
        // A changed shared file does.
        let mut changed = files.clone();
        changed.insert("texts.toml", b"".to_vec());
        assert_ne!(shared(&changed).content_hash(), sig.version);
        // Another key does not verify.
        assert!(!verify_signature(
            &sig.version,
            &sig.signature,
            &generate_key().verifying_key()
        ));
        assert!(!verify_signature(&sig.version, "zz", &key.verifying_key()));
        let parsed = SignatureFile::parse(&sig.to_text()).unwrap();
        assert_eq!(parsed, sig);
    }

    #[test]
    fn gate_applies_once_and_refuses_tampering() {
        let key = generate_key();
        let files = shipped();
        let kiosk_toml = files.files[LOCAL_FILE].clone();
        let sig = sign(&files, &key);
        let msg = to_message(&files, &sig, 1, "test");
        let mut gate = ConfigGate::new(key.verifying_key(), kiosk_toml, None);
        match gate.offer(&msg) {
            Offer::Apply(v) => assert_eq!(v.version, sig.version),
            other => panic!("expected apply, got {other:?}"),
        }
        assert!(matches!(gate.offer(&msg), Offer::Unchanged));
        let mut tampered = msg.clone();
        tampered.version = "0".repeat(64);
        assert!(matches!(
            gate.offer(&tampered),
            Offer::Refuse {
                refusal: Refusal::Malformed(_),
                ..
            }
        ));
        assert_eq!(gate.current(), Some(sig.version.as_str()));
    }
}
