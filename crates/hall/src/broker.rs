//! The embedded broker (rumqttd 0.20), so that one binary serves a hall.
//!
//! Every client authenticates: a kiosk with its id as username and client id and the
//! password derived from its key ([`telemetry::mqtt_password`]); the console itself with
//! a random password made at start-up. rumqttd has no topic ACLs, so the console also
//! ignores messages for kiosks it has no key for; a hall that needs kiosks pinned to
//! their own topics runs Mosquitto with the ACL in the README (`--broker`).
//!
//! Known limits, from STACK.md: rumqttd never sets TCP_NODELAY (commands to kiosks take
//! 40-90 ms, far inside the dashboard's one second), and it keeps retained messages in
//! memory only, so the console republishes the current bundle at start-up and kiosks
//! republish their retained states on every reconnect.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::HallError;

/// The console's own username on the embedded broker.
pub const CONSOLE_USER: &str = "tax-hall";

/// Largest message the broker takes: a configuration bundle as base64 JSON.
pub const MAX_PAYLOAD: usize = 8 * 1024 * 1024;

/// Decides who may connect. Kept apart from rumqttd so that it can be tested.
pub fn allowed(
    keys: &HashMap<String, String>,
    console_password: &str,
    client_id: &str,
    user: &str,
    pass: &str,
) -> bool {
    if user == CONSOLE_USER {
        return client_id.starts_with(CONSOLE_USER)
            && telemetry::auth::same_secret(pass, console_password);
    }
    // A kiosk connects as itself only: the client id must be its own, or one kiosk could
    // take over another's session (and its last will).
    match keys.get(user) {
        Some(expected) => client_id == user && telemetry::auth::same_secret(pass, expected),
        None => false,
    }
}

/// Starts rumqttd on its own threads and waits until it accepts connections. Port 0
/// picks a free port.
pub fn start_embedded(
    listen: SocketAddr,
    kiosk_keys: &HashMap<String, Vec<u8>>,
    console_password: &str,
) -> Result<SocketAddr, HallError> {
    let listen = if listen.port() == 0 {
        // rumqttd binds the address itself and does not report the port it got.
        let l = TcpListener::bind(listen).map_err(|e| HallError::Io {
            path: listen.to_string(),
            source: e,
        })?;
        l.local_addr().map_err(|e| HallError::Io {
            path: listen.to_string(),
            source: e,
        })?
    } else {
        listen
    };
    let passwords: Arc<HashMap<String, String>> = Arc::new(
        kiosk_keys
            .iter()
            .map(|(id, key)| (id.clone(), telemetry::mqtt_password(key)))
            .collect(),
    );
    let console_password = console_password.to_string();
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: MAX_PAYLOAD,
        max_inflight_count: 200,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    connections.set_auth_handler(move |client_id: String, user: String, pass: String| {
        let ok = allowed(&passwords, &console_password, &client_id, &user, &pass);
        if !ok {
            tracing::warn!("MQTT: refused client {client_id:?} (user {user:?})");
        }
        async move { ok }
    });
    let server = ServerSettings {
        name: "kiosks".into(),
        listen,
        tls: None,
        // A hall's kiosks reconnect together after a network blip; 1 ms between accepts
        // keeps a thousand of them from starving the router.
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 20_010,
            max_outgoing_packet_count: 200,
            // Segments hold recent messages for slow subscribers; 16 MiB x 4 bounds the
            // memory a burst can take.
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 4,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!("embedded broker stopped: {e}");
            }
        })
        .map_err(|e| HallError::Setup(format!("cannot start the broker thread: {e}")))?;
    let target = if listen.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], listen.port()))
    } else {
        listen
    };
    // Wait until rumqttd listens. Not by connecting: a probe that closes without an
    // MQTT CONNECT makes rumqttd log an error; and not by binding, which could steal
    // the port from it. The kernel's socket table answers without touching the port.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listening(listen.port()) {
        if Instant::now() > deadline {
            return Err(HallError::Setup(format!(
                "the embedded broker does not listen on {listen}"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(target)
}

/// Whether some socket listens on a TCP port (Linux `/proc/net/tcp*`). Where the table
/// cannot be read, it says yes after a short pause rather than never.
fn listening(port: u16) -> bool {
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        let needle = format!(":{port:04X} ");
        // Columns: sl local_address rem_address st …; state 0A is LISTEN.
        if text.lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && format!("{} ", cols[1]).ends_with(&needle) && cols[3] == "0A"
        }) {
            return true;
        }
    }
    if !readable {
        std::thread::sleep(Duration::from_millis(500));
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_kiosks_as_themselves_and_the_console() {
        let keys = HashMap::from([("K1".to_string(), "pw1".to_string())]);
        assert!(allowed(&keys, "cpw", "K1", "K1", "pw1"));
        assert!(
            !allowed(&keys, "cpw", "K2", "K1", "pw1"),
            "another client id"
        );
        assert!(!allowed(&keys, "cpw", "K1", "K1", "pw2"), "wrong password");
        assert!(!allowed(&keys, "cpw", "K9", "K9", "pw1"), "unknown kiosk");
        assert!(allowed(&keys, "cpw", "tax-hall-1", CONSOLE_USER, "cpw"));
        assert!(!allowed(&keys, "cpw", "tax-hall-1", CONSOLE_USER, "pw1"));
        assert!(!allowed(&keys, "cpw", "K1", CONSOLE_USER, "cpw"));
    }
}
