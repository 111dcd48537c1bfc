//! HTTP: the staff dashboard, the public call board, and the kiosks' ticket endpoint.
//!
//! Security, in one place:
//! - every page but `/login`, `/board*`, `/healthz`, `/static/*` and the kiosks' signed
//!   endpoint needs a session ([`Authed`]); IT pages need the IT role ([`It`]);
//! - every state-changing request is a POST that carries the session's CSRF token (form
//!   field `_csrf`, or header `x-csrf-token` for scripts), and cross-site POSTs are
//!   refused by `Origin`/`Sec-Fetch-Site` before any handler runs;
//! - logins are throttled per account and per client address;
//! - responses carry a strict Content-Security-Policy (no inline script or style),
//!   `X-Frame-Options: DENY`, `nosniff` and `Referrer-Policy: same-origin` (not
//!   `no-referrer`: with it, browsers send `Origin: null` on form posts).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequestParts, Multipart, Path, Query, Request, State,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use futures_util::Stream;
use maud::Markup;
use serde::Deserialize;
use telemetry::hall_api::{TICKET_PATH, TicketRequest};
use telemetry::{Action, Command};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::App;
use crate::auth::{self, Role, User};
use crate::configs::{self, ConfigError};
use crate::db::Val;
use crate::figures;
use crate::pages::{self, Ctx};
use crate::time::now_ms;

type Shared = Arc<App>;

const CSS: &str = include_str!("../static/app.css");
const APP_JS: &str = include_str!("../static/app.js");
const BOARD_JS: &str = include_str!("../static/board.js");

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/", get(dashboard))
        .route("/events", get(events))
        .route("/alerts/panel", get(alerts_panel))
        .route("/alerts/{id}/ack", post(ack_alert))
        .route("/kiosks/{id}", get(kiosk_page))
        .route("/kiosks/{id}/attract", post(kiosk_attract))
        .route("/kiosks/{id}/reprint", post(kiosk_reprint))
        .route("/queue", get(queue_page))
        .route("/queue/call", post(queue_call))
        .route("/queue/recall", post(queue_recall))
        .route("/queue/finish", post(queue_finish))
        .route("/figures", get(figures_page))
        .route("/config", get(config_page))
        .route("/config/upload", post(config_upload))
        .route("/config/{id}/publish", post(config_publish))
        .route("/config/rollback", post(config_rollback))
        .route("/api/config/bundles", post(api_upload))
        .route("/api/stats", get(api_stats))
        .route("/users", get(users_page).post(users_add))
        .route("/users/{id}/{op}", post(users_op))
        .route("/audit", get(audit_page))
        .route("/board", get(board_page))
        .route("/board/events", get(board_events))
        .route("/board/state", get(board_state))
        .route(TICKET_PATH, post(kiosk_ticket))
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/static/{file}", get(static_file))
        .layer(middleware::from_fn(guard))
        .layer(DefaultBodyLimit::max(
            configs::MAX_BYTES as usize + (1 << 20),
        ))
        .with_state(app)
}

/// Security headers on every response; cross-site POSTs refused before routing.
async fn guard(req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path() != TICKET_PATH && cross_site(req.headers())
    {
        return (StatusCode::FORBIDDEN, "cross-site requests are refused").into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn cross_site(h: &HeaderMap) -> bool {
    // Browsers that send Sec-Fetch-Site say exactly where a request comes from.
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        h.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        // An opaque origin (a sandboxed frame, a data: page) is never ours.
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let o = origin
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            o != host
        }
        (Some(_), None) => true,
        // No Origin and no Sec-Fetch-Site: not a browser form; the CSRF token decides.
        _ => false,
    }
}

// ---- sessions ---------------------------------------------------------------------

fn cookie_name(app: &App) -> &'static str {
    if app.settings.secure_cookies {
        "__Host-hall"
    } else {
        "hall"
    }
}

fn login_cookie_name(app: &App) -> &'static str {
    if app.settings.secure_cookies {
        "__Host-hall-login"
    } else {
        "hall-login"
    }
}

fn cookie_attrs(app: &App) -> &'static str {
    if app.settings.secure_cookies {
        "Path=/; HttpOnly; Secure; SameSite=Strict"
    } else {
        "Path=/; HttpOnly; SameSite=Strict"
    }
}

fn get_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// A logged-in member of staff or IT.
pub struct Authed {
    pub user: User,
    pub csrf: String,
    pub ip: Option<String>,
    token: String,
}

impl Authed {
    fn ctx(&self, app: &App) -> Ctx<'_> {
        Ctx {
            user: &self.user,
            csrf: &self.csrf,
            hall_name: app.bundle().kiosk.hall_name.zh.clone(),
        }
    }

    fn csrf_ok(&self, token: &str) -> bool {
        telemetry::auth::same_secret(&self.csrf, token)
    }

    async fn audit(&self, app: &App, action: &str, target: &str, detail: &str) {
        if let Err(e) = auth::audit(
            &app.db,
            &self.user.name,
            action,
            target,
            detail,
            self.ip.as_deref(),
        )
        .await
        {
            tracing::error!("cannot write the audit log: {e}");
        }
    }
}

fn wants_html(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

impl FromRequestParts<Shared> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let reject = |parts: &Parts| {
            if wants_html(parts) && parts.method == Method::GET {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                Redirect::to(&format!("/login?next={}", urlencode(next))).into_response()
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    Json(serde_json::json!({"error": "log in first"})),
                )
                    .into_response()
            }
        };
        let Some(token) = get_cookie(&parts.headers, cookie_name(app)) else {
            return Err(reject(parts));
        };
        match auth::session_of(&app.db, &token, now_ms()).await {
            Ok(Some((user, csrf))) => Ok(Authed {
                user,
                csrf,
                ip: client_ip(parts),
                token,
            }),
            Ok(None) => Err(reject(parts)),
            Err(e) => Err(internal(e)),
        }
    }
}

