//! `tax-backoffice`: the reference back office. `serve` runs it; `openapi` prints the API
//! document that `docs/openapi.json` must match.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use backoffice_server::{ApiDoc, Settings, prepare, read_keys, serve};
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
            let key_text = std::fs::read_to_string(&keys)
                .with_context(|| format!("cannot read the kiosk keys file {}", keys.display()))?;
            let kiosk_keys: HashMap<String, Vec<u8>> =
                read_keys(&key_text).with_context(|| format!("in {}", keys.display()))?;
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
            let state = prepare(settings)?;
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
