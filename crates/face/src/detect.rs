//! YuNet 2023mar through `cv::dnn`, decoded by hand.
//!
//! OpenCV 4.6's `FaceDetectorYN` predates the 2023mar graph (it fails with "Layer with
//! requested id=-1 not found"), so the raw network is run and its twelve outputs decoded
//! the way OpenCV 4.8+ does: per stride 8/16/32 a class score, an objectness score, a box
//! and five landmarks per anchor-free grid cell, score = sqrt(cls * obj), then NMS.

use std::path::Path;

use opencv::core::{self, Mat, Rect, Scalar, Size, Vector};
use opencv::dnn::{self, NetTrait, NetTraitConst};
use opencv::imgproc;
use opencv::prelude::*;

use crate::FaceError;
use crate::geometry::{Landmarks, Point};

const STRIDES: [i32; 3] = [8, 16, 32];
const OUTPUTS: [&str; 12] = [
    "cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32",
    "kps_8", "kps_16", "kps_32",
];

/// Detector settings. The defaults suit a 640x480 kiosk camera.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// The frame is shrunk so that its longer side is at most this many pixels before
    /// detection (never enlarged). A kiosk face fills a good part of the frame, and YuNet
    /// finds faces from about 10 px up, so half resolution costs no accuracy and a quarter
    /// of the time.
    pub max_side: i32,
    pub score_threshold: f32,
    pub nms_threshold: f32,
    pub top_k: i32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            max_side: 320,
            score_threshold: 0.6,
            nms_threshold: 0.3,
            top_k: 50,
        }
    }
}

impl DetectorConfig {
    /// For still photos (ID-chip photos, benchmark images) where the face may be a small
    /// part of a large picture.
    pub fn still() -> Self {
        DetectorConfig {
            max_side: 640,
            ..DetectorConfig::default()
        }
    }
}

/// A face box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxF {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BoxF {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// The box as whole pixels, clipped to a `width` x `height` image; `None` when nothing
    /// of it is inside.
    pub fn clip(&self, width: i32, height: i32) -> Option<Rect> {
        let x0 = (self.x.floor() as i32).clamp(0, width);
        let y0 = (self.y.floor() as i32).clamp(0, height);
        let x1 = ((self.x + self.w).ceil() as i32).clamp(0, width);
        let y1 = ((self.y + self.h).ceil() as i32).clamp(0, height);
        (x1 > x0 && y1 > y0).then(|| Rect::new(x0, y0, x1 - x0, y1 - y0))
    }
}

/// One detected face, in the coordinates of the frame passed to [`Detector::detect`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub bbox: BoxF,
    pub landmarks: Landmarks,
    pub score: f32,
}

impl Detection {
    /// The 1x15 row `FaceRecognizerSF::alignCrop` expects.
    pub(crate) fn to_row(self) -> Result<Mat, FaceError> {
        let mut v = [0f32; 15];
        v[0] = self.bbox.x;
        v[1] = self.bbox.y;
        v[2] = self.bbox.w;
        v[3] = self.bbox.h;
        v[4..14].copy_from_slice(&self.landmarks.to_array());
        v[14] = self.score;
        Ok(Mat::from_slice(&v)?.try_clone()?)
    }
}

pub struct Detector {
    net: dnn::Net,
    config: DetectorConfig,
    names: Vector<String>,
}