/// A logged-in IT account.
pub struct It(pub Authed);

impl FromRequestParts<Shared> for It {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let a = Authed::from_request_parts(parts, app).await?;
        if a.user.role != Role::It {
            return Err((
                StatusCode::FORBIDDEN,
                Html(
                    pages::message("无权限 Not allowed", "This page is for IT accounts.", "/")
                        .into_string(),
                ),
            )
                .into_response());
        }
        Ok(It(a))
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("internal error: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the console log",
    )
        .into_response()
}

fn page(m: Markup) -> Response {
    Html(m.into_string()).into_response()
}

fn csrf_failed() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(
            pages::message(
                "请求已失效 Form expired",
                "The form's security token does not match your session. Reload the page and try again.",
                "/",
            )
            .into_string(),
        ),
    )
        .into_response()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only local paths: an open redirect after login would hand staff to a phishing page.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

// ---- login ------------------------------------------------------------------------

#[derive(Deserialize)]
struct NextQ {
    next: Option<String>,
}

async fn login_page(State(app): State<Shared>, Query(q): Query<NextQ>) -> Response {
    let token = auth::random_hex(16);
    let next = q.next.unwrap_or_else(|| "/".into());
    let mut res = page(pages::login(None, &token, safe_next(&next), ""));
    set_cookie(
        &mut res,
        &format!(
            "{}={token}; {}; Max-Age=3600",
            login_cookie_name(&app),
            cookie_attrs(&app)
        ),
    );
    res
}

fn set_cookie(res: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    login_csrf: String,
    next: Option<String>,
}

async fn login(
    State(app): State<Shared>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let now = now_ms();
    let ip = addr.ip().to_string();
    let next = safe_next(f.next.as_deref().unwrap_or("/")).to_string();
    let name = f.name.trim().to_string();
    let fail_page = |status: StatusCode, msg: &str| {
        let token = auth::random_hex(16);
        let mut res = (status, page(pages::login(Some(msg), &token, &next, &name))).into_response();
        set_cookie(
            &mut res,
            &format!(
                "{}={token}; {}; Max-Age=3600",
                login_cookie_name(&app),
                cookie_attrs(&app)
            ),
        );
        res
    };
    // Login CSRF: the form must come from our own login page (double-submit cookie).
    let cookie = get_cookie(&headers, login_cookie_name(&app)).unwrap_or_default();
    if cookie.is_empty() || !telemetry::auth::same_secret(&cookie, &f.login_csrf) {
        return fail_page(
            StatusCode::FORBIDDEN,
            "登录页已过期，请重试。The login page expired; please try again.",
        );
    }
    let (user_key, ip_key) = (format!("user:{}", name.to_lowercase()), format!("ip:{ip}"));
    let locked = {
        let t = app.throttle.lock().unwrap_or_else(|e| e.into_inner());
        t.check(&user_key, now)
            .err()
            .or(t.check(&ip_key, now).err())
    };
    if let Some(secs) = locked {
        let _ = auth::audit(
            &app.db,
            &name,
            "login_throttled",
            &name,
            &format!("locked for {secs} s"),
            Some(&ip),
        )
        .await;
        let mut res = fail_page(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "登录失败次数过多，请 {secs} 秒后再试。Too many failed logins; try again in {secs} s."
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    match auth::check_login(&app.db, &name, &f.password).await {
        Ok(Some(user)) => {
            {
                let mut t = app.throttle.lock().unwrap_or_else(|e| e.into_inner());
                t.succeeded(&user_key);
                t.succeeded(&ip_key);
            }
            let (token, _csrf) = match auth::create_session(&app.db, &user, now).await {
                Ok(t) => t,
                Err(e) => return internal(e),
            };
            let _ = auth::audit(&app.db, &user.name, "login", &user.name, "", Some(&ip)).await;
            let mut res = Redirect::to(&next).into_response();
            set_cookie(
                &mut res,
                &format!(
                    "{}={token}; {}; Max-Age={}",
                    cookie_name(&app),
                    cookie_attrs(&app),
                    auth::SESSION_MS / 1000
                ),
            );
            set_cookie(
                &mut res,
                &format!(
                    "{}=; {}; Max-Age=0",
                    login_cookie_name(&app),
                    cookie_attrs(&app)
                ),
            );
            res
        }
        Ok(None) => {
            {
                let mut t = app.throttle.lock().unwrap_or_else(|e| e.into_inner());
                t.failed(&user_key, now);
                t.failed(&ip_key, now);
            }
            let _ = auth::audit(&app.db, &name, "login_failed", &name, "", Some(&ip)).await;
            fail_page(
                StatusCode::UNAUTHORIZED,
                "账户或密码不正确。Wrong account or password.",
            )
        }
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(rename = "_csrf")]
    csrf: String,
}

async fn logout(State(app): State<Shared>, a: Authed, Form(f): Form<CsrfOnly>) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let _ = auth::end_session(&app.db, &a.token).await;
    a.audit(&app, "logout", &a.user.name, "").await;
    let mut res = Redirect::to("/login").into_response();
    set_cookie(
        &mut res,
        &format!("{}=; {}; Max-Age=0", cookie_name(&app), cookie_attrs(&app)),
    );
    res
}

// ---- dashboard --------------------------------------------------------------------

async fn alert_rows(app: &App, kiosk: Option<&str>) -> Result<Vec<pages::AlertRow>, Response> {
    // Open alerts, and cleared ones nobody has acknowledged yet: staff must see that
    // something happened even if it went away by itself.
    let (sql, params): (&str, Vec<Val>) = match kiosk {
        Some(k) => (
            "SELECT id, kiosk_id, kind, detail, raised_ms, cleared_ms, acked_ms, acked_by FROM alerts WHERE kiosk_id = ? ORDER BY id DESC LIMIT 50",
            vec![k.into()],
        ),
        // Recently acknowledged ones stay a quarter of an hour, so that colleagues see
        // who took care of what.
        None => (
            "SELECT id, kiosk_id, kind, detail, raised_ms, cleared_ms, acked_ms, acked_by FROM alerts WHERE cleared_ms IS NULL OR acked_ms IS NULL OR acked_ms > ? ORDER BY id DESC LIMIT 200",
            vec![(now_ms() - 15 * 60_000).into()],
        ),
    };
    let rows = app.db.query(sql, params).await.map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|r| pages::AlertRow {
            id: r[0].int(),
            kiosk: r[1].text(),
            kind: r[2].text(),
            detail: r[3].text(),
            raised_ms: r[4].int(),
            cleared_ms: r[5].opt_int(),
            acked_ms: r[6].opt_int(),
            acked_by: r[7].opt_text(),
        })
        .collect())
}

