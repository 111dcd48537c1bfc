//! What goes into the session machine (events) and what comes out (effects), and the
//! values they carry. The shell turns effects into device and network work and the
//! results back into events; nothing here performs any of it.

use std::fmt;
use std::sync::Arc;

pub use crate::config::TicketCategory;
use crate::config::{Bundle, IdentityLevel, Operation};
use crate::form::{Computed, FieldError, Values};
use crate::ids::{Date, IdNumber};
use crate::money::Amount;
use crate::{Lang, Localized};

/// Milliseconds on the shell's monotonic clock. The core only compares them.
pub type Millis = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub String);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the ID card reader returns. The chip photo goes straight from the reader to the
/// face matcher in the shell and never enters the core.
#[derive(Clone, PartialEq, Eq)]
pub struct CardData {
    pub name: String,
    pub id_number: IdNumber,
    pub valid_to: Date,
}

impl fmt::Debug for CardData {
    // A name is personal data: a Debug dump shows only its first character.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first: String = self.name.chars().take(1).collect();
        write!(
            f,
            "CardData({first}**, {}, valid to {})",
            self.id_number.masked(),
            self.valid_to
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerificationMethod {
    /// Nothing checked (businesses that need no identity).
    None,
    /// The ID card was read; its holder was not verified.
    Card,
    Face,
    Sms,
    StaffAssist,
}

impl VerificationMethod {
    pub fn code(self) -> &'static str {
        match self {
            VerificationMethod::None => "none",
            VerificationMethod::Card => "card",
            VerificationMethod::Face => "face",
            VerificationMethod::Sms => "sms",
            VerificationMethod::StaffAssist => "staff",
        }
    }
}

/// Why a face attempt failed, as the face pipeline reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaceFailure {
    Mismatch,
    NoFace,
    SeveralFaces,
    Liveness,
    Quality,
    CameraUnavailable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardError {
    Unreadable,
    Expired,
    ReaderUnavailable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    /// 三方协议扣款: debit through the taxpayer's bank agreement.
    TripartiteDebit,
    /// A payment QR code confirmed by the bank.
    Qr,
    /// Bank card on the kiosk's POS device.
    BankCard,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 3] = [
        PaymentMethod::TripartiteDebit,
        PaymentMethod::Qr,
        PaymentMethod::BankCard,
    ];
}

/// The back office's answer to a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitResult {
    /// Completed at once (SS): a document to print, and an amount due if the business
    /// takes a payment.
    Done {
        tracking: String,
        document_no: String,
        verify_code: String,
        due: Amount,
    },
    /// Accepted for processing in the back office (BO).
    Accepted { tracking: String, due: Amount },
    /// The back office could not be reached: the shell's outbox holds the submission
    /// and will deliver it; the tracking number is the outbox's.
    Queued { tracking: String },
    /// Refused, with the reason in plain words and what to do next.
    Refused {
        reason: Localized,
        next_step: Localized,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub number: String,
    pub ahead: u32,
    pub wait_minutes: u32,
    pub window: String,
    /// For appointments: the booked slot, as the hall describes it.
    pub appointment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrinterState {
    Ready,
    /// Printing is possible but staff should refill soon.
    PaperLow,
    Fault(Localized),
}

/// Everything that can happen to a kiosk.
#[derive(Clone, Debug)]
pub enum Event {
    /// The shell's clock; sent about once a second and with every other event's time.
    Tick {
        now: Millis,
    },
    /// A touch on the attract screen (or anywhere: any input resets the idle clock).
    Touch,
    ChooseLanguage(Lang),
    SetElderMode(bool),
    SetVoice(bool),
    /// Skip identification for now (for businesses that need none).
    SkipIdentify,
    CardRead(Result<CardData, CardError>),
    /// The face pipeline's verdict for one attempt (score is the cosine similarity).
    FaceResult(Result<f32, FaceFailure>),
    UseSms,
    SmsSent(Result<String, Localized>),
    SmsCode(String),
    UseStaffAssist,
    /// A member of staff confirmed the taxpayer's identity at the kiosk.
    StaffVerified,
    IdentityResult(Result<(), Localized>),
    ChooseZone(String),
    GuidanceAnswer(usize),
    ChooseBusiness(String),
    Start,
    FieldInput {
        field: String,
        text: String,
    },
    NextStep,
    ConfirmReview,
    Submitted(SubmitResult),
    ChoosePayment(PaymentMethod),
    Paid(Result<String, Localized>),
    TicketIssued(Result<Ticket, Localized>),
    PrinterChecked(PrinterState),
    Printed(Result<(), Localized>),
    /// The person asks for the receipt again: after it came out (one went missing, a
    /// second copy), or after printing failed (the fault was cleared).
    Reprint,
    Rate(u8),
    Back,
    Home,
    CallStaff,
    ExtendSession,
    /// The person walked away (card pulled and nobody in front of the camera).
    Leave,
    /// A new configuration bundle, already verified and validated by the shell.
    NewConfig(Arc<Bundle>),
}

/// The screens of the kiosk. Details (the list of businesses, the form's fields) are read
/// from the kiosk's view accessors; the screen says which one to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    Attract,
    Language,
    InsertCard,
    Face { attempt: u32 },
    Alternatives,
    SmsCode,
    StaffAssist,
    Verifying,
    Zones,
    Guidance { node: String },
    Businesses { zone: String },
    Detail { business: String },
    Form { business: String, step: usize },
    Review { business: String },
    Submitting { business: String },
    Payment { business: String },
    Paying { business: String },
    Outcome { business: String },
    Printing,
    EReceipt,
    Rating,
    Goodbye,
}

