//! `tax-hall`: the hall console binary. `serve` runs it; `user` manages accounts;
//! `config keygen|sign|verify` is IT's signing tool; `kiosk mqtt-password` prints the
//! broker password of a kiosk for an external broker's password file.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use hall::auth::{self, Role};
use hall::live::Thresholds;
use hall::{BrokerMode, Settings};
use telemetry::bundle;

#[derive(Parser)]
#[command(
    name = "tax-hall",
    version,
    about = "Hall console for the tax kiosks: status, alerts, queue tickets and call board, configuration swaps"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the console.
    Serve(Box<ServeArgs>),
    /// Staff and IT accounts.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Configuration bundle signing (IT).
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Kiosk credentials.
    Kiosk {
        #[command(subcommand)]
        cmd: KioskCmd,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Dashboard, call board and kiosk ticket endpoint. Put TLS in front of it (the
    /// session cookie is Secure) unless staff use it on this machine.
    #[arg(long, default_value = "127.0.0.1:8800")]
    listen: SocketAddr,
    /// Where the embedded broker listens for kiosks (ignored with --broker).
    #[arg(long, default_value = "0.0.0.0:1883")]
    mqtt_listen: SocketAddr,
    /// Use an existing broker instead of the embedded one: mqtt://[user:password@]host:port.
    #[arg(long, env = "TAX_HALL_BROKER")]
    broker: Option<String>,
    /// A SQLite file, or postgres://user:password@host:port/db for several halls on one console.
    #[arg(long, env = "TAX_HALL_DATABASE", default_value = "hall.db")]
    database: String,
    /// Kiosk keys: TOML `[kiosks] "KIOSK-ID" = "hex key"`, the back office's format.
    #[arg(long, default_value = "backoffice/dev-keys.toml")]
    keys: PathBuf,
    /// The bundle folder the console takes names, zones, schedule and the reference
    /// kiosk.toml from, until IT publishes a bundle.
    #[arg(long, default_value = "kiosk-config")]
    config: PathBuf,
    /// The configuration signing public key (from `tax-hall config keygen`).
    #[arg(long)]
    config_public_key: Option<PathBuf>,
    /// Halls that receive published bundles (repeat); default: the reference kiosk.toml's.
    #[arg(long = "hall")]
    halls: Vec<String>,
    #[arg(long, default_value_t = 60)]
    offline_alert_secs: u64,
    /// Silence after which a kiosk counts as offline (kiosks beat every 5 s).
    #[arg(long, default_value_t = 20)]
    heartbeat_timeout_secs: u64,
    #[arg(long, default_value_t = 600)]
    stuck_session_secs: u64,
    #[arg(long, default_value_t = 20)]
    outbox_backlog: u32,
    /// Mean service time until today has enough served tickets to measure it.
    #[arg(long, default_value_t = 6)]
    service_minutes: u32,
    /// Appointments per 15-minute slot.
    #[arg(long, default_value_t = 2)]
    appointment_capacity: u32,
    /// Session cookie without Secure and without the __Host- prefix: only for a trial
    /// over plain HTTP from another machine, never in production.
    #[arg(long)]
    insecure_cookies: bool,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add an account. The password is read from TAX_HALL_PASSWORD, or else from the
    /// first line of standard input.
    Add {
        name: String,
        #[arg(long, value_parser = ["staff", "it"])]
        role: String,
        #[arg(long, env = "TAX_HALL_DATABASE", default_value = "hall.db")]
        database: String,
    },
    /// Set an account's password (same input as `add`); ends its sessions.
    Passwd {
        name: String,
        #[arg(long, env = "TAX_HALL_DATABASE", default_value = "hall.db")]
        database: String,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Make a signing key pair: DIR/NAME.key (private, IT keeps it offline) and
    /// DIR/NAME.pub (for the console and every kiosk).
    Keygen {
        #[arg(long, default_value = ".")]
        out: PathBuf,
        #[arg(long, default_value = "config-signing")]
        name: String,
    },
    /// Sign a bundle folder: writes BUNDLE_DIR/bundle.sig over the shared files.
    Sign {
        bundle_dir: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a signed bundle folder as a kiosk would (signature, then the loader).
    Verify {
        bundle_dir: PathBuf,
        #[arg(long)]
        public_key: PathBuf,
    },
}

#[derive(Subcommand)]
enum KioskCmd {
    /// Print a kiosk's MQTT password (for `mosquitto_passwd`).
    MqttPassword {
        kiosk_id: String,
        #[arg(long, default_value = "backoffice/dev-keys.toml")]
        keys: PathBuf,
    },
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("TAX_HALL_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_keys(path: &PathBuf) -> Result<std::collections::HashMap<String, Vec<u8>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the kiosk keys file {}", path.display()))?;
    hall::read_keys(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // rumqttd logs every dropped kiosk connection as an error; the console
                // records kiosk presence itself.
                .unwrap_or_else(|_| {
                    "info,rumqttd=warn,rumqttd::server::broker=off,rumqttc=warn".into()
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new()?;
    match cli.cmd {
        Cmd::Serve(a) => rt.block_on(serve(*a)),
        Cmd::User { cmd } => rt.block_on(async {
            match cmd {
                UserCmd::Add {
                    name,
                    role,
                    database,
                } => {
                    let db = hall::db::Db::open(&database).await?;
                    let role = Role::parse(&role).context("role is staff or it")?;
                    let password = read_password()?;
                    auth::add_user(&db, &name, role, &password).await?;
                    auth::audit(&db, "cli", "user_add", &name, role.code(), None).await?;
                    println!("added {name} ({})", role.code());
                    Ok(())
                }
                UserCmd::Passwd { name, database } => {
                    let db = hall::db::Db::open(&database).await?;
                    let password = read_password()?;
                    auth::set_password(&db, &name, &password).await?;
                    auth::audit(&db, "cli", "user_password", &name, "", None).await?;
                    println!("password of {name} changed");
                    Ok(())
                }
            }
        }),
        Cmd::Config { cmd } => config_cmd(cmd),
        Cmd::Kiosk {
            cmd: KioskCmd::MqttPassword { kiosk_id, keys },
        } => {
            let keys = read_keys(&keys)?;
            let key = keys
                .get(&kiosk_id)
                .with_context(|| format!("no key for kiosk {kiosk_id}"))?;
            println!("{}", telemetry::mqtt_password(key));
            Ok(())
        }
    }
}

fn config_cmd(cmd: ConfigCmd) -> Result<()> {
    match cmd {
        ConfigCmd::Keygen { out, name } => {
            std::fs::create_dir_all(&out)?;
            let key = bundle::generate_key();
            let private = out.join(format!("{name}.key"));
            let public = out.join(format!("{name}.pub"));
            if private.exists() {
                bail!(
                    "{} exists; refusing to overwrite a signing key",
                    private.display()
                );
            }
            write_private(
                &private,
                &format!(
                    "# tax-hall configuration signing key (ed25519, private). Keep it off the console.\n{}\n",
                    hex::encode(key.to_bytes())
                ),
            )?;
            std::fs::write(
                &public,
                format!(
                    "# tax-hall configuration public key (ed25519). Give it to the console and every kiosk.\n{}\n",
                    hex::encode(key.verifying_key().to_bytes())
                ),
            )?;
            println!(
                "private key: {}\npublic key:  {}",
                private.display(),
                public.display()
            );
            Ok(())
        }
        ConfigCmd::Sign { bundle_dir, key } => {
            let key = bundle::read_signing_key(&key)?;
            let files = bundle::read_dir(&bundle_dir)?;
            // Sign only what passes the checks: a signature says "IT approved this".
            if let Err(diags) = kiosk_core::config::load(&files) {
                for d in &diags {
                    eprintln!("{d}");
                }
                bail!(
                    "{} does not pass the configuration check; not signed",
                    bundle_dir.display()
                );
            }
            let sig = bundle::sign(&files, &key);
            let path = bundle_dir.join(bundle::SIGNATURE_FILE);
            std::fs::write(&path, sig.to_text())?;
            println!(
                "signed {} (version {}) -> {}",
                bundle_dir.display(),
                bundle::short(&sig.version),
                path.display()
            );
            Ok(())
        }
        ConfigCmd::Verify {
            bundle_dir,
            public_key,
        } => {
            let key = bundle::read_public_key(&public_key)?;
            let files = bundle::read_dir(&bundle_dir)?;
            let sig_text = files.files.get(bundle::SIGNATURE_FILE).with_context(|| {
                format!("{} has no {}", bundle_dir.display(), bundle::SIGNATURE_FILE)
            })?;
            let sig = bundle::SignatureFile::parse(&String::from_utf8_lossy(sig_text))
                .map_err(anyhow::Error::msg)?;
            let kiosk_toml = files
                .files
                .get(bundle::LOCAL_FILE)
                .cloned()
                .unwrap_or_default();
            let msg = bundle::to_message(&files, &sig, 0, "verify");
            match bundle::check(&msg, &key, &kiosk_toml) {
                Ok(v) => {
                    println!(
                        "ok: version {} (local {})",
                        bundle::short(&v.version),
                        v.bundle.version()
                    );
                    Ok(())
                }
                Err(r) => bail!("refused: {r}"),
            }
        }
    }
}

fn write_private(path: &PathBuf, text: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

async fn serve(a: ServeArgs) -> Result<()> {
    let kiosk_keys = read_keys(&a.keys)?;
    let config_public_key = match &a.config_public_key {
        Some(p) => Some(bundle::read_public_key(p)?),
        None => {
            tracing::warn!("no --config-public-key: configuration uploads will be refused");
            None
        }
    };
    let broker = match &a.broker {
        Some(url) => BrokerMode::External(telemetry::BrokerAddr::parse(url)?),
        None => BrokerMode::Embedded {
            listen: a.mqtt_listen,
        },
    };
    let settings = Settings {
        listen: a.listen,
        broker,
        database: a.database.clone(),
        kiosk_keys,
        reference_bundle: a.config.clone(),
        config_public_key,
        halls: a.halls.clone(),
        thresholds: Thresholds {
            heartbeat_timeout_ms: a.heartbeat_timeout_secs as i64 * 1000,
            offline_alert_ms: a.offline_alert_secs as i64 * 1000,
            stuck_session_ms: a.stuck_session_secs as i64 * 1000,
            outbox_backlog: a.outbox_backlog,
        },
        secure_cookies: !a.insecure_cookies,
        default_service_minutes: a.service_minutes,
        appointment_capacity: a.appointment_capacity,
    };
    let running = hall::start(settings).await?;
    // One line on stdout that scripts and tests can wait for.
    println!(
        "tax-hall listening http://{} mqtt://{}:{}",
        running.http, running.mqtt.0, running.mqtt.1
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
        r = running.server => { r?; }
    }
    hall::ingest::flush_snapshots(&running.app);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    Ok(())
}

async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}
