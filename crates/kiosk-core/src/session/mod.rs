//! The kiosk as a pure state machine: `Kiosk::handle(event) -> effects`.
//!
//! One `Kiosk` runs one machine for its whole life; a `Session` lives from the touch on
//! the attract screen to the wipe. All personal data (card, form values, outcome) lives in
//! the `Session` and nowhere else, so dropping it is the wipe. The shell supplies time in
//! events and executes effects; this module never blocks, sleeps or reads a clock.

mod types;

pub use types::*;

use std::sync::Arc;

use crate::config::{
    Bundle, Business, FieldKind, GuidanceTarget, IdentityLevel, Mode, Operation, Payment,
    ReceiptKind, ZoneHours,
};
use crate::form::{self, Computed, FieldError, Values};
use crate::money::Amount;
use crate::{Lang, Localized};

/// Seconds the goodbye screen stays before the attract screen returns.
const GOODBYE_MS: Millis = 5_000;

pub struct Kiosk {
    bundle: Arc<Bundle>,
    /// A bundle that arrived during a session; applied when the session ends.
    pending: Option<Arc<Bundle>>,
    session: Option<Session>,
    screen: Screen,
    now: Millis,
    goodbye_until: Option<Millis>,
    seed: u64,
    counter: u64,
    /// Whether staffed windows are open now; the shell sets it from the schedule.
    staffed_open: bool,
}

/// Everything personal about one visit. Dropped whole at the end.
pub struct Session {
    id: SessionId,
    bundle: Arc<Bundle>,
    started: Millis,
    lang: Lang,
    elder: bool,
    voice: bool,
    practice: bool,
    history: Vec<Screen>,
    card: Option<CardData>,
    method: VerificationMethod,
    face_attempts: u32,
    /// The business waiting for identification to finish, if any.
    identify_for: Option<String>,
    zone: Option<String>,
    business: Option<String>,
    values: Values,
    raw: Vec<(String, String)>,
    step: usize,
    review_confirmed: bool,
    tracking: Option<String>,
    due: Amount,
    outcome: Option<Outcome>,
    printer: Option<PrinterState>,
    /// Receipts that came out of the printer in this session, and copies asked for.
    printed: u32,
    reprints: u32,
    last_input: Millis,
    warning_until: Option<Millis>,
    extensions: u32,
    requests: u32,
}

impl Session {
    pub fn id(&self) -> &SessionId {
        &self.id
    }
    pub fn lang(&self) -> Lang {
        self.lang
    }
    pub fn elder(&self) -> bool {
        self.elder
    }
    /// Whether prompts are spoken (on by default in elder mode).
    pub fn voice(&self) -> bool {
        self.voice
    }
    pub fn practice(&self) -> bool {
        self.practice
    }
    pub fn card(&self) -> Option<&CardData> {
        self.card.as_ref()
    }
    pub fn identity(&self) -> IdentityLevel {
        level_of(self.method)
    }
    pub fn method(&self) -> VerificationMethod {
        self.method
    }
    pub fn business(&self) -> Option<&Business> {
        self.business
            .as_deref()
            .and_then(|c| self.bundle.business(c))
    }
    pub fn values(&self) -> &Values {
        &self.values
    }
    pub fn computed(&self) -> Computed {
        self.business()
            .map(|b| form::compute(self.bundle.form_of(b), &self.values))
            .unwrap_or_default()
    }
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
    pub fn review_confirmed(&self) -> bool {
        self.review_confirmed
    }
    pub fn due(&self) -> Amount {
        self.due
    }
    pub fn bundle(&self) -> &Arc<Bundle> {
        &self.bundle
    }
    pub fn face_attempts(&self) -> u32 {
        self.face_attempts
    }
    pub fn extensions(&self) -> u32 {
        self.extensions
    }
    /// Whether the person may still ask for the receipt again.
    pub fn can_reprint(&self) -> bool {
        self.reprints < MAX_REPRINTS
    }
    /// Whether a receipt came out of the printer in this session.
    pub fn printed(&self) -> bool {
        self.printed > 0
    }
}

/// The effects of one event, with helpers that keep `handle` readable.
struct Out(Vec<Effect>);

impl Out {
    fn push(&mut self, e: Effect) {
        self.0.push(e);
    }
}

impl Kiosk {
    /// `seed` comes from the shell's random source and makes session ids unguessable;
    /// the core itself has no randomness.
    pub fn new(bundle: Arc<Bundle>, seed: u64) -> Kiosk {
        Kiosk {
            bundle,
            pending: None,
            session: None,
            screen: Screen::Attract,
            now: 0,
            goodbye_until: None,
            seed,
            counter: 0,
            staffed_open: true,
        }
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }
    pub fn bundle(&self) -> &Arc<Bundle> {
        &self.bundle
    }
    /// The bundle that the current screen is drawn from: the session's while one runs.
    pub fn active_bundle(&self) -> &Arc<Bundle> {
        self.session.as_ref().map_or(&self.bundle, |s| &s.bundle)
    }
    pub fn pending_config(&self) -> Option<&Arc<Bundle>> {
        self.pending.as_ref()
    }
    pub fn set_staffed_open(&mut self, open: bool) {
        self.staffed_open = open;
    }
    pub fn staffed_open(&self) -> bool {
        self.staffed_open
    }

