//! The kiosk's port to the hall console (`tax-hall`).
//!
//! It owns three things, all off the UI thread on a small tokio runtime of its own:
//! - the MQTT link ([`telemetry::KioskLink`]): every core telemetry effect, the device
//!   status (printer from `PrinterChecked`/`Printed`, back office reachability and outbox
//!   depth from the requests the kiosk makes), staff calls, errors and receipts go out
//!   through one ordered queue, so the hall sees screens in the order the kiosk showed
//!   them; a publish never waits long while the broker is away (the link keeps the
//!   retained states and sends them again on reconnect);
//! - the configuration gate ([`ConfigGate`], only with the hall's public key): a bundle
//!   the hall publishes is checked here (signature, then the loader with this machine's
//!   `kiosk.toml`) and handed to the UI thread, which feeds it to the core as
//!   `Event::NewConfig`; a refused one is reported and changes nothing;
//! - the ticket desk: the signed `POST` of a queue ticket to the hall's HTTP endpoint.
//!
//! The hall's commands and verified bundles wait in a queue that the UI thread drains
//! ([`HallPort::next`]); the port calls a notifier so that the real kiosk drains it at
//! once, and tests drain it themselves.
//!
//! It must never send personal data: the message types have no field for any, the ticket
//! request carries a business code and a category (never the form's prefill), and error
//! texts here are device and network words only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use kiosk_core::Localized;
use kiosk_core::config::{Bundle, Endpoints};
use kiosk_core::session::{Event, Outbound, PrinterState, Request, StaffAlert, Telemetry};
use telemetry::bundle::{ConfigGate, Offer, Refusal, Verified};
use telemetry::hall_api::{self, TicketRequest, TicketResponse};
use telemetry::{BrokerAddr, Command, DeviceStatus, Health, Incoming, KioskEvent, KioskLink};
use tokio::sync::{mpsc, oneshot};

use crate::ui::PrinterPort;

/// The software version the kiosk reports (heartbeats, ticket provenance), the same as
/// its back-office client's.
pub const SOFTWARE: &str = env!("CARGO_PKG_VERSION");

/// How to reach the hall and what to trust.
#[derive(Clone, Debug)]
pub struct HallOptions {
    /// The keys file the back-office link uses: the kiosk's key signs ticket requests and
    /// gives its broker password.
    pub keys_file: PathBuf,
    /// This machine's `kiosk.toml`: a bundle from the hall is checked together with it.
    pub kiosk_toml: PathBuf,
    /// The hall's configuration public key (`tax-hall config keygen`). Without it the
    /// kiosk ignores published bundles.
    pub public_key: Option<PathBuf>,
    pub heartbeat: Duration,
    /// Whether the back office answered at start (the first device status says so).
    pub backoffice_reachable: bool,
}

impl HallOptions {
    pub fn new(keys_file: PathBuf, kiosk_toml: PathBuf) -> HallOptions {
        HallOptions {
            keys_file,
            kiosk_toml,
            public_key: None,
            heartbeat: Duration::from_secs(5),
            backoffice_reachable: true,
        }
    }
}

/// What the hall asks of the UI thread.
pub enum FromHall {
    /// A verified bundle, with this kiosk's start-up overrides (endpoints, practice)
    /// applied: feed it to the core.
    Config(Arc<Bundle>),
    Command(Command),
}

/// The ordered queue to the MQTT link.
enum Out {
    Core(Telemetry),
    Printer(PrinterState),
    Printed(Result<(), Localized>),
    Backoffice {
        reachable: Option<bool>,
        latency_ms: Option<u32>,
        outbox: Option<u32>,
    },
    Devices {
        camera: Health,
        id_reader: Health,
    },
    Event(KioskEvent),
    Verified(Box<Verified>),
    Refused(String, Refusal),
    Shutdown(oneshot::Sender<()>),
}

type Notifier = Arc<Mutex<Option<Arc<dyn Fn() + Send + Sync>>>>;

fn notify(n: &Notifier) {
    let f = n.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(f) = f {
        f();
    }
}

/// A handle for worker threads: reports about devices and the network.
#[derive(Clone)]
pub struct Reporter {
    out: mpsc::UnboundedSender<Out>,
}

