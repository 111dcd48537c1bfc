//! Every kiosk screen rendered with Slint's software renderer, in Chinese and English, in
//! elder mode, and in portrait (both languages): written as PNGs under `target/ui-snapshots/` to look at,
//! checked for characters the font cannot draw, and compared with the committed reference
//! images in `tests/ui-reference/` (a quarter-size copy, so small rendering noise is not a
//! change). `UPDATE_UI_REFERENCE=1 cargo test --test ui_snapshots` refreshes them.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use kiosk_core::Amount;
use kiosk_core::config::{Bundle, load};
use kiosk_core::session::{Event, SubmitResult};
use kiosk_core::{Lang, Localized};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, Model, PhysicalSize};
use tax_kiosk::ui::{Controller, KioskGlobal, Run};

struct TestPlatform(Rc<MinimalSoftwareWindow>);

impl Platform for TestPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.0.clone())
    }
}

fn bundle() -> Arc<Bundle> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk-config");
    let files = bundle_dir::read(&root).unwrap();
    Arc::new(load(&files).unwrap().bundle)
}

type Setup =
    fn(&Rc<std::cell::RefCell<Controller>>, &dyn Fn(&Rc<std::cell::RefCell<Controller>>, Event));

fn steps() -> Vec<(&'static str, Setup)> {
    fn verified(
        c: &Rc<std::cell::RefCell<Controller>>,
        f: &dyn Fn(&Rc<std::cell::RefCell<Controller>>, Event),
    ) {
        f(c, Event::Touch);
        f(c, Event::ChooseLanguage(lang_of(c)));
        f(c, Event::CardRead(Ok(tax_kiosk::demo::demo_card())));
        f(c, Event::FaceResult(Ok(0.7)));
    }
    fn to_form(
        c: &Rc<std::cell::RefCell<Controller>>,
        f: &dyn Fn(&Rc<std::cell::RefCell<Controller>>, Event),
    ) {
        verified(c, f);
        f(c, Event::ChooseZone("Z03".into()));
        f(c, Event::ChooseBusiness("C02".into()));
        f(c, Event::Start);
        f(
            c,
            Event::FieldInput {
                field: "period".into(),
                text: "2026Q3".into(),
            },
        );
        f(c, Event::NextStep);
        f(
            c,
            Event::FieldInput {
                field: "sales_3".into(),
                text: "100000".into(),
            },
        );
    }
    fn to_review(
        c: &Rc<std::cell::RefCell<Controller>>,
        f: &dyn Fn(&Rc<std::cell::RefCell<Controller>>, Event),
    ) {
        to_form(c, f);
        f(c, Event::NextStep);
        f(c, Event::NextStep);
        f(
            c,
            Event::FieldInput {
                field: "location".into(),
                text: "city".into(),
            },
        );
        f(c, Event::NextStep);
    }
    vec![
        ("01-attract", |_, _| {}),
        ("02-language", |c, f| f(c, Event::Touch)),
        ("03-insert-card", |c, f| {
            f(c, Event::Touch);
            f(c, Event::ChooseLanguage(lang_of(c)));
        }),
        ("04-face", |c, f| {
            f(c, Event::Touch);
            f(c, Event::ChooseLanguage(lang_of(c)));
            f(c, Event::CardRead(Ok(tax_kiosk::demo::demo_card())));
        }),
        ("05-alternatives", |c, f| {
            f(c, Event::Touch);
            f(c, Event::ChooseLanguage(lang_of(c)));
            f(c, Event::CardRead(Ok(tax_kiosk::demo::demo_card())));
            for _ in 0..3 {
                f(
                    c,
                    Event::FaceResult(Err(kiosk_core::session::FaceFailure::Mismatch)),
                );
            }
        }),
        ("06-zones", verified),
        ("07-guidance", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z01".into()));
        }),
        ("08-businesses", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z05".into()));
        }),
        ("09-detail", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z03".into()));
            f(c, Event::ChooseBusiness("C02".into()));
        }),
        ("10-form", to_form),
        ("11-form-error", |c, f| {
            to_form(c, f);
            f(
                c,
                Event::FieldInput {
                    field: "sales_1".into(),
                    text: "1.234".into(),
                },
            );
        }),
        ("12-review", to_review),
        ("13-payment", |c, f| {
            to_review(c, f);
            f(c, Event::ConfirmReview);
        }),
        ("14-outcome", |c, f| {
            to_review(c, f);
            f(c, Event::ConfirmReview);
            f(
                c,
                Event::ChoosePayment(kiosk_core::session::PaymentMethod::TripartiteDebit),
            );
        }),
        ("15-refused", |c, f| {
            to_review(c, f);
            // Not through the sandbox: a refusal as the back office words it.
            f(c, Event::ConfirmReview);
        }),
        ("16-rating", |c, f| {
            to_review(c, f);
            f(c, Event::ConfirmReview);
            f(
                c,
                Event::ChoosePayment(kiosk_core::session::PaymentMethod::TripartiteDebit),
            );
            f(c, Event::NextStep);
        }),
        ("17-ticket", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z01".into()));
            f(c, Event::GuidanceAnswer(2));
        }),
        ("18-idle-warning", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z03".into()));
            let idle = c.borrow().kiosk().active_bundle().kiosk.timeouts.idle_secs as u64 * 1000;
            f(
                c,
                Event::Tick {
                    now: 10_000_000 + idle * 3,
                },
            );
        }),
        ("20-consultation", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z02".into()));
            let q = if lang_of(c) == Lang::Zh {
                "我想打印去年交税的证明"
            } else {
                "How do I print my tax payment certificate"
            };
            Controller::search(c, q);
        }),
        // The on-screen pads: digits typed on the keypad, the quarter picker, the date
        // picker, and the SMS code's keypad.
        ("21-keypad", |c, f| {
            to_form(c, f);
            for k in ["1", "2", "3", "4", "5", ".", "6"] {
                Controller::pad_key(c, "sales_1", k);
            }
        }),
        ("22-period-picker", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z03".into()));
            f(c, Event::ChooseBusiness("C02".into()));
            f(c, Event::Start);
            Controller::pad_key(c, "period", "set:2026Q3");
            Controller::open_field(c, "period");
        }),
        ("23-date-picker", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z04".into()));
            f(c, Event::ChooseBusiness("B12".into()));
            f(c, Event::Start);
            f(
                c,
                Event::FieldInput {
                    field: "invoice_kind".into(),
                    text: "digital".into(),
                },
            );
            f(
                c,
                Event::FieldInput {
                    field: "issue_date".into(),
                    text: "2026-11-20".into(),
                },
            );
            Controller::open_field(c, "issue_date");
        }),
        ("24-sms-code", |c, f| {
            f(c, Event::Touch);
            f(c, Event::ChooseLanguage(lang_of(c)));
            f(c, Event::CardRead(Ok(tax_kiosk::demo::demo_card())));
            f(c, Event::UseSms);
            for k in ["4", "2", "7"] {
                Controller::pad_key(c, "sms_code", k);
            }
        }),
        ("25-e-receipt", |c, f| {
            // A printer that cannot be reached (nothing listens on port 1): the receipt
            // is offered as an e-receipt, with the reason.
            let journal = std::env::temp_dir()
                .join(format!("tax-kiosk-snap-journal-{}.db", std::process::id()));
            c.borrow_mut().set_printer(
                tax_kiosk::ui::PrinterPort::escpos("tcp://127.0.0.1:1", "pos-80-gbk", &journal)
                    .unwrap(),
            );
            to_review(c, f);
            f(c, Event::ConfirmReview);
            f(
                c,
                Event::ChoosePayment(kiosk_core::session::PaymentMethod::TripartiteDebit),
            );
            f(c, Event::NextStep);
        }),
        // The letter keyboard: pinyin composed with its candidates on a free-text field
        // (letters typed straight in for an English session), the question box's
        // keyboard in the consultation zone, and the staff exit PIN on its keypad.
        ("26-keyboard", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z05".into()));
            f(c, Event::ChooseBusiness("F04".into()));
            f(c, Event::Start);
            f(
                c,
                Event::FieldInput {
                    field: "purpose".into(),
                    text: "other".into(),
                },
            );
            Controller::open_field(c, "purpose_detail");
            for k in ["y", "i", "n", "h", "a", "n", "g"] {
                Controller::pad_key(c, "purpose_detail", k);
            }
        }),
        ("27-search-keyboard", |c, f| {
            verified(c, f);
            f(c, Event::ChooseZone("Z02".into()));
            Controller::open_field(c, "search");
            for k in ["w", "a", "n", "s", "h", "u", "i"] {
                Controller::pad_key(c, "search", k);
            }
        }),
        ("28-staff-pin", |c, _| {
            let ui = c.borrow().ui.clone_strong();
            ui.global::<tax_kiosk::ui::KioskGlobal>()
                .invoke_staff_corner_pressed();
            for k in ["2", "0", "2"] {
                Controller::pad_key(c, "staff_pin", k);
            }
        }),
        ("19-goodbye", |c, f| {
            to_review(c, f);
            f(c, Event::ConfirmReview);
            f(
                c,
                Event::ChoosePayment(kiosk_core::session::PaymentMethod::TripartiteDebit),
            );
            f(c, Event::NextStep);
            f(c, Event::Rate(5));
        }),
    ]
}