async fn dashboard(State(app): State<Shared>, a: Authed) -> Response {
    let rows = match alert_rows(&app, None).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let panel = pages::alerts_panel(&rows, &a.csrf, app.clock(), "/");
    page(pages::dashboard(&a.ctx(&app), &app, panel, now_ms()))
}

async fn alerts_panel(State(app): State<Shared>, a: Authed) -> Response {
    match alert_rows(&app, None).await {
        Ok(rows) => page(pages::alerts_panel(&rows, &a.csrf, app.clock(), "/")),
        Err(e) => e,
    }
}

async fn events(
    State(app): State<Shared>,
    _a: Authed,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.updates.subscribe();
    let first = pages::update_message(&app, &[], false, now_ms());
    let stream = tokio_stream::once(Ok(Event::default().data(first))).chain(
        BroadcastStream::new(rx).map(|m| {
            Ok(match m {
                Ok(s) => Event::default().data(&*s),
                // The page missed updates: it reloads rather than show a stale tile.
                Err(_) => Event::default().event("reload").data("lagged"),
            })
        }),
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[derive(Deserialize)]
struct AckForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    back: Option<String>,
}

async fn ack_alert(
    State(app): State<Shared>,
    a: Authed,
    Path(id): Path<i64>,
    Form(f): Form<AckForm>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let now = now_ms();
    let row = match app
        .db
        .query_one(
            "SELECT kiosk_id, kind, hall_id FROM alerts WHERE id = ?",
            vec![id.into()],
        )
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such alert").into_response(),
        Err(e) => return internal(e),
    };
    match app
        .db
        .exec(
            "UPDATE alerts SET acked_ms = ?, acked_by = ? WHERE id = ? AND acked_ms IS NULL",
            vec![now.into(), a.user.name.as_str().into(), id.into()],
        )
        .await
    {
        Ok(1) => {
            a.audit(
                &app,
                "alert_ack",
                &r_text(&row, 0),
                &format!("alert {id} {}", row[1].text()),
            )
            .await;
            let _ = app.writer.send(crate::db::Stmt {
                sql: "INSERT INTO events (at_ms, hall_id, kiosk_id, kind, detail) VALUES (?, ?, ?, 'alert', ?)",
                params: vec![now.into(), row[2].clone(), row[0].clone(), format!("acknowledged {} by {}", row[1].text(), a.user.name).into()],
            });
            app.alerts_changed.store(true, Ordering::Relaxed);
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    Redirect::to(safe_next(f.back.as_deref().unwrap_or("/"))).into_response()
}

fn r_text(r: &[Val], i: usize) -> String {
    r.get(i).map(Val::text).unwrap_or_default()
}

// ---- kiosk page -------------------------------------------------------------------

#[derive(Deserialize)]
struct FlashQ {
    msg: Option<String>,
}

async fn kiosk_page(
    State(app): State<Shared>,
    a: Authed,
    Path(id): Path<String>,
    Query(q): Query<FlashQ>,
) -> Response {
    let now = now_ms();
    let Some(k) = app
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned()
    else {
        return (
            StatusCode::NOT_FOUND,
            page(pages::message(
                "未知终端 Unknown kiosk",
                &format!("No kiosk {id} has reported."),
                "/",
            )),
        )
            .into_response();
    };
    let rows = match alert_rows(&app, Some(&id)).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let back = format!("/kiosks/{id}");
    let panel = pages::alerts_panel(&rows, &a.csrf, app.clock(), &back);
    // The writer batches history rows; flush what is queued so the page shows them.
    let events = match app
        .db
        .query(
            "SELECT at_ms, kind, detail FROM events WHERE kiosk_id = ? ORDER BY id DESC LIMIT 300",
            vec![id.as_str().into()],
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut receipts: BTreeMap<i64, pages::ReceiptRow> = BTreeMap::new();
    for r in events.iter().filter(|r| r[1].text() == "receipt") {
        if let Ok(telemetry::KioskEvent::Receipt {
            journal_id,
            template,
            reference,
            state,
        }) = serde_json::from_str(&r[2].text())
        {
            // Newest first: the first seen is the latest state.
            receipts.entry(journal_id).or_insert(pages::ReceiptRow {
                journal_id,
                template,
                reference,
                state,
                at_ms: r[0].int(),
            });
        }
    }
    let receipts: Vec<pages::ReceiptRow> = receipts.into_values().rev().take(20).collect();
    let events: Vec<pages::EventRow> = events
        .into_iter()
        .map(|r| pages::EventRow {
            at_ms: r[0].int(),
            kind: r[1].text(),
            detail: r[2].text(),
        })
        .collect();
    let commands = match app
        .db
        .query(
            "SELECT id, action, at_ms, by_user, result_ok, result_detail FROM commands WHERE kiosk_id = ? ORDER BY at_ms DESC LIMIT 20",
            vec![id.as_str().into()],
        )
        .await
    {
        Ok(r) => r
            .into_iter()
            .map(|r| pages::CommandRow {
                id: r[0].text(),
                action: r[1].text(),
                at_ms: r[2].int(),
                by: r[3].text(),
                result: r[4].opt_int().map(|ok| (ok != 0, r[5].text())),
            })
            .collect::<Vec<_>>(),
        Err(e) => return internal(e),
    };
    page(pages::kiosk_page(
        &a.ctx(&app),
        &k,
        now,
        &app.settings.thresholds,
        app.clock(),
        panel,
        &events,
        &receipts,
        &commands,
        q.msg.as_deref(),
    ))
}

async fn send_command(
    app: &App,
    a: &Authed,
    kiosk: &str,
    action: Action,
) -> Result<String, Response> {
    let (hall, connected) = {
        let live = app.live.lock().unwrap_or_else(|e| e.into_inner());
        match live.get(kiosk) {
            Some(k) => (
                k.hall.clone(),
                k.connected(now_ms(), &app.settings.thresholds),
            ),
            None => return Err((StatusCode::NOT_FOUND, "no such kiosk").into_response()),
        }
    };
    if !connected {
        return Err((
            StatusCode::CONFLICT,
            page(pages::message(
                "终端离线 Kiosk offline",
                "The kiosk is offline; the command was not sent.",
                &format!("/kiosks/{kiosk}"),
            )),
        )
            .into_response());
    }
    let cmd = Command {
        id: auth::random_hex(8),
        by: a.user.name.clone(),
        at_ms: now_ms(),
        action,
    };
    let action_name = match &cmd.action {
        Action::ReturnToAttract => "return_to_attract".to_string(),
        Action::Reprint {
            journal_id,
            confirmed_by_staff,
        } => format!(
            "reprint receipt {journal_id}{}",
            if *confirmed_by_staff {
                " (printer checked by staff)"
            } else {
                ""
            }
        ),
    };
    app.db
        .exec(
            "INSERT INTO commands (id, kiosk_id, action, at_ms, by_user) VALUES (?, ?, ?, ?, ?)",
            vec![
                cmd.id.as_str().into(),
                kiosk.into(),
                action_name.as_str().into(),
                cmd.at_ms.into(),
                a.user.name.as_str().into(),
            ],
        )
        .await
        .map_err(internal)?;
    let body = serde_json::to_vec(&cmd).map_err(internal)?;
    app.mqtt
        .publish(
            telemetry::topics::kiosk(&hall, kiosk, telemetry::topics::Kind::Command),
            rumqttc::QoS::AtLeastOnce,
            false,
            body,
        )
        .await
        .map_err(internal)?;
    a.audit(
        app,
        "kiosk_command",
        kiosk,
        &format!("{action_name} (command {})", cmd.id),
    )
    .await;
    Ok(cmd.id)
}

async fn kiosk_attract(
    State(app): State<Shared>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    match send_command(&app, &a, &id, Action::ReturnToAttract).await {
        Ok(cid) => Redirect::to(&format!(
            "/kiosks/{id}?msg={}",
            urlencode(&format!(
                "已发送返回首页指令 Return-to-attract sent (command {cid})"
            ))
        ))
        .into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ReprintForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    journal_id: i64,
    confirmed: Option<String>,
}

async fn kiosk_reprint(
    State(app): State<Shared>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<ReprintForm>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let action = Action::Reprint {
        journal_id: f.journal_id,
        confirmed_by_staff: f.confirmed.is_some(),
    };
    match send_command(&app, &a, &id, action).await {
        Ok(cid) => Redirect::to(&format!(
            "/kiosks/{id}?msg={}",
            urlencode(&format!("已发送补打指令 Reprint sent (command {cid})"))
        ))
        .into_response(),
        Err(r) => r,
    }
}

// ---- queue ------------------------------------------------------------------------

#[derive(Deserialize)]
struct QueueQ {
    hall: Option<String>,
    counter: Option<String>,
    msg: Option<String>,
}

fn pick_hall(app: &App, hall: Option<&str>) -> String {
    match hall {
        Some(h) if app.halls.iter().any(|x| x == h) => h.to_string(),
        _ => app.default_hall(),
    }
}

fn clean_counter(c: Option<&str>) -> String {
    let c: String = c
        .unwrap_or("1")
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .take(8)
        .collect();
    if c.is_empty() { "1".into() } else { c }
}

async fn queue_page(State(app): State<Shared>, a: Authed, Query(q): Query<QueueQ>) -> Response {
    let now = now_ms();
    let hall = pick_hall(&app, q.hall.as_deref());
    let counter = clean_counter(q.counter.as_deref());
    let queue = app.queue();
    let (current, summary, recent) = match (
        queue.current(&hall, &counter, now).await,
        queue.summary(&hall, now).await,
        queue.recent_calls(&hall, now, 15).await,
    ) {
        (Ok(c), Ok(s), Ok(r)) => (c, s, r),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return internal(e),
    };
    page(pages::queue_page(
        &a.ctx(&app),
        &hall,
        &app.halls,
        &counter,
        current.as_ref(),
        &summary,
        &recent,
        app.clock(),
        q.msg.as_deref(),
    ))
}

#[derive(Deserialize)]
struct CounterForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    hall: Option<String>,
    counter: String,
    outcome: Option<String>,
}

async fn push_board(app: &App, hall: &str, speak: bool) {
    let now = now_ms();
    let q = app.queue();
    if let (Ok(recent), Ok(s)) = (
        q.recent_calls(hall, now, 7).await,
        q.summary(hall, now).await,
    ) {
        let waiting = s.individual + s.business + s.priority + s.appointment;
        let msg =
            serde_json::json!({"hall": hall, "calls": recent, "waiting": waiting, "speak": speak})
                .to_string();
        let _ = app.board.send(msg.into());
    }
}

fn queue_back(hall: &str, counter: &str, msg: &str) -> Response {
    Redirect::to(&format!(
        "/queue?hall={}&counter={}&msg={}",
        urlencode(hall),
        urlencode(counter),
        urlencode(msg)
    ))
    .into_response()
}

async fn queue_call(State(app): State<Shared>, a: Authed, Form(f): Form<CounterForm>) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let hall = pick_hall(&app, f.hall.as_deref());
    let counter = clean_counter(Some(&f.counter));
    match app
        .queue()
        .call_next(&hall, &counter, &a.user.name, now_ms())
        .await
    {
        Ok(Some(c)) => {
            a.audit(
                &app,
                "ticket_call",
                &c.number,
                &format!("counter {counter}"),
            )
            .await;
            push_board(&app, &hall, true).await;
            queue_back(&hall, &counter, &format!("已叫号 Called {}", c.number))
        }
        Ok(None) => {
            push_board(&app, &hall, false).await;
            queue_back(&hall, &counter, "没有等候的号码 Nobody is waiting")
        }
        Err(e) => internal(e),
    }
}

async fn queue_recall(
    State(app): State<Shared>,
    a: Authed,
    Form(f): Form<CounterForm>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let hall = pick_hall(&app, f.hall.as_deref());
    let counter = clean_counter(Some(&f.counter));
    match app.queue().current(&hall, &counter, now_ms()).await {
        Ok(Some(c)) => {
            a.audit(
                &app,
                "ticket_recall",
                &c.number,
                &format!("counter {counter}"),
            )
            .await;
            // The board speaks the counter's ticket again: send it as the newest call.
            let msg =
                serde_json::json!({"hall": hall, "calls": [c], "recall": true, "speak": true})
                    .to_string();
            let _ = app.board.send(msg.into());
            queue_back(
                &hall,
                &counter,
                &format!("已重呼 Called again {}", c.number),
            )
        }
        Ok(None) => queue_back(
            &hall,
            &counter,
            "此窗口没有正在办理的号码 Nothing to call again",
        ),
        Err(e) => internal(e),
    }
}

async fn queue_finish(
    State(app): State<Shared>,
    a: Authed,
    Form(f): Form<CounterForm>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let hall = pick_hall(&app, f.hall.as_deref());
    let counter = clean_counter(Some(&f.counter));
    let no_show = f.outcome.as_deref() == Some("no_show");
    match app.queue().finish(&hall, &counter, no_show, now_ms()).await {
        Ok(Some(c)) => {
            a.audit(
                &app,
                if no_show {
                    "ticket_no_show"
                } else {
                    "ticket_done"
                },
                &c.number,
                &format!("counter {counter}"),
            )
            .await;
            push_board(&app, &hall, false).await;
            queue_back(
                &hall,
                &counter,
                &format!(
                    "{} {}",
                    if no_show {
                        "未到 No-show"
                    } else {
                        "办结 Done"
                    },
                    c.number
                ),
            )
        }
        Ok(None) => queue_back(
            &hall,
            &counter,
            "此窗口没有正在办理的号码 Nothing in service",
        ),
        Err(e) => internal(e),
    }
}

// ---- call board (public) ----------------------------------------------------------

#[derive(Deserialize)]
struct HallQ {
    hall: Option<String>,
}

async fn board_page(State(app): State<Shared>, Query(q): Query<HallQ>) -> Response {
    let hall = pick_hall(&app, q.hall.as_deref());
    let now = now_ms();
    let queue = app.queue();
    let (recent, summary) = match (
        queue.recent_calls(&hall, now, 7).await,
        queue.summary(&hall, now).await,
    ) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let waiting = summary.individual + summary.business + summary.priority + summary.appointment;
    page(pages::board(
        &hall,
        &app.bundle().kiosk.hall_name.zh,
        app.clock().offset_minutes,
        &recent,
        waiting,
    ))
}

async fn board_state(State(app): State<Shared>, Query(q): Query<HallQ>) -> Response {
    let hall = pick_hall(&app, q.hall.as_deref());
    let now = now_ms();
    match app.queue().recent_calls(&hall, now, 7).await {
        Ok(r) => (
            [(header::CONTENT_TYPE, "application/json")],
            pages::board_json(&r, 0, false),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn board_events(
    State(app): State<Shared>,
    Query(q): Query<HallQ>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let hall = pick_hall(&app, q.hall.as_deref());
    let rx = app.board.subscribe();
    let stream = BroadcastStream::new(rx).filter_map(move |m| {
        let s = m.ok()?;
        // One broadcast for all halls; each board keeps its own hall's calls.
        let v: serde_json::Value = serde_json::from_str(&s).ok()?;
        (v["hall"] == hall.as_str()).then(|| Ok(Event::default().data(&*s)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

// ---- kiosk ticket endpoint ----------------------------------------------------------

fn api_error(status: StatusCode, code: &str, zh: &str, en: &str) -> Response {
    (status, Json(backoffice_api::ApiError::new(code, zh, en))).into_response()
}

async fn kiosk_ticket(
    State(app): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use telemetry::hall_api::headers as h;
    let get = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let missing: Vec<&str> = h::PROVENANCE
        .iter()
        .copied()
        .filter(|n| get(n).is_empty())
        .collect();
    if !missing.is_empty() {
        return api_error(
            StatusCode::BAD_REQUEST,
            "missing_provenance",
            &format!("请求缺少来源信息：{}", missing.join(", ")),
            &format!(
                "The request lacks provenance headers: {}",
                missing.join(", ")
            ),
        );
    }
    let kiosk = get(h::KIOSK_ID);
    let Some(key) = app.settings.kiosk_keys.get(&kiosk) else {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "unknown_kiosk",
            "未登记的自助终端",
            "The kiosk is not registered with this hall",
        );
    };
    let ts = get(h::TIMESTAMP);
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_timestamp",
            "时间戳格式不正确",
            "The timestamp must be milliseconds since the Unix epoch",
        );
    };
    if (now_ms() - ts_ms).abs() > backoffice_api::MAX_CLOCK_SKEW_MS {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "stale_request",
            "请求时间与服务器相差过大，请校准终端时钟",
            "The request's time is too far from the console's; check the kiosk clock",
        );
    }
    let idem = get(h::IDEMPOTENCY_KEY);
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let c = backoffice_api::canonical(
        method.as_str(),
        path,
        &kiosk,
        &get(h::SOFTWARE_VERSION),
        &get(h::CONFIG_VERSION),
        &get(h::SESSION_ID),
        &get(h::VERIFICATION),
        &ts,
        &idem,
        &body,
    );
    if !backoffice_api::verify(key, &c, &get(h::SIGNATURE)) {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "请求签名无效",
            "The request signature is not valid for this kiosk",
        );
    }
    if idem.is_empty() || idem.len() > 128 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "missing_idempotency_key",
            "缺少幂等键",
            "A ticket request needs an idempotency-key header (at most 128 characters)",
        );
    }
    let req: TicketRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_body",
                "请求内容格式不正确",
                &format!("The body is not a ticket request: {e}"),
            );
        }
    };
    // The kiosk's hall: from its live state, else the console's first hall.
    let hall = app
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&kiosk)
        .map(|k| k.hall.clone())
        .unwrap_or_else(|| app.default_hall());
    let bundle = app.bundle();
    match app
        .queue()
        .issue(&hall, &kiosk, &idem, &req, Some(&bundle), now_ms())
        .await
    {
        Ok(t) => {
            push_board(&app, &hall, false).await;
            (StatusCode::OK, Json(t)).into_response()
        }
        Err(crate::tickets::TicketError::Db(e)) => internal(e),
        Err(e @ crate::tickets::TicketError::NoSlot) => api_error(
            StatusCode::CONFLICT,
            "no_slot",
            "近两周没有可预约的时段",
            &e.to_string(),
        ),
        Err(e) => api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_ticket_request",
            "取号请求不正确",
            &e.to_string(),
        ),
    }
}

