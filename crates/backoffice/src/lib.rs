//! The kiosk's side of the back office: a signed HTTP client with provenance headers,
//! retries and a circuit breaker, and a durable SQLite outbox so that a submission or
//! payment is never lost and never applied twice.
//!
//! It must never hold face data, and never retry a call that has no idempotency key
//! unless the call is a read.

mod client;
mod error;
pub mod outbox;

pub use client::{Client, ClientConfig, Prov};
pub use error::ClientError;
pub use outbox::{Answer, DrainReport, Item, Outbox};

/// A key that stands for a taxpayer in the outbox's ordering without storing their ID
/// number in one more place.
pub fn taxpayer_key(id_number: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(id_number.as_bytes())[..12])
}