impl Screen {
    /// A stable name for telemetry and screenshots.
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Attract => "attract",
            Screen::Language => "language",
            Screen::InsertCard => "insert_card",
            Screen::Face { .. } => "face",
            Screen::Alternatives => "alternatives",
            Screen::SmsCode => "sms_code",
            Screen::StaffAssist => "staff_assist",
            Screen::Verifying => "verifying",
            Screen::Zones => "zones",
            Screen::Guidance { .. } => "guidance",
            Screen::Businesses { .. } => "businesses",
            Screen::Detail { .. } => "detail",
            Screen::Form { .. } => "form",
            Screen::Review { .. } => "review",
            Screen::Submitting { .. } => "submitting",
            Screen::Payment { .. } => "payment",
            Screen::Paying { .. } => "paying",
            Screen::Outcome { .. } => "outcome",
            Screen::Printing => "printing",
            Screen::EReceipt => "e_receipt",
            Screen::Rating => "rating",
            Screen::Goodbye => "goodbye",
        }
    }
}

/// Where an outbound request goes. Practice mode sends everything to the sandbox; the
/// shell's sandbox adapter never touches the real back office.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    BackOffice,
    Hall,
    Sandbox,
}

/// Where a request came from, attached to every request that leaves the kiosk (in the
/// spirit of HMRC's fraud-prevention headers). The shell adds the software version and
/// the wall-clock timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub kiosk_id: String,
    pub hall_id: String,
    pub config_version: String,
    pub session_id: SessionId,
    pub verification: VerificationMethod,
    pub practice: bool,
    /// Monotonic time of the event that caused the request.
    pub at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    SendSmsCode {
        id_number: IdNumber,
    },
    VerifyIdentity {
        name: String,
        id_number: IdNumber,
        method: VerificationMethod,
        face_score_milli: Option<u32>,
        sms_code: Option<String>,
    },
    Submit {
        business: String,
        operation: Operation,
        values: Values,
        computed: Computed,
        idempotency_key: String,
    },
    Pay {
        business: String,
        tracking: String,
        amount: Amount,
        method: PaymentMethod,
        idempotency_key: String,
    },
    Ticket {
        business: Option<String>,
        category: TicketCategory,
        appointment: bool,
        prefill: Values,
        idempotency_key: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    pub destination: Destination,
    pub provenance: Provenance,
    pub request: Request,
}

/// What the outcome screen and the receipt say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done {
        tracking: String,
        document_no: String,
        verify_code: String,
        paid: Option<(Amount, String)>,
    },
    Submitted {
        tracking: String,
        queued: bool,
    },
    Ticket(Ticket),
    Refused {
        reason: Localized,
        next_step: Localized,
    },
    /// Filed, but the payment did not go through: pay later before the deadline.
    PaymentPending {
        tracking: String,
        due: Amount,
        reason: Localized,
    },
}

/// A receipt to print: the template id and the values to fill it with (personal data
/// already masked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintJob {
    pub template: String,
    pub lang: Lang,
    pub fields: Vec<(String, String)>,
    /// Form lines (label, value) for templates that print them.
    pub lines: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffAlert {
    CallStaff { screen: &'static str },
    IdentityAssist,
    PrinterFault { detail: Localized },
    PaperLow,
}

/// What the hall console may see: never personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Telemetry {
    Screen {
        screen: &'static str,
        zone: Option<String>,
        business: Option<String>,
        practice: bool,
    },
    SessionEnded {
        business: Option<String>,
        outcome: &'static str,
        duration_ms: Millis,
        reason: EndReason,
    },
    Rated {
        business: Option<String>,
        stars: u8,
    },
    ConfigApplied {
        version: String,
    },
    ConfigDeferred {
        version: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Finished,
    IdleTimeout,
    Left,
    Cancelled,
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Show(Screen),
    /// The idle warning overlay, with seconds left; `None` hides it.
    IdleWarning(Option<u32>),
    /// Clear every screen field that held personal data, and drop identity data in the
    /// shell (card photo, tokens).
    Wipe,
    StartCardReader,
    StartFace {
        attempt: u32,
        challenge_seed: u64,
    },
    StopCamera,
    Send(Outbound),
    CheckPrinter,
    Print(PrintJob),
    /// Print this session's receipt again, marked as a copy. The shell's receipt journal
    /// refuses when the first attempt may still come out of the printer.
    Reprint(PrintJob),
    Speak(String),
    NotifyStaff {
        session: Option<SessionId>,
        alert: StaffAlert,
    },
    Telemetry(Telemetry),
    /// Show a field's error (or clear it with `None`) next to the field.
    FieldError {
        field: String,
        error: Option<FieldError>,
    },
}

impl Effect {
    pub fn outbound(&self) -> Option<&Outbound> {
        match self {
            Effect::Send(o) => Some(o),
            _ => None,
        }
    }
}

/// The identity level an identity method gives.
pub fn level_of(method: VerificationMethod) -> IdentityLevel {
    match method {
        VerificationMethod::None => IdentityLevel::None,
        VerificationMethod::Card => IdentityLevel::Card,
        _ => IdentityLevel::Verified,
    }
}
