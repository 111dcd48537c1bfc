//! Search, suggestions, popularity and print jobs against the shipped bundle. Expected
//! businesses come from what the catalog says each business is for, not from running the
//! search.

use std::sync::Arc;

use consult::{Consultation, Index, Popular, PrintError, Target, answer_job, notice_job};
use kiosk_core::Lang;
use kiosk_core::config::{ReceiptKind, load};
use kiosk_core::session::Event;

mod common;
use common::{bundle, index};

fn top(q: &str, lang: Lang, n: usize) -> Vec<String> {
    index()
        .search(q, lang, n)
        .businesses
        .into_iter()
        .map(|b| b.code)
        .collect()
}

#[test]
fn an_everyday_question_reaches_the_certificate_and_its_answer() {
    let r = index().search("我想打印去年交税的证明", Lang::Zh, 3);
    assert_eq!(r.businesses[0].code, "F01", "{r:#?}");
    let a = r.answer.expect("an answer");
    assert!(a.businesses.contains(&"F01".to_string()), "{a:#?}");
    assert!(!a.source.is_empty());
    // The hit says where the business is offered and how to start it in one tap.
    let hit = &r.businesses[0];
    assert_eq!(hit.zones, bundle().business("F01").unwrap().zones);
    assert!(matches!(hit.start(), Event::ChooseBusiness(c) if c == "F01"));
    assert!(hit.score > 0.0 && hit.score <= 1.0);
}

#[test]
fn a_short_question_beats_a_longer_one_that_contains_it() {
    // The knowledge base also asks "保险公司代收的车船税，怎么开完税证明？" (F02). Plain BM25
    // ranks that longer question's business first; the taxpayer asking just this means
    // the ordinary certificate.
    assert_eq!(top("怎么开完税证明", Lang::Zh, 1), ["F01"]);
    let r = index().search("怎么开完税证明", Lang::Zh, 3);
    assert_eq!(
        r.answer.map(|a| a.id).as_deref(),
        Some("tax-payment-certificate")
    );
}

#[test]
fn answers_come_in_the_language_asked() {
    let zh = index().search("个人所得税年度汇算什么时候办", Lang::Zh, 3);
    let en = index().search("个人所得税年度汇算什么时候办", Lang::En, 3);
    let (zh, en) = (zh.answer.unwrap(), en.answer.unwrap());
    assert_eq!(zh.id, en.id);
    let entry = bundle().faq.entry(&zh.id).unwrap();
    assert_eq!(zh.answer, entry.answer.zh);
    assert_eq!(en.answer, entry.answer.en);
    assert!(entry.businesses.contains(&"C08".to_string()));
}

#[test]
fn english_questions() {
    assert!(top("pay my own pension as a freelancer", Lang::En, 3).contains(&"D01".into()));
    assert!(top("book an appointment", Lang::En, 3).contains(&"K03".into()));
    assert!(top("vehicle purchase tax", Lang::En, 3).contains(&"C09".into()));
}

#[test]
fn english_typos_are_forgiven() {
    // Every content word misspelt, so nothing but typo matching can find these.
    assert!(top("sttamp dutty", Lang::En, 3).contains(&"C13".into()));
    let pension = top("pensoin", Lang::En, 3);
    assert!(
        pension.iter().any(|c| c == "D01" || c == "D03"),
        "{pension:?}"
    );
    assert!(top("lost invocies", Lang::En, 3).contains(&"B11".into()));
}

#[test]
fn homophone_typos_are_forgiven() {
    // What a pinyin keyboard produces: right sounds, wrong characters. In 婉水正名 every
    // character is wrong (完税证明), so only the sound can find the certificate.
    assert!(top("婉水正名", Lang::Zh, 3).contains(&"F01".into()));
    assert!(top("完税证名", Lang::Zh, 3).contains(&"F01".into()));
    assert!(top("个税汇算清交", Lang::Zh, 3).contains(&"C08".into()));
}

