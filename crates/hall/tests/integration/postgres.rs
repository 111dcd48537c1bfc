//! The console on PostgreSQL (`--database postgres://…`): a throwaway cluster made with
//! initdb and pg_ctl on a loopback port (as the `postgres` user when the tests run as
//! root, since PostgreSQL refuses to run as root), then the flows that touch every
//! table kind: alerts and acknowledgement, visits and figures, tickets and calls,
//! bundles and publication, the audit log, and a console restart on the same database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hall::live::AlertKind;
use telemetry::hall_api::{Provenance, TICKET_PATH, TicketRequest, TicketResponse, signed_headers};
use telemetry::{DeviceStatus, KioskEvent, PrinterStatus};

use crate::common::*;

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    pub url: String,
}

fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed; scripts/setup installs Debian's postgresql")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .expect("no PostgreSQL server binaries under /usr/lib/postgresql")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

impl Cluster {
    fn cmd(&self, exe: &str) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(exe));
            c
        } else {
            Command::new(self.bin.join(exe))
        }
    }

    pub fn start() -> Cluster {
        let bin = pg_bin();
        let as_postgres = is_root();
        // Under /tmp: the postgres user must be able to reach it, and a work tree under
        // /root is not reachable.
        let dir =
            std::env::temp_dir().join(format!("hall-pg-{}-{}", std::process::id(), free_port()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let password = hall::auth::random_hex(12);
        std::fs::write(dir.join("pw"), &password).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(
                ok.success(),
                "cannot hand {} to the postgres user",
                dir.display()
            );
        }
        let port = free_port();
        let c = Cluster {
            bin,
            data: dir.join("data"),
            as_postgres,
            url: format!("postgres://hall:{password}@127.0.0.1:{port}/postgres"),
        };
        let o = c
            .cmd("initdb")
            .arg("-D")
            .arg(&c.data)
            .args([
                "-U",
                "hall",
                "--auth=scram-sha-256",
                "--no-locale",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", dir.join("pw").display()))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = c
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&c.data)
            .arg("-l")
            .arg(dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                dir.display()
            ))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&o.stdout),
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        c
    }

    pub fn dir(&self) -> &Path {
        self.data.parent().unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(self.dir());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_on_postgresql() {
    let pg = Cluster::start();
    let opts = || RigOptions {
        database: Some(pg.url.clone()),
        ..RigOptions::default()
    };
    let rig = Rig::start("postgres", opts()).await;
    assert_eq!(rig.running.app.db.kind(), "PostgreSQL");
    let id = kiosk_id(1);
    let (link, mut rx) = rig.kiosk(1);
    wait_connected(&mut rx).await;
    link.status(&DeviceStatus {
        printer: PrinterStatus {
            paper_near_end: true,
            ..PrinterStatus::default()
        },
        ..DeviceStatus::default()
    })
    .await
    .unwrap();
    eventually(
        "paper-low alert stored in PostgreSQL",
        Duration::from_secs(10),
        || async { rig.has_alert(&id, AlertKind::PaperLow) },
    )
    .await;
    let staff = Staff::login(&rig.url(""), STAFF_USER, STAFF_PASS).await;
    let html = staff.get_text("/").await;
    let alert_id = html
        .split("data-alert=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(
        staff
            .post(&format!("/alerts/{alert_id}/ack"), &[("back", "/")])
            .await
            .status(),
        303
    );

    link.event(KioskEvent::SessionEnded {
        business: Some("A01".into()),
        zone: None,
        outcome: "done".into(),
        duration_ms: 90_000,
        reason: "finished".into(),
        practice: false,
    })
    .await
    .unwrap();
    eventually(
        "a visit in today's figures",
        Duration::from_secs(10),
        || async {
            staff
                .get_text("/figures")
                .await
                .contains("<b id=\"f-visits\">1</b>")
        },
    )
    .await;

    // A signed ticket and a call.
    let body = serde_json::to_vec(&TicketRequest {
        business: None,
        category: "priority".into(),
        appointment: false,
    })
    .unwrap();
    let p = Provenance {
        kiosk: &id,
        software: "t",
        config: "c",
        session: "s",
        verification: "none",
        timestamp_ms: telemetry::now_ms(),
        idempotency_key: "pg-1",
    };
    let mut r = client().post(rig.url(TICKET_PATH)).body(body.clone());
    for (k, v) in signed_headers(&rig.keys[&id], "POST", TICKET_PATH, &p, &body) {
        r = r.header(k, v);
    }
    let t: TicketResponse = r.send().await.unwrap().json().await.unwrap();
    assert_eq!(t.number, "V001");
    assert_eq!(
        staff
            .post("/queue/call", &[("hall", HALL), ("counter", "2")])
            .await
            .status(),
        303
    );
    assert!(
        staff
            .get_text("/queue?counter=2")
            .await
            .contains("id=\"serving\">V001<")
    );

    // A bundle stored and published.
    let it = Staff::login(&rig.url(""), IT_USER, IT_PASS).await;
    let v1 = signed_bundle(&rig.signing, |f| {
        let mut z = f.files["zones.toml"].clone();
        z.extend_from_slice(b"\n# pg\n");
        f.insert("zones.toml", z);
    });
    let r = it.upload(targz(&v1), true).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(it.get_text("/audit").await.contains("config_publish"));

    // The console restarts on the same database and finds its kiosk, its alert history
    // and its published bundle.
    hall::ingest::flush_snapshots(&rig.running.app);
    tokio::time::sleep(Duration::from_millis(500)).await;
    link.kill();
    rig.running.server.abort();
    let rig2 = Rig::start("postgres-2", opts()).await;
    assert!(
        rig2.live(&id, |_| ()).is_some(),
        "the kiosk was not restored"
    );
    let current = hall::configs::current(&rig2.running.app)
        .await
        .unwrap()
        .unwrap()
        .1;
    assert_eq!(
        current.version,
        telemetry::bundle::shared(&v1).content_hash()
    );
}
