//! The terminal walk-through: the real session core, driven from a terminal instead of a
//! touch screen. Typed numbers become the same events a tap would send; the core's effects
//! are executed by terminal stand-ins: the card reader and camera ask what happened, and
//! requests go to the practice sandbox (the reference back office arrives with its issue),
//! so the kiosk runs in practice mode and says so. It reads answers line by line, so it
//! runs both by hand and from a script in tests.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use kiosk_core::config::{Bundle, FieldKind};
use kiosk_core::form;
use kiosk_core::ids::{Date, IdNumber, id_check_char};
use kiosk_core::session::*;
use kiosk_core::{Lang, Localized};

use crate::link::Link;
use crate::sandbox::Sandbox;

/// Walks a session in the terminal, with the bundle and back office `startup` names.
pub fn run(startup: &crate::startup::Startup) -> Result<()> {
    let (bundle, link) = startup.open()?;
    let stdin = std::io::stdin();
    let mut demo = Demo::new(
        Arc::new(bundle),
        Box::new(stdin.lock()),
        Box::new(std::io::stdout()),
    );
    demo.link = link;
    demo.run();
    Ok(())
}

pub struct Demo<'a> {
    kiosk: Kiosk,
    sandbox: Sandbox,
    link: Option<Link>,
    input: Box<dyn BufRead + 'a>,
    out: Box<dyn Write + 'a>,
    queue: VecDeque<Event>,
    started: Instant,
    errors: Vec<(String, String)>,
    sessions: u32,
}

/// A line of input ended: the person walked away.
struct Eof;

