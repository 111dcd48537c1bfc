//! Bad bundles: every kind of mistake IT can make gets a specific message at the right
//! file, line and column, all problems are reported at once, and nothing panics.

use kiosk_core::config::{BundleFiles, Diagnostic, Severity, load};

mod common;

const BUSINESS: &str = r#"[category]
code = "A"
name_zh = "登记"
name_en = "Registration"

[[business]]
code = "A01"
name_zh = "测试业务"
name_en = "Test business"
summary_zh = "测试"
summary_en = "Test"
audience = "both"
zones = ["Z03", "Z10"]
mode = "SS"
identity = "verified"
face_required = true
payment = "tax"
minutes = 5
operation = "file_return"
receipt = "done"
form = "mini"
materials_zh = ["身份证"]
materials_en = ["ID card"]

[[business]]
code = "A02"
name_zh = "窗口业务"
name_en = "Counter business"
summary_zh = "测试"
summary_en = "Test"
audience = "both"
zones = ["Z09"]
mode = "TK"
identity = "card"
face_required = false
payment = "none"
minutes = 20
operation = "ticket"
receipt = "ticket"
form = "mini"
materials_zh = []
materials_en = []
"#;

const FORM: &str = r#"id = "mini"
title_zh = "小表"
title_en = "Mini form"

[[step]]
id = "s1"
title_zh = "第一步"
title_en = "Step one"

[[step.field]]
id = "kind"
type = "choice"
label_zh = "类型"
label_en = "Kind"
options = [{ value = "a", zh = "甲", en = "A" }, { value = "b", zh = "乙", en = "B" }]

[[step.field]]
id = "sales"
type = "amount"
label_zh = "销售额"
label_en = "Sales"
min = "0.00"
max = "1000000.00"

[[step.field]]
id = "tax"
type = "computed"
label_zh = "税额"
label_en = "Tax"
expr = "round(sales * 0.03)"

[[check]]
expr = "sales >= 0"
message_zh = "销售额不能为负"
message_en = "Sales cannot be negative"
"#;

const GUIDANCE: &str = r#"start = "q"

[[node]]
id = "q"
question_zh = "办什么？"
question_en = "What for?"

[[node.option]]
zh = "测试"
en = "Test"
business = "A01"

[[node.option]]
zh = "取号"
en = "Ticket"
ticket = "individual"
"#;

fn mini() -> BundleFiles {
    let shipped = common::shipped();
    let mut b = BundleFiles::default();
    for (path, bytes) in &shipped.files {
        let keep = matches!(path.as_str(), "kiosk.toml" | "zones.toml" | "texts.toml")
            || path.starts_with("receipts/");
        if keep {
            b.insert(path.clone(), bytes.clone());
        }
    }
    b.insert("businesses/A.toml", BUSINESS);
    b.insert("forms/mini.toml", FORM);
    b.insert("guidance.toml", GUIDANCE);
    b
}

fn edit(b: &mut BundleFiles, path: &str, from: &str, to: &str) {
    let text = String::from_utf8(b.files[path].clone()).unwrap();
    assert!(text.contains(from), "{path} does not contain {from:?}");
    b.insert(path, text.replacen(from, to, 1));
}

fn errors(b: &BundleFiles) -> Vec<Diagnostic> {
    match load(b) {
        Ok(_) => panic!("the bundle was accepted but should not be"),
        Err(d) => d
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect(),
    }
}

/// The one error, which must be in `file` at the line holding `needle`, and say `says`.
fn assert_one(b: &BundleFiles, file: &str, needle: &str, says: &str) {
    let errs = errors(b);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let e = &errs[0];
    assert_eq!(e.file, file, "{e}");
    assert!(
        e.message.contains(says),
        "message {:?} should contain {says:?}",
        e.message
    );
    let text = String::from_utf8(b.files[file].clone()).unwrap();
    let want_line = text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(e.line, want_line, "{e}");
    assert!(e.col >= 1);
}

#[test]
fn the_mini_bundle_is_good() {
    let loaded = load(&mini()).unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(loaded.bundle.businesses.len(), 2);
}

#[test]
fn unknown_zone() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "\"Z03\", \"Z10\"",
        "\"Z03\", \"Z99\"",
    );
    assert_one(
        &b,
        "businesses/A.toml",
        "Z99",
        "zone Z99, which zones.toml does not define",
    );
}

