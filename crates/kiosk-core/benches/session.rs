//! Events per second through `Kiosk::handle` for a complete session (C02 filed and paid),
//! and the heap a live session holds. Run: `cargo bench -p kiosk-core --bench session`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use kiosk_core::Amount;
use kiosk_core::Lang;
use kiosk_core::config::{Bundle, load};
use kiosk_core::ids::{Date, IdNumber, id_check_char};
use kiosk_core::session::*;

/// Counts live heap bytes, so the bench can say what one session costs.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn bundle() -> Arc<Bundle> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config");
    let files = bundle_dir::read(&root).expect("readable");
    Arc::new(load(&files).unwrap_or_else(|d| panic!("{d:#?}")).bundle)
}

fn script() -> Vec<Event> {
    let body = "53010219800101123";
    let id = IdNumber::parse(&format!("{body}{}", id_check_char(body.as_bytes()) as char))
        .expect("valid id");
    let card = CardData {
        name: "张三丰".into(),
        id_number: id,
        valid_to: Date::new(2036, 1, 1).expect("date"),
    };
    let input = |f: &str, t: &str| Event::FieldInput {
        field: f.into(),
        text: t.into(),
    };
    vec![
        Event::Touch,
        Event::ChooseLanguage(Lang::Zh),
        Event::CardRead(Ok(card)),
        Event::FaceResult(Ok(0.7)),
        Event::IdentityResult(Ok(())),
        Event::ChooseZone("Z03".into()),
        Event::ChooseBusiness("C02".into()),
        Event::Start,
        input("period", "2026Q3"),
        Event::NextStep,
        input("sales_3", "100,000.00"),
        input("sales_1", "12,345.67"),
        Event::NextStep,
        Event::NextStep,
        input("location", "city"),
        Event::NextStep,
        Event::PrinterChecked(PrinterState::Ready),
        Event::ConfirmReview,
        Event::Submitted(SubmitResult::Done {
            tracking: "T".into(),
            document_no: "D".into(),
            verify_code: "V".into(),
            due: Amount::from_fen(312_346),
        }),
        Event::ChoosePayment(PaymentMethod::TripartiteDebit),
        Event::Paid(Ok("V1".into())),
        Event::NextStep,
        Event::Printed(Ok(())),
        Event::Rate(5),
    ]
}

fn main() {
    let b = bundle();
    let events = script();
    let mut k = Kiosk::new(b.clone(), 1);
    // Check the script really completes a session before timing it.
    let mut wiped = false;
    for e in events.clone() {
        wiped |= k.handle(e).contains(&Effect::Wipe);
    }
    assert!(wiped, "the scripted session did not reach its end");

    // Memory: heap held while a session sits at its review, against the idle kiosk.
    let mut k = Kiosk::new(b.clone(), 2);
    let idle = LIVE.load(Ordering::Relaxed);
    for e in events.iter().take(16).cloned() {
        black_box(k.handle(e));
    }
    let in_session = LIVE.load(Ordering::Relaxed);
    for e in events.iter().skip(16).cloned() {
        black_box(k.handle(e));
    }
    let after = LIVE.load(Ordering::Relaxed);

    let rounds = 20_000;
    let mut k = Kiosk::new(b, 3);
    let t = Instant::now();
    let mut n = 0u64;
    for _ in 0..rounds {
        for e in events.iter().cloned() {
            black_box(k.handle(e));
            n += 1;
        }
        // Past the goodbye screen, back to attract, ready for the next person.
        black_box(k.handle(Event::Tick { now: u64::MAX / 2 }));
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "FIGURE session: {n} events in {secs:.2} s = {:.0} events/s ({:.2} µs/event; {} sessions, {:.1} µs/session)",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        rounds,
        secs * 1e6 / rounds as f64
    );
    println!(
        "FIGURE session memory: a session at review holds {} bytes of heap; after the wipe {} bytes remain above the idle kiosk",
        in_session - idle,
        after - idle
    );
}
