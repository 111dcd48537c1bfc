//! Filling in a form: parse what the taxpayer typed into a typed value, compute the
//! computed fields, and check every rule. The kiosk runs this live on each keystroke,
//! and the back office runs the same code to recompute and refuse disagreeing values.

use std::collections::BTreeMap;

use crate::config::{Field, FieldKind, Form};
use crate::expr::{EvalError, Rational, Value};
use crate::ids::{CreditCode, Date, IdError, IdNumber, Phone, TaxPeriod};
use crate::money::{Amount, AmountError};
use crate::{Lang, Localized};

/// A field's value, typed. Personal identifiers keep their masking newtypes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Integer(i64),
    Amount(Amount),
    Rate(Rational),
    Date(Date),
    Period(TaxPeriod),
    Choice(String),
    Bool(bool),
    IdNumber(IdNumber),
    CreditCode(CreditCode),
    Phone(Phone),
}

impl FieldValue {
    /// The value as the expression language sees it. Amounts are fen.
    pub fn to_expr(&self) -> Value {
        match self {
            FieldValue::Integer(i) => Value::Num(Rational::int(*i)),
            FieldValue::Amount(a) => Value::Num(Rational::int(a.fen())),
            FieldValue::Rate(r) => Value::Num(*r),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Choice(s) | FieldValue::Text(s) => Value::Str(s.clone()),
            // Dates and periods are numbers so that they compare and subtract: a date is
            // days since 1970-01-01, a period the index of its first month.
            FieldValue::Date(d) => Value::Num(Rational::int(d.days_since_epoch())),
            FieldValue::Period(p) => Value::Num(Rational::int(p.start_index())),
            FieldValue::IdNumber(_) | FieldValue::CreditCode(_) | FieldValue::Phone(_) => {
                Value::Str(String::new())
            }
        }
    }

    /// The canonical text of the value on the wire to the back office: exactly what
    /// [`parse_value`] accepts back, so both ends read the same value. Identifiers are
    /// unmasked here because the back office needs them; this is the only place.
    pub fn wire(&self) -> String {
        match self {
            FieldValue::Text(s) | FieldValue::Choice(s) => s.clone(),
            FieldValue::Integer(i) => i.to_string(),
            FieldValue::Amount(a) => a.plain(),
            FieldValue::Rate(r) => rate_text(*r),
            FieldValue::Date(d) => d.to_string(),
            FieldValue::Period(p) => p.to_string(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::IdNumber(i) => i.expose().to_string(),
            FieldValue::CreditCode(c) => c.as_str().to_string(),
            FieldValue::Phone(p) => p.expose().to_string(),
        }
    }

    /// How the value shows on a review screen or a receipt (identifiers masked).
    pub fn display(&self, field: &Field, lang: Lang) -> String {
        match (self, &field.kind) {
            (FieldValue::Choice(v), FieldKind::Choice(opts)) => opts
                .iter()
                .find(|o| &o.value == v)
                .map_or(v.clone(), |o| o.label.get(lang).to_string()),
            (FieldValue::Bool(b), _) => match (lang, b) {
                (Lang::Zh, true) => "是".into(),
                (Lang::Zh, false) => "否".into(),
                (Lang::En, true) => "Yes".into(),
                (Lang::En, false) => "No".into(),
            },
            (FieldValue::Amount(a), _) => a.to_string(),
            (FieldValue::Integer(i), _) => i.to_string(),
            (FieldValue::Rate(r), _) => format!("{}%", rate_text(*r)),
            (FieldValue::Text(s), _) | (FieldValue::Choice(s), _) => s.clone(),
            (FieldValue::Date(d), _) => d.to_string(),
            (FieldValue::Period(p), _) => p.to_string(),
            (FieldValue::IdNumber(i), _) => i.masked(),
            (FieldValue::CreditCode(c), _) => c.masked(),
            (FieldValue::Phone(p), _) => p.masked(),
        }
    }
}

fn rate_text(r: Rational) -> String {
    // Rates are entered with at most a few decimals; show them that way.
    for places in 0..=4u32 {
        let scale = 10i128.pow(places);
        if (r.numer() * scale) % r.denom() == 0 {
            let v = r.numer() * scale / r.denom();
            if places == 0 {
                return v.to_string();
            }
            let s = format!("{:0width$}", v.abs(), width = places as usize + 1);
            let (i, f) = s.split_at(s.len() - places as usize);
            return format!("{}{i}.{f}", if v < 0 { "-" } else { "" });
        }
    }
    r.to_string()
}

/// Why a value was refused, in words for the taxpayer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    Required,
    Amount(AmountError),
    Id(IdError),
    NotInteger,
    NotRate,
    BelowMin(String),
    AboveMax(String),
    TooShort(usize),
    TooLong(usize),
    Pattern,
    NotAnOption,
    NotBool,
    WrongPeriod,
    Check(Localized),
    Compute(String),
}