impl Reporter {
    /// After a back-office request: whether it was reached (None: this answer does not
    /// tell), how long it took, and the outbox depth.
    pub fn backoffice(&self, reachable: Option<bool>, latency: Option<Duration>, outbox: usize) {
        let _ = self.out.send(Out::Backoffice {
            reachable,
            latency_ms: latency.map(|d| d.as_millis().min(u32::MAX as u128) as u32),
            outbox: Some(outbox.min(u32::MAX as usize) as u32),
        });
    }

    /// A fault worth a line in the kiosk's history at the hall. Device and network words
    /// only: never a name, an ID number or a form value.
    pub fn error(&self, source: &str, message: &str) {
        let _ = self.out.send(Out::Event(KioskEvent::Error {
            source: source.into(),
            message: message.into(),
        }));
    }

    pub fn command_result(&self, id: &str, ok: bool, detail: &str) {
        eprintln!(
            "[hall] command {id}: {} ({detail})",
            if ok { "done" } else { "failed" }
        );
        let _ = self.out.send(Out::Event(KioskEvent::CommandResult {
            id: id.into(),
            ok,
            detail: detail.into(),
        }));
    }
}

/// Takes queue tickets from the hall's HTTP endpoint. `issue` blocks: call it off the UI
/// thread (`Controller::off_thread`).
pub struct TicketDesk {
    handle: tokio::runtime::Handle,
    http: reqwest::Client,
    base: Option<String>,
    key: Vec<u8>,
    reporter: Reporter,
}

fn unreachable_hall() -> Localized {
    Localized::new(
        "暂时无法连接大厅排队系统，未能取号。请到服务台人工取号。",
        "The hall's queue system cannot be reached, so no ticket was issued. Please ask at the service desk for a ticket.",
    )
}

impl TicketDesk {
    /// The hall's answer to a ticket request, as the core's event. A hall that cannot be
    /// reached gives an error the taxpayer reads, never a made-up ticket.
    pub fn issue(&self, o: &Outbound) -> Option<Event> {
        let Request::Ticket {
            business,
            category,
            appointment,
            idempotency_key,
            ..
        } = &o.request
        else {
            return None;
        };
        let Some(base) = &self.base else {
            self.reporter.error(
                "hall",
                "a ticket was asked for but kiosk.toml has no endpoints.hall",
            );
            return Some(Event::TicketIssued(Err(Localized::new(
                "本机未连接大厅排队系统，无法取号。请到服务台人工取号。",
                "This kiosk is not connected to the hall's queue, so it cannot issue tickets. Please ask at the service desk.",
            ))));
        };
        // The form's prefill stays on the kiosk: the hall gets the business and category.
        let body = serde_json::to_vec(&TicketRequest {
            business: business.clone(),
            category: hall_api::category_name(*category).to_string(),
            appointment: *appointment,
        })
        .ok()?;
        let url = format!("{}{}", base.trim_end_matches('/'), hall_api::TICKET_PATH);
        let path = reqwest::Url::parse(&url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| hall_api::TICKET_PATH.to_string());
        let p = &o.provenance;
        let headers = hall_api::signed_headers(
            &self.key,
            "POST",
            &path,
            &hall_api::Provenance {
                kiosk: &p.kiosk_id,
                software: SOFTWARE,
                config: &p.config_version,
                session: &p.session_id.0,
                verification: p.verification.code(),
                timestamp_ms: telemetry::now_ms(),
                idempotency_key,
            },
            &body,
        );
        let http = self.http.clone();
        let answer = self.handle.block_on(async move {
            let mut req = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            let res = req.send().await?;
            let status = res.status();
            let bytes = res.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        });
        Some(Event::TicketIssued(match answer {
            Ok((status, bytes)) if status.is_success() => {
                match serde_json::from_slice::<TicketResponse>(&bytes) {
                    Ok(t) => Ok(t.into()),
                    Err(e) => {
                        self.reporter
                            .error("hall", &format!("the ticket answer is unreadable: {e}"));
                        Err(unreachable_hall())
                    }
                }
            }
            Ok((status, bytes)) => {
                let api = serde_json::from_slice::<backoffice_api::ApiError>(&bytes).ok();
                self.reporter.error(
                    "hall",
                    &format!(
                        "ticket refused: HTTP {} {}",
                        status.as_u16(),
                        api.as_ref().map_or("", |a| a.code.as_str())
                    ),
                );
                match api {
                    // What the taxpayer can act on (no slot, a business the hall does not
                    // queue) in the hall's words; anything else is the kiosk's problem.
                    Some(a) if status.as_u16() == 409 || status.as_u16() == 422 => {
                        Err(Localized::new(a.message_zh, a.message_en))
                    }
                    _ => Err(unreachable_hall()),
                }
            }
            Err(e) => {
                let why = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                self.reporter
                    .error("hall", &format!("ticket request {why}: {base}"));
                Err(unreachable_hall())
            }
        }))
    }
}

