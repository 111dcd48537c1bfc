//! The Slint shell: it fills the UI's globals from the session core and turns the person's
//! taps into events. Device and network work runs off the UI thread (or inline in tests)
//! and comes back as events through the event loop.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use kiosk_core::config::{Bundle, FieldKind, Mode, ZoneHours};
use kiosk_core::form;
use kiosk_core::session::*;
use kiosk_core::{Lang, Localized};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::demo::{demo_card, local_time, receipt_text};
use crate::link::Link;
use crate::sandbox::Sandbox;

slint::include_modules!();

/// How effects that take time are executed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Run {
    /// On worker threads, answers posted back to the event loop (the real kiosk).
    Threaded,
    /// Inline, answers fed back at once (tests drive the UI without an event loop).
    Inline,
}

/// Where receipts go.
pub enum PrinterPort {
    /// Text rendering kept in memory (kiosks started without a printer, and some tests).
    Memory(Vec<String>),
    /// A real ESC/POS printer (or the emulator) with the receipt journal.
    Escpos {
        printer: Box<escpos_receipt::Printer>,
        journal: escpos_receipt::Journal,
    },
}

impl PrinterPort {
    /// Opens the printer at `endpoint` (tcp://, usb://, serial://, file://) with a profile,
    /// and the journal in `journal_file`.
    pub fn escpos(
        endpoint: &str,
        profile: &str,
        journal_file: &std::path::Path,
    ) -> anyhow::Result<PrinterPort> {
        use anyhow::Context;
        let profile = escpos_receipt::PrinterProfile::by_id(profile)
            .with_context(|| format!("unknown printer profile {profile}"))?;
        let font = escpos_receipt::raster::CjkFont::system().ok().map(Arc::new);
        let printer = escpos_receipt::Printer::new(
            endpoint
                .parse()
                .with_context(|| format!("bad printer endpoint {endpoint}"))?,
            profile,
            font,
        );
        if let Some(d) = journal_file.parent() {
            std::fs::create_dir_all(d).ok();
        }
        let journal = escpos_receipt::Journal::open(journal_file)?;
        Ok(PrinterPort::Escpos {
            printer: Box::new(printer),
            journal,
        })
    }

    fn check(&mut self) -> Event {
        match self {
            PrinterPort::Memory(_) => Event::PrinterChecked(PrinterState::Ready),
            PrinterPort::Escpos { printer, .. } => Event::PrinterChecked(match printer.status() {
                Ok(st) => st.to_printer_state(),
                Err(e) => PrinterState::Fault(Localized::new(
                    format!("打印机无法使用：{e}"),
                    format!("The printer cannot be used: {e}"),
                )),
            }),
        }
    }

    /// A marked copy of the session's last receipt. With a journal, the copy is of what
    /// was recorded, and it is refused while the first may still come out of the printer
    /// (sent, never confirmed): never a blind reprint.
    fn reprint(&mut self, bundle: &Bundle, session: &str, job: &PrintJob) -> Event {
        match self {
            PrinterPort::Memory(v) => {
                v.push(format!("{}\n（补打 · COPY）", receipt_text(bundle, job)));
                Event::Printed(Ok(()))
            }
            PrinterPort::Escpos { printer, journal } => {
                let last = journal
                    .session(session)
                    .ok()
                    .and_then(|v| v.into_iter().max_by_key(|e| e.id));
                let Some(entry) = last else {
                    // Nothing recorded (the first job never got to the printer).
                    return self.print(bundle, session, job);
                };
                match journal.reprint(printer, entry.id, false) {
                    Ok(Ok(_)) => Event::Printed(Ok(())),
                    Ok(Err(e)) => Event::Printed(Err(Localized::new(
                        format!("补打失败：{e}"),
                        format!("The copy could not be printed: {e}"),
                    ))),
                    Err(escpos_receipt::Error::Journal(_)) => Event::Printed(Err(Localized::new(
                        "上一张凭证可能仍会打出。请工作人员检查打印机后再补打，或扫码保存电子凭证。",
                        "The first receipt may still come out. Staff must check the printer before a copy is printed; or scan the code for the e-receipt.",
                    ))),
                    Err(e) => Event::Printed(Err(Localized::new(
                        format!("凭证记录失败：{e}"),
                        format!("The receipt journal failed: {e}"),
                    ))),
                }
            }
        }
    }

    fn print(&mut self, bundle: &Bundle, session: &str, job: &PrintJob) -> Event {
        match self {
            PrinterPort::Memory(v) => {
                v.push(receipt_text(bundle, job));
                Event::Printed(Ok(()))
            }
            PrinterPort::Escpos { printer, journal } => {
                let layout = match escpos_receipt::Layout::from_bundle(bundle, job) {
                    Ok(l) => l,
                    Err(e) => {
                        return Event::Printed(Err(Localized::new(
                            format!("凭证无法生成：{e}"),
                            format!("The receipt could not be laid out: {e}"),
                        )));
                    }
                };
                match journal.print(printer, session, &layout) {
                    Ok((_, Ok(_))) => Event::Printed(Ok(())),
                    Ok((_, Err(e))) => Event::Printed(Err(Localized::new(
                        format!("打印失败：{e}"),
                        format!("Printing failed: {e}"),
                    ))),
                    Err(e) => Event::Printed(Err(Localized::new(
                        format!("凭证记录失败：{e}"),
                        format!("The receipt journal failed: {e}"),
                    ))),
                }
            }
        }
    }
}

pub struct Controller {
    pub ui: AppWindow,
    kiosk: Kiosk,
    sandbox: Sandbox,
    link: Option<Arc<Mutex<Link>>>,
    pub printer: Arc<Mutex<PrinterPort>>,
    run: Run,
    errors: BTreeMap<String, String>,
    raw: BTreeMap<String, String>,
    message: Option<(String, bool)>,
    idle: Option<u32>,
    voice: bool,
    /// Started at construction; times in events are milliseconds since then.
    clock: std::time::Instant,
    /// What was spoken (the voice port's log; espeak-ng speaks it when present).
    pub spoken: Vec<String>,
    speak_with_espeak: bool,
    /// A device fallback the attract screen mentions (e.g. no printer).
    pub device_notice: String,
    /// Staff closed the app with the exit PIN.
    pub exited: bool,
    /// The card reader and camera; without them (tests, a desk) the screens offer demo
    /// stand-ins.
    face: Option<Arc<crate::face_port::FacePort>>,
    /// The hall console: telemetry out, configuration bundles and commands in, tickets.
    hall: Option<crate::hall_port::HallPort>,
    /// Smart consultation: the index of the active bundle, what was asked, and what the
    /// hall's visitors ask most (ids only, no personal data).
    consult: Option<consult::Consultation>,
    query: String,
    popular: consult::Popular,
    /// Where the popular-question counts are kept between runs (ids and counts only).
    popular_file: Option<std::path::PathBuf>,
    /// The field whose on-screen pad is open: `None` until the person or the step's first
    /// empty field decides, `Some("")` once the person closed it.
    open_field: Option<String>,
    /// Years that period pickers were moved to before a month was picked.
    period_years: BTreeMap<String, i32>,
    /// The open keypad has not been typed on yet: its first digit replaces what the field
    /// holds (a pre-filled 0.00, or a value being corrected), as on a calculator.
    pad_fresh: bool,
    /// The letter keyboard's state (pinyin being composed, mode, page) and the field, or
    /// the search box, it types into.
    keyboard: Option<(String, pinyin_ime::Composer)>,
    /// The staff exit PIN as typed on its keypad; cleared whenever the prompt opens or
    /// closes.
    pin: String,
}

/// The pad ids that are not form fields: the question box and the staff exit PIN.
const SEARCH: &str = "search";
const STAFF_PIN: &str = "staff_pin";

type Shared = Rc<RefCell<Controller>>;

impl Controller {
    pub fn new(
        bundle: Arc<Bundle>,
        link: Option<Link>,
        run: Run,
    ) -> Result<Shared, slint::PlatformError> {
        let ui = AppWindow::new()?;
        let seed = std::process::id() as u64 ^ 0x7a11;
        let c = Rc::new(RefCell::new(Controller {
            ui,
            kiosk: Kiosk::new(bundle, seed),
            sandbox: Sandbox::default(),
            link: link.map(|l| Arc::new(Mutex::new(l))),
            printer: Arc::new(Mutex::new(PrinterPort::Memory(Vec::new()))),
            run,
            errors: BTreeMap::new(),
            raw: BTreeMap::new(),
            message: None,
            idle: None,
            voice: false,
            clock: std::time::Instant::now(),
            spoken: Vec::new(),
            speak_with_espeak: run == Run::Threaded && which("espeak-ng"),
            device_notice: String::new(),
            exited: false,
            face: None,
            hall: None,
            consult: None,
            query: String::new(),
            popular: consult::Popular::new(String::new()),
            popular_file: None,
            open_field: None,
            period_years: BTreeMap::new(),
            pad_fresh: false,
            keyboard: None,
            pin: String::new(),
        }));
        // The pinyin keyboard's tables take a moment to build: not on the first key.
        if run == Run::Threaded {
            workers().spawn_blocking(|| {
                crate::pad::ime();
            });
        }
        {
            let mut cm = c.borrow_mut();
            let b = cm.kiosk.active_bundle().clone();
            cm.popular = consult::Popular::new(b.kiosk.hall_id.clone());
            cm.consult = Some(consult::Consultation::new(b));
        }
        wire(&c);
        c.borrow_mut().render();
        Ok(c)
    }