#[test]
fn duplicate_code() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "code = \"A02\"",
        "code = \"A01\"",
    );
    let errs = errors(&b);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].message.contains("A01 is already defined"),
        "{}",
        errs[0]
    );
    let text = String::from_utf8(b.files["businesses/A.toml"].clone()).unwrap();
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("code = \"A01\""))
        .nth(1);
    assert_eq!(errs[0].line, second.unwrap().0 + 1);
}

#[test]
fn missing_translation() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "name_en = \"Test business\"",
        "name_en = \"  \"",
    );
    assert_one(
        &b,
        "businesses/A.toml",
        "name_en = \"  \"",
        "English business name is empty",
    );
}

#[test]
fn unknown_field_type() {
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "type = \"amount\"",
        "type = \"money\"",
    );
    assert_one(
        &b,
        "forms/mini.toml",
        "\"money\"",
        "field type 'money' does not exist",
    );
}

#[test]
fn min_above_max_can_never_hold() {
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "max = \"1000000.00\"",
        "max = \"-1.00\"",
    );
    edit(
        &mut b,
        "forms/mini.toml",
        "min = \"0.00\"",
        "min = \"0.01\"",
    );
    assert_one(&b, "forms/mini.toml", "max = \"-1.00\"", "min above max");
}

#[test]
fn check_that_is_always_false() {
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "expr = \"sales >= 0\"",
        "expr = \"1 > 2\"",
    );
    assert_one(&b, "forms/mini.toml", "1 > 2", "always false");
}

#[test]
fn comparison_with_a_value_that_is_not_an_option() {
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "expr = \"sales >= 0\"",
        "expr = \"kind == \\\"c\\\"\"",
    );
    assert_one(
        &b,
        "forms/mini.toml",
        "kind ==",
        "\"c\" is not an option of 'kind'",
    );
}

#[test]
fn expression_errors_point_at_the_character() {
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "round(sales * 0.03)",
        "round(sales * )",
    );
    let errs = errors(&b);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    let text = String::from_utf8(b.files["forms/mini.toml"].clone()).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("round(sales * )"))
        .unwrap()
        + 1;
    assert_eq!(
        (errs[0].line, errs[0].col),
        (line, "expr = \"round(sales * ".len() + 1)
    );
    assert!(errs[0].message.contains("unexpected ')'"), "{}", errs[0]);
}

#[test]
fn unknown_field_in_expression_and_wrong_type() {
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "round(sales * 0.03)",
        "round(salse * 0.03)",
    );
    assert_one(&b, "forms/mini.toml", "salse", "there is no field 'salse'");
    let mut b = mini();
    edit(
        &mut b,
        "forms/mini.toml",
        "round(sales * 0.03)",
        "sales > 0",
    );
    assert_one(&b, "forms/mini.toml", "sales > 0", "must give a number");
}

#[test]
fn computed_cycle() {
    let mut b = mini();
    edit(&mut b, "forms/mini.toml", "round(sales * 0.03)", "tax + 1");
    assert_one(&b, "forms/mini.toml", "id = \"tax\"", "depends on itself");
}

#[test]
fn business_that_no_zone_lists() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "zones = [\"Z09\"]",
        "zones = []",
    );
    assert_one(&b, "businesses/A.toml", "zones = []", "no zone lists A02");
}

#[test]
fn missing_receipt_template_and_form() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "receipt = \"done\"",
        "receipt = \"dnoe\"",
    );
    assert_one(
        &b,
        "businesses/A.toml",
        "\"dnoe\"",
        "receipt template 'dnoe' does not exist",
    );
    let mut b = mini();
    b.files.remove("forms/mini.toml");
    let errs = errors(&b);
    assert!(
        errs.iter()
            .any(|e| e.message.contains("form 'mini' does not exist")),
        "{errs:#?}"
    );
}

#[test]
fn missing_required_text() {
    let mut b = mini();
    edit(&mut b, "texts.toml", "[idle.extend]", "[idle.extnd]");
    let errs = errors(&b);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].message.contains("needs text 'idle.extend'"),
        "{}",
        errs[0]
    );
}

#[test]
fn text_without_english_or_with_mismatched_placeholders() {
    let mut b = mini();
    edit(&mut b, "texts.toml", "en = \"Continue\"", "");
    assert_one(&b, "texts.toml", "继续办理", "no en translation");
    let mut b = mini();
    edit(&mut b, "texts.toml", "{seconds} seconds", "{secs} seconds");
    let errs = errors(&b);
    assert!(errs[0].message.contains("placeholders"), "{errs:#?}");
}