/// What the kiosk's command line changed in its `kiosk.toml` at start; a bundle from the
/// hall is loaded with the file, so these are put back on it.
#[derive(Clone)]
struct Overrides {
    endpoints: Endpoints,
    practice: bool,
}

impl Overrides {
    fn apply(&self, b: &Bundle) -> Arc<Bundle> {
        let mut b = b.clone();
        b.kiosk.endpoints = self.endpoints.clone();
        b.kiosk.practice = self.practice;
        Arc::new(b)
    }
}

pub struct HallPort {
    rt: Option<tokio::runtime::Runtime>,
    out: mpsc::UnboundedSender<Out>,
    inbox: std::sync::mpsc::Receiver<FromHall>,
    notifier: Notifier,
    tickets: Arc<TicketDesk>,
    connected: Arc<AtomicBool>,
    linked: bool,
}

impl HallPort {
    /// Starts the port for the kiosk running `bundle` (its kiosk id, hall id, telemetry
    /// and hall endpoints). Returns at once; the link connects (and reconnects) by itself.
    /// Errors are configuration errors: no key for this kiosk, an unreadable public key.
    pub fn start(bundle: &Bundle, opts: HallOptions) -> Result<HallPort> {
        let k = &bundle.kiosk;
        let key = crate::link::kiosk_key(&opts.keys_file, &k.kiosk_id)?;
        let gate = match &opts.public_key {
            Some(pk) => Some(ConfigGate::open(pk, &opts.kiosk_toml).with_context(|| {
                format!(
                    "cannot use the hall's configuration public key {}",
                    pk.display()
                )
            })?),
            None => None,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hall-port")
            .enable_all()
            .build()?;
        let (out, out_rx) = mpsc::unbounded_channel();
        let (to_ui, inbox) = std::sync::mpsc::channel();
        let notifier: Notifier = Arc::new(Mutex::new(None));
        let connected = Arc::new(AtomicBool::new(false));
        let reporter = Reporter { out: out.clone() };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(
                k.timeouts.backoffice_request_secs.max(1) as u64,
            ))
            // Tickets are rare; a pooled connection to a hall that went away would only
            // delay the error.
            .pool_max_idle_per_host(0)
            .build()?;
        let tickets = Arc::new(TicketDesk {
            handle: rt.handle().clone(),
            http,
            base: k.endpoints.hall.clone(),
            key: key.clone(),
            reporter,
        });
        let mut linked = false;
        match BrokerAddr::parse(&k.endpoints.telemetry) {
            Ok(broker) => {
                let mut settings =
                    telemetry::LinkSettings::new(&k.hall_id, &k.kiosk_id, broker, &key, SOFTWARE);
                settings.heartbeat = opts.heartbeat;
                let (link, incoming) = {
                    let _in_rt = rt.enter();
                    KioskLink::start(settings)
                };
                let status = DeviceStatus {
                    backoffice: telemetry::BackofficeStatus {
                        reachable: opts.backoffice_reachable,
                        latency_ms: None,
                    },
                    ..DeviceStatus::default()
                };
                rt.spawn(publisher(link, out_rx, status, connected.clone()));
                rt.spawn(listen(
                    incoming,
                    gate,
                    Overrides {
                        endpoints: k.endpoints.clone(),
                        practice: k.practice,
                    },
                    out.clone(),
                    to_ui,
                    notifier.clone(),
                    connected.clone(),
                ));
                linked = true;
            }
            Err(e) => eprintln!(
                "[hall] no telemetry: {e}; the hall will not see this kiosk (tickets still go to {})",
                k.endpoints.hall.as_deref().unwrap_or("no hall")
            ),
        }
        Ok(HallPort {
            rt: Some(rt),
            out,
            inbox,
            notifier,
            tickets,
            connected,
            linked,
        })
    }

