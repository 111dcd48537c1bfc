//! Shared by the integration tests: where the models, the demo faces and the shared
//! development set are, and a synthetic "actor" that turns a still photo into the frames a
//! cooperative person would give the camera. Every image stays in memory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use face::image;
use face::{FaceConfig, FaceEngine, ModelDir};
use opencv::core::{self, Mat, Point2f, Scalar, Size};
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
        eprintln!(
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

/// Synthesises head movements from one photo: a turn is the head region wrapped on a
/// vertical cylinder and rotated (YuNet reads it as a turned head), a turn the other way is
/// the mirror image, and coming closer is a zoom on the face. Crude to the eye, but it
/// moves the landmarks the way a real head does, which is what the challenge checks.
pub struct Actor {
    base: Mat,
    /// Head centre and cylinder radius, in pixels of `base`.
    cx: f32,
    cy: f32,
    r: f32,
    /// Rotation that makes this photo's face look straight (it is a little turned).
    frontal: f32,
    frame: u64,
}

impl Actor {
    /// `frame` is a 640x480 frame with one face, `face` its detection.
    pub fn new(frame: &Mat, face: &face::Detection) -> Actor {
        // Centre the head, so that the mirror image keeps it in place.
        let cx = face.bbox.x + face.bbox.w / 2.0;
        let m = Mat::from_slice_2d(&[[1.0f64, 0.0, (320.0 - cx) as f64], [0.0, 1.0, 0.0]]).unwrap();
        let mut base = Mat::default();
        imgproc::warp_affine(
            frame,
            &mut base,
            &m,
            frame.size().unwrap(),
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            Scalar::all(0.0),
        )
        .unwrap();
        Actor {
            base,
            cx: 320.0,
            cy: face.bbox.y + face.bbox.h / 2.0,
            r: 0.6 * face.bbox.w,
            frontal: -0.2,
            frame: 0,
        }
    }

    /// The head turned by `turn` radians (positive: the person's left, negative: their
    /// right) and `zoom` times closer, with a sub-pixel tremor and sensor noise that differ
    /// from frame to frame, as a live camera gives.
    pub fn frame(&mut self, turn: f32, zoom: f32) -> Mat {
        self.frame += 1;
        let tremor = 0.4 * (self.frame as f32 * 1.7).sin();
        let mirrored = turn < 0.0;
        let theta = self.frontal + turn.abs();
        let (w, h) = (self.base.cols(), self.base.rows());
        let mut mx = vec![0f32; (w * h) as usize];
        let mut my = vec![0f32; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize;
                let fy = (-((y as f32 - self.cy) / (1.6 * self.r)).powi(2)).exp();
                let u = (x as f32 - self.cx) / self.r;
                let mut sx = x as f32;
                if u.abs() < 1.0 && fy > 0.01 {
                    let a = u.asin() - theta * fy;
                    if a.abs() < std::f32::consts::FRAC_PI_2 {
                        sx = self.cx + self.r * a.sin();
                    }
                }
                mx[i] = sx + tremor;
                my[i] = y as f32 + tremor * 0.5;
            }
        }
        let mx = Mat::new_rows_cols_with_data(h, w, &mx).unwrap();
        let my = Mat::new_rows_cols_with_data(h, w, &my).unwrap();
        let mut turned = Mat::default();
        imgproc::remap(
            &self.base,
            &mut turned,
            &mx,
            &my,
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            Scalar::all(0.0),
        )
        .unwrap();
        if mirrored {
            let mut flipped = Mat::default();
            core::flip(&turned, &mut flipped, 1).unwrap();
            turned = flipped;
        }
        let out = if zoom > 1.0 {
            let m =
                imgproc::get_rotation_matrix_2d(Point2f::new(self.cx, self.cy), 0.0, zoom as f64)
                    .unwrap();
            let mut z = Mat::default();
            imgproc::warp_affine(
                &turned,
                &mut z,
                &m,
                turned.size().unwrap(),
                imgproc::INTER_LINEAR,
                core::BORDER_REPLICATE,
                Scalar::all(0.0),
            )
            .unwrap();
            z
        } else {
            turned
        };
        noisy(&out, 2.0, self.frame)
    }
}
