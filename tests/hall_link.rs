//! The kiosk app and the hall console together: a real `tax-hall` in this process (its
//! embedded MQTT broker, SQLite, web server), and the kiosk's controller with its hall
//! port connected, driven as in the UI tests. What is checked is what the hall stores
//! and shows, and what the taxpayer sees.

mod support;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_core::Lang;
use kiosk_core::session::{Event, Outcome, Screen};
use slint::{ComponentHandle, Model};
use tax_kiosk::hall_port::{HallOptions, HallPort};
use tax_kiosk::ui::{Controller, KioskGlobal, Run};
use telemetry::ConfigState;

type Shared = Rc<RefCell<Controller>>;

const KIOSK: &str = "KSK-5301-0001";
const HALL: &str = "HALL-5301";
const STAFF: &str = "staff-li";
const STAFF_PASS: &str = "staff-password-123";

/// A running hall console with its own runtime.
struct Hall {
    rt: tokio::runtime::Runtime,
    running: hall::Running,
    signing: Key,
    public_key: PathBuf,
}

type Key = ed25519_dalek::SigningKey;

fn tmpdir(name: &str) -> PathBuf {
    let d = support::root()
        .join("target")
        .join("hall-link-tests")
        .join(format!(
            "{name}-{}-{}",
            std::process::id(),
            support::nanos()
        ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Hall {
    fn start(name: &str) -> Hall {
        let dir = tmpdir(name);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let keys = hall::read_keys(
            &std::fs::read_to_string(support::root().join("backoffice/dev-keys.toml")).unwrap(),
        )
        .unwrap();
        let signing = telemetry::bundle::generate_key();
        let public_key = dir.join("config-signing.pub");
        std::fs::write(
            &public_key,
            format!(
                "# test key\n{}\n",
                hex::encode(signing.verifying_key().to_bytes())
            ),
        )
        .unwrap();
        let database = dir.join("hall.db").display().to_string();
        let settings = hall::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            broker: hall::BrokerMode::Embedded {
                listen: "127.0.0.1:0".parse().unwrap(),
            },
            database: database.clone(),
            kiosk_keys: keys,
            reference_bundle: support::root().join("kiosk-config"),
            config_public_key: Some(signing.verifying_key()),
            halls: vec![],
            thresholds: hall::live::Thresholds {
                heartbeat_timeout_ms: 3_000,
                offline_alert_ms: 1_500,
                stuck_session_ms: 600_000,
                outbox_backlog: 10,
            },
            secure_cookies: true,
            default_service_minutes: 6,
            appointment_capacity: 2,
        };
        let running = rt.block_on(async {
            let db = hall::db::Db::open(&database).await.unwrap();
            hall::auth::add_user(&db, STAFF, hall::auth::Role::Staff, STAFF_PASS)
                .await
                .unwrap();
            hall::start(settings).await.unwrap()
        });
        Hall {
            rt,
            running,
            signing,
            public_key,
        }
    }

    fn app(&self) -> &hall::App {
        &self.running.app
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.http)
    }

    fn live<T>(&self, f: impl FnOnce(&hall::live::KioskLive) -> T) -> Option<T> {
        let live = self.app().live.lock().unwrap();
        live.get(KIOSK).map(f)
    }

    fn online(&self) -> bool {
        let th = &self.app().settings.thresholds;
        self.live(|k| k.connected(telemetry::now_ms(), th))
            .unwrap_or(false)
    }

    fn screen(&self) -> Option<(String, bool)> {
        self.live(|k| k.session.as_ref().map(|s| (s.screen.clone(), s.in_session)))
            .flatten()
    }

    fn config(&self) -> Option<ConfigState> {
        self.live(|k| k.config.clone()).flatten()
    }

    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        self.rt
            .block_on(self.app().db.query(sql, vec![]))
            .unwrap()
            .into_iter()
            .map(|r| r.iter().map(|v| v.text()).collect())
            .collect()
    }

    /// Everything the hall has stored, as text.
    fn stored_text(&self) -> String {
        let mut all = String::new();
        for t in [
            "kiosks", "events", "visits", "alerts", "tickets", "commands", "audit",
        ] {
            for row in self.query(&format!("SELECT * FROM {t}")) {
                all.push_str(&row.join("|"));
                all.push('\n');
            }
        }
        all
    }
}

