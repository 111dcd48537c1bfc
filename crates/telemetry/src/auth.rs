//! Broker credentials. A kiosk already holds one secret, the HMAC key it signs its
//! back-office and hall requests with (`backoffice/dev-keys.toml` format on the server
//! side). Its broker password is derived from that key, so a hall keeps one keys file
//! and never a second list of passwords that could drift from it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The label that separates this use of the key from request signing.
const LABEL: &[u8] = b"tax-hall mqtt password v1";

/// The MQTT password of a kiosk: the first 32 hex digits of HMAC-SHA256(key, label).
/// The username is the kiosk id, and so is the client id.
pub fn mqtt_password(kiosk_key: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(kiosk_key).expect("HMAC takes keys of any length");
    mac.update(LABEL);
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Compares two passwords in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_differ_per_key_and_are_stable() {
        let a = mqtt_password(b"key-one-0123456789");
        let b = mqtt_password(b"key-two-0123456789");
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(a, mqtt_password(b"key-one-0123456789"));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..31]));
    }
}