    /// Zones shown now: outside staffed hours only the always-open ones.
    pub fn visible_zones(&self) -> Vec<&crate::config::Zone> {
        let b = self.active_bundle();
        b.zones
            .iter()
            .filter(|z| self.staffed_open || z.hours == ZoneHours::Always)
            .collect()
    }

    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        let mut out = Out(Vec::new());
        self.step(event, &mut out);
        out.0
    }

    fn step(&mut self, event: Event, out: &mut Out) {
        if let Event::Tick { now } = event {
            self.tick(now, out);
            return;
        }
        if let Event::NewConfig(b) = event {
            self.new_config(b, out);
            return;
        }
        let is_input = is_person_input(&event);
        if self.session.is_none() {
            // Outside a session only a touch matters; stale device or network answers for a
            // session that has ended are dropped here.
            if is_input && !matches!(event, Event::Leave) {
                self.goodbye_until = None;
                self.start_session(out);
                if !matches!(event, Event::Touch) {
                    self.step(event, out);
                }
            }
            return;
        }
        if is_input {
            let s = self.session.as_mut().expect("checked above");
            s.last_input = self.now;
            if s.warning_until.take().is_some() {
                out.push(Effect::IdleWarning(None));
            }
        }
        match event {
            Event::Leave => self.end(EndReason::Left, out),
            Event::ExtendSession => self.extend(out),
            Event::CallStaff => {
                let id = self.sid();
                out.push(Effect::NotifyStaff {
                    session: id,
                    alert: StaffAlert::CallStaff {
                        screen: self.screen.name(),
                    },
                });
                let s = self.s();
                let msg = s.bundle.texts.get("common.call_staff", s.lang).to_string();
                self.say(msg, out);
            }
            Event::ChooseLanguage(l) => {
                let s = self.s_mut();
                s.lang = l;
                if self.screen == Screen::Language {
                    self.go(Screen::InsertCard, out);
                    out.push(Effect::StartCardReader);
                } else {
                    let sc = self.screen.clone();
                    self.show(sc, out);
                }
            }
            Event::SetElderMode(on) => {
                let s = self.s_mut();
                s.elder = on;
                // Voice is on by default in elder mode.
                s.voice = on || s.voice;
                let sc = self.screen.clone();
                self.show(sc, out);
            }
            Event::SetVoice(on) => {
                self.s_mut().voice = on;
                // Turning voice on reads out where the person is.
                if on {
                    let s = self.s();
                    if let Some(p) =
                        prompt_key(&self.screen).map(|k| s.bundle.texts.get(k, s.lang).to_string())
                    {
                        out.push(Effect::Speak(p));
                    }
                }
            }
            Event::Back => self.back(out),
            Event::Home => {
                if !self.in_flight() {
                    self.s_mut().identify_for = None;
                    self.s_mut().history.clear();
                    self.go(Screen::Zones, out);
                }
            }
            Event::Touch => {}
            ev => self.on_screen(ev, out),
        }
    }

    fn on_screen(&mut self, ev: Event, out: &mut Out) {
        let screen = self.screen.clone();
        match (screen, ev) {
            (Screen::InsertCard, Event::SkipIdentify) => self.after_identify(out),
            (Screen::InsertCard, Event::CardRead(r)) => self.card_read(r, out),
            (Screen::Face { .. }, Event::FaceResult(r)) => self.face_result(r, out),
            (Screen::Face { .. } | Screen::Alternatives, Event::UseSms)
                if self.s().card.is_some() && self.alternatives_open() =>
            {
                let id_number = self
                    .s()
                    .card
                    .as_ref()
                    .map(|c| c.id_number.clone())
                    .expect("card present");
                self.send(Request::SendSmsCode { id_number }, out);
                self.go(Screen::Verifying, out);
            }
            (Screen::Face { .. } | Screen::Alternatives, Event::UseStaffAssist) => {
                let id = self.sid();
                out.push(Effect::NotifyStaff {
                    session: id,
                    alert: StaffAlert::IdentityAssist,
                });
                out.push(Effect::StopCamera);
                self.go(Screen::StaffAssist, out);
            }
            (Screen::Face { .. } | Screen::Alternatives, Event::SkipIdentify) => {
                out.push(Effect::StopCamera);
                self.after_identify(out);
            }
            (Screen::Verifying, Event::SmsSent(r)) => match r {
                Ok(_) => self.go(Screen::SmsCode, out),
                Err(reason) => {
                    let t = reason.get(self.s().lang).to_string();
                    self.say(t, out);
                    self.go(Screen::Alternatives, out)
                }
            },
            (Screen::SmsCode, Event::SmsCode(code)) => {
                let code = code.trim().to_string();
                if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    out.push(Effect::FieldError {
                        field: "sms_code".into(),
                        error: Some(FieldError::Check(Localized::new(
                            "验证码为6位数字",
                            "The code has 6 digits",
                        ))),
                    });
                    return;
                }
                self.verify(VerificationMethod::Sms, None, Some(code), out);
            }
            (Screen::StaffAssist, Event::StaffVerified) => {
                self.verify(VerificationMethod::StaffAssist, None, None, out);
            }
            (Screen::Verifying, Event::IdentityResult(r)) => match r {
                Ok(()) => self.after_identify(out),
                Err(reason) => {
                    self.s_mut().method = VerificationMethod::Card;
                    let t = reason.get(self.s().lang).to_string();
                    self.say(t, out);
                    self.go(Screen::Alternatives, out);
                }
            },
            (Screen::Zones, Event::ChooseZone(code)) => self.choose_zone(code, out),
            (Screen::Guidance { node }, Event::GuidanceAnswer(i)) => {
                self.guidance_answer(&node, i, out)
            }
            // The guidance screen also lists its own zone's businesses (ticket, booking…).
            (
                Screen::Businesses { .. } | Screen::Zones | Screen::Guidance { .. },
                Event::ChooseBusiness(code),
            ) if self.s().bundle.business(&code).is_some() => {
                self.go(Screen::Detail { business: code }, out);
            }
            (Screen::Detail { business }, Event::Start) => self.start_business(business, out),
            (Screen::Form { business, step }, Event::FieldInput { field, text }) => {
                self.input(&business, step, field, text, out)
            }
            (Screen::Form { business, step }, Event::NextStep) => {
                self.next_step(business, step, out)
            }
            (Screen::Review { business }, Event::ConfirmReview) => self.confirm(business, out),
            (Screen::Review { .. } | Screen::Form { .. }, Event::PrinterChecked(p)) => {
                self.printer_checked(p, out)
            }
            (Screen::Submitting { business }, Event::Submitted(r)) => {
                self.submitted(business, r, out)
            }
            (Screen::Submitting { business }, Event::TicketIssued(r)) => {
                self.ticket_issued(business, r, out)
            }
            (Screen::Payment { business }, Event::ChoosePayment(m)) => self.pay(business, m, out),
            (Screen::Paying { business }, Event::Paid(r)) => self.paid(business, r, out),
            (Screen::Outcome { .. }, Event::NextStep) => self.print_outcome(out),
            (Screen::Printing, Event::Printed(r)) => match r {
                Ok(()) => {
                    self.s_mut().printed += 1;
                    self.go(Screen::Rating, out)
                }
                Err(detail) => {
                    let id = self.sid();
                    out.push(Effect::NotifyStaff {
                        session: id,
                        alert: StaffAlert::PrinterFault { detail },
                    });
                    self.go(Screen::EReceipt, out);
                }
            },
            (Screen::EReceipt, Event::NextStep) => self.go(Screen::Rating, out),
            (Screen::EReceipt, Event::Reprint) => self.reprint(out),
            (Screen::Rating, Event::Reprint) if self.s().printed > 0 => self.reprint(out),
            (Screen::Rating, Event::Rate(stars)) => {
                let business = self.s().business.clone();
                out.push(Effect::Telemetry(Telemetry::Rated {
                    business,
                    stars: stars.clamp(1, 5),
                }));
                self.end(EndReason::Finished, out);
            }
            (Screen::Rating, Event::NextStep) => self.end(EndReason::Finished, out),
            // Anything else is not meaningful on this screen: ignored, the screen stays.
            _ => {}
        }
    }

    // ---- session lifecycle -------------------------------------------------------------

    fn start_session(&mut self, out: &mut Out) {
        self.counter += 1;
        let id = SessionId(format!(
            "{}-{:06}-{:08x}",
            self.bundle.kiosk.kiosk_id,
            self.counter,
            splitmix(self.seed ^ self.counter) as u32
        ));
        let b = self.bundle.clone();
        let lang = b.kiosk.languages.first().copied().unwrap_or(Lang::Zh);
        self.session = Some(Session {
            id,
            practice: b.kiosk.practice,
            bundle: b,
            started: self.now,
            lang,
            elder: false,
            voice: false,
            history: Vec::new(),
            card: None,
            method: VerificationMethod::None,
            face_attempts: 0,
            identify_for: None,
            zone: None,
            business: None,
            values: Values::new(),
            raw: Vec::new(),
            step: 0,
            review_confirmed: false,
            tracking: None,
            due: Amount::ZERO,
            outcome: None,
            printer: None,
            last_input: self.now,
            warning_until: None,
            extensions: 0,
            printed: 0,
            reprints: 0,
            requests: 0,
        });
        self.go(Screen::Language, out);
    }

    /// The wipe: the session is dropped, the shell clears every personal field, and a
    /// bundle that arrived meanwhile is applied.
    fn end(&mut self, reason: EndReason, out: &mut Out) {
        let Some(s) = self.session.take() else { return };
        let outcome = match (&s.outcome, reason) {
            (Some(Outcome::Done { .. }), _) => "done",
            (Some(Outcome::Submitted { queued: false, .. }), _) => "submitted",
            (Some(Outcome::Submitted { queued: true, .. }), _) => "queued",
            (Some(Outcome::Ticket(_)), _) => "ticket",
            (Some(Outcome::Refused { .. }), _) => "refused",
            (Some(Outcome::PaymentPending { .. }), _) => "payment_pending",
            (None, _) => "abandoned",
        };
        out.push(Effect::StopCamera);
        out.push(Effect::IdleWarning(None));
        out.push(Effect::Wipe);
        out.push(Effect::Telemetry(Telemetry::SessionEnded {
            business: s.business.clone(),
            outcome,
            duration_ms: self.now.saturating_sub(s.started),
            reason,
        }));
        drop(s);
        if let Some(b) = self.pending.take() {
            self.bundle = b;
            out.push(Effect::Telemetry(Telemetry::ConfigApplied {
                version: self.bundle.version().to_string(),
            }));
        }
        if reason == EndReason::Finished {
            self.screen = Screen::Goodbye;
            self.goodbye_until = Some(self.now + GOODBYE_MS);
            out.push(Effect::Show(Screen::Goodbye));
        } else {
            self.screen = Screen::Attract;
            out.push(Effect::Show(Screen::Attract));
        }
        out.push(Effect::Telemetry(Telemetry::Screen {
            screen: self.screen.name(),
            zone: None,
            business: None,
            practice: false,
        }));
    }

    fn new_config(&mut self, b: Arc<Bundle>, out: &mut Out) {
        let version = b.version().to_string();
        if self.session.is_some() {
            // Never under a running session: it finishes on the bundle it started with.
            self.pending = Some(b);
            out.push(Effect::Telemetry(Telemetry::ConfigDeferred { version }));
        } else {
            self.bundle = b;
            out.push(Effect::Telemetry(Telemetry::ConfigApplied { version }));
            if self.screen == Screen::Attract {
                out.push(Effect::Show(Screen::Attract));
            }
        }
    }

    // ---- idle handling -----------------------------------------------------------------

    fn idle_limits(&self) -> (Millis, Millis) {
        let s = self.s();
        let t = &s.bundle.kiosk.timeouts;
        let factor = if s.elder {
            t.elder_factor_percent as u64
        } else {
            100
        };
        (
            t.idle_secs as u64 * 1000 * factor / 100,
            t.warning_secs as u64 * 1000 * factor / 100,
        )
    }

    fn tick(&mut self, now: Millis, out: &mut Out) {
        self.now = self.now.max(now);
        if let Some(until) = self.goodbye_until
            && self.now >= until
            && self.session.is_none()
        {
            self.goodbye_until = None;
            self.screen = Screen::Attract;
            out.push(Effect::Show(Screen::Attract));
            return;
        }
        if self.session.is_none() {
            return;
        }
        let (idle, warning) = self.idle_limits();
        let now = self.now;
        let s = self.s_mut();
        match s.warning_until {
            Some(until) if now >= until => self.end(EndReason::IdleTimeout, out),
            Some(until) => out.push(Effect::IdleWarning(Some(
                ((until - now).div_ceil(1000)) as u32,
            ))),
            None if now.saturating_sub(s.last_input) >= idle => {
                s.warning_until = Some(now + warning);
                out.push(Effect::IdleWarning(Some(warning.div_ceil(1000) as u32)));
                let secs = (warning / 1000).to_string();
                let text = s
                    .bundle
                    .texts
                    .fill("idle.warning", s.lang, &[("seconds", &secs)]);
                self.say(text, out);
            }
            None => {}
        }
    }

    fn extend(&mut self, out: &mut Out) {
        let max = self.s().bundle.kiosk.timeouts.max_extensions;
        let s = self.s_mut();
        // The input itself already cleared the warning; count the extension, and refuse
        // once the limit is reached so a forgotten session cannot be kept open forever.
        if s.extensions >= max {
            let (_, warning) = self.idle_limits();
            let now = self.now;
            self.s_mut().warning_until = Some(now + warning);
            out.push(Effect::IdleWarning(Some(warning.div_ceil(1000) as u32)));
            return;
        }
        s.extensions += 1;
    }

    // ---- navigation ----------------------------------------------------------------------

    fn go(&mut self, next: Screen, out: &mut Out) {
        let prev = std::mem::replace(&mut self.screen, next.clone());
        if let Some(s) = self.session.as_mut()
            && prev != next
            && navigable(&prev)
        {
            s.history.push(prev);
        }
        self.show(next, out);
    }

    fn show(&mut self, screen: Screen, out: &mut Out) {
        self.screen = screen.clone();
        out.push(Effect::Show(screen.clone()));
        if let Some(s) = &self.session {
            out.push(Effect::Telemetry(Telemetry::Screen {
                screen: screen.name(),
                zone: s.zone.clone(),
                business: s.business.clone(),
                practice: s.practice,
            }));
            if s.voice {
                let prompt = prompt_key(&screen).map(|k| s.bundle.texts.get(k, s.lang).to_string());
                if let Some(p) = prompt {
                    out.push(Effect::Speak(p));
                }
            }
        }
    }

    fn say(&mut self, text: String, out: &mut Out) {
        if self.session.as_ref().is_some_and(|s| s.voice) {
            out.push(Effect::Speak(text));
        }
    }

    fn back(&mut self, out: &mut Out) {
        if self.in_flight() {
            return;
        }
        if matches!(self.screen, Screen::Face { .. }) {
            out.push(Effect::StopCamera);
        }
        if let Screen::Payment { business } = self.screen.clone() {
            // Leaving the payment: the return is filed, the tax is still due.
            let s = self.s_mut();
            let tracking = s.tracking.clone().unwrap_or_default();
            let due = s.due;
            let reason = Localized::new(
                "您选择稍后缴款，请在申报期限内缴纳",
                "You chose to pay later; pay before the deadline",
            );
            s.outcome = Some(Outcome::PaymentPending {
                tracking,
                due,
                reason,
            });
            self.go(Screen::Outcome { business }, out);
            return;
        }
        if let Screen::Form { business, step } = self.screen.clone()
            && step > 0
        {
            self.s_mut().step = step - 1;
            self.show(
                Screen::Form {
                    business,
                    step: step - 1,
                },
                out,
            );
            return;
        }
        let prev = self.s_mut().history.pop();
        match prev {
            Some(p) => self.show(p, out),
            None => self.end(EndReason::Cancelled, out),
        }
    }

    /// While a request is out, the person waits for its answer rather than navigating.
    fn in_flight(&self) -> bool {
        matches!(
            self.screen,
            Screen::Submitting { .. }
                | Screen::Paying { .. }
                | Screen::Printing
                | Screen::Verifying
        )
    }

    /// Alternatives are open after the last face attempt, or from the start when the
    /// business does not insist on face verification.
    fn alternatives_open(&self) -> bool {
        let s = self.s();
        let face_required = s
            .identify_for
            .as_deref()
            .and_then(|c| s.bundle.business(c))
            .is_some_and(|b| b.face_required);
        self.screen == Screen::Alternatives || !face_required
    }

    // ---- identification ------------------------------------------------------------------

    fn card_read(&mut self, r: Result<CardData, CardError>, out: &mut Out) {
        let lang = self.s().lang;
        match r {
            Ok(card) => {
                let s = self.s_mut();
                s.card = Some(card);
                s.method = VerificationMethod::Card;
                let need = s
                    .identify_for
                    .as_deref()
                    .and_then(|c| s.bundle.business(c))
                    .map(|b| b.identity);
                if need == Some(IdentityLevel::Card) {
                    self.after_identify(out);
                } else {
                    self.start_face(out);
                }
            }
            Err(e) => {
                let msg = match e {
                    CardError::Unreadable => Localized::new(
                        "未能读取身份证，请重新放置",
                        "The card could not be read; place it again",
                    ),
                    CardError::Expired => Localized::new(
                        "身份证已过有效期，请使用有效证件或到窗口办理",
                        "The ID card has expired; use a valid card or go to a counter",
                    ),
                    CardError::ReaderUnavailable => Localized::new(
                        "读卡器暂不可用，已通知工作人员",
                        "The card reader is unavailable; staff have been told",
                    ),
                };
                if e == CardError::ReaderUnavailable {
                    let id = self.sid();
                    out.push(Effect::NotifyStaff {
                        session: id,
                        alert: StaffAlert::IdentityAssist,
                    });
                }
                self.say(msg.get(lang).to_string(), out);
                out.push(Effect::FieldError {
                    field: "card".into(),
                    error: Some(FieldError::Check(msg)),
                });
            }
        }
    }

    fn start_face(&mut self, out: &mut Out) {
        let s = self.s_mut();
        s.face_attempts += 1;
        let attempt = s.face_attempts;
        let seed = splitmix(self.seed ^ self.counter.rotate_left(17) ^ attempt as u64);
        out.push(Effect::StartFace {
            attempt,
            challenge_seed: seed,
        });
        self.go(Screen::Face { attempt }, out);
    }

    fn face_result(&mut self, r: Result<f32, FaceFailure>, out: &mut Out) {
        match r {
            Ok(score) => {
                out.push(Effect::StopCamera);
                let milli = (score.clamp(0.0, 1.0) * 1000.0).round() as u32;
                self.verify(VerificationMethod::Face, Some(milli), None, out);
            }
            Err(failure) => {
                let s = self.s();
                let max = s.bundle.kiosk.face.attempts;
                let left = max.saturating_sub(s.face_attempts);
                let lang = s.lang;
                if left == 0 || failure == FaceFailure::CameraUnavailable {
                    // Face is never the only way: after the last attempt, the alternatives.
                    out.push(Effect::StopCamera);
                    let t = self
                        .s()
                        .bundle
                        .texts
                        .get("identify.alternatives", lang)
                        .to_string();
                    self.say(t, out);
                    self.go(Screen::Alternatives, out);
                } else {
                    let t = self.s().bundle.texts.fill(
                        "identify.failed",
                        lang,
                        &[("left", &left.to_string())],
                    );
                    self.say(t, out);
                    self.start_face(out);
                }
            }
        }
    }

    fn verify(
        &mut self,
        method: VerificationMethod,
        face_score_milli: Option<u32>,
        sms_code: Option<String>,
        out: &mut Out,
    ) {
        let Some(card) = self.s().card.clone() else {
            self.go(Screen::InsertCard, out);
            return;
        };
        // The method is recorded now so the verify request's provenance names it; it only
        // counts once the back office confirms.
        self.s_mut().method = method;
        self.send(
            Request::VerifyIdentity {
                name: card.name,
                id_number: card.id_number,
                method,
                face_score_milli,
                sms_code,
            },
            out,
        );
        self.go(Screen::Verifying, out);
    }

    fn after_identify(&mut self, out: &mut Out) {
        match self.s_mut().identify_for.take() {
            Some(code) => {
                let need = self
                    .s()
                    .bundle
                    .business(&code)
                    .map_or(IdentityLevel::None, |b| b.identity);
                if self.s().identity() >= need {
                    self.open_form(code, out);
                } else {
                    // Skipped, but this business needs identity: back to its detail page.
                    self.go(Screen::Detail { business: code }, out);
                }
            }
            None => self.go(Screen::Zones, out),
        }
    }

    // ---- zones, guidance, businesses ----------------------------------------------------

    fn choose_zone(&mut self, code: String, out: &mut Out) {
        let visible = self.visible_zones().iter().any(|z| z.code == code);
        let Some(zone) = self.s().bundle.zone(&code).cloned() else {
            return;
        };
        if !visible {
            return;
        }
        let s = self.s_mut();
        s.zone = Some(code.clone());
        if zone.key == "practice" {
            s.practice = true;
        }
        if zone.key == "guidance" {
            let start = s.bundle.guidance.start.clone();
            self.go(Screen::Guidance { node: start }, out);
        } else {
            self.go(Screen::Businesses { zone: code }, out);
        }
    }

    fn guidance_answer(&mut self, node: &str, i: usize, out: &mut Out) {
        let Some(target) = self
            .s()
            .bundle
            .guidance
            .nodes
            .get(node)
            .and_then(|n| n.options.get(i))
            .map(|o| o.target.clone())
        else {
            return;
        };
        match target {
            GuidanceTarget::Node(n) => self.go(Screen::Guidance { node: n }, out),
            GuidanceTarget::Business(b) => self.go(Screen::Detail { business: b }, out),
            GuidanceTarget::Zone(z) => {
                self.s_mut().zone = Some(z.clone());
                self.go(Screen::Businesses { zone: z }, out)
            }
            GuidanceTarget::Ticket(category) => {
                self.s_mut().business = None;
                let key = self.idem_key("ticket");
                let prefill = Values::new();
                self.send_to(
                    Destination::Hall,
                    Request::Ticket {
                        business: None,
                        category,
                        appointment: false,
                        prefill,
                        idempotency_key: key,
                    },
                    out,
                );
                self.go(
                    Screen::Submitting {
                        business: String::new(),
                    },
                    out,
                );
            }
        }
    }

    fn start_business(&mut self, code: String, out: &mut Out) {
        let Some(b) = self.s().bundle.business(&code).cloned() else {
            return;
        };
        if b.mode == Mode::Staffed && !self.staffed_open && b.operation == Operation::Ticket {
            // After hours a staffed matter can still be booked, not queued.
            let msg = self
                .s()
                .bundle
                .texts
                .get("attract.after_hours", self.s().lang)
                .to_string();
            self.say(msg, out);
        }
        if self.s().identity() >= b.identity {
            self.open_form(code, out);
            return;
        }
        self.s_mut().identify_for = Some(code);
        if self.s().card.is_none() {
            out.push(Effect::StartCardReader);
            self.go(Screen::InsertCard, out);
        } else {
            // The card is read; the business needs verification.
            self.s_mut().face_attempts = 0;
            self.start_face(out);
        }
    }

    fn open_form(&mut self, code: String, out: &mut Out) {
        let b = self.s().bundle.clone();
        let Some(business) = b.business(&code) else {
            return;
        };
        let f = b.form_of(business);
        let s = self.s_mut();
        if s.business.as_deref() != Some(code.as_str()) {
            s.values.clear();
            s.raw.clear();
            s.review_confirmed = false;
            s.tracking = None;
            s.outcome = None;
            s.due = Amount::ZERO;
            // Defaults are typed in for the person, as a paper form comes pre-printed.
            for field in f.fields() {
                if let Some(d) = &field.default
                    && let Ok(v) = form::parse_value(field, d)
                {
                    s.values.insert(field.id.clone(), v);
                }
            }
        }
        s.business = Some(code.clone());
        s.step = 0;
        self.go(
            Screen::Form {
                business: code,
                step: 0,
            },
            out,
        );
    }

    // ---- the form --------------------------------------------------------------------------

    fn input(&mut self, business: &str, step: usize, field: String, text: String, out: &mut Out) {
        let b = self.s().bundle.clone();
        let Some(f) = b.business(business).map(|x| b.form_of(x)) else {
            return;
        };
        let Some(fd) = f
            .steps
            .get(step)
            .and_then(|st| st.fields.iter().find(|x| x.id == field))
        else {
            return;
        };
        if matches!(fd.kind, FieldKind::Computed(_)) {
            return;
        }
        let s = self.s_mut();
        s.review_confirmed = false;
        s.raw.retain(|(k, _)| k != &field);
        if text.trim().is_empty() && !fd.required {
            s.values.remove(&field);
            out.push(Effect::FieldError { field, error: None });
            return;
        }
        s.raw.push((field.clone(), text.clone()));
        match form::parse_value(fd, &text) {
            Ok(v) => {
                s.values.insert(field.clone(), v);
                out.push(Effect::FieldError { field, error: None });
            }
            Err(e) => {
                s.values.remove(&field);
                let msg = e.message(s.lang);
                out.push(Effect::FieldError {
                    field,
                    error: Some(e),
                });
                self.say(msg, out);
            }
        }
    }

    fn next_step(&mut self, business: String, step: usize, out: &mut Out) {
        let b = self.s().bundle.clone();
        let Some(f) = b.business(&business).map(|x| b.form_of(x)) else {
            return;
        };
        let s = self.s();
        let computed = form::compute(f, &s.values);
        let mut blocked = false;
        if let Some(st) = f.steps.get(step) {
            for fd in &st.fields {
                let needed = fd.required
                    && !matches!(fd.kind, FieldKind::Computed(_))
                    && form::is_visible(f, fd, &s.values, &computed);
                let typed_but_bad =
                    s.raw.iter().any(|(k, _)| k == &fd.id) && !s.values.contains_key(&fd.id);
                if (needed && !s.values.contains_key(&fd.id)) || typed_but_bad {
                    blocked = true;
                    if !typed_but_bad {
                        out.push(Effect::FieldError {
                            field: fd.id.clone(),
                            error: Some(FieldError::Required),
                        });
                    }
                }
            }
        }
        if blocked {
            let t = self
                .s()
                .bundle
                .texts
                .get("form.invalid", self.s().lang)
                .to_string();
            self.say(t, out);
            return;
        }
        if step + 1 < f.steps.len() {
            self.s_mut().step = step + 1;
            self.show(
                Screen::Form {
                    business,
                    step: step + 1,
                },
                out,
            );
            return;
        }
        // Last step: the whole form's checks, then the review.
        let values = form::visible_values(f, &self.s().values);
        let errs = form::validate(f, &values);
        if !errs.is_empty() {
            for (field, e) in errs {
                out.push(Effect::FieldError {
                    field,
                    error: Some(e),
                });
            }
            return;
        }
        self.s_mut().values = values;
        out.push(Effect::CheckPrinter);
        self.go(Screen::Review { business }, out);
    }

    fn printer_checked(&mut self, p: PrinterState, out: &mut Out) {
        match &p {
            PrinterState::Fault(detail) => {
                let id = self.sid();
                out.push(Effect::NotifyStaff {
                    session: id,
                    alert: StaffAlert::PrinterFault {
                        detail: detail.clone(),
                    },
                });
            }
            PrinterState::PaperLow => {
                let id = self.sid();
                out.push(Effect::NotifyStaff {
                    session: id,
                    alert: StaffAlert::PaperLow,
                });
            }
            PrinterState::Ready => {}
        }
        self.s_mut().printer = Some(p);
    }

    fn confirm(&mut self, business: String, out: &mut Out) {
        let b = self.s().bundle.clone();
        let Some(x) = b.business(&business) else {
            return;
        };
        // The invariant the property test checks: no submission without the identity the
        // business requires.
        if self.s().identity() < x.identity {
            self.s_mut().identify_for = Some(business);
            out.push(Effect::StartCardReader);
            self.go(Screen::InsertCard, out);
            return;
        }
        let f = b.form_of(x);
        let s = self.s_mut();
        s.review_confirmed = true;
        let values = s.values.clone();
        let computed = form::compute(f, &values);
        let op = x.operation;
        if matches!(op, Operation::Ticket | Operation::Appointment) || x.mode == Mode::Staffed {
            let category = match x.audience {
                crate::config::Audience::Business => TicketCategory::Business,
                _ => TicketCategory::Individual,
            };
            let appointment = op == Operation::Appointment
                || !self.staffed_open
                || matches!(values.get("when"), Some(form::FieldValue::Choice(c)) if c == "appointment");
            let key = self.idem_key("ticket");
            self.send_to(
                Destination::Hall,
                Request::Ticket {
                    business: Some(business.clone()),
                    category,
                    appointment,
                    prefill: values,
                    idempotency_key: key,
                },
                out,
            );
        } else {
            let key = self.idem_key("submit");
            self.send(
                Request::Submit {
                    business: business.clone(),
                    operation: op,
                    values,
                    computed,
                    idempotency_key: key,
                },
                out,
            );
        }
        let t = self
            .s()
            .bundle
            .texts
            .get("submit.sending", self.s().lang)
            .to_string();
        self.say(t, out);
        self.go(Screen::Submitting { business }, out);
    }

    fn submitted(&mut self, business: String, r: SubmitResult, out: &mut Out) {
        let b = self.s().bundle.clone();
        let needs_payment = b
            .business(&business)
            .is_some_and(|x| x.payment != Payment::None);
        let s = self.s_mut();
        match r {
            SubmitResult::Done {
                tracking,
                document_no,
                verify_code,
                due,
            } => {
                s.tracking = Some(tracking.clone());
                s.due = due;
                if needs_payment && due > Amount::ZERO {
                    // The document (a payment voucher or certificate) follows the payment.
                    s.outcome = Some(Outcome::Done {
                        tracking,
                        document_no,
                        verify_code,
                        paid: None,
                    });
                    self.go(Screen::Payment { business }, out);
                    return;
                }
                s.outcome = Some(Outcome::Done {
                    tracking,
                    document_no,
                    verify_code,
                    paid: None,
                });
            }
            SubmitResult::Accepted { tracking, due } => {
                s.tracking = Some(tracking.clone());
                s.due = due;
                s.outcome = Some(Outcome::Submitted {
                    tracking,
                    queued: false,
                });
                if needs_payment && due > Amount::ZERO {
                    self.go(Screen::Payment { business }, out);
                    return;
                }
            }
            SubmitResult::Queued { tracking } => {
                // The back office is unreachable: the outbox has it. Not an error for the
                // taxpayer: received, will be processed.
                s.tracking = Some(tracking.clone());
                let text = s
                    .bundle
                    .texts
                    .fill("submit.queued", s.lang, &[("tracking", &tracking)]);
                s.outcome = Some(Outcome::Submitted {
                    tracking,
                    queued: true,
                });
                self.say(text, out);
            }
            SubmitResult::Refused { reason, next_step } => {
                s.outcome = Some(Outcome::Refused { reason, next_step });
            }
        }
        self.go(Screen::Outcome { business }, out);
    }

    fn ticket_issued(&mut self, business: String, r: Result<Ticket, Localized>, out: &mut Out) {
        let s = self.s_mut();
        s.outcome = Some(match r {
            Ok(t) => Outcome::Ticket(t),
            Err(reason) => Outcome::Refused {
                reason,
                next_step: Localized::new(
                    "请联系大厅工作人员取号",
                    "Please ask the hall staff for a ticket",
                ),
            },
        });
        self.go(Screen::Outcome { business }, out);
    }

    fn pay(&mut self, business: String, method: PaymentMethod, out: &mut Out) {
        let s = self.s();
        // Invariant: a payment only follows a review the person confirmed.
        if !s.review_confirmed || s.due <= Amount::ZERO {
            return;
        }
        let tracking = s.tracking.clone().unwrap_or_default();
        let amount = s.due;
        let key = self.idem_key("pay");
        self.send(
            Request::Pay {
                business: business.clone(),
                tracking,
                amount,
                method,
                idempotency_key: key,
            },
            out,
        );
        self.go(Screen::Paying { business }, out);
    }

    fn paid(&mut self, business: String, r: Result<String, Localized>, out: &mut Out) {
        let s = self.s_mut();
        match r {
            Ok(voucher) => {
                let due = s.due;
                let tracking = s.tracking.clone().unwrap_or_default();
                s.outcome = Some(match s.outcome.take() {
                    Some(Outcome::Done {
                        tracking,
                        document_no,
                        verify_code,
                        ..
                    }) => Outcome::Done {
                        tracking,
                        document_no,
                        verify_code,
                        paid: Some((due, voucher)),
                    },
                    _ => Outcome::Done {
                        tracking,
                        document_no: voucher.clone(),
                        verify_code: String::new(),
                        paid: Some((due, voucher)),
                    },
                });
                self.go(Screen::Outcome { business }, out);
            }
            Err(reason) => {
                // Declined: the person may try another method or leave the tax due.
                let text = s.bundle.texts.fill(
                    "payment.declined",
                    s.lang,
                    &[("reason", reason.get(s.lang))],
                );
                out.push(Effect::FieldError {
                    field: "payment".into(),
                    error: Some(FieldError::Check(reason)),
                });
                self.say(text, out);
                self.show(Screen::Payment { business }, out);
            }
        }
    }

    fn print_outcome(&mut self, out: &mut Out) {
        let printer_down = matches!(self.s().printer, Some(PrinterState::Fault(_)));
        let Some(job) = self.print_job() else {
            self.go(Screen::Rating, out);
            return;
        };
        if printer_down {
            // Known before: do not start a job that cannot print; offer the e-receipt.
            self.go(Screen::EReceipt, out);
            return;
        }
        self.printing(Effect::Print(job), out);
    }

    /// Sends a print job and shows the printing screen until the printer answers.
    fn printing(&mut self, job: Effect, out: &mut Out) {
        out.push(job);
        let t = self
            .s()
            .bundle
            .texts
            .get("print.printing", self.s().lang)
            .to_string();
        self.say(t, out);
        self.go(Screen::Printing, out);
    }

    /// The receipt again, as a marked copy, a limited number of times: a kiosk is not a
    /// copier, and each copy is a document that says it is one.
    fn reprint(&mut self, out: &mut Out) {
        if self.s().reprints >= MAX_REPRINTS {
            return;
        }
        let Some(job) = self.print_job() else {
            return;
        };
        self.s_mut().reprints += 1;
        self.printing(Effect::Reprint(job), out);
    }

    /// The receipt for the outcome, with personal data masked.
    pub fn print_job(&self) -> Option<PrintJob> {
        let s = self.session.as_ref()?;
        let outcome = s.outcome.as_ref()?;
        let b = &s.bundle;
        let business = s.business();
        let template = match (outcome, business) {
            (Outcome::Ticket(_), _) => b
                .receipts
                .values()
                .find(|r| r.kind == ReceiptKind::Ticket)?
                .id
                .clone(),
            (Outcome::Refused { .. }, _) => return None,
            (Outcome::Submitted { .. } | Outcome::PaymentPending { .. }, _) => {
                "acceptance".to_string()
            }
            (Outcome::Done { .. }, Some(x)) => x.receipt.clone(),
            (Outcome::Done { .. }, None) => return None,
        };
        if !b.receipts.contains_key(&template) {
            return None;
        }
        let lang = s.lang;
        let mut fields: Vec<(String, String)> = vec![
            ("hall_name".into(), b.kiosk.hall_name.get(lang).into()),
            ("kiosk_id".into(), b.kiosk.kiosk_id.clone()),
        ];
        if let Some(x) = business {
            fields.push(("business_code".into(), x.code.clone()));
            fields.push(("business_name".into(), x.name.get(lang).into()));
            let mats: Vec<&str> = x.materials.iter().map(|m| m.get(lang)).collect();
            fields.push(("materials".into(), mats.join("; ")));
        }
        if let Some(c) = &s.card {
            fields.push(("taxpayer_name".into(), mask_name(&c.name)));
            fields.push(("taxpayer_id_masked".into(), c.id_number.masked()));
        }
        match outcome {
            Outcome::Done {
                tracking,
                document_no,
                verify_code,
                paid,
            } => {
                fields.push(("tracking_no".into(), tracking.clone()));
                fields.push(("document_no".into(), document_no.clone()));
                fields.push(("verify_code".into(), verify_code.clone()));
                // The QR code points at the back office's public verification page.
                let url = format!(
                    "{}/documents/{document_no}/verify?code={verify_code}",
                    b.kiosk.endpoints.backoffice.trim_end_matches('/')
                );
                fields.push(("verify_url".into(), url));
                if let Some((amount, _)) = paid {
                    fields.push(("total".into(), amount.to_string()));
                }
            }
            Outcome::Submitted { tracking, .. } | Outcome::PaymentPending { tracking, .. } => {
                fields.push(("tracking_no".into(), tracking.clone()));
            }
            Outcome::Ticket(t) => {
                fields.push(("ticket_no".into(), t.number.clone()));
                fields.push(("ticket_ahead".into(), t.ahead.to_string()));
                fields.push(("ticket_wait_minutes".into(), t.wait_minutes.to_string()));
                fields.push(("ticket_window".into(), t.window.clone()));
            }
            Outcome::Refused { .. } => {}
        }
        let mut lines = Vec::new();
        if let Some(x) = business
            && b.receipts.get(&template).is_some_and(|r| r.form_lines)
        {
            let f = b.form_of(x);
            let computed = form::compute(f, &s.values);
            for fd in f.fields() {
                let v = match (&fd.kind, s.values.get(&fd.id), computed.get(&fd.id)) {
                    (FieldKind::Amount { .. }, Some(v), _) => v.display(fd, lang),
                    (FieldKind::Computed(_), _, Some(a)) => a.to_string(),
                    (FieldKind::Period(_), Some(v), _) => v.display(fd, lang),
                    _ => continue,
                };
                lines.push((fd.label.get(lang).to_string(), v));
            }
        }
        Some(PrintJob {
            template,
            lang,
            fields,
            lines,
        })
    }

    // ---- requests ------------------------------------------------------------------------

    fn idem_key(&mut self, what: &str) -> String {
        let s = self.s_mut();
        s.requests += 1;
        format!("{}-{what}-{}", s.id, s.requests)
    }

    fn send(&mut self, req: Request, out: &mut Out) {
        self.send_to(Destination::BackOffice, req, out);
    }

    fn send_to(&mut self, dest: Destination, req: Request, out: &mut Out) {
        let s = self.s();
        // Practice mode: everything goes to the sandbox, whatever the caller asked for.
        let destination = if s.practice {
            Destination::Sandbox
        } else {
            dest
        };
        let provenance = Provenance {
            kiosk_id: s.bundle.kiosk.kiosk_id.clone(),
            hall_id: s.bundle.kiosk.hall_id.clone(),
            config_version: s.bundle.version().to_string(),
            session_id: s.id.clone(),
            verification: s.method,
            practice: s.practice,
            at: self.now,
        };
        out.push(Effect::Send(Outbound {
            destination,
            provenance,
            request: req,
        }));
    }

    fn s(&self) -> &Session {
        self.session.as_ref().expect("called only within a session")
    }
    fn s_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("called only within a session")
    }
    fn sid(&self) -> Option<SessionId> {
        self.session.as_ref().map(|s| s.id.clone())
    }
}