    /// Keeps the hall's popular questions in `path` (loaded now, saved on each count).
    pub fn set_popular_file(&mut self, path: std::path::PathBuf) {
        let hall = self.kiosk.active_bundle().kiosk.hall_id.clone();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        if let Ok(p) = consult::Popular::load(&path, &hall) {
            self.popular = p;
        }
        self.popular_file = Some(path);
    }

    pub fn set_face(&mut self, port: crate::face_port::FacePort) {
        self.face = Some(Arc::new(port));
    }

    /// Connects the hall console. In the kiosk (`Run::Threaded`) its bundles and commands
    /// are handled as they arrive; tests (`Run::Inline`) call [`Controller::pump_hall`].
    pub fn attach_hall(this: &Shared, port: crate::hall_port::HallPort) {
        if this.borrow().run == Run::Threaded {
            port.set_notify(|| {
                let _ = slint::invoke_from_event_loop(|| {
                    let c = CONTROLLER.with(|c| c.borrow().clone());
                    if let Some(c) = c {
                        Controller::pump_hall(&c);
                    }
                });
            });
        }
        {
            let mut c = this.borrow_mut();
            // Without the camera and card reader the screens offer demo stand-ins.
            let fitted = if c.face.is_some() {
                telemetry::Health::Ok
            } else {
                telemetry::Health::Absent
            };
            port.devices(fitted.clone(), fitted);
            // Where the kiosk is now; from here on the core's telemetry says.
            port.core(Telemetry::Screen {
                screen: c.kiosk.screen().name(),
                zone: None,
                business: None,
                practice: false,
            });
            c.hall = Some(port);
        }
        Controller::pump_hall(this);
    }

    /// Stops the hall link with a goodbye: the hall sees the kiosk offline at once.
    pub fn detach_hall(this: &Shared) {
        let port = this.borrow_mut().hall.take();
        if let Some(p) = port {
            p.shutdown();
        }
    }

    /// Whether the MQTT link to the hall is up.
    pub fn hall_connected(&self) -> bool {
        self.hall.as_ref().is_some_and(|h| h.connected())
    }

    /// Handles what the hall sent: a verified bundle goes to the core (which keeps it
    /// until a running session ends), a command is carried out and answered.
    pub fn pump_hall(this: &Shared) {
        loop {
            let next = this.borrow().hall.as_ref().and_then(|h| h.next());
            match next {
                None => return,
                Some(crate::hall_port::FromHall::Config(b)) => {
                    Controller::feed(this, Event::NewConfig(b))
                }
                Some(crate::hall_port::FromHall::Command(c)) => Controller::hall_command(this, c),
            }
        }
    }

    fn hall_command(this: &Shared, cmd: telemetry::Command) {
        let Some(reporter) = this.borrow().hall.as_ref().map(|h| h.reporter()) else {
            return;
        };
        match cmd.action {
            telemetry::Action::ReturnToAttract => {
                let running = this.borrow().kiosk.session().is_some();
                // For the core this is the person walking away: the session ends with the
                // wipe, and the attract screen follows.
                Controller::feed(this, Event::Leave);
                let (ok, detail) = match this.borrow().kiosk.screen() {
                    Screen::Attract if running => (true, "session ended and wiped; attract screen"),
                    Screen::Attract => (true, "no session was running; attract screen"),
                    Screen::Goodbye => (
                        true,
                        "no session was running; the goodbye screen gives way to attract in a few seconds",
                    ),
                    _ => (false, "the session did not end"),
                };
                reporter.command_result(&cmd.id, ok, detail);
            }
            telemetry::Action::Reprint {
                journal_id,
                confirmed_by_staff,
            } => {
                let c = this.borrow();
                if c.kiosk.session().is_some() {
                    // Another person's receipt must not come out into this person's hands.
                    reporter.command_result(
                        &cmd.id,
                        false,
                        "a taxpayer is using the kiosk; reprint when it shows the attract screen",
                    );
                } else if let Some(h) = &c.hall {
                    h.reprint(c.printer.clone(), cmd.id, journal_id, confirmed_by_staff);
                }
            }
        }
    }

    /// Device answers on their way into the core change the status the hall sees.
    fn observe_for_hall(this: &Shared, ev: &Event) {
        let c = this.borrow();
        let Some(h) = &c.hall else { return };
        h.observe(ev);
        if let Event::Printed(_) = ev
            && let Some(s) = c.kiosk.session()
        {
            h.receipt(c.printer.clone(), s.id().0.clone());
        }
    }

    pub fn set_printer(&mut self, port: PrinterPort) {
        self.printer = Arc::new(Mutex::new(port));
    }

