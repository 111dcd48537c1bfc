//! `tax-backoffice`: the reference back office. `serve` runs it; `openapi` prints the API
//! document that `docs/openapi.json` must match.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, Result};
use backoffice_server::{ApiDoc, Settings, State, db, read_keys, serve};
use clap::{Parser, Subcommand};
use utoipa::OpenApi;

#[derive(Parser)]
#[command(
    name = "tax-backoffice",
    version,
    about = "Reference back office for the tax hall kiosks"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: String,
        #[arg(long, default_value = "target/backoffice.db")]
        database: PathBuf,
        /// The configuration bundle, for the businesses and their forms.
        #[arg(long, default_value = "kiosk-config")]
        config: PathBuf,
        /// TOML with `[kiosks] "KIOSK-ID" = "hex key"`.
        #[arg(long, default_value = "backoffice/dev-keys.toml")]
        keys: PathBuf,
        #[arg(
            long,
            env = "TAX_BACKOFFICE_ADMIN_TOKEN",
            default_value = "dev-admin-token"
        )]
        admin_token: String,
        #[arg(long, env = "TAX_BACKOFFICE_BANK_KEY", default_value = "dev-bank-key")]
        bank_key: String,
        #[arg(long, default_value_t = 4)]
        workers: usize,
        /// Milliseconds a back-office application spends in each state.
        #[arg(long, default_value_t = 3000)]
        bo_step_ms: u64,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Openapi => {
            println!("{}", ApiDoc::openapi().to_pretty_json()?);
            Ok(())
        }
        Cmd::Serve {
            listen,
            database,
            config,
            keys,
            admin_token,
            bank_key,
            workers,
            bo_step_ms,
        } => {
            let files = read_bundle(&config)?;
            let bundle = kiosk_core::config::load(&files).map_err(|d| {
                let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
                anyhow::anyhow!(
                    "the configuration in {} is not valid:\n{}",
                    config.display(),
                    lines.join("\n")
                )
            })?;
            let key_text = std::fs::read_to_string(&keys)
                .with_context(|| format!("cannot read the kiosk keys file {}", keys.display()))?;
            let kiosk_keys: HashMap<String, Vec<u8>> =
                read_keys(&key_text).with_context(|| format!("in {}", keys.display()))?;
            if let Some(dir) = database.parent() {
                std::fs::create_dir_all(dir).ok();
            }
            let mut conn = db::open(&database.to_string_lossy())
                .with_context(|| format!("cannot open the database {}", database.display()))?;
            db::seed(&mut conn)?;
            let settings = Settings {
                listen: listen.clone(),
                database,
                bundle: config,
                kiosk_keys,
                admin_token,
                bank_key,
                workers,
                bo_step_ms,
                min_face_score_milli: 363,
            };
            let state = Arc::new(State {
                settings,
                bundle: Arc::new(bundle.bundle),
                db: Mutex::new(conn),
                faults: RwLock::new(Default::default()),
                requests: AtomicU64::new(0),
            });
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                serve(state, listener).await
            })
        }
    }
}

fn read_bundle(dir: &std::path::Path) -> Result<kiosk_core::config::BundleFiles> {
    let mut files = kiosk_core::config::BundleFiles::default();
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut kiosk_core::config::BundleFiles,
    ) -> Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let p = e?.path();
            if p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p
                    .strip_prefix(root)?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&p)?);
            }
        }
        Ok(())
    }
    walk(dir, dir, &mut files)?;
    Ok(files)
}
