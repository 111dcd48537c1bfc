//! The `/v1` API, the simulated bank, and the admin switches.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use backoffice_api::{self as api, ApiError, FieldProblem, headers as h};
use kiosk_core::config::{Audience, FieldKind, Mode, Operation, Payment, ReceiptKind};
use kiosk_core::form;
use kiosk_core::ids::Date;
use kiosk_core::session::mask_name;
use kiosk_core::{IdNumber, Lang, Phone};
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

use crate::serve::KillSwitch;
use crate::{Shared, db, now_ms};

/// An API error with its HTTP status.
pub struct Fail(pub StatusCode, pub ApiError);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

fn fail(status: StatusCode, code: &str, zh: impl Into<String>, en: impl Into<String>) -> Fail {
    Fail(status, ApiError::new(code, zh, en))
}

fn internal(e: impl std::fmt::Display) -> Fail {
    // Only for the server's own faults (disk, lock); never for bad input.
    tracing::error!(error = %e, "internal error");
    fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "后台系统暂时故障，请稍后再试",
        "The back office had an internal problem; please try again later",
    )
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        internal(e)
    }
}

type Res<T> = Result<T, Fail>;

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    (status, axum::Json(v)).into_response()
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/identity/sms", post(send_sms))
        .route("/v1/identity/verify", post(verify_identity))
        .route("/v1/taxpayer/records", get(records))
        .route("/v1/applications", post(submit))
        .route("/v1/applications/{tracking}", get(application))
        .route("/v1/payments", post(pay))
        .route("/v1/payments/{id}", get(payment))
        .route("/v1/documents/{number}/verify", get(verify_document))
        .route("/bank/qr/{id}/confirm", post(bank_confirm))
        .route("/admin/faults", get(get_faults).put(put_faults))
        .route("/admin/sms/{id_number}", get(admin_sms))
        .route("/admin/stats", get(admin_stats))
        .with_state(state)
}

/// Runs a database closure off the async threads.
async fn with_db<T: Send + 'static>(
    s: &Shared,
    f: impl FnOnce(&mut Connection) -> Res<T> + Send + 'static,
) -> Res<T> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn =
            s.db.lock()
                .map_err(|_| internal("database lock poisoned"))?;
        f(&mut conn)
    })
    .await
    .map_err(internal)?
}

// ---- provenance and authentication -----------------------------------------------------

pub struct Prov {
    pub kiosk: String,
    pub session: String,
    pub method: String,
}

fn header<'a>(hm: &'a HeaderMap, name: &str) -> Option<&'a str> {
    hm.get(name).and_then(|v| v.to_str().ok())
}

fn check_provenance(
    s: &Shared,
    method: &Method,
    uri: &Uri,
    hm: &HeaderMap,
    body: &[u8],
) -> Res<Prov> {
    let missing: Vec<&str> = h::PROVENANCE
        .iter()
        .copied()
        .filter(|n| header(hm, n).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "missing_provenance",
            format!("请求缺少来源信息：{}", missing.join(", ")),
            format!(
                "The request lacks provenance headers: {}",
                missing.join(", ")
            ),
        ));
    }
    let get = |n: &str| header(hm, n).unwrap_or_default().to_string();
    let kiosk = get(h::KIOSK_ID);
    let Some(key) = s.settings.kiosk_keys.get(&kiosk) else {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "unknown_kiosk",
            format!("未登记的自助终端 {kiosk}"),
            format!("Kiosk {kiosk} is not registered"),
        ));
    };
    let ts = get(h::TIMESTAMP);
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "bad_timestamp",
            "时间戳格式不正确",
            "The timestamp must be milliseconds since the Unix epoch",
        ));
    };
    if (now_ms() - ts_ms).abs() > api::MAX_CLOCK_SKEW_MS {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "stale_request",
            "请求时间与服务器相差过大，请校准终端时钟",
            "The request's time is too far from the server's; check the kiosk clock",
        ));
    }
    let method_name = get(h::VERIFICATION);
    if !matches!(
        method_name.as_str(),
        "none" | "card" | "face" | "sms" | "staff"
    ) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "bad_verification_method",
            "核验方式不正确",
            "The verification method must be none, card, face, sms or staff",
        ));
    }
    let idem = header(hm, h::IDEMPOTENCY_KEY).unwrap_or_default();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let c = api::canonical(
        method.as_str(),
        path,
        &kiosk,
        &get(h::SOFTWARE_VERSION),
        &get(h::CONFIG_VERSION),
        &get(h::SESSION_ID),
        &method_name,
        &ts,
        idem,
        body,
    );
    if !api::verify(key, &c, &get(h::SIGNATURE)) {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "请求签名无效",
            "The request signature is not valid for this kiosk",
        ));
    }
    Ok(Prov {
        kiosk,
        session: get(h::SESSION_ID),
        method: method_name,
    })
}

/// Faults switched on by a test or a drill; applied before anything else.
async fn faults(s: &Shared) -> Res<()> {
    let f = s
        .faults
        .read()
        .map_err(|_| internal("faults lock poisoned"))?
        .clone();
    s.requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if f.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(f.latency_ms)).await;
    }
    if f.down || (f.error_rate > 0.0 && rand::rng().random::<f64>() < f.error_rate) {
        return Err(fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "后台系统暂时不可用",
            "The back office is unavailable",
        ));
    }
    Ok(())
}

