//! The hall's HTTP endpoint for kiosks: queue tickets. Requests are signed exactly like
//! back-office requests (`backoffice_api::canonical` with the provenance headers and the
//! kiosk's HMAC key), so a kiosk has one key and one signing scheme.

use serde::{Deserialize, Serialize};

pub use backoffice_api::headers;

/// `POST` a [`TicketRequest`] here, with provenance headers and an idempotency key.
pub const TICKET_PATH: &str = "/api/kiosk/v1/tickets";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRequest {
    /// The staffed (TK) business the ticket is for, if the taxpayer chose one.
    pub business: Option<String>,
    /// individual, business or priority (the green channel for the elderly, the disabled
    /// and pregnant women).
    pub category: String,
    /// An appointment for a later staffed slot instead of a ticket for today's queue.
    #[serde(default)]
    pub appointment: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketResponse {
    pub number: String,
    pub category: String,
    /// Tickets to be called before this one.
    pub ahead: u32,
    /// Estimated from today's service times.
    pub wait_minutes: u32,
    /// Which counters serve it, as the call board will say.
    pub window: String,
    /// For appointments: the local date and time of the slot, `YYYY-MM-DD HH:MM`.
    pub appointment: Option<String>,
}

impl From<TicketResponse> for kiosk_core::session::Ticket {
    fn from(t: TicketResponse) -> Self {
        kiosk_core::session::Ticket {
            number: t.number,
            ahead: t.ahead,
            wait_minutes: t.wait_minutes,
            window: t.window,
            appointment: t.appointment,
        }
    }
}

/// The category name of the core's ticket category.
pub fn category_name(c: kiosk_core::config::TicketCategory) -> &'static str {
    kiosk_core::config::TicketCategory::ALL
        .iter()
        .find(|(_, k)| *k == c)
        .map_or("individual", |(n, _)| n)
}

/// Provenance of a signed request (the same fields as a back-office call).
#[derive(Clone, Debug)]
pub struct Provenance<'a> {
    pub kiosk: &'a str,
    pub software: &'a str,
    pub config: &'a str,
    pub session: &'a str,
    pub verification: &'a str,
    pub timestamp_ms: i64,
    pub idempotency_key: &'a str,
}

/// The headers of a signed request: name and value pairs to add to it.
pub fn signed_headers(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    p: &Provenance<'_>,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let ts = p.timestamp_ms.to_string();
    let c = backoffice_api::canonical(
        method,
        path_and_query,
        p.kiosk,
        p.software,
        p.config,
        p.session,
        p.verification,
        &ts,
        p.idempotency_key,
        body,
    );
    vec![
        (headers::KIOSK_ID, p.kiosk.to_string()),
        (headers::SOFTWARE_VERSION, p.software.to_string()),
        (headers::CONFIG_VERSION, p.config.to_string()),
        (headers::SESSION_ID, p.session.to_string()),
        (headers::VERIFICATION, p.verification.to_string()),
        (headers::TIMESTAMP, ts),
        (headers::IDEMPOTENCY_KEY, p.idempotency_key.to_string()),
        (headers::SIGNATURE, backoffice_api::sign(key, &c)),
    ]
}
