//! Print jobs for the receipt printer: an answer from the knowledge base, and the one-time
//! notice of required materials (一次性告知单, business K05). They are plain
//! `kiosk_core::session::PrintJob`s, so the kiosk prints them through the same receipt
//! printer path as every other receipt.

use kiosk_core::Lang;
use kiosk_core::config::{Bundle, ReceiptKind};
use kiosk_core::session::PrintJob;

/// The business whose receipt template is the one-time notice.
pub const NOTICE_BUSINESS: &str = "K05";
/// The shipped template an answer prints on. An answer is a query result ("查询结果",
/// "for reference only; the tax authority's records prevail"), and the template prints
/// extra (label, value) lines, which is where the answer, its source and the businesses go.
pub const ANSWER_TEMPLATE: &str = "query";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrintError {
    #[error("the knowledge base has no entry '{0}'")]
    UnknownEntry(String),
    #[error("the bundle has no business {0}")]
    UnknownBusiness(String),
    #[error("receipt template '{0}' is missing from the bundle")]
    NoTemplate(String),
    #[error("receipt template '{template}' cannot print this: {why}")]
    WrongTemplate { template: String, why: &'static str },
}

/// Line labels of an answer print. The shipped texts have no keys for them yet; they are
/// the printed form's own words, like the labels of a form.
fn labels(lang: Lang) -> [&'static str; 3] {
    match lang {
        Lang::Zh => ["答复", "政策依据", "可办理业务"],
        Lang::En => ["Answer", "Legal basis", "Where to do it"],
    }
}

fn hall_fields(bundle: &Bundle, lang: Lang, time: &str) -> Vec<(String, String)> {
    vec![
        ("hall_name".into(), bundle.kiosk.hall_name.get(lang).into()),
        ("kiosk_id".into(), bundle.kiosk.kiosk_id.clone()),
        ("time".into(), time.into()),
    ]
}

/// The answer of a knowledge-base entry: the question, the answer, its source, and the
/// businesses it leads to with their zones. `time` is the shell's local time as printed
/// elsewhere (`YYYY-MM-DD HH:MM`); the core reads no clock.
pub fn answer_job(
    bundle: &Bundle,
    id: &str,
    lang: Lang,
    time: &str,
) -> Result<PrintJob, PrintError> {
    let e = bundle
        .faq
        .entry(id)
        .ok_or_else(|| PrintError::UnknownEntry(id.to_string()))?;
    let t = bundle
        .receipts
        .get(ANSWER_TEMPLATE)
        .ok_or_else(|| PrintError::NoTemplate(ANSWER_TEMPLATE.into()))?;
    if !t.form_lines {
        return Err(PrintError::WrongTemplate {
            template: t.id.clone(),
            why: "it does not print extra lines (form_lines = false)",
        });
    }
    let [l_answer, l_source, l_where] = labels(lang);
    let mut fields = hall_fields(bundle, lang, time);
    // The template shows {business_name} as "查询事项 / Query": the question goes there.
    fields.push(("business_name".into(), e.question.get(lang).into()));
    // A receipt needs a reference for the journal and reprints; the entry id is one, and
    // it carries nothing personal.
    fields.push(("document_no".into(), format!("FAQ-{}", e.id)));
    let mut lines = vec![
        (l_answer.to_string(), e.answer.get(lang).to_string()),
        (l_source.to_string(), e.source.clone()),
    ];
    for code in &e.businesses {
        // The loader guarantees the codes exist; a stale id would only lose its line.
        if let Some(b) = bundle.business(code) {
            let zones: Vec<&str> = b
                .zones
                .iter()
                .filter_map(|z| bundle.zone(z))
                .map(|z| z.name.get(lang))
                .collect();
            let where_ = match lang {
                Lang::Zh => format!("{} {}（{}）", b.code, b.name.zh, zones.join("、")),
                Lang::En => format!("{} {} ({})", b.code, b.name.en, zones.join(", ")),
            };
            lines.push((l_where.to_string(), where_));
        }
    }
    Ok(PrintJob {
        template: t.id.clone(),
        lang,
        fields,
        lines,
    })
}

/// The one-time notice of what to bring for business `code`, printed on the template of
/// K05. Materials are joined with "; ", which the receipt layout lists one per line.
pub fn notice_job(
    bundle: &Bundle,
    code: &str,
    lang: Lang,
    time: &str,
) -> Result<PrintJob, PrintError> {
    let k05 = bundle
        .business(NOTICE_BUSINESS)
        .ok_or_else(|| PrintError::UnknownBusiness(NOTICE_BUSINESS.into()))?;
    let t = bundle
        .receipts
        .get(&k05.receipt)
        .ok_or_else(|| PrintError::NoTemplate(k05.receipt.clone()))?;
    if t.kind != ReceiptKind::Notice {
        return Err(PrintError::WrongTemplate {
            template: t.id.clone(),
            why: "K05 must print on a template of kind \"notice\"",
        });
    }
    let b = bundle
        .business(code)
        .ok_or_else(|| PrintError::UnknownBusiness(code.to_string()))?;
    let mut fields = hall_fields(bundle, lang, time);
    fields.push(("business_code".into(), b.code.clone()));
    fields.push(("business_name".into(), b.name.get(lang).into()));
    let materials: Vec<String> = b
        .materials
        .iter()
        // A ';' inside one material would split it into two printed items.
        .map(|m| m.get(lang).replace([';', '；'], ","))
        .collect();
    let materials = if materials.is_empty() {
        // The format allows a business with nothing to bring; say so rather than print an
        // empty list that reads like a fault.
        match lang {
            Lang::Zh => "无需携带材料".to_string(),
            Lang::En => "Nothing to bring".to_string(),
        }
    } else {
        materials.join("; ")
    };
    fields.push(("materials".into(), materials));
    Ok(PrintJob {
        template: t.id.clone(),
        lang,
        fields,
        lines: Vec::new(),
    })
}