async fn drop_after_commit(s: &Shared, kill: &Option<Extension<KillSwitch>>) {
    let delay = s.faults.read().map(|f| f.reply_delay_ms).unwrap_or(0);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let on = s
        .faults
        .read()
        .map(|f| f.drop_after_commit)
        .unwrap_or(false);
    if let (true, Some(Extension(k))) = (on, kill) {
        // Committed; now the reply is lost, as when a link fails at the worst moment.
        k.kill();
        std::future::pending::<()>().await;
    }
}

/// How long after its token expired the outbox may still deliver a visit's submission:
/// the taxpayer has gone home, but what they submitted must arrive.
const OUTBOX_GRACE_MS: i64 = 24 * 3600 * 1000;

fn token_taxpayer(conn: &Connection, hm: &HeaderMap, prov: &Prov) -> Res<i64> {
    token_taxpayer_with(conn, hm, prov, 0)
}

fn token_taxpayer_with(conn: &Connection, hm: &HeaderMap, prov: &Prov, grace_ms: i64) -> Res<i64> {
    let token = header(hm, h::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let row: Option<(i64, String, i64)> = conn
        .query_row(
            "SELECT taxpayer_id, kiosk_id, expires_ms FROM tokens WHERE token = ?1",
            params![token],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        Some((tp, kiosk, exp)) if kiosk == prov.kiosk && exp + grace_ms > now_ms() => Ok(tp),
        Some((_, kiosk, _)) if kiosk != prov.kiosk => Err(fail(
            StatusCode::UNAUTHORIZED,
            "token_wrong_kiosk",
            "身份凭证不属于本终端",
            "The taxpayer token was issued to another kiosk",
        )),
        Some(_) => Err(fail(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "身份核验已过期，请重新核验",
            "The identity check has expired; verify again",
        )),
        None => Err(fail(
            StatusCode::UNAUTHORIZED,
            "no_token",
            "请先完成身份核验",
            "Verify the taxpayer's identity first",
        )),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Res<T> {
    serde_json::from_slice(body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("请求内容格式不正确：{e}"),
            format!("The request body is not valid: {e}"),
        )
    })
}

fn idem_key(hm: &HeaderMap) -> Res<String> {
    match header(hm, h::IDEMPOTENCY_KEY) {
        Some(k) if (8..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(k.to_string())
        }
        _ => Err(fail(
            StatusCode::BAD_REQUEST,
            "missing_idempotency_key",
            "缺少幂等键",
            "State-changing calls need an Idempotency-Key header of 8 to 128 visible characters",
        )),
    }
}

fn hash(v: &impl serde::Serialize) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(v).unwrap_or_default()))
}

fn today() -> Date {
    Date::from_days_since_epoch((now_ms() / 1000 + 8 * 3600).div_euclid(86_400))
}

fn stamp(ms: i64) -> String {
    let secs = ms / 1000 + 8 * 3600;
    let d = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let m = secs.rem_euclid(86_400) / 60;
    format!("{d} {:02}:{:02}", m / 60, m % 60)
}

fn number(conn: &Connection, prefix: &str) -> Res<String> {
    let n = db::next(conn, prefix)?;
    let d = today();
    Ok(format!(
        "{prefix}{:04}{:02}{:02}{n:06}",
        d.year, d.month, d.day
    ))
}

fn verify_code() -> String {
    let v: u32 = rand::rng().random();
    format!("{v:08X}")
}

// ---- identity ----------------------------------------------------------------------------

#[utoipa::path(post, path = "/v1/identity/sms", request_body = api::SmsRequest,
    responses((status = 200, body = api::SmsSent), (status = 404, body = ApiError), (status = 400, body = ApiError)))]
async fn send_sms(
    AxState(s): AxState<Shared>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
    body: Bytes,
) -> Res<Response> {
    faults(&s).await?;
    check_provenance(&s, &method, &uri, &hm, &body)?;
    let req: api::SmsRequest = parse_body(&body)?;
    let id = IdNumber::parse(&req.id_number).map_err(|e| {
        fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_id_number",
            e.message(Lang::Zh),
            e.message(Lang::En),
        )
    })?;
    with_db(&s, move |conn| {
        let Some(tp) = db::taxpayer_by_id_number(conn, id.expose())? else {
            return Err(no_taxpayer());
        };
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        conn.execute(
            "INSERT INTO sms_codes(id_number, code, expires_ms, attempts) VALUES (?1, ?2, ?3, 0) ON CONFLICT(id_number) DO UPDATE SET code = ?2, expires_ms = ?3, attempts = 0",
            params![tp.id_number, code, now_ms() + 5 * 60 * 1000],
        )?;
        let masked = Phone::parse(&tp.phone).map(|p| p.masked()).unwrap_or_default();
        Ok(json(StatusCode::OK, &api::SmsSent { phone_masked: masked }))
    })
    .await
}

fn no_taxpayer() -> Fail {
    fail(
        StatusCode::NOT_FOUND,
        "no_taxpayer",
        "未找到该证件的涉税信息，请到窗口办理登记",
        "No tax records for this ID; please register at a counter",
    )
}

#[utoipa::path(post, path = "/v1/identity/verify", request_body = api::VerifyRequest,
    responses((status = 200, body = api::Verified), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 422, body = ApiError)))]
