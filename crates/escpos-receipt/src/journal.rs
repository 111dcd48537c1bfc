//! The receipt journal: every receipt the kiosk produced, kept so that it can be printed
//! again (within the session, or by staff from the hall console) and shown as an e-receipt
//! QR code when paper fails.
//!
//! Storage: SQLite (rusqlite, bundled), one row a receipt holding its [`Layout`] as JSON.
//! SQLite rather than an append-only file because the journal is updated after the fact
//! (a held job confirmed late, a reprint counted) and queried by session and by time.
//! `synchronous=NORMAL` in WAL mode: a lost last receipt copy on power loss is acceptable,
//! unlike a payment (the outbox uses FULL).
//!
//! What it holds is what the paper shows: names and ID numbers arrive masked in the print
//! job, and [`crate::layout::clean`] masks any full ID number that slipped through. The
//! session id is the only link to a visit.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::PrintError;
use crate::layout::{Element, Layout};
use crate::printer::{Confirmation, Printed, Printer};
use crate::raster;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Recorded, not sent yet.
    Pending,
    /// The printer confirmed it.
    Printed,
    /// Written to a file printer: nothing to confirm.
    Written,
    /// Sent, not confirmed: it may still come out (held job). Not to be reprinted blindly.
    Unconfirmed,
    /// Never started (printer fault, no answer): reprint or e-receipt are both safe.
    NotPrinted,
}

impl State {
    fn code(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Printed => "printed",
            State::Written => "written",
            State::Unconfirmed => "unconfirmed",
            State::NotPrinted => "not_printed",
        }
    }
    fn from_code(s: &str) -> State {
        match s {
            "printed" => State::Printed,
            "written" => State::Written,
            "unconfirmed" => State::Unconfirmed,
            "not_printed" => State::NotPrinted,
            _ => State::Pending,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub created_ms: i64,
    pub session: String,
    pub template: String,
    pub reference: Option<String>,
    pub state: State,
    /// Last outcome in words (an error message; never personal data).
    pub detail: String,
    /// Times it came out of a printer (original and reprints).
    pub prints: i64,
    pub layout: Layout,
}

pub struct Journal {
    db: Connection,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Journal {
    pub fn open(path: &Path) -> Result<Journal, Error> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        Journal::init(db)
    }

    pub fn open_in_memory() -> Result<Journal, Error> {
        Journal::init(Connection::open_in_memory()?)
    }

    fn init(db: Connection) -> Result<Journal, Error> {
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS receipt (
                id INTEGER PRIMARY KEY,
                created_ms INTEGER NOT NULL,
                session TEXT NOT NULL,
                template TEXT NOT NULL,
                reference TEXT,
                state TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT '',
                prints INTEGER NOT NULL DEFAULT 0,
                layout TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS receipt_session ON receipt(session);
            CREATE INDEX IF NOT EXISTS receipt_created ON receipt(created_ms);",
        )?;
        Ok(Journal { db })
    }

    /// Records a receipt before it is sent, so that even a kiosk that dies mid-print
    /// has it.
    pub fn record(&self, session: &str, layout: &Layout) -> Result<i64, Error> {
        let json = serde_json::to_string(layout).map_err(|e| Error::Journal(e.to_string()))?;
        self.db.execute(
            "INSERT INTO receipt (created_ms, session, template, reference, state, layout)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                now_ms(),
                session,
                layout.template,
                layout.reference,
                State::Pending.code(),
                json
            ],
        )?;
        Ok(self.db.last_insert_rowid())
    }

    pub fn mark(&self, id: i64, state: State, detail: &str) -> Result<(), Error> {
        let printed = i64::from(matches!(state, State::Printed | State::Written));
        self.db.execute(
            "UPDATE receipt SET state = ?2, detail = ?3, prints = prints + ?4 WHERE id = ?1",
            params![id, state.code(), detail, printed],
        )?;
        Ok(())
    }

    /// Records the outcome of a print attempt.
    pub fn mark_outcome(&self, id: i64, r: &Result<Printed, PrintError>) -> Result<(), Error> {
        match r {
            Ok(p) => {
                let state = match p.confirmation {
                    Confirmation::Confirmed { .. } => State::Printed,
                    Confirmation::NotAvailable => State::Written,
                };
                let detail = match (&p.fallback, p.paper_near_end) {
                    (Some(f), _) => format!("raster fallback: {f}"),
                    (None, true) => "paper near end".to_string(),
                    (None, false) => String::new(),
                };
                self.mark(id, state, &detail)
            }
            Err(e) if e.job_may_have_printed() => self.mark(id, State::Unconfirmed, &e.to_string()),
            Err(e) => self.mark(id, State::NotPrinted, &e.to_string()),
        }
    }

    fn query(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Entry>, Error> {
        let mut st = self.db.prepare(sql)?;
        let rows = st.query_map(p, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, String>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, created_ms, session, template, reference, state, detail, prints, json) = r?;
            let layout = serde_json::from_str(&json).map_err(|x| Error::Journal(x.to_string()))?;
            out.push(Entry {
                id,
                created_ms,
                session,
                template,
                reference,
                state: State::from_code(&state),
                detail,
                prints,
                layout,
            });
        }
        Ok(out)
    }

    const COLS: &'static str =
        "id, created_ms, session, template, reference, state, detail, prints, layout";

    pub fn get(&self, id: i64) -> Result<Option<Entry>, Error> {
        let sql = format!("SELECT {} FROM receipt WHERE id = ?1", Self::COLS);
        Ok(self.query(&sql, params![id])?.into_iter().next())
    }

    /// The receipts of one session, oldest first (the kiosk's "print again" button).
    pub fn session(&self, session: &str) -> Result<Vec<Entry>, Error> {
        let sql = format!(
            "SELECT {} FROM receipt WHERE session = ?1 ORDER BY id",
            Self::COLS
        );
        self.query(&sql, params![session])
    }

    /// The latest receipts, newest first (the hall console's list).
    pub fn recent(&self, limit: usize) -> Result<Vec<Entry>, Error> {
        let sql = format!(
            "SELECT {} FROM receipt ORDER BY id DESC LIMIT ?1",
            Self::COLS
        );
        self.query(&sql, params![limit as i64])
    }

    /// Finds a receipt by its printed number (tracking, document or ticket), newest first.
    pub fn find_reference(&self, reference: &str) -> Result<Option<Entry>, Error> {
        let sql = format!(
            "SELECT {} FROM receipt WHERE reference = ?1 ORDER BY id DESC LIMIT 1",
            Self::COLS
        );
        Ok(self.query(&sql, params![reference])?.into_iter().next())
    }

    /// Deletes receipts older than `age`; returns how many. Copies are not kept forever.
    pub fn purge_older_than(&self, age: Duration) -> Result<usize, Error> {
        let cutoff = now_ms() - age.as_millis() as i64;
        Ok(self
            .db
            .execute("DELETE FROM receipt WHERE created_ms < ?1", params![cutoff])?)
    }

    /// Records a receipt, prints it and records the outcome.
    pub fn print(
        &self,
        printer: &mut Printer,
        session: &str,
        layout: &Layout,
    ) -> Result<(i64, Result<Printed, PrintError>), Error> {
        let id = self.record(session, layout)?;
        let r = printer.print(layout);
        self.mark_outcome(id, &r)?;
        Ok((id, r))
    }

    /// Prints a journal entry again, marked as a reprint. Refused while the original is
    /// unconfirmed unless `confirmed_by_staff`: that job may still come out of the printer.
    pub fn reprint(
        &self,
        printer: &mut Printer,
        id: i64,
        confirmed_by_staff: bool,
    ) -> Result<Result<Printed, PrintError>, Error> {
        let e = self
            .get(id)?
            .ok_or_else(|| Error::Journal(format!("no receipt {id} in the journal")))?;
        if e.state == State::Unconfirmed && !confirmed_by_staff {
            return Err(Error::Journal(format!(
                "receipt {id} was sent but not confirmed and may still print when the printer fault is cleared; a member of staff must check the printer before reprinting"
            )));
        }
        let r = printer.print(&e.layout.as_reprint());
        match &r {
            Ok(_) => {
                self.db.execute(
                    "UPDATE receipt SET prints = prints + 1, state = 'printed', detail = 'reprinted' WHERE id = ?1",
                    params![id],
                )?;
            }
            Err(err) => {
                self.db.execute(
                    "UPDATE receipt SET detail = ?2 WHERE id = ?1",
                    params![id, format!("reprint failed: {err}")],
                )?;
            }
        }
        Ok(r)
    }
}

