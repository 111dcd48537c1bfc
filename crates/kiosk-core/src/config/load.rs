//! The one loader: bundle files in, a validated [`Bundle`] or every problem out.
//!
//! It takes bytes, not paths, so it stays free of I/O (the shell reads the folder) and a
//! fuzzer can feed it anything. Each problem carries file, line and column and a sentence
//! that says what to change. One broken entry does not hide the problems of the others:
//! businesses are read one by one, and a reference to something that failed to parse is
//! not reported a second time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use regex::Regex;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::REQUIRED_TEXT_KEYS;
use super::model::*;
use crate::expr::{Expr, Rational, Ty};
use crate::ids::{Date, PeriodKind};
use crate::money::Amount;
use crate::{Lang, Localized};

type S<T> = Spanned<T>;

/// The files of a bundle, by path relative to the bundle root (`/`-separated).
#[derive(Clone, Debug, Default)]
pub struct BundleFiles {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl BundleFiles {
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }

    /// sha256 over paths and contents, in path order, length-prefixed so that moving bytes
    /// between files changes the hash.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        for (path, bytes) in &self.files {
            h.update((path.len() as u64).to_le_bytes());
            h.update(path.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file or bundle.
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {sev}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {sev}: {}",
                self.file, self.line, self.col, self.message
            )
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Ctx<'a> {
    diags: Vec<Diagnostic>,
    texts: HashMap<&'a str, &'a str>,
}

impl<'a> Ctx<'a> {
    fn at(&mut self, sev: Severity, file: &str, span: Option<Range<usize>>, msg: String) {
        let (line, col) = match (span, self.texts.get(file)) {
            (Some(s), Some(text)) => line_col(text, s.start),
            _ => (0, 0),
        };
        self.diags.push(Diagnostic {
            severity: sev,
            file: file.to_string(),
            line,
            col,
            message: msg,
        });
    }
    fn err(&mut self, file: &str, span: Range<usize>, msg: impl Into<String>) {
        self.at(Severity::Error, file, Some(span), msg.into());
    }
    fn err_file(&mut self, file: &str, msg: impl Into<String>) {
        self.at(Severity::Error, file, None, msg.into());
    }
    fn toml_err(&mut self, file: &str, e: &toml::de::Error) {
        let msg = e.message().trim().replace('\n', " ");
        self.at(Severity::Error, file, e.span(), msg);
    }
    fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == Severity::Error)
    }
}