async fn verify_identity(
    AxState(s): AxState<Shared>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
    body: Bytes,
) -> Res<Response> {
    faults(&s).await?;
    let prov = check_provenance(&s, &method, &uri, &hm, &body)?;
    let req: api::VerifyRequest = parse_body(&body)?;
    let id = IdNumber::parse(&req.id_number).map_err(|e| {
        let mut err = ApiError::new("bad_id_number", e.message(Lang::Zh), e.message(Lang::En));
        err.fields.push(FieldProblem {
            field: "id_number".into(),
            message_zh: e.message(Lang::Zh),
            message_en: e.message(Lang::En),
        });
        Fail(StatusCode::UNPROCESSABLE_ENTITY, err)
    })?;
    let min_face = s.settings.min_face_score_milli;
    with_db(&s, move |conn| {
        let Some(tp) = db::taxpayer_by_id_number(conn, id.expose())? else {
            return Err(no_taxpayer());
        };
        if tp.name != req.name.trim() {
            return Err(fail(StatusCode::UNAUTHORIZED, "identity_mismatch", "身份信息不一致", "The name does not match the records for this ID"));
        }
        match req.method {
            api::VerificationMethod::Face => {
                if req.face_score_milli.unwrap_or(0) < min_face {
                    return Err(fail(StatusCode::UNAUTHORIZED, "face_not_matched", "人脸比对未通过", "The face did not match the ID card photo"));
                }
            }
            api::VerificationMethod::Sms => {
                let row: Option<(String, i64, i64)> = conn
                    .query_row("SELECT code, expires_ms, attempts FROM sms_codes WHERE id_number = ?1", params![tp.id_number], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                let given = req.sms_code.clone().unwrap_or_default();
                match row {
                    Some((code, exp, attempts)) if attempts < 5 && exp > now_ms() && code == given => {
                        conn.execute("DELETE FROM sms_codes WHERE id_number = ?1", params![tp.id_number])?;
                    }
                    Some(_) => {
                        conn.execute("UPDATE sms_codes SET attempts = attempts + 1 WHERE id_number = ?1", params![tp.id_number])?;
                        return Err(fail(StatusCode::UNAUTHORIZED, "sms_code_wrong", "验证码错误或已过期", "The code is wrong or has expired"));
                    }
                    None => return Err(fail(StatusCode::UNAUTHORIZED, "sms_code_wrong", "请先获取验证码", "Ask for a code first")),
                }
            }
            api::VerificationMethod::Staff | api::VerificationMethod::Card => {}
        }
        let token = hex::encode(rand::rng().random::<[u8; 24]>());
        let ttl = 15 * 60;
        conn.execute(
            "INSERT INTO tokens(token, taxpayer_id, kiosk_id, method, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token, tp.id, prov.kiosk, req.method.code(), now_ms() + ttl as i64 * 1000],
        )?;
        Ok(json(StatusCode::OK, &api::Verified { token, expires_in_secs: ttl, profile: profile(conn, &tp)? }))
    })
    .await
}

fn profile(conn: &Connection, tp: &db::Taxpayer) -> Res<api::Profile> {
    let mut st =
        conn.prepare("SELECT name, credit_code, small_scale FROM entities WHERE taxpayer_id = ?1")?;
    let entities = st
        .query_map(params![tp.id], |r| {
            let code: String = r.get(1)?;
            Ok(api::Entity {
                name: r.get(0)?,
                credit_code_masked: format!("{}******{}", &code[..8], &code[14..]),
                small_scale: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(api::Profile {
        name_masked: mask_name(&tp.name),
        id_masked: IdNumber::parse(&tp.id_number)
            .map(|i| i.masked())
            .unwrap_or_default(),
        kind: if tp.kind == "business" {
            api::TaxpayerKind::Business
        } else {
            api::TaxpayerKind::Individual
        },
        entities,
        credit_rating: tp.rating.clone(),
        phone_masked: Phone::parse(&tp.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
    })
}

#[utoipa::path(get, path = "/v1/taxpayer/records", responses((status = 200, body = api::Records), (status = 401, body = ApiError)))]
async fn records(
    AxState(s): AxState<Shared>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
) -> Res<Response> {
    faults(&s).await?;
    let prov = check_provenance(&s, &method, &uri, &hm, b"")?;
    let bundle = s.bundle.clone();
    with_db(&s, move |conn| {
        let tp = db::taxpayer(conn, token_taxpayer(conn, &hm, &prov)?)?;
        let profile = profile(conn, &tp)?;
        let business = profile.kind == api::TaxpayerKind::Business;
        let businesses = bundle
            .businesses
            .iter()
            .filter(|b| matches!(b.audience, Audience::Both) || (b.audience == Audience::Business) == business)
            .map(|b| b.code.clone())
            .collect();
        let mut st = conn.prepare("SELECT id, tax_type, period, amount_fen, paid_fen, due_date FROM liabilities WHERE taxpayer_id = ?1 ORDER BY due_date")?;
        let liabilities = st
            .query_map(params![tp.id], |r| Ok(api::Liability { id: r.get(0)?, tax_type: r.get(1)?, period: r.get(2)?, amount_fen: r.get(3)?, paid_fen: r.get(4)?, due_date: r.get(5)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = conn.prepare("SELECT business, COALESCE(period, ''), tracking, status, created_ms, due_fen FROM applications WHERE taxpayer_id = ?1 ORDER BY created_ms DESC LIMIT 50")?;
        let filings = st
            .query_map(params![tp.id], |r| {
                let status: String = r.get(3)?;
                Ok(api::Filing { business: r.get(0)?, period: r.get(1)?, tracking: r.get(2)?, status: status_of(&status), filed_at: stamp(r.get(4)?), tax_fen: r.get(5)? })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = conn.prepare("SELECT number, issued, buyer, amount_fen, tax_fen, status FROM invoices WHERE taxpayer_id = ?1")?;
        let invoices = st
            .query_map(params![tp.id], |r| Ok(api::Invoice { number: r.get(0)?, issued: r.get(1)?, buyer: r.get(2)?, amount_fen: r.get(3)?, tax_fen: r.get(4)?, status: r.get(5)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = conn.prepare("SELECT scheme, period, base_fen, paid_fen FROM social_insurance WHERE taxpayer_id = ?1 ORDER BY period")?;
        let social_insurance = st
            .query_map(params![tp.id], |r| Ok(api::SocialInsuranceRecord { scheme: r.get(0)?, period: r.get(1)?, base_fen: r.get(2)?, paid_fen: r.get(3)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json(StatusCode::OK, &api::Records { profile, businesses, liabilities, filings, invoices, social_insurance }))
    })
    .await
}

// ---- applications --------------------------------------------------------------------

fn status_of(s: &str) -> api::ApplicationStatus {
    match s {
        "done" => api::ApplicationStatus::Done,
        "processing" => api::ApplicationStatus::Processing,
        "approved" => api::ApplicationStatus::Approved,
        "rejected" => api::ApplicationStatus::Rejected,
        _ => api::ApplicationStatus::Accepted,
    }
}

fn problems(errs: Vec<(String, form::FieldError)>) -> Fail {
    let mut e = ApiError::new(
        "invalid_form",
        "表单内容有误，请按提示修改",
        "The form has errors; please correct them",
    );
    e.fields = errs
        .into_iter()
        .map(|(field, err)| FieldProblem {
            field,
            message_zh: err.message(Lang::Zh),
            message_en: err.message(Lang::En),
        })
        .collect();
    Fail(StatusCode::UNPROCESSABLE_ENTITY, e)
}

pub(crate) fn load_application(conn: &Connection, tracking: &str) -> Res<Option<api::Application>> {
    Ok(conn
        .query_row(
            "SELECT tracking, business, status, due_fen, doc_number, doc_code, doc_kind, reason_zh, reason_en, created_ms, updated_ms FROM applications WHERE tracking = ?1",
            params![tracking],
            |r| {
                let status: String = r.get(2)?;
                let number: Option<String> = r.get(4)?;
                let document = match number {
                    Some(number) => Some(api::DocumentRef { number, verify_code: r.get::<_, Option<String>>(5)?.unwrap_or_default(), kind: r.get::<_, Option<String>>(6)?.unwrap_or_default() }),
                    None => None,
                };
                Ok(api::Application {
                    tracking: r.get(0)?,
                    business: r.get(1)?,
                    status: status_of(&status),
                    due_fen: r.get(3)?,
                    document,
                    reason_zh: r.get(7)?,
                    reason_en: r.get(8)?,
                    created_at: stamp(r.get(9)?),
                    updated_at: stamp(r.get(10)?),
                })
            },
        )
        .optional()?)
}

#[utoipa::path(post, path = "/v1/applications", request_body = api::ApplicationRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per state-changing request")),
    responses((status = 201, body = api::Application), (status = 200, body = api::Application, description = "The same request again"),
        (status = 409, body = ApiError), (status = 422, body = ApiError), (status = 401, body = ApiError)))]
async fn submit(
    AxState(s): AxState<Shared>,
    kill: Option<Extension<KillSwitch>>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
    body: Bytes,
) -> Res<Response> {
    faults(&s).await?;
    let prov = check_provenance(&s, &method, &uri, &hm, &body)?;
    let key = idem_key(&hm)?;
    let req: api::ApplicationRequest = parse_body(&body)?;
    let bundle = s.bundle.clone();
    let Some(business) = bundle.business(&req.business).cloned() else {
        let mut e = ApiError::new(
            "unknown_business",
            format!("没有业务 {}", req.business),
            format!("There is no business {}", req.business),
        );
        e.fields.push(FieldProblem {
            field: "business".into(),
            message_zh: "业务代码不存在".into(),
            message_en: "Unknown business code".into(),
        });
        return Err(Fail(StatusCode::UNPROCESSABLE_ENTITY, e));
    };
    if business.mode == Mode::Staffed
        || matches!(
            business.operation,
            Operation::Ticket | Operation::Appointment
        )
    {
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "staffed_business",
            "该业务需到窗口办理，请取号或预约",
            "This business is handled at a counter; take a ticket or book",
        ));
    }
    let f = bundle.form_of(&business).clone();
    let values = form::parse_wire(&f, &req.values).map_err(problems)?;
    let values = form::visible_values(&f, &values);
    let errs = form::validate(&f, &values);
    if !errs.is_empty() {
        return Err(problems(errs));
    }
    // Recompute every computed value; a kiosk that disagrees is refused, field by field.
    let computed = form::compute(&f, &values);
    let mut mismatch = Vec::new();
    for (id, fen) in &req.computed {
        match computed.get(id) {
            Some(a) if a.fen() == *fen => {}
            Some(a) => mismatch.push(FieldProblem {
                field: id.clone(),
                message_zh: format!(
                    "计算结果不一致：终端 {}，后台 {}",
                    kiosk_core::Amount::from_fen(*fen),
                    a
                ),
                message_en: format!(
                    "Computed value differs: kiosk {}, back office {a}",
                    kiosk_core::Amount::from_fen(*fen)
                ),
            }),
            None => mismatch.push(FieldProblem {
                field: id.clone(),
                message_zh: "不是本表的计算项".into(),
                message_en: "Not a computed field of this form".into(),
            }),
        }
    }
    for id in computed.keys().filter(|k| !req.computed.contains_key(*k)) {
        mismatch.push(FieldProblem {
            field: id.clone(),
            message_zh: "缺少计算结果".into(),
            message_en: "The computed value is missing".into(),
        });
    }
    if !mismatch.is_empty() {
        let mut e = ApiError::new(
            "computed_mismatch",
            "终端计算结果与后台不一致，已拒绝",
            "The kiosk's computed values disagree with the back office; refused",
        );
        e.fields = mismatch;
        return Err(Fail(StatusCode::UNPROCESSABLE_ENTITY, e));
    }
    let due = if business.payment == Payment::None {
        0
    } else {
        // By the bundle's convention the last computed field is the amount due.
        f.fields()
            .filter(|fd| matches!(fd.kind, FieldKind::Computed(_)))
            .filter_map(|fd| computed.get(&fd.id))
            .last()
            .map_or(0, |a| a.fen().max(0))
    };
    let period = values.get("period").map(|v| v.wire());
    let request_hash = hash(&req);
    let values_json = serde_json::to_string(&req.values).unwrap_or_default();
    let doc_kind = bundle
        .receipts
        .get(&business.receipt)
        .map_or("receipt", |r| match r.kind {
            ReceiptKind::Certificate => "certificate",
            ReceiptKind::Notice => "notice",
            _ => "receipt",
        });
    let step = s.settings.bo_step_ms as i64;
    let result = with_db(&s, move |conn| {
        let tx = conn.transaction()?;
        let tp = token_taxpayer_with(&tx, &hm, &prov, OUTBOX_GRACE_MS)?;
        if let Some((tracking, h)) = tx
            .query_row("SELECT tracking, request_hash FROM applications WHERE kiosk_id = ?1 AND idem_key = ?2", params![prov.kiosk, key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .optional()?
        {
            if h != request_hash {
                return Err(fail(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", "该幂等键已用于另一笔不同的申请", "This Idempotency-Key was already used for a different request"));
            }
            let app = load_application(&tx, &tracking)?.ok_or_else(|| internal("application vanished"))?;
            return Ok((StatusCode::OK, app, false));
        }
        if business.operation == Operation::FileReturn
            && let Some(p) = &period
        {
            let dup: Option<String> = tx
                .query_row(
                    "SELECT tracking FROM applications WHERE taxpayer_id = ?1 AND business = ?2 AND period = ?3 AND status IN ('done','accepted','processing','approved')",
                    params![tp, business.code, p],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(t) = dup {
                return Err(fail(
                    StatusCode::CONFLICT,
                    "already_filed",
                    format!("所属期 {p} 已申报（受理编号 {t}），如需修改请办理更正申报"),
                    format!("Period {p} has already been filed (reference {t}); file a correction to change it"),
                ));
            }
        }
        let now = now_ms();
        let (tracking, status, doc) = match business.mode {
            Mode::SelfService => {
                let tracking = number(&tx, "SS")?;
                let docno = number(&tx, if doc_kind == "certificate" { "ZM" } else { "HZ" })?;
                let code = verify_code();
                tx.execute(
                    "INSERT INTO documents(number, code, kind, taxpayer_id, amount_fen, issued_ms, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![docno, code, doc_kind, tp, due, now, tracking],
                )?;
                (tracking, "done", Some((docno, code)))
            }
            _ => (number(&tx, "BO")?, "accepted", None),
        };
        tx.execute(
            "INSERT INTO applications(tracking, kiosk_id, idem_key, request_hash, taxpayer_id, business, mode, period, status, due_fen, doc_number, doc_code, doc_kind, values_json, session_id, verification, created_ms, updated_ms, next_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18)",
            params![
                tracking, prov.kiosk, key, request_hash, tp, business.code, business.mode.code(), period, status, due,
                doc.as_ref().map(|d| d.0.clone()), doc.as_ref().map(|d| d.1.clone()), doc.as_ref().map(|_| doc_kind),
                values_json, prov.session, prov.method, now, now + step
            ],
        )?;
        let app = load_application(&tx, &tracking)?.ok_or_else(|| internal("application vanished"))?;
        tx.commit()?;
        Ok((StatusCode::CREATED, app, true))
    })
    .await?;
    if result.2 {
        drop_after_commit(&s, &kill).await;
    }
    Ok(json(result.0, &result.1))
}

#[utoipa::path(get, path = "/v1/applications/{tracking}", params(("tracking" = String, Path)),
    responses((status = 200, body = api::Application), (status = 404, body = ApiError)))]
async fn application(
    AxState(s): AxState<Shared>,
    Path(tracking): Path<String>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
) -> Res<Response> {
    faults(&s).await?;
    let prov = check_provenance(&s, &method, &uri, &hm, b"")?;
    with_db(&s, move |conn| {
        let owner: Option<String> = conn
            .query_row(
                "SELECT kiosk_id FROM applications WHERE tracking = ?1",
                params![tracking],
                |r| r.get(0),
            )
            .optional()?;
        match (owner, load_application(conn, &tracking)?) {
            (Some(k), Some(app)) if k == prov.kiosk => Ok(json(StatusCode::OK, &app)),
            _ => Err(fail(
                StatusCode::NOT_FOUND,
                "no_application",
                format!("未找到受理编号 {tracking}"),
                format!("No application {tracking} from this kiosk"),
            )),
        }
    })
    .await
}

// ---- payments ------------------------------------------------------------------------

pub(crate) fn load_payment(conn: &Connection, id: &str) -> Res<Option<api::Payment>> {
    Ok(conn
        .query_row(
            "SELECT id, target, amount_fen, method, status, qr_payload, voucher, reason_zh, reason_en FROM payments WHERE id = ?1",
            params![id],
            |r| {
                let method: String = r.get(3)?;
                let status: String = r.get(4)?;
                Ok(api::Payment {
                    id: r.get(0)?,
                    target: r.get(1)?,
                    amount_fen: r.get(2)?,
                    method: match method.as_str() {
                        "qr" => api::PaymentMethod::Qr,
                        "bank_card" => api::PaymentMethod::BankCard,
                        _ => api::PaymentMethod::TripartiteDebit,
                    },
                    status: match status.as_str() {
                        "paid" => api::PaymentStatus::Paid,
                        "declined" => api::PaymentStatus::Declined,
                        _ => api::PaymentStatus::Pending,
                    },
                    qr_payload: r.get(5)?,
                    voucher: r.get(6)?,
                    reason_zh: r.get(7)?,
                    reason_en: r.get(8)?,
                })
            },
        )
        .optional()?)
}

/// Marks a pending payment paid: ledger entry, the target's paid amount, a voucher. Runs in
/// the caller's transaction; the ledger's unique payment id makes a second call a no-op.
pub(crate) fn settle(tx: &Connection, payment_id: &str, source: &str) -> Res<()> {
    let (tp, target, amount, status): (i64, String, i64, String) = tx.query_row(
        "SELECT taxpayer_id, target, amount_fen, status FROM payments WHERE id = ?1",
        params![payment_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if status != "pending" {
        return Ok(());
    }
    let now = now_ms();
    tx.execute(
        "INSERT INTO ledger(payment_id, debit, credit, amount_fen, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![payment_id, format!("taxpayer:{tp}:{source}"), format!("treasury:{target}"), amount, now],
    )?;
    let voucher = number(tx, "JK")?;
    tx.execute(
        "INSERT INTO documents(number, code, kind, taxpayer_id, amount_fen, issued_ms, source) VALUES (?1, ?2, 'payment_voucher', ?3, ?4, ?5, ?6)",
        params![voucher, verify_code(), tp, amount, now, payment_id],
    )?;
    tx.execute(
        "UPDATE payments SET status = 'paid', voucher = ?2 WHERE id = ?1",
        params![payment_id, voucher],
    )?;
    let n = tx.execute(
        "UPDATE applications SET paid_fen = paid_fen + ?2, updated_ms = ?3 WHERE tracking = ?1",
        params![target, amount, now],
    )?;
    if n == 0 {
        tx.execute(
            "UPDATE liabilities SET paid_fen = paid_fen + ?2 WHERE id = ?1",
            params![target, amount],
        )?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/payments", request_body = api::PaymentRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per payment attempt")),
    responses((status = 201, body = api::Payment), (status = 200, body = api::Payment, description = "The same request again"),
        (status = 404, body = ApiError), (status = 422, body = ApiError), (status = 401, body = ApiError)))]
async fn pay(
    AxState(s): AxState<Shared>,
    kill: Option<Extension<KillSwitch>>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
    body: Bytes,
) -> Res<Response> {
    faults(&s).await?;
    let prov = check_provenance(&s, &method, &uri, &hm, &body)?;
    let key = idem_key(&hm)?;
    let req: api::PaymentRequest = parse_body(&body)?;
    if req.amount_fen <= 0 || req.amount_fen > kiosk_core::money::MAX_FEN {
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_amount",
            "缴款金额必须大于零",
            "The amount must be more than zero",
        ));
    }
    if req.method == api::PaymentMethod::BankCard {
        let ok = req.pos_auth.as_deref().is_some_and(|a| {
            (6..=12).contains(&a.len())
                && a.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
        if !ok {
            return Err(fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_pos_auth",
                "银行卡授权码无效",
                "The bank card payment needs the POS authorisation code (6 to 12 capitals or digits)",
            ));
        }
    }
    let request_hash = hash(&req);
    let result = with_db(&s, move |conn| {
        let tx = conn.transaction()?;
        let tp = token_taxpayer_with(&tx, &hm, &prov, OUTBOX_GRACE_MS)?;
        if let Some((id, h)) = tx
            .query_row("SELECT id, request_hash FROM payments WHERE kiosk_id = ?1 AND idem_key = ?2", params![prov.kiosk, key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .optional()?
        {
            if h != request_hash {
                return Err(fail(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", "该幂等键已用于另一笔不同的缴款", "This Idempotency-Key was already used for a different payment"));
            }
            return Ok((StatusCode::OK, load_payment(&tx, &id)?.ok_or_else(|| internal("payment vanished"))?, false));
        }
        let app: Option<(i64, i64, i64)> =
            tx.query_row("SELECT taxpayer_id, due_fen, paid_fen FROM applications WHERE tracking = ?1", params![req.target], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
        let liab: Option<(i64, i64, i64)> =
            tx.query_row("SELECT taxpayer_id, amount_fen, paid_fen FROM liabilities WHERE id = ?1", params![req.target], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
        let Some((owner, due, paid)) = app.or(liab) else {
            return Err(fail(StatusCode::NOT_FOUND, "no_target", format!("未找到应缴事项 {}", req.target), format!("Nothing to pay under {}", req.target)));
        };
        if owner != tp {
            return Err(fail(StatusCode::NOT_FOUND, "no_target", format!("未找到应缴事项 {}", req.target), format!("Nothing to pay under {}", req.target)));
        }
        // Pending payments count as taken, so two attempts cannot pay the same tax twice.
        let pending: i64 = tx.query_row("SELECT COALESCE(SUM(amount_fen), 0) FROM payments WHERE target = ?1 AND status = 'pending'", params![req.target], |r| r.get(0))?;
        let outstanding = due - paid - pending;
        if req.amount_fen > outstanding {
            return Err(fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_exceeds_due",
                format!("缴款金额超过应缴金额 {}", kiosk_core::Amount::from_fen(outstanding.max(0))),
                format!("The amount exceeds what is due ({})", kiosk_core::Amount::from_fen(outstanding.max(0))),
            ));
        }
        let id = number(&tx, "PAY")?;
        let method = match req.method {
            api::PaymentMethod::TripartiteDebit => "tripartite_debit",
            api::PaymentMethod::Qr => "qr",
            api::PaymentMethod::BankCard => "bank_card",
        };
        let qr = (req.method == api::PaymentMethod::Qr).then(|| format!("bankpay://tax/{id}?amount={}", req.amount_fen));
        tx.execute(
            "INSERT INTO payments(id, kiosk_id, idem_key, request_hash, taxpayer_id, target, amount_fen, method, status, qr_payload, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?10)",
            params![id, prov.kiosk, key, request_hash, tp, req.target, req.amount_fen, method, qr, now_ms()],
        )?;
        match req.method {
            api::PaymentMethod::TripartiteDebit => {
                // The bank debits the agreed account, if the money is there.
                let n = tx.execute(
                    "UPDATE taxpayers SET bank_balance_fen = bank_balance_fen - ?2 WHERE id = ?1 AND bank_balance_fen >= ?2",
                    params![tp, req.amount_fen],
                )?;
                if n == 1 {
                    settle(&tx, &id, "bank")?;
                } else {
                    tx.execute(
                        "UPDATE payments SET status = 'declined', reason_zh = '账户余额不足', reason_en = 'Insufficient funds in the agreed account' WHERE id = ?1",
                        params![id],
                    )?;
                }
            }
            api::PaymentMethod::BankCard => settle(&tx, &id, "card")?,
            api::PaymentMethod::Qr => {}
        }
        let p = load_payment(&tx, &id)?.ok_or_else(|| internal("payment vanished"))?;
        tx.commit()?;
        Ok((StatusCode::CREATED, p, true))
    })
    .await?;
    if result.2 {
        drop_after_commit(&s, &kill).await;
    }
    Ok(json(result.0, &result.1))
}

#[utoipa::path(get, path = "/v1/payments/{id}", params(("id" = String, Path)), responses((status = 200, body = api::Payment), (status = 404, body = ApiError)))]
async fn payment(
    AxState(s): AxState<Shared>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    hm: HeaderMap,
) -> Res<Response> {
    faults(&s).await?;
    let prov = check_provenance(&s, &method, &uri, &hm, b"")?;
    with_db(&s, move |conn| {
        let owner: Option<String> = conn
            .query_row(
                "SELECT kiosk_id FROM payments WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match (owner, load_payment(conn, &id)?) {
            (Some(k), Some(p)) if k == prov.kiosk => Ok(json(StatusCode::OK, &p)),
            _ => Err(fail(
                StatusCode::NOT_FOUND,
                "no_payment",
                format!("未找到缴款 {id}"),
                format!("No payment {id} from this kiosk"),
            )),
        }
    })
    .await
}

#[derive(serde::Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

#[utoipa::path(get, path = "/v1/documents/{number}/verify", params(("number" = String, Path), ("code" = String, Query)),
    responses((status = 200, body = api::DocumentCheck)))]
async fn verify_document(
    AxState(s): AxState<Shared>,
    Path(number): Path<String>,
    Query(q): Query<CodeQuery>,
) -> Res<Response> {
    // Public: a receipt's QR code points here. It says whether the document is genuine
    // and shows only masked data.
    faults(&s).await?;
    let code = q.code.unwrap_or_default();
    with_db(&s, move |conn| {
        let row: Option<(String, String, i64, Option<i64>, i64)> = conn
            .query_row("SELECT code, kind, taxpayer_id, amount_fen, issued_ms FROM documents WHERE number = ?1", params![number], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let check = match row {
            Some((c, kind, tp, amount, issued)) if c.eq_ignore_ascii_case(&code) => {
                let t = db::taxpayer(conn, tp)?;
                api::DocumentCheck { valid: true, number, kind: Some(kind), issued_at: Some(stamp(issued)), taxpayer_masked: Some(mask_name(&t.name)), amount_fen: amount }
            }
            _ => api::DocumentCheck { valid: false, number, kind: None, issued_at: None, taxpayer_masked: None, amount_fen: None },
        };
        Ok(json(StatusCode::OK, &check))
    })
    .await
}

// ---- the simulated bank ------------------------------------------------------------------

#[utoipa::path(post, path = "/bank/qr/{id}/confirm", params(("id" = String, Path)),
    responses((status = 200, body = api::Payment), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn bank_confirm(
    AxState(s): AxState<Shared>,
    Path(id): Path<String>,
    hm: HeaderMap,
) -> Res<Response> {
    faults(&s).await?;
    if header(&hm, "x-bank-key") != Some(s.settings.bank_key.as_str()) {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "bad_bank_key",
            "银行身份无效",
            "Not a recognised bank",
        ));
    }
    with_db(&s, move |conn| {
        let tx = conn.transaction()?;
        let Some(p) = load_payment(&tx, &id)? else {
            return Err(fail(
                StatusCode::NOT_FOUND,
                "no_payment",
                format!("未找到缴款 {id}"),
                format!("No payment {id}"),
            ));
        };
        match (p.method, p.status) {
            (api::PaymentMethod::Qr, api::PaymentStatus::Pending) => settle(&tx, &id, "qr")?,
            (api::PaymentMethod::Qr, api::PaymentStatus::Paid) => {}
            _ => {
                return Err(fail(
                    StatusCode::CONFLICT,
                    "not_confirmable",
                    "该缴款无法确认",
                    "This payment cannot be confirmed by QR",
                ));
            }
        }
        let p = load_payment(&tx, &id)?.ok_or_else(|| internal("payment vanished"))?;
        tx.commit()?;
        Ok(json(StatusCode::OK, &p))
    })
    .await
}

// ---- admin ---------------------------------------------------------------------------------

fn admin(s: &Shared, hm: &HeaderMap) -> Res<()> {
    if header(hm, "x-admin-token") == Some(s.settings.admin_token.as_str()) {
        Ok(())
    } else {
        Err(fail(
            StatusCode::UNAUTHORIZED,
            "not_admin",
            "需要管理员令牌",
            "The admin token is missing or wrong",
        ))
    }
}

async fn get_faults(AxState(s): AxState<Shared>, hm: HeaderMap) -> Res<Response> {
    admin(&s, &hm)?;
    let f = s
        .faults
        .read()
        .map_err(|_| internal("faults lock poisoned"))?
        .clone();
    Ok(json(StatusCode::OK, &f))
}

async fn put_faults(AxState(s): AxState<Shared>, hm: HeaderMap, body: Bytes) -> Res<Response> {
    admin(&s, &hm)?;
    let f: api::Faults = parse_body(&body)?;
    if !(0.0..=1.0).contains(&f.error_rate) || f.latency_ms > 600_000 || f.reply_delay_ms > 600_000
    {
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_faults",
            "故障参数超出范围",
            "error_rate must be 0..1 and latency_ms at most 600000",
        ));
    }
    *s.faults
        .write()
        .map_err(|_| internal("faults lock poisoned"))? = f.clone();
    tracing::warn!(?f, "fault switches changed");
    Ok(json(StatusCode::OK, &f))
}

/// The simulated phone: what the last SMS to this ID's phone said.
async fn admin_sms(
    AxState(s): AxState<Shared>,
    Path(id_number): Path<String>,
    hm: HeaderMap,
) -> Res<Response> {
    admin(&s, &hm)?;
    with_db(&s, move |conn| {
        let code: Option<String> = conn
            .query_row(
                "SELECT code FROM sms_codes WHERE id_number = ?1",
                params![id_number],
                |r| r.get(0),
            )
            .optional()?;
        match code {
            Some(c) => Ok(json(StatusCode::OK, &serde_json::json!({ "code": c }))),
            None => Err(fail(
                StatusCode::NOT_FOUND,
                "no_sms",
                "没有短信",
                "No code was sent",
            )),
        }
    })
    .await
}

async fn admin_stats(AxState(s): AxState<Shared>, hm: HeaderMap) -> Res<Response> {
    admin(&s, &hm)?;
    let requests = s
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    with_db(&s, move |conn| {
        let count = |sql: &str| -> rusqlite::Result<i64> { conn.query_row(sql, [], |r| r.get(0)) };
        let mut by_status = BTreeMap::new();
        for st in ["done", "accepted", "processing", "approved", "rejected"] {
            by_status.insert(st, conn.query_row("SELECT COUNT(*) FROM applications WHERE status = ?1", params![st], |r| r.get::<_, i64>(0))?);
        }
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({
                "requests": requests,
                "applications": count("SELECT COUNT(*) FROM applications")?,
                "by_status": by_status,
                "payments_paid": count("SELECT COUNT(*) FROM payments WHERE status = 'paid'")?,
                "ledger_entries": count("SELECT COUNT(*) FROM ledger")?,
                "ledger_total_fen": count("SELECT COALESCE(SUM(amount_fen), 0) FROM ledger")?,
                "paid_total_fen": count("SELECT COALESCE(SUM(amount_fen), 0) FROM payments WHERE status = 'paid'")?,
            }),
        ))
    })
    .await
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tax hall back office",
        version = "1.0.0",
        description = "The back-office API the self-service kiosks call. Every /v1 call except document verification carries the provenance headers and an HMAC signature; state-changing calls carry an Idempotency-Key."
    ),
    paths(
        send_sms,
        verify_identity,
        records,
        submit,
        application,
        pay,
        payment,
        verify_document,
        bank_confirm
    ),
    components(schemas(api::ApiError, api::FieldProblem, api::Faults))
)]
pub struct ApiDoc;
