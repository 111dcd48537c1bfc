//! What `tax-kiosk run` and `tax-kiosk demo` share at start: the bundle to load and how to
//! reach the back office. One place decides what a bad bundle or an unreachable back office
//! does (every problem printed and no start; a practice kiosk that says so), so the window
//! and the terminal walk-through cannot start differently.

use std::path::PathBuf;

use anyhow::Result;
use kiosk_core::config::{self, Bundle};

use crate::link::Link;

#[derive(clap::Args, Clone, Debug)]
pub struct Startup {
    /// The bundle folder.
    #[arg(long, default_value = "kiosk-config")]
    pub config: PathBuf,
    /// Practice mode (模拟办税): every request goes to the local sandbox, none to the back
    /// office.
    #[arg(long)]
    pub practice: bool,
    /// The back office's base URL, instead of kiosk.toml's `endpoints.backoffice`.
    #[arg(long)]
    pub backoffice: Option<String>,
    /// This kiosk's signing key (a TOML `[kiosks]` table of kiosk id to hex key).
    #[arg(long, default_value = "backoffice/dev-keys.toml")]
    pub keys: PathBuf,
    /// The durable outbox.
    #[arg(long, default_value = "target/demo/kiosk-outbox.db")]
    pub outbox: PathBuf,
    /// The simulated bank's key, so the demo can play the taxpayer's bank app for QR
    /// payments against the reference back office.
    #[arg(long, env = "TAX_BACKOFFICE_BANK_KEY", default_value = "dev-bank-key")]
    pub bank_key: String,
}

impl Startup {
    /// Loads the bundle (a bad one prints every problem and does not start) and connects
    /// the back office: a link when it answers; otherwise the kiosk runs as a practice
    /// kiosk and every screen says so. Which of the two, and why, goes to standard output
    /// (the terminal walk-through's screen).
    pub fn open(&self) -> Result<(Bundle, Option<Link>)> {
        let files = bundle_dir::read(&self.config)?;
        let mut bundle = match config::load(&files) {
            Ok(l) => l.bundle,
            Err(diags) => {
                for d in &diags {
                    eprintln!("{d}");
                }
                anyhow::bail!(
                    "the configuration in {} is not valid ({} problems); run `tax-kiosk config check {}` for details",
                    self.config.display(),
                    diags.len(),
                    self.config.display()
                );
            }
        };
        if let Some(url) = &self.backoffice {
            bundle.kiosk.endpoints.backoffice = url.clone();
        }
        if self.practice {
            bundle.kiosk.practice = true;
            return Ok((bundle, None));
        }
        let k = &bundle.kiosk;
        let l = Link::open(
            &k.endpoints.backoffice,
            &k.kiosk_id,
            &self.keys,
            &self.outbox,
            k.timeouts.backoffice_request_secs,
        )?;
        if !l.reachable() {
            println!(
                "back office {} is not reachable: running in practice mode (start it with `cargo run -p backoffice-server -- serve`)",
                k.endpoints.backoffice
            );
            bundle.kiosk.practice = true;
            return Ok((bundle, None));
        }
        println!(
            "back office: {} (outbox holds {} undelivered)",
            k.endpoints.backoffice,
            l.outbox_pending()
        );
        // The simulated bank lives beside the API, at the back office's root.
        let bank = k
            .endpoints
            .backoffice
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .to_string();
        let link = l.with_simulated_bank(&bank, &self.bank_key);
        Ok((bundle, Some(link)))
    }
}
