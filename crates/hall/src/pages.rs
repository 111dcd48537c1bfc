//! Server-rendered pages (maud escapes every value, so kiosk-supplied text cannot
//! inject markup). Pages work without script; `static/app.js` only applies live tile
//! updates and `static/board.js` speaks calls. No inline script or style anywhere: the
//! Content-Security-Policy allows neither.

use maud::{DOCTYPE, Markup, html};
use serde_json::json;

use crate::App;
use crate::auth::{Role, User};
use crate::figures;
use crate::live::{self, AlertKind, KioskLive, Thresholds, Tone};
use crate::tickets::{Called, QueueSummary};
use crate::time::Clock;

pub struct Ctx<'a> {
    pub user: &'a User,
    pub csrf: &'a str,
    pub hall_name: String,
}

pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(csrf); }
}

pub fn layout(ctx: &Ctx, title: &str, active: &str, body: Markup) -> Markup {
    let nav = [
        ("/", "看板", "Kiosks", "dash", false),
        ("/queue", "叫号", "Queue", "queue", false),
        ("/figures", "今日数据", "Today", "figures", false),
        ("/config", "配置", "Config", "config", true),
        ("/users", "账户", "Accounts", "users", true),
        ("/audit", "审计", "Audit log", "audit", true),
    ];
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tax-hall" }
                link rel="stylesheet" href="/static/app.css";
                link rel="icon" href="/static/icon.svg" type="image/svg+xml";
                script src="/static/app.js" defer {}
            }
            body data-page=(active) {
                header class="top" {
                    div class="brand" { span class="hall" { (ctx.hall_name) } span class="sub" { "办税服务厅控制台 Hall console" } }
                    nav {
                        @for (href, zh, en, key, it_only) in nav {
                            @if !it_only || ctx.user.role == Role::It {
                                a href=(href) class=(if key == active { "on" } else { "" }) { (zh) small { (en) } }
                            }
                        }
                    }
                    div class="who" {
                        span { (ctx.user.name) " · " (if ctx.user.role == Role::It { "IT" } else { "staff" }) }
                        form method="post" action="/logout" class="inline" {
                            (csrf_field(ctx.csrf))
                            button type="submit" class="link" { "退出 Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tax-hall" }
                link rel="stylesheet" href="/static/app.css";
                link rel="icon" href="/static/icon.svg" type="image/svg+xml";
            }
            body class="bare" { main { (body) } }
        }
    }
}

pub fn login(error: Option<&str>, login_csrf: &str, next: &str, name: &str) -> Markup {
    bare(
        "登录 Log in",
        html! {
            form class="login card" method="post" action="/login" {
                h1 { "办税服务厅控制台" small { "Hall console — log in" } }
                @if let Some(e) = error { p class="error" role="alert" { (e) } }
                input type="hidden" name="login_csrf" value=(login_csrf);
                input type="hidden" name="next" value=(next);
                label { "账户 Account" input name="name" autocomplete="username" required value=(name); }
                label { "密码 Password" input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" class="primary" { "登录 Log in" }
            }
        },
    )
}

pub fn message(title: &str, text: &str, back: &str) -> Markup {
    bare(
        title,
        html! {
            div class="card" {
                h1 { (title) }
                p { (text) }
                p { a href=(back) { "返回 Back" } }
            }
        },
    )
}

fn device_line(k: &KioskLive) -> Markup {
    let Some(s) = &k.status else {
        return html! { span class="muted" { "—" } };
    };
    let p = &s.printer;
    let printer = if p.paper_out {
        ("bad", "缺纸 no paper")
    } else if !p.online || p.cover_open {
        ("bad", "打印机 printer!")
    } else if p.paper_near_end {
        ("warn", "纸将尽 paper low")
    } else {
        ("good", "打印 ok")
    };
    let dev = |h: &telemetry::Health, zh: &'static str| match h {
        telemetry::Health::Fault { .. } => ("bad", zh),
        telemetry::Health::Absent => ("muted", zh),
        telemetry::Health::Ok => ("good", zh),
    };
    let cam = dev(&s.camera, "摄像头 cam");
    let rdr = dev(&s.id_reader, "读卡 reader");
    let bo = if s.backoffice.reachable {
        ("good", "后台 BO")
    } else {
        ("bad", "后台 BO")
    };
    html! {
        @for (cls, t) in [printer, cam, rdr, bo] { span class=(format!("dev {cls}")) { (t) } }
        @if s.outbox_depth > 0 { span class="dev warn" { "待发 " (s.outbox_depth) } }
    }
}