    /// Called whenever something waits in [`HallPort::next`] (from the port's thread).
    pub fn set_notify(&self, f: impl Fn() + Send + Sync + 'static) {
        *self.notifier.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// The next bundle or command for the UI thread, if any.
    pub fn next(&self) -> Option<FromHall> {
        self.inbox.try_recv().ok()
    }

    /// Whether the MQTT link is up now.
    pub fn connected(&self) -> bool {
        self.linked && self.connected.load(Ordering::Relaxed)
    }

    pub fn reporter(&self) -> Reporter {
        Reporter {
            out: self.out.clone(),
        }
    }

    pub fn tickets(&self) -> Arc<TicketDesk> {
        self.tickets.clone()
    }

    /// A core telemetry effect.
    pub fn core(&self, t: Telemetry) {
        let _ = self.out.send(Out::Core(t));
    }

    /// Camera and card reader: working, or absent (the screens offer demo stand-ins).
    pub fn devices(&self, camera: Health, id_reader: Health) {
        let _ = self.out.send(Out::Devices { camera, id_reader });
    }

    /// The core asked for staff; the hall raises it on its dashboard.
    pub fn staff_call(&self, alert: &StaffAlert) {
        let reason = match alert {
            StaffAlert::CallStaff { screen } => format!("call staff (screen {screen})"),
            StaffAlert::IdentityAssist => "identity check by staff".to_string(),
            StaffAlert::PrinterFault { detail } => format!("printer fault: {}", detail.en),
            StaffAlert::PaperLow => "paper low".to_string(),
        };
        let _ = self.out.send(Out::Event(KioskEvent::StaffCall { reason }));
    }

    /// Looks at an event on its way into the core: device answers change the status.
    pub fn observe(&self, ev: &Event) {
        match ev {
            Event::PrinterChecked(s) => {
                let _ = self.out.send(Out::Printer(s.clone()));
            }
            Event::Printed(r) => {
                let _ = self.out.send(Out::Printed(r.clone()));
            }
            _ => {}
        }
    }

    /// After a receipt printed (or failed to): its journal entry goes to the hall, so that
    /// staff can ask for a reprint by journal id. Ids, template, reference and state only.
    pub fn receipt(&self, printer: Arc<Mutex<PrinterPort>>, session: String) {
        let out = self.out.clone();
        self.spawn_blocking(move || {
            let Ok(p) = printer.lock() else { return };
            let PrinterPort::Escpos { journal, .. } = &*p else {
                return;
            };
            if let Ok(entries) = journal.session(&session)
                && let Some(e) = entries.last()
            {
                let _ = out.send(Out::Event(KioskEvent::Receipt {
                    journal_id: e.id,
                    template: e.template.clone(),
                    reference: e.reference.clone(),
                    state: state_name(e.state).into(),
                }));
            }
        });
    }

    /// The hall's reprint command: the named journal entry, on the ESC/POS printer.
    pub fn reprint(
        &self,
        printer: Arc<Mutex<PrinterPort>>,
        command: String,
        journal_id: i64,
        confirmed_by_staff: bool,
    ) {
        let reporter = self.reporter();
        self.spawn_blocking(move || {
            let (ok, detail) = match printer.lock().as_deref_mut() {
                Ok(PrinterPort::Escpos { printer, journal }) => {
                    match journal.reprint(printer.as_mut(), journal_id, confirmed_by_staff) {
                        Ok(Ok(_)) => (true, format!("receipt {journal_id} printed again")),
                        Ok(Err(e)) => (false, format!("receipt {journal_id}: printing failed: {e}")),
                        Err(e) => (false, e.to_string()),
                    }
                }
                Ok(PrinterPort::Memory(_)) => (
                    false,
                    "this kiosk runs without an ESC/POS printer and its receipt journal: nothing to reprint"
                        .to_string(),
                ),
                Err(_) => (false, "the printer port is unusable".to_string()),
            };
            reporter.command_result(&command, ok, &detail);
        });
    }

    fn spawn_blocking(&self, f: impl FnOnce() + Send + 'static) {
        if let Some(rt) = &self.rt {
            rt.spawn_blocking(f);
        }
    }

    /// A clean goodbye: the hall sees the kiosk go offline at once (not after the
    /// keep-alive), then the runtime stops.
    pub fn shutdown(mut self) {
        let Some(rt) = self.rt.take() else { return };
        let (tx, rx) = oneshot::channel();
        if self.linked && self.out.send(Out::Shutdown(tx)).is_ok() {
            let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(3), rx).await });
        }
        rt.shutdown_timeout(Duration::from_secs(1));
    }
}

