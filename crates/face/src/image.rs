//! Small image helpers on OpenCV matrices. Images come from the camera, the card reader or
//! (in tests and the benchmark) from files; they are only ever held in memory here.

use std::borrow::Cow;
use std::path::Path;

use opencv::core::{self, Mat, Rect, Scalar, Size};
use opencv::imgcodecs;
use opencv::imgproc;
use opencv::prelude::*;

use crate::FaceError;

/// The frame as 8-bit BGR, converting gray or BGRA input; borrowed when it already is.
pub fn ensure_bgr(m: &Mat) -> Result<Cow<'_, Mat>, FaceError> {
    let code = match m.typ() {
        core::CV_8UC3 => return Ok(Cow::Borrowed(m)),
        core::CV_8UC1 => imgproc::COLOR_GRAY2BGR,
        core::CV_8UC4 => imgproc::COLOR_BGRA2BGR,
        t => {
            return Err(FaceError::ImageFormat(format!(
                "type {t}, {} channels",
                m.channels()
            )));
        }
    };
    let mut out = Mat::default();
    imgproc::cvt_color_def(m, &mut out, code)?;
    Ok(Cow::Owned(out))
}

pub fn to_gray(m: &Mat) -> Result<Mat, FaceError> {
    if m.typ() == core::CV_8UC1 {
        return Ok(m.try_clone()?);
    }
    let bgr = ensure_bgr(m)?;
    let mut g = Mat::default();
    imgproc::cvt_color_def(bgr.as_ref(), &mut g, imgproc::COLOR_BGR2GRAY)?;
    Ok(g)
}

/// Decodes an image file into BGR. Used by the folder camera and the demo card reader.
pub fn read_bgr(path: &Path) -> Result<Mat, FaceError> {
    let bytes = std::fs::read(path)
        .map_err(|e| FaceError::ImageFormat(format!("{} cannot be read: {e}", path.display())))?;
    decode_bgr(&bytes)
        .map_err(|_| FaceError::ImageFormat(format!("{} is not a readable image", path.display())))
}

pub fn decode_bgr(bytes: &[u8]) -> Result<Mat, FaceError> {
    let buf = Mat::from_slice(bytes)?;
    let m = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    if m.empty() {
        return Err(FaceError::ImageFormat("not a decodable image".into()));
    }
    Ok(m)
}

/// Mean gray level, 0-255.
pub fn brightness(gray: &Mat) -> Result<f64, FaceError> {
    Ok(core::mean_def(gray)?[0])
}

/// Variance of the Laplacian of a gray face crop resized to a fixed width, so that the
/// figure measures focus and motion blur rather than how big the face is.
pub fn sharpness(gray: &Mat, roi: Rect) -> Result<f64, FaceError> {
    let crop = Mat::roi(gray, roi)?;
    let width = 112;
    let height = ((roi.height as f64 * width as f64 / roi.width.max(1) as f64).round() as i32)
        .clamp(1, 4 * width);
    let mut norm = Mat::default();
    imgproc::resize(
        &crop,
        &mut norm,
        Size::new(width, height),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    let mut lap = Mat::default();
    imgproc::laplacian(
        &norm,
        &mut lap,
        core::CV_64F,
        3,
        1.0,
        0.0,
        core::BORDER_DEFAULT,
    )?;
    let mut mean = Mat::default();
    let mut std = Mat::default();
    core::mean_std_dev_def(&lap, &mut mean, &mut std)?;
    let s = *std.at::<f64>(0)?;
    Ok(s * s)
}

/// Mean gray level inside `roi`.
pub fn brightness_in(gray: &Mat, roi: Rect) -> Result<f64, FaceError> {
    let crop = Mat::roi(gray, roi)?;
    Ok(core::mean_def(&crop)?[0])
}

/// A uniform border around a tight crop. ID-chip photos are cropped to the head; YuNet and
/// the alignment both need some context around the face.
pub fn pad(m: &Mat, fraction: f32) -> Result<Mat, FaceError> {
    let dx = (m.cols() as f32 * fraction).round() as i32;
    let dy = (m.rows() as f32 * fraction).round() as i32;
    let mut out = Mat::default();
    core::copy_make_border(
        m,
        &mut out,
        dy,
        dy,
        dx,
        dx,
        core::BORDER_REPLICATE,
        Scalar::all(0.0),
    )?;
    Ok(out)
}

/// Fits `m` inside a `width` x `height` canvas, keeping its aspect ratio, on a gray
/// background: what a 640x480 camera would deliver of that scene.
pub fn letterbox(m: &Mat, width: i32, height: i32) -> Result<Mat, FaceError> {
    let bgr = ensure_bgr(m)?;
    let s = (width as f64 / bgr.cols() as f64).min(height as f64 / bgr.rows() as f64);
    let w = ((bgr.cols() as f64 * s).round() as i32).clamp(1, width);
    let h = ((bgr.rows() as f64 * s).round() as i32).clamp(1, height);
    let mut small = Mat::default();
    let interp = if s < 1.0 {
        imgproc::INTER_AREA
    } else {
        imgproc::INTER_LINEAR
    };
    imgproc::resize(bgr.as_ref(), &mut small, Size::new(w, h), 0.0, 0.0, interp)?;
    let mut out =
        Mat::new_rows_cols_with_default(height, width, core::CV_8UC3, Scalar::all(110.0))?;
    let x = (width - w) / 2;
    let y = (height - h) / 2;
    let mut dst = Mat::roi_mut(&mut out, Rect::new(x, y, w, h))?;
    small.copy_to(&mut dst)?;
    Ok(out)
}
