//! The ID card reader and the camera, for the kiosk shell: reads the card (the chip photo
//! stays here, in memory, and never reaches the core), and runs one face attempt frame by
//! frame, handing each preview frame and prompt to the screen. Blocking: run it off the UI
//! thread.

use std::sync::Mutex;

use anyhow::{Context, Result};
use face::{
    CameraSpec, DemoCardReader, FaceConfig, FaceEngine, IdCard, IdCardReader, ModelDir, Prompt,
    Step,
};
use kiosk_core::Lang;
use kiosk_core::config::Bundle;
use kiosk_core::session::{CardData, CardError, Event, FaceFailure};
use opencv::core::{Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;

pub struct FacePort {
    engine: Mutex<FaceEngine>,
    camera: String,
    reader: Mutex<Box<dyn IdCardReader>>,
    /// The card on the reader, with its chip photo, for this visit only.
    card: Mutex<Option<IdCard>>,
}

/// One preview frame for the screen: RGB, 640 px wide at most.
pub struct Preview {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub prompt: String,
}

impl FacePort {
    /// Loads the models (from `models/`, or `TAX_KIOSK_MODELS`) and opens the card reader
    /// named in kiosk.toml. Errors name what is missing and the command that installs it.
    pub fn open(b: &Bundle) -> Result<FacePort> {
        let cfg = FaceConfig {
            threshold: b.kiosk.face.threshold,
            attempts: b.kiosk.face.attempts,
            ..FaceConfig::default()
        };
        let engine = FaceEngine::load(&ModelDir::from_env(), cfg)
            .context("face models (run scripts/setup)")?;
        let reader_dir = b
            .kiosk
            .endpoints
            .id_reader
            .strip_prefix("dir://")
            .context("only the demo card reader (dir://) is wired in this build")?;
        let reader = DemoCardReader::open(reader_dir.as_ref())
            .context("demo ID cards (run scripts/setup)")?;
        // Check the camera opens now, so the kiosk says so at start and not mid-visit.
        CameraSpec::parse(&b.kiosk.endpoints.camera)?
            .open()
            .context("camera")?;
        Ok(FacePort {
            engine: Mutex::new(engine),
            camera: b.kiosk.endpoints.camera.clone(),
            reader: Mutex::new(Box::new(reader)),
            card: Mutex::new(None),
        })
    }

    pub fn read_card(&self) -> Event {
        let read = self
            .reader
            .lock()
            .map_err(|_| CardError::ReaderUnavailable)
            .and_then(|mut r| r.read().map_err(|_| CardError::Unreadable));
        match read {
            Ok(Some(card)) => {
                let data = CardData {
                    name: card.name.clone(),
                    id_number: card.id_number.clone(),
                    valid_to: card.valid_to.unwrap_or(kiosk_core::Date {
                        year: 9999,
                        month: 12,
                        day: 31,
                    }),
                };
                if let Ok(mut slot) = self.card.lock() {
                    *slot = Some(card);
                }
                Event::CardRead(Ok(data))
            }
            Ok(None) => Event::CardRead(Err(CardError::Unreadable)),
            Err(e) => Event::CardRead(Err(e)),
        }
    }

    /// The wipe: the chip photo goes.
    pub fn forget(&self) {
        if let Ok(mut slot) = self.card.lock() {
            *slot = None;
        }
    }

    /// One attempt: frames until verified or failed. `show` gets each preview.
    pub fn verify(&self, lang: Lang, mut show: impl FnMut(Preview)) -> Event {
        let failed = |f| Event::FaceResult(Err(f));
        let Ok(card_slot) = self.card.lock() else {
            return failed(FaceFailure::CameraUnavailable);
        };
        let Some(card) = card_slot.as_ref() else {
            return failed(FaceFailure::NoFace);
        };
        let Ok(mut engine) = self.engine.lock() else {
            return failed(FaceFailure::CameraUnavailable);
        };
        let Ok(mut camera) = CameraSpec::parse(&self.camera).and_then(|s| s.open()) else {
            return failed(FaceFailure::CameraUnavailable);
        };
        let clock = std::time::Instant::now();
        let now = || clock.elapsed().as_millis() as u64;
        let Ok(mut attempt) = engine.begin(card, now()) else {
            return failed(FaceFailure::Quality);
        };
        loop {
            let Ok(frame) = camera.frame() else {
                return failed(FaceFailure::CameraUnavailable);
            };
            match engine.step(&mut attempt, &frame, now()) {
                Ok(Step::Continue(prompt)) => {
                    camera.follow(&prompt);
                    if let Some(p) = preview(&frame, prompt_text(&prompt, lang)) {
                        show(p);
                    }
                }
                Ok(Step::Verified { score }) => return Event::FaceResult(Ok(score)),
                Ok(Step::Failed(f)) => {
                    return failed(match f {
                        face::Failure::NoMatch { .. } => FaceFailure::Mismatch,
                        face::Failure::Liveness(_) => FaceFailure::Liveness,
                        face::Failure::TimedOut(Prompt::Quality(
                            face::QualityIssue::SeveralFaces,
                        )) => FaceFailure::SeveralFaces,
                        face::Failure::TimedOut(Prompt::Quality(face::QualityIssue::NoFace)) => {
                            FaceFailure::NoFace
                        }
                        face::Failure::TimedOut(_) => FaceFailure::Quality,
                    });
                }
                Err(_) => return failed(FaceFailure::CameraUnavailable),
            }
        }
    }
}

fn preview(frame: &Mat, prompt: String) -> Option<Preview> {
    let (w, h) = (frame.cols(), frame.rows());
    if w <= 0 || h <= 0 {
        return None;
    }
    let scale = (640.0 / w as f64).min(1.0);
    let (pw, ph) = ((w as f64 * scale) as i32, (h as f64 * scale) as i32);
    let mut small = Mat::default();
    imgproc::resize(
        frame,
        &mut small,
        Size::new(pw, ph),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )
    .ok()?;
    let mut rgb = Mat::default();
    imgproc::cvt_color(&small, &mut rgb, imgproc::COLOR_BGR2RGB, 0).ok()?;
    let bytes = rgb.data_bytes().ok()?.to_vec();
    Some(Preview {
        width: pw as u32,
        height: ph as u32,
        rgb: bytes,
        prompt,
    })
}

/// What the screen says for a prompt.
pub fn prompt_text(p: &Prompt, lang: Lang) -> String {
    use face::{Action, LivenessPrompt, QualityIssue};
    let (zh, en) = match p {
        Prompt::Checking => ("正在比对，请保持不动", "Comparing, please hold still"),
        Prompt::Liveness(LivenessPrompt::LookStraight) => {
            ("请正视摄像头", "Look straight at the camera")
        }
        Prompt::Liveness(LivenessPrompt::Do(Action::TurnLeft)) => {
            ("请缓慢向左转头", "Slowly turn your head to the left")
        }
        Prompt::Liveness(LivenessPrompt::Do(Action::TurnRight)) => {
            ("请缓慢向右转头", "Slowly turn your head to the right")
        }
        Prompt::Liveness(LivenessPrompt::Do(Action::ComeCloser)) => {
            ("请靠近一点", "Come a little closer")
        }
        Prompt::Quality(QualityIssue::NoFace) => ("请看向摄像头", "Please look into the camera"),
        Prompt::Quality(QualityIssue::SeveralFaces) => {
            ("请仅持证本人面对摄像头", "Only the card holder, please")
        }
        Prompt::Quality(QualityIssue::TooFar) => ("请靠近一点", "Please come a little closer"),
        Prompt::Quality(QualityIssue::Blurred) => ("请保持不动", "Please hold still"),
        Prompt::Quality(QualityIssue::TooDark) => ("光线太暗", "The picture is too dark"),
        Prompt::Quality(QualityIssue::TooBright) => ("光线太亮", "The picture is too bright"),
        Prompt::Quality(_) => ("请正对摄像头", "Please face the camera"),
    };
    match lang {
        Lang::Zh => zh.into(),
        Lang::En => en.into(),
    }
}