// ---- raw shapes, as written in the files -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKiosk {
    kiosk_id: S<String>,
    hall_id: S<String>,
    hall_name_zh: S<String>,
    hall_name_en: S<String>,
    languages: S<Vec<S<String>>>,
    #[serde(default)]
    practice: bool,
    devices: RawDevices,
    endpoints: RawEndpoints,
    timeouts: RawTimeouts,
    face: RawFace,
    schedule: RawSchedule,
    #[serde(default)]
    staff: Option<RawStaff>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    exit_pin: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevices {
    camera: S<String>,
    id_reader: S<String>,
    printer: S<String>,
    backoffice: S<String>,
    telemetry: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoints {
    backoffice: S<String>,
    telemetry: S<String>,
    #[serde(default)]
    hall: Option<S<String>>,
    printer: S<String>,
    camera: S<String>,
    id_reader: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    idle: S<i64>,
    warning: S<i64>,
    max_extensions: S<i64>,
    elder_factor_percent: S<i64>,
    backoffice_request: S<i64>,
    printer_status: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFace {
    threshold: S<f64>,
    attempts: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    utc_offset_minutes: S<i64>,
    #[serde(default)]
    holidays: Vec<S<String>>,
    #[serde(default)]
    staffed: Vec<RawStaffed>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaffed {
    days: Vec<S<String>>,
    open: S<String>,
    close: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZones {
    zone: Vec<RawZone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    code: S<String>,
    key: S<String>,
    name_zh: S<String>,
    name_en: S<String>,
    purpose_zh: S<String>,
    purpose_en: S<String>,
    icon: S<String>,
    order: S<i64>,
    hours: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    code: S<String>,
    name_zh: S<String>,
    name_en: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBusiness {
    code: S<String>,
    name_zh: S<String>,
    name_en: S<String>,
    summary_zh: S<String>,
    summary_en: S<String>,
    audience: S<String>,
    zones: S<Vec<S<String>>>,
    mode: S<String>,
    identity: S<String>,
    face_required: bool,
    payment: S<String>,
    minutes: S<i64>,
    operation: S<String>,
    receipt: S<String>,
    form: S<String>,
    materials_zh: S<Vec<String>>,
    materials_en: S<Vec<String>>,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    id: S<String>,
    title_zh: S<String>,
    title_en: S<String>,
    step: S<Vec<RawStep>>,
    #[serde(default)]
    check: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: S<String>,
    title_zh: S<String>,
    title_en: S<String>,
    field: S<Vec<RawField>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    id: S<String>,
    #[serde(rename = "type")]
    ty: S<String>,
    label_zh: S<String>,
    label_en: S<String>,
    help_zh: Option<S<String>>,
    help_en: Option<S<String>>,
    #[serde(default = "yes")]
    required: bool,
    min: Option<S<String>>,
    max: Option<S<String>>,
    min_len: Option<S<i64>>,
    max_len: Option<S<i64>>,
    pattern: Option<S<String>>,
    period: Option<S<String>>,
    options: Option<S<Vec<RawOption>>>,
    expr: Option<S<String>>,
    visible_if: Option<S<String>>,
    default: Option<S<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: S<String>,
    zh: S<String>,
    en: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    expr: S<String>,
    message_zh: S<String>,
    message_en: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceipt {
    id: S<String>,
    kind: S<String>,
    title_zh: S<String>,
    title_en: S<String>,
    #[serde(default)]
    form_lines: bool,
    qr: Option<S<String>>,
    barcode: Option<S<String>>,
    footer_zh: S<String>,
    footer_en: S<String>,
    #[serde(default)]
    line: Vec<RawLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    label_zh: S<String>,
    label_en: S<String>,
    value: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuidance {
    start: S<String>,
    node: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: S<String>,
    question_zh: S<String>,
    question_en: S<String>,
    option: S<Vec<RawGuidanceOption>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuidanceOption {
    zh: S<String>,
    en: S<String>,
    next: Option<S<String>>,
    business: Option<S<String>>,
    zone: Option<S<String>>,
    ticket: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaqTopic {
    name_zh: S<String>,
    name_en: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaqEntry {
    id: S<String>,
    question_zh: S<String>,
    question_en: S<String>,
    answer_zh: S<String>,
    answer_en: S<String>,
    businesses: S<Vec<S<String>>>,
    source: S<String>,
    #[serde(default)]
    phrasings_zh: Vec<S<String>>,
    #[serde(default)]
    phrasings_en: Vec<S<String>>,
}

// ---- entry point ---------------------------------------------------------------------

/// What a successful load gives: the bundle and any warnings.
pub struct Loaded {
    pub bundle: Bundle,
    pub warnings: Vec<Diagnostic>,
}

/// Loads and validates a bundle. On failure, every problem found, errors first, each
/// in file order.
pub fn load(files: &BundleFiles) -> Result<Loaded, Vec<Diagnostic>> {
    let mut decoded: BTreeMap<&str, &str> = BTreeMap::new();
    let mut pre = Vec::new();
    for (path, bytes) in &files.files {
        match std::str::from_utf8(bytes) {
            Ok(t) => {
                decoded.insert(path.as_str(), t);
            }
            Err(e) => pre.push(Diagnostic {
                severity: Severity::Error,
                file: path.clone(),
                line: 0,
                col: 0,
                message: format!(
                    "the file is not valid UTF-8 (bad byte at offset {}); save it as UTF-8",
                    e.valid_up_to()
                ),
            }),
        }
    }
    let mut cx = Ctx {
        diags: pre,
        texts: decoded.iter().map(|(k, v)| (*k, *v)).collect(),
    };
    let bundle = build(&mut cx, &decoded, files.content_hash());
    let mut diags = cx.diags;
    diags.sort_by(|a, b| {
        (a.severity, &a.file, a.line, a.col).cmp(&(b.severity, &b.file, b.line, b.col))
    });
    match bundle {
        Some(bundle) if !diags.iter().any(|d| d.severity == Severity::Error) => Ok(Loaded {
            bundle,
            warnings: diags,
        }),
        _ => Err(diags),
    }
}

fn whole<T: DeserializeOwned>(cx: &mut Ctx, file: &str, text: &str) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            cx.toml_err(file, &e);
            None
        }
    }
}

fn require<'a>(cx: &mut Ctx, files: &BTreeMap<&str, &'a str>, name: &str) -> Option<&'a str> {
    let t = files.get(name).copied();
    if t.is_none() {
        cx.err_file(
            name,
            format!("the bundle has no {name}; every bundle needs one"),
        );
    }
    t
}

fn build(cx: &mut Ctx, files: &BTreeMap<&str, &str>, content_hash: String) -> Option<Bundle> {
    for path in files.keys() {
        let known = matches!(
            *path,
            "kiosk.toml" | "zones.toml" | "texts.toml" | "guidance.toml"
        ) || ["businesses/", "forms/", "receipts/", "faq/"]
            .iter()
            .any(|d| {
                path.starts_with(d) && path.ends_with(".toml") && !path[d.len()..].contains('/')
            })
            || path.ends_with(".md");
        if !known {
            cx.at(
                Severity::Warning,
                path,
                None,
                "this file is not part of the bundle format and is ignored (see FORMAT.md)".into(),
            );
        }
    }

    let kiosk_file = "kiosk.toml";
    let kiosk = require(cx, files, kiosk_file)
        .and_then(|t| whole::<RawKiosk>(cx, kiosk_file, t))
        .map(|r| kiosk_settings(cx, kiosk_file, r));
    let langs = kiosk
        .as_ref()
        .and_then(|k| k.clone())
        .map_or_else(|| Lang::ALL.to_vec(), |k| k.languages);

    let zones_file = "zones.toml";
    let zones = require(cx, files, zones_file)
        .and_then(|t| whole::<RawZones>(cx, zones_file, t))
        .map(|r| zones(cx, zones_file, r));

    let texts = require(cx, files, "texts.toml").map(|t| texts(cx, "texts.toml", t, &langs));

    let mut forms = BTreeMap::new();
    let mut broken_forms = HashSet::new();
    let mut form_files: HashMap<String, String> = HashMap::new();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.starts_with("forms/") && p.ends_with(".toml"))
    {
        let stem = path
            .trim_start_matches("forms/")
            .trim_end_matches(".toml")
            .to_string();
        match whole::<RawForm>(cx, path, text) {
            Some(raw) => {
                let id_span = raw.id.span();
                if let Some(f) = form(cx, path, raw) {
                    if let Some(prev) = form_files.get(&f.id) {
                        cx.err(
                            path,
                            id_span,
                            format!(
                                "form id '{}' is already used by {prev}; form ids must be unique",
                                f.id
                            ),
                        );
                    } else {
                        form_files.insert(f.id.clone(), path.to_string());
                        forms.insert(f.id.clone(), f);
                    }
                } else {
                    broken_forms.insert(stem);
                }
            }
            None => {
                broken_forms.insert(stem);
            }
        }
    }
    if form_files.is_empty() && broken_forms.is_empty() {
        cx.err_file(
            "forms/",
            "the bundle has no forms; every business needs one",
        );
    }

    let mut receipts = BTreeMap::new();
    let mut broken_receipts = HashSet::new();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.starts_with("receipts/") && p.ends_with(".toml"))
    {
        let stem = path
            .trim_start_matches("receipts/")
            .trim_end_matches(".toml")
            .to_string();
        match whole::<RawReceipt>(cx, path, text).and_then(|r| receipt(cx, path, r)) {
            Some(r) => {
                if receipts.contains_key(&r.id) {
                    cx.err_file(
                        path,
                        format!("receipt id '{}' is used twice; ids must be unique", r.id),
                    );
                } else {
                    receipts.insert(r.id.clone(), r);
                }
            }
            None => {
                broken_receipts.insert(stem);
            }
        }
    }

    let zone_list = zones.clone().flatten().unwrap_or_default();
    let refs = Refs {
        zones: &zone_list,
        zones_ok: zones.as_ref().is_some_and(|z| z.is_some()),
        forms: &forms,
        broken_forms: &broken_forms,
        receipts: &receipts,
        broken_receipts: &broken_receipts,
    };
    let (categories, businesses) = businesses(cx, files, &refs);
    let guidance = require(cx, files, "guidance.toml")
        .and_then(|t| whole::<RawGuidance>(cx, "guidance.toml", t))
        .and_then(|g| guidance(cx, "guidance.toml", g, &zone_list, &businesses));
    let faq = faq(cx, files, &businesses);

    // Unused forms, receipts and zones are legal but usually a mistake.
    let used_forms: HashSet<&str> = businesses.iter().map(|b| b.form.as_str()).collect();
    for (id, path) in &form_files {
        if !used_forms.contains(id.as_str()) {
            cx.at(
                Severity::Warning,
                path,
                None,
                format!("no business uses form '{id}'"),
            );
        }
    }
    for z in &zone_list {
        if !businesses.iter().any(|b| b.zones.contains(&z.code)) {
            cx.at(
                Severity::Warning,
                zones_file,
                None,
                format!("zone {} lists no business", z.code),
            );
        }
    }

    if cx.has_errors() {
        return None;
    }
    Some(Bundle {
        kiosk: kiosk??,
        zones: zones??,
        categories,
        businesses,
        forms,
        receipts,
        texts: texts?,
        guidance: guidance?,
        faq,
        content_hash,
    })
}

// ---- kiosk.toml --------------------------------------------------------------------------

fn id_like(s: &str) -> bool {
    (3..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

fn ranged(cx: &mut Ctx, file: &str, v: &S<i64>, name: &str, lo: i64, hi: i64) -> u32 {
    let x = *v.get_ref();
    if !(lo..=hi).contains(&x) {
        cx.err(
            file,
            v.span(),
            format!("{name} is {x}; it must be between {lo} and {hi}"),
        );
        return lo.max(0) as u32;
    }
    x as u32
}

fn nonempty(cx: &mut Ctx, file: &str, v: &S<String>, what: &str) -> String {
    let s = v.get_ref().trim();
    if s.is_empty() {
        cx.err(
            file,
            v.span(),
            format!("{what} is empty; write the text (a missing translation?)"),
        );
    }
    s.to_string()
}

fn localized(cx: &mut Ctx, file: &str, zh: &S<String>, en: &S<String>, what: &str) -> Localized {
    Localized {
        zh: nonempty(cx, file, zh, &format!("the Chinese {what}")),
        en: nonempty(cx, file, en, &format!("the English {what}")),
    }
}

fn device(cx: &mut Ctx, file: &str, v: &S<String>, name: &str) -> DeviceMode {
    match v.get_ref().as_str() {
        "real" => DeviceMode::Real,
        "simulated" => DeviceMode::Simulated,
        other => {
            cx.err(
                file,
                v.span(),
                format!("devices.{name} is '{other}'; use \"real\" or \"simulated\""),
            );
            DeviceMode::Simulated
        }
    }
}

fn endpoint(cx: &mut Ctx, file: &str, v: &S<String>, name: &str, schemes: &[&str]) -> String {
    let s = v.get_ref();
    let ok = schemes.iter().any(|sc| {
        s.strip_prefix(sc)
            .and_then(|r| r.strip_prefix("://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    });
    if !ok {
        let list: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
        cx.err(
            file,
            v.span(),
            format!(
                "endpoints.{name} '{s}' must start with one of {}",
                list.join(", ")
            ),
        );
    }
    s.clone()
}

fn hhmm(cx: &mut Ctx, file: &str, v: &S<String>) -> u32 {
    let s = v.get_ref();
    let parsed = s.split_once(':').and_then(|(h, m)| {
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (s.len() == 5 && h < 24 && m < 60).then_some(h * 60 + m)
    });
    parsed.unwrap_or_else(|| {
        cx.err(
            file,
            v.span(),
            format!("'{s}' is not a time; write HH:MM, for example 09:00"),
        );
        0
    })
}

fn kiosk_settings(cx: &mut Ctx, f: &str, r: RawKiosk) -> Option<KioskSettings> {
    for (v, name) in [(&r.kiosk_id, "kiosk_id"), (&r.hall_id, "hall_id")] {
        if !id_like(v.get_ref()) {
            cx.err(
                f,
                v.span(),
                format!(
                    "{name} '{}' must be 3 to 32 of A-Z, 0-9 and '-'",
                    v.get_ref()
                ),
            );
        }
    }
    let mut languages = Vec::new();
    for l in r.languages.get_ref() {
        match Lang::from_code(l.get_ref()) {
            Some(lang) if languages.contains(&lang) => cx.err(
                f,
                l.span(),
                format!("language '{}' is listed twice", l.get_ref()),
            ),
            Some(lang) => languages.push(lang),
            None => cx.err(
                f,
                l.span(),
                format!(
                    "language '{}' is not supported; use \"zh\" or \"en\"",
                    l.get_ref()
                ),
            ),
        }
    }
    if r.languages.get_ref().is_empty() {
        cx.err(
            f,
            r.languages.span(),
            "languages is empty; list at least \"zh\"",
        );
    }
    let d = &r.devices;
    let devices = Devices {
        camera: device(cx, f, &d.camera, "camera"),
        id_reader: device(cx, f, &d.id_reader, "id_reader"),
        printer: device(cx, f, &d.printer, "printer"),
        backoffice: device(cx, f, &d.backoffice, "backoffice"),
        telemetry: device(cx, f, &d.telemetry, "telemetry"),
    };
    let e = &r.endpoints;
    let endpoints = Endpoints {
        backoffice: endpoint(cx, f, &e.backoffice, "backoffice", &["http", "https"]),
        telemetry: endpoint(cx, f, &e.telemetry, "telemetry", &["mqtt", "mqtts"]),
        hall: e
            .hall
            .as_ref()
            .map(|h| endpoint(cx, f, h, "hall", &["http", "https"])),
        printer: endpoint(
            cx,
            f,
            &e.printer,
            "printer",
            &["tcp", "usb", "serial", "file"],
        ),
        camera: endpoint(
            cx,
            f,
            &e.camera,
            "camera",
            &["v4l2", "dir", "video", "actor"],
        ),
        id_reader: endpoint(cx, f, &e.id_reader, "id_reader", &["dir", "device"]),
    };
    let t = &r.timeouts;
    let timeouts = Timeouts {
        idle_secs: ranged(cx, f, &t.idle, "timeouts.idle", 10, 600),
        warning_secs: ranged(cx, f, &t.warning, "timeouts.warning", 20, 120),
        max_extensions: ranged(cx, f, &t.max_extensions, "timeouts.max_extensions", 1, 10),
        elder_factor_percent: ranged(
            cx,
            f,
            &t.elder_factor_percent,
            "timeouts.elder_factor_percent",
            100,
            400,
        ),
        backoffice_request_secs: ranged(
            cx,
            f,
            &t.backoffice_request,
            "timeouts.backoffice_request",
            1,
            120,
        ),
        printer_status_secs: ranged(cx, f, &t.printer_status, "timeouts.printer_status", 1, 30),
    };
    let th = *r.face.threshold.get_ref();
    if !(th > 0.0 && th < 1.0) {
        cx.err(f, r.face.threshold.span(), format!("face.threshold is {th}; it is a cosine score between 0 and 1 (calibrated default 0.47)"));
    }
    let face = FaceSettings {
        threshold: th as f32,
        attempts: ranged(cx, f, &r.face.attempts, "face.attempts", 1, 5),
    };
    let s = &r.schedule;
    let utc = ranged(
        cx,
        f,
        &s.utc_offset_minutes,
        "schedule.utc_offset_minutes",
        -720,
        840,
    ) as i32;
    let mut holidays = Vec::new();
    for h in &s.holidays {
        match Date::parse(h.get_ref()) {
            Ok(d) => holidays.push(d),
            Err(_) => cx.err(
                f,
                h.span(),
                format!("holiday '{}' is not a date; write YYYY-MM-DD", h.get_ref()),
            ),
        }
    }
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut staffed = Vec::new();
    for st in &s.staffed {
        let mut days = Vec::new();
        for d in &st.days {
            match DAYS.iter().position(|x| x == d.get_ref()) {
                Some(i) => days.push(i as u32),
                None => cx.err(
                    f,
                    d.span(),
                    format!(
                        "'{}' is not a day; use mon, tue, wed, thu, fri, sat or sun",
                        d.get_ref()
                    ),
                ),
            }
        }
        let (open, close) = (hhmm(cx, f, &st.open), hhmm(cx, f, &st.close));
        if open >= close {
            cx.err(
                f,
                st.close.span(),
                format!(
                    "close {} is not after open {}; these hours can never be open",
                    st.close.get_ref(),
                    st.open.get_ref()
                ),
            );
        }
        staffed.push(StaffedHours { days, open, close });
    }
    let staff_exit_pin = r.staff.as_ref().map(|st| {
        let pin = st.exit_pin.get_ref();
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            cx.err(
                f,
                st.exit_pin.span(),
                "staff.exit_pin must be 4 to 8 digits",
            );
        }
        pin.clone()
    });
    Some(KioskSettings {
        kiosk_id: r.kiosk_id.into_inner(),
        hall_id: r.hall_id.into_inner(),
        hall_name: localized(cx, f, &r.hall_name_zh, &r.hall_name_en, "hall name"),
        languages,
        practice: r.practice,
        devices,
        endpoints,
        timeouts,
        face,
        staff_exit_pin,
        schedule: Schedule {
            utc_offset_minutes: utc,
            holidays,
            staffed,
        },
    })
}

// ---- zones.toml --------------------------------------------------------------------------

fn zones(cx: &mut Ctx, f: &str, r: RawZones) -> Option<Vec<Zone>> {
    let mut out: Vec<Zone> = Vec::new();
    for z in r.zone {
        let code = z.code.get_ref();
        let valid = code.len() == 3
            && code.starts_with('Z')
            && code[1..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            cx.err(
                f,
                z.code.span(),
                format!("zone code '{code}' must be Z and two digits, like Z01"),
            );
        }
        if out.iter().any(|o| &o.code == code) {
            cx.err(f, z.code.span(), format!("zone code {code} is used twice"));
        }
        let key = z.key.get_ref();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            cx.err(
                f,
                z.key.span(),
                format!("zone key '{key}' must be lowercase letters and '_'"),
            );
        }
        if out.iter().any(|o| &o.key == key) {
            cx.err(f, z.key.span(), format!("zone key '{key}' is used twice"));
        }
        let order = ranged(cx, f, &z.order, "order", 1, 99);
        if out.iter().any(|o| o.order == order) {
            cx.err(
                f,
                z.order.span(),
                format!("order {order} is used by another zone; each zone needs its own place"),
            );
        }
        let icon = z.icon.get_ref();
        if icon.starts_with('/')
            || icon.contains("..")
            || !(icon.ends_with(".svg") || icon.ends_with(".png"))
        {
            cx.err(
                f,
                z.icon.span(),
                format!("icon '{icon}' must be a relative .svg or .png path under assets/"),
            );
        }
        let hours = match z.hours.get_ref().as_str() {
            "always" => ZoneHours::Always,
            "staffed" => ZoneHours::Staffed,
            other => {
                cx.err(
                    f,
                    z.hours.span(),
                    format!("hours '{other}' must be \"always\" or \"staffed\""),
                );
                ZoneHours::Staffed
            }
        };
        out.push(Zone {
            code: code.clone(),
            key: key.clone(),
            name: localized(cx, f, &z.name_zh, &z.name_en, "zone name"),
            purpose: localized(cx, f, &z.purpose_zh, &z.purpose_en, "zone purpose"),
            icon: icon.clone(),
            order,
            hours,
        });
    }
    if out.is_empty() {
        cx.err_file(f, "there are no zones; add [[zone]] tables");
    }
    out.sort_by_key(|z| z.order);
    Some(out)
}

// ---- texts.toml --------------------------------------------------------------------------

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find('}') {
            out.insert(rest[..j].to_string());
            rest = &rest[j + 1..];
        }
    }
    out
}

fn texts(cx: &mut Ctx, f: &str, text: &str, langs: &[Lang]) -> Texts {
    let mut map = BTreeMap::new();
    let table = match DeTable::parse(text) {
        Ok(t) => t,
        Err(e) => {
            cx.toml_err(f, &e);
            return Texts::default();
        }
    };
    fn walk(
        cx: &mut Ctx,
        f: &str,
        prefix: &str,
        t: &DeTable,
        langs: &[Lang],
        map: &mut BTreeMap<String, Localized>,
    ) {
        let is_leaf = t
            .iter()
            .any(|(k, _)| Lang::from_code(k.get_ref()).is_some());
        if is_leaf {
            let mut loc = Localized::default();
            let mut span = 0..0;
            for (k, v) in t.iter() {
                span = k.span();
                match (Lang::from_code(k.get_ref()), v.get_ref()) {
                    (Some(l), DeValue::String(s)) => match l {
                        Lang::Zh => loc.zh = s.to_string(),
                        Lang::En => loc.en = s.to_string(),
                    },
                    (Some(_), _) => cx.err(
                        f,
                        v.span(),
                        format!("{prefix}.{} must be a string", k.get_ref()),
                    ),
                    (None, _) => cx.err(
                        f,
                        k.span(),
                        format!(
                            "'{}' in {prefix} is not a language; use zh or en",
                            k.get_ref()
                        ),
                    ),
                }
            }
            for l in langs {
                if loc.get(*l).trim().is_empty() {
                    cx.err(
                        f,
                        span.clone(),
                        format!(
                            "text {prefix} has no {} translation; add `{} = \"…\"`",
                            l.code(),
                            l.code()
                        ),
                    );
                }
            }
            if langs.len() > 1 {
                let p0 = placeholders(loc.get(langs[0]));
                for l in &langs[1..] {
                    let p = placeholders(loc.get(*l));
                    if p != p0 {
                        cx.err(f, span.clone(), format!("text {prefix} uses placeholders {p0:?} in {} but {p:?} in {}; they must match", langs[0].code(), l.code()));
                    }
                }
            }
            map.insert(prefix.to_string(), loc);
            return;
        }
        for (k, v) in t.iter() {
            let key = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            match v.get_ref() {
                DeValue::Table(sub) => walk(cx, f, &key, sub, langs, map),
                _ => cx.err(
                    f,
                    k.span(),
                    format!("'{key}' must be a table with zh and en strings"),
                ),
            }
        }
    }
    walk(cx, f, "", table.get_ref(), langs, &mut map);
    for key in REQUIRED_TEXT_KEYS {
        if !map.contains_key(*key) {
            cx.err_file(
                f,
                format!("the kiosk needs text '{key}'; add [{key}] with zh and en"),
            );
        }
    }
    Texts { map }
}

// ---- businesses/*.toml -----------------------------------------------------------------

struct Refs<'a> {
    zones: &'a [Zone],
    zones_ok: bool,
    forms: &'a BTreeMap<String, Form>,
    broken_forms: &'a HashSet<String>,
    receipts: &'a BTreeMap<String, ReceiptTemplate>,
    broken_receipts: &'a HashSet<String>,
}

fn entry<T: DeserializeOwned>(cx: &mut Ctx, f: &str, v: &Spanned<DeValue>) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(v.clone())) {
        Ok(x) => Some(x),
        Err(e) => {
            // Errors inside an entry carry the entry's span when the inner one is unknown.
            let span = e.span().unwrap_or(v.span());
            let msg = e.message().trim().replace('\n', " ");
            cx.at(Severity::Error, f, Some(span), msg);
            None
        }
    }
}

fn businesses(
    cx: &mut Ctx,
    files: &BTreeMap<&str, &str>,
    refs: &Refs,
) -> (Vec<Category>, Vec<Business>) {
    let mut cats = Vec::new();
    let mut out: Vec<Business> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut any = false;
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.starts_with("businesses/") && p.ends_with(".toml"))
    {
        any = true;
        let table = match DeTable::parse(text) {
            Ok(t) => t,
            Err(e) => {
                cx.toml_err(path, &e);
                continue;
            }
        };
        let t = table.get_ref();
        for (k, _) in t.iter() {
            if !matches!(k.get_ref().as_ref(), "category" | "business") {
                cx.err(
                    path,
                    k.span(),
                    format!(
                        "'{}' is not allowed here; a business file has [category] and [[business]]",
                        k.get_ref()
                    ),
                );
            }
        }
        let cat = match t.get("category") {
            Some(v) => entry::<RawCategory>(cx, path, v).and_then(|c| {
                let code = c.code.get_ref();
                let mut chars = code.chars();
                match (chars.next(), chars.next()) {
                    (Some(ch), None) if ch.is_ascii_uppercase() => {
                        if cats.iter().any(|x: &Category| x.code == ch) {
                            cx.err(
                                path,
                                c.code.span(),
                                format!("category {ch} is defined in two files"),
                            );
                        }
                        let cat = Category {
                            code: ch,
                            name: localized(cx, path, &c.name_zh, &c.name_en, "category name"),
                        };
                        cats.push(cat.clone());
                        Some(cat)
                    }
                    _ => {
                        cx.err(
                            path,
                            c.code.span(),
                            format!("category code '{code}' must be one capital letter"),
                        );
                        None
                    }
                }
            }),
            None => {
                cx.err_file(
                    path,
                    "this file has no [category] table; add one with code, name_zh, name_en",
                );
                None
            }
        };
        let list = match t.get("business").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Array(a))) => a.iter().collect::<Vec<_>>(),
            Some((span, _)) => {
                cx.err(
                    path,
                    span,
                    "business must be written as [[business]] tables",
                );
                continue;
            }
            None => {
                cx.err_file(path, "this file has no [[business]] entries");
                continue;
            }
        };
        for v in list {
            let Some(raw) = entry::<RawBusiness>(cx, path, v) else {
                continue;
            };
            let code = raw.code.get_ref().clone();
            if let Some(prev) = seen.get(&code) {
                cx.err(
                    path,
                    raw.code.span(),
                    format!(
                        "business code {code} is already defined in {prev}; codes must be unique"
                    ),
                );
                continue;
            }
            seen.insert(code.clone(), path.to_string());
            if let Some(b) = business(cx, path, raw, cat.as_ref(), refs) {
                out.push(b);
            }
        }
    }
    if !any {
        cx.err_file("businesses/", "the bundle has no business files");
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    cats.sort_by_key(|c| c.code);
    (cats, out)
}