// ---- figures ------------------------------------------------------------------------

#[derive(Deserialize)]
struct FiguresQ {
    hall: Option<String>,
    day: Option<String>,
}

async fn figures_page(State(app): State<Shared>, a: Authed, Query(q): Query<FiguresQ>) -> Response {
    // Flush queued history so that a visit that just ended is counted.
    let clock = app.clock();
    let day = q
        .day
        .filter(|d| kiosk_core::Date::parse(d).is_ok())
        .unwrap_or_else(|| clock.day(now_ms()));
    let hall = q.hall.filter(|h| app.halls.contains(h));
    let visits = match figures::load_day(&app.db, hall.as_deref(), &day, clock).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let f = figures::compute(&visits);
    let bundle = app.bundle();
    let view = pages::FiguresView {
        day: &day,
        f: &f,
        zone_names: bundle
            .zones
            .iter()
            .map(|z| (z.code.clone(), z.name.zh.clone()))
            .collect(),
        business_names: bundle
            .businesses
            .iter()
            .map(|b| (b.code.clone(), b.name.zh.clone()))
            .collect(),
    };
    page(pages::figures_page(&a.ctx(&app), &view))
}

// ---- configuration ------------------------------------------------------------------

async fn render_config(
    app: &App,
    a: &Authed,
    result: Option<Markup>,
    status: StatusCode,
) -> Response {
    let current = match configs::current(app).await {
        Ok(c) => c.map(|(_, m)| (m.version, m.note)),
        Err(e) => return internal(e),
    };
    let bundles: Vec<pages::BundleRow> = match app
        .db
        .query(
            "SELECT id, version, uploaded_ms, uploaded_by, warnings FROM bundles ORDER BY id DESC LIMIT 30",
            vec![],
        )
        .await
    {
        Ok(rows) => rows
            .into_iter()
            .map(|r| pages::BundleRow {
                id: r[0].int(),
                version: r[1].text(),
                uploaded_ms: r[2].int(),
                by: r[3].text(),
                warnings: r[4].text().lines().filter(|l| !l.is_empty()).count(),
            })
            .collect(),
        Err(e) => return internal(e),
    };
    let mut kiosks: Vec<(String, Option<telemetry::ConfigState>)> = app
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|k| (k.id.clone(), k.config.clone()))
        .collect();
    kiosks.sort_by(|a, b| a.0.cmp(&b.0));
    let view = pages::ConfigView {
        current,
        bundles: &bundles,
        kiosks,
        result,
        has_key: app.settings.config_public_key.is_some(),
    };
    (
        status,
        page(pages::config_page(&a.ctx(app), &view, app.clock())),
    )
        .into_response()
}