impl Drop for HallPort {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn state_name(s: escpos_receipt::journal::State) -> &'static str {
    use escpos_receipt::journal::State;
    match s {
        State::Pending => "pending",
        State::Printed => "printed",
        State::Written => "written",
        State::Unconfirmed => "unconfirmed",
        State::NotPrinted => "not_printed",
    }
}

/// Printer words from the core's printer state. The core gets faults as localized text;
/// the printer's own fault words tell which kind it was.
fn printer_fault(p: &mut telemetry::PrinterStatus, detail: &Localized) {
    use escpos_receipt::Fault;
    let has = |f: Fault| detail.en.contains(&f.text().en);
    p.paper_out = has(Fault::PaperOut);
    p.cover_open = has(Fault::CoverOpen);
    // A fault that is neither paper nor cover (offline, cutter, any other error, or no
    // answer at all) makes the printer unusable.
    p.online = !has(Fault::Offline) && (p.paper_out || p.cover_open);
}

async fn send(
    connected: &AtomicBool,
    what: &str,
    f: impl Future<Output = Result<(), telemetry::Error>>,
) {
    // While the broker is away the link keeps the retained states and publishes them
    // again on reconnect; an event that cannot be queued at once is dropped rather than
    // holding up the queue behind it.
    let wait = if connected.load(Ordering::Relaxed) {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(50)
    };
    match tokio::time::timeout(wait, f).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("[hall] cannot publish {what}: {e}"),
        Err(_) => {}
    }
}

async fn publisher(
    link: KioskLink,
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut status: DeviceStatus,
    connected: Arc<AtomicBool>,
) {
    send(&connected, "status", link.status(&status)).await;
    while let Some(m) = rx.recv().await {
        let before = status.clone();
        match m {
            Out::Core(t) => send(&connected, "telemetry", link.core(&t)).await,
            Out::Printer(s) => match s {
                PrinterState::Ready => {
                    status.printer = telemetry::PrinterStatus::default();
                }
                PrinterState::PaperLow => {
                    status.printer = telemetry::PrinterStatus {
                        paper_near_end: true,
                        ..telemetry::PrinterStatus::default()
                    };
                }
                PrinterState::Fault(detail) => printer_fault(&mut status.printer, &detail),
            },
            Out::Printed(Ok(())) => {
                // It printed, so it is online with paper and its cover shut.
                let near_end = status.printer.paper_near_end;
                status.printer = telemetry::PrinterStatus {
                    paper_near_end: near_end,
                    ..telemetry::PrinterStatus::default()
                };
            }
            // A failed job may be the layout or the journal as well as the printer: the
            // next status check (DLE EOT) says which; the history gets the error now.
            Out::Printed(Err(detail)) => {
                send(&connected, "error", link.error("printer", &detail.en)).await;
            }
            Out::Backoffice {
                reachable,
                latency_ms,
                outbox,
            } => {
                if let Some(r) = reachable {
                    status.backoffice.reachable = r;
                    if r {
                        status.backoffice.latency_ms = latency_ms;
                    }
                }
                if let Some(n) = outbox {
                    status.outbox_depth = n;
                }
            }
            Out::Devices { camera, id_reader } => {
                status.camera = camera;
                status.id_reader = id_reader;
            }
            Out::Event(e) => send(&connected, "event", link.event(e)).await,
            Out::Verified(v) => link.verified(&v),
            Out::Refused(version, refusal) => {
                send(&connected, "refusal", link.refused(&version, &refusal)).await
            }
            Out::Shutdown(done) => {
                link.shutdown().await;
                let _ = done.send(());
                return;
            }
        }
        // The latency of each call alone is not news; reachability, paper and depth are.
        let mut a = before;
        a.backoffice.latency_ms = status.backoffice.latency_ms;
        if a != status {
            send(&connected, "status", link.status(&status)).await;
        }
    }
}