/// The kiosk: the shipped bundle pointed at this hall, the controller inline (no event
/// loop), its hall port connected.
fn kiosk(h: &Hall, public_key: Option<PathBuf>, link: Option<tax_kiosk::link::Link>) -> Shared {
    i_slint_backend_testing::init_no_event_loop();
    let mut b = support::bundle();
    b.kiosk.endpoints.telemetry = format!("mqtt://{}:{}", h.running.mqtt.0, h.running.mqtt.1);
    b.kiosk.endpoints.hall = Some(h.url(""));
    let mut opts = HallOptions::new(
        support::root().join("backoffice/dev-keys.toml"),
        support::root().join("kiosk-config/kiosk.toml"),
    );
    opts.public_key = public_key;
    opts.heartbeat = Duration::from_millis(500);
    let port = HallPort::start(&b, opts).unwrap();
    let c = Controller::new(Arc::new(b), link, Run::Inline).unwrap();
    c.borrow_mut().set_staffed_open(true);
    Controller::attach_hall(&c, port);
    c
}

/// Waits for `f`, handling what the hall sends meanwhile (bundles, commands).
fn eventually(c: &Shared, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        Controller::pump_hall(c);
        if f() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn screen(c: &Shared) -> Screen {
    c.borrow().kiosk().screen().clone()
}

fn step(c: &Shared, ev: Event, want: &str) {
    Controller::feed(c, ev);
    assert_eq!(
        screen(c).name(),
        want,
        "message: {}",
        c.borrow().ui.global::<KioskGlobal>().get_message()
    );
}

/// A person with the demo ID card walks up and is verified.
fn verified(c: &Shared) {
    step(c, Event::Touch, "language");
    step(c, Event::ChooseLanguage(Lang::Zh), "insert_card");
    step(c, Event::CardRead(Ok(tax_kiosk::demo::demo_card())), "face");
    step(c, Event::FaceResult(Ok(0.62)), "zones");
}

/// From the zones screen: a staffed (TK) registration matter, its pre-fill form (a
/// phone number and a description: personal data that must stay on the kiosk), review,
/// and the ticket request.
fn ticket_for_a15(c: &Shared) {
    step(c, Event::ChooseZone("Z09".into()), "businesses");
    step(c, Event::ChooseBusiness("A15".into()), "detail");
    step(c, Event::Start, "form");
    for (field, text) in [
        ("phone", "13912345678"),
        ("description", "王小明变更财务负责人"),
    ] {
        Controller::feed(
            c,
            Event::FieldInput {
                field: field.into(),
                text: text.into(),
            },
        );
    }
    step(c, Event::NextStep, "form");
    Controller::feed(
        c,
        Event::FieldInput {
            field: "when".into(),
            text: "now".into(),
        },
    );
    step(c, Event::NextStep, "review");
    // Run::Inline: the hall answers before the feed returns.
    step(c, Event::ConfirmReview, "outcome");
}

/// The texts on screen: heading, body, message and the label/value lines.
fn on_screen(c: &Shared) -> String {
    let ui = c.borrow().ui.clone_strong();
    let k = ui.global::<KioskGlobal>();
    let lines = k.get_lines();
    let mut all = vec![
        k.get_heading().to_string(),
        k.get_body().to_string(),
        k.get_message().to_string(),
    ];
    all.extend(
        (0..lines.row_count())
            .filter_map(|i| lines.row_data(i))
            .map(|l| format!("{} {}", l.label, l.value)),
    );
    all.join("\n")
}

fn outcome(c: &Shared) -> Outcome {
    c.borrow()
        .kiosk()
        .session()
        .and_then(|s| s.outcome().cloned())
        .expect("an outcome")
}

fn link_to_backoffice(b: &kiosk_core::config::Bundle) -> (String, tax_kiosk::link::Link) {
    let base = support::start_backoffice();
    let l = support::link(&base, &b.kiosk.kiosk_id);
    (base, l)
}

#[test]
fn the_hall_sees_the_kiosk_and_its_screens_but_no_personal_data() {
    let h = Hall::start("live");
    let (_base, link) = link_to_backoffice(&support::bundle());
    let c = kiosk(&h, None, Some(link));
    eventually(&c, "the hall sees the kiosk online", || h.online());
    assert!(c.borrow().hall_connected());
    eventually(&c, "the hall shows the attract screen", || {
        h.screen() == Some(("attract".into(), false))
    });

    // Each screen of the walk reaches the hall in turn.
    let mut seen = Vec::new();
    let mut check = |c: &Shared, ev: Event| {
        Controller::feed(c, ev);
        let name = screen(c).name().to_string();
        eventually(c, &format!("the hall shows {name}"), || {
            h.screen() == Some((name.clone(), true))
        });
        seen.push(name);
    };
    check(&c, Event::Touch);
    check(&c, Event::ChooseLanguage(Lang::Zh));
    check(&c, Event::CardRead(Ok(tax_kiosk::demo::demo_card())));
    // The face is checked by the back office (the reference one, in this process).
    check(&c, Event::FaceResult(Ok(0.62)));
    check(&c, Event::ChooseZone("Z09".into()));
    check(&c, Event::ChooseBusiness("A15".into()));
    assert_eq!(
        seen,
        [
            "language",
            "insert_card",
            "face",
            "zones",
            "businesses",
            "detail"
        ]
    );
    let zone = h.live(|k| k.session.as_ref().and_then(|s| s.zone.clone()));
    assert_eq!(zone.flatten().as_deref(), Some("Z09"));
    // The device picture: the back office answered, nothing waits in the outbox.
    let status = h.live(|k| k.status.clone()).flatten().expect("a status");
    assert!(status.backoffice.reachable, "{status:?}");
    assert_eq!(status.outbox_depth, 0);

    // The rest of the visit, with personal data typed into the form, then a ticket.
    step(&c, Event::Start, "form");
    eventually(&c, "the hall shows the business being done", || {
        h.live(|k| k.session.as_ref().and_then(|s| s.business.clone()))
            .flatten()
            .as_deref()
            == Some("A15")
    });
    Controller::feed(
        &c,
        Event::FieldInput {
            field: "phone".into(),
            text: "13912345678".into(),
        },
    );
    Controller::feed(
        &c,
        Event::FieldInput {
            field: "description".into(),
            text: "王小明变更财务负责人".into(),
        },
    );
    step(&c, Event::NextStep, "form");
    Controller::feed(
        &c,
        Event::FieldInput {
            field: "when".into(),
            text: "now".into(),
        },
    );
    step(&c, Event::NextStep, "review");
    step(&c, Event::ConfirmReview, "outcome");
    assert!(
        matches!(outcome(&c), Outcome::Ticket(_)),
        "{:?}",
        outcome(&c)
    );
    // Inline, the (memory) printer is done before the feed returns.
    step(&c, Event::NextStep, "rating");
    Controller::feed(&c, Event::Rate(5));
    eventually(&c, "the hall sees the visit end", || {
        h.screen().is_some_and(|(_, in_session)| !in_session)
    });
    eventually(&c, "the visit is stored", || {
        h.query("SELECT business, outcome FROM visits")
            == vec![vec!["A15".to_string(), "ticket".to_string()]]
    });
    hall::ingest::flush_snapshots(h.app());
    eventually(&c, "the kiosk's snapshot is stored", || {
        h.query("SELECT session_json FROM kiosks")
            .first()
            .is_some_and(|r| r[0].contains("\"in_session\":false"))
    });

    // Nothing the hall stored holds the person's name, ID number (whole or masked),
    // phone number or what they typed.
    let id = tax_kiosk::demo::demo_card().id_number.expose().to_string();
    let stored = h.stored_text();
    assert!(stored.contains(KIOSK), "the check reads the hall's tables");
    for personal in [
        id.as_str(),
        &id[..6],
        &id[id.len() - 4..],
        "王小明",
        "小明",
        "13912345678",
        "1391",
        "财务负责人",
    ] {
        assert!(
            !stored.contains(personal),
            "the hall stored {personal:?}:\n{stored}"
        );
    }
    Controller::detach_hall(&c);
    eventually(&c, "a clean goodbye shows the kiosk offline", || {
        !h.online()
    });
}

#[test]
fn tickets_come_from_the_hall_and_a_hall_that_is_down_gives_an_error() {
    let h = Hall::start("tickets");
    let c = kiosk(&h, None, None);
    eventually(&c, "the hall sees the kiosk online", || h.online());

    verified(&c);
    ticket_for_a15(&c);
    let Outcome::Ticket(t) = outcome(&c) else {
        panic!("no ticket: {:?}", outcome(&c))
    };
    // The number is the hall's: the one in its queue for this kiosk and business.
    let rows = h.query("SELECT number, business, category, kiosk_id, state FROM tickets");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], t.number, "{rows:?}");
    assert_eq!(&rows[0][1..], ["A15", "business", KIOSK, "waiting"]);
    // The screen shows it.
    let shown = on_screen(&c);
    assert!(shown.contains(&t.number), "{shown} lacks {}", t.number);
    Controller::feed(&c, Event::Leave);

    // A second one is the next number in the hall's queue.
    verified(&c);
    ticket_for_a15(&c);
    let Outcome::Ticket(t2) = outcome(&c) else {
        panic!("no second ticket: {:?}", outcome(&c))
    };
    assert_ne!(t2.number, t.number);
    assert_eq!(t2.ahead, 1, "{t2:?}");
    Controller::feed(&c, Event::Leave);

    // The hall's web server goes down: the taxpayer is told, and gets no ticket.
    h.running.server.abort();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(h.running.http).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the hall's web server did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    verified(&c);
    ticket_for_a15(&c);
    match outcome(&c) {
        Outcome::Refused { reason, next_step } => {
            assert!(reason.zh.contains("无法连接大厅排队系统"), "{reason:?}");
            assert!(reason.en.contains("cannot be reached"), "{reason:?}");
            assert!(next_step.zh.contains("取号"), "{next_step:?}");
        }
        other => panic!("a hall that is down gave {other:?}"),
    }
    let shown = on_screen(&c);
    assert!(
        shown.contains("无法连接大厅排队系统"),
        "the screen does not say why: {shown}"
    );
    assert_eq!(h.query("SELECT COUNT(*) FROM tickets")[0][0], "2");
    // The hall's history gets the error over MQTT, which still works.
    eventually(&c, "the hall records the ticket error", || {
        h.query("SELECT detail FROM events WHERE kind = 'error'")
            .iter()
            .any(|r| r[0].contains("ticket request cannot connect"))
    });
    Controller::detach_hall(&c);
}