fn pick<T: Copy>(
    cx: &mut Ctx,
    f: &str,
    v: &S<String>,
    what: &str,
    options: &[(&str, T)],
) -> Option<T> {
    let found = options
        .iter()
        .find(|(n, _)| n == v.get_ref())
        .map(|(_, t)| *t);
    if found.is_none() {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        cx.err(
            f,
            v.span(),
            format!(
                "{what} '{}' does not exist; use one of: {}",
                v.get_ref(),
                names.join(", ")
            ),
        );
    }
    found
}

fn business(
    cx: &mut Ctx,
    f: &str,
    r: RawBusiness,
    cat: Option<&Category>,
    refs: &Refs,
) -> Option<Business> {
    let code = r.code.get_ref().clone();
    let shape = code.len() == 3
        && code.as_bytes()[0].is_ascii_uppercase()
        && code[1..].bytes().all(|b| b.is_ascii_digit());
    if !shape {
        cx.err(
            f,
            r.code.span(),
            format!("business code '{code}' must be a capital letter and two digits, like C02"),
        );
    }
    if let Some(c) = cat
        && shape
        && !code.starts_with(c.code)
    {
        cx.err(
            f,
            r.code.span(),
            format!(
                "business {code} is in the file of category {}; move it or fix its code",
                c.code
            ),
        );
    }
    let name = localized(cx, f, &r.name_zh, &r.name_en, "business name");
    let summary = localized(cx, f, &r.summary_zh, &r.summary_en, "summary");
    let mode = pick(
        cx,
        f,
        &r.mode,
        "mode",
        &[
            ("SS", Mode::SelfService),
            ("BO", Mode::BackOffice),
            ("TK", Mode::Staffed),
        ],
    );
    let identity = pick(
        cx,
        f,
        &r.identity,
        "identity",
        &[
            ("none", IdentityLevel::None),
            ("card", IdentityLevel::Card),
            ("verified", IdentityLevel::Verified),
        ],
    );
    let payment = pick(
        cx,
        f,
        &r.payment,
        "payment",
        &[
            ("none", Payment::None),
            ("tax", Payment::Tax),
            ("social_insurance", Payment::SocialInsurance),
            ("fee", Payment::Fee),
            ("penalty", Payment::Penalty),
        ],
    );
    let audience = pick(
        cx,
        f,
        &r.audience,
        "audience",
        &[
            ("individual", Audience::Individual),
            ("business", Audience::Business),
            ("both", Audience::Both),
        ],
    );
    let operation = pick(cx, f, &r.operation, "operation", &Operation::ALL);
    let minutes = ranged(cx, f, &r.minutes, "minutes", 1, 240);

    let mut zones = Vec::new();
    for z in r.zones.get_ref() {
        let zc = z.get_ref();
        if zones.contains(zc) {
            cx.err(f, z.span(), format!("{code} lists zone {zc} twice"));
        } else if refs.zones_ok && !refs.zones.iter().any(|x| &x.code == zc) {
            let known: Vec<&str> = refs.zones.iter().map(|x| x.code.as_str()).collect();
            cx.err(
                f,
                z.span(),
                format!(
                    "{code} lists zone {zc}, which zones.toml does not define (zones: {})",
                    known.join(", ")
                ),
            );
        }
        zones.push(zc.clone());
    }
    if zones.is_empty() {
        cx.err(
            f,
            r.zones.span(),
            format!("no zone lists {code}, so no taxpayer can reach it; add at least one zone"),
        );
    }

    if r.face_required && identity.is_some_and(|i| i != IdentityLevel::Verified) {
        cx.err(
            f,
            r.identity.span(),
            format!(
                "{code} requires face verification, so identity must be \"verified\", not \"{}\"",
                r.identity.get_ref()
            ),
        );
    }
    if payment.is_some_and(|p| p != Payment::None)
        && identity.is_some_and(|i| i != IdentityLevel::Verified)
    {
        cx.err(
            f,
            r.identity.span(),
            format!("{code} takes a payment, so identity must be \"verified\""),
        );
    }
    let receipt = refs.receipts.get(r.receipt.get_ref());
    if receipt.is_none() && !refs.broken_receipts.contains(r.receipt.get_ref()) {
        let known: Vec<&str> = refs.receipts.keys().map(String::as_str).collect();
        cx.err(
            f,
            r.receipt.span(),
            format!(
                "receipt template '{}' does not exist; add receipts/{}.toml or use one of: {}",
                r.receipt.get_ref(),
                r.receipt.get_ref(),
                known.join(", ")
            ),
        );
    }
    if !refs.forms.contains_key(r.form.get_ref()) && !refs.broken_forms.contains(r.form.get_ref()) {
        cx.err(
            f,
            r.form.span(),
            format!(
                "form '{}' does not exist; add forms/{}.toml",
                r.form.get_ref(),
                r.form.get_ref()
            ),
        );
    }
    if mode == Some(Mode::Staffed) {
        if !matches!(
            operation,
            Some(Operation::Ticket | Operation::Appointment) | None
        ) {
            cx.err(
                f,
                r.operation.span(),
                format!(
                    "{code} is staffed (TK), so its operation must be \"ticket\" or \"appointment\""
                ),
            );
        }
        if let Some(rt) = receipt
            && rt.kind != ReceiptKind::Ticket
        {
            cx.err(
                f,
                r.receipt.span(),
                format!(
                    "{code} is staffed (TK); its receipt must be a ticket template, not '{}'",
                    rt.id
                ),
            );
        }
        for z in r.zones.get_ref() {
            if refs
                .zones
                .iter()
                .any(|x| &x.code == z.get_ref() && x.hours == ZoneHours::Always)
            {
                cx.err(f, z.span(), format!("{code} needs staff (TK) but zone {} is open 24 hours; list it only in staffed zones", z.get_ref()));
            }
        }
    }
    let (mz, me) = (r.materials_zh.get_ref(), r.materials_en.get_ref());
    if mz.len() != me.len() {
        cx.err(
            f,
            r.materials_en.span(),
            format!(
                "{code} has {} materials in Chinese but {} in English; each needs both",
                mz.len(),
                me.len()
            ),
        );
    }
    if mz.iter().chain(me).any(|m| m.trim().is_empty()) {
        cx.err(
            f,
            r.materials_zh.span(),
            format!("{code} has an empty material; remove it or write it"),
        );
    }
    let materials = mz
        .iter()
        .zip(me)
        .map(|(z, e)| Localized::new(z.clone(), e.clone()))
        .collect();

    Some(Business {
        category: code.chars().next().unwrap_or('?'),
        code,
        name,
        summary,
        audience: audience?,
        zones,
        mode: mode?,
        identity: identity?,
        face_required: r.face_required,
        payment: payment?,
        minutes,
        operation: operation?,
        receipt: r.receipt.into_inner(),
        form: r.form.into_inner(),
        materials,
        keywords: r.keywords,
    })
}

