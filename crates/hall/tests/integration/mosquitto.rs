//! The same kiosk code and topics through Debian's Mosquitto (`--broker`), with
//! per-kiosk passwords and an ACL that pins each kiosk to its own topics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hall::live::AlertKind;
use telemetry::{BrokerAddr, DeviceStatus, Incoming, PrinterStatus};

use crate::common::*;

pub struct Mosquitto {
    child: Child,
    pub port: u16,
    pub console_password: String,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(exe: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(exe);
        if p.exists() {
            return p;
        }
    }
    panic!("{exe} is not installed; scripts/setup installs Debian's mosquitto");
}

/// The ACL a hall's Mosquitto needs: the console reads and writes everything under
/// `hall/`, a kiosk writes only its own subtree and reads its commands and the bundle.
pub const ACL: &str = "\
user tax-hall
topic readwrite hall/#

pattern write hall/+/kiosk/%u/online
pattern write hall/+/kiosk/%u/heartbeat
pattern write hall/+/kiosk/%u/status
pattern write hall/+/kiosk/%u/session
pattern write hall/+/kiosk/%u/config
pattern write hall/+/kiosk/%u/event
pattern read hall/+/kiosk/%u/cmd
pattern read hall/+/config/bundle
";

impl Mosquitto {
    pub fn start(dir: &Path, keys: &std::collections::HashMap<String, Vec<u8>>) -> Mosquitto {
        let port = free_port();
        let passwd = dir.join("passwd");
        let console_password = hall::auth::random_hex(12);
        let mut first = true;
        let mut users: Vec<(String, String)> = keys
            .iter()
            .map(|(id, k)| (id.clone(), telemetry::mqtt_password(k)))
            .collect();
        users.push(("tax-hall".into(), console_password.clone()));
        for (user, pass) in users {
            let mut c = Command::new(find("mosquitto_passwd"));
            if first {
                c.arg("-c");
                first = false;
            }
            let o = c
                .arg("-b")
                .arg(&passwd)
                .arg(&user)
                .arg(&pass)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "mosquitto_passwd: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::fs::write(dir.join("acl"), ACL).unwrap();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\npersistence false\nuser root\nlog_dest file {}\nlog_type all\nmessage_size_limit 16777216\n",
                passwd.display(),
                dir.join("acl").display(),
                dir.join("mosquitto.log").display()
            ),
        )
        .unwrap();
        let child = Command::new(find("mosquitto"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start; see {}",
                dir.join("mosquitto.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Mosquitto {
            child,
            port,
            console_password,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_code_through_mosquitto_with_acl() {
    let dir = tmpdir("mosquitto");
    let keys = kiosk_keys(4);
    let m = Mosquitto::start(&dir, &keys);
    let rig = Rig::start(
        "mosquitto-hall",
        RigOptions {
            external_broker: Some(BrokerAddr {
                host: "127.0.0.1".into(),
                port: m.port,
                username: Some("tax-hall".into()),
                password: Some(m.console_password.clone()),
            }),
            ..RigOptions::default()
        },
    )
    .await;
    assert_eq!(rig.keys, keys, "the rig derives the same keys");
    let id = kiosk_id(1);
    let (link, mut rx) = rig.kiosk(1);
    wait_connected(&mut rx).await;
    link.status(&DeviceStatus {
        printer: PrinterStatus {
            paper_out: true,
            ..PrinterStatus::default()
        },
        ..DeviceStatus::default()
    })
    .await
    .unwrap();
    eventually(
        "paper-out alert via mosquitto",
        Duration::from_secs(10),
        || async { rig.connected(&id) && rig.has_alert(&id, AlertKind::PaperOut) },
    )
    .await;

    // A retained bundle of several hundred kilobytes passes through Mosquitto.
    let it = Staff::login(&rig.url(""), IT_USER, IT_PASS).await;
    let v1 = signed_bundle(&rig.signing, |f| {
        let mut z = f.files["zones.toml"].clone();
        z.extend_from_slice(b"\n# via mosquitto\n");
        f.insert("zones.toml", z);
    });
    assert_eq!(it.upload(targz(&v1), true).await.status(), 200);
    let got = loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(Incoming::Bundle(b))) => break b,
            Ok(Some(_)) => continue,
            _ => panic!("no bundle through mosquitto"),
        }
    };
    assert_eq!(got.version, telemetry::bundle::shared(&v1).content_hash());

    // Last will through Mosquitto.
    link.kill();
    eventually(
        "offline via mosquitto's last will",
        Duration::from_secs(20),
        || async { !rig.connected(&id) },
    )
    .await;
    // Kiosk 1 pretends to be kiosk 2: the ACL drops it, the console never hears of 2.
    let mut o = rumqttc::MqttOptions::new(id.clone(), "127.0.0.1", m.port);
    o.set_credentials(id.clone(), telemetry::mqtt_password(&keys[&id]));
    let (spoof, mut ev) = rumqttc::AsyncClient::new(o, 10);
    let poll = tokio::spawn(async move { while ev.poll().await.is_ok() {} });
    // What it may write arrives (so the client is really connected) ...
    spoof
        .publish(
            telemetry::topics::kiosk(HALL, &id, telemetry::topics::Kind::Status),
            rumqttc::QoS::AtLeastOnce,
            true,
            serde_json::to_vec(&DeviceStatus {
                printer: PrinterStatus {
                    cover_open: true,
                    ..PrinterStatus::default()
                },
                ..DeviceStatus::default()
            })
            .unwrap(),
        )
        .await
        .unwrap();
    eventually(
        "the allowed publish arrives",
        Duration::from_secs(10),
        || async {
            rig.live(&id, |k| {
                k.status.as_ref().is_some_and(|s| s.printer.cover_open)
            })
            .unwrap_or(false)
        },
    )
    .await;
    // ... and what it may not write does not.
    let other = kiosk_id(2);
    spoof
        .publish(
            telemetry::topics::kiosk(HALL, &other, telemetry::topics::Kind::Online),
            rumqttc::QoS::AtLeastOnce,
            true,
            serde_json::to_vec(&telemetry::Online {
                online: true,
                software: "spoof".into(),
                at_ms: 1,
            })
            .unwrap(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        rig.live(&other, |_| ()).is_none(),
        "the ACL let kiosk 1 write kiosk 2's topics"
    );
    poll.abort();

    let _ = rig.dir.exists();
}
