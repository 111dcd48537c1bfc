//! `tax-kiosk`: the kiosk program. Today it checks configuration bundles and runs the
//! terminal walk-through; the touch UI arrives with its issue.

use tax_kiosk::{bundle_dir, demo, summary};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kiosk_core::config::{self, Severity};

#[derive(Parser)]
#[command(name = "tax-kiosk", version, about = "Self-service tax hall kiosk")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Configuration bundle tools.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Walk through a kiosk session in the terminal on a configuration bundle.
    Demo {
        /// The bundle folder.
        #[arg(long, default_value = "kiosk-config")]
        config: PathBuf,
        /// Practice mode: every request goes to the local sandbox, none to the back office.
        #[arg(long)]
        practice: bool,
        /// The back office's base URL, instead of kiosk.toml's `endpoints.backoffice`.
        #[arg(long)]
        backoffice: Option<String>,
        /// This kiosk's signing key (a TOML `[kiosks]` table of kiosk id to hex key).
        #[arg(long, default_value = "backoffice/dev-keys.toml")]
        keys: PathBuf,
        /// The durable outbox.
        #[arg(long, default_value = "target/demo/kiosk-outbox.db")]
        outbox: PathBuf,
        /// The simulated bank's key, so the demo can play the taxpayer's bank app for QR
        /// payments against the reference back office.
        #[arg(long, env = "TAX_BACKOFFICE_BANK_KEY", default_value = "dev-bank-key")]
        bank_key: String,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Load and validate a bundle; print every problem, or a summary when it is good.
    Check {
        /// The bundle folder, e.g. kiosk-config
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Config {
            cmd: ConfigCmd::Check { dir },
        } => check(&dir),
        Cmd::Demo {
            config,
            practice,
            backoffice,
            keys,
            outbox,
            bank_key,
        } => match demo::run(
            &config,
            demo::Options {
                practice,
                backoffice,
                keys,
                outbox,
                bank_key,
            },
        ) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn check(dir: &std::path::Path) -> ExitCode {
    let files = match bundle_dir::read(dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match config::load(&files) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("{w}");
            }
            print!("{}", summary::summary(&loaded.bundle));
            ExitCode::SUCCESS
        }
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            let errors = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            eprintln!(
                "{} error(s), {} warning(s): the bundle was not accepted",
                errors,
                diags.len() - errors
            );
            ExitCode::from(1)
        }
    }
}