/// Copies of a receipt a person may ask for in one session.
pub const MAX_REPRINTS: u32 = 2;

/// A person's doing, as opposed to a device or network answer: these reset the idle clock.
fn is_person_input(e: &Event) -> bool {
    !matches!(
        e,
        Event::Tick { .. }
            | Event::NewConfig(_)
            | Event::CardRead(_)
            | Event::FaceResult(_)
            | Event::SmsSent(_)
            | Event::IdentityResult(_)
            | Event::Submitted(_)
            | Event::Paid(_)
            | Event::TicketIssued(_)
            | Event::PrinterChecked(_)
            | Event::Printed(_)
            | Event::StaffVerified
    )
}

/// Screens one can come back to with Back: not the transient ones.
fn navigable(s: &Screen) -> bool {
    !matches!(
        s,
        Screen::Attract
            | Screen::Verifying
            | Screen::Submitting { .. }
            | Screen::Paying { .. }
            | Screen::Printing
            | Screen::Face { .. }
            | Screen::Outcome { .. }
            | Screen::Payment { .. }
            | Screen::EReceipt
            | Screen::Rating
            | Screen::Goodbye
    )
}

fn prompt_key(s: &Screen) -> Option<&'static str> {
    Some(match s {
        Screen::Attract => "attract.touch_to_start",
        Screen::Language => "language.choose",
        Screen::InsertCard => "identify.insert_card",
        Screen::Face { .. } => "identify.look_at_camera",
        Screen::Alternatives => "identify.alternatives",
        Screen::Zones => "zone.choose",
        Screen::Review { .. } => "review.title",
        Screen::Submitting { .. } => "submit.sending",
        Screen::Payment { .. } => "payment.title",
        Screen::Printing => "print.printing",
        Screen::EReceipt => "print.failed",
        Screen::Rating => "rating.ask",
        Screen::Goodbye => "goodbye.thanks",
        _ => return None,
    })
}

/// `张*明`: receipts show the family name and the last character only.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
