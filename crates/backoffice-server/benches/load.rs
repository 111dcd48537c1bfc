//! Load figures for the reference back office: applications per second with N concurrent
//! kiosks (p50 and p99 latency), and the outbox's drain rate after an outage. It starts
//! the real server binary on loopback with a fresh database.
//! Run: `cargo bench -p backoffice-server --bench load`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use backoffice::{Client, ClientConfig, Item, Outbox, Prov, taxpayer_key};
use backoffice_api as api;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key() -> Vec<u8> {
    let text = std::fs::read_to_string(root().join("backoffice/dev-keys.toml")).expect("keys");
    backoffice_server::read_keys(&text).expect("keys parse")["KSK-TEST-0001"].clone()
}

fn complaint(tag: &str) -> api::ApplicationRequest {
    let values = [
        ("category".to_string(), "quality".to_string()),
        ("subject".to_string(), format!("负载{tag}")),
        (
            "description".to_string(),
            "负载测试用投诉，检验后台吞吐与延迟".to_string(),
        ),
        ("phone".to_string(), "13800138000".to_string()),
    ];
    api::ApplicationRequest {
        business: "K09".into(),
        values: values.into_iter().collect(),
        computed: Default::default(),
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tax-bo-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tax-backoffice"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "4",
            "--admin-token",
            "bench",
            "--bank-key",
            "bench",
        ])
        .arg("--database")
        .arg(dir.join("bo.db"))
        .arg("--config")
        .arg(root().join("kiosk-config"))
        .arg("--keys")
        .arg(root().join("backoffice/dev-keys.toml"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line.trim().trim_start_matches("listening on ").to_string();
    let base = format!("http://{addr}/v1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let prov = Prov { config_version: "bench".into(), session_id: "S-bench".into(), verification: "face".into() };
        let secs = 5.0;
        for n in [1usize, 8, 32] {
            let start = Instant::now();
            let mut tasks = Vec::new();
            for k in 0..n {
                let base = base.clone();
                let prov = prov.clone();
                tasks.push(tokio::spawn(async move {
                    let c = Client::new(ClientConfig::new(&base, "KSK-TEST-0001", key())).expect("client");
                    let body = "53010219900307153";
                    let id = format!("{body}{}", kiosk_core::ids::id_check_char(body.as_bytes()) as char);
                    let v = api::VerifyRequest { id_number: id, name: "王小明".into(), method: api::VerificationMethod::Face, face_score_milli: Some(700), sms_code: None };
                    let t = c.verify(&prov, &v).await.expect("verify").token;
                    let mut lat = Vec::new();
                    let mut i = 0;
                    while start.elapsed().as_secs_f64() < secs {
                        let t0 = Instant::now();
                        c.submit(&prov, &t, &format!("load-{n}-{k}-{i}"), &complaint(&format!("{n}-{k}-{i}"))).await.expect("submit");
                        lat.push(t0.elapsed().as_secs_f64() * 1e3);
                        i += 1;
                    }
                    lat
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("task"));
            }
            let el = start.elapsed().as_secs_f64();
            let count = all.len();
            println!(
                "FIGURE backoffice load: {n:>2} concurrent kiosks: {count} applications in {el:.1} s = {:.0} applications/s, p50 {:.1} ms, p99 {:.1} ms",
                count as f64 / el,
                pct(&mut all, 0.5),
                pct(&mut all, 0.99)
            );
        }

        // Outage, then drain: M submissions pile up in a kiosk's outbox while the back
        // office is down; how fast do they go once it is back?
        let http = reqwest::Client::new();
        let set = |down: bool| {
            let http = http.clone();
            let addr = addr.clone();
            async move {
                http.put(format!("http://{addr}/admin/faults")).header("x-admin-token", "bench").json(&api::Faults { down, ..Default::default() }).send().await.expect("faults");
            }
        };
        let mut cfg = ClientConfig::new(&base, "KSK-TEST-0001", key());
        cfg.attempts = 1;
        let c = Arc::new(Client::new(cfg).expect("client"));
        let body = "53010219800101123";
        let id = format!("{body}{}", kiosk_core::ids::id_check_char(body.as_bytes()) as char);
        let v = api::VerifyRequest { id_number: id.clone(), name: "张三丰".into(), method: api::VerificationMethod::Face, face_score_milli: Some(700), sms_code: None };
        let t = c.verify(&prov, &v).await.expect("verify").token;
        set(true).await;
        let ob = Outbox::open(&dir.join("outbox.db")).expect("outbox");
        let m = 300;
        let t_enq = Instant::now();
        for i in 0..m {
            ob.enqueue(&format!("drain-{i}"), &taxpayer_key(&id), &prov, &t, &Item::Submit(complaint(&format!("drain-{i}")))).expect("enqueue");
        }
        let enq = t_enq.elapsed().as_secs_f64();
        set(false).await;
        let t0 = Instant::now();
        loop {
            let r = ob.drain(&c).await.expect("drain");
            if r.still_pending == 0 {
                break;
            }
        }
        let el = t0.elapsed().as_secs_f64();
        println!(
            "FIGURE outbox: {m} queued during an outage (durable enqueue {:.2} ms each, synchronous=FULL); drained after recovery in {el:.2} s = {:.0} submissions/s",
            enq * 1e3 / m as f64,
            m as f64 / el
        );
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