thread_local! {
    static LANG: std::cell::Cell<Lang> = const { std::cell::Cell::new(Lang::Zh) };
}

fn lang_of(_: &Rc<std::cell::RefCell<Controller>>) -> Lang {
    LANG.with(|l| l.get())
}

/// Characters the font cannot draw: checked against the CJK font's and the Latin
/// fallback's character maps.
fn missing_glyphs(texts: &[String]) -> Vec<char> {
    let cjk = std::fs::read("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
        .expect("fonts-noto-cjk is installed by scripts/setup");
    let latin = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        .expect("fonts-dejavu-core is installed by scripts/setup");
    let faces = [
        ttf_parser::Face::parse(&cjk, 2).unwrap(),
        ttf_parser::Face::parse(&latin, 0).unwrap(),
    ];
    let mut missing: Vec<char> = texts
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .filter(|c| faces.iter().all(|f| f.glyph_index(*c).is_none()))
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

fn ui_texts(c: &Controller) -> Vec<String> {
    let k = c.ui.global::<KioskGlobal>();
    let mut t = vec![
        k.get_heading().to_string(),
        k.get_body().to_string(),
        k.get_message().to_string(),
        k.get_banner().to_string(),
        k.get_idle_warning().to_string(),
        k.get_person().to_string(),
        k.get_hall_name().to_string(),
    ];
    let m = k.get_lines();
    t.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .flat_map(|l| [l.label.to_string(), l.value.to_string()]),
    );
    let m = k.get_options();
    t.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .map(|o| o.label.to_string()),
    );
    let m = k.get_rows();
    t.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .flat_map(|r| {
                [
                    r.title.to_string(),
                    r.subtitle.to_string(),
                    r.badge.to_string(),
                ]
            }),
    );
    let m = k.get_zones();
    t.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .flat_map(|z| [z.name.to_string(), z.purpose.to_string()]),
    );
    let m = k.get_fields();
    t.extend(
        (0..m.row_count())
            .filter_map(|i| m.row_data(i))
            .flat_map(|f| {
                [
                    f.label.to_string(),
                    f.help.to_string(),
                    f.value.to_string(),
                    f.error.to_string(),
                ]
            }),
    );
    t.extend(
        [
            k.get_t_back(),
            k.get_t_home(),
            k.get_t_call_staff(),
            k.get_t_language(),
            k.get_t_voice(),
        ]
        .map(|s| s.to_string()),
    );
    t
}