#[test]
fn face_required_needs_verified_identity() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "identity = \"verified\"",
        "identity = \"card\"",
    );
    let errs = errors(&b);
    // Face and payment both demand verification: two problems, both reported.
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter()
            .any(|e| e.message.contains("requires face verification"))
    );
    assert!(errs.iter().any(|e| e.message.contains("takes a payment")));
}

#[test]
fn staffed_business_in_a_24_hour_zone() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "zones = [\"Z09\"]",
        "zones = [\"Z09\", \"Z10\"]",
    );
    assert_one(
        &b,
        "businesses/A.toml",
        "\"Z09\", \"Z10\"",
        "needs staff (TK)",
    );
}

#[test]
fn typo_in_a_key_is_caught_with_its_line() {
    let mut b = mini();
    edit(&mut b, "businesses/A.toml", "minutes = 20", "minuets = 20");
    let errs = errors(&b);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("minuets"), "{}", errs[0]);
    assert!(errs[0].line >= 25, "{}", errs[0]);
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let mut b = mini();
    edit(&mut b, "zones.toml", "order = 3", "order = = 3");
    let errs = errors(&b);
    let e = errs
        .iter()
        .find(|e| e.file == "zones.toml")
        .expect("a zones.toml error");
    let text = String::from_utf8(b.files["zones.toml"].clone()).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("order = = 3"))
        .unwrap()
        + 1;
    assert_eq!(e.line, line, "{e}");
}

#[test]
fn kiosk_settings_ranges_and_endpoints() {
    let mut b = mini();
    edit(&mut b, "kiosk.toml", "warning = 30", "warning = 5");
    edit(
        &mut b,
        "kiosk.toml",
        "backoffice = \"http://",
        "backoffice = \"ftp://",
    );
    edit(
        &mut b,
        "kiosk.toml",
        "close = \"17:00\"",
        "close = \"08:00\"",
    );
    edit(
        &mut b,
        "kiosk.toml",
        "camera = \"simulated\"",
        "camera = \"fake\"",
    );
    let errs = errors(&b);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let all: String = errs
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("\n");
    for want in [
        "timeouts.warning is 5",
        "must start with one of http://",
        "can never be open",
        "use \"real\" or \"simulated\"",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
}

#[test]
fn hall_endpoint_is_optional_but_must_be_http() {
    let mut b = mini();
    let shipped = load(&b).expect("the mini bundle loads");
    assert_eq!(
        shipped.bundle.kiosk.endpoints.hall.as_deref(),
        Some("http://127.0.0.1:8800")
    );
    edit(
        &mut b,
        "kiosk.toml",
        "hall = \"http://127.0.0.1:8800\"",
        "hall = \"mqtt://127.0.0.1:8800\"",
    );
    assert_one(
        &b,
        "kiosk.toml",
        "hall = \"mqtt://",
        "endpoints.hall 'mqtt://127.0.0.1:8800' must start with one of http://, https://",
    );
    // Without it the bundle loads, and the kiosk has no hall to take tickets from.
    edit(
        &mut b,
        "kiosk.toml",
        "hall = \"mqtt://127.0.0.1:8800\"\n",
        "",
    );
    let loaded = load(&b).expect("a kiosk.toml without endpoints.hall loads");
    assert_eq!(loaded.bundle.kiosk.endpoints.hall, None);
}

#[test]
fn every_problem_at_once_across_files() {
    let mut b = mini();
    edit(
        &mut b,
        "businesses/A.toml",
        "\"Z03\", \"Z10\"",
        "\"Z03\", \"Z77\"",
    );
    edit(
        &mut b,
        "forms/mini.toml",
        "type = \"amount\"",
        "type = \"money\"",
    );
    edit(&mut b, "receipts/done.toml", "{time}", "{tiem}");
    edit(
        &mut b,
        "zones.toml",
        "hours = \"always\"",
        "hours = \"sometimes\"",
    );
    let errs = errors(&b);
    let files: std::collections::BTreeSet<&str> = errs.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        [
            "businesses/A.toml",
            "forms/mini.toml",
            "receipts/done.toml",
            "zones.toml"
        ],
        "{errs:#?}"
    );
}

