//! A whole session driven through the UI, by accessible label as a person's taps would
//! be, with Slint's testing backend: against the reference back office, printing on the
//! emupos printer emulator (or, where Python 3.13 is missing, the in-memory printer, and
//! the test says so). Then the wipe: after the idle timeout no UI property holds the last
//! person's name, ID number or form data.

mod support;

use std::rc::Rc;
use std::sync::Arc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_core::config::Bundle;
use kiosk_core::session::{Event, Screen};
use slint::{ComponentHandle, Model};
use tax_kiosk::link::Link;
use tax_kiosk::ui::{AppWindow, Controller, KioskGlobal, PrinterPort, Run};

type Shared = Rc<std::cell::RefCell<Controller>>;

fn ui(c: &Shared) -> AppWindow {
    c.borrow().ui.clone_strong()
}

/// Taps the button with this label. The label must be on screen: in the option buttons,
/// the zone tiles, the business rows or the top bar. The tap goes through the UI's own
/// callbacks, exactly what the button's `clicked` calls. (Slint 1.18's testing backend
/// stops finding repeated buttons by accessible label after the first model swap, so the
/// accessible-label search is used only where it works: the attract screen and top bar.)
fn tap(c: &Shared, label: &str) {
    let w = ui(c);
    let k = w.global::<KioskGlobal>();
    let opts = k.get_options();
    if let Some(o) = (0..opts.row_count())
        .filter_map(|i| opts.row_data(i))
        .find(|o| o.label == label)
    {
        k.invoke_option(o.value);
        return;
    }
    let zones = k.get_zones();
    if let Some(z) = (0..zones.row_count())
        .filter_map(|i| zones.row_data(i))
        .find(|z| z.name == label)
    {
        k.invoke_choose_zone(z.code);
        return;
    }
    let rows = k.get_rows();
    if let Some(r) = (0..rows.row_count())
        .filter_map(|i| rows.row_data(i))
        .find(|r| r.title == label)
    {
        k.invoke_choose_row(r.code);
        return;
    }
    let fields = k.get_fields();
    for f in (0..fields.row_count()).filter_map(|i| fields.row_data(i)) {
        if let Some(ch) = (0..f.choices.row_count())
            .filter_map(|i| f.choices.row_data(i))
            .find(|ch| ch.label == label)
        {
            k.invoke_field_input(f.id, ch.value);
            return;
        }
    }
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(&w, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .collect();
    assert!(
        !found.is_empty(),
        "no button {label:?} on screen {:?} ({:?})",
        c.borrow().kiosk().screen(),
        k.get_heading()
    );
    found[0].invoke_accessible_default_action();
}

/// Types into the input labelled `label`, as the on-screen keyboard would.
fn type_into(c: &Shared, label: &str, text: &str) {
    let w = ui(c);
    let k = w.global::<KioskGlobal>();
    let fields = k.get_fields();
    let f = (0..fields.row_count())
        .filter_map(|i| fields.row_data(i))
        .find(|f| f.label == label);
    let f = f.unwrap_or_else(|| {
        panic!(
            "no input {label:?} on screen {:?}",
            c.borrow().kiosk().screen()
        )
    });
    k.invoke_field_input(f.id, text.into());
}

fn link_to(base: &str, b: &Bundle) -> Link {
    let outbox = std::env::temp_dir().join(format!(
        "tax-kiosk-ui-outbox-{}-{}.db",
        std::process::id(),
        support::nanos()
    ));
    let l = Link::open(
        base,
        &b.kiosk.kiosk_id,
        &support::root().join("backoffice/dev-keys.toml"),
        &outbox,
        10,
    )
    .unwrap();
    assert!(l.reachable());
    l.with_simulated_bank(base.trim_end_matches("/v1"), "dev-bank-key")
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
    Controller::search(&c, "wszm");
    let rows = ui(&c).global::<KioskGlobal>().get_rows();
    let found: Vec<String> = (0..rows.row_count())
        .filter_map(|i| rows.row_data(i))
        .map(|r| r.code.to_string())
        .collect();
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
    let person = ui(&c).global::<KioskGlobal>().get_person().to_string();
    assert!(person.starts_with("王*明 530102********"), "{person}");
    tap(&c, "社保费及非税收入");
    // The list narrows to what is typed in its search box.
    let all = ui(&c).global::<KioskGlobal>().get_rows().row_count();
    Controller::search(&c, "养老");
    let narrowed: Vec<String> = {
        let rows = ui(&c).global::<KioskGlobal>().get_rows();
        (0..rows.row_count())
            .filter_map(|i| rows.row_data(i))
            .map(|r| r.code.to_string())
            .collect()
    };
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
    type_into(&c, &label("start"), "2027-01");
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
        }
        None => {
            let printed = c.borrow().printed_text();
            assert!(
                printed.last().is_some_and(|p| p.contains("8,400.00")),
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
    k.invoke_staff_corner_pressed();
    assert!(k.get_pin_visible());
    k.invoke_staff_pin("0000".into());
    assert!(k.get_pin_error().contains("PIN"), "a wrong PIN is refused");
    assert!(!c.borrow().exited);
    let pin = b
        .kiosk
        .staff_exit_pin
        .clone()
        .expect("kiosk.toml sets an exit PIN");
    k.invoke_staff_pin(pin.into());
    assert!(c.borrow().exited, "the right PIN closes the app");
}
