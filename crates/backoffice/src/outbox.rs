//! The durable outbox. A state-changing request is written here, with its idempotency
//! key, before it is sent, and stays until the back office acknowledges it. A kiosk that
//! dies mid-request resends after restart; the key makes the back office apply it once.
//! Items of one taxpayer are delivered in the order they were made.
//!
//! The outbox holds form data (it must, to resend it) but never face data; its file lives
//! on the kiosk's own disk and each row is deleted a day after it is acknowledged.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backoffice_api as api;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::client::{Client, Prov};
use crate::error::ClientError;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key TEXT NOT NULL UNIQUE,
    taxpayer TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    prov TEXT NOT NULL,
    token TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, seq);
"#;

/// What an outbox item asks for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Submit(api::ApplicationRequest),
    Pay(api::PaymentRequest),
}

/// The back office's answer, once it has one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Application(api::Application),
    Payment(api::Payment),
}

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Pending {
        attempts: u32,
    },
    Done(Box<Answer>),
    /// The back office refused it for good (a 4xx): nothing to retry, staff must look.
    Failed(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: usize,
    pub failed: usize,
    pub still_pending: usize,
}

pub struct Outbox {
    conn: Mutex<Connection>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn db_err(e: impl std::fmt::Display) -> ClientError {
    ClientError::Outbox(e.to_string())
}

impl Outbox {
    pub fn open(path: &Path) -> Result<Outbox, ClientError> {
        let conn = Connection::open(path).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        // FULL: an acknowledged enqueue must survive a power cut, or "never lost" is a lie.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        let day_ago = now_ms() - 24 * 3600 * 1000;
        conn.execute(
            "DELETE FROM outbox WHERE state = 'done' AND done_ms < ?1",
            params![day_ago],
        )
        .map_err(db_err)?;
        Ok(Outbox {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, ClientError> {
        self.conn
            .lock()
            .map_err(|_| ClientError::Outbox("lock poisoned".into()))
    }

    /// Writes the request durably. The same idempotency key twice is one item.
    pub fn enqueue(
        &self,
        idem_key: &str,
        taxpayer: &str,
        prov: &Prov,
        token: &str,
        item: &Item,
    ) -> Result<i64, ClientError> {
        let conn = self.conn()?;
        let body = serde_json::to_string(item).map_err(db_err)?;
        let prov = serde_json::to_string(prov).map_err(db_err)?;
        let kind = match item {
            Item::Submit(_) => "submit",
            Item::Pay(_) => "pay",
        };
        conn.execute(
            "INSERT INTO outbox(idem_key, taxpayer, kind, body, prov, token, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(idem_key) DO NOTHING",
            params![idem_key, taxpayer, kind, body, prov, token, now_ms()],
        )
        .map_err(db_err)?;
        conn.query_row(
            "SELECT seq FROM outbox WHERE idem_key = ?1",
            params![idem_key],
            |r| r.get(0),
        )
        .map_err(db_err)
    }

    pub fn state(&self, idem_key: &str) -> Result<Option<State>, ClientError> {
        let conn = self.conn()?;
        let row: Option<(String, u32, Option<String>, Option<String>)> = conn
            .query_row(
                "SELECT state, attempts, result, error FROM outbox WHERE idem_key = ?1",
                params![idem_key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(db_err)?;
        Ok(
            row.map(|(state, attempts, result, error)| match state.as_str() {
                "done" => result
                    .and_then(|r| serde_json::from_str(&r).ok())
                    .map_or(State::Failed("unreadable result".into()), |a| {
                        State::Done(Box::new(a))
                    }),
                "failed" => State::Failed(error.unwrap_or_default()),
                _ => State::Pending { attempts },
            }),
        )
    }

    pub fn pending(&self) -> Result<usize, ClientError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as usize)
        .map_err(db_err)
    }

    /// Sends one item now. `Ok(Some(answer))` when acknowledged, `Ok(None)` when it is
    /// still pending (the back office could not be reached), `Err` when refused for good.
    pub async fn deliver(
        &self,
        client: &Client,
        idem_key: &str,
    ) -> Result<Option<Answer>, ClientError> {
        let row: Option<(String, String, String, String)> = {
            let conn = self.conn()?;
            conn.query_row(
                "SELECT body, prov, token, state FROM outbox WHERE idem_key = ?1",
                params![idem_key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(db_err)?
        };
        let Some((body, prov, token, state)) = row else {
            return Err(ClientError::Outbox(format!("no outbox item {idem_key}")));
        };
        if state == "done" {
            return match self.state(idem_key)? {
                Some(State::Done(a)) => Ok(Some(*a)),
                _ => Ok(None),
            };
        }
        if state == "failed" {
            return Err(ClientError::Outbox(format!(
                "outbox item {idem_key} was refused earlier"
            )));
        }
        let item: Item = serde_json::from_str(&body).map_err(db_err)?;
        let prov: Prov = serde_json::from_str(&prov).map_err(db_err)?;
        let result = match &item {
            Item::Submit(req) => client
                .submit(&prov, &token, idem_key, req)
                .await
                .map(Answer::Application),
            Item::Pay(req) => client
                .pay(&prov, &token, idem_key, req)
                .await
                .map(Answer::Payment),
        };
        let conn = self.conn()?;
        match result {
            Ok(answer) => {
                let json = serde_json::to_string(&answer).map_err(db_err)?;
                conn.execute(
                    "UPDATE outbox SET state = 'done', result = ?2, attempts = attempts + 1, done_ms = ?3 WHERE idem_key = ?1",
                    params![idem_key, json, now_ms()],
                )
                .map_err(db_err)?;
                Ok(Some(answer))
            }
            Err(e) if e.is_transient() => {
                conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE idem_key = ?1",
                    params![idem_key],
                )
                .map_err(db_err)?;
                Ok(None)
            }
            Err(e) => {
                let text = serde_json::to_string(&match &e {
                    ClientError::Refused(a) | ClientError::Auth(a) => a.clone(),
                    other => api::ApiError::new("client", other.to_string(), other.to_string()),
                })
                .map_err(db_err)?;
                conn.execute("UPDATE outbox SET state = 'failed', error = ?2, attempts = attempts + 1 WHERE idem_key = ?1", params![idem_key, text]).map_err(db_err)?;
                Err(e)
            }
        }
    }

    /// One pass over everything pending, oldest first. When a taxpayer's item cannot be
    /// delivered, their later items wait, so a payment never overtakes its filing.
    pub async fn drain(&self, client: &Client) -> Result<DrainReport, ClientError> {
        let items: Vec<(String, String)> = {
            let conn = self.conn()?;
            let mut st = conn
                .prepare(
                    "SELECT idem_key, taxpayer FROM outbox WHERE state = 'pending' ORDER BY seq",
                )
                .map_err(db_err)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?
        };
        let mut blocked: HashSet<String> = HashSet::new();
        let mut report = DrainReport::default();
        for (key, taxpayer) in items {
            if blocked.contains(&taxpayer) {
                report.still_pending += 1;
                continue;
            }
            match self.deliver(client, &key).await {
                Ok(Some(_)) => report.delivered += 1,
                Ok(None) => {
                    blocked.insert(taxpayer);
                    report.still_pending += 1;
                }
                Err(_) => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Drains until stopped, backing off while the back office is away.
    pub async fn run(
        self: Arc<Self>,
        client: Arc<Client>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut wait = Duration::from_millis(500);
        loop {
            let report = self.drain(&client).await;
            match report {
                Ok(r) if r.still_pending == 0 => wait = Duration::from_millis(500),
                Ok(r) if r.delivered > 0 => wait = Duration::from_millis(200),
                _ => wait = (wait * 2).min(Duration::from_secs(10)),
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