/// What the screen shows when paper fails: a QR code the taxpayer scans with a phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EReceipt {
    pub payload: String,
    /// The QR code as a PNG, 8 pixels a module.
    pub qr_png: Vec<u8>,
}

/// Longest text payload: a phone reads a QR code of this size off a kiosk screen at once.
pub const E_RECEIPT_MAX: usize = 900;

/// The e-receipt of a layout: the document's verification URL when there is one (the
/// authoritative copy online), otherwise the receipt's text (title, rows, time, number),
/// which a phone shows and keeps.
pub fn e_receipt(layout: &Layout) -> Result<EReceipt, Error> {
    let payload = match &layout.verify_url {
        Some(u) => u.clone(),
        None => e_receipt_text(layout),
    };
    let qr_png = raster::qr_png(&payload, 8)?;
    Ok(EReceipt { payload, qr_png })
}

fn e_receipt_text(layout: &Layout) -> String {
    let mut head = vec![layout.title.clone()];
    let mut rows = Vec::new();
    for e in &layout.elements {
        match e {
            Element::Center(s) => head.push(s.clone()),
            Element::Number(n) => head.push(n.clone()),
            Element::Row { label, value, .. } if !value.is_empty() => {
                rows.push(format!("{label}: {value}"))
            }
            Element::Item { n, text } => rows.push(format!("{n}. {text}")),
            _ => {}
        }
    }
    // Rows are dropped from the end (form lines first) until the text fits.
    loop {
        let text = [head.join("\n"), rows.join("\n")].join("\n");
        if text.len() <= E_RECEIPT_MAX || rows.is_empty() {
            let mut t = text;
            while t.len() > E_RECEIPT_MAX {
                t.pop();
            }
            return t;
        }
        rows.pop();
    }
}
