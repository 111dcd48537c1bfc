//! Face verification for the kiosk (人证比对): is the person in front of the camera the
//! holder of the ID card on the reader, and a live person at all?
//!
//! This crate owns the camera and ID-card-reader ports with their real and simulated
//! adapters, face detection (YuNet 2023mar through `cv::dnn`, decoded by hand because
//! OpenCV 4.6 cannot run it), the quality gates and their prompts, matching (SFace through
//! `FaceRecognizerSF`), the active liveness challenge, and the attempt that ties them
//! together frame by frame ([`FaceEngine::step`]).
//!
//! It must never write a frame, a face crop or a feature to disk, and never log one (nor a
//! name or an unmasked ID number): images and features live in memory for one attempt and
//! are dropped with it. It makes no session decisions either: it reports prompts and
//! outcomes, and the session in `kiosk-core` decides what to do with three failures. The
//! liveness logic ([`liveness`]) stays pure, with no OpenCV type, clock or randomness, so
//! that every rule is a unit test on landmark sequences.
//!
//! How the shell drives one session (the clock and the loop belong to the shell):
//!
//! ```no_run
//! use face::{Attempts, AttemptsState, CameraSpec, DemoCardReader, FaceConfig, FaceEngine};
//! use face::{IdCardReader, ModelDir, Step};
//! # fn main() -> Result<(), face::FaceError> {
//! let mut engine = FaceEngine::load(&ModelDir::from_env(), FaceConfig::default())?;
//! let mut camera = CameraSpec::parse("actor://demo/camera")?.open()?;
//! let mut reader = DemoCardReader::open("demo/cards".as_ref())?;
//! let card = reader.read()?.expect("a card on the reader");
//! let clock = std::time::Instant::now();
//! let now = || clock.elapsed().as_millis() as u64;
//! let mut attempts = Attempts::new(engine.config().attempts);
//! loop {
//!     let mut attempt = engine.begin(&card, now())?;
//!     let step = loop {
//!         let frame = camera.frame()?;
//!         match engine.step(&mut attempt, &frame, now())? {
//!             Step::Continue(prompt) => camera.follow(&prompt), // and show it on screen
//!             end => break end,
//!         }
//!     };
//!     match attempts.record(&step) {
//!         Some(AttemptsState::TryAgain { .. }) => continue,
//!         _ => break, // verified, or offer the non-face alternatives
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod actor;
pub mod camera;
pub mod detect;
mod error;
pub mod geometry;
pub mod idcard;
pub mod image;
pub mod liveness;
pub mod models;
pub mod quality;
pub mod recognize;
pub mod verify;

pub use actor::ActorCamera;
pub use camera::{Camera, CameraSpec, FolderCamera, V4l2Camera, VideoFileCamera};
pub use detect::{Detection, Detector, DetectorConfig};
pub use error::FaceError;
pub use geometry::{Landmarks, Point, Pose};
pub use idcard::{DemoCardReader, IdCard, IdCardReader};
pub use liveness::{Action, Challenge, LivenessConfig, LivenessFailure, LivenessPrompt};
pub use models::ModelDir;
pub use quality::{QualityConfig, QualityIssue};
pub use recognize::{Feature, Recognizer};
pub use verify::{
    Attempt, Attempts, AttemptsState, DEFAULT_THRESHOLD, FaceConfig, FaceEngine, Failure, Prompt,
    Step,
};
