//! A whole session driven through the UI, by accessible label as a person's taps would
//! be, with Slint's testing backend: against the reference back office, printing on the
//! emupos printer emulator (or, where Python 3.13 is missing, the in-memory printer, and
//! the test says so). Then the wipe: after the idle timeout no UI property holds the last
//! person's name, ID number or form data.

mod support;

use std::rc::Rc;
use std::sync::Arc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use kiosk_core::config::Bundle;
use kiosk_core::session::{Event, Screen};
use slint::{ComponentHandle, Model};
use tax_kiosk::link::Link;
use tax_kiosk::ui::{AppWindow, Controller, KioskGlobal, PrinterPort, Run};

type Shared = Rc<std::cell::RefCell<Controller>>;

fn ui(c: &Shared) -> AppWindow {
    c.borrow().ui.clone_strong()
}

/// Taps the button with this accessible label, as a finger would: found in the window's
/// element tree by Slint's testing backend and activated through its default action (what
/// a tap's `clicked` does). Like a person, the test scrolls the page (a wheel or a swipe on
/// the scroll view) to reach a button below or above the visible part; the testing
/// backend only finds what is on screen. Fails when the label is on no button.
fn tap(c: &Shared, label: &str) {
    let w = ui(c);
    let find = || -> Option<ElementHandle> {
        ElementHandle::find_by_accessible_label(&w, label)
            .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
    };
    let page = || ElementHandle::find_by_element_type_name(&w, "ScrollView").next();
    let mut found = find();
    // Down the page first, then back up past where it started.
    for delta in std::iter::repeat_n(-300.0, 10).chain(std::iter::repeat_n(300.0, 20)) {
        if found.is_some() {
            break;
        }
        if let Some(p) = page() {
            p.scroll(0.0, delta);
            SCROLLS.with(|s| s.set(s.get() + 1));
        }
        found = find();
    }
    if let Some(e) = found {
        e.invoke_accessible_default_action();
        return;
    }
    let mut on_screen: Vec<String> = ElementQuery::from_root(&w)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .collect();
    on_screen.sort();
    on_screen.dedup();
    panic!(
        "no button {label:?} on screen {:?} ({:?}); buttons there: {on_screen:?}",
        c.borrow().kiosk().screen(),
        w.global::<KioskGlobal>().get_heading()
    );
}