#[test]
fn not_utf8_and_missing_files() {
    let mut b = mini();
    b.insert("texts.toml", vec![0xff, 0xfe, b'a']);
    b.files.remove("zones.toml");
    let errs = errors(&b);
    assert!(
        errs.iter()
            .any(|e| e.file == "texts.toml" && e.message.contains("not valid UTF-8")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.file == "zones.toml" && e.message.contains("has no zones.toml")),
        "{errs:#?}"
    );
}

#[test]
fn guidance_problems() {
    let mut b = mini();
    edit(
        &mut b,
        "guidance.toml",
        "business = \"A01\"",
        "business = \"A99\"",
    );
    assert_one(&b, "guidance.toml", "A99", "there is no business A99");
    let mut b = mini();
    edit(
        &mut b,
        "guidance.toml",
        "business = \"A01\"",
        "next = \"q\"",
    );
    assert_one(&b, "guidance.toml", "id = \"q\"", "loop forever");
    let mut b = mini();
    edit(
        &mut b,
        "guidance.toml",
        "ticket = \"individual\"",
        "ticket = \"individual\"\nzone = \"Z03\"",
    );
    assert_one(
        &b,
        "guidance.toml",
        "zh = \"取号\"",
        "exactly one of next, business, zone or ticket",
    );
}

const FAQ: &str = r#"[topic]
name_zh = "测试"
name_en = "Test"

[[entry]]
id = "test-cert"
question_zh = "怎么开证明？"
question_en = "How do I get a certificate?"
answer_zh = "在本机办理测试业务即可。"
answer_en = "Use the test business at this kiosk."
businesses = ["A01", "A02"]
source = "《测试办法》第一条"
phrasings_zh = ["开证明"]
phrasings_en = ["certificate please"]

[[entry]]
id = "test-ticket"
question_zh = "怎么取号？"
question_en = "How do I get a ticket?"
answer_zh = "选择窗口业务取号。"
answer_en = "Choose the counter business for a ticket."
businesses = ["A02"]
source = "《测试办法》第二条"
"#;

fn with_faq() -> BundleFiles {
    let mut b = mini();
    b.insert("faq/mini.toml", FAQ);
    b
}

#[test]
fn the_faq_is_optional_and_loaded_when_present() {
    let without = load(&mini()).unwrap_or_else(|d| panic!("{d:#?}"));
    assert!(without.bundle.faq.is_empty());
    let loaded = load(&with_faq()).unwrap_or_else(|d| panic!("{d:#?}"));
    // The mini bundle leaves zones empty (warnings about zones.toml); the FAQ adds none.
    assert!(
        loaded.warnings.iter().all(|w| !w.file.starts_with("faq/")),
        "{:#?}",
        loaded.warnings
    );
    let faq = &loaded.bundle.faq;
    assert_eq!(faq.entries.len(), 2);
    let e = faq.entry("test-cert").expect("entry test-cert");
    assert_eq!(e.topic, "mini");
    assert_eq!(e.businesses, ["A01", "A02"]);
    assert_eq!(e.phrasings_zh, ["开证明"]);
    assert_eq!(faq.topic("mini").map(|t| t.name.en.as_str()), Some("Test"));
}

#[test]
fn faq_unknown_business() {
    let mut b = with_faq();
    edit(
        &mut b,
        "faq/mini.toml",
        "businesses = [\"A02\"]",
        "businesses = [\"A02\", \"F99\"]",
    );
    assert_one(&b, "faq/mini.toml", "F99", "there is no business F99");
}

#[test]
fn faq_duplicate_id_across_files() {
    let mut b = with_faq();
    let second = FAQ
        .replace("id = \"test-cert\"", "id = \"other-cert\"")
        .replace("怎么开证明？", "证明怎么开？")
        .replace("怎么取号？", "号怎么取？");
    b.insert("faq/other.toml", second);
    assert_one(
        &b,
        "faq/other.toml",
        "id = \"test-ticket\"",
        "FAQ id 'test-ticket' is already used in faq/mini.toml",
    );
}

