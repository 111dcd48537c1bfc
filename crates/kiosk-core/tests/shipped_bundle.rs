//! The shipped bundle: complete, consistent with the reference catalogue, and its real
//! forms compute what the tax rules say (expected values worked out by hand).

use kiosk_core::Amount;
use kiosk_core::config::{Bundle, Mode, Payment, load};
use kiosk_core::form::{self, Computed, Values};

mod common;

fn bundle() -> Bundle {
    let loaded = load(&common::shipped()).unwrap_or_else(|d| panic!("{d:#?}"));
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
    loaded.bundle
}

#[test]
fn figures_the_hall_is_built_for() {
    let b = bundle();
    assert_eq!(b.zones.len(), 10);
    assert_eq!(b.businesses.len(), 179);
    let done_here = b
        .businesses
        .iter()
        .filter(|x| x.mode != Mode::Staffed)
        .count();
    assert!(
        done_here >= 125,
        "only {done_here} of 179 finish without a counter visit"
    );
    let full = b
        .businesses
        .iter()
        .filter(|x| !b.form_of(x).is_generic())
        .count();
    assert!(full >= 30, "only {full} businesses carry their real form");
    for z in &b.zones {
        assert!(
            b.businesses_in(&z.code).next().is_some(),
            "zone {} is empty",
            z.code
        );
    }
    // The 24-hour zone lists only what needs no staff.
    assert!(b.businesses_in("Z10").all(|x| x.mode != Mode::Staffed));
    // Every staffed business is reachable from the one-window zone.
    assert!(
        b.businesses
            .iter()
            .filter(|x| x.mode == Mode::Staffed)
            .all(|x| x.zones.iter().any(|z| z == "Z09"))
    );
}

#[test]
fn matches_the_reference_catalogue() {
    let Some(shared) = common::shared_dir() else {
        eprintln!("SKIPPED: ../shared is absent, so the catalogue cross-check did not run");
        return;
    };
    let tsv = std::fs::read_to_string(shared.join("reference/business-catalog.tsv")).unwrap();
    let b = bundle();
    let mut rows = 0;
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let c: Vec<&str> = line.split('\t').collect();
        let (code, name_zh, name_en, mode, face, pay) = (c[0], c[3], c[4], c[5], c[6], c[7]);
        let x = b
            .business(code)
            .unwrap_or_else(|| panic!("{code} is missing from the bundle"));
        assert_eq!(x.name.zh, name_zh, "{code}");
        assert_eq!(x.name.en, name_en, "{code}");
        assert_eq!(x.mode.code(), mode, "{code}");
        assert_eq!(x.face_required, face == "1", "{code}");
        assert_eq!(x.payment != Payment::None, pay == "1", "{code}");
        assert_eq!(b.category(x.category).unwrap().name.zh, c[1], "{code}");
        rows += 1;
    }
    assert_eq!(
        rows,
        b.businesses.len(),
        "the bundle has businesses the catalogue does not"
    );
}

fn fill(b: &Bundle, form_id: &str, inputs: &[(&str, &str)]) -> (Values, Computed) {
    let f = &b.forms[form_id];
    let mut values = Values::new();
    for fd in f.fields() {
        if let Some(d) = &fd.default {
            values.insert(fd.id.clone(), form::parse_value(fd, d).unwrap());
        }
    }
    for (id, text) in inputs {
        let fd = f
            .field(id)
            .unwrap_or_else(|| panic!("{form_id} has no field {id}"));
        let v = form::parse_value(fd, text)
            .unwrap_or_else(|e| panic!("{form_id}.{id} = {text}: {e:?}"));
        values.insert(id.to_string(), v);
    }
    let errs = form::validate(f, &values);
    assert!(errs.is_empty(), "{form_id}: {errs:?}");
    let c = form::compute(f, &values);
    (values, c)
}

fn fen(c: &Computed, id: &str) -> i64 {
    c.get(id)
        .unwrap_or_else(|| panic!("{id} was not computed: {c:?}"))
        .fen()
}

#[test]
fn b06_agent_invoice_tax() {
    // 10,100.00 incl. tax at the reduced 1%: 10,000.00 + 100.00 VAT; city surcharges on
    // 100.00 at 7% / 3% / 2%, each halved for small-scale taxpayers.
    let b = bundle();
    let (_, c) = fill(
        &b,
        "B06",
        &[
            ("buyer_type", "individual"),
            ("buyer_name", "李四"),
            ("item_name", "旧家具"),
            ("quantity", "1"),
            ("unit_price", "10100"),
            ("total_incl", "10,100.00"),
            ("levy_rate", "r1"),
            ("location", "city"),
        ],
    );
    assert_eq!(fen(&c, "sales_excl"), 1_000_000);
    assert_eq!(fen(&c, "vat"), 10_000);
    assert_eq!(fen(&c, "urban_tax"), 350);
    assert_eq!(fen(&c, "edu_surcharge"), 150);
    assert_eq!(fen(&c, "local_edu_surcharge"), 100);
    assert_eq!(fen(&c, "total_tax"), 10_600);
}