// ---- guidance.toml -----------------------------------------------------------------------

fn guidance(
    cx: &mut Ctx,
    f: &str,
    r: RawGuidance,
    zones: &[Zone],
    businesses: &[Business],
) -> Option<Guidance> {
    let before = cx.diags.len();
    let mut nodes: BTreeMap<String, GuidanceNode> = BTreeMap::new();
    let mut spans: HashMap<String, Range<usize>> = HashMap::new();
    for n in &r.node {
        if spans.insert(n.id.get_ref().clone(), n.id.span()).is_some() {
            cx.err(
                f,
                n.id.span(),
                format!("guidance node '{}' is defined twice", n.id.get_ref()),
            );
        }
    }
    for n in r.node {
        let question = localized(cx, f, &n.question_zh, &n.question_en, "question");
        if n.option.get_ref().len() < 2 {
            cx.err(f, n.option.span(), format!("node '{}' needs at least two options; a question with one answer is not a question", n.id.get_ref()));
        }
        let mut options = Vec::new();
        for o in n.option.get_ref() {
            let label = localized(cx, f, &o.zh, &o.en, "option label");
            let given: Vec<(&str, &S<String>)> = [
                ("next", &o.next),
                ("business", &o.business),
                ("zone", &o.zone),
                ("ticket", &o.ticket),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect();
            if given.len() != 1 {
                cx.err(f, o.zh.span(), format!("option '{}' must lead to exactly one of next, business, zone or ticket (it has {})", o.zh.get_ref(), given.len()));
                continue;
            }
            let (kind, v) = given[0];
            let val = v.get_ref();
            let target = match kind {
                "next" => {
                    if !spans.contains_key(val) {
                        cx.err(f, v.span(), format!("there is no guidance node '{val}'"));
                    }
                    GuidanceTarget::Node(val.clone())
                }
                "business" => {
                    if !businesses.iter().any(|b| &b.code == val) {
                        cx.err(f, v.span(), format!("there is no business {val}"));
                    }
                    GuidanceTarget::Business(val.clone())
                }
                "zone" => {
                    if !zones.iter().any(|z| &z.code == val) {
                        cx.err(f, v.span(), format!("there is no zone {val}"));
                    }
                    GuidanceTarget::Zone(val.clone())
                }
                _ => match TicketCategory::ALL.iter().find(|(n, _)| n == val) {
                    Some((_, c)) => GuidanceTarget::Ticket(*c),
                    None => {
                        cx.err(
                            f,
                            v.span(),
                            format!("ticket '{val}' must be individual, business or priority"),
                        );
                        continue;
                    }
                },
            };
            options.push(GuidanceOption { label, target });
        }
        nodes.insert(
            n.id.get_ref().clone(),
            GuidanceNode {
                id: n.id.into_inner(),
                question,
                options,
            },
        );
    }
    let start = r.start.get_ref().clone();
    if !nodes.contains_key(&start) {
        cx.err(
            f,
            r.start.span(),
            format!("start node '{start}' does not exist"),
        );
        return None;
    }
    // Every node reachable from the start, and no way round in circles: guidance must end.
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on the path, 2 = done
    fn visit<'n>(
        id: &'n str,
        nodes: &'n BTreeMap<String, GuidanceNode>,
        state: &mut HashMap<&'n str, u8>,
    ) -> Option<&'n str> {
        match state.get(id) {
            Some(1) => return Some(id),
            Some(_) => return None,
            None => {}
        }
        state.insert(id, 1);
        for o in nodes.get(id).map(|n| n.options.as_slice()).unwrap_or(&[]) {
            if let GuidanceTarget::Node(next) = &o.target
                && let Some(c) = visit(next, nodes, state)
            {
                return Some(c);
            }
        }
        state.insert(id, 2);
        None
    }
    if let Some(c) = visit(&start, &nodes, &mut state) {
        cx.err(f, spans[c].clone(), format!("guidance can loop forever through node '{c}'; every path must end at a business, zone or ticket"));
    }
    for (id, span) in &spans {
        if !state.contains_key(id.as_str()) {
            cx.err(
                f,
                span.clone(),
                format!("guidance node '{id}' cannot be reached from the start node '{start}'"),
            );
        }
    }
    if cx.diags[before..]
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return None;
    }
    Some(Guidance { start, nodes })
}

