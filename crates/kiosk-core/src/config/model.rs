//! The validated configuration. Every value here has passed the loader's checks: codes
//! exist, references resolve, expressions parse and type-check, ranges are sane.

use std::collections::BTreeMap;

use regex::Regex;

use crate::expr::{Expr, Rational};
use crate::ids::{Date, PeriodKind};
use crate::money::Amount;
use crate::{Lang, Localized};

/// Queue ticket categories; `Priority` is the green channel for the elderly, the disabled
/// and pregnant women.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TicketCategory {
    Individual,
    Business,
    Priority,
}

impl TicketCategory {
    pub const ALL: [(&'static str, TicketCategory); 3] = [
        ("individual", TicketCategory::Individual),
        ("business", TicketCategory::Business),
        ("priority", TicketCategory::Priority),
    ];
}

/// The smart-guidance question flow (智能导税): a tree of questions whose answers end at
/// a business, a zone or a queue ticket.
#[derive(Clone, Debug)]
pub struct Guidance {
    pub start: String,
    pub nodes: BTreeMap<String, GuidanceNode>,
}

#[derive(Clone, Debug)]
pub struct GuidanceNode {
    pub id: String,
    pub question: Localized,
    pub options: Vec<GuidanceOption>,
}

#[derive(Clone, Debug)]
pub struct GuidanceOption {
    pub label: Localized,
    pub target: GuidanceTarget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuidanceTarget {
    Node(String),
    Business(String),
    Zone(String),
    Ticket(TicketCategory),
}

/// The consultation knowledge base (智能咨询): questions taxpayers ask, answered in every
/// language, each leading to the businesses that solve it and naming the rule it rests on.
/// Search and ranking live outside the core (crate `consult`); this is only the data.
#[derive(Clone, Debug, Default)]
pub struct Faq {
    /// One topic per file, in file order.
    pub topics: Vec<FaqTopic>,
    /// In file order, then entry order within a file.
    pub entries: Vec<FaqEntry>,
}

impl Faq {
    pub fn entry(&self, id: &str) -> Option<&FaqEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn topic(&self, key: &str) -> Option<&FaqTopic> {
        self.topics.iter().find(|t| t.key == key)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct FaqTopic {
    /// The file stem, e.g. `invoices` for `faq/invoices.toml`.
    pub key: String,
    pub name: Localized,
}

#[derive(Clone, Debug)]
pub struct FaqEntry {
    /// Unique over the bundle; what popularity counts and print jobs refer to.
    pub id: String,
    /// The key of the topic (file) the entry is in.
    pub topic: String,
    pub question: Localized,
    pub answer: Localized,
    /// Business codes, most relevant first; every one exists in the bundle.
    pub businesses: Vec<String>,
    /// The regulation or official guide the answer rests on.
    pub source: String,
    /// Other ways people ask the same thing, for search only.
    pub phrasings_zh: Vec<String>,
    pub phrasings_en: Vec<String>,
}

impl FaqEntry {
    pub fn phrasings(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Zh => &self.phrasings_zh,
            Lang::En => &self.phrasings_en,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Bundle {
    pub kiosk: KioskSettings,
    pub zones: Vec<Zone>,
    pub categories: Vec<Category>,
    pub businesses: Vec<Business>,
    pub forms: BTreeMap<String, Form>,
    pub receipts: BTreeMap<String, ReceiptTemplate>,
    pub texts: Texts,
    pub guidance: Guidance,
    /// The consultation knowledge base (`faq/*.toml`); empty when the bundle has none.
    pub faq: Faq,
    /// sha256 over every file of the bundle (paths and bytes): the bundle's identity in
    /// provenance headers, telemetry and the hall console.
    pub content_hash: String,
}

impl Bundle {
    /// A short form of the content hash, for screens and headers.
    pub fn version(&self) -> &str {
        &self.content_hash[..12]
    }

    pub fn business(&self, code: &str) -> Option<&Business> {
        self.businesses.iter().find(|b| b.code == code)
    }

    pub fn zone(&self, code: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.code == code)
    }

    pub fn form_of(&self, b: &Business) -> &Form {
        // The loader guarantees every business's form exists.
        &self.forms[&b.form]
    }

    pub fn receipt_of(&self, b: &Business) -> &ReceiptTemplate {
        &self.receipts[&b.receipt]
    }

    /// Businesses of a zone, in code order.
    pub fn businesses_in<'a>(&'a self, zone: &'a str) -> impl Iterator<Item = &'a Business> {
        self.businesses
            .iter()
            .filter(move |b| b.zones.iter().any(|z| z == zone))
    }

    pub fn category(&self, code: char) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
}

#[derive(Clone, Debug)]
pub struct KioskSettings {
    pub kiosk_id: String,
    pub hall_id: String,
    pub hall_name: Localized,
    /// The first is the default language.
    pub languages: Vec<Lang>,
    pub practice: bool,
    pub devices: Devices,
    pub endpoints: Endpoints,
    pub timeouts: Timeouts,
    pub face: FaceSettings,
    pub schedule: Schedule,
    /// The PIN that closes the kiosk app after a long press in the top-left corner; none
    /// means the app cannot be left from the screen at all.
    pub staff_exit_pin: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceMode {
    Real,
    Simulated,
}

#[derive(Clone, Debug)]
pub struct Devices {
    pub camera: DeviceMode,
    pub id_reader: DeviceMode,
    pub printer: DeviceMode,
    pub backoffice: DeviceMode,
    pub telemetry: DeviceMode,
}

#[derive(Clone, Debug)]
pub struct Endpoints {
    pub backoffice: String,
    pub telemetry: String,
    /// The hall console's HTTP base URL (`tax-hall`'s listen address), where the kiosk
    /// takes queue tickets. None: the kiosk app has no queue to take them from and tells
    /// the taxpayer to ask staff (practice mode answers tickets itself either way).
    pub hall: Option<String>,
    pub printer: String,
    pub camera: String,
    pub id_reader: String,
}

#[derive(Clone, Debug)]
pub struct Timeouts {
    pub idle_secs: u32,
    pub warning_secs: u32,
    pub max_extensions: u32,
    pub elder_factor_percent: u32,
    pub backoffice_request_secs: u32,
    pub printer_status_secs: u32,
}

#[derive(Clone, Debug)]
pub struct FaceSettings {
    /// SFace cosine similarity threshold. A float is right here: it is a model score,
    /// not money.
    pub threshold: f32,
    pub attempts: u32,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub utc_offset_minutes: i32,
    pub holidays: Vec<Date>,
    pub staffed: Vec<StaffedHours>,
}

#[derive(Clone, Debug)]
pub struct StaffedHours {
    /// Monday = 0 … Sunday = 6.
    pub days: Vec<u32>,
    /// Minutes after local midnight.
    pub open: u32,
    pub close: u32,
}

impl Schedule {
    /// Whether staffed windows are open at a local date and minute of day. The caller
    /// supplies the time: the core never reads a clock.
    pub fn is_staffed(&self, date: Date, minute_of_day: u32) -> bool {
        if self.holidays.contains(&date) {
            return false;
        }
        let wd = date.weekday();
        self.staffed
            .iter()
            .any(|s| s.days.contains(&wd) && (s.open..s.close).contains(&minute_of_day))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneHours {
    Always,
    Staffed,
}

#[derive(Clone, Debug)]
pub struct Zone {
    pub code: String,
    pub key: String,
    pub name: Localized,
    pub purpose: Localized,
    pub icon: String,
    pub order: u32,
    pub hours: ZoneHours,
}

#[derive(Clone, Debug)]
pub struct Category {
    pub code: char,
    pub name: Localized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Done at the kiosk (自助办结).
    SelfService,
    /// Sent to the back office, processed in parallel (后台流转).
    BackOffice,
    /// Staffed counter: the kiosk issues a ticket or appointment (窗口办理).
    Staffed,
}

impl Mode {
    pub fn code(self) -> &'static str {
        match self {
            Mode::SelfService => "SS",
            Mode::BackOffice => "BO",
            Mode::Staffed => "TK",
        }
    }
}

/// How sure the kiosk must be of who the taxpayer is. Ordered: `Verified` > `Card` > `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityLevel {
    None,
    /// The ID card has been read.
    Card,
    /// The card has been read and the holder verified: face, or an alternative (SMS code
    /// to the phone on record, staff assist) when face fails or is not required.
    Verified,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Payment {
    None,
    Tax,
    SocialInsurance,
    Fee,
    Penalty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    Individual,
    Business,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Register,
    InvoiceIssue,
    InvoiceManage,
    FileReturn,
    Pay,
    SocialInsurance,
    Incentive,
    Certificate,
    Query,
    Refund,
    Assessment,
    Deregister,
    Credit,
    Service,
    Ticket,
    Appointment,
}

impl Operation {
    pub const ALL: [(&'static str, Operation); 16] = [
        ("register", Operation::Register),
        ("invoice_issue", Operation::InvoiceIssue),
        ("invoice_manage", Operation::InvoiceManage),
        ("file_return", Operation::FileReturn),
        ("pay", Operation::Pay),
        ("social_insurance", Operation::SocialInsurance),
        ("incentive", Operation::Incentive),
        ("certificate", Operation::Certificate),
        ("query", Operation::Query),
        ("refund", Operation::Refund),
        ("assessment", Operation::Assessment),
        ("deregister", Operation::Deregister),
        ("credit", Operation::Credit),
        ("service", Operation::Service),
        ("ticket", Operation::Ticket),
        ("appointment", Operation::Appointment),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("service", |(n, _)| n)
    }
}

#[derive(Clone, Debug)]
pub struct Business {
    pub code: String,
    pub category: char,
    pub name: Localized,
    pub summary: Localized,
    pub audience: Audience,
    pub zones: Vec<String>,
    pub mode: Mode,
    pub identity: IdentityLevel,
    pub face_required: bool,
    pub payment: Payment,
    pub minutes: u32,
    pub operation: Operation,
    pub receipt: String,
    pub form: String,
    pub materials: Vec<Localized>,
    pub keywords: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Form {
    pub id: String,
    pub title: Localized,
    pub steps: Vec<Step>,
    pub checks: Vec<Check>,
}

impl Form {
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.steps.iter().flat_map(|s| s.fields.iter())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().find(|f| f.id == id)
    }

    /// Whether the form has real fields, as opposed to a generic one.
    pub fn is_generic(&self) -> bool {
        self.id.starts_with("generic-")
    }
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    pub title: Localized,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub id: String,
    pub label: Localized,
    pub help: Option<Localized>,
    pub required: bool,
    pub kind: FieldKind,
    pub visible_if: Option<Expr>,
    pub default: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ChoiceOption {
    pub value: String,
    pub label: Localized,
}

#[derive(Clone, Debug)]
pub enum FieldKind {
    Text {
        min_len: Option<usize>,
        max_len: Option<usize>,
        pattern: Option<Regex>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Amount {
        min: Option<Amount>,
        max: Option<Amount>,
    },
    Rate {
        min: Option<Rational>,
        max: Option<Rational>,
    },
    Date,
    Period(PeriodKind),
    Choice(Vec<ChoiceOption>),
    Bool,
    IdNumber,
    CreditCode,
    Phone,
    Computed(Expr),
}

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Integer { .. } => "integer",
            FieldKind::Amount { .. } => "amount",
            FieldKind::Rate { .. } => "rate",
            FieldKind::Date => "date",
            FieldKind::Period(_) => "period",
            FieldKind::Choice(_) => "choice",
            FieldKind::Bool => "bool",
            FieldKind::IdNumber => "id_number",
            FieldKind::CreditCode => "credit_code",
            FieldKind::Phone => "phone",
            FieldKind::Computed(_) => "computed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Check {
    pub expr: Expr,
    pub message: Localized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptKind {
    Receipt,
    Certificate,
    Ticket,
    Notice,
}

#[derive(Clone, Debug)]
pub struct ReceiptTemplate {
    pub id: String,
    pub kind: ReceiptKind,
    pub title: Localized,
    pub lines: Vec<ReceiptLine>,
    pub form_lines: bool,
    pub qr: Option<String>,
    pub barcode: Option<String>,
    pub footer: Localized,
}

#[derive(Clone, Debug)]
pub struct ReceiptLine {
    pub label: Localized,
    pub value: String,
}

/// Placeholders a receipt template may use; the printer fills them per job.
pub const RECEIPT_PLACEHOLDERS: &[&str] = &[
    "hall_name",
    "kiosk_id",
    "business_code",
    "business_name",
    "taxpayer_name",
    "taxpayer_id_masked",
    "tracking_no",
    "document_no",
    "verify_code",
    "verify_url",
    "time",
    "total",
    "ticket_no",
    "ticket_ahead",
    "ticket_wait_minutes",
    "ticket_window",
    "materials",
];

/// Every UI string, by key and language.
#[derive(Clone, Debug, Default)]
pub struct Texts {
    pub map: BTreeMap<String, Localized>,
}

impl Texts {
    /// The text for `key`, or the key itself so that a missing string is visible, not
    /// blank. The loader guarantees the required keys exist.
    pub fn get<'a>(&'a self, key: &'a str, lang: Lang) -> &'a str {
        self.map.get(key).map_or(key, |l| l.get(lang))
    }

    /// The text with `{name}` placeholders filled.
    pub fn fill(&self, key: &str, lang: Lang, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key, lang).to_string();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }
}
