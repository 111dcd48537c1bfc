//! A demo camera with a "person" in it: one photo whose head follows the prompts on screen.
//!
//! A folder of still images can never pass the liveness challenge (that is the point of
//! the challenge), so the kiosk demo and the end-to-end tests need frames that move. The
//! actor makes them from a single photo: a turn wraps the head region on a vertical
//! cylinder and rotates it (YuNet reads that as a turned head), a turn the other way is the
//! mirror image, coming closer is a zoom on the face, and every frame gets a sub-pixel
//! tremor and sensor noise, as a live camera's frames do. Crude to the eye, but it moves
//! the landmarks the way a real head does, which is all the challenge looks at. It is a
//! simulated adapter only: it never touches a real camera and writes nothing.

use opencv::core::{self, Mat, Point2f, Scalar};
use opencv::imgproc;
use opencv::prelude::*;

use crate::camera::Camera;
use crate::detect::Detection;
use crate::liveness::{Action, LivenessPrompt};
use crate::verify::Prompt;
use crate::{FaceError, image};

/// Head rotation (radians) for a turn prompt, and the zoom for "come closer": comfortably
/// past the challenge's thresholds, as a cooperative person moves.
const TURN: f32 = 1.0;
const CLOSER: f32 = 1.5;
/// Largest change per frame, so that moves ramp over a few frames like a real head.
const TURN_STEP: f32 = 0.25;
const ZOOM_STEP: f32 = 0.1;

pub struct ActorCamera {
    base: Mat,
    /// Head centre and cylinder radius, in pixels of `base`.
    cx: f32,
    cy: f32,
    r: f32,
    /// Rotation that makes the photo's face look straight (photos are rarely frontal).
    frontal: f32,
    frame: u64,
    turn: f32,
    zoom: f32,
    target: (f32, f32),
    endpoint: String,
}

impl ActorCamera {
    /// `photo` shows one face, found at `face`; frames have the photo's size.
    pub fn new(photo: &Mat, face: &Detection, endpoint: &str) -> Result<ActorCamera, FaceError> {
        let photo = image::ensure_bgr(photo)?;
        // Centre the head, so that the mirror image keeps it in place.
        let cx = face.bbox.x + face.bbox.w / 2.0;
        let centre = photo.cols() as f32 / 2.0;
        let m = Mat::from_slice_2d(&[[1.0f64, 0.0, (centre - cx) as f64], [0.0, 1.0, 0.0]])?;
        let mut base = Mat::default();
        imgproc::warp_affine(
            photo.as_ref(),
            &mut base,
            &m,
            photo.size()?,
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            Scalar::all(0.0),
        )?;
        // Yaw is about 1.15 x the cylinder rotation for this warp (measured on the demo
        // photo); undo the photo's own turn.
        let frontal = (-face.landmarks.pose().yaw / 1.15).clamp(-0.4, 0.4);
        Ok(ActorCamera {
            base,
            cx: centre,
            cy: face.bbox.y + face.bbox.h / 2.0,
            r: 0.6 * face.bbox.w,
            frontal,
            frame: 0,
            turn: 0.0,
            zoom: 1.0,
            target: (0.0, 1.0),
            endpoint: endpoint.to_string(),
        })
    }

    /// The head turned by `turn` radians (positive: the person's left, negative: their
    /// right) and `zoom` times closer. Each call is a new frame with fresh noise.
    pub fn render(&mut self, turn: f32, zoom: f32) -> Result<Mat, FaceError> {
        self.frame += 1;
        let tremor = 0.4 * (self.frame as f32 * 1.7).sin();
        let theta = self.frontal + turn.abs();
        let (w, h) = (self.base.cols(), self.base.rows());
        let mut mx = vec![0f32; (w * h) as usize];
        let mut my = vec![0f32; (w * h) as usize];
        for y in 0..h {
            let fy = (-((y as f32 - self.cy) / (1.6 * self.r)).powi(2)).exp();
            for x in 0..w {
                let i = (y * w + x) as usize;
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
        let mx = Mat::new_rows_cols_with_data(h, w, &mx)?;
        let my = Mat::new_rows_cols_with_data(h, w, &my)?;
        let mut out = Mat::default();
        imgproc::remap(
            &self.base,
            &mut out,
            &mx,
            &my,
            imgproc::INTER_LINEAR,
            core::BORDER_REPLICATE,
            Scalar::all(0.0),
        )?;
        if turn < 0.0 {
            let mut flipped = Mat::default();
            core::flip(&out, &mut flipped, 1)?;
            out = flipped;
        }
        if zoom > 1.0 {
            let m = imgproc::get_rotation_matrix_2d(
                Point2f::new(self.cx, self.cy),
                0.0,
                f64::from(zoom),
            )?;
            let mut z = Mat::default();
            imgproc::warp_affine(
                &out,
                &mut z,
                &m,
                out.size()?,
                imgproc::INTER_LINEAR,
                core::BORDER_REPLICATE,
                Scalar::all(0.0),
            )?;
            out = z;
        }
        noisy(&out, 2.0, self.frame)
    }
}

fn toward(from: f32, to: f32, step: f32) -> f32 {
    from + (to - from).clamp(-step, step)
}

impl Camera for ActorCamera {
    fn frame(&mut self) -> Result<Mat, FaceError> {
        self.turn = toward(self.turn, self.target.0, TURN_STEP);
        self.zoom = toward(self.zoom, self.target.1, ZOOM_STEP);
        self.render(self.turn, self.zoom)
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn follow(&mut self, prompt: &Prompt) {
        self.target = match prompt {
            Prompt::Liveness(LivenessPrompt::Do(Action::TurnLeft)) => (TURN, 1.0),
            Prompt::Liveness(LivenessPrompt::Do(Action::TurnRight)) => (-TURN, 1.0),
            Prompt::Liveness(LivenessPrompt::Do(Action::ComeCloser)) => (0.0, CLOSER),
            _ => (0.0, 1.0),
        };
    }
}

/// Gaussian noise of `sigma` gray levels, different for each `seed`.
fn noisy(m: &Mat, sigma: f64, seed: u64) -> Result<Mat, FaceError> {
    let mut noise =
        Mat::new_rows_cols_with_default(m.rows(), m.cols(), core::CV_16SC3, Scalar::all(0.0))?;
    let mut rng = core::RNG::new(seed)?;
    rng.fill(
        &mut noise,
        core::RNG_NORMAL,
        &Scalar::all(0.0),
        &Scalar::all(sigma),
        false,
    )?;
    let mut wide = Mat::default();
    m.convert_to(&mut wide, core::CV_16SC3, 1.0, 0.0)?;
    let mut sum = Mat::default();
    core::add(&wide, &noise, &mut sum, &core::no_array(), -1)?;
    let mut out = Mat::default();
    sum.convert_to(&mut out, core::CV_8UC3, 1.0, 0.0)?;
    Ok(out)
}
