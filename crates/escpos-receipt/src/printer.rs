//! A printer: encode a receipt whole, read the status before, send, confirm after.
//!
//! The order matters and is the point of this module:
//! 1. encode the whole receipt first (text mode, or raster when text cannot print every
//!    character), so an encoding problem never leaves half a receipt on paper;
//! 2. DLE EOT 1 to 4 with a timeout: no reply is an error, a stopping fault means the job
//!    is not started, paper near end is printed and reported;
//! 3. send the job followed by GS r 1 (or GS ( H), and wait for the reply within a
//!    timeout sized to the job (transfer plus paper length at the profile's speed);
//! 4. on a timeout read the status to learn why, and report the job as unconfirmed. A held
//!    job prints when the fault is cleared, so it is never sent again from here.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, PrintError};
use crate::layout::{Block, Layout};
use crate::profile::{CELL_H, Completion, LINE_PITCH, PrinterProfile};
use crate::qr;
use crate::raster::{self, CjkFont};
use crate::status::{PrinterStatus, is_status_byte};
use crate::text::{self, BARCODE_HEIGHT};
use crate::transport::{Endpoint, Transport};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    Text,
    Raster,
}

/// A receipt ready to send.
#[derive(Clone, Debug)]
pub struct EncodedJob {
    pub bytes: Vec<u8>,
    pub mode: Mode,
    /// Why a text-mode printer gets this receipt as an image (the character it lacks).
    pub fallback: Option<String>,
    /// Paper the receipt takes, in dots, to size the completion timeout.
    pub height_dots: usize,
}

/// Paper length of a layout in dots, as the printer advances it.
pub fn paper_height(layout: &Layout, p: &PrinterProfile) -> Result<usize, Error> {
    let mut h = 0usize;
    for b in layout.blocks(p)? {
        h += match b {
            Block::Text { h, .. } => {
                usize::from(LINE_PITCH).max(usize::from(CELL_H) * usize::from(h))
            }
            Block::Blank(n) => usize::from(LINE_PITCH) * usize::from(n),
            Block::Rule => usize::from(LINE_PITCH),
            Block::Qr { payload, module } => {
                (qr::modules(qr::version_for(payload.len()).unwrap_or(40)) + 4)
                    * usize::from(module)
            }
            Block::Barcode { .. } => usize::from(BARCODE_HEIGHT) + 40,
        };
    }
    Ok(h)
}