/// The shipped bundle with a zone renamed, signed with `key`, as IT makes it.
fn signed_files(key: &Key, note: &str) -> kiosk_core::config::BundleFiles {
    let mut files = telemetry::bundle::read_dir(&support::root().join("kiosk-config")).unwrap();
    files.files.remove(telemetry::bundle::SIGNATURE_FILE);
    let zones = String::from_utf8(files.files["zones.toml"].clone()).unwrap();
    assert!(zones.contains("name_zh = \"智能导税\""));
    files.insert(
        "zones.toml",
        zones
            .replacen(
                "name_zh = \"智能导税\"",
                &format!("name_zh = \"智能导税{note}\""),
                1,
            )
            .into_bytes(),
    );
    let sig = telemetry::bundle::sign(&files, key);
    files.insert(
        telemetry::bundle::SIGNATURE_FILE,
        sig.to_text().into_bytes(),
    );
    files
}

fn targz(files: &kiosk_core::config::BundleFiles) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in &files.files {
        let mut head = tar::Header::new_gnu();
        head.set_size(data.len() as u64);
        head.set_mode(0o644);
        head.set_cksum();
        b.append_data(&mut head, p, &data[..]).unwrap();
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &b.into_inner().unwrap()).unwrap();
    e.finish().unwrap()
}

