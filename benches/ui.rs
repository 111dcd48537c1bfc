//! Figures for the kiosk UI, with Slint's software renderer at 1920x1080: start to first
//! frame (bundle load, window creation, first render), the time to render a screen
//! transition (a key on the pinyin keyboard included), and memory after 100 simulated
//! sessions against after 1 (it must not grow).
//! Run: `cargo bench -p tax-kiosk --bench ui`.

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use kiosk_core::Lang;
use kiosk_core::config::load;
use kiosk_core::session::{Event, PaymentMethod};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize};
use tax_kiosk::ui::{Controller, Run};

struct P(Rc<MinimalSoftwareWindow>);
impl Platform for P {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.0.clone())
    }
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn session(c: &Rc<std::cell::RefCell<Controller>>, now: &mut u64, mut frame: impl FnMut()) {
    let card = tax_kiosk::demo::demo_card();
    let start = vec![
        Event::Touch,
        Event::ChooseLanguage(Lang::Zh),
        Event::CardRead(Ok(card)),
        Event::FaceResult(Ok(0.7)),
        Event::ChooseZone("Z02".into()),
    ];
    for e in start {
        *now += 1000;
        Controller::feed_at(c, *now, e);
        frame();
    }
    // A question typed on the pinyin keyboard: each key is a transition too.
    Controller::open_field(c, "search");
    frame();
    for k in ["w", "a", "n", "s", "h", "u", "i", "pick:0", "done"] {
        Controller::pad_key(c, "search", k);
        frame();
    }
    let events = vec![
        Event::Home,
        Event::ChooseZone("Z03".into()),
        Event::ChooseBusiness("C02".into()),
        Event::Start,
        Event::FieldInput {
            field: "period".into(),
            text: "2026Q3".into(),
        },
        Event::NextStep,
        Event::FieldInput {
            field: "sales_3".into(),
            text: "100000".into(),
        },
        Event::NextStep,
        Event::NextStep,
        Event::FieldInput {
            field: "location".into(),
            text: "city".into(),
        },
        Event::NextStep,
        Event::ConfirmReview,
        Event::ChoosePayment(PaymentMethod::TripartiteDebit),
        Event::NextStep,
        Event::Rate(5),
    ];
    for e in events {
        *now += 1000;
        Controller::feed_at(c, *now, e);
        frame();
    }
    *now += 10_000;
    Controller::feed_at(c, *now, Event::Tick { now: *now });
}

fn main() {
    let t0 = Instant::now();
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(P(window.clone()))).expect("platform");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-config");
    let files = bundle_dir::read(&root).expect("bundle");
    let bundle = Arc::new(load(&files).expect("bundle loads").bundle);
    let c = Controller::new(bundle, None, Run::Inline).expect("window");
    window.set_size(PhysicalSize::new(1920, 1080));
    c.borrow().ui.show().expect("show");
    let mut buffer = vec![slint::platform::software_renderer::Rgb565Pixel::default(); 1920 * 1080];
    let mut draw = || {
        window.draw_if_needed(|r| {
            r.render(&mut buffer, 1920);
        });
    };
    draw();
    let first = t0.elapsed().as_secs_f64() * 1e3;
    println!(
        "FIGURE ui start: bundle load + window + first 1920x1080 frame in {first:.1} ms (software renderer, in process)"
    );

    // Screen transitions: the event, the controller filling the globals, and the frame.
    let mut times = Vec::new();
    let mut now = 1_000_000u64;
    for _ in 0..5 {
        let mut last = Instant::now();
        session(&c, &mut now, || {
            window.request_redraw();
            window.draw_if_needed(|r| {
                r.render(&mut buffer, 1920);
            });
            times.push(last.elapsed().as_secs_f64() * 1e3);
            last = Instant::now();
        });
    }
    let n = times.len();
    println!(
        "FIGURE ui transition: {n} screen transitions at 1920x1080: p50 {:.1} ms, p95 {:.1} ms (event + controller + full software render)",
        pct(&mut times, 0.5),
        pct(&mut times, 0.95)
    );

    // Memory: one session, then 100; the kiosk must not keep anything of a past visit.
    let mut now = 10_000_000u64;
    session(&c, &mut now, || {});
    let after_1 = rss_kib();
    for _ in 0..100 {
        session(&c, &mut now, || {});
    }
    let after_101 = rss_kib();
    println!(
        "FIGURE ui memory: RSS after 1 session {after_1} KiB, after 100 more {after_101} KiB ({:+} KiB, {:.3}x)",
        after_101 as i64 - after_1 as i64,
        after_101 as f64 / after_1 as f64
    );
}