// ---- faq/*.toml --------------------------------------------------------------------------

fn faq_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The knowledge base is optional (a bundle without `faq/` loads with an empty one), but
/// every file that is there is checked as strictly as the rest of the bundle.
fn faq(cx: &mut Ctx, files: &BTreeMap<&str, &str>, businesses: &[Business]) -> Faq {
    // When a business file is broken, its codes are unknown here; saying "there is no
    // business X" for each FAQ that names one would bury the real error.
    let codes_known = !cx
        .diags
        .iter()
        .any(|d| d.severity == Severity::Error && d.file.starts_with("businesses/"));
    let mut out = Faq::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut questions: HashMap<String, String> = HashMap::new();
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.starts_with("faq/") && p.ends_with(".toml"))
    {
        let key = path
            .trim_start_matches("faq/")
            .trim_end_matches(".toml")
            .to_string();
        let table = match DeTable::parse(text) {
            Ok(t) => t,
            Err(e) => {
                cx.toml_err(path, &e);
                continue;
            }
        };
        let t = table.get_ref();
        for (k, _) in t.iter() {
            if !matches!(k.get_ref().as_ref(), "topic" | "entry") {
                cx.err(
                    path,
                    k.span(),
                    format!(
                        "'{}' is not allowed here; a FAQ file has [topic] and [[entry]]",
                        k.get_ref()
                    ),
                );
            }
        }
        match t.get("topic") {
            Some(v) => {
                if let Some(r) = entry::<RawFaqTopic>(cx, path, v) {
                    let name = localized(cx, path, &r.name_zh, &r.name_en, "topic name");
                    out.topics.push(FaqTopic {
                        key: key.clone(),
                        name,
                    });
                }
            }
            None => cx.err_file(
                path,
                "this file has no [topic] table; add one with name_zh and name_en",
            ),
        }
        let list = match t.get("entry").map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Array(a))) => a.iter().collect::<Vec<_>>(),
            Some((span, _)) => {
                cx.err(path, span, "entry must be written as [[entry]] tables");
                continue;
            }
            None => {
                cx.err_file(path, "this file has no [[entry]] tables; add at least one");
                continue;
            }
        };
        for v in list {
            let Some(r) = entry::<RawFaqEntry>(cx, path, v) else {
                continue;
            };
            let before = cx.diags.len();
            let id = r.id.get_ref().clone();
            if !faq_id(&id) {
                cx.err(
                    path,
                    r.id.span(),
                    format!(
                        "FAQ id '{id}' must be lowercase letters, digits and '-', starting with a letter, at most 64 long"
                    ),
                );
            }
            if let Some(prev) = seen.get(&id) {
                cx.err(
                    path,
                    r.id.span(),
                    format!("FAQ id '{id}' is already used in {prev}; ids must be unique"),
                );
                continue;
            }
            seen.insert(id.clone(), path.to_string());
            let question = localized(cx, path, &r.question_zh, &r.question_en, "question");
            let answer = localized(cx, path, &r.answer_zh, &r.answer_en, "answer");
            let source = nonempty(cx, path, &r.source, "the source");
            let mut codes: Vec<String> = Vec::new();
            for c in r.businesses.get_ref() {
                let code = c.get_ref();
                if codes.contains(code) {
                    cx.err(
                        path,
                        c.span(),
                        format!("'{id}' lists business {code} twice"),
                    );
                } else if codes_known && !businesses.iter().any(|b| &b.code == code) {
                    cx.err(
                        path,
                        c.span(),
                        format!("there is no business {code}; use a code from businesses/*.toml"),
                    );
                }
                codes.push(code.clone());
            }
            if codes.is_empty() {
                cx.err(
                    path,
                    r.businesses.span(),
                    format!(
                        "'{id}' leads to no business; list at least one code, the most relevant first"
                    ),
                );
            }
            let mut phrasings = |list: &[S<String>], what: &str| -> Vec<String> {
                let mut v = Vec::new();
                for p in list {
                    if p.get_ref().trim().is_empty() {
                        cx.err(
                            path,
                            p.span(),
                            format!("{what} phrasing of '{id}' is empty; write it or remove it"),
                        );
                    } else {
                        v.push(p.get_ref().trim().to_string());
                    }
                }
                v
            };
            let phrasings_zh = phrasings(&r.phrasings_zh, "a Chinese");
            let phrasings_en = phrasings(&r.phrasings_en, "an English");
            // The same question twice is legal but usually a copy-paste slip, and it makes
            // search show two answers for one question.
            if !question.zh.is_empty() {
                if let Some(prev) = questions.get(&question.zh) {
                    cx.at(
                        Severity::Warning,
                        path,
                        Some(r.question_zh.span()),
                        format!("'{id}' asks the same question as '{prev}'"),
                    );
                } else {
                    questions.insert(question.zh.clone(), id.clone());
                }
            }
            if cx.diags[before..]
                .iter()
                .any(|d| d.severity == Severity::Error)
            {
                continue;
            }
            out.entries.push(FaqEntry {
                id,
                topic: key.clone(),
                question,
                answer,
                businesses: codes,
                source,
                phrasings_zh,
                phrasings_en,
            });
        }
    }
    out
}