    /// Receipts a memory printer holds (tests and printer-less kiosks).
    pub fn printed_text(&self) -> Vec<String> {
        match self.printer.lock().as_deref() {
            Ok(PrinterPort::Memory(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    pub fn kiosk(&self) -> &Kiosk {
        &self.kiosk
    }

    pub fn set_staffed_open(&mut self, open: bool) {
        self.kiosk.set_staffed_open(open);
        self.render();
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64 + 1
    }

    /// Feeds an event at the current time.
    pub fn feed(this: &Shared, ev: Event) {
        let now = this.borrow().now();
        Controller::feed_at(this, now, ev);
    }

    /// Feeds an event at a given time (tests move time on without waiting).
    pub fn feed_at(this: &Shared, now: u64, ev: Event) {
        let before = this.borrow().kiosk.screen().clone();
        let mut queue = vec![Event::Tick { now }, ev];
        while !queue.is_empty() {
            let ev = queue.remove(0);
            Controller::observe_for_hall(this, &ev);
            // Why printing failed is the person's business too (out of paper, a copy
            // refused until staff check the printer): shown on the e-receipt screen.
            let print_error = match &ev {
                Event::Printed(Err(l)) => Some(l.clone()),
                _ => None,
            };
            let fx = this.borrow_mut().kiosk.handle(ev);
            for e in fx {
                if let Some(answer) = Controller::effect(this, e) {
                    queue.push(answer);
                }
            }
            if let Some(l) = print_error {
                let mut c = this.borrow_mut();
                if *c.kiosk.screen() == Screen::EReceipt {
                    let m = l.get(c.lang()).to_string();
                    c.message = Some((m, true));
                }
            }
        }
        // A search belongs to the list it was typed on, an open pad to its form step.
        if *this.borrow().kiosk.screen() != before {
            let mut c = this.borrow_mut();
            c.query.clear();
            c.open_field = None;
            c.keyboard = None;
            c.period_years.clear();
        }
        this.borrow_mut().render();
    }

    /// Executes an effect; an answer that is ready at once is returned for the queue.
    fn effect(this: &Shared, e: Effect) -> Option<Event> {
        match e {
            Effect::Show(_) => {
                let mut c = this.borrow_mut();
                c.message = None;
                None
            }
            Effect::IdleWarning(w) => {
                this.borrow_mut().idle = w;
                None
            }
            Effect::Wipe => {
                let mut c = this.borrow_mut();
                c.wipe();
                None
            }
            Effect::FieldError { field, error } => {
                let mut c = this.borrow_mut();
                let lang = c.lang();
                match error {
                    Some(e) => {
                        let m = e.message(lang);
                        if field.is_empty()
                            || field == "card"
                            || field == "payment"
                            || field == "sms_code"
                        {
                            c.message = Some((m.clone(), true));
                        }
                        c.errors.insert(field, m);
                    }
                    None => {
                        c.errors.remove(&field);
                    }
                }
                None
            }
            Effect::Speak(text) => {
                let mut c = this.borrow_mut();
                c.speak(text);
                None
            }
            Effect::NotifyStaff { alert, .. } => {
                tracing_like(&format!("staff notified: {alert:?}"));
                if let Some(h) = &this.borrow().hall {
                    h.staff_call(&alert);
                }
                None
            }
            Effect::StartFace { .. } => {
                let (face, lang, weak) = {
                    let c = this.borrow();
                    (c.face.clone(), c.lang(), c.ui.as_weak())
                };
                let face = face?;
                Controller::off_thread(this, move || {
                    let started = std::time::Instant::now();
                    let mut frames = 0u32;
                    let ev = face.verify(lang, |p| {
                        frames += 1;
                        let _ = weak.upgrade_in_event_loop(move |ui| {
                            let buf =
                                slint::SharedPixelBuffer::<slint::Rgb8Pixel>::clone_from_slice(
                                    &p.rgb, p.width, p.height,
                                );
                            let k = ui.global::<KioskGlobal>();
                            k.set_camera(slint::Image::from_rgb8(buf));
                            k.set_message(p.prompt.into());
                            k.set_message_is_error(false);
                        });
                    });
                    let secs = started.elapsed().as_secs_f64();
                    tracing_like(&format!(
                        "face attempt: {frames} preview frames in {secs:.1} s = {:.1} fps",
                        frames as f64 / secs.max(0.001)
                    ));
                    Some(ev)
                })
            }
            Effect::Telemetry(t) => {
                if let Some(h) = &this.borrow().hall {
                    h.core(t);
                }
                None
            }
            Effect::StartCardReader | Effect::StopCamera => None,
            Effect::CheckPrinter => {
                let port = this.borrow().printer.clone();
                Controller::off_thread(this, move || port.lock().ok().map(|mut p| p.check()))
            }
            Effect::Print(job) => Controller::print(this, job, false),
            Effect::Reprint(job) => Controller::print(this, job, true),
            Effect::Send(o) => Controller::send(this, o),
        }
    }

    /// Prints the session's receipt, or a marked copy of it, off the UI thread.
    fn print(this: &Shared, mut job: PrintJob, copy: bool) -> Option<Event> {
        let (port, bundle, session) = {
            let c = this.borrow();
            let session = c
                .kiosk
                .session()
                .map(|s| s.id().0.clone())
                .unwrap_or_default();
            (c.printer.clone(), c.kiosk.active_bundle().clone(), session)
        };
        job.fields.push(("time".into(), local_time(&bundle)));
        Controller::off_thread(this, move || {
            port.lock().ok().map(|mut p| {
                if copy {
                    p.reprint(&bundle, &session, &job)
                } else {
                    p.print(&bundle, &session, &job)
                }
            })
        })
    }

    /// Runs blocking device work (camera, printer, the back-office client): inline in
    /// tests, on the shell's tokio blocking pool in the kiosk, with the answer posted back
    /// to the event loop so the UI never waits.
    fn off_thread(
        this: &Shared,
        work: impl FnOnce() -> Option<Event> + Send + 'static,
    ) -> Option<Event> {
        let run = this.borrow().run;
        match run {
            Run::Inline => work(),
            Run::Threaded => {
                let weak = this.borrow().ui.as_weak();
                workers().spawn_blocking(move || {
                    if let Some(ev) = work() {
                        let _ = weak.upgrade_in_event_loop(move |_| {
                            CONTROLLER.with(|c| {
                                if let Some(c) = c.borrow().as_ref() {
                                    Controller::feed(c, ev);
                                }
                            })
                        });
                    }
                });
                None
            }
        }
    }

    fn send(this: &Shared, o: Outbound) -> Option<Event> {
        let (link, bundle, hall) = {
            let c = this.borrow();
            (
                c.link.clone(),
                c.kiosk.active_bundle().clone(),
                c.hall.as_ref().map(|h| (h.tickets(), h.reporter())),
            )
        };
        let practice = matches!(o.destination, Destination::Sandbox);
        if !practice && matches!(o.request, Request::Ticket { .. }) {
            // Queue tickets come from the hall console, and a hall that cannot be reached
            // is an error the taxpayer reads. Only a controller without a hall port (a
            // desk, UI tests) answers them from the sandbox.
            if let Some((desk, _)) = hall {
                return Controller::off_thread(this, move || desk.issue(&o));
            }
            return this.borrow_mut().sandbox.answer(&bundle, &o);
        }
        let link = match link {
            Some(l) if matches!(o.destination, Destination::BackOffice) => l,
            // Practice requests.
            _ => return this.borrow_mut().sandbox.answer(&bundle, &o),
        };
        let reporter = hall.map(|(_, r)| r);
        Controller::off_thread(this, move || {
            let started = std::time::Instant::now();
            let mut l = link.lock().ok()?;
            let ev = l.execute(&o, &bundle);
            if let Some(r) = &reporter {
                // What the answer says about the back office: a queued submission means
                // it was not reached; an answer means it was.
                let reached = match &ev {
                    Some(Event::Submitted(SubmitResult::Queued { .. })) => Some(false),
                    Some(Event::Submitted(_))
                    | Some(Event::IdentityResult(Ok(())))
                    | Some(Event::SmsSent(Ok(_)))
                    | Some(Event::Paid(Ok(_))) => Some(true),
                    _ => None,
                };
                let latency = (reached == Some(true)).then(|| started.elapsed());
                r.backoffice(reached, latency, l.outbox_pending());
            }
            ev
        })
    }

    /// Speaks a prompt. The core only asks when the session's voice is on.
    fn speak(&mut self, text: String) {
        if self.speak_with_espeak {
            let voice = if self.lang() == Lang::Zh { "cmn" } else { "en" };
            let _ = std::process::Command::new("espeak-ng")
                .args(["-v", voice, &text])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        self.spoken.push(text);
    }

    fn lang(&self) -> Lang {
        self.kiosk.session().map_or(Lang::Zh, |s| s.lang())
    }

    /// The wipe: every property that could hold personal data is emptied, here and in the
    /// shell's own state.
    fn wipe(&mut self) {
        self.errors.clear();
        self.raw.clear();
        self.message = None;
        self.query.clear();
        self.open_field = None;
        self.period_years.clear();
        if let Some(f) = &self.face {
            f.forget();
        }
        if let Some(l) = &self.link
            && let Ok(mut l) = l.lock()
        {
            l.forget_all();
        }
        let k = self.ui.global::<KioskGlobal>();
        k.set_person(SharedString::new());
        k.set_fields(ModelRc::default());
        k.set_lines(ModelRc::default());
        k.set_rows(ModelRc::default());
        k.set_options(ModelRc::default());
        k.set_message(SharedString::new());
        k.set_body(SharedString::new());
        k.set_qr_link(SharedString::new());
        k.set_qr_caption(SharedString::new());
        k.set_qr(slint::Image::default());
        k.set_camera(slint::Image::default());
    }

    fn t(&self, key: &str) -> String {
        self.kiosk
            .active_bundle()
            .texts
            .get(key, self.lang())
            .to_string()
    }

    fn local(&self, zh: &str, en: &str) -> String {
        match self.lang() {
            Lang::Zh => zh.into(),
            Lang::En => en.into(),
        }
    }

    /// Fills the globals for the current screen.
    pub fn render(&mut self) {
        // The consultation index belongs to one bundle: a swapped bundle gets its own.
        let active = self.kiosk.active_bundle().clone();
        if self
            .consult
            .as_ref()
            .is_some_and(|c| c.bundle.version() != active.version())
        {
            self.consult = Some(consult::Consultation::new(active));
        }
        let b = self.kiosk.active_bundle().clone();
        let lang = self.lang();
        let screen = self.kiosk.screen().clone();
        let session = self.kiosk.session();
        let k = self.ui.global::<KioskGlobal>();
        let theme = self.ui.global::<Theme>();
        theme.set_elder(session.is_some_and(|s| s.elder()));
        k.set_screen(screen.name().into());
        k.set_hall_name(b.kiosk.hall_name.get(lang).into());
        k.set_banner(if session.is_some_and(|s| s.practice()) {
            self.t("app.practice_banner").into()
        } else {
            SharedString::new()
        });
        k.set_person(match session.and_then(|s| s.card()) {
            Some(c) => format!("{} {}", mask_name(&c.name), c.id_number.masked()).into(),
            None => SharedString::new(),
        });
        k.set_t_back(self.t("common.back").into());
        k.set_t_home(self.t("common.home").into());
        k.set_t_call_staff(self.t("common.call_staff").into());
        k.set_t_language(self.t("common.language").into());
        k.set_t_next(self.t("common.next").into());
        k.set_t_confirm(self.t("common.confirm").into());
        k.set_t_extend(self.t("idle.extend").into());
        self.voice = session.is_some_and(|s| s.voice());
        k.set_voice_on(self.voice);
        k.set_t_repeat(self.local("重听", "Repeat").into());
        k.set_t_voice(match (self.voice, lang) {
            (true, Lang::Zh) => "语音：开".into(),
            (false, Lang::Zh) => "语音：关".into(),
            (true, Lang::En) => "Voice: on".into(),
            (false, Lang::En) => "Voice: off".into(),
        });
        k.set_show_nav(
            session.is_some()
                && !matches!(screen, Screen::Attract | Screen::Goodbye | Screen::Language),
        );
        match self.idle {
            Some(secs) => {
                let t = b
                    .texts
                    .fill("idle.warning", lang, &[("seconds", &secs.to_string())]);
                k.set_idle_warning(t.into());
                k.set_can_extend(
                    session.is_some_and(|s| s.extensions() < b.kiosk.timeouts.max_extensions),
                );
            }
            None => k.set_idle_warning(SharedString::new()),
        }
        let (msg, is_err) = self.message.clone().unwrap_or_default();
        k.set_message(msg.into());
        k.set_message_is_error(is_err);

        let mut heading = String::new();
        let mut body = String::new();
        let mut zones: Vec<ZoneTile> = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut lines: Vec<Line> = Vec::new();
        let mut options: Vec<Choice> = Vec::new();
        let mut fields: Vec<Field> = Vec::new();
        let mut e_receipt: Option<(String, slint::Image)> = None;
        let mut show_search = false;
        let opt = |v: &str, l: String| Choice {
            value: v.into(),
            label: l.into(),
        };
        let line = |l: &str, v: String| Line {
            label: l.into(),
            value: v.into(),
        };
        let tile = |z: &kiosk_core::config::Zone| ZoneTile {
            code: z.code.clone().into(),
            name: z.name.get(lang).into(),
            purpose: z.purpose.get(lang).into(),
            key: z.key.clone().into(),
        };
        match &screen {
            Screen::Attract => {
                heading = format!(
                    "{} · {}",
                    b.texts.get("attract.touch_to_start", Lang::Zh),
                    b.texts.get("attract.touch_to_start", Lang::En)
                );
                if !self.kiosk.staffed_open() {
                    body = format!(
                        "{}\n{}",
                        b.texts.get("attract.after_hours", Lang::Zh),
                        b.texts.get("attract.after_hours", Lang::En)
                    );
                }
                if !self.device_notice.is_empty() {
                    self.message = Some((self.device_notice.clone(), true));
                    k.set_message(self.device_notice.clone().into());
                    k.set_message_is_error(true);
                }
                zones = self.kiosk.visible_zones().into_iter().map(tile).collect();
            }
            Screen::Language => {
                heading = format!(
                    "{} / {}",
                    b.texts.get("language.choose", Lang::Zh),
                    b.texts.get("language.choose", Lang::En)
                );
                options = vec![
                    opt("zh", "中文".into()),
                    opt("en", "English".into()),
                    opt("elder", b.texts.get("language.elder_mode", lang).into()),
                ];
            }
            Screen::InsertCard => {
                heading = self.t("identify.insert_card");
                body = self.local(
                    "（演示：点击下方按钮表示已放置身份证）",
                    "(Demo: tap below once the card is on the reader)",
                );
                options = vec![
                    opt("card", self.local("已放置身份证", "Card is on the reader")),
                    opt(
                        "skip",
                        self.local(
                            "跳过（无需身份的业务）",
                            "Skip (for services that need no ID)",
                        ),
                    ),
                ];
            }
            Screen::Face { attempt } => {
                heading = self.t("identify.look_at_camera");
                body = self.local(
                    &format!("第 {attempt} 次核验"),
                    &format!("Attempt {attempt}"),
                );
                options = vec![
                    opt(
                        "face_ok",
                        self.local("（演示）人脸比对通过", "(Demo) Face matches"),
                    ),
                    opt("staff", self.local("请工作人员协助", "Ask staff to help")),
                ];
                // With a real camera the face pipeline decides; the demo stand-in is only
                // there when the kiosk runs without one.
                if self.face.is_some() {
                    options.remove(0);
                }
                if !session
                    .and_then(|s| s.business())
                    .is_some_and(|x| x.face_required)
                {
                    options.insert(
                        options.len() - 1,
                        opt(
                            "sms",
                            self.local("改用短信验证码", "Use an SMS code instead"),
                        ),
                    );
                }
            }
            Screen::Alternatives => {
                heading = self.t("identify.alternatives");
                options = vec![
                    opt("sms", self.local("短信验证码", "SMS code")),
                    opt("staff", self.local("工作人员协助", "Staff assist")),
                    opt("skip", self.local("跳过", "Skip")),
                ];
            }
            Screen::SmsCode => {
                heading = self.local("请输入短信验证码", "Enter the SMS code");
                let value = self.raw.get("sms_code").cloned().unwrap_or_default();
                // The code is the only thing to enter here: its keypad stays open.
                self.open_field = Some("sms_code".into());
                let f = self.field_view(
                    "sms_code",
                    &self.local("验证码（6位数字）", "Code (6 digits)"),
                    "text",
                    &sms_pad(),
                    &value,
                    true,
                );
                fields = vec![f];
                options = vec![opt("sms_confirm", self.t("common.confirm"))];
            }
            Screen::StaffAssist => {
                heading = self.local(
                    "已呼叫工作人员，请稍候",
                    "Staff have been called; please wait",
                );
                options = vec![opt(
                    "staff_ok",
                    self.local("（工作人员）身份已核验", "(Staff) Identity verified"),
                )];
            }
            Screen::Verifying => heading = self.local("正在核验身份…", "Verifying your identity…"),
            Screen::Zones => {
                heading = self.t("zone.choose");
                zones = self.kiosk.visible_zones().into_iter().map(tile).collect();
            }
            Screen::Guidance { node } => {
                if let Some(n) = b.guidance.nodes.get(node) {
                    heading = n.question.get(lang).into();
                    options = n
                        .options
                        .iter()
                        .enumerate()
                        .map(|(i, o)| opt(&i.to_string(), o.label.get(lang).into()))
                        .collect();
                }
                if let Some(z) = session.and_then(|s| {
                    s.bundle()
                        .zones
                        .iter()
                        .find(|z| z.key == "guidance")
                        .map(|z| z.code.clone())
                }) {
                    rows = b.businesses_in(&z).map(|x| business_row(x, lang)).collect();
                }
            }
            Screen::Businesses { zone } => {
                heading = b
                    .zone(zone)
                    .map(|z| z.name.get(lang).to_string())
                    .unwrap_or_default();
                rows = b
                    .businesses_in(zone)
                    .filter(|x| {
                        self.kiosk.staffed_open()
                            || x.mode != Mode::Staffed
                            || b.zone(zone).is_some_and(|z| z.hours == ZoneHours::Always)
                    })
                    // Every list can be narrowed by what the person types: code, name in
                    // either language, or an everyday keyword.
                    .filter(|x| {
                        let q = self.query.trim().to_lowercase();
                        q.is_empty()
                            || x.code.to_lowercase().contains(&q)
                            || x.name.zh.contains(q.as_str())
                            || x.name.en.to_lowercase().contains(&q)
                            || x.keywords.iter().any(|k| k.to_lowercase().contains(&q))
                    })
                    .map(|x| business_row(x, lang))
                    .collect();
                show_search = true;
                // The consultation zone: a question box; answers, businesses to start, and
                // suggestions or the hall's popular questions.
                if b.zone(zone).is_some_and(|z| z.key == "consultation")
                    && let Some(cs) = &self.consult
                {
                    show_search = true;
                    if self.query.trim().is_empty() {
                        let popular: Vec<consult::Target> =
                            self.popular.ranked().into_iter().take(4).collect();
                        let mut asked: Vec<String> = popular
                            .iter()
                            .filter_map(|t| match t {
                                consult::Target::Faq(id) => b.faq.entry(id).map(|e| {
                                    if lang == Lang::Zh {
                                        e.question.zh.clone()
                                    } else {
                                        e.question.en.clone()
                                    }
                                }),
                                consult::Target::Business(c) => {
                                    b.business(c).map(|x| x.name.get(lang).to_string())
                                }
                            })
                            .collect();
                        // Until the hall has its own history, the knowledge base's first
                        // questions stand in.
                        for e in b
                            .faq
                            .entries
                            .iter()
                            .take(4usize.saturating_sub(asked.len()))
                        {
                            asked.push(if lang == Lang::Zh {
                                e.question.zh.clone()
                            } else {
                                e.question.en.clone()
                            });
                        }
                        options = asked
                            .into_iter()
                            .map(|q| opt(&format!("q:{q}"), q))
                            .collect();
                    } else {
                        let r = cs.index.search(&self.query, lang, 5);
                        if let Some(a) = &r.answer {
                            body = a.answer.clone();
                            lines.push(line(&self.local("依据", "Source"), a.source.clone()));
                            options.push(opt(
                                &format!("print:{}", a.id),
                                self.local(
                                    "打印答复和所需材料",
                                    "Print the answer and what to bring",
                                ),
                            ));
                        }
                        // Each business with the zones where it is found, so the person also
                        // learns where to go next time.
                        rows = r
                            .businesses
                            .iter()
                            .filter_map(|h| b.business(&h.code))
                            .map(|x| {
                                let mut row = business_row(x, lang);
                                let zones: Vec<&str> = x
                                    .zones
                                    .iter()
                                    .filter_map(|z| b.zone(z))
                                    .map(|z| z.name.get(lang))
                                    .collect();
                                row.place = format!(
                                    "{}{}",
                                    self.local("可在：", "Found in: "),
                                    zones.join(" · ")
                                )
                                .into();
                                row
                            })
                            .collect();
                        for sgg in cs.index.suggest(&self.query, lang, 3) {
                            options.push(opt(&format!("q:{}", sgg.text), sgg.text));
                        }
                    }
                }
            }
            Screen::Detail { business } => {
                if let Some(x) = b.business(business) {
                    heading = format!("{} {}", x.code, x.name.get(lang));
                    body = x.summary.get(lang).into();
                    lines.push(line(
                        "",
                        b.texts.fill(
                            "business.minutes",
                            lang,
                            &[("minutes", &x.minutes.to_string())],
                        ),
                    ));
                    lines.push(line(
                        "",
                        b.texts
                            .get(&format!("business.ends.{}", x.mode.code()), lang)
                            .into(),
                    ));
                    let m = b.texts.get("business.materials", lang).to_string();
                    for mat in &x.materials {
                        lines.push(line(&m, mat.get(lang).into()));
                    }
                    options = vec![opt("start", self.local("开始办理", "Start"))];
                }
            }
            Screen::Form { business, step } => {
                if let (Some(x), Some(s)) = (b.business(business), session) {
                    let f = b.form_of(x);
                    let computed = form::compute(f, s.values());
                    heading = format!(
                        "{} · {} ({}/{})",
                        f.title.get(lang),
                        f.steps[*step].title.get(lang),
                        step + 1,
                        f.steps.len()
                    );
                    for fd in &f.steps[*step].fields {
                        if !form::is_visible(f, fd, s.values(), &computed) {
                            continue;
                        }
                        let (kind, value, choices) = match &fd.kind {
                            FieldKind::Computed(_) => (
                                "computed",
                                computed
                                    .get(&fd.id)
                                    .map(|a| a.to_string())
                                    .unwrap_or_default(),
                                vec![],
                            ),
                            FieldKind::Choice(opts) => (
                                "choice",
                                s.values().get(&fd.id).map(|v| v.wire()).unwrap_or_default(),
                                opts.iter()
                                    .map(|o| opt(&o.value, o.label.get(lang).into()))
                                    .collect(),
                            ),
                            FieldKind::Bool => (
                                "bool",
                                s.values().get(&fd.id).map(|v| v.wire()).unwrap_or_default(),
                                vec![
                                    opt("true", self.local("是", "Yes")),
                                    opt("false", self.local("否", "No")),
                                ],
                            ),
                            k => (
                                k.type_name(),
                                self.raw
                                    .get(&fd.id)
                                    .cloned()
                                    .or_else(|| s.values().get(&fd.id).map(|v| v.display(fd, lang)))
                                    .unwrap_or_default(),
                                vec![],
                            ),
                        };
                        let pad = crate::pad::pad_for(fd);
                        // The step opens its first empty field's pad by itself.
                        if self.open_field.is_none()
                            && value.is_empty()
                            && matches!(
                                pad,
                                crate::pad::Pad::Keys { .. }
                                    | crate::pad::Pad::Keyboard { .. }
                                    | crate::pad::Pad::Date
                                    | crate::pad::Pad::Period(_)
                            )
                        {
                            self.open_field = Some(fd.id.clone());
                        }
                        let mut f = self.field_view(
                            &fd.id,
                            fd.label.get(lang),
                            kind,
                            &pad,
                            &value,
                            fd.required && kind != "computed",
                        );
                        f.help = fd
                            .help
                            .as_ref()
                            .map(|h| h.get(lang).to_string())
                            .unwrap_or_default()
                            .into();
                        f.stacked = options_overflow_a_row(
                            &choices,
                            s.elder(),
                            self.ui.global::<Theme>().get_portrait(),
                        );
                        f.choices = ModelRc::new(VecModel::from(choices));
                        fields.push(f);
                    }
                    options = vec![opt("next", self.t("common.next"))];
                }
            }
            Screen::Review { business } => {
                heading = self.t("review.title");
                if let (Some(x), Some(s)) = (b.business(business), session) {
                    let f = b.form_of(x);
                    let computed = s.computed();
                    for fd in f.fields() {
                        if let Some(v) = s.values().get(&fd.id) {
                            lines.push(line(fd.label.get(lang), v.display(fd, lang)));
                        } else if let Some(a) = computed.get(&fd.id) {
                            lines.push(line(fd.label.get(lang), a.to_string()));
                        }
                    }
                }
                options = vec![opt("confirm", self.t("common.confirm"))];
            }
            Screen::Submitting { .. } => heading = self.t("submit.sending"),
            Screen::Payment { .. } => {
                heading = self.t("payment.title");
                let due = session.map(|s| s.due()).unwrap_or_default();
                lines.push(line(
                    &self.local("应缴金额（元）", "Amount due (yuan)"),
                    format!("￥{due}"),
                ));
                options = vec![
                    opt("debit", self.local("三方协议扣款", "Tripartite debit")),
                    opt("qr", self.local("扫码缴税", "Pay by QR code")),
                    opt("card", self.local("银行卡（POS）", "Bank card (POS)")),
                    opt("later", self.local("稍后缴款", "Pay later")),
                ];
            }
            Screen::Paying { .. } => heading = self.local("正在缴款…", "Paying…"),
            Screen::Outcome { .. } => {
                let tx = &b.texts;
                match session.and_then(|s| s.outcome()) {
                    Some(Outcome::Done {
                        tracking,
                        document_no,
                        verify_code,
                        paid,
                    }) => {
                        heading = tx.get("outcome.done", lang).into();
                        lines.push(line(&self.local("受理编号", "Reference"), tracking.clone()));
                        lines.push(line(
                            &self.local("文书编号", "Document no."),
                            document_no.clone(),
                        ));
                        if !verify_code.is_empty() {
                            lines.push(line(
                                &self.local("验证码", "Verification code"),
                                verify_code.clone(),
                            ));
                        }
                        if let Some((a, v)) = paid {
                            lines.push(line(
                                &self.local("已缴金额（元）", "Paid (yuan)"),
                                format!("￥{a}"),
                            ));
                            lines.push(line(&self.local("缴款凭证", "Payment voucher"), v.clone()));
                        }
                    }
                    Some(Outcome::Submitted { tracking, queued }) => {
                        heading = tx.fill(
                            if *queued {
                                "submit.queued"
                            } else {
                                "outcome.submitted"
                            },
                            lang,
                            &[("tracking", tracking)],
                        );
                    }
                    Some(Outcome::Ticket(t)) => {
                        heading = tx.fill(
                            "outcome.ticket",
                            lang,
                            &[("ticket", &t.number), ("ahead", &t.ahead.to_string())],
                        );
                        lines.push(line(
                            &self.local("预计等候（分钟）", "Estimated wait (min)"),
                            t.wait_minutes.to_string(),
                        ));
                        lines.push(line(&self.local("办理窗口", "Window"), t.window.clone()));
                    }
                    Some(Outcome::Refused { reason, next_step }) => {
                        heading = tx.fill("outcome.refused", lang, &[("reason", reason.get(lang))]);
                        body = next_step.get(lang).into();
                    }
                    Some(Outcome::PaymentPending {
                        tracking,
                        due,
                        reason,
                    }) => {
                        heading = reason.get(lang).into();
                        lines.push(line(&self.local("受理编号", "Reference"), tracking.clone()));
                        lines.push(line(
                            &self.local("待缴金额（元）", "Still due (yuan)"),
                            format!("￥{due}"),
                        ));
                    }
                    None => {}
                }
                options = vec![opt(
                    "continue",
                    self.local("继续（打印凭证）", "Continue (print the receipt)"),
                )];
            }
            Screen::Printing => heading = self.t("print.printing"),
            Screen::EReceipt => {
                heading = self.t("print.failed");
                e_receipt = self.e_receipt();
                if session.is_some_and(|s| s.can_reprint()) {
                    options.push(opt("reprint", self.local("重试打印", "Try printing again")));
                }
                options.push(opt("continue", self.local("完成", "Done")));
            }
            Screen::Rating => {
                heading = self.t("rating.ask");
                options = (1..=5)
                    .map(|n| opt(&n.to_string(), "★".repeat(n)))
                    .collect();
                if session.is_some_and(|s| s.printed()) {
                    body = self.local(
                        "✓ 凭证已打印，请取走。",
                        "✓ Your receipt has printed; please take it.",
                    );
                    e_receipt = self.e_receipt();
                    if session.is_some_and(|s| s.can_reprint()) {
                        options.push(opt("reprint", self.local("补打凭证", "Print a copy")));
                    }
                }
            }
            Screen::Goodbye => heading = self.t("goodbye.thanks"),
        }
        k.set_heading(heading.into());
        k.set_body(body.into());
        k.set_zones(ModelRc::new(VecModel::from(zones)));
        k.set_rows(ModelRc::new(VecModel::from(rows)));
        k.set_lines(ModelRc::new(VecModel::from(lines)));
        k.set_options_stacked(options_overflow_a_row(
            &options,
            session.is_some_and(|s| s.elder()),
            self.ui.global::<Theme>().get_portrait(),
        ));
        k.set_options(ModelRc::new(VecModel::from(options)));
        k.set_fields(ModelRc::new(VecModel::from(fields)));
        match e_receipt {
            Some((payload, image)) => {
                k.set_qr(image);
                k.set_qr_caption(
                    self.local(
                        "用手机扫码保存电子凭证",
                        "Scan with your phone to keep the e-receipt",
                    )
                    .into(),
                );
                // A verification link is worth showing as text; a receipt's own text is
                // what the code holds, and the screen already shows it.
                k.set_qr_link(if payload.starts_with("http") {
                    payload.into()
                } else {
                    SharedString::new()
                });
            }
            None => {
                k.set_qr(slint::Image::default());
                k.set_qr_caption(SharedString::new());
                k.set_qr_link(SharedString::new());
            }
        }
        k.set_show_search(show_search);
        k.set_search_text(self.query.clone().into());
        let hint = if matches!(self.kiosk.screen(), Screen::Businesses { zone } if b.zone(zone).is_some_and(|z| z.key == "consultation"))
        {
            self.local(
                "用自己的话提问，如：我想打印去年交税的证明",
                "Ask in your own words, e.g. how do I get a tax payment certificate",
            )
        } else {
            self.local(
                "搜索本区业务：名称、代码或关键词",
                "Search this zone: name, code or keyword",
            )
        };
        let mut search = self.field_view(SEARCH, &hint, "text", &search_pad(), &self.query, false);
        search.placeholder = hint.clone().into();
        k.set_search_field(search);
        k.set_search_hint(hint.into());
        // The PIN's keypad is always open under it, and the PIN never shows.
        let mut pin = self.field_view(STAFF_PIN, "PIN", "text", &pin_pad(), "", false);
        pin.value = "•".repeat(self.pin.chars().count()).into();
        pin.placeholder = self
            .local("请输入工作人员密码", "Enter the staff PIN")
            .into();
        k.set_pin_field(pin);
    }

    /// The session's receipt as an e-receipt: its payload (the document's verification
    /// link, or the receipt's text) and the QR code to show.
    fn e_receipt(&self) -> Option<(String, slint::Image)> {
        let b = self.kiosk.active_bundle();
        let mut job = self.kiosk.print_job()?;
        job.fields.push(("time".into(), local_time(b)));
        let layout = escpos_receipt::Layout::from_bundle(b, &job).ok()?;
        let e = escpos_receipt::e_receipt(&layout).ok()?;
        let m = escpos_receipt::qr::matrix(&e.payload).ok()?;
        Some((e.payload, qr_image(&m)))
    }

    /// A form field as the UI shows it, with its pad when it is the open one.
    fn field_view(
        &self,
        id: &str,
        label: &str,
        kind: &str,
        pad: &crate::pad::Pad,
        value: &str,
        required: bool,
    ) -> Field {
        use crate::pad::Pad;
        let lang = self.lang();
        let today = today(self.kiosk.active_bundle());
        let open = self.open_field.as_deref() == Some(id) || id == STAFF_PIN;
        let key = |v: &str, l: &str| Choice {
            value: v.into(),
            label: l.into(),
        };
        let (input, placeholder) = match pad {
            Pad::Keys { .. } | Pad::Keyboard { .. } | Pad::Date | Pad::Period(_) => {
                ("pad", self.local("点击输入", "Tap to enter"))
            }
            Pad::None if kind == "computed" => ("none", String::new()),
            Pad::None => ("buttons", String::new()),
        };
        let (mut keys, mut columns, mut steppers, mut picks) = (vec![], 3, vec![], vec![]);
        let (mut compose, mut candidates, mut cand_prev, mut cand_next, mut actions) =
            (String::new(), vec![], false, false, vec![]);
        if open {
            match pad {
                Pad::Keys { keys: k, .. } => {
                    keys = k.iter().map(|x| key(x, x)).collect();
                    keys.push(key("back", "⌫"));
                    keys.push(key("clear", &self.local("清空", "Clear")));
                    // The SMS code's and the PIN's pads stay open: they are the only thing
                    // to enter there.
                    if id != "sms_code" && id != STAFF_PIN {
                        keys.push(key("done", &self.local("完成", "Done")));
                    }
                    // Digits in threes like a phone; letters in wider rows.
                    columns = if k.len() > 12 { 8 } else { 3 };
                }
                Pad::Date => {
                    steppers = crate::pad::date_steppers(value, today, lang)
                        .into_iter()
                        .map(|(l, v, dec, inc)| Stepper {
                            label: l.into(),
                            value: v.into(),
                            dec: dec.into(),
                            inc: inc.into(),
                        })
                        .collect();
                    picks = vec![key("today", &self.local("今天", "Today"))];
                    keys = vec![key("done", &self.local("完成", "Done"))];
                    columns = 1;
                }
                Pad::Period(kind) => {
                    let year =
                        crate::pad::period_year(value, self.period_years.get(id).copied(), today);
                    steppers = vec![Stepper {
                        label: crate::pad::year_label(lang).into(),
                        value: year.to_string().into(),
                        dec: "y-".into(),
                        inc: "y+".into(),
                    }];
                    picks = crate::pad::period_picks(*kind, year, today, lang)
                        .into_iter()
                        .map(|(v, l)| key(&v, &l))
                        .collect();
                    keys = vec![key("done", &self.local("完成", "Done"))];
                    columns = 1;
                }
                Pad::Keyboard { upper, .. } => {
                    let mut comp = match &self.keyboard {
                        Some((f, comp)) if f == id => comp.clone(),
                        _ => self.new_composer(*upper),
                    };
                    let (grid, wide) = crate::pad::keyboard_keys(&comp, lang);
                    keys = grid.iter().map(|(v, l)| key(v, l)).collect();
                    actions = wide.iter().map(|(v, l)| key(v, l)).collect();
                    columns = 10;
                    compose = comp.letters().to_string();
                    // Nothing composed, nothing to look up (and no tables to build).
                    if !compose.is_empty() {
                        let page = comp.page(crate::pad::ime(), self.candidate_fits());
                        candidates = page
                            .items
                            .iter()
                            .enumerate()
                            .map(|(i, c)| key(&format!("pick:{i}"), &c.text))
                            .collect();
                        (cand_prev, cand_next) = (page.prev, page.next);
                    }
                }
                Pad::None => {}
            }
        }
        Field {
            id: id.into(),
            label: label.into(),
            help: SharedString::new(),
            kind: kind.into(),
            input: input.into(),
            value: value.into(),
            error: self.errors.get(id).cloned().unwrap_or_default().into(),
            required,
            choices: ModelRc::default(),
            stacked: false,
            open,
            keys: ModelRc::new(VecModel::from(keys)),
            columns,
            steppers: ModelRc::new(VecModel::from(steppers)),
            picks: ModelRc::new(VecModel::from(picks)),
            placeholder: placeholder.into(),
            compose: compose.into(),
            candidates: ModelRc::new(VecModel::from(candidates)),
            cand_prev,
            cand_next,
            actions: ModelRc::new(VecModel::from(actions)),
        }
    }

    /// A fresh keyboard: pinyin for a Chinese session, letters for an English one (the
    /// mode key switches).
    fn new_composer(&self, upper: bool) -> pinyin_ime::Composer {
        let mode = match self.lang() {
            Lang::Zh => pinyin_ime::Mode::Zh,
            Lang::En => pinyin_ime::Mode::En,
        };
        pinyin_ime::Composer::new(mode, upper)
    }

    /// Whether a page of pinyin candidates fits one row beside its two page keys: each is
    /// its word at 1.2 times the body size (a CJK character about one font size wide) plus
    /// 32 px of padding, 10 px apart, generous by a tenth as in `options_overflow_a_row`.
    fn candidate_fits(&self) -> impl Fn(&[pinyin_ime::Candidate]) -> bool + use<> {
        let elder = self.kiosk.session().is_some_and(|s| s.elder());
        let portrait = self.ui.global::<Theme>().get_portrait();
        let (font, touch) = if elder { (34.0, 96.0) } else { (24.0, 64.0) };
        let page = if portrait {
            1080.0 - 64.0
        } else {
            1920.0 - 96.0
        };
        let room = page - 2.0 * (touch + 10.0);
        move |c: &[pinyin_ime::Candidate]| {
            c.iter()
                .map(|x| {
                    let w = kiosk_core::text::display_width(&x.text) as f64 * font * 1.2 * 0.55;
                    (w * 1.1 + 32.0).max(touch) + 10.0
                })
                .sum::<f64>()
                <= room
        }
    }

    /// A tap on a field's value box: its pad opens (and any other closes).
    pub fn open_field(this: &Shared, id: &str) {
        {
            let mut c = this.borrow_mut();
            c.open_field = Some(id.to_string());
            c.pad_fresh = true;
            if c.keyboard.as_ref().is_some_and(|(f, _)| f != id) {
                c.keyboard = None;
            }
        }
        // A tap is input: it keeps the session alive.
        Controller::feed(this, Event::Touch);
    }

    /// A key on an open pad: the field's text changes as if typed, and the core checks it.
    pub fn pad_key(this: &Shared, id: &str, key: &str) {
        use crate::pad::{self, Pad};
        // A keyboard's "done" first puts in what is being composed: its composer decides.
        let composing = this
            .borrow()
            .keyboard
            .as_ref()
            .is_some_and(|(f, comp)| f == id && !comp.letters().is_empty());
        if key == "done" && !composing {
            let mut c = this.borrow_mut();
            c.open_field = Some(String::new());
            c.keyboard = None;
            drop(c);
            Controller::feed(this, Event::Touch);
            return;
        }
        let (pad, current, today) = {
            let c = this.borrow();
            let b = c.kiosk.active_bundle().clone();
            let pad = if id == "sms_code" {
                Some(sms_pad())
            } else if id == SEARCH {
                Some(search_pad())
            } else if id == STAFF_PIN {
                Some(pin_pad())
            } else {
                match c.kiosk.screen() {
                    Screen::Form { business, .. } => b
                        .business(business)
                        .and_then(|x| b.form_of(x).field(id))
                        .map(pad::pad_for),
                    _ => None,
                }
            };
            let current = match id {
                SEARCH => c.query.clone(),
                STAFF_PIN => c.pin.clone(),
                _ => c.raw.get(id).cloned().unwrap_or_else(|| {
                    c.kiosk
                        .session()
                        .and_then(|s| s.values().get(id).map(|v| v.wire()))
                        .unwrap_or_default()
                }),
            };
            (pad, current, today(&b))
        };
        let Some(pad) = pad else { return };
        // The PIN prompt is over the screen, not on it: the screen's open pad stays as it is.
        let fresh = id != STAFF_PIN && {
            let mut c = this.borrow_mut();
            // A key belongs to the field's pad: that pad is the open one now.
            if c.open_field.as_deref() != Some(id) {
                c.open_field = Some(id.to_string());
                c.pad_fresh = true;
            }
            std::mem::replace(&mut c.pad_fresh, false)
        };
        let current =
            if fresh && matches!(pad, Pad::Keys { .. }) && !matches!(key, "back" | "clear") {
                String::new()
            } else {
                current
            };
        let key = key.strip_prefix("set:").map_or(key, |k| match pad {
            Pad::Date => k,
            _ => key,
        });
        let next = match &pad {
            Pad::Keys { .. } => Some(pad::press(&pad, &current, key)),
            Pad::Date => pad::date_key(&current, key, today),
            Pad::Period(kind) => {
                let year =
                    pad::period_year(&current, this.borrow().period_years.get(id).copied(), today);
                pad::period_key(*kind, &current, year, key).and_then(|p| {
                    this.borrow_mut()
                        .period_years
                        .insert(id.to_string(), p.year);
                    p.text
                })
            }
            Pad::Keyboard { max, upper } => {
                let Some(k) = pinyin_ime::Key::parse(key) else {
                    return Controller::feed(this, Event::Touch);
                };
                let fits = this.borrow().candidate_fits();
                let mut c = this.borrow_mut();
                if c.keyboard.as_ref().is_none_or(|(f, _)| f != id) {
                    let comp = c.new_composer(*upper);
                    c.keyboard = Some((id.to_string(), comp));
                }
                let (_, comp) = c.keyboard.as_mut().expect("just set");
                let edit = comp.press(pad::ime(), k, fits);
                let (text, done) = pad::keyboard_edit(&current, edit, *max);
                if done {
                    c.open_field = Some(String::new());
                    c.keyboard = None;
                }
                Some(text)
            }
            Pad::None => None,
        };
        if id == STAFF_PIN {
            // Not a session's input: the prompt shows over whatever screen is up.
            let mut c = this.borrow_mut();
            c.pin = next.unwrap_or(current);
            c.render();
            return;
        }
        if id == SEARCH {
            return match next {
                Some(t) if t != current => Controller::search(this, &t),
                _ => Controller::feed(this, Event::Touch),
            };
        }
        match next {
            Some(t) if t != current || !this.borrow().raw.contains_key(id) => {
                Controller::field_input(this, id, &t)
            }
            _ => Controller::feed(this, Event::Touch),
        }
    }

    /// A tap on an option button.
    fn option(this: &Shared, value: &str) {
        let screen = this.borrow().kiosk.screen().clone();
        let elder = this.borrow().kiosk.session().is_some_and(|s| s.elder());
        let ev = match (&screen, value) {
            (Screen::Language, "zh") => Some(Event::ChooseLanguage(Lang::Zh)),
            (Screen::Language, "en") => Some(Event::ChooseLanguage(Lang::En)),
            (Screen::Language, "elder") => Some(Event::SetElderMode(!elder)),
            // The demo card reader: the person has put the card on it.
            (Screen::InsertCard, "card") => {
                let face = this.borrow().face.clone();
                Some(match face {
                    Some(f) => f.read_card(),
                    None => Event::CardRead(Ok(demo_card())),
                })
            }
            (Screen::InsertCard | Screen::Alternatives, "skip") => Some(Event::SkipIdentify),
            (Screen::Face { .. }, "face_ok") => Some(Event::FaceResult(Ok(0.62))),
            (_, "sms") => Some(Event::UseSms),
            (_, "staff") => Some(Event::UseStaffAssist),
            (Screen::SmsCode, "sms_confirm") => Some(Event::SmsCode(
                this.borrow()
                    .raw
                    .get("sms_code")
                    .cloned()
                    .unwrap_or_default(),
            )),
            (Screen::StaffAssist, "staff_ok") => Some(Event::StaffVerified),
            (Screen::Guidance { .. }, i) => i.parse().ok().map(Event::GuidanceAnswer),
            (Screen::Detail { .. }, "start") => Some(Event::Start),
            (Screen::Form { .. }, "next") => Some(Event::NextStep),
            (Screen::Review { .. }, "confirm") => Some(Event::ConfirmReview),
            (Screen::Payment { .. }, "debit") => {
                Some(Event::ChoosePayment(PaymentMethod::TripartiteDebit))
            }
            (Screen::Payment { .. }, "qr") => Some(Event::ChoosePayment(PaymentMethod::Qr)),
            (Screen::Payment { .. }, "card") => Some(Event::ChoosePayment(PaymentMethod::BankCard)),
            (Screen::Payment { .. }, "later") => Some(Event::Back),
            (Screen::Outcome { .. } | Screen::EReceipt, "continue") => Some(Event::NextStep),
            (Screen::EReceipt | Screen::Rating, "reprint") => Some(Event::Reprint),
            (Screen::Rating, n) => n.parse().ok().map(Event::Rate),
            (Screen::Businesses { .. }, v) if v.starts_with("q:") => {
                Controller::search(this, &v[2..]);
                None
            }
            (Screen::Businesses { .. }, v) if v.starts_with("print:") => {
                Controller::print_answer(this, &v[6..]);
                None
            }
            _ => None,
        };
        if let Some(ev) = ev {
            Controller::feed(this, ev);
        }
    }

    /// A question typed or picked in the consultation zone.
    pub fn search(this: &Shared, text: &str) {
        {
            let mut c = this.borrow_mut();
            c.query = text.to_string();
        }
        // A question counts as input: it keeps the session from timing out.
        Controller::feed(this, Event::Touch);
    }

    /// Prints the answer and the one-time notice of what to bring (K05).
    fn print_answer(this: &Shared, faq_id: &str) {
        let (port, bundle, lang) = {
            let c = this.borrow();
            (c.printer.clone(), c.kiosk.active_bundle().clone(), c.lang())
        };
        let time = local_time(&bundle);
        let mut jobs = Vec::new();
        if let Ok(j) = consult::answer_job(&bundle, faq_id, lang, &time) {
            jobs.push(j);
        }
        if let Some(code) = bundle
            .faq
            .entry(faq_id)
            .and_then(|e| e.businesses.first().cloned())
            && let Ok(j) = consult::notice_job(&bundle, &code, lang, &time)
        {
            jobs.push(j);
        }
        {
            let mut guard = this.borrow_mut();
            let c = &mut *guard;
            if let Some(cs) = &c.consult {
                let _ = cs
                    .index
                    .record(&mut c.popular, &consult::Target::Faq(faq_id.to_string()));
            }
            if let Some(path) = &c.popular_file {
                let _ = c.popular.save(path);
            }
        }
        let ok = port
            .lock()
            .map(|mut p| {
                jobs.iter()
                    .all(|j| matches!(p.print(&bundle, "consult", j), Event::Printed(Ok(()))))
            })
            .unwrap_or(false);
        let msg = match (ok, lang) {
            (true, Lang::Zh) => "已打印，请取走凭条",
            (true, Lang::En) => "Printed; please take the slip",
            (false, Lang::Zh) => "打印机暂时无法使用",
            (false, Lang::En) => "The printer is unavailable",
        };
        this.borrow_mut().message = Some((msg.into(), !ok));
        this.borrow_mut().render();
    }

    fn field_input(this: &Shared, id: &str, text: &str) {
        let screen = this.borrow().kiosk.screen().clone();
        this.borrow_mut()
            .raw
            .insert(id.to_string(), text.to_string());
        if matches!(screen, Screen::Form { .. }) {
            Controller::feed(
                this,
                Event::FieldInput {
                    field: id.into(),
                    text: text.into(),
                },
            );
        } else {
            // Typing is input (it keeps the session alive) and the screen shows it.
            Controller::feed(this, Event::Touch);
        }
    }
}

/// A QR matrix as an image: 6 pixels a module with the quiet zone, black on white. The
/// UI scales it without smoothing.
fn qr_image(m: &[Vec<bool>]) -> slint::Image {
    const MODULE: usize = 6;
    let quiet = escpos_receipt::qr::QUIET;
    let side = (m.len() + 2 * quiet) * MODULE;
    let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(side as u32, side as u32);
    let px = buf.make_mut_slice();
    for (i, p) in px.iter_mut().enumerate() {
        let (x, y) = (i % side / MODULE, i / side / MODULE);
        let dark = y >= quiet
            && x >= quiet
            && m.get(y - quiet)
                .and_then(|row| row.get(x - quiet))
                .copied()
                .unwrap_or(false);
        let v = if dark { 0 } else { 255 };
        *p = slint::Rgb8Pixel { r: v, g: v, b: v };
    }
    slint::Image::from_rgb8(buf)
}

/// Whether option buttons would be wider together than the page: each is its label (a
/// CJK character about one font size wide, others about half) plus 40 px of padding,
/// 16 px apart; the page is the window less its 48 px (32 in portrait) margins. Generous
/// by a tenth, as glyph widths vary.
fn options_overflow_a_row(options: &[Choice], elder: bool, portrait: bool) -> bool {
    let font = if elder { 34.0 } else { 24.0 };
    // A button is at least two touch targets wide (BigButton's min-width).
    let min = if elder { 192.0 } else { 128.0 };
    let page = if portrait {
        1080.0 - 64.0
    } else {
        1920.0 - 96.0
    };
    let width: f64 = options
        .iter()
        .map(|o| {
            let label = kiosk_core::text::display_width(&o.label) as f64 * font * 0.55;
            (label * 1.1 + 40.0).max(min) + 16.0
        })
        .sum();
    width > page
}

/// The question box's keyboard: a question, not an essay.
fn search_pad() -> crate::pad::Pad {
    crate::pad::Pad::Keyboard {
        max: Some(60),
        upper: false,
    }
}

/// The staff exit PIN's keypad: 4 to 8 digits, as the loader requires of kiosk.toml's.
fn pin_pad() -> crate::pad::Pad {
    crate::pad::Pad::Keys {
        keys: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]
            .map(String::from)
            .to_vec(),
        max: Some(8),
        decimals: None,
    }
}

/// The SMS code's keypad: six digits.
fn sms_pad() -> crate::pad::Pad {
    crate::pad::Pad::Keys {
        keys: (1..=9).chain([0]).map(|d| d.to_string()).collect(),
        max: Some(6),
        decimals: None,
    }
}

/// Today's date at the hall.
fn today(b: &Bundle) -> kiosk_core::ids::Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let local = secs + b.kiosk.schedule.utc_offset_minutes as i64 * 60;
    kiosk_core::ids::Date::from_days_since_epoch(local.div_euclid(86_400))
}

fn business_row(x: &kiosk_core::config::Business, lang: Lang) -> Row {
    let badge = match (x.mode, lang) {
        (Mode::SelfService, Lang::Zh) => "本机办结",
        (Mode::SelfService, Lang::En) => "Done here",
        (Mode::BackOffice, Lang::Zh) => "后台办理",
        (Mode::BackOffice, Lang::En) => "Back office",
        (Mode::Staffed, Lang::Zh) => "窗口办理",
        (Mode::Staffed, Lang::En) => "At a counter",
    };
    Row {
        code: x.code.clone().into(),
        title: x.name.get(lang).into(),
        subtitle: x.summary.get(lang).into(),
        badge: badge.into(),
        place: SharedString::new(),
    }
}

/// The shell's worker pool for device work: tokio's blocking pool, so a burst of work
/// (previews, a print, a submit) reuses a few threads instead of starting one each.
fn workers() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(8)
            .thread_name("kiosk-device")
            .enable_all()
            .build()
            .expect("the kiosk's worker pool starts (threads are available)")
    })
}