async fn listen(
    mut incoming: mpsc::UnboundedReceiver<Incoming>,
    mut gate: Option<ConfigGate>,
    overrides: Overrides,
    out: mpsc::UnboundedSender<Out>,
    to_ui: std::sync::mpsc::Sender<FromHall>,
    notifier: Notifier,
    connected: Arc<AtomicBool>,
) {
    let mut told_no_key = false;
    let mut last_news = None::<bool>;
    while let Some(m) = incoming.recv().await {
        match m {
            Incoming::Connected => {
                connected.store(true, Ordering::Relaxed);
                if last_news != Some(true) {
                    eprintln!("[hall] connected to the hall's broker");
                }
                last_news = Some(true);
            }
            Incoming::Disconnected(why) => {
                connected.store(false, Ordering::Relaxed);
                if last_news != Some(false) {
                    eprintln!("[hall] not connected to the hall's broker ({why}); retrying");
                }
                last_news = Some(false);
            }
            Incoming::Command(c) => {
                eprintln!("[hall] command {} from {}: {:?}", c.id, c.by, c.action);
                if to_ui.send(FromHall::Command(c)).is_err() {
                    return;
                }
                notify(&notifier);
            }
            Incoming::Bundle(msg) => {
                let Some(g) = gate.take() else {
                    if !told_no_key {
                        eprintln!(
                            "[hall] the hall publishes configuration bundles, but this kiosk was started without --hall-public-key: they are ignored"
                        );
                        told_no_key = true;
                    }
                    continue;
                };
                // The loader takes a moment on a full bundle: not on the link's worker.
                let Ok((g, offer)) = tokio::task::spawn_blocking(move || {
                    let mut g = g;
                    let offer = g.offer(&msg);
                    (g, offer)
                })
                .await
                else {
                    return;
                };
                gate = Some(g);
                match offer {
                    Offer::Apply(v) => {
                        eprintln!(
                            "[hall] configuration {} verified (local {})",
                            telemetry::bundle::short(&v.version),
                            v.bundle.version()
                        );
                        let bundle = overrides.apply(&v.bundle);
                        // Before the core can report it: its report names the local
                        // version, which the link maps back to the hall's.
                        let _ = out.send(Out::Verified(Box::new(v)));
                        if to_ui.send(FromHall::Config(bundle)).is_err() {
                            return;
                        }
                        notify(&notifier);
                    }
                    Offer::Unchanged => {}
                    Offer::Refuse { version, refusal } => {
                        eprintln!(
                            "[hall] configuration {} refused: {refusal}",
                            telemetry::bundle::short(&version)
                        );
                        let _ = out.send(Out::Refused(version, refusal));
                    }
                }
            }
            Incoming::Unreadable { topic, error } => {
                eprintln!("[hall] unreadable message on {topic}: {error}");
                let _ = out.send(Out::Event(KioskEvent::Error {
                    source: "telemetry".into(),
                    message: format!("unreadable message on {topic}"),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_faults_map_to_the_hall_words() {
        use escpos_receipt::Fault;
        let mut p = telemetry::PrinterStatus::default();
        printer_fault(&mut p, &Fault::PaperOut.text());
        assert!(p.paper_out && p.online && !p.cover_open);
        printer_fault(&mut p, &Fault::CoverOpen.text());
        assert!(p.cover_open && !p.paper_out);
        printer_fault(
            &mut p,
            &Localized::new("打印机无法使用", "The printer cannot be used: timed out"),
        );
        assert!(!p.online && !p.cover_open && !p.paper_out);
        printer_fault(&mut p, &Fault::Offline.text());
        assert!(!p.online);
    }
}