fn zone_names(c: &Shared) -> Vec<String> {
    let zones = c.borrow().ui.global::<KioskGlobal>().get_zones();
    (0..zones.row_count())
        .filter_map(|i| zones.row_data(i))
        .map(|z| z.name.to_string())
        .collect()
}

#[test]
fn a_bundle_from_the_hall_waits_for_the_session_and_a_bad_one_is_refused() {
    let h = Hall::start("config");
    let c = kiosk(&h, Some(h.public_key.clone()), None);
    eventually(&c, "the hall sees the kiosk online", || h.online());
    let before = c.borrow().kiosk().bundle().version().to_string();

    // A taxpayer is at the kiosk when IT publishes.
    verified(&c);
    assert!(zone_names(&c).contains(&"智能导税".to_string()));
    let files = signed_files(&h.signing, "（新）");
    let hall_version = telemetry::bundle::shared(&files).content_hash();
    let published = h.rt.block_on(async {
        let (id, version, _) = hall::configs::upload(h.app(), &targz(&files), "it-test")
            .await
            .unwrap();
        assert_eq!(version, hall_version);
        hall::configs::publish(h.app(), id, "it-test", false)
            .await
            .unwrap()
    });
    assert_eq!(published, hall_version);
    eventually(&c, "the kiosk holds the bundle back", || {
        c.borrow().kiosk().pending_config().is_some()
    });
    let local = c
        .borrow()
        .kiosk()
        .pending_config()
        .unwrap()
        .version()
        .to_string();
    assert_ne!(local, before);
    eventually(&c, "the hall sees it deferred", || {
        h.config()
            == Some(ConfigState::Deferred {
                version: hall_version.clone(),
            })
    });
    // The session goes on with what it started with.
    assert_eq!(c.borrow().kiosk().active_bundle().version(), before);
    step(&c, Event::ChooseZone("Z09".into()), "businesses");
    step(&c, Event::Back, "zones");
    assert!(zone_names(&c).contains(&"智能导税".to_string()));

    // A bundle signed with another key, published past the hall's own check: the kiosk
    // refuses it, says why, and keeps both what it runs and what it holds.
    let forged = signed_files(&telemetry::bundle::generate_key(), "（伪）");
    let sig = telemetry::bundle::SignatureFile::parse(&String::from_utf8_lossy(
        &forged.files[telemetry::bundle::SIGNATURE_FILE],
    ))
    .unwrap();
    let msg = telemetry::bundle::to_message(&forged, &sig, telemetry::now_ms(), "forged");
    let forged_version = msg.version.clone();
    h.rt.block_on(h.app().mqtt.publish(
        telemetry::topics::bundle(HALL),
        rumqttc::QoS::AtLeastOnce,
        false,
        serde_json::to_vec(&msg).unwrap(),
    ))
    .unwrap();
    eventually(&c, "the hall sees the refusal", || {
        matches!(h.config(), Some(ConfigState::Refused { ref version, ref reason })
            if *version == forged_version && reason.contains("signature"))
    });
    assert_eq!(c.borrow().kiosk().active_bundle().version(), before);
    assert_eq!(
        c.borrow()
            .kiosk()
            .pending_config()
            .map(|b| b.version().to_string()),
        Some(local.clone())
    );
    assert!(zone_names(&c).iter().all(|z| !z.contains("（伪）")));

    // The taxpayer leaves: the wipe, then the swap; the attract screen is drawn from the
    // new bundle and the hall sees it applied under its own version.
    Controller::feed(&c, Event::Leave);
    assert_eq!(screen(&c), Screen::Attract);
    assert_eq!(c.borrow().kiosk().bundle().version(), local);
    assert!(c.borrow().kiosk().pending_config().is_none());
    let names = zone_names(&c);
    assert!(names.contains(&"智能导税（新）".to_string()), "{names:?}");
    eventually(&c, "the hall sees it applied", || {
        h.config()
            == Some(ConfigState::Applied {
                version: hall_version.clone(),
                local_version: local.clone(),
            })
    });
    // The swapped bundle keeps this kiosk's own endpoints (set at start, not in the
    // kiosk.toml on disk).
    assert_eq!(
        c.borrow().kiosk().bundle().kiosk.endpoints.hall.as_deref(),
        Some(h.url("").as_str())
    );
    // The next visit runs on it: its consultation and business lists come from it.
    verified(&c);
    assert!(zone_names(&c).contains(&"智能导税（新）".to_string()));
    Controller::detach_hall(&c);
}

