//! Signed configuration swaps end to end: the signing CLI, upload and publication, a
//! kiosk (the kiosk's own gate code) that applies or refuses, rollback, a kiosk that
//! was offline, and the three refusals (bad signature, schema error, unknown zone) that
//! must change nothing at the console or at the kiosk.

use std::process::Command as Proc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hall::live::AlertKind;
use kiosk_core::config::BundleFiles;
use telemetry::bundle::{self, ConfigGate, Offer, Refusal};
use telemetry::{ConfigState, Incoming, KioskLink};

use crate::common::*;

const A_FILE: &str = "businesses/A-registration.toml";

fn edit(files: &mut BundleFiles, path: &str, from: &str, to: &str) {
    let text = String::from_utf8(files.files[path].clone()).unwrap();
    assert!(text.contains(from), "{path} lacks {from:?}");
    files.insert(path, text.replacen(from, to, 1).into_bytes());
}

fn append(files: &mut BundleFiles, path: &str, line: &str) {
    let mut b = files.files[path].clone();
    b.extend_from_slice(line.as_bytes());
    files.insert(path, b);
}

fn kiosk_toml() -> Vec<u8> {
    std::fs::read(workspace().join("kiosk-config/kiosk.toml")).unwrap()
}

/// A kiosk that runs its gate on every bundle and reports the way the kiosk app does.
/// Returns the hall version it runs.
fn run_kiosk(rig: &Rig, i: usize) -> (Arc<Mutex<Option<String>>>, Arc<KioskLink>) {
    let (link, mut rx) = rig.kiosk(i);
    let link = Arc::new(link);
    let mut gate = ConfigGate::new(rig.signing.verifying_key(), kiosk_toml(), None);
    let active = Arc::new(Mutex::new(None::<String>));
    let (a, l) = (active.clone(), link.clone());
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let Incoming::Bundle(msg) = m else { continue };
            match gate.offer(&msg) {
                Offer::Apply(v) => {
                    l.verified(&v);
                    // No session runs, so the core swaps at once and says so.
                    *a.lock().unwrap() = Some(v.version.clone());
                    let t = kiosk_core::session::Telemetry::ConfigApplied {
                        version: v.bundle.version().to_string(),
                    };
                    let _ = l.core(&t).await;
                }
                Offer::Unchanged => {}
                Offer::Refuse { version, refusal } => {
                    let _ = l.refused(&version, &refusal).await;
                }
            }
        }
    });
    (active, link)
}

async fn bundles_stored(rig: &Rig) -> i64 {
    rig.running
        .app
        .db
        .query_one("SELECT COUNT(*) FROM bundles", vec![])
        .await
        .unwrap()
        .unwrap()[0]
        .int()
}