#[test]
fn b06_business_buyer_needs_its_credit_code() {
    let b = bundle();
    let f = &b.forms["B06"];
    let fd = f.field("buyer_code").unwrap();
    let mut v = Values::new();
    v.insert(
        "buyer_type".into(),
        form::parse_value(f.field("buyer_type").unwrap(), "business").unwrap(),
    );
    let c = form::compute(f, &v);
    assert!(form::is_visible(f, fd, &v, &c));
    v.insert(
        "buyer_type".into(),
        form::parse_value(f.field("buyer_type").unwrap(), "individual").unwrap(),
    );
    assert!(!form::is_visible(f, fd, &v, &c));
    assert!(form::parse_value(fd, "91350100M000100Y4X").is_err());
}

#[test]
fn c13_stamp_tax_on_a_purchase_contract_with_relief() {
    // 1,000,000.00 x 0.3‰ = 300.00; the small-scale 50% relief leaves 150.00.
    let b = bundle();
    let (_, c) = fill(
        &b,
        "C13",
        &[
            ("period", "2026Q3"),
            ("contract_type", "purchase"),
            ("amount", "1000000"),
            ("relief", "true"),
        ],
    );
    assert_eq!(fen(&c, "tax_total"), 30_000);
    assert_eq!(fen(&c, "tax_payable"), 15_000);
}

#[test]
fn d01_flexible_employment_pension() {
    // Base 100% of a 7,000.00 average wage, 20%, 12 months: 1,400.00 a month, 16,800.00.
    let b = bundle();
    let (_, c) = fill(
        &b,
        "D01",
        &[("start", "2027-01"), ("grade", "p100"), ("months", "12")],
    );
    assert_eq!(fen(&c, "monthly"), 140_000);
    assert_eq!(fen(&c, "total"), 1_680_000);
}

#[test]
fn c27_late_fee_is_half_a_thousandth_a_day() {
    let b = bundle();
    let (_, c) = fill(
        &b,
        "C27",
        &[
            ("tax_type", "vat"),
            ("period", "2026-09"),
            ("tax_owed", "10,000.00"),
            ("days_overdue", "31"),
        ],
    );
    assert_eq!(fen(&c, "late_fee"), 15_500);
    assert_eq!(fen(&c, "total"), 1_015_500);
}

#[test]
fn c02_small_scale_vat_rounds_per_line() {
    let b = bundle();
    let (_, c) = fill(
        &b,
        "C02",
        &[
            ("period", "2026Q3"),
            ("sales_3", "333,333.33"),
            ("sales_1", "0.50"),
            ("location", "city"),
        ],
    );
    // 333,333.33 x 3% = 9,999.9999 -> 10,000.00; 0.50 x 1% = 0.005 -> 0.01 (half up).
    assert_eq!(fen(&c, "tax_3"), 1_000_000);
    assert_eq!(fen(&c, "tax_1"), 1);
    assert_eq!(fen(&c, "tax_total"), 1_000_001);
    assert_eq!(
        Amount::from_fen(fen(&c, "tax_payable")).to_string(),
        "10,000.01"
    );
}

#[test]
fn wire_text_round_trips_every_value_of_every_form() {
    // What the kiosk sends is read back by the back office as the same value.
    let b = bundle();
    for f in b.forms.values() {
        for fd in f.fields() {
            for text in [
                "2026-12-01",
                "2026-10",
                "2026Q3",
                "2026",
                "1,234.50",
                "3",
                "1.5",
                "13800138000",
                "true",
                "测试内容说明",
                "12345678901234567890",
            ] {
                if let Ok(v) = form::parse_value(fd, text) {
                    let back = form::parse_value(fd, &v.wire()).unwrap_or_else(|e| {
                        panic!("{}.{}: {text} -> {} : {e:?}", f.id, fd.id, v.wire())
                    });
                    assert_eq!(back, v, "{}.{}", f.id, fd.id);
                }
            }
        }
    }
}

#[test]
fn the_knowledge_base_covers_the_catalogue() {
    let b = bundle();
    let faq = &b.faq;
    assert!(
        faq.entries.len() >= 150,
        "only {} FAQ entries",
        faq.entries.len()
    );
    assert!(faq.topics.len() >= 8, "only {} topics", faq.topics.len());
    // Every business is the answer to at least one question, so search can reach each
    // one through the question bank and not only through its name.
    for x in &b.businesses {
        assert!(
            faq.entries.iter().any(|e| e.businesses.contains(&x.code)),
            "no FAQ entry leads to {}",
            x.code
        );
    }
    for e in &faq.entries {
        // A source names a law, regulation, announcement or official guide.
        assert!(
            e.source.contains('《') || e.source.contains("公告") || e.source.contains('号'),
            "{}: source {:?} does not name a regulation",
            e.id,
            e.source
        );
        assert!(
            e.answer.zh.chars().count() >= 20,
            "{}: answer too short",
            e.id
        );
    }
}