// ---- forms/*.toml ------------------------------------------------------------------------

fn ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn parse_expr(cx: &mut Ctx, f: &str, v: &S<String>) -> Option<Expr> {
    match Expr::parse(v.get_ref()) {
        Ok(e) => Some(e),
        Err(e) => {
            // +1 skips the opening quote of the TOML string.
            let at = v.span().start + 1 + e.pos;
            cx.err(
                f,
                at..at,
                format!("in expression \"{}\": {}", v.get_ref(), e.message),
            );
            None
        }
    }
}

fn form(cx: &mut Ctx, f: &str, r: RawForm) -> Option<Form> {
    let errors_before = cx.diags.len();
    let id = r.id.get_ref().clone();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        cx.err(
            f,
            r.id.span(),
            format!("form id '{id}' must be letters, digits and '-'"),
        );
    }
    let stem = f.trim_start_matches("forms/").trim_end_matches(".toml");
    if stem != id {
        cx.err(
            f,
            r.id.span(),
            format!("form id '{id}' must match its file name ({stem}.toml)"),
        );
    }
    let title = localized(cx, f, &r.title_zh, &r.title_en, "form title");
    if r.step.get_ref().is_empty() {
        cx.err(
            f,
            r.step.span(),
            "the form has no [[step]]; add at least one",
        );
    }
    // First pass: field ids and types, so expressions can refer to any field.
    let mut types: HashMap<String, (Ty, Option<Vec<String>>)> = HashMap::new();
    // Fields whose type is itself wrong: expressions using them are not checked again,
    // so one typo gives one message.
    let mut untyped: HashSet<String> = HashSet::new();
    let mut step_ids = HashSet::new();
    for s in r.step.get_ref() {
        if !step_ids.insert(s.id.get_ref().clone()) {
            cx.err(
                f,
                s.id.span(),
                format!("step id '{}' is used twice in this form", s.id.get_ref()),
            );
        }
        if s.field.get_ref().is_empty() {
            cx.err(
                f,
                s.field.span(),
                format!("step '{}' has no fields", s.id.get_ref()),
            );
        }
        for fl in s.field.get_ref() {
            let fid = fl.id.get_ref();
            if !ident(fid) {
                cx.err(
                    f,
                    fl.id.span(),
                    format!(
                        "field id '{fid}' must start with a lowercase letter and use a-z, 0-9, '_'"
                    ),
                );
            }
            let ty = match fl.ty.get_ref().as_str() {
                "integer" | "amount" | "rate" | "computed" | "date" | "period" => Ty::Num,
                "bool" => Ty::Bool,
                t if FIELD_TYPES.contains(&t) => Ty::Str,
                _ => {
                    untyped.insert(fid.clone());
                    Ty::Str
                }
            };
            let opts = fl.options.as_ref().map(|o| {
                o.get_ref()
                    .iter()
                    .map(|x| x.value.get_ref().clone())
                    .collect()
            });
            if types.insert(fid.clone(), (ty, opts)).is_some() {
                cx.err(
                    f,
                    fl.id.span(),
                    format!("field id '{fid}' is used twice in this form"),
                );
            }
        }
    }
    let var_ty = |name: &str| types.get(name).map(|t| t.0);
    let mut check_expr = |cx: &mut Ctx, v: &S<String>, want: Ty, what: &str| -> Option<Expr> {
        let e = parse_expr(cx, f, v)?;
        if e.vars().iter().any(|v| untyped.contains(*v)) {
            return Some(e);
        }
        match e.typecheck(&var_ty) {
            Ok(t) if t == want => {}
            Ok(t) => cx.err(
                f,
                v.span(),
                format!(
                    "{what} must give {}, but \"{}\" gives {}",
                    want.name(),
                    v.get_ref(),
                    t.name()
                ),
            ),
            Err(m) => cx.err(f, v.span(), format!("in {what} \"{}\": {m}", v.get_ref())),
        }
        for (var, lit) in e.string_comparisons() {
            if let Some((_, Some(opts))) = types.get(var)
                && !opts.iter().any(|o| o == lit)
            {
                cx.err(f, v.span(), format!("\"{lit}\" is not an option of '{var}' (options: {}), so this comparison can never be true", opts.join(", ")));
            }
        }
        if e.vars().is_empty()
            && want == Ty::Bool
            && e.eval(&|_| None) == Ok(crate::expr::Value::Bool(false))
        {
            cx.err(
                f,
                v.span(),
                format!(
                    "{what} \"{}\" is always false, so it can never hold",
                    v.get_ref()
                ),
            );
        }
        Some(e)
    };

    let mut steps = Vec::new();
    let mut computed_deps: Vec<(String, Vec<String>, Range<usize>)> = Vec::new();
    for s in r.step.get_ref() {
        let mut fields = Vec::new();
        for fl in s.field.get_ref() {
            if let Some(field) = field(cx, f, fl, &mut check_expr) {
                if let FieldKind::Computed(e) = &field.kind {
                    computed_deps.push((
                        field.id.clone(),
                        e.vars().iter().map(|s| s.to_string()).collect(),
                        fl.id.span(),
                    ));
                }
                fields.push(field);
            }
        }
        steps.push(Step {
            id: s.id.get_ref().clone(),
            title: localized(cx, f, &s.title_zh, &s.title_en, "step title"),
            fields,
        });
    }
    // A computed field that depends on itself, directly or not, has no value.
    let deps: HashMap<&str, &Vec<String>> = computed_deps
        .iter()
        .map(|(k, v, _)| (k.as_str(), v))
        .collect();
    for (start, _, span) in &computed_deps {
        let mut stack = vec![start.as_str()];
        let mut seen = HashSet::new();
        while let Some(n) = stack.pop() {
            for d in deps.get(n).map(|v| v.as_slice()).unwrap_or(&[]) {
                if d == start {
                    cx.err(f, span.clone(), format!("computed field '{start}' depends on itself through its expression; break the cycle"));
                    stack.clear();
                    break;
                }
                if seen.insert(d.as_str()) {
                    stack.push(d);
                }
            }
        }
    }
    let mut checks = Vec::new();
    for c in &r.check {
        let message = localized(cx, f, &c.message_zh, &c.message_en, "check message");
        if let Some(expr) = check_expr(cx, &c.expr, Ty::Bool, "a check") {
            checks.push(Check { expr, message });
        }
    }
    if cx.diags[errors_before..]
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return None;
    }
    Some(Form {
        id,
        title,
        steps,
        checks,
    })
}