#[test]
fn bundles_are_ignored_without_the_hall_public_key() {
    let h = Hall::start("nokey");
    let c = kiosk(&h, None, None);
    eventually(&c, "the hall sees the kiosk online", || h.online());
    let before = c.borrow().kiosk().bundle().version().to_string();
    let files = signed_files(&h.signing, "（新）");
    h.rt.block_on(async {
        let (id, _, _) = hall::configs::upload(h.app(), &targz(&files), "it-test")
            .await
            .unwrap();
        hall::configs::publish(h.app(), id, "it-test", false)
            .await
            .unwrap()
    });
    // Give the bundle time to arrive; the kiosk neither applies nor reports it.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        Controller::pump_hall(&c);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.borrow().kiosk().bundle().version(), before);
    assert!(c.borrow().kiosk().pending_config().is_none());
    assert_eq!(h.config(), None);
    Controller::detach_hall(&c);
}

/// `application/x-www-form-urlencoded`, for the staff's browser-less form posts.
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn cookie(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (k, val) = v.split(';').next()?.split_once('=')?;
            (k == name).then(|| val.to_string())
        })
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let i = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} field"))
        + needle.len();
    html[i..].split('"').next().unwrap().to_string()
}

/// A member of staff at the console, without a browser: the login form, the session
/// cookie, the page's CSRF token.
struct Staff {
    http: reqwest::Client,
    base: String,
    session: String,
    csrf: String,
}

