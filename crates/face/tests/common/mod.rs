//! Shared by the integration tests: where the models, the demo faces and the shared
//! development set are, and frame manipulations. Every image stays in memory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use face::image;
use face::{FaceConfig, FaceEngine, ModelDir};
use opencv::core::{self, Mat, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `$TAX_KIOSK_MODELS` when set, else the checkout's `models/` (tests run in the crate's
/// folder, not the repository root where the kiosk's relative default points).
pub fn models() -> ModelDir {
    if std::env::var_os(face::models::MODELS_ENV).is_some_and(|v| !v.is_empty()) {
        ModelDir::from_env()
    } else {
        ModelDir::new(repo().join("models"))
    }
}

pub fn engine() -> FaceEngine {
    match FaceEngine::load(&models(), FaceConfig::default()) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    }
}

/// The demo faces built by `scripts/setup-faces` (from the face-recognition sdist).
pub fn demo() -> PathBuf {
    let d = repo().join("demo");
    assert!(
        d.join("cards/01-obama.json").is_file() && d.join("faces/obama.jpg").is_file(),
        "the demo faces are missing from {}: run scripts/setup-faces (scripts/setup calls it)",
        d.display()
    );
    d
}

pub fn demo_image(rel: &str) -> Mat {
    image::read_bgr(&demo().join(rel)).unwrap()
}

/// The shared development set, or `None` with a note saying it was skipped.
pub fn shared_dev(test: &str) -> Option<PathBuf> {
    let d = repo().join("../shared/data/faces/dev");
    if d.join("labels.tsv").is_file() {
        Some(d)
    } else {
        // Straight to the stream: the test harness captures eprintln! of passing tests,
        // and this note must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: {} is absent: {test} checked only the demo faces",
            d.display()
        );
        None
    }
}

/// `a` and `b` side by side, each fitted into half of a 640x480 frame.
pub fn side_by_side(a: &Mat, b: &Mat) -> Mat {
    let mut out =
        Mat::new_rows_cols_with_default(480, 640, core::CV_8UC3, Scalar::all(110.0)).unwrap();
    for (i, m) in [a, b].into_iter().enumerate() {
        let half = image::letterbox(m, 320, 480).unwrap();
        let mut dst = Mat::roi_mut(&mut out, core::Rect::new(320 * i as i32, 0, 320, 480)).unwrap();
        half.copy_to(&mut dst).unwrap();
    }
    out
}

pub fn blurred(m: &Mat, sigma: f64) -> Mat {
    let mut out = Mat::default();
    imgproc::gaussian_blur(
        m,
        &mut out,
        Size::new(0, 0),
        sigma,
        0.0,
        core::BORDER_DEFAULT,
    )
    .unwrap();
    out
}

/// Every pixel scaled by `gain` (0.1 is a dim room, 3 is glare).
pub fn exposed(m: &Mat, gain: f64) -> Mat {
    let mut out = Mat::default();
    m.convert_to(&mut out, -1, gain, 0.0).unwrap();
    out
}

/// Gaussian sensor noise, different for each `seed`, as every real frame has.
pub fn noisy(m: &Mat, sigma: f64, seed: u64) -> Mat {
    let mut noise =
        Mat::new_rows_cols_with_default(m.rows(), m.cols(), core::CV_16SC3, Scalar::all(0.0))
            .unwrap();
    let mut rng = core::RNG::new(seed).unwrap();
    rng.fill(
        &mut noise,
        core::RNG_NORMAL,
        &Scalar::all(0.0),
        &Scalar::all(sigma),
        false,
    )
    .unwrap();
    let mut wide = Mat::default();
    m.convert_to(&mut wide, core::CV_16SC3, 1.0, 0.0).unwrap();
    let mut sum = Mat::default();
    core::add(&wide, &noise, &mut sum, &core::no_array(), -1).unwrap();
    let mut out = Mat::default();
    sum.convert_to(&mut out, core::CV_8UC3, 1.0, 0.0).unwrap();
    out
}