impl Detector {
    pub fn new(model: &Path, config: DetectorConfig) -> Result<Detector, FaceError> {
        let unreadable = |detail: String| FaceError::ModelUnreadable {
            path: model.to_path_buf(),
            detail,
        };
        let net = dnn::read_net_from_onnx(model).map_err(|e| unreadable(e.message))?;
        if net.empty()? {
            return Err(unreadable("the network is empty".into()));
        }
        let have = net.get_unconnected_out_layers_names()?;
        for want in OUTPUTS {
            if !have.iter().any(|n| n == want) {
                return Err(unreadable(format!(
                    "output {want} is missing; is this YuNet 2023mar?"
                )));
            }
        }
        Ok(Detector {
            net,
            config,
            names: Vector::from_iter(OUTPUTS),
        })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// All faces in a BGR frame, best first: by score, then by size.
    pub fn detect(&mut self, bgr: &Mat) -> Result<Vec<Detection>, FaceError> {
        self.detect_at(bgr, self.config.max_side)
    }

    /// As [`Detector::detect`], shrinking the frame to at most `max_side` instead of the
    /// configured size.
    pub fn detect_at(&mut self, bgr: &Mat, max_side: i32) -> Result<Vec<Detection>, FaceError> {
        let bgr = crate::image::ensure_bgr(bgr)?;
        let (w, h) = (bgr.cols(), bgr.rows());
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let scale = (max_side.max(32) as f32 / w.max(h) as f32).min(1.0);
        let small = if scale < 1.0 {
            let size = Size::new(
                ((w as f32 * scale).round() as i32).max(1),
                ((h as f32 * scale).round() as i32).max(1),
            );
            let mut out = Mat::default();
            imgproc::resize(bgr.as_ref(), &mut out, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            out
        } else {
            bgr.try_clone()?
        };
        // The 2023mar graph adds feature maps of neighbouring strides; a side that is not a
        // multiple of 32 makes their shapes disagree (the eltwise assertion).
        let pad_w = (small.cols() + 31) / 32 * 32;
        let pad_h = (small.rows() + 31) / 32 * 32;
        let mut padded = Mat::default();
        core::copy_make_border(
            &small,
            &mut padded,
            0,
            pad_h - small.rows(),
            0,
            pad_w - small.cols(),
            core::BORDER_CONSTANT,
            Scalar::all(0.0),
        )?;
        let blob = dnn::blob_from_image(
            &padded,
            1.0,
            Size::new(0, 0),
            Scalar::all(0.0),
            false,
            false,
            core::CV_32F,
        )?;
        self.net.set_input(&blob, "", 1.0, Scalar::all(0.0))?;
        let mut outs: Vector<Mat> = Vector::new();
        self.net.forward(&mut outs, &self.names)?;

        let mut cands = Vec::new();
        for (i, stride) in STRIDES.iter().copied().enumerate() {
            let cols = pad_w / stride;
            let rows = pad_h / stride;
            let n = (cols * rows) as usize;
            let cls = floats(&outs.get(i)?, n)?;
            let obj = floats(&outs.get(i + 3)?, n)?;
            let bbox = floats(&outs.get(i + 6)?, n * 4)?;
            let kps = floats(&outs.get(i + 9)?, n * 10)?;
            let s = stride as f32;
            for r in 0..rows {
                for c in 0..cols {
                    let idx = (r * cols + c) as usize;
                    let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
                    if score < self.config.score_threshold {
                        continue;
                    }
                    let b = &bbox[idx * 4..idx * 4 + 4];
                    let cx = (c as f32 + b[0]) * s;
                    let cy = (r as f32 + b[1]) * s;
                    let bw = b[2].exp() * s;
                    let bh = b[3].exp() * s;
                    let k = &kps[idx * 10..idx * 10 + 10];
                    let mut lm = [0f32; 10];
                    for p in 0..5 {
                        lm[2 * p] = (k[2 * p] + c as f32) * s;
                        lm[2 * p + 1] = (k[2 * p + 1] + r as f32) * s;
                    }
                    cands.push(Detection {
                        bbox: BoxF {
                            x: cx - bw / 2.0,
                            y: cy - bh / 2.0,
                            w: bw,
                            h: bh,
                        },
                        landmarks: Landmarks::from_array(lm),
                        score,
                    });
                }
            }
        }

        let rects: Vector<Rect> = cands
            .iter()
            .map(|d| {
                Rect::new(
                    d.bbox.x as i32,
                    d.bbox.y as i32,
                    d.bbox.w as i32,
                    d.bbox.h as i32,
                )
            })
            .collect();
        let scores: Vector<f32> = cands.iter().map(|d| d.score).collect();
        let mut keep: Vector<i32> = Vector::new();
        dnn::nms_boxes(
            &rects,
            &scores,
            self.config.score_threshold,
            self.config.nms_threshold,
            &mut keep,
            1.0,
            self.config.top_k,
        )?;

        let inv = 1.0 / scale;
        let mut faces: Vec<Detection> = keep
            .iter()
            .map(|i| {
                let d = cands[i as usize];
                Detection {
                    bbox: BoxF {
                        x: d.bbox.x * inv,
                        y: d.bbox.y * inv,
                        w: d.bbox.w * inv,
                        h: d.bbox.h * inv,
                    },
                    landmarks: d.landmarks.map(|p| Point::new(p.x * inv, p.y * inv)),
                    score: d.score,
                }
            })
            .collect();
        sort_best_first(&mut faces);
        Ok(faces)
    }
}

/// Score first: a large false positive (a poster, a pattern on a coat) must not win over
/// the real face just by being big. Size only decides between near-equal scores.
pub fn sort_best_first(faces: &mut [Detection]) {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let Some(top) = faces.first().map(|d| d.score) else {
        return;
    };
    let near = faces.iter().take_while(|d| top - d.score < 0.02).count();
    let biggest = (0..near)
        .max_by(|&i, &j| faces[i].bbox.area().total_cmp(&faces[j].bbox.area()))
        .unwrap_or(0);
    faces[..=biggest].rotate_right(1);
}

fn floats(m: &Mat, n: usize) -> Result<Vec<f32>, FaceError> {
    let data = m.data_typed::<f32>()?;
    if data.len() < n {
        return Err(FaceError::ModelUnreadable {
            path: Default::default(),
            detail: format!("detector output has {} values, expected {n}", data.len()),
        });
    }
    Ok(data[..n].to_vec())
}