#[test]
fn pinyin_initials_and_full_pinyin() {
    let r = index().search("wszm", Lang::Zh, 3);
    assert!(
        r.read_as.as_deref().is_some_and(|s| s.contains("完税证明")),
        "{r:#?}"
    );
    assert!(r.businesses.iter().any(|b| b.code == "F01"), "{r:#?}");
    assert_eq!(top("qszm", Lang::Zh, 1), ["J05"]);
    assert!(top("wanshuizhengming", Lang::Zh, 3).contains(&"F01".into()));
    // A real English word is not read as pinyin.
    assert!(index().search("invoice", Lang::En, 3).read_as.is_none());
}

#[test]
fn nonsense_gives_nothing_and_never_panics() {
    for q in ["", "   ", "？？？", "zzqxj", "的的的", "😀", "a", "\u{0}"] {
        let r = index().search(q, Lang::Zh, 3);
        assert!(r.answer.is_none(), "{q:?}: {r:#?}");
        assert!(r.businesses.len() <= 3);
    }
    assert!(index().search("zzqxj", Lang::Zh, 3).is_empty());
}

#[test]
fn suggestions_as_you_type() {
    let s = index().suggest("完税", Lang::Zh, 5);
    assert_eq!(s.len(), 5);
    assert!(s.iter().all(|x| x.text.contains("完税")), "{s:#?}");
    assert!(
        s.iter().any(|x| x.target == Target::Business("F01".into())),
        "{s:#?}"
    );
    // Each target once.
    let mut t: Vec<&Target> = s.iter().map(|x| &x.target).collect();
    t.dedup();
    assert_eq!(t.len(), s.len());

    // Pinyin initials while typing: "ws" is the start of 完税….
    let p = index().suggest("wszm", Lang::Zh, 4);
    assert!(
        p.iter().any(|x| x.target == Target::Business("F01".into())),
        "{p:#?}"
    );

    // English mode suggests English text.
    let e = index().suggest("lost", Lang::En, 4);
    assert!(!e.is_empty());
    assert!(e.iter().all(|x| x.text.is_ascii()), "{e:#?}");
    assert!(index().suggest("", Lang::Zh, 5).is_empty());
    assert!(index().suggest("完税", Lang::Zh, 0).is_empty());
}

#[test]
fn popular_questions_count_ids_only() {
    let b = bundle();
    let i = index();
    let mut p = Popular::new(&b.kiosk.hall_id);
    let r = i.search("怎么预约到窗口", Lang::Zh, 3);
    let a = r.answer.clone().expect("an answer");
    for _ in 0..3 {
        assert!(i.record(&mut p, &a.target()));
    }
    assert!(i.record(&mut p, &r.businesses[0].target()));
    // Something that is not an id of the bundle is refused: free text never gets in.
    assert!(!i.record(&mut p, &Target::Faq("怎么预约到窗口".into())));
    assert!(!i.record(&mut p, &Target::Business("Z99".into())));
    let json = String::from_utf8(p.to_json()).unwrap();
    assert!(!json.contains("预约"), "{json}");

    let shown = i.popular(&p, Lang::En, 5);
    assert_eq!(shown[0].target, a.target());
    assert_eq!(shown[0].text, b.faq.entry(&a.id).unwrap().question.en);
    assert_eq!(shown.len(), 2);

    // After a config swap an id that no longer exists is skipped, not shown raw.
    let stale = format!(
        r#"{{"version":1,"hall_id":"{}","faq":{{"gone-entry":9}},"business":{{}}}}"#,
        b.kiosk.hall_id
    );
    let p = Popular::from_json(stale.as_bytes(), &b.kiosk.hall_id).unwrap();
    assert!(i.popular(&p, Lang::Zh, 5).is_empty());
}