fn save_png(path: &Path, w: u32, h: u32, rgba: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(rgba).unwrap();
}

fn load_png(path: &Path) -> Option<(u32, u32, Vec<u8>)> {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).ok()?));
    let mut r = dec.read_info().ok()?;
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).ok()?;
    buf.truncate(info.buffer_size());
    Some((info.width, info.height, buf))
}

/// A quarter-size copy (box filter), so that reference images are small to commit and
/// sub-pixel font differences between machines average out.
fn quarter(w: u32, h: u32, rgba: &[u8]) -> (u32, u32, Vec<u8>) {
    let (qw, qh) = (w / 4, h / 4);
    let mut out = vec![0u8; (qw * qh * 4) as usize];
    for y in 0..qh {
        for x in 0..qw {
            for ch in 0..4 {
                let mut sum = 0u32;
                for dy in 0..4 {
                    for dx in 0..4 {
                        sum += rgba[(((y * 4 + dy) * w + x * 4 + dx) * 4 + ch) as usize] as u32;
                    }
                }
                out[((y * qw + x) * 4 + ch) as usize] = (sum / 16) as u8;
            }
        }
    }
    (qw, qh, out)
}

#[test]
fn every_screen_renders_in_both_languages_elder_mode_and_portrait() {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(TestPlatform(window.clone()))).unwrap();
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-snapshots");
    let ref_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui-reference");
    std::fs::create_dir_all(&out_dir).unwrap();
    let update = std::env::var_os("UPDATE_UI_REFERENCE").is_some();
    if update {
        std::fs::create_dir_all(&ref_dir).unwrap();
    }
    let variants: [(&str, Lang, bool, bool); 6] = [
        ("zh", Lang::Zh, false, false),
        ("en", Lang::En, false, false),
        ("zh-elder", Lang::Zh, true, false),
        ("zh-portrait", Lang::Zh, false, true),
        ("en-portrait", Lang::En, false, true),
        // A portrait kiosk in elder mode: the largest keys on the narrowest screen.
        ("zh-elder-portrait", Lang::Zh, true, true),
    ];
    let b = bundle();
    let mut changed: Vec<String> = Vec::new();
    let mut missing_refs: Vec<String> = Vec::new();
    let mut glyph_problems: Vec<String> = Vec::new();
    let mut overflow: Vec<String> = Vec::new();
    let mut small: Vec<String> = Vec::new();
    let mut count = 0;
    for (variant, lang, elder, portrait) in variants {
        LANG.with(|l| l.set(lang));
        let (w, h) = if portrait { (1080, 1920) } else { (1920, 1080) };
        for (name, setup) in steps() {
            let c = Controller::new(b.clone(), None, Run::Inline).unwrap();
            c.borrow()
                .ui
                .global::<tax_kiosk::ui::Theme>()
                .set_portrait(portrait);
            window.set_size(PhysicalSize::new(w, h));
            c.borrow().ui.show().unwrap();
            let feed = |c: &Rc<std::cell::RefCell<Controller>>, ev: Event| {
                let elder_now = c.borrow().kiosk().session().is_some_and(|s| s.elder());
                let is_lang = matches!(ev, Event::ChooseLanguage(_));
                Controller::feed_at(c, 10_000_000, ev);
                if is_lang && elder && !elder_now {
                    Controller::feed_at(c, 10_000_000, Event::SetElderMode(true));
                }
            };
            if name == "15-refused" {
                setup(&c, &|c, ev| {
                    if matches!(ev, Event::ConfirmReview) {
                        Controller::feed_at(c, 10_000_000, ev);
                        Controller::feed_at(
                            c,
                            10_000_000,
                            Event::Submitted(SubmitResult::Refused {
                                reason: Localized::new(
                                    "所属期 2026Q3 已申报",
                                    "Period 2026Q3 has already been filed",
                                ),
                                next_step: Localized::new(
                                    "如需修改请办理更正申报（C22）",
                                    "To change it, file a correction (C22)",
                                ),
                            }),
                        );
                    } else {
                        feed(c, ev)
                    }
                });
            } else {
                setup(&c, &feed);
            }
            // Elder mode applies from the language screen on; the attract screen is the same
            // for everybody.
            let shot = c.borrow().ui.window().take_snapshot().unwrap();
            // What the model holds, and every label drawn on screen (the .slint files' own
            // words included).
            let mut texts = ui_texts(&c.borrow());
            let drawn = c.borrow().ui.clone_strong();
            texts.extend(
                ElementQuery::from_root(&drawn)
                    .match_descendants()
                    .find_all()
                    .iter()
                    .filter_map(|e| e.accessible_label().map(|l| l.to_string())),
            );
            let missing = missing_glyphs(&texts);
            if !missing.is_empty() {
                glyph_problems.push(format!("{variant}/{name}: {missing:?}"));
            }
            // After rendering, so the layout is settled: every text fits its box and its
            // button (across and down), every button is a finger's size.
            let ui = c.borrow().ui.clone_strong();
            let min_touch = if ui.global::<tax_kiosk::ui::Theme>().get_elder() {
                96.0
            } else {
                64.0
            };
            for e in ElementQuery::from_root(&ui).match_descendants().find_all() {
                if !e.is_valid() || e.computed_opacity() == 0.0 {
                    continue;
                }
                let size = e.size();
                if let Some(d) = e.accessible_description()
                    && d.starts_with("overflow")
                    && size.width > 0.0
                {
                    overflow.push(format!(
                        "{variant}/{name}: {:?} {d}",
                        e.accessible_label().unwrap_or_default()
                    ));
                }
                let pos = e.absolute_position();
                // A button's label stays inside the button.
                if e.accessible_role() == Some(AccessibleRole::Button) && size.width > 0.0 {
                    for t in e.query_descendants().match_type_name("KText").find_all() {
                        let (tp, ts) = (t.absolute_position(), t.size());
                        if tp.x < pos.x - 0.5 || tp.x + ts.width > pos.x + size.width + 0.5 {
                            overflow.push(format!(
                                "{variant}/{name}: {:?} is wider ({:.0} px) than its button ({:.0} px)",
                                t.accessible_label().unwrap_or_default(),
                                ts.width,
                                size.width
                            ));
                        }
                        if tp.y < pos.y - 0.5 || tp.y + ts.height > pos.y + size.height + 0.5 {
                            overflow.push(format!(
                                "{variant}/{name}: {:?} runs out of its button's {:.0} px height (text at {:.0}..{:.0}, button at {:.0}..{:.0})",
                                t.accessible_label().unwrap_or_default(),
                                size.height,
                                tp.y,
                                tp.y + ts.height,
                                pos.y,
                                pos.y + size.height
                            ));
                        }
                    }
                }
                if e.accessible_role() == Some(AccessibleRole::Button)
                    && size.width > 0.0
                    && pos.x + size.width > w as f32 + 0.5
                {
                    small.push(format!(
                        "{variant}/{name}: {:?} runs off the screen's right edge (x {:.0} + {:.0})",
                        e.accessible_label().unwrap_or_default(),
                        pos.x,
                        size.width
                    ));
                }
                if e.accessible_role() == Some(AccessibleRole::Button)
                    && size.width > 0.0
                    && (size.width < min_touch - 0.5 || size.height < min_touch - 0.5)
                {
                    small.push(format!(
                        "{variant}/{name}: {:?} is {:.0}x{:.0}",
                        e.accessible_label().unwrap_or_default(),
                        size.width,
                        size.height
                    ));
                }
            }
            let (sw, sh) = (shot.width(), shot.height());
            assert_eq!(
                (sw, sh),
                (w, h),
                "{variant}/{name} rendered at the wrong size"
            );
            let rgba: Vec<u8> = shot.as_bytes().to_vec();
            // Something was drawn: not a blank window.
            let ink = rgba
                .chunks(4)
                .filter(|p| p[0] < 100 && p[1] < 100 && p[2] < 100)
                .count();
            assert!(ink > 200, "{variant}/{name} looks blank");
            let file = format!("{variant}-{name}.png");
            save_png(&out_dir.join(&file), sw, sh, &rgba);
            // The e-receipt's QR code on screen reads back as the link shown beside it.
            if matches!(name, "16-rating" | "25-e-receipt") {
                let link = ui.global::<KioskGlobal>().get_qr_link().to_string();
                assert!(link.contains("/verify?code="), "{variant}/{name}: {link:?}");
                match std::process::Command::new("zbarimg")
                    .args(["-q", "--raw"])
                    .arg(out_dir.join(&file))
                    .output()
                {
                    Ok(out) => assert_eq!(
                        String::from_utf8_lossy(&out.stdout).trim(),
                        link,
                        "{variant}/{name}: the QR code on screen"
                    ),
                    Err(e) => panic!("zbarimg (installed by scripts/setup): {e}"),
                }
            }
            let (qw, qh, q) = quarter(sw, sh, &rgba);
            let ref_path: PathBuf = ref_dir.join(&file);
            if update {
                save_png(&ref_path, qw, qh, &q);
            } else {
                match load_png(&ref_path) {
                    None => missing_refs.push(file.clone()),
                    Some((rw, rh, _)) if (rw, rh) != (qw, qh) => {
                        changed.push(format!("{file}: size {rw}x{rh} -> {qw}x{qh}"))
                    }
                    Some((_, _, r)) => {
                        let differing = r
                            .chunks(4)
                            .zip(q.chunks(4))
                            .filter(|(a, b)| {
                                a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 48)
                            })
                            .count();
                        let share = differing as f64 / (qw * qh) as f64;
                        if share > 0.005 {
                            changed.push(format!(
                                "{file}: {:.2}% of pixels changed (see target/ui-snapshots/{file})",
                                share * 100.0
                            ));
                        }
                    }
                }
            }
            c.borrow().ui.hide().unwrap();
            count += 1;
        }
    }
    println!("rendered {count} screens into {}", out_dir.display());
    assert!(
        glyph_problems.is_empty(),
        "characters the fonts cannot draw:\n{}",
        glyph_problems.join("\n")
    );
    overflow.sort();
    overflow.dedup();
    small.sort();
    small.dedup();
    assert!(
        overflow.is_empty(),
        "texts that do not fit their box ({}):\n{}",
        overflow.len(),
        overflow.join("\n")
    );
    assert!(
        small.is_empty(),
        "touch targets under 16 mm (64 px at 1080p; 96 px in elder mode) or off the screen ({}):\n{}",
        small.len(),
        small.join("\n")
    );
    assert!(
        missing_refs.is_empty(),
        "no reference image for {missing_refs:?}: look at target/ui-snapshots, then run UPDATE_UI_REFERENCE=1 cargo test --test ui_snapshots"
    );
    assert!(
        changed.is_empty(),
        "screens changed from their reference images:\n{}",
        changed.join("\n")
    );
    let _ = Amount::ZERO;
}
