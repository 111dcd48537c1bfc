//! Errors. Two families: [`Error`] is about the receipt itself (template, data, encoding) and
//! is always raised before a single byte goes to the printer; [`PrintError`] is about the
//! printer and says, above all, whether the job may already be on paper.

use std::time::Duration;

use crate::status::PrinterStatus;

/// A receipt that cannot be laid out or encoded. Raised before anything is sent, so the
/// printer never receives half a receipt.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error(
        "receipt template `{template}`: placeholder {{{placeholder}}} is not a field any print job carries"
    )]
    UnknownPlaceholder {
        template: String,
        placeholder: String,
    },
    #[error("receipt template `{template}`: `{text}` has an unclosed or stray brace")]
    TemplateSyntax { template: String, text: String },
    #[error(
        "receipt template `{template}` needs the field `{field}`, but the print job does not carry it"
    )]
    MissingField { template: String, field: String },
    #[error("print job names template `{0}`, which the configuration does not have")]
    UnknownTemplate(String),
    #[error(
        "the QR payload is {len} bytes; at most {max} fit {paper} (QR model 2, error correction M, at least 3 dots a module)"
    )]
    QrTooLong {
        len: usize,
        max: usize,
        paper: String,
    },
    #[error(
        "`{ch}` (U+{code:04X}) cannot be printed in this printer's text mode ({reason}); the receipt must go as a raster image"
    )]
    Unencodable {
        ch: char,
        code: u32,
        reason: &'static str,
    },
    #[error("layout made for {layout_dots} dots, printer has {profile_dots}")]
    WrongWidth { layout_dots: u16, profile_dots: u16 },
    #[error(
        "printer endpoint `{0}`: use tcp://HOST[:PORT], usb:///dev/usb/lpN, serial:///dev/ttyX[?baud=N] or file:///PATH"
    )]
    BadEndpoint(String),
    #[error("the CJK font {path}: {reason}")]
    Font { path: String, reason: String },
    #[error("ESC/POS command building failed: {0}")]
    Escpos(String),
    #[error("PNG encoding failed: {0}")]
    Png(String),
    #[error("journal: {0}")]
    Journal(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Journal(e.to_string())
    }
}

/// What went wrong between the kiosk and the printer.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The receipt could not be encoded; nothing was sent.
    #[error(transparent)]
    Receipt(#[from] Error),
    /// The printer could not be reached or opened; nothing was sent.
    #[error("printer {endpoint} is unreachable: {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// The printer did not answer DLE EOT in time; nothing was sent. No reply is an error,
    /// never a "probably fine".
    #[error("printer {endpoint} did not answer the status request (DLE EOT {n}) within {waited:?}")]
    NoStatusReply {
        endpoint: String,
        n: u8,
        waited: Duration,
    },
    /// The printer reported a fault that stops printing; nothing was sent.
    #[error("printer not ready: {}", .0.summary_en())]
    NotReady(PrinterStatus),
    /// This transport cannot read replies (a plain file).
    #[error("printer {0} cannot report its status (write-only transport)")]
    StatusUnsupported(String),
    /// The job was sent (completely or in part) but no completion reply came in time.
    /// It may still print: a held job prints when the fault is cleared. Never reprint
    /// on this error without a person checking the paper.
    #[error(
        "job of {sent} bytes sent to {endpoint} but not confirmed after {waited:?}: {}",
        .status.as_ref().map_or("and the printer did not answer the status request either".to_string(), |s| s.summary_en())
    )]
    Unconfirmed {
        endpoint: String,
        sent: usize,
        total: usize,
        waited: Duration,
        /// The status read after the timeout, to learn why (None: no answer to that either).
        status: Option<PrinterStatus>,
    },
}

impl PrintError {
    /// Whether any byte of the job reached the printer. When true the receipt may come out
    /// later (held job), so the kiosk must not print it again on its own.
    pub fn job_may_have_printed(&self) -> bool {
        matches!(self, PrintError::Unconfirmed { .. })
    }
}