async fn config_page(State(app): State<Shared>, It(a): It) -> Response {
    render_config(&app, &a, None, StatusCode::OK).await
}

fn upload_result(
    r: &Result<(i64, String, Vec<kiosk_core::config::Diagnostic>), ConfigError>,
) -> (StatusCode, Markup) {
    match r {
        Ok((id, version, warnings)) => (
            StatusCode::OK,
            pages::diagnostics(
                &format!(
                    "校验通过 Bundle {} accepted as #{id}; publish it below.",
                    telemetry::bundle::short(version)
                ),
                true,
                &warnings.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ),
        ),
        Err(ConfigError::Invalid(diags)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::diagnostics(
                &format!(
                    "配置校验未通过，未做任何更改 The bundle was refused ({} problems); nothing changed.",
                    diags.len()
                ),
                false,
                &diags.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            ),
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::diagnostics(
                &format!("已拒绝，未做任何更改 Refused; nothing changed: {e}"),
                false,
                &[],
            ),
        ),
    }
}

async fn config_upload(State(app): State<Shared>, It(a): It, mut mp: Multipart) -> Response {
    let mut csrf = String::new();
    let mut data: Option<Bytes> = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                match name.as_str() {
                    "_csrf" => csrf = field.text().await.unwrap_or_default(),
                    "bundle" => match field.bytes().await {
                        Ok(b) => data = Some(b),
                        Err(e) => {
                            return (
                                StatusCode::BAD_REQUEST,
                                format!("cannot read the upload: {e}"),
                            )
                                .into_response();
                        }
                    },
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the upload: {e}"),
                )
                    .into_response();
            }
        }
    }
    if !a.csrf_ok(&csrf) {
        return csrf_failed();
    }
    let Some(data) = data else {
        return render_config(
            &app,
            &a,
            Some(pages::diagnostics(
                "没有选择文件 No file was chosen",
                false,
                &[],
            )),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let r = configs::upload(&app, &data, &a.user.name).await;
    if let Err(ConfigError::Db(e)) = &r {
        return internal(e);
    }
    let detail = match &r {
        Ok((id, v, _)) => format!("accepted #{id} {}", telemetry::bundle::short(v)),
        Err(e) => format!("refused: {e}"),
    };
    a.audit(&app, "config_upload", "bundle", &detail).await;
    let (status, m) = upload_result(&r);
    render_config(&app, &a, Some(m), status).await
}

async fn config_publish(
    State(app): State<Shared>,
    It(a): It,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let r = configs::publish(&app, id, &a.user.name, false).await;
    let (status, m) = match &r {
        Ok(v) => {
            a.audit(
                &app,
                "config_publish",
                &format!("bundle #{id}"),
                telemetry::bundle::short(v),
            )
            .await;
            (
                StatusCode::OK,
                pages::diagnostics(
                    &format!(
                        "已发布 Published {} to every kiosk",
                        telemetry::bundle::short(v)
                    ),
                    true,
                    &[],
                ),
            )
        }
        Err(ConfigError::NotFound(_)) => (
            StatusCode::NOT_FOUND,
            pages::diagnostics(&format!("没有该版本 No bundle #{id}"), false, &[]),
        ),
        Err(e) => return internal(e),
    };
    render_config(&app, &a, Some(m), status).await
}

async fn config_rollback(
    State(app): State<Shared>,
    It(a): It,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let (status, m) = match configs::rollback(&app, &a.user.name).await {
        Ok(v) => {
            a.audit(
                &app,
                "config_rollback",
                "bundle",
                telemetry::bundle::short(&v),
            )
            .await;
            (
                StatusCode::OK,
                pages::diagnostics(
                    &format!(
                        "已回滚 Rolled every kiosk back to {}",
                        telemetry::bundle::short(&v)
                    ),
                    true,
                    &[],
                ),
            )
        }
        Err(ConfigError::NothingToRollBack) => (
            StatusCode::CONFLICT,
            pages::diagnostics(
                "没有更早的版本 There is no earlier bundle to roll back to",
                false,
                &[],
            ),
        ),
        Err(e) => return internal(e),
    };
    render_config(&app, &a, Some(m), status).await
}

#[derive(Deserialize)]
struct UploadQ {
    publish: Option<String>,
}

/// The scriptable upload: the raw tar(.gz) as the body, the session cookie and the CSRF
/// token in `x-csrf-token`; `?publish=1` publishes it at once.
async fn api_upload(
    State(app): State<Shared>,
    It(a): It,
    headers: HeaderMap,
    Query(q): Query<UploadQ>,
    body: Bytes,
) -> Response {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !a.csrf_ok(token) {
        return (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": "missing or wrong x-csrf-token"})),
        )
            .into_response();
    }
    let r = configs::upload(&app, &body, &a.user.name).await;
    match r {
        Ok((id, version, warnings)) => {
            a.audit(
                &app,
                "config_upload",
                "bundle",
                &format!(
                    "accepted #{id} {} (API)",
                    telemetry::bundle::short(&version)
                ),
            )
            .await;
            let mut published = false;
            if q.publish.as_deref() == Some("1") {
                match configs::publish(&app, id, &a.user.name, false).await {
                    Ok(_) => {
                        a.audit(
                            &app,
                            "config_publish",
                            &format!("bundle #{id}"),
                            telemetry::bundle::short(&version),
                        )
                        .await;
                        published = true;
                    }
                    Err(e) => return internal(e),
                }
            }
            Json(serde_json::json!({"id": id, "version": version, "published": published, "warnings": warnings.iter().map(|d| d.to_string()).collect::<Vec<_>>()})).into_response()
        }
        Err(ConfigError::Db(e)) => internal(e),
        Err(e) => {
            a.audit(
                &app,
                "config_upload",
                "bundle",
                &format!("refused: {e} (API)"),
            )
            .await;
            let problems: Vec<String> = match &e {
                ConfigError::Invalid(d) => d.iter().map(|d| d.to_string()).collect(),
                _ => vec![],
            };
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({"error": e.to_string(), "problems": problems})),
            )
                .into_response()
        }
    }
}

