use std::path::PathBuf;

/// Everything that can stop face verification from running at all. A face that does not
/// match, or a frame that is too dark, is not an error: those are outcomes
/// ([`crate::Step`], [`crate::QualityIssue`]).
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(
        "face model {file} not found in {dir}: run scripts/setup to install the face models \
         (or point TAX_KIOSK_MODELS at the folder that holds them)"
    )]
    ModelMissing { dir: PathBuf, file: &'static str },

    #[error("face model {path} could not be loaded ({detail}); run scripts/setup to reinstall it")]
    ModelUnreadable { path: PathBuf, detail: String },

    #[error(
        "camera {endpoint} could not be opened: {detail}; check the cable and kiosk.toml \
         [endpoints] camera, or run scripts/setup-faces for the demo camera folder"
    )]
    CameraUnavailable { endpoint: String, detail: String },

    #[error("camera {endpoint} gave no frame: {detail}")]
    CameraRead { endpoint: String, detail: String },

    #[error(
        "camera endpoint {0:?} is not understood: use dir://FOLDER, file://VIDEO, \
         v4l2://INDEX, v4l2:///dev/videoN or actor://FOLDER"
    )]
    CameraEndpoint(String),

    #[error(
        "ID card reader {endpoint} could not be read: {detail}; run scripts/setup-faces \
         to build the demo cards"
    )]
    ReaderUnavailable { endpoint: String, detail: String },

    #[error("demo card {path}: {detail}")]
    BadCard { path: PathBuf, detail: String },

    #[error("the photo on the ID card cannot be used for comparison: {0}")]
    CardPhoto(&'static str),

    #[error("image has an unsupported layout ({0}); expected 8-bit gray, BGR or BGRA")]
    ImageFormat(String),

    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}