/// Encodes a receipt for a printer: text mode when the profile has it and every character
/// can be printed from the printer's font, otherwise a raster image. `font` is needed for
/// raster mode; without it a receipt text mode cannot carry is an error.
pub fn encode(
    layout: &Layout,
    p: &PrinterProfile,
    font: Option<&CjkFont>,
) -> Result<EncodedJob, Error> {
    let height_dots = paper_height(layout, p)?;
    let mut fallback = None;
    if p.text_mode() {
        match text::encode_text(layout, p) {
            Ok(bytes) => {
                return Ok(EncodedJob {
                    bytes,
                    mode: Mode::Text,
                    fallback: None,
                    height_dots,
                });
            }
            Err(e @ Error::Unencodable { .. }) => fallback = Some(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    let Some(font) = font else {
        return Err(Error::Font {
            path: "(none loaded)".into(),
            reason: fallback.unwrap_or_else(|| "raster mode needs the CJK font".into()),
        });
    };
    Ok(EncodedJob {
        bytes: raster::encode_raster(layout, p, font)?,
        mode: Mode::Raster,
        fallback,
        height_dots,
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Confirmation {
    /// The printer answered the completion request: everything before it was processed.
    Confirmed { after_us: u64 },
    /// A write-only transport (file): nothing can be confirmed.
    NotAvailable,
}

/// A job that went through.
#[derive(Clone, Debug)]
pub struct Printed {
    pub mode: Mode,
    pub fallback: Option<String>,
    pub bytes: usize,
    pub status_before: Option<PrinterStatus>,
    pub confirmation: Confirmation,
    /// Staff should be told (telemetry `StaffAlert::PaperLow`).
    pub paper_near_end: bool,
    pub elapsed: Duration,
    pub job_id: u32,
}

type Opener = Box<dyn FnMut() -> io::Result<Box<dyn Transport>> + Send>;

/// Replies read from the printer, sorted by kind.
#[derive(Default)]
struct Replies {
    raw: Vec<u8>,
    status: VecDeque<u8>,
    gs_r: VecDeque<u8>,
    gs_h: VecDeque<u32>,
}

impl Replies {
    fn take_in(&mut self, data: &[u8]) {
        self.raw.extend_from_slice(data);
        loop {
            let Some(&b) = self.raw.first() else { return };
            if b == 0x37 {
                // GS ( H reply: 37 22 d1 d2 d3 d4 00. Its digits could pass for status
                // bytes, so it is taken whole.
                if self.raw.len() < 7 {
                    return;
                }
                let frame: Vec<u8> = self.raw.drain(..7).collect();
                if frame[1] == 0x22 && frame[2..6].iter().all(u8::is_ascii_digit) {
                    let id = frame[2..6]
                        .iter()
                        .fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
                    self.gs_h.push_back(id);
                }
                continue;
            }
            self.raw.remove(0);
            if is_status_byte(b) {
                self.status.push_back(b);
            } else {
                // GS r 1 replies have bit 4 clear.
                self.gs_r.push_back(b);
            }
        }
    }
}

pub struct Printer {
    endpoint: String,
    opener: Option<Opener>,
    conn: Option<Box<dyn Transport>>,
    profile: PrinterProfile,
    font: Option<Arc<CjkFont>>,
    status_timeout: Duration,
    replies: Replies,
    job_id: u32,
    /// Jobs sent on this connection whose completion reply has not come yet (timed out),
    /// oldest first: their replies arrive, in order, if a held job prints later.
    owed: VecDeque<u32>,
    late: Vec<u32>,
}

impl Printer {
    /// A printer at an endpoint; the connection opens on first use and again after a
    /// failure.
    pub fn new(endpoint: Endpoint, profile: PrinterProfile, font: Option<Arc<CjkFont>>) -> Printer {
        let name = endpoint.to_string();
        let opener: Opener = Box::new(move || endpoint.open(Duration::from_secs(3)));
        Printer {
            endpoint: name,
            opener: Some(opener),
            conn: None,
            profile,
            font,
            status_timeout: Duration::from_secs(3),
            replies: Replies::default(),
            job_id: 0,
            owed: VecDeque::new(),
            late: Vec::new(),
        }
    }

    /// A printer on a transport the caller opened (tests, adapters). It is not reopened.
    pub fn with_transport(
        t: Box<dyn Transport>,
        profile: PrinterProfile,
        font: Option<Arc<CjkFont>>,
    ) -> Printer {
        Printer {
            endpoint: t.describe(),
            opener: None,
            conn: Some(t),
            profile,
            font,
            status_timeout: Duration::from_secs(3),
            replies: Replies::default(),
            job_id: 0,
            owed: VecDeque::new(),
            late: Vec::new(),
        }
    }

    /// `[timeouts] printer_status` of kiosk.toml.
    pub fn set_status_timeout(&mut self, d: Duration) {
        self.status_timeout = d;
    }

    pub fn profile(&self) -> &PrinterProfile {
        &self.profile
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Jobs that timed out earlier and have since been confirmed (a held job printed when
    /// its fault was cleared). The journal marks them printed; nobody reprints them.
    pub fn take_late_completions(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.late)
    }

    fn unreachable(&self, e: &io::Error) -> PrintError {
        PrintError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: e.to_string(),
        }
    }

    fn ensure_open(&mut self) -> Result<bool, PrintError> {
        if self.conn.is_some() {
            return Ok(false);
        }
        let Some(open) = self.opener.as_mut() else {
            return Err(PrintError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: "the connection failed and cannot be reopened".into(),
            });
        };
        match open() {
            Ok(t) => {
                self.conn = Some(t);
                // A new connection: replies owed on the old one are gone.
                self.owed.clear();
                self.replies = Replies::default();
                Ok(true)
            }
            Err(e) => Err(self.unreachable(&e)),
        }
    }

    fn drop_conn(&mut self) {
        self.conn = None;
    }

    /// Reads what the printer sent, until `deadline` or until `done` says enough.
    fn pump(&mut self, deadline: Instant, done: impl Fn(&Replies) -> bool) -> io::Result<()> {
        let mut buf = [0u8; 256];
        loop {
            self.settle_late();
            if done(&self.replies) {
                return Ok(());
            }
            let Some(conn) = self.conn.as_mut() else {
                return Err(io::ErrorKind::NotConnected.into());
            };
            let n = conn.read(&mut buf, deadline)?;
            if n > 0 {
                self.replies.take_in(&buf[..n]);
            } else if Instant::now() >= deadline {
                self.settle_late();
                return Ok(());
            }
        }
    }

    /// Matches completion replies to jobs that timed out before.
    fn settle_late(&mut self) {
        match self.profile.completion {
            Completion::GsR => {
                while !self.owed.is_empty() && !self.replies.gs_r.is_empty() {
                    self.replies.gs_r.pop_front();
                    if let Some(id) = self.owed.pop_front() {
                        self.late.push(id);
                    }
                }
            }
            Completion::GsParenH => {
                let mut keep = VecDeque::new();
                while let Some(id) = self.replies.gs_h.pop_front() {
                    if let Some(pos) = self.owed.iter().position(|x| *x == id) {
                        self.owed.remove(pos);
                        self.late.push(id);
                    } else {
                        keep.push_back(id);
                    }
                }
                self.replies.gs_h = keep;
            }
        }
    }

    fn read_status_once(&mut self) -> Result<PrinterStatus, PrintError> {
        // Whatever is waiting is from before this request (late completions, noise).
        self.pump(Instant::now(), |_| false)
            .map_err(|e| self.unreachable(&e))?;
        self.replies.status.clear();
        let mut raw = [0u8; 4];
        let start = Instant::now();
        let deadline = start + self.status_timeout;
        for (i, n) in (1u8..=4).enumerate() {
            // DLE EOT n, sent raw: the escpos crate's request adds a stray byte.
            let conn = self.conn.as_mut().ok_or_else(|| PrintError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: "not connected".into(),
            })?;
            conn.write_all(&[0x10, 0x04, n], deadline)
                .map_err(|e| self.unreachable(&e))?;
            self.pump(deadline, |r| !r.status.is_empty())
                .map_err(|e| self.unreachable(&e))?;
            match self.replies.status.pop_front() {
                Some(b) => raw[i] = b,
                None => {
                    return Err(PrintError::NoStatusReply {
                        endpoint: self.endpoint.clone(),
                        n,
                        waited: start.elapsed(),
                    });
                }
            }
        }
        PrinterStatus::from_replies(raw).ok_or_else(|| PrintError::NoStatusReply {
            endpoint: self.endpoint.clone(),
            n: 1,
            waited: start.elapsed(),
        })
    }

    /// The printer's status, read with DLE EOT 1 to 4. No reply in time is an error.
    pub fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        for attempt in 0..2 {
            let fresh = self.ensure_open()?;
            if !self.conn.as_ref().is_some_and(|c| c.can_read()) {
                return Err(PrintError::StatusUnsupported(self.endpoint.clone()));
            }
            match self.read_status_once() {
                Ok(s) => return Ok(s),
                // A kept-alive connection the printer dropped (power cycle): reconnect once.
                // Nothing of a job has been sent, so trying again is safe.
                Err(PrintError::Unreachable { .. })
                    if attempt == 0 && !fresh && self.opener.is_some() =>
                {
                    self.drop_conn();
                }
                Err(e) => {
                    // No answer: start from a fresh connection next time.
                    self.drop_conn();
                    return Err(e);
                }
            }
        }
        Err(PrintError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason: "reconnect failed".into(),
        })
    }

    /// How long to wait for the completion reply: transfer at the link's rate plus the
    /// paper at the profile's speed, doubled, plus three seconds for the cut and slack.
    pub fn completion_timeout(&self, job: &EncodedJob, link_rate: u64) -> Duration {
        let transfer = job.bytes.len() as f64 / link_rate.max(1) as f64;
        let mm = job.height_dots as f64 / self.profile.dots_per_mm();
        let paper = mm / f64::from(self.profile.speed_mm_s.max(1));
        Duration::from_secs_f64(3.0 + 2.0 * (transfer + paper))
    }

    /// Encodes and prints a receipt.
    pub fn print(&mut self, layout: &Layout) -> Result<Printed, PrintError> {
        let job = encode(layout, &self.profile, self.font.as_deref())?;
        self.print_encoded(&job)
    }

    /// Prints an encoded job (see the module documentation for the steps).
    pub fn print_encoded(&mut self, job: &EncodedJob) -> Result<Printed, PrintError> {
        let t0 = Instant::now();
        self.ensure_open()?;
        if !self.conn.as_ref().is_some_and(|c| c.can_read()) {
            let conn = self.conn.as_mut().ok_or_else(|| PrintError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: "not connected".into(),
            })?;
            if let Err(e) = conn.write_all(&job.bytes, Instant::now() + Duration::from_secs(10)) {
                let err = self.unreachable(&e);
                self.drop_conn();
                return Err(err);
            }
            self.job_id += 1;
            return Ok(Printed {
                mode: job.mode,
                fallback: job.fallback.clone(),
                bytes: job.bytes.len(),
                status_before: None,
                confirmation: Confirmation::NotAvailable,
                paper_near_end: false,
                elapsed: t0.elapsed(),
                job_id: self.job_id,
            });
        }
        let before = self.status()?;
        if !before.can_print() {
            return Err(PrintError::NotReady(before));
        }
        self.job_id = self.job_id % 9999 + 1;
        let id = self.job_id;
        let mut data = job.bytes.clone();
        match self.profile.completion {
            Completion::GsR => data.extend_from_slice(&[0x1d, b'r', 1]),
            Completion::GsParenH => {
                let d = format!("{id:04}");
                data.extend_from_slice(&[0x1d, b'(', b'H', 6, 0, 48, 48]);
                data.extend_from_slice(d.as_bytes());
            }
        }
        self.replies.gs_r.clear();
        let link_rate = self.conn.as_ref().map_or(1, |c| c.link_rate());
        let timeout = self.completion_timeout(job, link_rate);
        let deadline = Instant::now() + timeout;
        // Sent in pieces, so that a failure tells how much reached the printer.
        let send_start = Instant::now();
        let mut sent = 0usize;
        for chunk in data.chunks(4096) {
            let conn = self.conn.as_mut().ok_or_else(|| PrintError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: "not connected".into(),
            })?;
            if let Err(e) = conn.write_all(chunk, deadline) {
                self.drop_conn();
                if sent == 0 {
                    return Err(PrintError::Unreachable {
                        endpoint: self.endpoint.clone(),
                        reason: e.to_string(),
                    });
                }
                return Err(PrintError::Unconfirmed {
                    endpoint: self.endpoint.clone(),
                    sent,
                    total: data.len(),
                    waited: t0.elapsed(),
                    status: None,
                });
            }
            sent += chunk.len();
        }
        let completion = self.profile.completion;
        let got = self.pump(deadline, |r| match completion {
            Completion::GsR => !r.gs_r.is_empty(),
            Completion::GsParenH => r.gs_h.contains(&id),
        });
        let reply = match (&got, completion) {
            (Ok(()), Completion::GsR) => self.replies.gs_r.pop_front().map(Some),
            (Ok(()), Completion::GsParenH) => {
                let pos = self.replies.gs_h.iter().position(|x| *x == id);
                pos.map(|p| {
                    self.replies.gs_h.remove(p);
                    None
                })
            }
            (Err(_), _) => None,
        };
        match reply {
            Some(paper) => Ok(Printed {
                mode: job.mode,
                fallback: job.fallback.clone(),
                bytes: data.len(),
                status_before: Some(before),
                confirmation: Confirmation::Confirmed {
                    after_us: send_start.elapsed().as_micros() as u64,
                },
                // GS r 1 bits 0-1: near end, as the job finished.
                paper_near_end: before.paper_near_end || paper.is_some_and(|b| b & 0x03 != 0),
                elapsed: t0.elapsed(),
                job_id: id,
            }),
            None => {
                if got.is_err() {
                    self.drop_conn();
                } else {
                    self.owed.push_back(id);
                }
                // Learn why; the job stays where it is (held jobs print when cleared).
                let status = if self.conn.is_some() {
                    self.status().ok()
                } else {
                    None
                };
                Err(PrintError::Unconfirmed {
                    endpoint: self.endpoint.clone(),
                    sent,
                    total: data.len(),
                    waited: t0.elapsed(),
                    status,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_can_move_to_a_worker_thread() {
        // The shell runs printing off the UI thread.
        fn send<T: Send>() {}
        send::<Printer>();
        send::<crate::Journal>();
    }

    #[test]
    fn replies_are_sorted_by_kind() {
        let mut r = Replies::default();
        // Status 0x12, a GS r reply 0x03, a GS ( H reply for job 26 whose digits include
        // '2' and '6' (0x32 and 0x36 look like status bytes), then status 0x1a.
        r.take_in(&[0x12, 0x03, 0x37, 0x22, b'0', b'0']);
        r.take_in(&[b'2', b'6', 0x00, 0x1a]);
        assert_eq!(r.status, VecDeque::from([0x12, 0x1a]));
        assert_eq!(r.gs_r, VecDeque::from([0x03]));
        assert_eq!(r.gs_h, VecDeque::from([26]));
        assert!(r.raw.is_empty());
    }
}