#[test]
fn the_index_is_rebuilt_with_its_bundle() {
    // A bundle without the knowledge base: businesses are still found by name and
    // keywords, and no answer is invented.
    let mut files = common::files();
    files.files.retain(|p, _| !p.starts_with("faq/"));
    let bare = Arc::new(load(&files).unwrap_or_else(|d| panic!("{d:#?}")).bundle);
    let c = Consultation::new(bare.clone());
    assert_eq!(c.index.bundle_version(), bare.version());
    assert_ne!(c.index.bundle_version(), index().bundle_version());
    let r = c.index.search("印花税申报", Lang::Zh, 3);
    assert!(r.answer.is_none());
    assert_eq!(r.businesses[0].code, "C13");
    assert_eq!(c.index.stats().0, 0);
    let full = Index::build(bundle());
    assert!(full.stats().0 >= 150);
}

/// Placeholders of a template string.
fn placeholders(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if let Some(j) = rest.find('}') {
            out.push(rest[..j].to_string());
            rest = &rest[j + 1..];
        }
    }
    out
}

fn field<'a>(job: &'a kiosk_core::session::PrintJob, name: &str) -> Option<&'a str> {
    job.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn one_time_notice_of_required_materials() {
    let b = bundle();
    let job = notice_job(b, "C19", Lang::Zh, "2027-03-01 10:00").unwrap();
    let t = &b.receipts[&job.template];
    assert_eq!(t.kind, ReceiptKind::Notice);
    assert_eq!(job.template, b.business("K05").unwrap().receipt);
    let want: Vec<&str> = b
        .business("C19")
        .unwrap()
        .materials
        .iter()
        .map(|m| m.zh.as_str())
        .collect();
    assert!(want.len() >= 2);
    let got: Vec<&str> = field(&job, "materials").unwrap().split("; ").collect();
    assert_eq!(got, want);
    // Every line of the template is filled: nothing is left off the paper.
    for l in &t.lines {
        for p in placeholders(&l.value) {
            assert!(field(&job, &p).is_some(), "{p} missing from {job:#?}");
        }
    }
    let en = notice_job(b, "C19", Lang::En, "2027-03-01 10:00").unwrap();
    assert_eq!(
        field(&en, "business_name"),
        Some(b.business("C19").unwrap().name.en.as_str())
    );
    assert_eq!(
        notice_job(b, "Q99", Lang::Zh, "x"),
        Err(PrintError::UnknownBusiness("Q99".into()))
    );
}

#[test]
fn printed_answer() {
    let b = bundle();
    let id = "tax-payment-certificate";
    let e = b.faq.entry(id).unwrap();
    let job = answer_job(b, id, Lang::Zh, "2027-03-01 10:00").unwrap();
    let t = &b.receipts[&job.template];
    assert!(t.form_lines);
    assert_eq!(field(&job, "business_name"), Some(e.question.zh.as_str()));
    // A receipt needs a time and a reference for the printer's journal.
    assert!(field(&job, "time").is_some() && field(&job, "document_no").is_some());
    assert!(job.lines.iter().any(|(_, v)| v == &e.answer.zh));
    assert!(job.lines.iter().any(|(_, v)| v == &e.source));
    // One line per business it leads to, with the zone names.
    let f01 = b.business("F01").unwrap();
    let zone = b.zone(&f01.zones[0]).unwrap();
    assert!(
        job.lines
            .iter()
            .any(|(_, v)| v.starts_with("F01 ") && v.contains(&zone.name.zh)),
        "{job:#?}"
    );
    assert_eq!(job.lines.len(), 2 + e.businesses.len());
    // Only the taxpayer line is left off: an answer print carries no personal data.
    for l in &t.lines {
        for p in placeholders(&l.value) {
            assert!(
                field(&job, &p).is_some() || p.starts_with("taxpayer"),
                "{p} missing"
            );
        }
    }
    assert!(job.fields.iter().all(|(k, _)| !k.starts_with("taxpayer")));
    assert_eq!(
        answer_job(b, "no-such-entry", Lang::Zh, "x"),
        Err(PrintError::UnknownEntry("no-such-entry".into()))
    );
}
