//! Verification on real faces: the demo faces from the face-recognition sdist (built by
//! scripts/setup-faces) always, and the shared development set when it is beside the
//! checkout. Frames are composed in memory; nothing is written.

mod common;

use common::{blurred, demo, demo_image, engine, exposed, models, noisy, side_by_side};
use face::liveness::{Action, LivenessFailure, LivenessPrompt};
use face::quality::Assessment;
use face::{
    ActorCamera, CameraSpec, DemoCardReader, FaceConfig, FaceEngine, FaceError, Failure,
    IdCardReader, ModelDir, Prompt, QualityIssue, Step,
};
use opencv::core::{Mat, Scalar};
use opencv::prelude::*;

const FRAME_MS: u64 = 66;

fn camera_frame() -> Mat {
    demo_image("camera/frame-001.jpg")
}

fn card(stem: &str) -> face::IdCard {
    let mut reader = DemoCardReader::open(&demo().join("cards")).unwrap();
    assert!(reader.insert(stem), "no demo card {stem}");
    reader.read().unwrap().unwrap()
}

fn issue(e: &mut FaceEngine, frame: &Mat) -> Option<QualityIssue> {
    match e.assess(frame).unwrap() {
        Assessment::Good(_) => None,
        Assessment::Issue(i) => Some(i),
    }
}

#[test]
fn genuine_pairs_match_and_impostor_pairs_do_not() {
    let mut e = engine();
    let t = e.config().threshold;

    // The demo: the card on the reader against the camera.
    let frame = camera_frame();
    let Assessment::Good(face) = e.assess(&frame).unwrap() else {
        panic!("the demo camera frame should pass the quality gates");
    };
    let live = e.feature(&frame, &face).unwrap();
    let genuine = e
        .card_template(&card("01-obama").photo)
        .unwrap()
        .cosine(&live);
    let impostor = e
        .card_template(&card("02-biden").photo)
        .unwrap()
        .cosine(&live);
    assert!(genuine >= t, "card holder scored {genuine:.3} < {t}");
    assert!(impostor < t, "another person scored {impostor:.3} >= {t}");

    // Every pair of the sdist's photos.
    let photos = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"];
    let feats: Vec<_> = photos
        .iter()
        .map(|p| {
            e.still_feature(&demo_image(&format!("faces/{p}")))
                .unwrap()
                .expect("a face")
        })
        .collect();
    for i in 0..photos.len() {
        for j in i + 1..photos.len() {
            let s = feats[i].cosine(&feats[j]);
            let same = photos[i].starts_with("obama") == photos[j].starts_with("obama");
            assert_eq!(
                s >= t,
                same,
                "{} vs {}: score {s:.3}, threshold {t}",
                photos[i],
                photos[j]
            );
        }
    }
}

#[test]
fn dev_set_pairs_are_decided_correctly() {
    let Some(dev) = common::shared_dev("dev_set_pairs_are_decided_correctly") else {
        return;
    };
    let mut e = engine();
    let t = e.config().threshold;
    let labels = std::fs::read_to_string(dev.join("labels.tsv")).unwrap();
    let mut people = Vec::new();
    for line in labels.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (id, file) = line.split_once('\t').unwrap();
        let img = face::image::read_bgr(&dev.join(file.trim())).unwrap();
        let f = e.still_feature(&img).unwrap();
        people.push((id.to_string(), file.to_string(), f));
    }
    let (mut genuine, mut false_reject, mut impostor, mut false_accept) = (0, 0, 0, 0);
    for i in 0..people.len() {
        for j in i + 1..people.len() {
            let same = people[i].0 == people[j].0;
            let accepted = match (&people[i].2, &people[j].2) {
                (Some(a), Some(b)) => a.cosine(b) >= t,
                _ => false,
            };
            if same {
                genuine += 1;
                false_reject += usize::from(!accepted);
            } else {
                impostor += 1;
                false_accept += usize::from(accepted);
            }
        }
    }
    eprintln!(
        "dev set at threshold {t}: {false_accept}/{impostor} false accepts, \
         {false_reject}/{genuine} false rejects"
    );
    assert!(genuine > 0 && impostor > 0);
    assert_eq!(false_accept, 0, "FAR target is 0");
    assert!(
        false_reject * 50 <= genuine,
        "FRR {false_reject}/{genuine} is above 2%"
    );
}