fn amount_bound(s: &str) -> Result<Amount, String> {
    Amount::parse_signed(s).map_err(|e| match e {
        crate::money::AmountError::Overflow => format!(
            "{e} (the most is {})",
            Amount::from_fen(crate::money::MAX_FEN)
        ),
        e => e.to_string(),
    })
}

fn rate_bound(s: &str) -> Result<Rational, String> {
    Rational::parse_decimal(s).ok_or_else(|| "write a percentage such as 3 or 1.5".to_string())
}

const FIELD_TYPES: &[&str] = &[
    "text",
    "integer",
    "amount",
    "rate",
    "date",
    "period",
    "choice",
    "bool",
    "id_number",
    "credit_code",
    "phone",
    "computed",
];

type ExprCheck<'x> = dyn FnMut(&mut Ctx, &S<String>, Ty, &str) -> Option<Expr> + 'x;

fn field(cx: &mut Ctx, f: &str, r: &RawField, check_expr: &mut ExprCheck) -> Option<Field> {
    let id = r.id.get_ref().clone();
    let ty = r.ty.get_ref().as_str();
    if !FIELD_TYPES.contains(&ty) {
        cx.err(
            f,
            r.ty.span(),
            format!(
                "field type '{ty}' does not exist; use one of: {}",
                FIELD_TYPES.join(", ")
            ),
        );
        return None;
    }
    // Keys that only make sense for some types: a misplaced one is a rule that is ignored.
    let allowed: &[&str] = match ty {
        "text" => &["min_len", "max_len", "pattern"],
        "integer" | "amount" | "rate" => &["min", "max"],
        "period" => &["period"],
        "choice" => &["options"],
        "computed" => &["expr"],
        _ => &[],
    };
    let present = [
        ("min", r.min.as_ref().map(|v| v.span())),
        ("max", r.max.as_ref().map(|v| v.span())),
        ("min_len", r.min_len.as_ref().map(|v| v.span())),
        ("max_len", r.max_len.as_ref().map(|v| v.span())),
        ("pattern", r.pattern.as_ref().map(|v| v.span())),
        ("period", r.period.as_ref().map(|v| v.span())),
        ("options", r.options.as_ref().map(|v| v.span())),
        ("expr", r.expr.as_ref().map(|v| v.span())),
    ];
    for (key, span) in present {
        if let Some(span) = span
            && !allowed.contains(&key)
        {
            cx.err(
                f,
                span,
                format!(
                    "'{key}' does not apply to a {ty} field ('{id}'); remove it or change the type"
                ),
            );
        }
    }
    let label = localized(cx, f, &r.label_zh, &r.label_en, "label");
    let help = match (&r.help_zh, &r.help_en) {
        (Some(z), Some(e)) => Some(localized(cx, f, z, e, "help")),
        (None, None) => None,
        (Some(z), None) => {
            cx.err(
                f,
                z.span(),
                format!("field '{id}' has help_zh but no help_en; add the translation"),
            );
            None
        }
        (None, Some(e)) => {
            cx.err(
                f,
                e.span(),
                format!("field '{id}' has help_en but no help_zh; add the translation"),
            );
            None
        }
    };

    fn bound<T: PartialOrd + Copy>(
        cx: &mut Ctx,
        f: &str,
        v: &Option<S<String>>,
        parse: impl Fn(&str) -> Result<T, String>,
        what: &str,
    ) -> Option<T> {
        let v = v.as_ref()?;
        match parse(v.get_ref()) {
            Ok(p) => Some(p),
            Err(why) => {
                cx.err(
                    f,
                    v.span(),
                    format!("'{}' is not a valid {what}: {why}", v.get_ref()),
                );
                None
            }
        }
    }
    fn order<T: PartialOrd>(
        cx: &mut Ctx,
        f: &str,
        lo: &Option<T>,
        hi: &Option<T>,
        span: Option<Range<usize>>,
        id: &str,
    ) {
        if let (Some(a), Some(b), Some(s)) = (lo, hi, span)
            && a > b
        {
            cx.err(
                f,
                s,
                format!("field '{id}' has min above max, so no value can ever be valid"),
            );
        }
    }
    let max_span = r.max.as_ref().map(|v| v.span());
    let kind = match ty {
        "text" => {
            let min_len = r
                .min_len
                .as_ref()
                .map(|v| ranged(cx, f, v, "min_len", 0, 10_000) as usize);
            let max_len = r
                .max_len
                .as_ref()
                .map(|v| ranged(cx, f, v, "max_len", 1, 10_000) as usize);
            order(
                cx,
                f,
                &min_len,
                &max_len,
                r.max_len.as_ref().map(|v| v.span()),
                &id,
            );
            let pattern = r.pattern.as_ref().and_then(|p| {
                match Regex::new(&format!("^(?:{})$", p.get_ref())) {
                    Ok(re) => Some(re),
                    Err(e) => {
                        let first = e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        cx.err(
                            f,
                            p.span(),
                            format!("pattern of '{id}' is not a valid regular expression: {first}"),
                        );
                        None
                    }
                }
            });
            FieldKind::Text {
                min_len,
                max_len,
                pattern,
            }
        }
        "integer" => {
            let (lo, hi) = (
                bound(
                    cx,
                    f,
                    &r.min,
                    |s| s.parse::<i64>().map_err(|e| e.to_string()),
                    "integer",
                ),
                bound(
                    cx,
                    f,
                    &r.max,
                    |s| s.parse::<i64>().map_err(|e| e.to_string()),
                    "integer",
                ),
            );
            order(cx, f, &lo, &hi, max_span, &id);
            FieldKind::Integer { min: lo, max: hi }
        }
        "amount" => {
            let (lo, hi) = (
                bound(cx, f, &r.min, amount_bound, "amount"),
                bound(cx, f, &r.max, amount_bound, "amount"),
            );
            order(cx, f, &lo, &hi, max_span, &id);
            FieldKind::Amount { min: lo, max: hi }
        }
        "rate" => {
            let (lo, hi) = (
                bound(cx, f, &r.min, rate_bound, "rate"),
                bound(cx, f, &r.max, rate_bound, "rate"),
            );
            order(cx, f, &lo, &hi, max_span, &id);
            FieldKind::Rate { min: lo, max: hi }
        }
        "date" => FieldKind::Date,
        "period" => match r.period.as_ref().map(|p| (p.span(), p.get_ref().as_str())) {
            Some((_, "month")) => FieldKind::Period(PeriodKind::Month),
            Some((_, "quarter")) => FieldKind::Period(PeriodKind::Quarter),
            Some((_, "year")) => FieldKind::Period(PeriodKind::Year),
            Some((span, other)) => {
                cx.err(
                    f,
                    span,
                    format!("period '{other}' must be month, quarter or year"),
                );
                return None;
            }
            None => {
                cx.err(
                    f,
                    r.ty.span(),
                    format!(
                        "period field '{id}' needs period = \"month\", \"quarter\" or \"year\""
                    ),
                );
                return None;
            }
        },
        "choice" => {
            let Some(opts) = &r.options else {
                cx.err(
                    f,
                    r.ty.span(),
                    format!(
                        "choice field '{id}' needs options = [{{ value = …, zh = …, en = … }}]"
                    ),
                );
                return None;
            };
            let mut out: Vec<ChoiceOption> = Vec::new();
            for o in opts.get_ref() {
                if out.iter().any(|x| &x.value == o.value.get_ref()) {
                    cx.err(
                        f,
                        o.value.span(),
                        format!("option '{}' appears twice in '{id}'", o.value.get_ref()),
                    );
                }
                out.push(ChoiceOption {
                    value: o.value.get_ref().clone(),
                    label: localized(cx, f, &o.zh, &o.en, "option label"),
                });
            }
            if out.len() < 2 {
                cx.err(
                    f,
                    opts.span(),
                    format!("choice field '{id}' needs at least two options"),
                );
            }
            FieldKind::Choice(out)
        }
        "bool" => FieldKind::Bool,
        "id_number" => FieldKind::IdNumber,
        "credit_code" => FieldKind::CreditCode,
        "phone" => FieldKind::Phone,
        "computed" => {
            let Some(src) = &r.expr else {
                cx.err(
                    f,
                    r.ty.span(),
                    format!("computed field '{id}' needs expr = \"…\""),
                );
                return None;
            };
            FieldKind::Computed(check_expr(
                cx,
                src,
                Ty::Num,
                &format!("the expression of '{id}'"),
            )?)
        }
        _ => unreachable!("checked against FIELD_TYPES above"),
    };
    let visible_if = match &r.visible_if {
        Some(v) => Some(check_expr(
            cx,
            v,
            Ty::Bool,
            &format!("visible_if of '{id}'"),
        )?),
        None => None,
    };
    if let Some(d) = &r.default {
        let probe = Field {
            id: id.clone(),
            label: label.clone(),
            help: None,
            required: true,
            kind: kind.clone(),
            visible_if: None,
            default: None,
        };
        if let Err(e) = crate::form::parse_value(&probe, d.get_ref()) {
            cx.err(
                f,
                d.span(),
                format!(
                    "default '{}' of '{id}' is not valid: {}",
                    d.get_ref(),
                    e.message(Lang::En)
                ),
            );
        }
    }
    Some(Field {
        id,
        label,
        help,
        required: r.required && ty != "computed",
        kind,
        visible_if,
        default: r.default.as_ref().map(|d| d.get_ref().clone()),
    })
}