impl<'a> Demo<'a> {
    pub fn new(
        bundle: Arc<Bundle>,
        input: Box<dyn BufRead + 'a>,
        out: Box<dyn Write + 'a>,
    ) -> Demo<'a> {
        let seed = std::process::id() as u64 ^ 0x5eed;
        Demo {
            kiosk: Kiosk::new(bundle, seed),
            sandbox: Sandbox::default(),
            link: None,
            input,
            out,
            queue: VecDeque::new(),
            started: Instant::now(),
            errors: Vec::new(),
            sessions: 0,
        }
    }

    fn say(&mut self, s: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", s.as_ref());
    }

    fn ask(&mut self, prompt: &str) -> Result<String, Eof> {
        let _ = write!(self.out, "{prompt} > ");
        let _ = self.out.flush();
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => Err(Eof),
            Ok(_) => {
                let a = line.trim().to_string();
                let _ = writeln!(self.out, "{a}");
                Ok(a)
            }
        }
    }

    fn lang(&self) -> Lang {
        self.kiosk.session().map_or(Lang::Zh, |s| s.lang())
    }

    fn t(&self, key: &str) -> String {
        self.kiosk
            .active_bundle()
            .texts
            .get(key, self.lang())
            .to_string()
    }

    fn pick(&self, l: &Localized) -> String {
        l.get(self.lang()).to_string()
    }

    pub fn run(&mut self) {
        let _ = self.loop_();
        // Walking away ends the session like a real kiosk's presence sensor would.
        self.feed(Event::Leave);
        self.say("");
        self.say("— 演示结束 · demo ended —");
    }

    fn loop_(&mut self) -> Result<(), Eof> {
        self.render();
        loop {
            let ev = self.prompt()?;
            if let Some(ev) = ev {
                self.feed(ev);
            }
            self.render();
        }
    }

    /// Sends an event, then everything the effects bring back, in order.
    fn feed(&mut self, ev: Event) {
        let now = self.started.elapsed().as_millis() as u64 + 1;
        self.queue.push_back(Event::Tick { now });
        self.queue.push_back(ev);
        while let Some(ev) = self.queue.pop_front() {
            for e in self.kiosk.handle(ev) {
                self.effect(e);
            }
        }
    }

    fn effect(&mut self, e: Effect) {
        match e {
            Effect::Send(o) => {
                let kind = match &o.request {
                    Request::SendSmsCode { .. } => "sms",
                    Request::VerifyIdentity { .. } => "verify-identity",
                    Request::Submit { .. } => "submit",
                    Request::Pay { .. } => "pay",
                    Request::Ticket { .. } => "ticket",
                };
                self.say(format!(
                    "  [→ {:?}: {kind}, session {}, verified by {}, config {}]",
                    o.destination,
                    o.provenance.session_id,
                    o.provenance.verification.code(),
                    o.provenance.config_version
                ));
                let bundle = self.kiosk.active_bundle().clone();
                let live = match (&mut self.link, o.destination) {
                    (Some(link), Destination::BackOffice) => link.execute(&o, &bundle),
                    _ => None,
                };
                // Practice requests, and tickets until the hall console is wired in, are
                // answered by the sandbox.
                let answer = live.or_else(|| self.sandbox.answer(&bundle, &o));
                if let Some(answer) = answer {
                    self.queue.push_back(answer);
                }
            }
            Effect::CheckPrinter => self
                .queue
                .push_back(Event::PrinterChecked(PrinterState::Ready)),
            Effect::Print(mut job) | Effect::Reprint(mut job) => {
                job.fields
                    .push(("time".into(), local_time(self.kiosk.active_bundle())));
                let text = receipt_text(self.kiosk.active_bundle(), &job);
                self.say(text);
                self.queue.push_back(Event::Printed(Ok(())));
            }
            Effect::Speak(s) => self.say(format!("  🔊 {s}")),
            Effect::NotifyStaff { alert, .. } => self.say(format!("  [staff notified: {alert:?}]")),
            Effect::IdleWarning(Some(s)) => {
                let text = self.kiosk.session().map(|x| {
                    x.bundle()
                        .texts
                        .fill("idle.warning", x.lang(), &[("seconds", &s.to_string())])
                });
                self.say(format!("  ⏳ {}", text.unwrap_or_default()));
            }
            Effect::FieldError { field, error } => {
                self.errors.retain(|(f, _)| f != &field);
                if let Some(e) = error {
                    let m = e.message(self.lang());
                    self.errors.push((field, m));
                }
            }
            Effect::Wipe => {
                if let Some(l) = &mut self.link {
                    l.forget_all();
                }
                self.sessions += 1;
                self.errors.clear();
                self.say("  [session ended: personal data wiped · 会话结束，个人信息已清除]");
            }
            Effect::Show(_)
            | Effect::IdleWarning(None)
            | Effect::StartCardReader
            | Effect::StartFace { .. }
            | Effect::StopCamera
            | Effect::Telemetry(_) => {}
        }
    }

    fn header(&mut self, title: &str) {
        let practice = self.kiosk.session().is_some_and(|s| s.practice());
        self.say("");
        if practice {
            let banner = self.t("app.practice_banner");
            self.say(format!("【{banner}】"));
        }
        self.say(format!("== {title} =="));
    }

    fn render(&mut self) {
        let b = self.kiosk.active_bundle().clone();
        match self.kiosk.screen().clone() {
            Screen::Attract => {
                self.say("");
                self.say(format!(
                    "===== {} · {} =====",
                    b.kiosk.hall_name.zh, b.kiosk.hall_name.en
                ));
                for z in self.kiosk.visible_zones() {
                    let line = format!("  {} {} · {}", z.code, z.name.zh, z.name.en);
                    let _ = writeln!(self.out, "{line}");
                }
                let (zh, en) = (
                    b.texts.get("attract.touch_to_start", Lang::Zh),
                    b.texts.get("attract.touch_to_start", Lang::En),
                );
                self.say(format!("{zh} / {en}"));
            }
            Screen::Language => {
                let title = format!(
                    "{} / {}",
                    b.texts.get("language.choose", Lang::Zh),
                    b.texts.get("language.choose", Lang::En)
                );
                self.header(&title);
                self.say("  1. 中文   2. English   3. 长者模式 Elder mode");
            }
            Screen::InsertCard => {
                let t = self.t("identify.insert_card");
                self.header(&t);
                self.errors_out();
                let opts = self.local("1. 放置演示身份证   2. 模拟读卡失败   3. 跳过（无需身份的业务）", "1. Place the demo ID card   2. Simulate an unreadable card   3. Skip (for services that need no identity)");
                self.say(opts);
            }
            Screen::Face { attempt } => {
                let t = self.t("identify.look_at_camera");
                self.header(&format!("{t} ({attempt})"));
                let opts = self.local(
                    "（终端演示没有摄像头）1. 人脸比对通过   2. 比对不通过   3. 改用短信验证码   4. 请工作人员协助",
                    "(no camera in the terminal demo) 1. Face matches   2. Face does not match   3. Use an SMS code   4. Ask staff to help",
                );
                self.say(opts);
            }
            Screen::Alternatives => {
                let t = self.t("identify.alternatives");
                self.header(&t);
                let opts = self.local(
                    "1. 短信验证码   2. 工作人员协助   3. 跳过",
                    "1. SMS code   2. Staff assist   3. Skip",
                );
                self.say(opts);
            }
            Screen::SmsCode => {
                let t = self.local(
                    "请输入短信验证码（6位数字）",
                    "Enter the SMS code (6 digits)",
                );
                self.header(&t);
                self.errors_out();
            }
            Screen::StaffAssist => {
                let t = self.local("工作人员正在赶来", "Staff are on their way");
                self.header(&t);
                let opts = self.local(
                    "1. 工作人员已核验身份",
                    "1. Staff have verified the identity",
                );
                self.say(opts);
            }
            Screen::Verifying
            | Screen::Submitting { .. }
            | Screen::Paying { .. }
            | Screen::Printing => {}
            Screen::Zones => {
                let t = self.t("zone.choose");
                self.header(&t);
                let zones: Vec<String> = self
                    .kiosk
                    .visible_zones()
                    .iter()
                    .map(|z| format!("{} — {}", self.pick(&z.name), self.pick(&z.purpose)))
                    .collect();
                self.numbered(&zones);
            }
            Screen::Guidance { node } => {
                let n = b.guidance.nodes[&node].clone();
                let q = self.pick(&n.question);
                self.header(&q);
                let opts: Vec<String> = n.options.iter().map(|o| self.pick(&o.label)).collect();
                self.numbered(&opts);
            }
            Screen::Businesses { zone } => {
                let z = b
                    .zone(&zone)
                    .map(|z| self.pick(&z.name))
                    .unwrap_or_default();
                self.header(&z);
                let items: Vec<String> = b
                    .businesses_in(&zone)
                    .map(|x| format!("{} {} [{}]", x.code, self.pick(&x.name), x.mode.code()))
                    .collect();
                self.numbered(&items);
            }
            Screen::Detail { business } => {
                let x = b
                    .business(&business)
                    .expect("screen shows a known business")
                    .clone();
                self.header(&format!("{} {}", x.code, self.pick(&x.name)));
                let summary = self.pick(&x.summary);
                self.say(summary);
                let mins = b.texts.fill(
                    "business.minutes",
                    self.lang(),
                    &[("minutes", &x.minutes.to_string())],
                );
                self.say(mins);
                let ends = self.t(&format!("business.ends.{}", x.mode.code()));
                self.say(ends);
                let m = self.t("business.materials");
                self.say(format!("{m}:"));
                for mat in &x.materials {
                    let s = self.pick(mat);
                    self.say(format!("  · {s}"));
                }
                let opts = self.local("1. 开始办理", "1. Start");
                self.say(opts);
            }
            Screen::Form { business, step } => {
                let x = b.business(&business).expect("known").clone();
                let f = b.form_of(&x);
                let title = format!(
                    "{} · {} ({}/{})",
                    self.pick(&f.title),
                    self.pick(&f.steps[step].title),
                    step + 1,
                    f.steps.len()
                );
                self.header(&title);
                self.errors_out();
            }
            Screen::Review { business } => {
                let t = self.t("review.title");
                self.header(&t);
                let x = b.business(&business).expect("known").clone();
                let f = b.form_of(&x);
                let s = self.kiosk.session().expect("in session");
                let computed = s.computed();
                let lang = s.lang();
                let mut lines = Vec::new();
                for fd in f.fields() {
                    if let Some(v) = s.values().get(&fd.id) {
                        lines.push(format!("  {}: {}", fd.label.get(lang), v.display(fd, lang)));
                    } else if let Some(a) = computed.get(&fd.id) {
                        lines.push(format!("  {}: {a}", fd.label.get(lang)));
                    }
                }
                for l in lines {
                    self.say(l);
                }
                let c = self.t("common.confirm");
                self.say(format!("  1. {c}"));
            }
            Screen::Payment { .. } => {
                let t = self.t("payment.title");
                self.header(&t);
                self.errors_out();
                let due = self.kiosk.session().map(|s| s.due()).unwrap_or_default();
                let l = self.local("应缴金额", "Amount due");
                self.say(format!("  {l}: ￥{due}"));
                let opts = self.local(
                    "1. 三方协议扣款   2. 扫码缴税   3. 银行卡（POS）   0. 稍后缴款",
                    "1. Tripartite debit   2. Pay by QR code   3. Bank card (POS)   0. Pay later",
                );
                self.say(opts);
            }
            Screen::Outcome { .. } => {
                let s = self.kiosk.session().expect("in session");
                let lang = s.lang();
                let tx = &s.bundle().texts;
                let text = match s.outcome() {
                    Some(Outcome::Done {
                        document_no, paid, ..
                    }) => {
                        let mut t = format!("{} · {document_no}", tx.get("outcome.done", lang));
                        if let Some((a, v)) = paid {
                            t.push_str(&format!(" · ￥{a} · {v}"));
                        }
                        t
                    }
                    Some(Outcome::Submitted { tracking, queued }) => {
                        let key = if *queued {
                            "submit.queued"
                        } else {
                            "outcome.submitted"
                        };
                        tx.fill(key, lang, &[("tracking", tracking)])
                    }
                    Some(Outcome::Ticket(t)) => tx.fill(
                        "outcome.ticket",
                        lang,
                        &[("ticket", &t.number), ("ahead", &t.ahead.to_string())],
                    ),
                    Some(Outcome::Refused { reason, next_step }) => {
                        format!(
                            "{} {}",
                            tx.fill("outcome.refused", lang, &[("reason", reason.get(lang))]),
                            next_step.get(lang)
                        )
                    }
                    Some(Outcome::PaymentPending {
                        tracking,
                        due,
                        reason,
                    }) => format!("{tracking}: ￥{due} · {}", reason.get(lang)),
                    None => String::new(),
                };
                self.header(&text);
                let opts = self.local("1. 继续（打印凭证）", "1. Continue (print the receipt)");
                self.say(opts);
            }
            Screen::EReceipt => {
                let t = self.t("print.failed");
                self.header(&t);
                self.say("  1. OK");
            }
            Screen::Rating => {
                let t = self.t("rating.ask");
                self.header(&t);
                self.say("  1 ★   2 ★★   3 ★★★   4 ★★★★   5 ★★★★★");
            }
            Screen::Goodbye => {
                let t = self.t("goodbye.thanks");
                self.header(&t);
            }
        }
    }

    fn local(&self, zh: &str, en: &str) -> String {
        match self.lang() {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
        }
    }

    fn errors_out(&mut self) {
        let errs = std::mem::take(&mut self.errors);
        for (f, m) in &errs {
            let who = if f.is_empty() {
                String::new()
            } else {
                format!("{f}: ")
            };
            self.say(format!("  ✗ {who}{m}"));
        }
        self.errors = errs;
    }

    fn numbered(&mut self, items: &[String]) {
        for (i, it) in items.iter().enumerate() {
            self.say(format!("  {:>2}. {it}", i + 1));
        }
        let hint = self.local(
            "  （b 返回 · h 首页 · s 呼叫工作人员 · l 切换语言 · q 离开）",
            "  (b back · h home · s call staff · l language · q leave)",
        );
        self.say(hint);
    }

    /// Reads what the person does on this screen and turns it into an event.
    fn prompt(&mut self) -> Result<Option<Event>, Eof> {
        let b = self.kiosk.active_bundle().clone();
        let screen = self.kiosk.screen().clone();
        if let Screen::Form { business, step } = &screen {
            return self.fill_step(&b, business, *step);
        }
        if let Screen::Goodbye = screen {
            // The goodbye screen times out on its own.
            self.feed(Event::Tick { now: u64::MAX / 4 });
            return Ok(None);
        }
        let a = self.ask(if matches!(screen, Screen::Attract) {
            "[Enter]"
        } else {
            ""
        })?;
        let n: Option<usize> = a.parse().ok();
        let common = match a.as_str() {
            "b" => Some(Event::Back),
            "h" => Some(Event::Home),
            "s" => Some(Event::CallStaff),
            "q" => Some(Event::Leave),
            "l" => Some(Event::ChooseLanguage(if self.lang() == Lang::Zh {
                Lang::En
            } else {
                Lang::Zh
            })),
            _ => None,
        };
        if common.is_some() && !matches!(screen, Screen::Attract) {
            return Ok(common);
        }
        let ev = match (&screen, n) {
            (Screen::Attract, _) => Some(Event::Touch),
            (Screen::Language, Some(1)) => Some(Event::ChooseLanguage(Lang::Zh)),
            (Screen::Language, Some(2)) => Some(Event::ChooseLanguage(Lang::En)),
            (Screen::Language, Some(3)) => Some(Event::SetElderMode(
                !self.kiosk.session().is_some_and(|s| s.elder()),
            )),
            (Screen::InsertCard, Some(1)) => Some(Event::CardRead(Ok(demo_card()))),
            (Screen::InsertCard, Some(2)) => Some(Event::CardRead(Err(CardError::Unreadable))),
            (Screen::InsertCard, Some(3)) | (Screen::Alternatives, Some(3)) => {
                Some(Event::SkipIdentify)
            }
            (Screen::Face { .. }, Some(1)) => Some(Event::FaceResult(Ok(0.62))),
            (Screen::Face { .. }, Some(2)) => Some(Event::FaceResult(Err(FaceFailure::Mismatch))),
            (Screen::Face { .. }, Some(3)) | (Screen::Alternatives, Some(1)) => Some(Event::UseSms),
            (Screen::Face { .. }, Some(4)) | (Screen::Alternatives, Some(2)) => {
                Some(Event::UseStaffAssist)
            }
            (Screen::SmsCode, _) => Some(Event::SmsCode(a.clone())),
            (Screen::StaffAssist, Some(1)) => Some(Event::StaffVerified),
            (Screen::Zones, Some(i)) => self
                .kiosk
                .visible_zones()
                .get(i.wrapping_sub(1))
                .map(|z| Event::ChooseZone(z.code.clone())),
            (Screen::Guidance { .. }, Some(i)) if i >= 1 => Some(Event::GuidanceAnswer(i - 1)),
            (Screen::Businesses { zone }, Some(i)) => b
                .businesses_in(zone)
                .nth(i.wrapping_sub(1))
                .map(|x| Event::ChooseBusiness(x.code.clone())),
            (Screen::Detail { .. }, Some(1)) => Some(Event::Start),
            (Screen::Review { .. }, Some(1)) => Some(Event::ConfirmReview),
            (Screen::Payment { .. }, Some(0)) => Some(Event::Back),
            (Screen::Payment { .. }, Some(i)) => PaymentMethod::ALL
                .get(i.wrapping_sub(1))
                .map(|m| Event::ChoosePayment(*m)),
            (Screen::Outcome { .. } | Screen::EReceipt, Some(1)) => Some(Event::NextStep),
            (Screen::Rating, Some(i)) if (1..=5).contains(&i) => Some(Event::Rate(i as u8)),
            _ => None,
        };
        if ev.is_none() {
            let m = self.local(
                "没有这一项，请重新输入",
                "There is no such item; please try again",
            );
            self.say(format!("  ✗ {m}: \"{a}\""));
        }
        Ok(ev)
    }

    /// One form step: each visible field is asked for, errors shown in the session's
    /// language, computed values shown as they change; then on to the next step.
    fn fill_step(&mut self, b: &Bundle, business: &str, step: usize) -> Result<Option<Event>, Eof> {
        let x = b.business(business).expect("known").clone();
        let f = b.form_of(&x).clone();
        let lang = self.lang();
        for fd in &f.steps[step].fields {
            let s = self.kiosk.session().expect("in session");
            let computed = s.computed();
            if !form::is_visible(&f, fd, s.values(), &computed) {
                continue;
            }
            if let FieldKind::Computed(_) = fd.kind {
                let v = computed
                    .get(&fd.id)
                    .map_or("—".to_string(), |a| a.to_string());
                self.say(format!("  {} = {v}", fd.label.get(lang)));
                continue;
            }
            let current = s.values().get(&fd.id).map(|v| v.display(fd, lang));
            if let Some(h) = &fd.help {
                self.say(format!("    ({})", h.get(lang)));
            }
            if let FieldKind::Choice(opts) = &fd.kind {
                for o in opts {
                    self.say(format!("    [{}] {}", o.value, o.label.get(lang)));
                }
            }
            let mut prompt = format!("  {}", fd.label.get(lang));
            match (&fd.kind, lang) {
                (FieldKind::Amount { .. }, Lang::Zh) => prompt.push_str("（元）"),
                (FieldKind::Amount { .. }, Lang::En) => prompt.push_str(" (yuan)"),
                (FieldKind::Bool, _) => prompt.push_str(" (y/n)"),
                (FieldKind::Rate { .. }, _) => prompt.push_str(" (%)"),
                _ => {}
            }
            if let Some(c) = &current {
                prompt.push_str(&format!(" [{c}]"));
            } else if !fd.required {
                prompt.push_str(if lang == Lang::Zh {
                    "［选填］"
                } else {
                    " [optional]"
                });
            }
            loop {
                let a = self.ask(&prompt)?;
                if a.is_empty() && (current.is_some() || !fd.required) {
                    break;
                }
                if matches!(a.as_str(), "b" | "h" | "q" | "s") {
                    return Ok(Some(match a.as_str() {
                        "b" => Event::Back,
                        "h" => Event::Home,
                        "s" => Event::CallStaff,
                        _ => Event::Leave,
                    }));
                }
                self.feed(Event::FieldInput {
                    field: fd.id.clone(),
                    text: a,
                });
                if let Some((_, m)) = self.errors.iter().find(|(f, _)| f == &fd.id).cloned() {
                    self.say(format!("    ✗ {m}"));
                    continue;
                }
                let s = self.kiosk.session().expect("in session");
                let computed = s.computed();
                let shown: Vec<String> = f
                    .fields()
                    .filter_map(|c| {
                        computed
                            .get(&c.id)
                            .map(|a| format!("{} {a}", c.label.get(lang)))
                    })
                    .collect();
                if !shown.is_empty() {
                    self.say(format!("    → {}", shown.join(" · ")));
                }
                break;
            }
        }
        self.errors.clear();
        Ok(Some(Event::NextStep))
    }
}

