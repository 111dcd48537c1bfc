//! The kiosk's card reader and camera port with the real face pipeline: the setup's demo
//! card, the demo camera's simulated person following the liveness prompts, and previews
//! handed to the screen while it matches. Prints the preview frame rate.

mod support;

use kiosk_core::Lang;
use kiosk_core::session::Event;
use tax_kiosk::face_port::FacePort;

#[test]
fn the_card_holder_is_verified_with_previews_on_screen() {
    let b = support::bundle();
    std::env::set_current_dir(support::root()).unwrap();
    let port = FacePort::open(&b).unwrap_or_else(|e| panic!("{e:#}"));
    let Event::CardRead(Ok(card)) = port.read_card() else {
        panic!("no demo card read")
    };
    assert!(card.id_number.masked().contains("********"));
    let started = std::time::Instant::now();
    let mut frames = 0u32;
    let mut prompts = std::collections::BTreeSet::new();
    let result = port.verify(Lang::Zh, |p| {
        frames += 1;
        assert!(p.width <= 640 && p.rgb.len() == (p.width * p.height * 3) as usize);
        prompts.insert(p.prompt);
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "FIGURE camera preview while matching: {frames} frames in {secs:.1} s = {:.1} fps ({} build)",
        frames as f64 / secs,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let Event::FaceResult(Ok(score)) = result else {
        panic!("not verified: {result:?}; prompts {prompts:?}")
    };
    assert!(score >= b.kiosk.face.threshold, "{score}");
    // The liveness challenge asked the person to move.
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("转头") || p.contains("靠近")),
        "{prompts:?}"
    );
    // After the wipe, no card photo is left for another attempt.
    port.forget();
    assert!(matches!(
        port.verify(Lang::Zh, |_| {}),
        Event::FaceResult(Err(_))
    ));
}