fn kiosk_config(rig: &Rig, i: usize) -> Option<ConfigState> {
    rig.live(&kiosk_id(i), |k| k.config.clone()).flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upload_publish_apply_refuse_and_roll_back() {
    let rig = Rig::start("config", RigOptions::default()).await;
    let (active, _link) = run_kiosk(&rig, 1);
    let it = Staff::login(&rig.url(""), IT_USER, IT_PASS).await;

    // v1: published and applied by the kiosk.
    let v1 = signed_bundle(&rig.signing, |f| append(f, "zones.toml", "\n# v1\n"));
    let r = it.upload(targz(&v1), true).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let v1_version = bundle::shared(&v1).content_hash();
    eventually("kiosk applies v1", Duration::from_secs(10), || async {
        matches!(kiosk_config(&rig, 1), Some(ConfigState::Applied { ref version, .. }) if *version == v1_version)
    })
    .await;
    assert_eq!(active.lock().unwrap().as_deref(), Some(v1_version.as_str()));

    // Each refusal: 422 at the console, nothing stored, nothing published, the kiosk
    // keeps v1.
    let other_key = bundle::generate_key();
    let cases: Vec<(&str, BundleFiles, &str)> = vec![
        (
            "tampered after signing",
            {
                let mut f = signed_bundle(&rig.signing, |f| append(f, "zones.toml", "\n# v-bad\n"));
                edit(&mut f, A_FILE, "minutes = 5", "minutes = 6");
                f
            },
            "signature",
        ),
        (
            "signed with another key",
            signed_bundle(&other_key, |f| append(f, "zones.toml", "\n# other\n")),
            "signature",
        ),
        (
            "schema error",
            signed_bundle(&rig.signing, |f| {
                edit(f, A_FILE, "minutes = 5", "minutes = \"five\"")
            }),
            "configuration check",
        ),
        (
            "unknown zone",
            signed_bundle(&rig.signing, |f| {
                edit(f, A_FILE, "zones = [\"Z03\"]", "zones = [\"Z99\"]")
            }),
            "configuration check",
        ),
    ];
    let stored = bundles_stored(&rig).await;
    for (what, files, why) in &cases {
        let r = it.upload(targz(files), true).await;
        assert_eq!(r.status(), 422, "{what} must be refused");
        let body = r.text().await.unwrap();
        assert!(body.contains(why), "{what}: {body}");
        if *what == "unknown zone" {
            assert!(body.contains("Z99"), "the problem names the zone: {body}");
        }
        assert_eq!(bundles_stored(&rig).await, stored, "{what} was stored");
    }
    let current = hall::configs::current(&rig.running.app)
        .await
        .unwrap()
        .unwrap()
        .1;
    assert_eq!(
        current.version, v1_version,
        "a refusal changed the published bundle"
    );

    // The kiosk checks for itself: the same bad bundles, published past the console's
    // checks, are refused by the kiosk and change nothing there.
    let kt = kiosk_toml();
    let key = rig.signing.verifying_key();
    for (what, files, _) in &cases {
        let sig_text = String::from_utf8(files.files[bundle::SIGNATURE_FILE].clone()).unwrap();
        let sig = bundle::SignatureFile::parse(&sig_text).unwrap();
        let msg = bundle::to_message(files, &sig, 1, "forged");
        let refusal = bundle::check(&msg, &key, &kt).expect_err(what);
        match *what {
            "tampered after signing" => assert!(
                matches!(refusal, Refusal::Malformed(_) | Refusal::BadSignature),
                "{refusal}"
            ),
            "signed with another key" => assert_eq!(refusal, Refusal::BadSignature),
            "schema error" => assert!(
                matches!(refusal, Refusal::Invalid(_)) && refusal.to_string().contains("five"),
                "{refusal}"
            ),
            "unknown zone" => assert!(
                matches!(refusal, Refusal::Invalid(_)) && refusal.to_string().contains("Z99"),
                "{refusal}"
            ),
            _ => unreachable!(),
        }
    }
    // One of them on the wire: the kiosk refuses, reports why, keeps v1, and the
    // console raises the config-refused alert.
    let (_, files, _) = &cases[3];
    let sig = bundle::SignatureFile::parse(&String::from_utf8_lossy(
        &files.files[bundle::SIGNATURE_FILE],
    ))
    .unwrap();
    let forged = bundle::to_message(files, &sig, 1, "forged");
    rig.running
        .app
        .mqtt
        .publish(
            telemetry::topics::bundle(HALL),
            rumqttc::QoS::AtLeastOnce,
            false,
            serde_json::to_vec(&forged).unwrap(),
        )
        .await
        .unwrap();
    eventually("kiosk reports the refusal", Duration::from_secs(10), || async {
        matches!(kiosk_config(&rig, 1), Some(ConfigState::Refused { ref reason, .. }) if reason.contains("Z99"))
    })
    .await;
    assert_eq!(
        active.lock().unwrap().as_deref(),
        Some(v1_version.as_str()),
        "the kiosk changed bundles"
    );
    eventually("config refused alert", Duration::from_secs(5), || async {
        rig.has_alert(&kiosk_id(1), AlertKind::ConfigRefused)
    })
    .await;

    // v2, then one click back to v1.
    let v2 = signed_bundle(&rig.signing, |f| append(f, "zones.toml", "\n# v2\n"));
    let v2_version = bundle::shared(&v2).content_hash();
    assert_eq!(it.upload(targz(&v2), true).await.status(), 200);
    eventually("kiosk applies v2", Duration::from_secs(10), || async {
        active.lock().unwrap().as_deref() == Some(v2_version.as_str())
    })
    .await;
    let r = it.post("/config/rollback", &[]).await;
    assert_eq!(r.status(), 200);
    eventually("kiosk back on v1", Duration::from_secs(10), || async {
        active.lock().unwrap().as_deref() == Some(v1_version.as_str())
    })
    .await;
    assert!(
        !rig.has_alert(&kiosk_id(1), AlertKind::ConfigRefused),
        "applying cleared the refusal"
    );

    // A kiosk that was offline during all this gets the bundle in force on connecting.
    let (late, _late_link) = run_kiosk(&rig, 2);
    eventually(
        "late kiosk picks up v1",
        Duration::from_secs(10),
        || async { late.lock().unwrap().as_deref() == Some(v1_version.as_str()) },
    )
    .await;

    let page = it.get_text("/config").await;
    assert!(page.contains(bundle::short(&v1_version)));
    let audit = it.get_text("/audit").await;
    for action in ["config_upload", "config_publish", "config_rollback"] {
        assert!(audit.contains(action), "audit lacks {action}");
    }
}

#[test]
fn signing_cli_keygen_sign_verify() {
    let exe = env!("CARGO_BIN_EXE_tax-hall");
    let dir = tmpdir("cli");
    let keys = dir.join("keys");
    let run = |args: &[&str]| {
        Proc::new(exe)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let o = run(&["config", "keygen", "--out", keys.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Never overwrite a signing key.
    assert!(
        !run(&["config", "keygen", "--out", keys.to_str().unwrap()])
            .status
            .success()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join("config-signing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the private key is readable by others");
    }
    let b = dir.join("bundle");
    copy_dir(&workspace().join("kiosk-config"), &b);
    let _ = std::fs::remove_file(b.join("bundle.sig"));
    let key = keys.join("config-signing.key");
    let public = keys.join("config-signing.pub");
    let o = run(&[
        "config",
        "sign",
        b.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(b.join("bundle.sig").exists());
    let o = run(&[
        "config",
        "verify",
        b.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // kiosk.toml is per machine: changing it does not break the signature.
    let kt = std::fs::read_to_string(b.join("kiosk.toml")).unwrap();
    std::fs::write(
        b.join("kiosk.toml"),
        kt.replace("KSK-5301-0001", "KSK-5301-0002"),
    )
    .unwrap();
    assert!(
        run(&[
            "config",
            "verify",
            b.to_str().unwrap(),
            "--public-key",
            public.to_str().unwrap()
        ])
        .status
        .success()
    );
    // Any shared file changed after signing does.
    let z = std::fs::read_to_string(b.join("zones.toml")).unwrap();
    std::fs::write(b.join("zones.toml"), format!("{z}\n# edited\n")).unwrap();
    let o = run(&[
        "config",
        "verify",
        b.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    // A bundle that fails the check is not signed at all.
    let bad = std::fs::read_to_string(b.join(A_FILE)).unwrap();
    std::fs::write(
        b.join(A_FILE),
        bad.replacen("zones = [\"Z03\"]", "zones = [\"Z99\"]", 1),
    )
    .unwrap();
    let o = run(&[
        "config",
        "sign",
        b.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("Z99"));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// The kiosk core, fed by the gate, holds a new bundle back while a taxpayer is at the
/// kiosk and applies it when the session ends; the console sees both steps under the
/// hall's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_applies_a_bundle_between_sessions() {
    use kiosk_core::session::{Effect, Event, Kiosk};
    let rig = Rig::start("defer", RigOptions::default()).await;
    let (link, mut rx) = rig.kiosk(1);
    wait_connected(&mut rx).await;
    let local =
        kiosk_core::config::load(&bundle::read_dir(&workspace().join("kiosk-config")).unwrap())
            .map_err(|_| "the shipped bundle loads")
            .unwrap();
    let mut core = Kiosk::new(Arc::new(local.bundle), 7);
    let mut gate = ConfigGate::new(rig.signing.verifying_key(), kiosk_toml(), None);
    async fn feed(link: &KioskLink, effects: Vec<Effect>) {
        for e in effects {
            if let Effect::Telemetry(t) = e {
                link.core(&t).await.unwrap();
            }
        }
    }
    // A taxpayer starts a session.
    feed(&link, core.handle(Event::Touch)).await;
    eventually(
        "the console sees the session",
        Duration::from_secs(5),
        || async {
            rig.live(&kiosk_id(1), |k| {
                k.session.as_ref().is_some_and(|s| s.in_session)
            })
            .unwrap_or(false)
        },
    )
    .await;
    let it = Staff::login(&rig.url(""), IT_USER, IT_PASS).await;
    let v1 = signed_bundle(&rig.signing, |f| {
        append(f, "zones.toml", "\n# during a session\n")
    });
    let version = bundle::shared(&v1).content_hash();
    assert_eq!(it.upload(targz(&v1), true).await.status(), 200);
    let msg = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Incoming::Bundle(b))) => break b,
            Ok(Some(_)) => continue,
            _ => panic!("no bundle reached the kiosk"),
        }
    };
    let Offer::Apply(v) = gate.offer(&msg) else {
        panic!("a good bundle was not accepted")
    };
    link.verified(&v);
    let local_version = v.bundle.version().to_string();
    feed(&link, core.handle(Event::NewConfig(v.bundle.clone()))).await;
    eventually("deferred while the session runs", Duration::from_secs(5), || async {
        matches!(kiosk_config(&rig, 1), Some(ConfigState::Deferred { version: ref got }) if *got == version)
    })
    .await;
    // The taxpayer walks away: the wipe, then the swap.
    feed(&link, core.handle(Event::Leave)).await;
    eventually(
        "applied after the session",
        Duration::from_secs(5),
        || async {
            kiosk_config(&rig, 1)
                == Some(ConfigState::Applied {
                    version: version.clone(),
                    local_version: local_version.clone(),
                })
        },
    )
    .await;
}