// ---- receipts/*.toml ---------------------------------------------------------------------

fn receipt(cx: &mut Ctx, f: &str, r: RawReceipt) -> Option<ReceiptTemplate> {
    let before = cx.diags.len();
    let id = r.id.get_ref().clone();
    let stem = f.trim_start_matches("receipts/").trim_end_matches(".toml");
    if stem != id {
        cx.err(
            f,
            r.id.span(),
            format!("receipt id '{id}' must match its file name ({stem}.toml)"),
        );
    }
    let kind = pick(
        cx,
        f,
        &r.kind,
        "kind",
        &[
            ("receipt", ReceiptKind::Receipt),
            ("certificate", ReceiptKind::Certificate),
            ("ticket", ReceiptKind::Ticket),
            ("notice", ReceiptKind::Notice),
        ],
    );
    let check_placeholders = |cx: &mut Ctx, v: &S<String>| {
        for p in placeholders(v.get_ref()) {
            if !RECEIPT_PLACEHOLDERS.contains(&p.as_str()) {
                cx.err(
                    f,
                    v.span(),
                    format!(
                        "placeholder {{{p}}} does not exist; use one of: {}",
                        RECEIPT_PLACEHOLDERS.join(", ")
                    ),
                );
            }
        }
    };
    let mut lines = Vec::new();
    for l in &r.line {
        check_placeholders(cx, &l.value);
        lines.push(ReceiptLine {
            label: localized(cx, f, &l.label_zh, &l.label_en, "line label"),
            value: l.value.get_ref().clone(),
        });
    }
    for v in [&r.qr, &r.barcode].into_iter().flatten() {
        check_placeholders(cx, v);
    }
    let t = ReceiptTemplate {
        id,
        kind: kind?,
        title: localized(cx, f, &r.title_zh, &r.title_en, "title"),
        lines,
        form_lines: r.form_lines,
        qr: r.qr.map(|q| q.into_inner()),
        barcode: r.barcode.map(|b| b.into_inner()),
        footer: localized(cx, f, &r.footer_zh, &r.footer_en, "footer"),
    };
    if cx.diags[before..]
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return None;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let t = "a = 1\n名 = \"x\"\n";
        let off = t.find('x').unwrap();
        assert_eq!(line_col(t, off), (2, 6));
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 10_000), (3, 1));
    }

    #[test]
    fn hash_depends_on_paths_and_bytes() {
        let mut a = BundleFiles::default();
        a.insert("x", "ab");
        a.insert("y", "c");
        let mut b = BundleFiles::default();
        b.insert("x", "a");
        b.insert("y", "bc");
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash(), a.clone().content_hash());
    }
}