#[test]
fn no_face() {
    let mut e = engine();
    let gray = Mat::new_rows_cols_with_default(480, 640, opencv::core::CV_8UC3, Scalar::all(128.0))
        .unwrap();
    assert_eq!(issue(&mut e, &gray), Some(QualityIssue::NoFace));
    // The hall behind the taxpayer: the chandelier and curtains of the demo photo.
    let frame = camera_frame();
    let background = Mat::roi(&frame, opencv::core::Rect::new(0, 0, 200, 240))
        .unwrap()
        .try_clone()
        .unwrap();
    let background = face::image::letterbox(&background, 640, 480).unwrap();
    assert_eq!(issue(&mut e, &background), Some(QualityIssue::NoFace));
}

#[test]
fn two_faces_are_refused() {
    let mut e = engine();
    let a = card("01-obama").photo;
    let b = card("02-biden").photo;
    let frame = side_by_side(&a, &b);
    assert_eq!(e.detect(&frame).unwrap().len(), 2, "both faces are found");
    assert_eq!(issue(&mut e, &frame), Some(QualityIssue::SeveralFaces));

    // In an attempt, the prompt asks for one person and nothing is compared.
    let template = e.card_template(&a).unwrap();
    let mut attempt = e.begin_with(template, 1, 0);
    assert_eq!(
        e.step(&mut attempt, &frame, 66).unwrap(),
        Step::Continue(Prompt::Quality(QualityIssue::SeveralFaces))
    );
}

#[test]
fn blurred_frame_is_refused() {
    let mut e = engine();
    assert_eq!(issue(&mut e, &camera_frame()), None);
    assert_eq!(
        issue(&mut e, &blurred(&camera_frame(), 5.0)),
        Some(QualityIssue::Blurred)
    );
}

#[test]
fn dark_and_bright_frames_are_refused() {
    let mut e = engine();
    assert_eq!(
        issue(&mut e, &exposed(&camera_frame(), 0.15)),
        Some(QualityIssue::TooDark)
    );
    let black =
        Mat::new_rows_cols_with_default(480, 640, opencv::core::CV_8UC3, Scalar::all(8.0)).unwrap();
    assert_eq!(issue(&mut e, &black), Some(QualityIssue::TooDark));
    assert_eq!(
        issue(&mut e, &exposed(&camera_frame(), 2.6)),
        Some(QualityIssue::TooBright)
    );
}

#[test]
fn far_and_turned_faces_are_refused() {
    let mut e = engine();
    // The same scene from twice as far: the face is half as wide.
    let frame = camera_frame();
    let mut small = Mat::default();
    opencv::imgproc::resize(
        &frame,
        &mut small,
        opencv::core::Size::new(240, 180),
        0.0,
        0.0,
        opencv::imgproc::INTER_AREA,
    )
    .unwrap();
    let mut far =
        Mat::new_rows_cols_with_default(480, 640, opencv::core::CV_8UC3, Scalar::all(110.0))
            .unwrap();
    let mut dst = Mat::roi_mut(&mut far, opencv::core::Rect::new(200, 150, 240, 180)).unwrap();
    small.copy_to(&mut dst).unwrap();
    drop(dst);
    assert_eq!(issue(&mut e, &far), Some(QualityIssue::TooFar));

    let face = e.detect(&frame).unwrap()[0];
    let mut actor = ActorCamera::new(&frame, &face, "test").unwrap();
    assert_eq!(issue(&mut e, &actor.render(0.0, 1.0).unwrap()), None);
    assert_eq!(
        issue(&mut e, &actor.render(1.0, 1.0).unwrap()),
        Some(QualityIssue::NotFrontal)
    );
}

#[test]
fn card_photo_without_a_face_is_an_error_not_a_panic() {
    let mut e = engine();
    let blank =
        Mat::new_rows_cols_with_default(441, 358, opencv::core::CV_8UC3, Scalar::all(200.0))
            .unwrap();
    let err = e.card_template(&blank).unwrap_err();
    assert!(matches!(err, FaceError::CardPhoto(_)), "{err}");
}

#[test]
fn missing_models_name_the_setup_command() {
    let err = FaceEngine::load(&ModelDir::new("/nonexistent/models"), FaceConfig::default())
        .err()
        .expect("no models there");
    assert!(matches!(err, FaceError::ModelMissing { .. }));
    assert!(err.to_string().contains("scripts/setup"), "{err}");
}

