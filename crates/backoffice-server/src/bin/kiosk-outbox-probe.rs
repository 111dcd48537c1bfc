//! A stand-in kiosk process for the exactly-once tests: it writes complaints (K09, a
//! back-office business) into a durable outbox and delivers them. Tests kill it with
//! SIGKILL at awkward moments and start it again.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use backoffice::{Client, ClientConfig, Item, Outbox, Prov, taxpayer_key};
use backoffice_api as api;
use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    base: String,
    #[arg(long)]
    outbox: PathBuf,
    #[arg(long, default_value = "KSK-TEST-0001")]
    kiosk: String,
    #[arg(long)]
    keys: PathBuf,
    /// Complaints to write before delivering; 0 only delivers what the outbox holds.
    #[arg(long, default_value_t = 0)]
    count: usize,
    #[arg(long, default_value = "probe")]
    tag: String,
}

fn main() -> Result<()> {
    let a = Args::parse();
    let keys = backoffice_server::read_keys(&std::fs::read_to_string(&a.keys)?)?;
    let key = keys.get(&a.kiosk).context("no key for this kiosk")?.clone();
    let mut cfg = ClientConfig::new(&a.base, &a.kiosk, key);
    cfg.timeout = Duration::from_secs(30);
    cfg.attempts = 1;
    let client = Client::new(cfg)?;
    let outbox = Outbox::open(&a.outbox)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let prov = Prov {
            config_version: "probe".into(),
            session_id: format!("S-{}", a.tag),
            verification: "face".into(),
        };
        if a.count > 0 {
            let body = "53010219900307153";
            let id = format!(
                "{body}{}",
                kiosk_core::ids::id_check_char(body.as_bytes()) as char
            );
            let req = api::VerifyRequest {
                id_number: id.clone(),
                name: "王小明".into(),
                method: api::VerificationMethod::Face,
                face_score_milli: Some(700),
                sms_code: None,
            };
            let token = client.verify(&prov, &req).await?.token;
            for i in 0..a.count {
                let values = [
                    ("category".to_string(), "quality".to_string()),
                    ("subject".to_string(), format!("探针{}-{i:04}", a.tag)),
                    (
                        "description".to_string(),
                        "办税服务厅自助终端排队时间过长，请改进".to_string(),
                    ),
                    ("phone".to_string(), "13800138000".to_string()),
                ];
                let item = Item::Submit(api::ApplicationRequest {
                    business: "K09".into(),
                    values: values.into_iter().collect(),
                    computed: Default::default(),
                });
                outbox.enqueue(
                    &format!("{}-{i:04}", a.tag),
                    &taxpayer_key(&id),
                    &prov,
                    &token,
                    &item,
                )?;
                println!("enqueued {i}");
            }
        }
        loop {
            let r = outbox.drain(&client).await?;
            println!(
                "drain delivered={} failed={} pending={}",
                r.delivered, r.failed, r.still_pending
            );
            if r.still_pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("done");
        anyhow::Ok(())
    })
}