impl Staff {
    async fn login(base: &str) -> Staff {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = cookie(&page, "__Host-hall-login");
        let token = hidden(&page.text().await.unwrap(), "login_csrf");
        let res = http
            .post(format!("{base}/login"))
            .header("cookie", format!("__Host-hall-login={login_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("name", STAFF),
                ("password", STAFF_PASS),
                ("login_csrf", &token),
                ("next", "/"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "staff login failed");
        let session = format!("__Host-hall={}", cookie(&res, "__Host-hall"));
        let mut staff = Staff {
            http,
            base: base.to_string(),
            session,
            csrf: String::new(),
        };
        staff.csrf = hidden(&staff.page(&format!("/kiosks/{KIOSK}")).await, "_csrf");
        staff
    }

    async fn page(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.session)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.unwrap()
    }

    /// Presses a button of the kiosk's page: `attract` or `reprint`.
    async fn press(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::StatusCode {
        let mut f = vec![("_csrf", self.csrf.as_str())];
        f.extend_from_slice(fields);
        self.http
            .post(format!("{}/kiosks/{KIOSK}/{action}", self.base))
            .header("cookie", &self.session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&f))
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[test]
fn the_attract_command_ends_a_session() {
    let h = Hall::start("attract");
    let c = kiosk(&h, None, None);
    eventually(&c, "the hall sees the kiosk online", || h.online());
    verified(&c);
    step(&c, Event::ChooseZone("Z09".into()), "businesses");
    eventually(&c, "the hall sees the session", || {
        h.screen() == Some(("businesses".into(), true))
    });
    let person = c
        .borrow()
        .ui
        .global::<KioskGlobal>()
        .get_person()
        .to_string();
    assert!(!person.is_empty(), "the card holder is on screen");

    let status =
        h.rt.block_on(async { Staff::login(&h.url("")).await.press("attract", &[]).await });
    assert_eq!(status, 303, "the command was not sent");
    eventually(&c, "the kiosk returns to attract", || {
        screen(&c) == Screen::Attract
    });
    assert!(c.borrow().kiosk().session().is_none());
    let person = c
        .borrow()
        .ui
        .global::<KioskGlobal>()
        .get_person()
        .to_string();
    assert!(person.is_empty(), "the wipe left {person:?} on screen");
    eventually(&c, "the hall records the command done", || {
        h.query("SELECT result_ok, result_detail FROM commands")
            .first()
            .is_some_and(|r| r[0] == "1" && r[1].contains("session ended"))
    });
    eventually(&c, "the hall shows attract", || {
        h.screen() == Some(("attract".into(), false))
    });
    let reason = h.query("SELECT reason FROM visits");
    assert_eq!(reason, vec![vec!["left".to_string()]]);

    // A reprint on a kiosk without an ESC/POS journal is answered, not ignored.
    let cmd = telemetry::Command {
        id: "reprint-1".into(),
        by: STAFF.into(),
        at_ms: telemetry::now_ms(),
        action: telemetry::Action::Reprint {
            journal_id: 1,
            confirmed_by_staff: false,
        },
    };
    h.rt.block_on(h.app().mqtt.publish(
        telemetry::topics::kiosk(HALL, KIOSK, telemetry::topics::Kind::Command),
        rumqttc::QoS::AtLeastOnce,
        false,
        serde_json::to_vec(&cmd).unwrap(),
    ))
    .unwrap();
    eventually(&c, "the hall records the reprint answer", || {
        h.query("SELECT detail FROM events WHERE kind = 'command_result'")
            .iter()
            .any(|r| r[0].contains("reprint-1 FAILED") && r[0].contains("without an ESC/POS"))
    });
    Controller::detach_hall(&c);
}

/// The receipt printer: the emupos emulator when setup could install it.
fn emulator() -> Option<escpos_receipt::emulator::Emulator> {
    let bin = escpos_receipt::emulator::find_binary()?;
    let dir = std::env::temp_dir().join(format!(
        "tax-kiosk-hall-emupos-{}-{}",
        std::process::id(),
        support::nanos()
    ));
    let spec = escpos_receipt::emulator::DeviceSpec {
        id: "kiosk".into(),
        width_dots: 576,
        serial: false,
    };
    escpos_receipt::emulator::Emulator::start(&bin, &dir, &[spec], true).ok()
}

#[test]
fn receipts_reach_the_hall_and_staff_reprint_them() {
    let Some(emu) = emulator() else {
        eprintln!(
            "SKIPPED the hall's reprint on a real printer: emupos is not installed (run scripts/setup-printer)"
        );
        return;
    };
    let h = Hall::start("reprint");
    let c = kiosk(&h, None, None);
    let port = emu.device("kiosk").unwrap().tcp_port;
    let journal = tmpdir("reprint-journal").join("receipts.db");
    c.borrow_mut().set_printer(
        tax_kiosk::ui::PrinterPort::escpos(
            &format!("tcp://127.0.0.1:{port}"),
            "tm-t20iii",
            &journal,
        )
        .unwrap(),
    );
    eventually(&c, "the hall sees the kiosk online", || h.online());

    // A ticket, and its receipt printed.
    verified(&c);
    ticket_for_a15(&c);
    let Outcome::Ticket(t) = outcome(&c) else {
        panic!("no ticket: {:?}", outcome(&c))
    };
    step(&c, Event::NextStep, "rating");
    let printer = h.live(|k| k.status.as_ref().map(|s| s.printer.clone()));
    assert!(
        printer.flatten().is_some_and(|p| p.online && !p.paper_out),
        "the printer state"
    );
    // The hall lists it by journal id, with its ticket number and nothing personal.
    let mut receipt = None;
    eventually(&c, "the hall lists the receipt", || {
        receipt = h
            .query("SELECT detail FROM events WHERE kind = 'receipt'")
            .into_iter()
            .next()
            .map(|r| r[0].clone());
        receipt.is_some()
    });
    let receipt: telemetry::KioskEvent = serde_json::from_str(&receipt.unwrap()).unwrap();
    let telemetry::KioskEvent::Receipt {
        journal_id,
        reference,
        state,
        ..
    } = receipt
    else {
        panic!("{receipt:?}")
    };
    assert_eq!(reference.as_deref(), Some(t.number.as_str()));
    assert_eq!(state, "printed");
    let staff = h.rt.block_on(Staff::login(&h.url("")));
    let page = h.rt.block_on(staff.page(&format!("/kiosks/{KIOSK}")));
    assert!(page.contains(&t.number), "the kiosk page lists the receipt");
    let id = journal_id.to_string();

    Controller::feed(&c, Event::Rate(5));

    // The console's reprint button for this receipt, then the kiosk's answer as the hall
    // records it (ok, detail).
    let reprint = |what: &str, answered: &dyn Fn(&str, &str) -> bool| {
        assert_eq!(
            h.rt.block_on(staff.press("reprint", &[("journal_id", &id)])),
            303
        );
        eventually(&c, what, || {
            h.query("SELECT result_ok, result_detail FROM commands ORDER BY at_ms")
                .iter()
                .any(|r| answered(&r[0], &r[1]))
        });
    };

    // While a person is at the kiosk, another person's receipt is not printed.
    verified(&c);
    reprint(
        "the kiosk refuses the reprint during a session",
        &|ok, detail| ok == "0" && detail.contains("taxpayer is using"),
    );
    Controller::feed(&c, Event::Leave);

    // On the attract screen it prints again, from the journal.
    let prints = || tax_kiosk_journal_prints(&journal, journal_id);
    assert_eq!(prints(), 1);
    reprint("the hall records the reprint done", &|ok, detail| {
        ok == "1" && detail.contains("printed again")
    });
    assert_eq!(prints(), 2);
    Controller::detach_hall(&c);
}

/// How many times a journal entry came out of a printer.
fn tax_kiosk_journal_prints(path: &std::path::Path, id: i64) -> i64 {
    escpos_receipt::Journal::open(path)
        .unwrap()
        .get(id)
        .unwrap()
        .expect("the journal entry")
        .prints
}