#[test]
fn impostor_attempt_fails_after_the_allowed_looks() {
    let mut e = engine();
    let template = e.card_template(&card("02-biden").photo).unwrap();
    let mut attempt = e.begin_with(template, 7, 0);
    let mut t = 0;
    let mut step = Step::Continue(Prompt::Checking);
    for i in 0..5 {
        t += FRAME_MS;
        step = e
            .step(&mut attempt, &noisy(&camera_frame(), 2.0, i), t)
            .unwrap();
        if !matches!(step, Step::Continue(_)) {
            break;
        }
    }
    assert!(
        matches!(step, Step::Failed(Failure::NoMatch { best }) if best < e.config().threshold),
        "{step:?}"
    );
    assert_eq!(attempt.outcome(), Some(step));
    let mut attempts = face::Attempts::new(e.config().attempts);
    assert_eq!(
        attempts.record(&step),
        Some(face::AttemptsState::TryAgain { left: 2 })
    );
}

#[test]
fn still_photo_fails_liveness() {
    let mut e = engine();
    let template = e.card_template(&card("01-obama").photo).unwrap();

    // A printed photo of the card holder held up to the camera: it matches, so the
    // challenge starts, but it never moves (only sensor noise changes between frames).
    let mut attempt = e.begin_with(template.clone(), 11, 0);
    let mut t = 0;
    let mut step = Step::Continue(Prompt::Checking);
    let mut prompted_a_move = false;
    for i in 0..200 {
        t += FRAME_MS;
        step = e
            .step(&mut attempt, &noisy(&camera_frame(), 2.0, i), t)
            .unwrap();
        prompted_a_move |= matches!(step, Step::Continue(Prompt::Liveness(_)));
        if !matches!(step, Step::Continue(_)) {
            break;
        }
    }
    assert!(
        prompted_a_move,
        "the match phase passed and a move was asked"
    );
    assert_eq!(
        step,
        Step::Failed(Failure::Liveness(LivenessFailure::StillImage)),
        "after {t} ms"
    );

    // The same photo from the folder camera, bit-identical every frame: a frozen feed.
    let mut cam = face::CameraSpec::Folder(demo().join("camera"))
        .open()
        .unwrap();
    let mut attempt = e.begin_with(template, 11, 0);
    let mut t = 0;
    for _ in 0..20 {
        t += FRAME_MS;
        step = e.step(&mut attempt, &cam.frame().unwrap(), t).unwrap();
        if !matches!(step, Step::Continue(_)) {
            break;
        }
    }
    assert_eq!(
        step,
        Step::Failed(Failure::Liveness(LivenessFailure::FrozenFeed))
    );
}

/// Feeds `n` frames ramping linearly from the actor's current pose to (`turn`, `zoom`).
struct Script<'a> {
    e: &'a mut FaceEngine,
    actor: ActorCamera,
    attempt: face::Attempt,
    t: u64,
    turn: f32,
    zoom: f32,
    prompts: Vec<Prompt>,
}

impl Script<'_> {
    fn ramp(&mut self, n: u32, turn: f32, zoom: f32) -> Step {
        let (t0, z0) = (self.turn, self.zoom);
        let mut step = Step::Continue(Prompt::Checking);
        for i in 1..=n {
            let k = i as f32 / n as f32;
            self.turn = t0 + (turn - t0) * k;
            self.zoom = z0 + (zoom - z0) * k;
            let frame = self.actor.render(self.turn, self.zoom).unwrap();
            self.t += FRAME_MS;
            step = self.e.step(&mut self.attempt, &frame, self.t).unwrap();
            if let Step::Continue(p) = step
                && self.prompts.last() != Some(&p)
            {
                self.prompts.push(p);
            }
        }
        step
    }
}

