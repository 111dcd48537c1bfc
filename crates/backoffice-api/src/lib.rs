//! The back-office API (`/v1`), as types both ends share: the kiosk client serialises
//! them and the reference server reads them, so the two cannot drift apart. It also owns
//! the provenance headers and the HMAC request signature.
//!
//! It must never do I/O or hold state; it is data and pure functions.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Headers every call carries, in the spirit of HMRC's fraud-prevention headers: who
/// sent it (kiosk, software, configuration), for which visit, how the taxpayer was
/// verified, and when.
pub mod headers {
    pub const KIOSK_ID: &str = "x-kiosk-id";
    pub const SOFTWARE_VERSION: &str = "x-kiosk-software-version";
    pub const CONFIG_VERSION: &str = "x-kiosk-config-version";
    pub const SESSION_ID: &str = "x-kiosk-session-id";
    pub const VERIFICATION: &str = "x-kiosk-verification-method";
    /// Milliseconds since the Unix epoch.
    pub const TIMESTAMP: &str = "x-kiosk-timestamp";
    /// `hex(HMAC-SHA256(kiosk key, canonical request))`, see [`super::canonical`].
    pub const SIGNATURE: &str = "x-kiosk-signature";
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
    pub const AUTHORIZATION: &str = "authorization";

    /// The headers a request must carry for its provenance to be complete.
    pub const PROVENANCE: [&str; 7] = [
        KIOSK_ID,
        SOFTWARE_VERSION,
        CONFIG_VERSION,
        SESSION_ID,
        VERIFICATION,
        TIMESTAMP,
        SIGNATURE,
    ];
}

/// How far a request's timestamp may be from the server's clock.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// The string a kiosk signs: method, path with query, the provenance values, the
/// idempotency key and the body's hash, one per line. Signing the provenance stops a
/// relay from changing who a request claims to come from.
#[allow(clippy::too_many_arguments)]
pub fn canonical(
    method: &str,
    path_and_query: &str,
    kiosk: &str,
    software: &str,
    config: &str,
    session: &str,
    verification: &str,
    timestamp: &str,
    idempotency_key: &str,
    body: &[u8],
) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    [
        method,
        path_and_query,
        kiosk,
        software,
        config,
        session,
        verification,
        timestamp,
        idempotency_key,
        &body_hash,
    ]
    .join("\n")
}