fn ago(now: i64, then: i64) -> String {
    let s = ((now - then) / 1000).max(0);
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else {
        format!("{} h", s / 3600)
    }
}

pub fn tile(k: &KioskLive, now: i64, th: &Thresholds, current: Option<&str>) -> Markup {
    let tone = live::tone(k, now, th);
    let (zh, en) = tone.label();
    let session = match (&k.session, tone) {
        (_, Tone::Offline) => format!("{} ago", ago(now, k.last_seen_ms)),
        (Some(s), _) if s.in_session => format!(
            "{}{}",
            s.screen,
            s.business
                .as_deref()
                .map(|b| format!(" · {b}"))
                .unwrap_or_default()
        ),
        _ => "attract".to_string(),
    };
    let cfg = k.config.as_ref().map(|c| {
        let v = telemetry::bundle::short(c.version()).to_string();
        let stale = current.is_some_and(|cur| cur != c.version())
            || matches!(c, telemetry::ConfigState::Refused { .. });
        (v, stale)
    });
    html! {
        a class=(format!("tile {}", tone.class())) id=(format!("k-{}", k.id)) href=(format!("/kiosks/{}", k.id)) data-tone=(tone.class()) {
            div class="tid" { (k.id) }
            div class="tstate" { (zh) " " small { (en) } }
            div class="tsess" { (session) }
            div class="tdev" { (device_line(k)) }
            @if !k.alerts.is_empty() {
                div class="talerts" {
                    @for a in k.alerts.keys() { span class=(if a.severe() { "al severe" } else { "al" }) { (a.label().0) } }
                }
            }
            @if let Some((v, stale)) = cfg { div class=(if stale { "tcfg stale" } else { "tcfg" }) { "cfg " (v) } }
        }
    }
}

#[derive(Default, Clone, Copy)]
pub struct Summary {
    pub total: usize,
    pub online: usize,
    pub busy: usize,
    pub offline: usize,
    pub attention: usize,
}

pub fn summary(app: &App, now: i64) -> Summary {
    let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
    let th = &app.settings.thresholds;
    let mut s = Summary {
        total: live.len(),
        ..Summary::default()
    };
    for k in live.values() {
        match live::tone(k, now, th) {
            Tone::Offline => s.offline += 1,
            Tone::Busy => s.busy += 1,
            Tone::Warn | Tone::Fault => s.attention += 1,
            Tone::Ok => {}
        }
    }
    s.online = s.total - s.offline;
    s
}

fn summary_json(s: Summary) -> serde_json::Value {
    json!({"total": s.total, "online": s.online, "busy": s.busy, "offline": s.offline, "attention": s.attention})
}

/// The dashboard push: tiles that changed (as HTML, so the page needs no template of
/// its own), whether the alert list changed, and the counts.
pub fn update_message(app: &App, ids: &[String], alerts: bool, now: i64) -> String {
    let current = app
        .reference
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .published
        .clone();
    let tiles: Vec<serde_json::Value> = {
        let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .filter_map(|id| live.get(id))
            .map(|k| {
                json!({
                    "id": k.id,
                    "tone": live::tone(k, now, &app.settings.thresholds).class(),
                    "html": tile(k, now, &app.settings.thresholds, current.as_deref()).into_string(),
                })
            })
            .collect()
    };
    json!({"at": now, "tiles": tiles, "alerts": alerts, "summary": summary_json(summary(app, now))})
        .to_string()
}

pub struct AlertRow {
    pub id: i64,
    pub kiosk: String,
    pub kind: String,
    pub detail: String,
    pub raised_ms: i64,
    pub cleared_ms: Option<i64>,
    pub acked_ms: Option<i64>,
    pub acked_by: Option<String>,
}