async fn api_stats(State(app): State<Shared>, _a: Authed) -> Response {
    let now = now_ms();
    let s = pages::summary(&app, now);
    Json(serde_json::json!({
        "kiosks": s.total,
        "online": s.online,
        "offline": s.offline,
        "busy": s.busy,
        "attention": s.attention,
        "messages": app.stats.messages.load(Ordering::Relaxed),
        "rejected": app.stats.rejected.load(Ordering::Relaxed),
        "db_rows": app.stats.db_rows.load(Ordering::Relaxed),
        "dashboards": app.updates.receiver_count(),
        "uptime_s": (now - app.started_ms) / 1000,
    }))
    .into_response()
}

// ---- accounts and audit ---------------------------------------------------------------

async fn users_render(app: &App, a: &Authed, flash: Option<&str>, status: StatusCode) -> Response {
    let rows = match app
        .db
        .query(
            "SELECT id, name, role, disabled, created_ms FROM users ORDER BY name",
            vec![],
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let users: Vec<pages::UserRow> = rows
        .into_iter()
        .map(|r| pages::UserRow {
            id: r[0].int(),
            name: r[1].text(),
            role: r[2].text(),
            disabled: r[3].int() != 0,
            created_ms: r[4].int(),
        })
        .collect();
    (
        status,
        page(pages::users_page(&a.ctx(app), &users, app.clock(), flash)),
    )
        .into_response()
}

async fn users_page(State(app): State<Shared>, It(a): It) -> Response {
    users_render(&app, &a, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    role: String,
    password: String,
}

async fn users_add(State(app): State<Shared>, It(a): It, Form(f): Form<UserForm>) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let Some(role) = Role::parse(&f.role) else {
        return users_render(
            &app,
            &a,
            Some("角色不正确 Unknown role"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match auth::add_user(&app.db, f.name.trim(), role, &f.password).await {
        Ok(_) => {
            a.audit(&app, "user_add", f.name.trim(), role.code()).await;
            users_render(
                &app,
                &a,
                Some(&format!("已添加 Added {}", f.name.trim())),
                StatusCode::OK,
            )
            .await
        }
        Err(auth::AuthError::Db(e)) => internal(e),
        Err(e) => {
            users_render(
                &app,
                &a,
                Some(&e.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct UserOpForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    password: Option<String>,
}

async fn users_op(
    State(app): State<Shared>,
    It(a): It,
    Path((id, op)): Path<(i64, String)>,
    Form(f): Form<UserOpForm>,
) -> Response {
    if !a.csrf_ok(&f.csrf) {
        return csrf_failed();
    }
    let name = match app
        .db
        .query_one("SELECT name FROM users WHERE id = ?", vec![id.into()])
        .await
    {
        Ok(Some(r)) => r[0].text(),
        Ok(None) => return (StatusCode::NOT_FOUND, "no such account").into_response(),
        Err(e) => return internal(e),
    };
    let r = match op.as_str() {
        "disable" if name == a.user.name => {
            Err("不能停用自己 You cannot disable your own account".to_string())
        }
        "disable" | "enable" => auth::set_disabled(&app.db, id, op == "disable")
            .await
            .map_err(|e| e.to_string()),
        "password" => auth::set_password(&app.db, &name, f.password.as_deref().unwrap_or(""))
            .await
            .map_err(|e| e.to_string()),
        _ => return (StatusCode::NOT_FOUND, "no such operation").into_response(),
    };
    match r {
        Ok(()) => {
            a.audit(&app, &format!("user_{op}"), &name, "").await;
            users_render(&app, &a, Some(&format!("{op}: {name}")), StatusCode::OK).await
        }
        Err(e) => users_render(&app, &a, Some(&e), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

async fn audit_page(State(app): State<Shared>, It(a): It) -> Response {
    let rows = match app
        .db
        .query(
            "SELECT at_ms, actor, action, target, detail, ip FROM audit ORDER BY id DESC LIMIT 500",
            vec![],
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let rows: Vec<pages::AuditRow> = rows
        .into_iter()
        .map(|r| pages::AuditRow {
            at_ms: r[0].int(),
            actor: r[1].text(),
            action: r[2].text(),
            target: r[3].text(),
            detail: r[4].text(),
            ip: r[5].opt_text(),
        })
        .collect();
    page(pages::audit_page(&a.ctx(&app), &rows, app.clock()))
}

// ---- static -------------------------------------------------------------------------

/// A red square with 税 (tax): the tab icon of every page.
async fn icon() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")],
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#9b1b1b\"/><text x=\"16\" y=\"23\" font-size=\"20\" text-anchor=\"middle\" fill=\"#fff\">税</text></svg>",
    )
        .into_response()
}

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "board.js" => (BOARD_JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_detection() {
        let mut h = HeaderMap::new();
        assert!(!cross_site(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8800"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8800"),
        );
        assert!(!cross_site(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(
            !cross_site(&h),
            "same-origin form posts may carry Origin: null"
        );
        h.remove("sec-fetch-site");
        assert!(cross_site(&h));
    }

    #[test]
    fn redirects_stay_local() {
        assert_eq!(safe_next("/kiosks/K1"), "/kiosks/K1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
        assert_eq!(urlencode("/a b?c=d"), "/a%20b%3Fc%3Dd");
    }
}