thread_local! {
    static CONTROLLER: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// Connects the UI's callbacks to the controller.
fn wire(c: &Shared) {
    CONTROLLER.with(|slot| *slot.borrow_mut() = Some(c.clone()));
    let ui = c.borrow().ui.clone_strong();
    let k = ui.global::<KioskGlobal>();
    let w = Rc::downgrade(c);
    let with = move |f: &dyn Fn(&Shared)| {
        if let Some(c) = w.upgrade() {
            f(&c);
        }
    };
    let h = with.clone();
    k.on_touch(move || h(&|c| Controller::feed(c, Event::Touch)));
    let h = with.clone();
    k.on_option(move |v| h(&|c| Controller::option(c, &v)));
    let h = with.clone();
    k.on_choose_zone(move |z| h(&|c| Controller::feed(c, Event::ChooseZone(z.to_string()))));
    let h = with.clone();
    k.on_choose_row(move |r| h(&|c| Controller::feed(c, Event::ChooseBusiness(r.to_string()))));
    let h = with.clone();
    k.on_field_input(move |id, t| h(&|c| Controller::field_input(c, &id, &t)));
    let h = with.clone();
    k.on_open_field(move |id| h(&|c| Controller::open_field(c, &id)));
    let h = with.clone();
    k.on_pad_key(move |id, key| h(&|c| Controller::pad_key(c, &id, &key)));
    let h = with.clone();
    k.on_next(move || h(&|c| Controller::feed(c, Event::NextStep)));
    let h = with.clone();
    k.on_confirm(move || h(&|c| Controller::feed(c, Event::ConfirmReview)));
    let h = with.clone();
    k.on_back(move || h(&|c| Controller::feed(c, Event::Back)));
    let h = with.clone();
    k.on_home(move || h(&|c| Controller::feed(c, Event::Home)));
    let h = with.clone();
    k.on_call_staff(move || h(&|c| Controller::feed(c, Event::CallStaff)));
    let h = with.clone();
    k.on_extend(move || h(&|c| Controller::feed(c, Event::ExtendSession)));
    let h = with.clone();
    k.on_switch_language(move || {
        h(&|c| {
            let next = if c.borrow().lang() == Lang::Zh {
                Lang::En
            } else {
                Lang::Zh
            };
            Controller::feed(c, Event::ChooseLanguage(next))
        })
    });
    let h = with.clone();
    k.on_toggle_voice(move || {
        h(&|c| {
            let on = !c.borrow().voice;
            c.borrow_mut().voice = on;
            Controller::feed(c, Event::SetVoice(on))
        })
    });
    let h = with.clone();
    k.on_search(move |t| h(&|c| Controller::search(c, &t)));
    let h = with.clone();
    k.on_staff_corner_pressed(move || {
        h(&|c| {
            // Only when an exit PIN is configured: otherwise there is no way out.
            let has_pin = c
                .borrow()
                .kiosk
                .active_bundle()
                .kiosk
                .staff_exit_pin
                .is_some();
            if has_pin {
                c.borrow_mut().pin.clear();
                c.borrow_mut().render();
                let ui = c.borrow().ui.clone_strong();
                ui.global::<KioskGlobal>()
                    .set_pin_error(SharedString::new());
                ui.global::<KioskGlobal>().set_pin_visible(true);
            }
        })
    });
    let h = with.clone();
    k.on_staff_pin(move || {
        h(&|c| {
            // Tried once: a wrong PIN is typed again from the start.
            let pin = std::mem::take(&mut c.borrow_mut().pin);
            c.borrow_mut().render();
            let ok = c
                .borrow()
                .kiosk
                .active_bundle()
                .kiosk
                .staff_exit_pin
                .as_deref()
                == Some(pin.as_str());
            let ui = c.borrow().ui.clone_strong();
            if ok {
                ui.global::<KioskGlobal>().set_pin_visible(false);
                let _ = slint::quit_event_loop();
                c.borrow_mut().exited = true;
            } else {
                ui.global::<KioskGlobal>()
                    .set_pin_error("PIN 不正确 · Wrong PIN".into());
            }
        })
    });
    let h = with.clone();
    k.on_staff_pin_cancel(move || {
        h(&|c| {
            c.borrow_mut().pin.clear();
            c.borrow_mut().render();
            let ui = c.borrow().ui.clone_strong();
            ui.global::<KioskGlobal>().set_pin_visible(false);
        })
    });
    let h = with;
    k.on_repeat_voice(move || {
        h(&|c| {
            let last = c.borrow().spoken.last().cloned();
            if let Some(t) = last {
                c.borrow_mut().speak(t);
            }
        })
    });
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

fn tracing_like(msg: &str) {
    eprintln!("[kiosk] {msg}");
}

/// For tests: the current value of a UI list, as plain strings.
pub fn texts_of<T: Clone + 'static>(m: &ModelRc<T>, f: impl Fn(&T) -> String) -> Vec<String> {
    (0..m.row_count())
        .filter_map(|i| m.row_data(i))
        .map(|r| f(&r))
        .collect()
}

/// Options for the real kiosk window.
pub struct WindowOptions {
    pub windowed: bool,
    pub portrait: bool,
    /// Shown on the attract screen when a device runs in a fallback (no printer...).
    pub notice: String,
    /// The hall console, when the kiosk has one.
    pub hall: Option<crate::hall_port::HallPort>,
}

/// Runs the kiosk until the window closes: the event loop, a clock tick every second, and
/// fullscreen unless asked for a desktop window.
pub fn run_window(
    bundle: Arc<Bundle>,
    link: Option<Link>,
    printer: PrinterPort,
    mut opts: WindowOptions,
) -> anyhow::Result<()> {
    let c = Controller::new(bundle, link, Run::Threaded)?;
    c.borrow_mut().set_printer(printer);
    c.borrow_mut().set_popular_file(std::path::PathBuf::from(
        "target/demo/popular-questions.json",
    ));
    let bundle_now = c.borrow().kiosk.active_bundle().clone();
    match crate::face_port::FacePort::open(&bundle_now) {
        Ok(f) => c.borrow_mut().set_face(f),
        Err(e) => eprintln!(
            "camera and card reader not available ({e:#}): the identify screens offer demo stand-ins"
        ),
    }
    c.borrow_mut().device_notice = opts.notice.clone();
    if let Some(h) = opts.hall.take() {
        Controller::attach_hall(&c, h);
    }
    {
        let ui = &c.borrow().ui;
        ui.global::<Theme>().set_portrait(opts.portrait);
        if !opts.windowed {
            ui.window().set_fullscreen(true);
        }
    }
    let timer = slint::Timer::default();
    let weak = Rc::downgrade(&c);
    timer.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_secs(1),
        move || {
            if let Some(c) = weak.upgrade() {
                let staffed = staffed_now(c.borrow().kiosk.active_bundle());
                if c.borrow().kiosk.staffed_open() != staffed {
                    c.borrow_mut().kiosk.set_staffed_open(staffed);
                }
                let now = c.borrow().now();
                Controller::feed(&c, Event::Tick { now });
            }
        },
    );
    let ui = c.borrow().ui.clone_strong();
    {
        let staffed = staffed_now(c.borrow().kiosk.active_bundle());
        c.borrow_mut().set_staffed_open(staffed);
    }
    let _lockdown = (!opts.windowed).then(|| lock_down(&c));
    ui.run()?;
    Controller::detach_hall(&c);
    CONTROLLER.with(|slot| slot.borrow_mut().take());
    Ok(())
}