pub fn alerts_panel(rows: &[AlertRow], csrf: &str, clock: Clock, back: &str) -> Markup {
    html! {
        section id="alerts" class="alerts card" {
            @let unacked = rows.iter().filter(|r| r.acked_ms.is_none()).count();
            h2 { "告警 Alerts" span class=(if unacked == 0 { "count zero" } else { "count" }) { (unacked) } }
            @if rows.is_empty() {
                p class="muted" { "没有需要处理的告警 No alerts" }
            } @else {
                table {
                    thead { tr { th { "时间 Raised" } th { "终端 Kiosk" } th { "告警 Alert" } th { "详情 Detail" } th { "状态 State" } th {} } }
                    tbody {
                        @for r in rows {
                            @let kind = AlertKind::from_code(&r.kind);
                            @let severe = kind.is_some_and(|k| k.severe());
                            tr class=(format!("alert {} {}", if severe { "severe" } else { "mild" }, if r.cleared_ms.is_some() { "cleared" } else { "open" })) data-alert=(r.id) data-kind=(r.kind) data-kiosk=(r.kiosk) {
                                td { (clock.hms(r.raised_ms)) }
                                td { a href=(format!("/kiosks/{}", r.kiosk)) { (r.kiosk) } }
                                td { @if let Some(k) = kind { (k.label().0) " " small { (k.label().1) } } @else { (r.kind) } }
                                td class="detail" { (r.detail) }
                                td {
                                    @if let Some(c) = r.cleared_ms { span class="pill ok" { "已恢复 cleared " (clock.hms(c)) } } @else { span class="pill bad" { "进行中 open" } }
                                    @if let (Some(a), Some(by)) = (r.acked_ms, &r.acked_by) { " " span class="pill" { "已确认 acked by " (by) " " (clock.hms(a)) } }
                                }
                                td {
                                    @if r.acked_ms.is_none() {
                                        form method="post" action=(format!("/alerts/{}/ack", r.id)) class="inline" {
                                            (csrf_field(csrf))
                                            input type="hidden" name="back" value=(back);
                                            button type="submit" class="ack" { "确认 Acknowledge" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn dashboard(ctx: &Ctx, app: &App, alerts: Markup, now: i64) -> Markup {
    let s = summary(app, now);
    let current = app
        .reference
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .published
        .clone();
    let mut kiosks: Vec<(String, String, Markup)> = {
        let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        live.values()
            .map(|k| {
                (
                    k.hall.clone(),
                    k.id.clone(),
                    tile(k, now, &app.settings.thresholds, current.as_deref()),
                )
            })
            .collect()
    };
    kiosks.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let halls: Vec<String> = {
        let mut h: Vec<String> = kiosks.iter().map(|k| k.0.clone()).collect();
        h.dedup();
        h
    };
    layout(
        ctx,
        "看板 Kiosks",
        "dash",
        html! {
            section class="summary" {
                div class="stat" { b id="s-total" { (s.total) } span { "终端 kiosks" } }
                div class="stat good" { b id="s-online" { (s.online) } span { "在线 online" } }
                div class="stat busy" { b id="s-busy" { (s.busy) } span { "办理中 in session" } }
                div class="stat warn" { b id="s-attention" { (s.attention) } span { "需关注 attention" } }
                div class="stat off" { b id="s-offline" { (s.offline) } span { "离线 offline" } }
                div class="live" id="live" data-state="connecting" { span class="dot" {} span class="lt" { "实时 live" } }
            }
            div id="alerts-wrap" { (alerts) }
            section class="legend" {
                @for t in [Tone::Ok, Tone::Busy, Tone::Warn, Tone::Fault, Tone::Offline] {
                    span class=(format!("key {}", t.class())) { (t.label().0) " " (t.label().1) }
                }
            }
            @for hall in &halls {
                @if halls.len() > 1 { h2 class="hallname" { (hall) } }
                div class="grid" data-hall=(hall) {
                    @for (h, _, m) in &kiosks { @if h == hall { (m) } }
                }
            }
            @if kiosks.is_empty() {
                div class="grid" data-hall=(app.default_hall()) {}
                p class="muted" { "尚无终端连接。No kiosk has connected yet." }
            }
        },
    )
}

pub struct EventRow {
    pub at_ms: i64,
    pub kind: String,
    pub detail: String,
}

pub struct ReceiptRow {
    pub journal_id: i64,
    pub template: String,
    pub reference: Option<String>,
    pub state: String,
    pub at_ms: i64,
}

pub struct CommandRow {
    pub id: String,
    pub action: String,
    pub at_ms: i64,
    pub by: String,
    pub result: Option<(bool, String)>,
}

#[allow(clippy::too_many_arguments)]
pub fn kiosk_page(
    ctx: &Ctx,
    k: &KioskLive,
    now: i64,
    th: &Thresholds,
    clock: Clock,
    alerts: Markup,
    events: &[EventRow],
    receipts: &[ReceiptRow],
    commands: &[CommandRow],
    flash: Option<&str>,
) -> Markup {
    let tone = live::tone(k, now, th);
    let connected = k.connected(now, th);
    layout(
        ctx,
        &k.id,
        "dash",
        html! {
            p { a href="/" { "← 看板 Kiosks" } }
            @if let Some(f) = flash { p class="flash" role="status" { (f) } }
            section class=(format!("kiosk-head card {}", tone.class())) {
                h1 { (k.id) " " span class=(format!("pill {}", tone.class())) { (tone.label().0) " " (tone.label().1) } }
                dl class="facts" {
                    dt { "大厅 Hall" } dd { (k.hall) }
                    dt { "软件 Software" } dd { (if k.software.is_empty() { "—" } else { &k.software }) }
                    dt { "最后联系 Last contact" } dd { (clock.stamp(k.last_seen_ms)) " (" (ago(now, k.last_seen_ms)) " ago)" }
                    dt { "配置 Config" } dd {
                        @match &k.config {
                            Some(telemetry::ConfigState::Applied { version, local_version }) => { "applied " code { (telemetry::bundle::short(version)) } " (local " code { (local_version) } ")" }
                            Some(telemetry::ConfigState::Deferred { version }) => { "waiting for session end: " code { (telemetry::bundle::short(version)) } }
                            Some(telemetry::ConfigState::Refused { version, reason }) => { span class="bad" { "REFUSED " code { (telemetry::bundle::short(version)) } ": " (reason) } }
                            None => { "—" }
                        }
                    }
                    dt { "会话 Session" } dd {
                        @match &k.session {
                            Some(s) if s.in_session => { "in session, screen " b { (s.screen) } @if let Some(z) = &s.zone { ", zone " (z) } @if let Some(b) = &s.business { ", business " (b) } @if s.practice { " (practice)" } " since " (ago(now, k.session_changed_ms)) }
                            _ => { "idle (attract screen)" }
                        }
                    }
                }
                @if let Some(s) = &k.status {
                    table class="devices" {
                        tr { th { "打印机 Printer" } td {
                            (if s.printer.online { "online" } else { "OFFLINE" })
                            @if s.printer.paper_near_end { ", paper near end" }
                            @if s.printer.paper_out { ", PAPER OUT" }
                            @if s.printer.cover_open { ", COVER OPEN" }
                        } }
                        tr { th { "摄像头 Camera" } td { (health(&s.camera)) } }
                        tr { th { "读卡器 ID reader" } td { (health(&s.id_reader)) } }
                        tr { th { "后台 Back office" } td {
                            (if s.backoffice.reachable { "reachable" } else { "UNREACHABLE" })
                            @if let Some(ms) = s.backoffice.latency_ms { ", " (ms) " ms" }
                        } }
                        tr { th { "待发 Outbox" } td { (s.outbox_depth) } }
                    }
                }
            }
            (alerts)
            section class="card actions" {
                h2 { "远程操作 Remote actions" }
                form method="post" action=(format!("/kiosks/{}/attract", k.id)) class="inline" {
                    (csrf_field(ctx.csrf))
                    button type="submit" disabled[!connected] { "返回首页 Return to attract screen" }
                }
                @if !connected { span class="muted" { " 终端离线，无法执行 The kiosk is offline." } }
                h3 { "小票 Receipts (journal)" }
                @if receipts.is_empty() {
                    p class="muted" { "终端尚未报告小票 No receipts reported." }
                } @else {
                    table {
                        thead { tr { th { "#" } th { "时间 Time" } th { "模板 Template" } th { "编号 Reference" } th { "状态 State" } th {} } }
                        tbody {
                            @for r in receipts {
                                tr {
                                    td { (r.journal_id) }
                                    td { (clock.hms(r.at_ms)) }
                                    td { (r.template) }
                                    td { (r.reference.as_deref().unwrap_or("—")) }
                                    td { (r.state) }
                                    td {
                                        form method="post" action=(format!("/kiosks/{}/reprint", k.id)) class="inline" {
                                            (csrf_field(ctx.csrf))
                                            input type="hidden" name="journal_id" value=(r.journal_id);
                                            @if r.state == "unconfirmed" {
                                                label class="check" { input type="checkbox" name="confirmed" value="1"; " 已检查打印机 printer checked" }
                                            }
                                            button type="submit" disabled[!connected] { "补打 Reprint" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !commands.is_empty() {
                    h3 { "指令 Commands" }
                    table {
                        thead { tr { th { "时间 Time" } th { "指令 Action" } th { "操作人 By" } th { "结果 Result" } } }
                        tbody {
                            @for c in commands {
                                tr {
                                    td { (clock.hms(c.at_ms)) }
                                    td { (c.action) " " small { code { (c.id) } } }
                                    td { (c.by) }
                                    td {
                                        @match &c.result {
                                            Some((true, d)) => { span class="pill ok" { "done" } " " (d) }
                                            Some((false, d)) => { span class="pill bad" { "failed" } " " (d) }
                                            None => { span class="pill" { "sent" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section class="card" {
                h2 { "事件记录 Event history" }
                table class="events" {
                    thead { tr { th { "时间 Time" } th { "类型 Kind" } th { "内容 Detail" } } }
                    tbody {
                        @for e in events {
                            tr class=(format!("ev {}", e.kind)) { td { (clock.stamp(e.at_ms)) } td { (e.kind) } td { (e.detail) } }
                        }
                    }
                }
            }
        },
    )
}

fn health(h: &telemetry::Health) -> String {
    match h {
        telemetry::Health::Ok => "ok".into(),
        telemetry::Health::Absent => "not fitted".into(),
        telemetry::Health::Fault { detail } => format!("FAULT: {detail}"),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn queue_page(
    ctx: &Ctx,
    hall: &str,
    halls: &[String],
    counter: &str,
    current: Option<&Called>,
    summary: &QueueSummary,
    recent: &[Called],
    clock: Clock,
    flash: Option<&str>,
) -> Markup {
    layout(
        ctx,
        "叫号 Queue",
        "queue",
        html! {
            @if let Some(f) = flash { p class="flash" role="status" { (f) } }
            section class="card counter" {
                form method="get" action="/queue" class="inline counter-pick" {
                    @if halls.len() > 1 {
                        label { "大厅 Hall " select name="hall" { @for h in halls { option value=(h) selected[h == hall] { (h) } } } }
                    } @else { input type="hidden" name="hall" value=(hall); }
                    label { "窗口号 Counter " input name="counter" value=(counter) size="4" required; }
                    button type="submit" { "切换 Switch" }
                }
                div class="serving" {
                    span class="muted" { (counter) " 号窗口正在办理 Counter " (counter) " serving" }
                    div class="now" id="serving" { @if let Some(c) = current { (c.number) } @else { "—" } }
                }
                div class="buttons" {
                    form method="post" action="/queue/call" class="inline" {
                        (csrf_field(ctx.csrf))
                        input type="hidden" name="hall" value=(hall);
                        input type="hidden" name="counter" value=(counter);
                        button type="submit" class="primary big" id="call-next" { "叫下一位 Call next" }
                    }
                    @if current.is_some() {
                        form method="post" action="/queue/recall" class="inline" {
                            (csrf_field(ctx.csrf))
                            input type="hidden" name="hall" value=(hall);
                            input type="hidden" name="counter" value=(counter);
                            button type="submit" { "重呼 Call again" }
                        }
                        form method="post" action="/queue/finish" class="inline" {
                            (csrf_field(ctx.csrf))
                            input type="hidden" name="hall" value=(hall);
                            input type="hidden" name="counter" value=(counter);
                            input type="hidden" name="outcome" value="no_show";
                            button type="submit" { "未到 No-show" }
                        }
                        form method="post" action="/queue/finish" class="inline" {
                            (csrf_field(ctx.csrf))
                            input type="hidden" name="hall" value=(hall);
                            input type="hidden" name="counter" value=(counter);
                            input type="hidden" name="outcome" value="done";
                            button type="submit" { "办结 Done" }
                        }
                    }
                }
            }
            section class="summary" {
                div class="stat priority" { b { (summary.priority) } span { "绿色通道 green channel" } }
                div class="stat" { b { (summary.individual) } span { "个人 individual" } }
                div class="stat" { b { (summary.business) } span { "企业 business" } }
                div class="stat" { b { (summary.appointment) } span { "预约 appointments" } }
                div class="stat good" { b { (summary.served) } span { "已叫 called today" } }
                div class="stat" { b { (summary.wait_new_minutes) " min" } span { "新号预计等待 wait for a new ticket" } }
            }
            p class="muted" {
                "平均办理 mean service " (summary.mean_service_s / 60) ":" (format!("{:02}", summary.mean_service_s % 60))
                " · 开放窗口 open counters " (summary.counters)
                " · " a href=(format!("/board?hall={hall}")) target="_blank" { "叫号屏 Call board ↗" }
            }
            section class="card" {
                h2 { "最近叫号 Recent calls" }
                table {
                    thead { tr { th { "时间 Time" } th { "号码 Number" } th { "窗口 Counter" } } }
                    tbody { @for c in recent { tr { td { (clock.hms(c.called_ms)) } td { b { (c.number) } } td { (c.counter) } } } }
                }
            }
        },
    )
}

pub fn board(
    hall: &str,
    hall_name: &str,
    utc_offset_minutes: i32,
    recent: &[Called],
    waiting: u32,
) -> Markup {
    let latest = recent.first();
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "叫号 Call board" }
                link rel="stylesheet" href="/static/app.css";
                link rel="icon" href="/static/icon.svg" type="image/svg+xml";
                script src="/static/board.js" defer {}
            }
            body class="board" data-hall=(hall) data-latest=(latest.map_or(0, |c| c.id)) data-utc-offset=(utc_offset_minutes) {
                header { h1 { (hall_name) } span class="clock" id="clock" {} }
                section class="now" {
                    div class="caption" { "请以下号码到窗口办理 Now serving" }
                    div class="callrow latest" id="latest" {
                        @if let Some(c) = latest {
                            span class="num" { (c.number) } span class="arrow" { "→" } span class="ctr" { (c.counter) " 号窗口" small { "Counter " (c.counter) } }
                        } @else {
                            span class="num idle" { "— —" }
                        }
                    }
                }
                section class="recent" {
                    ol id="recent" {
                        @for c in recent.iter().skip(1) {
                            li { span class="num" { (c.number) } span class="ctr" { (c.counter) " 号窗口 · Counter " (c.counter) } }
                        }
                    }
                }
                footer {
                    span id="waiting" { "等候 waiting: " (waiting) }
                    button id="voice" type="button" { "点击启用语音播报 Tap to enable announcements" }
                }
            }
        }
    }
}

pub fn board_json(recent: &[Called], waiting: u32, speak: bool) -> String {
    json!({"calls": recent, "waiting": waiting, "speak": speak}).to_string()
}

pub struct FiguresView<'a> {
    pub day: &'a str,
    pub f: &'a figures::Figures,
    pub zone_names: Vec<(String, String)>,
    pub business_names: Vec<(String, String)>,
}

fn name_of<'a>(names: &'a [(String, String)], code: &'a str) -> &'a str {
    names
        .iter()
        .find(|(c, _)| c == code)
        .map_or(code, |(_, n)| n.as_str())
}

pub fn figures_page(ctx: &Ctx, v: &FiguresView) -> Markup {
    let f = v.f;
    let pct = |p: Option<f64>| p.map_or("—".to_string(), |p| format!("{p:.0}%"));
    let zones: Vec<(String, u32, String)> = f
        .per_zone
        .iter()
        .map(|(z, n)| {
            (
                format!("{} {z}", name_of(&v.zone_names, z)),
                *n,
                String::new(),
            )
        })
        .collect();
    let top: Vec<(String, u32, String)> = f
        .per_business
        .iter()
        .take(12)
        .map(|(b, n, m)| {
            (
                format!("{} {}", b, name_of(&v.business_names, b)),
                *n,
                format!("· 中位 {}", figures::minutes_seconds(*m)),
            )
        })
        .collect();
    let first_hour = f.hourly.iter().position(|n| *n > 0).unwrap_or(8).min(8);
    let last_hour = f.hourly.iter().rposition(|n| *n > 0).unwrap_or(18).max(18);
    layout(
        ctx,
        "今日数据 Today",
        "figures",
        html! {
            h1 { "今日数据 Today's figures " small { (v.day) } }
            section class="summary" {
                div class="stat" { b id="f-visits" { (f.visits) } span { "办税人次 visits" } }
                div class="stat good" { b id="f-completed" { (f.completed) } span { "完成 completed" } }
                div class="stat" { b id="f-self" { (pct(f.self_service_percent())) } span { "自助办结率 self-service share" } }
                div class="stat" { b { (f.tickets) } span { "取号到窗口 sent to a counter" } }
                div class="stat warn" { b id="f-abandoned" { (f.abandoned) } span { "中途离开 abandoned" } }
            }
            section class="card" {
                h2 { "分流率 Handled without a counter " span class="big" id="f-share" { (pct(f.without_counter_percent())) } }
                (figures::goal_bar(f.without_counter_percent()))
                p class="muted" { "完成（自助办结或提交后台）占有结果的办税人次之比；目标是减轻窗口 60% 的压力。 Completed visits (done at the kiosk or submitted to the back office) over visits that reached an outcome; the hall's goal is to take 60% of the load off the counters." }
            }
            div class="two" {
                section class="card" { h2 { "结果 Outcomes" } (figures::outcomes(f)) }
                section class="card" { h2 { "每小时人次 Visits per hour" } (figures::hourly(f, first_hour, last_hour)) p class="muted" { "深色为中途离开 darker: abandoned" } }
            }
            div class="two" {
                section class="card" { h2 { "各功能区完成量 Completions per zone" } (figures::hbars(&zones, "zones")) }
                section class="card" { h2 { "业务完成量与中位用时 Completions and median time per business" } (figures::hbars(&top, "biz")) }
            }
            section class="card" {
                h2 { "全部业务 All businesses today" }
                table {
                    thead { tr { th { "业务 Business" } th { "完成 Completed" } th { "中位用时 Median time" } } }
                    tbody {
                        @for (b, n, m) in &f.per_business {
                            tr { td { (b) " " (name_of(&v.business_names, b)) } td { (n) } td { (figures::minutes_seconds(*m)) } }
                        }
                    }
                }
            }
        },
    )
}

pub struct BundleRow {
    pub id: i64,
    pub version: String,
    pub uploaded_ms: i64,
    pub by: String,
    pub warnings: usize,
}

pub struct ConfigView<'a> {
    pub current: Option<(String, String)>,
    pub bundles: &'a [BundleRow],
    pub kiosks: Vec<(String, Option<telemetry::ConfigState>)>,
    pub result: Option<Markup>,
    pub has_key: bool,
}

pub fn config_page(ctx: &Ctx, v: &ConfigView, clock: Clock) -> Markup {
    layout(
        ctx,
        "配置 Config",
        "config",
        html! {
            h1 { "配置分发 Configuration" }
            @if let Some(r) = &v.result { (r) }
            section class="card" {
                h2 { "当前版本 In force" }
                @if let Some((ver, note)) = &v.current {
                    p { code id="current-version" { (telemetry::bundle::short(ver)) } " — " (note) }
                } @else {
                    p class="muted" { "尚未发布，终端使用本地配置。Nothing published yet: kiosks run their local bundle." }
                }
                form method="post" action="/config/rollback" class="inline" {
                    (csrf_field(ctx.csrf))
                    button type="submit" { "一键回滚 Roll every kiosk back to the previous bundle" }
                }
            }
            section class="card" {
                h2 { "上传 Upload a signed bundle" }
                @if !v.has_key { p class="error" { "控制台未配置公钥 (--config-public-key)，无法校验签名。The console has no public key: uploads are refused." } }
                p class="muted" { "tar 或 tar.gz，包含配置目录及 bundle.sig: " code { "tax-hall config sign kiosk-config --key it.key && tar -czf bundle.tgz -C kiosk-config ." } }
                form method="post" action="/config/upload" enctype="multipart/form-data" {
                    (csrf_field(ctx.csrf))
                    input type="file" name="bundle" accept=".tar,.tgz,.gz,application/gzip,application/x-tar" required;
                    button type="submit" class="primary" { "上传并校验 Upload and check" }
                }
            }
            section class="card" {
                h2 { "已上传 Uploaded bundles" }
                table {
                    thead { tr { th { "#" } th { "版本 Version" } th { "上传 Uploaded" } th { "警告 Warnings" } th {} } }
                    tbody {
                        @for b in v.bundles {
                            tr {
                                td { (b.id) }
                                td { code { (telemetry::bundle::short(&b.version)) } }
                                td { (clock.stamp(b.uploaded_ms)) " · " (b.by) }
                                td { (b.warnings) }
                                td {
                                    form method="post" action=(format!("/config/{}/publish", b.id)) class="inline" {
                                        (csrf_field(ctx.csrf))
                                        button type="submit" { "发布到全部终端 Publish to all kiosks" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section class="card" {
                h2 { "终端状态 Kiosks" }
                table {
                    thead { tr { th { "终端 Kiosk" } th { "状态 State" } th { "版本 Version" } th { "原因 Reason" } } }
                    tbody {
                        @for (id, c) in &v.kiosks {
                            tr {
                                td { a href=(format!("/kiosks/{id}")) { (id) } }
                                @match c {
                                    Some(telemetry::ConfigState::Applied { version, .. }) => { td { span class="pill ok" { "applied" } } td { code { (telemetry::bundle::short(version)) } } td {} }
                                    Some(telemetry::ConfigState::Deferred { version }) => { td { span class="pill" { "waiting" } } td { code { (telemetry::bundle::short(version)) } } td { "session in progress" } }
                                    Some(telemetry::ConfigState::Refused { version, reason }) => { td { span class="pill bad" { "refused" } } td { code { (telemetry::bundle::short(version)) } } td { (reason) } }
                                    None => { td { "—" } td {} td {} }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub fn diagnostics(title: &str, ok: bool, lines: &[String]) -> Markup {
    html! {
        section class=(if ok { "card result ok" } else { "card result bad" }) role="status" {
            h2 { (title) }
            @if !lines.is_empty() {
                ul class="diags" { @for l in lines { li { code { (l) } } } }
            }
        }
    }
}

pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub created_ms: i64,
}

pub fn users_page(ctx: &Ctx, users: &[UserRow], clock: Clock, flash: Option<&str>) -> Markup {
    layout(
        ctx,
        "账户 Accounts",
        "users",
        html! {
            h1 { "账户 Accounts" }
            @if let Some(f) = flash { p class="flash" role="status" { (f) } }
            section class="card" {
                table {
                    thead { tr { th { "账户 Name" } th { "角色 Role" } th { "创建 Created" } th { "状态 State" } th {} } }
                    tbody {
                        @for u in users {
                            tr {
                                td { (u.name) }
                                td { (u.role) }
                                td { (clock.stamp(u.created_ms)) }
                                td { (if u.disabled { "停用 disabled" } else { "启用 active" }) }
                                td {
                                    @if u.name != ctx.user.name {
                                        form method="post" action=(format!("/users/{}/{}", u.id, if u.disabled { "enable" } else { "disable" })) class="inline" {
                                            (csrf_field(ctx.csrf))
                                            button type="submit" { (if u.disabled { "启用 Enable" } else { "停用 Disable" }) }
                                        }
                                    }
                                    form method="post" action=(format!("/users/{}/password", u.id)) class="inline" {
                                        (csrf_field(ctx.csrf))
                                        input type="password" name="password" placeholder="新密码 new password" autocomplete="new-password" minlength="10" required;
                                        button type="submit" { "改密码 Set password" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section class="card" {
                h2 { "新增账户 Add an account" }
                form method="post" action="/users" class="stack" {
                    (csrf_field(ctx.csrf))
                    label { "账户 Name " input name="name" required pattern="[A-Za-z0-9._-]{1,32}"; }
                    label { "角色 Role " select name="role" { option value="staff" { "staff 大厅工作人员" } option value="it" { "IT 信息技术" } } }
                    label { "密码 Password " input type="password" name="password" minlength="10" required autocomplete="new-password"; }
                    button type="submit" class="primary" { "添加 Add" }
                }
            }
        },
    )
}

pub struct AuditRow {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: Option<String>,
}

pub fn audit_page(ctx: &Ctx, rows: &[AuditRow], clock: Clock) -> Markup {
    layout(
        ctx,
        "审计 Audit log",
        "audit",
        html! {
            h1 { "审计日志 Audit log" }
            section class="card" {
                table class="audit" {
                    thead { tr { th { "时间 Time" } th { "操作人 Actor" } th { "操作 Action" } th { "对象 Target" } th { "详情 Detail" } th { "来源 From" } } }
                    tbody {
                        @for r in rows {
                            tr { td { (clock.stamp(r.at_ms)) } td { (r.actor) } td { code { (r.action) } } td { (r.target) } td { (r.detail) } td { (r.ip.as_deref().unwrap_or("—")) } }
                        }
                    }
                }
            }
        },
    )
}