thread_local! {
    /// Page scrolls the taps needed.
    static SCROLLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Enters `text` into the field labelled `label` on the on-screen keypad: a tap on the
/// field, then one tap per key.
fn type_into(c: &Shared, label: &str, text: &str) {
    tap(c, label);
    tap(c, "清空");
    for ch in text.chars() {
        tap(c, &ch.to_string());
    }
}

/// Types on the on-screen keyboard of the box labelled `label`: a tap on the box, the
/// pinyin letters, then the candidate words to pick in turn, and 完成 (which puts in
/// letters that are no pinyin as they were typed).
///
/// The keyboard must not move under the finger while the person types: after every key,
/// its keys are where they were on the screen (what the text finds, an answer say, must not
/// push them), unless the tap itself had to scroll the page to reach its key.
fn type_pinyin(c: &Shared, label: &str, letters: &str, picks: &[&str]) {
    tap(c, label);
    let q = || {
        let w = ui(c);
        ElementHandle::find_by_accessible_label(&w, "q")
            .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .map(|e| e.absolute_position().y)
            .expect("the keyboard is on screen")
    };
    let mut at = q();
    let keys = letters
        .chars()
        .map(|ch| ch.to_string())
        .chain(picks.iter().map(|p| p.to_string()));
    for k in keys {
        let scrolls = SCROLLS.with(|s| s.get());
        tap(c, &k);
        let now = q();
        if SCROLLS.with(|s| s.get()) == scrolls {
            assert!(
                (now - at).abs() < 0.5,
                "the keyboard moved by {} px after {k:?}",
                now - at
            );
        }
        at = now;
    }
    tap(c, "完成");
}

/// Types into the page's question box, labelled with the hint it shows.
fn type_search(c: &Shared, letters: &str, picks: &[&str]) {
    let hint = ui(c).global::<KioskGlobal>().get_search_hint().to_string();
    type_pinyin(c, &hint, letters, picks);
}

/// Picks a month on a period field's picker: the year stepper to the year, then the
/// month's button.
fn pick_month(c: &Shared, label: &str, year: i32, month: u32) {
    tap(c, label);
    for _ in 0..20 {
        let shown: i32 = {
            let fields = ui(c).global::<KioskGlobal>().get_fields();
            let f = (0..fields.row_count())
                .filter_map(|i| fields.row_data(i))
                .find(|f| f.label == label)
                .expect("the field is on screen");
            let s = f.steppers.row_data(0).expect("the picker's year stepper");
            s.value.parse().unwrap()
        };
        match shown.cmp(&year) {
            std::cmp::Ordering::Less => tap(c, "年度 +"),
            std::cmp::Ordering::Greater => tap(c, "年度 −"),
            std::cmp::Ordering::Equal => {
                tap(c, &format!("{month}月"));
                return;
            }
        }
    }
    panic!("the year stepper never reached {year}");
}

fn link_to(base: &str, b: &Bundle) -> Link {
    support::link(base, &b.kiosk.kiosk_id)
        .with_simulated_bank(base.trim_end_matches("/v1"), "dev-bank-key")
}

/// The business codes of the rows on screen, in order.
fn row_codes(c: &Shared) -> Vec<String> {
    let rows = ui(c).global::<KioskGlobal>().get_rows();
    (0..rows.row_count())
        .filter_map(|i| rows.row_data(i))
        .map(|r| r.code.to_string())
        .collect()
}

fn heading(c: &Shared) -> String {
    ui(c).global::<KioskGlobal>().get_heading().to_string()
}

#[test]
fn a_pension_contribution_paid_through_the_ui_then_the_wipe() {
    i_slint_backend_testing::init_no_event_loop();
    let base = support::start_backoffice();
    let mut b = support::bundle();
    b.kiosk.endpoints.backoffice = base.clone();
    let b = Arc::new(b);
    let c = Controller::new(b.clone(), Some(link_to(&base, &b)), Run::Inline).unwrap();
    c.borrow_mut().set_staffed_open(true);
    // Shown, so the element tree the taps search is the one on screen.
    ui(&c).show().unwrap();

    // The printer: the emulator when setup could install it.
    let emulator = escpos_receipt::emulator::find_binary().and_then(|bin| {
        let dir = std::env::temp_dir().join(format!("tax-kiosk-ui-emupos-{}", std::process::id()));
        let spec = escpos_receipt::emulator::DeviceSpec {
            id: "kiosk".into(),
            width_dots: 576,
            serial: false,
        };
        escpos_receipt::emulator::Emulator::start(&bin, &dir, &[spec], true).ok()
    });
    match &emulator {
        Some(e) => {
            let port = e.device("kiosk").unwrap().tcp_port;
            let journal = std::env::temp_dir()
                .join(format!("tax-kiosk-ui-journal-{}.db", std::process::id()));
            c.borrow_mut().set_printer(
                PrinterPort::escpos(&format!("tcp://127.0.0.1:{port}"), "tm-t20iii", &journal)
                    .unwrap(),
            );
        }
        None => eprintln!(
            "SKIPPED printing on the emulator: emupos is not installed (run scripts/setup-printer); the in-memory printer is used"
        ),
    }

    // Smart consultation first, without an ID card: a question in pinyin initials.
    let popular = std::env::temp_dir().join(format!("tax-kiosk-popular-{}.json", support::nanos()));
    c.borrow_mut().set_popular_file(popular.clone());
    tap(&c, &heading(&c));
    tap(&c, "中文");
    tap(&c, "跳过（无需身份的业务）");
    tap(&c, "智能咨询");
    // A question in words, picked as it is typed: the answer it finds shows while the
    // keyboard is still open (and must not move it).
    type_search(&c, "wanshuizhengming", &["完税", "证明"]);
    let found = row_codes(&c);
    assert!(
        found.iter().take(3).any(|code| code == "F01"),
        "完税证明 should find F01: {found:?}"
    );
    let hint = ui(&c).global::<KioskGlobal>().get_search_hint().to_string();
    tap(&c, &hint);
    tap(&c, "清空");
    tap(&c, "完成");
    type_search(&c, "wszm", &[]);
    assert_eq!(
        ui(&c).global::<KioskGlobal>().get_search_field().value,
        "wszm",
        "letters that are no pinyin go in as typed"
    );
    let found = row_codes(&c);
    assert!(
        found.iter().take(3).any(|code| code == "F01"),
        "wszm (完税证明) should find F01: {found:?}"
    );
    let printing = ui(&c).global::<KioskGlobal>().get_options();
    let print_label = (0..printing.row_count())
        .filter_map(|i| printing.row_data(i))
        .find(|o| o.value.starts_with("print:"))
        .map(|o| o.label.to_string());
    if let Some(label) = print_label {
        tap(&c, &label);
        let msg = ui(&c).global::<KioskGlobal>().get_message().to_string();
        assert!(msg.contains("已打印"), "{msg}");
        // The hall's popular questions counted it: by id, never the words typed.
        let kept = std::fs::read_to_string(&popular).unwrap();
        assert!(
            !kept.contains("wszm") && kept.contains("HALL-5301"),
            "{kept}"
        );
    }
    Controller::feed(&c, Event::Leave);
    assert_eq!(*c.borrow().kiosk().screen(), Screen::Attract);

    tap(&c, &heading(&c)); // the attract screen: touch anywhere
    tap(&c, "中文");
    tap(&c, "已放置身份证");
    tap(&c, "（演示）人脸比对通过");
    assert_eq!(
        *c.borrow().kiosk().screen(),
        Screen::Zones,
        "{}",
        ui(&c).global::<KioskGlobal>().get_message()
    );
    // Voice: on, the prompt again on request, and off.
    tap(&c, "语音：关");
    let before = c.borrow().spoken.clone();
    assert!(
        !before.is_empty(),
        "turning voice on speaks the screen's prompt"
    );
    tap(&c, "重听");
    let after = c.borrow().spoken.clone();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last(), before.last(), "the same prompt again");
    tap(&c, "语音：开");
    let person = ui(&c).global::<KioskGlobal>().get_person().to_string();
    assert!(person.starts_with("王*明 530102********"), "{person}");
    tap(&c, "社保费及非税收入");
    // The list narrows to what is typed in its search box.
    let all = ui(&c).global::<KioskGlobal>().get_rows().row_count();
    type_search(&c, "yanglao", &["养老"]);
    assert_eq!(
        ui(&c).global::<KioskGlobal>().get_search_field().value,
        "养老"
    );
    let narrowed = row_codes(&c);
    assert!(
        narrowed.contains(&"D01".to_string()) && narrowed.len() < all,
        "{narrowed:?} of {all}"
    );
    tap(&c, "灵活就业人员基本养老保险费缴纳");
    tap(&c, "开始办理");
    assert!(matches!(c.borrow().kiosk().screen(), Screen::Form { .. }));
    // The form: the first month, the number of months, the contribution grade.
    let form = b.forms["D01"].clone();
    let label = |id: &str| form.field(id).unwrap().label.zh.clone();
    pick_month(&c, &label("start"), 2027, 1);
    type_into(&c, &label("months"), "6");
    tap(&c, "100%");
    // The computed contribution is shown live: 100% of the 7,000.00 average wage at 20%,
    // six months: 1,400.00 a month, 8,400.00 in all.
    let mut steps = 0;
    while matches!(c.borrow().kiosk().screen(), Screen::Form { .. }) {
        tap(&c, "下一步");
        steps += 1;
        assert!(
            steps < 10,
            "stuck on the form: {:?}",
            ui(&c).global::<KioskGlobal>().get_message()
        );
    }
    let lines = ui(&c).global::<KioskGlobal>().get_lines();
    let review: Vec<String> = (0..lines.row_count())
        .filter_map(|i| lines.row_data(i))
        .map(|l| format!("{}={}", l.label, l.value))
        .collect();
    assert!(
        review.iter().any(|l| l.ends_with("=8,400.00")),
        "{review:?}"
    );
    tap(&c, "确认");
    assert!(
        matches!(c.borrow().kiosk().screen(), Screen::Payment { .. }),
        "{:?} {}",
        c.borrow().kiosk().screen(),
        heading(&c)
    );
    tap(&c, "三方协议扣款");
    assert!(
        matches!(c.borrow().kiosk().screen(), Screen::Outcome { .. }),
        "{:?} {}",
        c.borrow().kiosk().screen(),
        ui(&c).global::<KioskGlobal>().get_message()
    );
    assert_eq!(heading(&c), "办理完成");
    tap(&c, "继续（打印凭证）");
    assert_eq!(
        *c.borrow().kiosk().screen(),
        Screen::Rating,
        "the receipt did not print: {}",
        heading(&c)
    );

    // The receipt that came out.
    match &emulator {
        Some(e) => {
            let ids = e
                .wait_receipts("kiosk", 1, std::time::Duration::from_secs(10))
                .unwrap();
            let ids_first = ids[0].clone();
            let png = e.receipt_png("kiosk", &ids[0]).unwrap();
            let path = support::root().join("target/ui-e2e-receipt.png");
            std::fs::write(&path, &png).unwrap();
            // The QR code on paper points at the back office's verification page.
            let out = std::process::Command::new("zbarimg")
                .args(["-q", "--raw"])
                .arg(&path)
                .output()
                .unwrap();
            let qr = String::from_utf8_lossy(&out.stdout);
            assert!(
                qr.contains("/documents/") && qr.contains("verify?code="),
                "QR says {qr:?}"
            );
            // The rating screen offers the same document as an e-receipt QR code.
            // (zbarimg also reads the document number's barcode, on the next line.)
            let url = qr
                .lines()
                .find(|l| l.contains("verify?code="))
                .unwrap_or_default();
            assert_eq!(ui(&c).global::<KioskGlobal>().get_qr_link().as_str(), url);
            // A copy: printed from the journal, marked as one.
            tap(&c, "补打凭证");
            assert_eq!(*c.borrow().kiosk().screen(), Screen::Rating);
            let ids = e
                .wait_receipts("kiosk", 2, std::time::Duration::from_secs(10))
                .unwrap();
            let first = ids_first.clone();
            let copy_id = ids.iter().find(|i| **i != first).expect("a second receipt");
            let copy = e.receipt_png("kiosk", copy_id).unwrap();
            let path = support::root().join("target/ui-e2e-receipt-copy.png");
            std::fs::write(&path, &copy).unwrap();
            let out = std::process::Command::new("zbarimg")
                .args(["-q", "--raw"])
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                qr.trim(),
                "the copy is of the same document"
            );
        }
        None => {
            let printed = c.borrow().printed_text();
            assert!(
                printed.last().is_some_and(|p| p.contains("8,400.00")),
                "{printed:?}"
            );
            tap(&c, "补打凭证");
            let printed = c.borrow().printed_text();
            assert!(
                printed.len() == 2 && printed[1].contains("补打"),
                "{printed:?}"
            );
        }
    }

    // Leave without rating: the idle timeout wipes. Nothing personal survives in the UI.
    let t = &b.kiosk.timeouts;
    let far = 100_000_000 + (t.idle_secs + t.warning_secs) as u64 * 1000;
    Controller::feed_at(&c, 100_000_000, Event::Tick { now: 100_000_000 });
    Controller::feed_at(
        &c,
        far - t.warning_secs as u64 * 1000 + 500,
        Event::Tick {
            now: far - t.warning_secs as u64 * 1000 + 500,
        },
    );
    Controller::feed_at(&c, far + 1000, Event::Tick { now: far + 1000 });
    assert!(
        c.borrow().kiosk().session().is_none(),
        "the session outlived the idle timeout"
    );
    let window = ui(&c);
    let k = window.global::<KioskGlobal>();
    let mut everything = vec![
        k.get_person().to_string(),
        k.get_heading().to_string(),
        k.get_body().to_string(),
        k.get_message().to_string(),
        k.get_qr_link().to_string(),
        k.get_search_field().value.to_string(),
        k.get_search_field().compose.to_string(),
    ];
    let m = k.get_lines();
    everything.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .flat_map(|l| [l.label.to_string(), l.value.to_string()]),
    );
    let m = k.get_fields();
    everything.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .flat_map(|f| [f.value.to_string(), f.label.to_string()]),
    );
    let m = k.get_options();
    everything.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .map(|o| o.label.to_string()),
    );
    let all = everything.join("\n");
    for secret in ["王小明", "王*明", "530102", "1537", "8,400.00", "2027-01"] {
        assert!(
            !all.contains(secret),
            "{secret:?} survived the wipe in:\n{all}"
        );
    }
    assert_eq!(*c.borrow().kiosk().screen(), Screen::Attract);

    // The hidden staff exit: a long press in the corner asks for the PIN from kiosk.toml.
    let k = window.global::<KioskGlobal>();
    // (The 3 s press is the corner's Slint timer; the test starts from what it calls.)
    k.invoke_staff_corner_pressed();
    assert!(k.get_pin_visible());
    // Typed on the PIN's own keypad, and never shown.
    let enter_pin = |pin: &str| {
        for d in pin.chars() {
            tap(&c, &d.to_string());
        }
        let shown = k.get_pin_field().value.to_string();
        assert_eq!(shown, "•".repeat(pin.chars().count()));
        tap(&c, "确定 OK");
    };
    enter_pin("0000");
    assert!(k.get_pin_error().contains("PIN"), "a wrong PIN is refused");
    assert!(!c.borrow().exited);
    let pin = b
        .kiosk
        .staff_exit_pin
        .clone()
        .expect("kiosk.toml sets an exit PIN");
    enter_pin(&pin);
    assert!(c.borrow().exited, "the right PIN closes the app");
    println!(
        "every tap found its button by accessible label; {} page scrolls were needed",
        SCROLLS.with(|s| s.get())
    );
}