#[test]
fn scripted_challenge_passes_end_to_end() {
    let mut e = engine();
    let template = e.card_template(&card("01-obama").photo).unwrap();
    let frame = camera_frame();
    let face = e.detect(&frame).unwrap()[0];
    // A seed whose random sequence asks for all three moves.
    let seed = (0..)
        .find(|s| {
            let a = face::liveness::sequence(*s, 3);
            a.contains(&Action::TurnLeft)
                && a.contains(&Action::TurnRight)
                && a.contains(&Action::ComeCloser)
        })
        .unwrap();
    let attempt = e.begin_with(template, seed, 0);
    let mut s = Script {
        e: &mut e,
        actor: ActorCamera::new(&frame, &face, "test").unwrap(),
        attempt,
        t: 0,
        turn: 0.0,
        zoom: 1.0,
        prompts: Vec::new(),
    };
    // Look at the camera until the match phase passes and the challenge starts.
    let mut step = s.ramp(4, 0.0, 1.0);
    let moves = s
        .attempt
        .challenge()
        .expect("the card holder matched")
        .actions()
        .to_vec();
    for m in &moves {
        step = match m {
            Action::TurnLeft => {
                s.ramp(4, 1.0, s.zoom);
                s.ramp(4, 1.0, s.zoom);
                s.ramp(4, 0.0, s.zoom)
            }
            Action::TurnRight => {
                s.ramp(4, -1.0, s.zoom);
                s.ramp(4, -1.0, s.zoom);
                s.ramp(4, 0.0, s.zoom)
            }
            Action::ComeCloser => {
                s.ramp(5, 0.0, 1.5);
                s.ramp(4, 0.0, 1.5);
                s.ramp(4, 0.0, 1.0)
            }
        };
    }
    // Back to the starting distance for the confirming comparison.
    for _ in 0..6 {
        if !matches!(step, Step::Continue(_)) {
            break;
        }
        step = s.ramp(1, 0.0, 1.0);
    }
    assert!(
        matches!(step, Step::Verified { score } if score >= s.e.config().threshold),
        "{step:?} after prompts {:?} for moves {moves:?}",
        s.prompts
    );
    let asked: Vec<Action> = s
        .prompts
        .iter()
        .filter_map(|p| match p {
            Prompt::Liveness(LivenessPrompt::Do(a)) => Some(*a),
            _ => None,
        })
        .collect();
    assert_eq!(asked, moves, "the UI was prompted for each move in order");
}

#[test]
fn scripted_moves_in_the_wrong_order_fail() {
    let mut e = engine();
    let template = e.card_template(&card("01-obama").photo).unwrap();
    let frame = camera_frame();
    let face = e.detect(&frame).unwrap()[0];
    let seed = (0..)
        .find(|s| face::liveness::sequence(*s, 3)[0] == Action::TurnLeft)
        .unwrap();
    let attempt = e.begin_with(template, seed, 0);
    let mut s = Script {
        e: &mut e,
        actor: ActorCamera::new(&frame, &face, "test").unwrap(),
        attempt,
        t: 0,
        turn: 0.0,
        zoom: 1.0,
        prompts: Vec::new(),
    };
    s.ramp(4, 0.0, 1.0);
    // A recording that turns right first, while the kiosk asked for left.
    s.ramp(4, -1.0, 1.0);
    let step = s.ramp(4, -1.0, 1.0);
    assert_eq!(
        step,
        Step::Failed(Failure::Liveness(LivenessFailure::WrongAction {
            expected: Action::TurnLeft
        }))
    );
}

#[test]
fn demo_actor_follows_the_prompts_through_every_challenge_order() {
    // The kiosk demo's loop: grab a frame, step, show the prompt (the actor reads it).
    let mut e = engine();
    let card = card("01-obama");
    let mut seen = std::collections::HashSet::new();
    for seed in 0u64.. {
        let moves = face::liveness::sequence(seed, e.config().liveness.steps);
        if !seen.insert(moves.clone()) {
            continue;
        }
        let mut cam = CameraSpec::Actor(demo().join("camera"))
            .open_with(&models())
            .unwrap();
        let mut attempt = if seen.len() == 1 {
            // Once with the operating system's randomness, as the kiosk does.
            e.begin(&card, 0).unwrap()
        } else {
            let template = e.card_template(&card.photo).unwrap();
            e.begin_with(template, seed, 0)
        };
        let mut t = 0;
        let mut step = Step::Continue(Prompt::Checking);
        for _ in 0..200 {
            t += FRAME_MS;
            step = e.step(&mut attempt, &cam.frame().unwrap(), t).unwrap();
            match step {
                Step::Continue(p) => cam.follow(&p),
                _ => break,
            }
        }
        let asked = attempt.challenge().map(|c| c.actions().to_vec());
        assert!(
            matches!(step, Step::Verified { .. }),
            "{step:?} for moves {asked:?} after {t} ms"
        );
        if seen.len() == 10 {
            break;
        }
    }
}