pub fn sign(key: &[u8], canonical: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(canonical.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a signature.
pub fn verify(key: &[u8], canonical: &str, signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(canonical.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// Every error the API returns: a machine code, a sentence in Chinese and in English
/// that a kiosk can show, and per-field problems where the request had fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message_zh: String,
    pub message_en: String,
}

impl ApiError {
    pub fn new(code: &str, zh: impl Into<String>, en: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message_zh: zh.into(),
            message_en: en.into(),
            fields: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    Face,
    Sms,
    Staff,
    Card,
}

impl VerificationMethod {
    pub fn code(self) -> &'static str {
        match self {
            VerificationMethod::Face => "face",
            VerificationMethod::Sms => "sms",
            VerificationMethod::Staff => "staff",
            VerificationMethod::Card => "card",
        }
    }
    pub fn from_code(s: &str) -> Option<VerificationMethod> {
        Some(match s {
            "face" => VerificationMethod::Face,
            "sms" => VerificationMethod::Sms,
            "staff" => VerificationMethod::Staff,
            "card" => VerificationMethod::Card,
            "none" => return None,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SmsRequest {
    pub id_number: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SmsSent {
    /// The phone on record, masked (`138****8000`).
    pub phone_masked: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifyRequest {
    pub id_number: String,
    pub name: String,
    pub method: VerificationMethod,
    /// The face match score in thousandths (cosine similarity × 1000), for `face`.
    #[serde(default)]
    pub face_score_milli: Option<u32>,
    /// The code the taxpayer typed, for `sms`.
    #[serde(default)]
    pub sms_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Verified {
    /// A bearer token scoped to this taxpayer and this kiosk.
    pub token: String,
    pub expires_in_secs: u32,
    pub profile: Profile,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxpayerKind {
    Individual,
    Business,
}

/// A taxpayer as the kiosk may show them: identifiers masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub name_masked: String,
    pub id_masked: String,
    pub kind: TaxpayerKind,
    /// The businesses (companies, sole traders) this person acts for, masked.
    pub entities: Vec<Entity>,
    /// A, B, M, C or D (纳税信用等级).
    pub credit_rating: String,
    pub phone_masked: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Entity {
    pub name: String,
    pub credit_code_masked: String,
    pub small_scale: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Liability {
    pub id: String,
    pub tax_type: String,
    pub period: String,
    pub amount_fen: i64,
    pub paid_fen: i64,
    pub due_date: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Filing {
    pub business: String,
    pub period: String,
    pub tracking: String,
    pub status: ApplicationStatus,
    pub filed_at: String,
    pub tax_fen: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    pub number: String,
    pub issued: String,
    pub buyer: String,
    pub amount_fen: i64,
    pub tax_fen: i64,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SocialInsuranceRecord {
    pub scheme: String,
    pub period: String,
    pub base_fen: i64,
    pub paid_fen: i64,
}

/// All of a taxpayer's records in one answer (the kiosk shows them after identification).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Records {
    pub profile: Profile,
    /// Business codes that apply to this taxpayer.
    pub businesses: Vec<String>,
    pub liabilities: Vec<Liability>,
    pub filings: Vec<Filing>,
    pub invoices: Vec<Invoice>,
    pub social_insurance: Vec<SocialInsuranceRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    /// Business code, e.g. `C02`.
    pub business: String,
    /// Field id to canonical text (what `kiosk_core::form::parse_value` accepts).
    pub values: BTreeMap<String, String>,
    /// Computed fields as the kiosk computed them, in fen; the server recomputes and
    /// refuses the application when they disagree.
    pub computed: BTreeMap<String, i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Completed at once (self-service).
    Done,
    Accepted,
    Processing,
    Approved,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Application {
    pub tracking: String,
    pub business: String,
    pub status: ApplicationStatus,
    /// Amount due for this application, in fen (0 when nothing is to be paid).
    pub due_fen: i64,
    pub document: Option<DocumentRef>,
    /// Why it was rejected, for `rejected`.
    pub reason_zh: Option<String>,
    pub reason_en: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentRef {
    pub number: String,
    pub verify_code: String,
    pub kind: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// 三方协议扣款
    TripartiteDebit,
    /// A QR code the taxpayer pays in their bank's app; the bank confirms.
    Qr,
    /// Bank card on the kiosk's POS device; the kiosk sends the POS authorisation.
    BankCard,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentRequest {
    /// An application's tracking number, or a liability id.
    pub target: String,
    pub amount_fen: i64,
    pub method: PaymentMethod,
    /// For `bank_card`: the authorisation code from the POS device.
    #[serde(default)]
    pub pos_auth: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Declined,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    pub id: String,
    pub target: String,
    pub amount_fen: i64,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    /// For `qr`: what the QR code encodes.
    pub qr_payload: Option<String>,
    /// The electronic payment voucher number once paid.
    pub voucher: Option<String>,
    pub reason_zh: Option<String>,
    pub reason_en: Option<String>,
}

/// What the public verification endpoint answers for a document number and code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DocumentCheck {
    pub valid: bool,
    pub number: String,
    pub kind: Option<String>,
    pub issued_at: Option<String>,
    pub taxpayer_masked: Option<String>,
    pub amount_fen: Option<i64>,
}

/// Runtime fault switches of the reference server (for tests and drills).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Faults {
    /// Added to every `/v1` call.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of `/v1` calls answered 503 before doing anything, 0.0 to 1.0.
    #[serde(default)]
    pub error_rate: f64,
    /// Commit state-changing calls, then drop the connection without a reply.
    #[serde(default)]
    pub drop_after_commit: bool,
    /// Commit state-changing calls, then wait this long before replying (a window in
    /// which a test can kill the kiosk after the commit and before the reply).
    #[serde(default)]
    pub reply_delay_ms: u64,
    /// Refuse everything with 503, as if the back office were down.
    #[serde(default)]
    pub down: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_part() {
        let key = b"kiosk-key";
        let c = canonical(
            "POST",
            "/v1/applications",
            "K1",
            "0.1.0",
            "abc",
            "S1",
            "face",
            "1700000000000",
            "idem",
            b"{}",
        );
        let sig = sign(key, &c);
        assert!(verify(key, &c, &sig));
        assert!(!verify(b"other-key", &c, &sig));
        let changed = canonical(
            "POST",
            "/v1/applications",
            "K2",
            "0.1.0",
            "abc",
            "S1",
            "face",
            "1700000000000",
            "idem",
            b"{}",
        );
        assert!(
            !verify(key, &changed, &sig),
            "a changed kiosk id must break the signature"
        );
        let body = canonical(
            "POST",
            "/v1/applications",
            "K1",
            "0.1.0",
            "abc",
            "S1",
            "face",
            "1700000000000",
            "idem",
            b"{ }",
        );
        assert!(
            !verify(key, &body, &sig),
            "a changed body must break the signature"
        );
        assert!(!verify(key, &c, "zz"));
    }
}