impl FieldError {
    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            FieldError::Required => if zh {
                "此项必填"
            } else {
                "This field is required"
            }
            .into(),
            FieldError::Amount(e) => {
                if zh {
                    e.zh()
                } else {
                    e.to_string()
                }
            }
            FieldError::Id(e) => e.message(lang),
            FieldError::NotInteger => if zh {
                "请输入整数"
            } else {
                "Enter a whole number"
            }
            .into(),
            FieldError::NotRate => if zh {
                "请输入百分比数值，例如 3 或 1.5"
            } else {
                "Enter a percentage such as 3 or 1.5"
            }
            .into(),
            FieldError::BelowMin(m) => {
                if zh {
                    format!("不能小于 {m}")
                } else {
                    format!("Must be at least {m}")
                }
            }
            FieldError::AboveMax(m) => {
                if zh {
                    format!("不能大于 {m}")
                } else {
                    format!("Must be at most {m}")
                }
            }
            FieldError::TooShort(n) => {
                if zh {
                    format!("至少填写 {n} 个字")
                } else {
                    format!("Write at least {n} characters")
                }
            }
            FieldError::TooLong(n) => {
                if zh {
                    format!("最多填写 {n} 个字")
                } else {
                    format!("Write at most {n} characters")
                }
            }
            FieldError::Pattern => if zh {
                "格式不正确"
            } else {
                "The format is not right"
            }
            .into(),
            FieldError::NotAnOption => if zh {
                "请从选项中选择"
            } else {
                "Choose one of the options"
            }
            .into(),
            FieldError::NotBool => if zh {
                "请选择是或否"
            } else {
                "Choose yes or no"
            }
            .into(),
            FieldError::WrongPeriod => if zh {
                "所属期类型不对（月、季或年）"
            } else {
                "Wrong kind of period (month, quarter or year)"
            }
            .into(),
            FieldError::Check(m) => m.get(lang).to_string(),
            FieldError::Compute(m) => {
                if zh {
                    format!("无法计算：{m}")
                } else {
                    format!("Cannot compute: {m}")
                }
            }
        }
    }
}

/// Parses what the taxpayer typed for one field, applying its type's own rules
/// (range, length, pattern, options). Empty input is `Required` for every type.
pub fn parse_value(field: &Field, input: &str) -> Result<FieldValue, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(FieldError::Required);
    }
    Ok(match &field.kind {
        FieldKind::Text {
            min_len,
            max_len,
            pattern,
        } => {
            let n = s.chars().count();
            if let Some(m) = min_len.filter(|m| n < *m) {
                return Err(FieldError::TooShort(m));
            }
            if let Some(m) = max_len.filter(|m| n > *m) {
                return Err(FieldError::TooLong(m));
            }
            if pattern.as_ref().is_some_and(|p| !p.is_match(s)) {
                return Err(FieldError::Pattern);
            }
            FieldValue::Text(s.to_string())
        }
        FieldKind::Integer { min, max } => {
            let v: i64 = s.parse().map_err(|_| FieldError::NotInteger)?;
            if let Some(m) = min.filter(|m| v < *m) {
                return Err(FieldError::BelowMin(m.to_string()));
            }
            if let Some(m) = max.filter(|m| v > *m) {
                return Err(FieldError::AboveMax(m.to_string()));
            }
            FieldValue::Integer(v)
        }
        FieldKind::Amount { min, max } => {
            let allow_negative = min.is_some_and(|m| m.fen() < 0);
            let v = if allow_negative {
                Amount::parse_signed(s)
            } else {
                Amount::parse(s)
            }
            .map_err(FieldError::Amount)?;
            if let Some(m) = min.filter(|m| v < *m) {
                return Err(FieldError::BelowMin(m.to_string()));
            }
            if let Some(m) = max.filter(|m| v > *m) {
                return Err(FieldError::AboveMax(m.to_string()));
            }
            FieldValue::Amount(v)
        }
        FieldKind::Rate { min, max } => {
            let v = Rational::parse_decimal(s.trim_end_matches('%').trim())
                .ok_or(FieldError::NotRate)?;
            if let Some(m) = min.filter(|m| v < *m) {
                return Err(FieldError::BelowMin(rate_text(m)));
            }
            if let Some(m) = max.filter(|m| v > *m) {
                return Err(FieldError::AboveMax(rate_text(m)));
            }
            FieldValue::Rate(v)
        }
        FieldKind::Date => FieldValue::Date(Date::parse(s).map_err(FieldError::Id)?),
        FieldKind::Period(kind) => {
            let p = TaxPeriod::parse(s).map_err(FieldError::Id)?;
            if p.kind() != *kind {
                return Err(FieldError::WrongPeriod);
            }
            FieldValue::Period(p)
        }
        FieldKind::Choice(opts) => {
            if !opts.iter().any(|o| o.value == s) {
                return Err(FieldError::NotAnOption);
            }
            FieldValue::Choice(s.to_string())
        }
        FieldKind::Bool => match s {
            "true" | "yes" | "y" | "1" | "是" => FieldValue::Bool(true),
            "false" | "no" | "n" | "0" | "否" => FieldValue::Bool(false),
            _ => return Err(FieldError::NotBool),
        },
        FieldKind::IdNumber => FieldValue::IdNumber(IdNumber::parse(s).map_err(FieldError::Id)?),
        FieldKind::CreditCode => {
            FieldValue::CreditCode(CreditCode::parse(s).map_err(FieldError::Id)?)
        }
        FieldKind::Phone => FieldValue::Phone(Phone::parse(s).map_err(FieldError::Id)?),
        FieldKind::Computed(_) => {
            return Err(FieldError::Compute(
                "computed fields are not typed in".into(),
            ));
        }
    })
}

