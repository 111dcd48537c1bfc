//! Where the two ONNX models live. They are installed by `scripts/setup` (never committed),
//! so a missing file is an ordinary, explained error and not a panic.

use std::path::{Path, PathBuf};

use crate::FaceError;

/// YuNet 2023mar: face boxes and five landmarks.
pub const DETECTOR_FILE: &str = "face_detection_yunet_2023mar.onnx";
/// SFace 2021dec: 128-dimensional face features.
pub const RECOGNIZER_FILE: &str = "face_recognition_sface_2021dec.onnx";
/// Overrides the models folder, for test machines and kiosks with a read-only image.
pub const MODELS_ENV: &str = "TAX_KIOSK_MODELS";

/// A folder holding both models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDir(PathBuf);

impl ModelDir {
    pub fn new(dir: impl Into<PathBuf>) -> ModelDir {
        ModelDir(dir.into())
    }

    /// `$TAX_KIOSK_MODELS` when set and not empty, else `models/` relative to the working
    /// directory, where `scripts/setup` puts them.
    pub fn from_env() -> ModelDir {
        match std::env::var_os(MODELS_ENV) {
            Some(v) if !v.is_empty() => ModelDir(PathBuf::from(v)),
            _ => ModelDir(PathBuf::from("models")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn detector(&self) -> Result<PathBuf, FaceError> {
        self.file(DETECTOR_FILE)
    }

    pub fn recognizer(&self) -> Result<PathBuf, FaceError> {
        self.file(RECOGNIZER_FILE)
    }

    fn file(&self, file: &'static str) -> Result<PathBuf, FaceError> {
        let p = self.0.join(file);
        if p.is_file() {
            Ok(p)
        } else {
            Err(FaceError::ModelMissing {
                dir: self.0.clone(),
                file,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_setup_command() {
        let e = ModelDir::new("/nonexistent/models").detector().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("scripts/setup"), "{msg}");
        assert!(msg.contains(DETECTOR_FILE), "{msg}");
    }
}
