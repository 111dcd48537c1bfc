//! SFace features through `FaceRecognizerSF`: align the face on its five landmarks to a
//! 112x112 crop, then a 128-dimensional feature; faces are compared by cosine similarity.

use std::fmt;
use std::path::Path;

use opencv::core::{Mat, Ptr};
use opencv::objdetect::{FaceRecognizerSF, FaceRecognizerSFTrait, FaceRecognizerSFTraitConst};
use opencv::prelude::*;

use crate::FaceError;
use crate::detect::Detection;

/// A face feature (biometric template). It lives in memory for one verification only:
/// `Debug` never prints the numbers and `Drop` overwrites them.
#[derive(Clone, PartialEq)]
pub struct Feature(Vec<f32>);

impl Feature {
    /// L2-normalised so that the cosine is a plain dot product.
    pub fn new(mut v: Vec<f32>) -> Feature {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
        }
        Feature(v)
    }

    pub fn dims(&self) -> usize {
        self.0.len()
    }

    /// Cosine similarity in [-1, 1]; SFace's own `match(FR_COSINE)` computes the same.
    pub fn cosine(&self, other: &Feature) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }
}

impl fmt::Debug for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Feature({} dims, withheld)", self.0.len())
    }
}

impl Drop for Feature {
    fn drop(&mut self) {
        // Volatile so the wipe is not optimised away as a dead store.
        for x in self.0.iter_mut() {
            // SAFETY: `x` is a valid, aligned, exclusive reference to an f32.
            unsafe { std::ptr::write_volatile(x, 0.0) };
        }
    }
}

pub struct Recognizer {
    sf: Ptr<FaceRecognizerSF>,
}

impl Recognizer {
    pub fn new(model: &Path) -> Result<Recognizer, FaceError> {
        let path = model.to_str().ok_or_else(|| FaceError::ModelUnreadable {
            path: model.to_path_buf(),
            detail: "the path is not valid UTF-8".into(),
        })?;
        let sf =
            FaceRecognizerSF::create(path, "", 0, 0).map_err(|e| FaceError::ModelUnreadable {
                path: model.to_path_buf(),
                detail: e.message,
            })?;
        Ok(Recognizer { sf })
    }

    /// The feature of the face `det` found in `bgr` (same coordinates).
    pub fn feature(&mut self, bgr: &Mat, det: &Detection) -> Result<Feature, FaceError> {
        let bgr = crate::image::ensure_bgr(bgr)?;
        let row = det.to_row()?;
        let mut aligned = Mat::default();
        self.sf.align_crop(bgr.as_ref(), &row, &mut aligned)?;
        let mut out = Mat::default();
        self.sf.feature(&aligned, &mut out)?;
        let v = out.data_typed::<f32>()?.to_vec();
        Ok(Feature::new(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_debug_withholds_values() {
        let f = Feature::new(vec![3.0, 4.0]);
        assert_eq!(format!("{f:?}"), "Feature(2 dims, withheld)");
        assert!((f.cosine(&f) - 1.0).abs() < 1e-6);
        let g = Feature::new(vec![-4.0, 3.0]);
        assert!(f.cosine(&g).abs() < 1e-6);
    }
}