#[test]
fn faq_missing_translation_and_empty_answer() {
    let mut b = with_faq();
    edit(
        &mut b,
        "faq/mini.toml",
        "answer_en = \"Choose the counter business for a ticket.\"",
        "answer_en = \"\"",
    );
    assert_one(
        &b,
        "faq/mini.toml",
        "answer_en = \"\"",
        "English answer is empty",
    );
    let mut b = with_faq();
    edit(
        &mut b,
        "faq/mini.toml",
        "answer_zh = \"在本机办理测试业务即可。\"",
        "answer_zh = \"   \"",
    );
    assert_one(
        &b,
        "faq/mini.toml",
        "answer_zh = \"   \"",
        "Chinese answer is empty",
    );
    let mut b = with_faq();
    edit(
        &mut b,
        "faq/mini.toml",
        "question_en = \"How do I get a ticket?\"\n",
        "",
    );
    let errs = errors(&b);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("question_en"), "{}", errs[0]);
}

#[test]
fn faq_entry_problems_each_at_their_line() {
    let mut b = with_faq();
    edit(
        &mut b,
        "faq/mini.toml",
        "businesses = [\"A02\"]",
        "businesses = []",
    );
    edit(
        &mut b,
        "faq/mini.toml",
        "id = \"test-cert\"",
        "id = \"Test Cert\"",
    );
    edit(
        &mut b,
        "faq/mini.toml",
        "phrasings_zh = [\"开证明\"]",
        "phrasings_zh = [\"开证明\", \" \"]",
    );
    edit(
        &mut b,
        "faq/mini.toml",
        "source = \"《测试办法》第二条\"",
        "soruce = \"《测试办法》第二条\"",
    );
    let errs = errors(&b);
    let text = String::from_utf8(b.files["faq/mini.toml"].clone()).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let mut got: Vec<(usize, bool)> = Vec::new();
    for (needle, says) in [
        ("id = \"Test Cert\"", "must be lowercase letters"),
        ("\" \"]", "phrasing of 'Test Cert' is empty"),
        ("soruce", "soruce"),
    ] {
        let hit = errs
            .iter()
            .any(|e| e.line == line_of(needle) && e.message.contains(says));
        got.push((line_of(needle), hit));
    }
    assert!(got.iter().all(|(_, hit)| *hit), "{got:?} in {errs:#?}");
    // The entry with the misspelt key fails as a whole, so its empty business list is
    // not reported as well; three problems in all.
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

#[test]
fn faq_with_no_business_and_same_question_twice() {
    let mut b = with_faq();
    edit(
        &mut b,
        "faq/mini.toml",
        "businesses = [\"A02\"]",
        "businesses = []",
    );
    assert_one(
        &b,
        "faq/mini.toml",
        "businesses = []",
        "leads to no business",
    );
    let mut b = with_faq();
    edit(&mut b, "faq/mini.toml", "怎么取号？", "怎么开证明？");
    let loaded = load(&b).unwrap_or_else(|d| panic!("{d:#?}"));
    let faq_warnings: Vec<&Diagnostic> = loaded
        .warnings
        .iter()
        .filter(|w| w.file == "faq/mini.toml")
        .collect();
    assert_eq!(faq_warnings.len(), 1, "{:#?}", loaded.warnings);
    assert!(
        faq_warnings[0]
            .message
            .contains("'test-ticket' asks the same question as 'test-cert'"),
        "{}",
        faq_warnings[0]
    );
}

#[test]
fn faq_file_shape_and_broken_business_file_does_not_cascade() {
    let mut b = with_faq();
    edit(&mut b, "faq/mini.toml", "[topic]", "[topics]");
    let errs = errors(&b);
    assert!(
        errs.iter()
            .any(|e| e.message.contains("'topics' is not allowed here")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.message.contains("has no [topic] table")),
        "{errs:#?}"
    );
    // A syntax error in the business file hides its codes; the FAQ must not then claim
    // A01 and A02 do not exist.
    let mut b = with_faq();
    edit(&mut b, "businesses/A.toml", "minutes = 5", "minutes = = 5");
    let errs = errors(&b);
    assert!(errs.iter().all(|e| e.file != "faq/mini.toml"), "{errs:#?}");
}

#[test]
fn staff_exit_pin_must_be_digits() {
    let mut b = mini();
    edit(
        &mut b,
        "kiosk.toml",
        "exit_pin = \"20261129\"",
        "exit_pin = \"12ab\"",
    );
    assert_one(
        &b,
        "kiosk.toml",
        "exit_pin = \"12ab\"",
        "staff.exit_pin must be 4 to 8 digits",
    );
}