/// The fullscreen kiosk has no way out by keyboard: a close request (Alt+F4, a window
/// manager's close binding) is refused unless staff entered the exit PIN, and a guard puts
/// fullscreen back when the window manager takes it away (F11 in matchbox) or hides the
/// window. Slint and winit bind no key to close, minimise or leave fullscreen themselves.
/// The returned timer runs the guard; keep it alive while the event loop runs.
fn lock_down(c: &Rc<RefCell<Controller>>) -> slint::Timer {
    let weak = Rc::downgrade(c);
    c.borrow()
        .ui
        .window()
        .on_close_requested(move || match weak.upgrade() {
            Some(c) if !c.try_borrow().is_ok_and(|c| c.exited) => {
                tracing_like("close request refused: the kiosk closes only with the staff PIN");
                slint::CloseRequestResponse::KeepWindowShown
            }
            _ => slint::CloseRequestResponse::HideWindow,
        });
    let timer = slint::Timer::default();
    let mut guard = crate::lockdown::Guard::connect();
    let mut was_ok = true;
    timer.start(
        slint::TimerMode::Repeated,
        std::time::Duration::from_millis(500),
        move || {
            let Some(g) = guard.as_mut() else { return };
            match g.check() {
                Ok(done) => {
                    if !done.is_empty() && was_ok {
                        tracing_like(&format!(
                            "the window manager changed the kiosk window; asked back: {done:?}"
                        ));
                    }
                    was_ok = done.is_empty();
                }
                Err(e) => {
                    tracing_like(&format!("fullscreen guard stopped: {e}"));
                    guard = None;
                }
            }
        },
    );
    timer
}

/// Whether the staffed windows are open now, in the hall's time zone.
pub fn staffed_now(b: &Bundle) -> bool {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let local = secs + b.kiosk.schedule.utc_offset_minutes as i64 * 60;
    let date = kiosk_core::Date::from_days_since_epoch(local.div_euclid(86_400));
    b.kiosk
        .schedule
        .is_staffed(date, (local.rem_euclid(86_400) / 60) as u32)
}
