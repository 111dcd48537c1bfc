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
    Demo(tax_kiosk::startup::Startup),
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    startup: tax_kiosk::startup::Startup,
    /// A normal window, for desktops.
    #[arg(long)]
    windowed: bool,
    /// The 1080x1920 portrait layout.
    #[arg(long)]
    portrait: bool,
    #[arg(long, default_value = "target/demo/receipts.db")]
    journal: PathBuf,
    /// Printer profile (pos-80-gbk, pos-58-gbk, tm-t70ii-ch, tm-t20iii, zj-5870...).
    #[arg(long, default_value = "pos-80-gbk")]
    printer_profile: String,
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
        Cmd::Demo(startup) => match demo::run(&startup) {
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
        startup,
        windowed,
        portrait,
        journal,
        printer_profile,
        printer_emulator,
        hall,
        telemetry,
        hall_public_key,
    } = args;
    use std::sync::Arc;
    let (mut bundle, link) = startup.open()?;
    if let Some(url) = hall {
        bundle.kiosk.endpoints.hall = Some(url);
    }
    if let Some(url) = telemetry {
        bundle.kiosk.endpoints.telemetry = url;
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
    let mut opts = tax_kiosk::hall_port::HallOptions::new(
        startup.keys.clone(),
        startup.config.join("kiosk.toml"),
    );
    opts.public_key = hall_public_key;
    // Deliberate practice reaches no back office; a fallback to practice is a fault.
    opts.backoffice_reachable = startup.practice || link.is_some();
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