/// The demo ID card: a fictional person whose number is built with a valid check digit.
pub fn demo_card() -> CardData {
    let body = "53010219900307153";
    let id = format!("{body}{}", id_check_char(body.as_bytes()) as char);
    CardData {
        name: "王小明".into(),
        id_number: IdNumber::parse(&id).expect("the demo number is valid by construction"),
        valid_to: Date::new(2035, 3, 7).expect("valid date"),
    }
}

/// The hall's local time as `2026-11-29 18:31`; the core has no clock, the shell does.
pub fn local_time(b: &Bundle) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let local = secs + b.kiosk.schedule.utc_offset_minutes as i64 * 60;
    let d = Date::from_days_since_epoch(local.div_euclid(86_400));
    let m = local.rem_euclid(86_400) / 60;
    format!("{d} {:02}:{:02}", m / 60, m % 60)
}

/// A plain-text rendering of a receipt, as the terminal's stand-in for the printer.
pub fn receipt_text(b: &Bundle, job: &PrintJob) -> String {
    let Some(t) = b.receipts.get(&job.template) else {
        return String::new();
    };
    let fill = |s: &str| {
        let mut s = s.to_string();
        for (k, v) in &job.fields {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    };
    let rule = "-".repeat(40);
    let mut out = vec![rule.clone(), format!("  {}", t.title.get(job.lang))];
    if let Some((_, hall)) = job.fields.iter().find(|(k, _)| k == "hall_name") {
        out.push(format!("  {hall}"));
    }
    out.push(rule.clone());
    for l in &t.lines {
        out.push(format!("  {}: {}", l.label.get(job.lang), fill(&l.value)));
    }
    for (label, v) in &job.lines {
        out.push(format!("  {label}: {v}"));
    }
    if let Some(q) = &t.qr {
        out.push(format!("  [QR] {}", fill(q)));
    }
    out.push(format!("  {}", t.footer.get(job.lang)));
    out.push(rule);
    out.join("\n")
}