/// A free-text field on a touch screen: Chinese by pinyin on the kiosk's own keyboard,
/// then English letters and capitals, a correction, and the field's length limit.
#[test]
fn free_text_is_typed_in_chinese_and_english_on_the_keyboard() {
    i_slint_backend_testing::init_no_event_loop();
    let b = Arc::new(support::bundle());
    let c = Controller::new(b.clone(), None, Run::Inline).unwrap();
    ui(&c).show().unwrap();
    tap(&c, &heading(&c));
    tap(&c, "中文");
    tap(&c, "已放置身份证");
    tap(&c, "（演示）人脸比对通过");
    Controller::feed(&c, Event::ChooseZone("Z05".into()));
    Controller::feed(&c, Event::ChooseBusiness("F04".into()));
    tap(&c, "开始办理");
    tap(&c, "其他");
    let label = b.forms["F04"]
        .field("purpose_detail")
        .unwrap()
        .label
        .zh
        .clone();
    let value = |c: &Shared| {
        c.borrow()
            .kiosk()
            .session()
            .and_then(|s| s.values().get("purpose_detail").map(|v| v.wire()))
            .unwrap_or_default()
    };
    // 银行 then 贷款, picked from the candidates the letters bring up.
    type_pinyin(&c, &label, "yinhangdaikuan", &["银行", "贷款"]);
    assert_eq!(value(&c), "银行贷款", "the core has what was typed");
    // More on the same field: 完成 while composing puts in the best candidate.
    type_pinyin(&c, &label, "shenqing", &[]);
    assert_eq!(value(&c), "银行贷款申请");
    // English letters in capitals (the keys show them so), a digit, and a correction.
    tap(&c, &label);
    tap(&c, "切换到英文");
    tap(&c, "大写");
    for k in ["A", "B", "X", "⌫", "C", "1"] {
        tap(&c, k);
    }
    tap(&c, "完成");
    assert_eq!(value(&c), "银行贷款申请ABC1");
    // The field takes at most 100 characters: a stuck key stops there.
    tap(&c, &label);
    for _ in 0..120 {
        tap(&c, "-");
    }
    tap(&c, "完成");
    assert_eq!(value(&c).chars().count(), 100);
    // Clear empties it, and the required field says so.
    tap(&c, &label);
    tap(&c, "清空");
    // Staff may open the exit prompt over an open keyboard: a digit there, then cancel,
    // leaves the field's keyboard open and its text alone.
    let open = |c: &Shared| {
        let f = ui(c).global::<KioskGlobal>().get_fields();
        (0..f.row_count())
            .filter_map(|i| f.row_data(i))
            .find(|f| f.id == "purpose_detail")
            .is_some_and(|f| f.open)
    };
    assert!(open(&c));
    ui(&c).global::<KioskGlobal>().invoke_staff_corner_pressed();
    // (The field's keyboard has a 7 too, under the prompt: the PIN pad's key is sent.)
    Controller::pad_key(&c, "staff_pin", "7");
    assert_eq!(ui(&c).global::<KioskGlobal>().get_pin_field().value, "•");
    tap(&c, "取消 Cancel");
    assert!(open(&c), "the PIN prompt closed the field's keyboard");
    assert_eq!(value(&c), "", "the PIN's digit went into the field");
    tap(&c, "完成");
    let f = ui(&c).global::<KioskGlobal>().get_fields();
    let shown = (0..f.row_count())
        .filter_map(|i| f.row_data(i))
        .find(|f| f.id == "purpose_detail")
        .unwrap();
    assert_eq!(shown.value, "");
    assert!(
        !shown.error.is_empty(),
        "an empty required field shows its error"
    );
}
