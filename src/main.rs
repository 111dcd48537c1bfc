//! `tax-kiosk`: the kiosk program. Today it checks configuration bundles and runs the
//! terminal walk-through; the touch UI arrives with its issue.

use tax_kiosk::{demo, summary};

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
    /// Run the kiosk: the fullscreen touch UI.
    Run(RunArgs),
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

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, default_value = "kiosk-config")]
    config: PathBuf,
    /// A normal window, for desktops.
    #[arg(long)]
    windowed: bool,
    /// The 1080x1920 portrait layout.
    #[arg(long)]
    portrait: bool,
    /// Practice mode: nothing leaves the kiosk.
    #[arg(long)]
    practice: bool,
    #[arg(long)]
    backoffice: Option<String>,
    #[arg(long, default_value = "backoffice/dev-keys.toml")]
    keys: PathBuf,
    #[arg(long, default_value = "target/demo/kiosk-outbox.db")]
    outbox: PathBuf,
    #[arg(long, default_value = "target/demo/receipts.db")]
    journal: PathBuf,
    /// Printer profile (pos-80-gbk, pos-58-gbk, tm-t70ii-ch, tm-t20iii, zj-5870...).
    #[arg(long, default_value = "pos-80-gbk")]
    printer_profile: String,
    #[arg(long, env = "TAX_BACKOFFICE_BANK_KEY", default_value = "dev-bank-key")]
    bank_key: String,
    /// Print on the emupos printer emulator (installed by scripts/setup-printer)
    /// instead of the printer in kiosk.toml.
    #[arg(long)]
    printer_emulator: bool,
    /// The hall console's web address (queue tickets), instead of kiosk.toml's
    /// `endpoints.hall`.
    #[arg(long)]
    hall: Option<String>,
    /// The hall's MQTT broker (mqtt://host:port), instead of kiosk.toml's
    /// `endpoints.telemetry`.
    #[arg(long)]
    telemetry: Option<String>,
    /// The hall's configuration public key (`tax-hall config keygen`): with it the
    /// kiosk applies the bundles the hall publishes (between sessions); without it
    /// they are ignored.
    #[arg(long)]
    hall_public_key: Option<PathBuf>,
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
        Cmd::Run(args) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
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

fn run(args: RunArgs) -> anyhow::Result<()> {
    let RunArgs {
        config,
        windowed,
        portrait,
        practice,
        backoffice,
        keys,
        outbox,
        journal,
        printer_profile,
        bank_key,
        printer_emulator,
        hall,
        telemetry,
        hall_public_key,
    } = args;
    use std::sync::Arc;
    let files = bundle_dir::read(&config)?;
    let mut bundle = config::load(&files)
        .map_err(|d| {
            anyhow::anyhow!(
                "the configuration is not valid; run `tax-kiosk config check {}` ({} problems)",
                config.display(),
                d.len()
            )
        })?
        .bundle;
    if let Some(url) = backoffice {
        bundle.kiosk.endpoints.backoffice = url;
    }
    if let Some(url) = hall {
        bundle.kiosk.endpoints.hall = Some(url);
    }
    if let Some(url) = telemetry {
        bundle.kiosk.endpoints.telemetry = url;
    }
    let mut link = None;
    if practice {
        bundle.kiosk.practice = true;
    } else {
        let k = &bundle.kiosk;
        let l = tax_kiosk::link::Link::open(
            &k.endpoints.backoffice,
            &k.kiosk_id,
            &keys,
            &outbox,
            k.timeouts.backoffice_request_secs,
        )?;
        if l.reachable() {
            let bank = k
                .endpoints
                .backoffice
                .trim_end_matches('/')
                .trim_end_matches("/v1")
                .to_string();
            link = Some(l.with_simulated_bank(&bank, &bank_key));
        } else {
            eprintln!(
                "back office {} is not reachable: running in practice mode",
                k.endpoints.backoffice
            );
            bundle.kiosk.practice = true;
        }
    }
    // The printer: the emulator for the demo, else kiosk.toml's. Without one, receipts are
    // kept in memory, the e-receipt is offered, and the attract screen says so.
    let mut notice = String::new();
    let mut _emulator = None;
    let mut endpoint = bundle.kiosk.endpoints.printer.clone();
    if printer_emulator {
        match escpos_receipt::emulator::find_binary() {
            Some(bin) => {
                let dir =
                    std::env::temp_dir().join(format!("tax-kiosk-emupos-{}", std::process::id()));
                let spec = escpos_receipt::emulator::DeviceSpec {
                    id: "kiosk".into(),
                    width_dots: 576,
                    serial: false,
                };
                let e = escpos_receipt::emulator::Emulator::start(&bin, &dir, &[spec], true)?;
                let port = e.device("kiosk").map(|d| d.tcp_port).unwrap_or(9100);
                endpoint = format!("tcp://127.0.0.1:{port}");
                eprintln!(
                    "printer: emupos emulator at {endpoint}; its receipts are under {}",
                    dir.display()
                );
                _emulator = Some(e);
            }
            None => {
                std::fs::create_dir_all("target/demo").ok();
                endpoint = format!(
                    "file://{}",
                    std::fs::canonicalize(".")?
                        .join("target/demo/receipts.bin")
                        .display()
                );
                notice = "打印机模拟器未安装（需要 Python 3.13，见 scripts/setup-printer），凭证写入文件 target/demo/receipts.bin · The printer emulator is not installed; receipts go to target/demo/receipts.bin".into();
            }
        }
    }
    let printer = match tax_kiosk::ui::PrinterPort::escpos(&endpoint, &printer_profile, &journal) {
        Ok(p) => p,
        Err(e) => {
            notice =
                format!("打印机不可用，提供电子凭证 · No printer ({e}); e-receipts are offered");
            tax_kiosk::ui::PrinterPort::Memory(Vec::new())
        }
    };
    // The hall console: telemetry, configuration from the hall, queue tickets. A kiosk
    // whose hall is away keeps serving; the link reconnects by itself.
    let mut opts = tax_kiosk::hall_port::HallOptions::new(keys, config.join("kiosk.toml"));
    opts.public_key = hall_public_key;
    // Deliberate practice reaches no back office; a fallback to practice is a fault.
    opts.backoffice_reachable = practice || link.is_some();
    // Without its key (a desk trial with --practice and no keys file) the kiosk still
    // serves; it says so, and the hall simply does not see it.
    let hall_port = match tax_kiosk::hall_port::HallPort::start(&bundle, opts) {
        Ok(p) => {
            eprintln!(
                "hall: telemetry to {}, tickets from {}",
                bundle.kiosk.endpoints.telemetry,
                bundle
                    .kiosk
                    .endpoints
                    .hall
                    .as_deref()
                    .unwrap_or("nowhere (no endpoints.hall)")
            );
            Some(p)
        }
        Err(e) => {
            eprintln!("hall: not connected ({e:#}); the kiosk runs without the hall console");
            None
        }
    };
    tax_kiosk::ui::run_window(
        Arc::new(bundle),
        link,
        printer,
        tax_kiosk::ui::WindowOptions {
            windowed,
            portrait,
            notice,
            hall: hall_port,
        },
    )
}