/// The values entered so far, by field id.
pub type Values = BTreeMap<String, FieldValue>;

/// Computed fields by id, in fen.
pub type Computed = BTreeMap<String, Amount>;

/// Computes every computed field whose inputs are present. A computed field may use
/// another; the loader has ruled out cycles, so a few passes settle it.
pub fn compute(form: &Form, values: &Values) -> Computed {
    let mut out = Computed::new();
    let computed: Vec<_> = form
        .fields()
        .filter_map(|f| match &f.kind {
            FieldKind::Computed(e) => Some((f, e)),
            _ => None,
        })
        .collect();
    for _ in 0..=computed.len() {
        let mut progressed = false;
        for (f, e) in &computed {
            if out.contains_key(&f.id) {
                continue;
            }
            let lookup = |name: &str| lookup(form, values, &out, name);
            if let Ok(Value::Num(r)) = e.eval(&lookup) {
                let fen = r.round();
                if let Ok(fen) = i64::try_from(fen) {
                    out.insert(f.id.clone(), Amount::from_fen(fen));
                    progressed = true;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    out
}

fn lookup(form: &Form, values: &Values, computed: &Computed, name: &str) -> Option<Value> {
    if let Some(a) = computed.get(name) {
        return Some(Value::Num(Rational::int(a.fen())));
    }
    if let Some(v) = values.get(name) {
        return Some(v.to_expr());
    }
    // An optional numeric field left empty counts as zero, as on a paper return.
    let f = form.field(name)?;
    match f.kind {
        FieldKind::Amount { .. } | FieldKind::Integer { .. } | FieldKind::Rate { .. }
            if !f.required =>
        {
            Some(Value::Num(Rational::ZERO))
        }
        FieldKind::Bool if !f.required => Some(Value::Bool(false)),
        _ => None,
    }
}

/// Whether a field is shown, given the values so far.
pub fn is_visible(form: &Form, field: &Field, values: &Values, computed: &Computed) -> bool {
    match &field.visible_if {
        None => true,
        Some(e) => matches!(
            e.eval(&|n| lookup(form, values, computed, n)),
            Ok(Value::Bool(true))
        ),
    }
}

/// Checks a whole form: required visible fields present, and every form-level check
/// whose inputs are present holds. Errors are keyed by field id ("" for form checks).
pub fn validate(form: &Form, values: &Values) -> Vec<(String, FieldError)> {
    let computed = compute(form, values);
    let mut errs = Vec::new();
    for f in form.fields() {
        if matches!(f.kind, FieldKind::Computed(_)) || !is_visible(form, f, values, &computed) {
            continue;
        }
        if f.required && !values.contains_key(&f.id) {
            errs.push((f.id.clone(), FieldError::Required));
        }
    }
    for c in &form.checks {
        match c.expr.eval(&|n| lookup(form, values, &computed, n)) {
            Ok(Value::Bool(true)) | Err(EvalError::Missing(_)) => {}
            Ok(_) => errs.push((String::new(), FieldError::Check(c.message.clone()))),
            Err(e) => errs.push((String::new(), FieldError::Compute(e.to_string()))),
        }
    }
    errs
}

/// Reads values sent over the wire (field id to canonical text), the way the back office
/// receives them: every unknown field, computed field or bad value is an error for that
/// field, so nothing is half-read.
pub fn parse_wire(
    form: &Form,
    wire: &BTreeMap<String, String>,
) -> Result<Values, Vec<(String, FieldError)>> {
    let mut values = Values::new();
    let mut errs = Vec::new();
    for (id, text) in wire {
        match form.field(id) {
            None => errs.push((
                id.clone(),
                FieldError::Compute(format!("'{id}' is not a field of form {}", form.id)),
            )),
            Some(f) if matches!(f.kind, FieldKind::Computed(_)) => errs.push((
                id.clone(),
                FieldError::Compute(format!("'{id}' is computed and cannot be sent")),
            )),
            Some(f) => match parse_value(f, text) {
                Ok(v) => {
                    values.insert(id.clone(), v);
                }
                Err(e) => errs.push((id.clone(), e)),
            },
        }
    }
    if errs.is_empty() {
        Ok(values)
    } else {
        Err(errs)
    }
}

/// Values of fields that are hidden are dropped, so a taxpayer who changes an answer
/// does not submit data for a branch they no longer took.
pub fn visible_values(form: &Form, values: &Values) -> Values {
    let computed = compute(form, values);
    values
        .iter()
        .filter(|(k, _)| {
            form.field(k)
                .is_some_and(|f| is_visible(form, f, values, &computed))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
