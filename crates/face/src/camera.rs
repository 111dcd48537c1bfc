//! The camera port and its adapters: a real camera (V4L2), a video file, a folder of
//! images, and the demo actor ([`crate::actor`]). The simulated ones are not mocks: they
//! decode real files through the same OpenCV paths, so the demo and the tests exercise
//! everything after the sensor.

use std::path::{Path, PathBuf};

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};

use crate::FaceError;
use crate::actor::ActorCamera;
use crate::detect::{Detector, DetectorConfig};
use crate::models::ModelDir;
use crate::verify::Prompt;

/// A source of BGR frames. Frames are handed over in memory and never stored.
pub trait Camera: Send {
    /// The next frame. A live camera blocks until one arrives.
    fn frame(&mut self) -> Result<Mat, FaceError>;
    /// Where the frames come from, for error messages and the hall dashboard.
    fn endpoint(&self) -> &str;
    /// The prompt now on screen. A real person reads it; only the demo actor needs to be
    /// told, so every other adapter ignores it.
    fn follow(&mut self, _prompt: &Prompt) {}
}

/// The kiosk.toml `[endpoints] camera` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSpec {
    /// `dir://FOLDER`: the images in the folder, in name order, over and over.
    Folder(PathBuf),
    /// `file://VIDEO`: a video file, looped.
    Video(PathBuf),
    /// `v4l2://0` (device index) or `v4l2:///dev/video0` (device node).
    V4l2(String),
    /// `actor://FOLDER`: the demo actor, made from the first image in the folder, who
    /// follows the prompts (see [`crate::actor`]).
    Actor(PathBuf),
}

impl CameraSpec {
    pub fn parse(endpoint: &str) -> Result<CameraSpec, FaceError> {
        let bad = || FaceError::CameraEndpoint(endpoint.to_string());
        let (scheme, rest) = endpoint.split_once("://").ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match scheme {
            "dir" => Ok(CameraSpec::Folder(PathBuf::from(rest))),
            "file" => Ok(CameraSpec::Video(PathBuf::from(rest))),
            "v4l2" => Ok(CameraSpec::V4l2(rest.to_string())),
            "actor" => Ok(CameraSpec::Actor(PathBuf::from(rest))),
            _ => Err(bad()),
        }
    }

    /// Opens the camera, at 640x480 for a real one. The actor finds its face with the
    /// detector from [`ModelDir::from_env`].
    pub fn open(&self) -> Result<Box<dyn Camera>, FaceError> {
        self.open_with(&ModelDir::from_env())
    }

    /// As [`CameraSpec::open`], with the models (used by the actor only) from `models`.
    pub fn open_with(&self, models: &ModelDir) -> Result<Box<dyn Camera>, FaceError> {
        Ok(match self {
            CameraSpec::Folder(p) => Box::new(FolderCamera::open(p)?),
            CameraSpec::Video(p) => Box::new(VideoFileCamera::open(p, true)?),
            CameraSpec::V4l2(dev) => Box::new(V4l2Camera::open(dev, 640, 480)?),
            CameraSpec::Actor(p) => {
                let endpoint = format!("actor://{}", p.display());
                let photo = FolderCamera::open(p)?.frame()?;
                let mut detector = Detector::new(&models.detector()?, DetectorConfig::default())?;
                let face = detector.detect(&photo)?.first().copied().ok_or_else(|| {
                    FaceError::CameraUnavailable {
                        endpoint: endpoint.clone(),
                        detail: "the actor's photo shows no face".into(),
                    }
                })?;
                Box::new(ActorCamera::new(&photo, &face, &endpoint)?)
            }
        })
    }
}

/// A real camera through OpenCV's V4L2 backend.
pub struct V4l2Camera {
    cap: VideoCapture,
    endpoint: String,
}

impl V4l2Camera {
    /// `device` is an index (`0`) or a device node (`/dev/video0`).
    pub fn open(device: &str, width: i32, height: i32) -> Result<V4l2Camera, FaceError> {
        let endpoint = format!("v4l2://{device}");
        let unavailable = |detail: String| FaceError::CameraUnavailable {
            endpoint: endpoint.clone(),
            detail,
        };
        let cap = match device.parse::<i32>() {
            Ok(index) => VideoCapture::new(index, videoio::CAP_V4L2),
            Err(_) => {
                if !Path::new(device).exists() {
                    return Err(unavailable(format!("{device} does not exist")));
                }
                VideoCapture::from_file(device, videoio::CAP_V4L2)
            }
        }
        .map_err(|e| unavailable(e.message))?;
        if !cap.is_opened().map_err(|e| unavailable(e.message))? {
            return Err(unavailable("the device did not open".into()));
        }
        let mut cam = V4l2Camera { cap, endpoint };
        // Best effort: a camera that cannot do 640x480 still works at its own size, and
        // the detector scales whatever it gets.
        let _ = cam.cap.set(videoio::CAP_PROP_FRAME_WIDTH, f64::from(width));
        let _ = cam
            .cap
            .set(videoio::CAP_PROP_FRAME_HEIGHT, f64::from(height));
        // One buffered frame: with the default four, the liveness challenge would judge
        // frames a fraction of a second old against fresh timestamps.
        let _ = cam.cap.set(videoio::CAP_PROP_BUFFERSIZE, 1.0);
        Ok(cam)
    }
}

impl Camera for V4l2Camera {
    fn frame(&mut self) -> Result<Mat, FaceError> {
        let mut m = Mat::default();
        let ok = self.cap.read(&mut m)?;
        if !ok || m.empty() {
            return Err(FaceError::CameraRead {
                endpoint: self.endpoint.clone(),
                detail: "the camera returned no image (unplugged or in use?)".into(),
            });
        }
        Ok(m)
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// A video file played as a camera.
pub struct VideoFileCamera {
    cap: VideoCapture,
    endpoint: String,
    looping: bool,
}

impl VideoFileCamera {
    pub fn open(path: &Path, looping: bool) -> Result<VideoFileCamera, FaceError> {
        let endpoint = format!("file://{}", path.display());
        let unavailable = |detail: String| FaceError::CameraUnavailable {
            endpoint: endpoint.clone(),
            detail,
        };
        if !path.is_file() {
            return Err(unavailable(format!("{} is not a file", path.display())));
        }
        let cap =
            VideoCapture::from_file(path, videoio::CAP_ANY).map_err(|e| unavailable(e.message))?;
        if !cap.is_opened().map_err(|e| unavailable(e.message))? {
            return Err(unavailable("no video backend can decode it".into()));
        }
        Ok(VideoFileCamera {
            cap,
            endpoint,
            looping,
        })
    }
}

impl Camera for VideoFileCamera {
    fn frame(&mut self) -> Result<Mat, FaceError> {
        let mut m = Mat::default();
        if self.cap.read(&mut m)? && !m.empty() {
            return Ok(m);
        }
        if self.looping {
            self.cap.set(videoio::CAP_PROP_POS_FRAMES, 0.0)?;
            if self.cap.read(&mut m)? && !m.empty() {
                return Ok(m);
            }
        }
        Err(FaceError::CameraRead {
            endpoint: self.endpoint.clone(),
            detail: "end of the video".into(),
        })
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The images of a folder (jpg, jpeg, png, bmp), in name order, cycling.
pub struct FolderCamera {
    files: Vec<PathBuf>,
    next: usize,
    endpoint: String,
}

impl FolderCamera {
    pub fn open(dir: &Path) -> Result<FolderCamera, FaceError> {
        let endpoint = format!("dir://{}", dir.display());
        let unavailable = |detail: String| FaceError::CameraUnavailable {
            endpoint: endpoint.clone(),
            detail,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| unavailable(e.to_string()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_image(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(unavailable("the folder holds no images".into()));
        }
        Ok(FolderCamera {
            files,
            next: 0,
            endpoint,
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "jpg" | "jpeg" | "png" | "bmp"
            )
        })
        .unwrap_or(false)
}

impl Camera for FolderCamera {
    fn frame(&mut self) -> Result<Mat, FaceError> {
        let path = &self.files[self.next];
        self.next = (self.next + 1) % self.files.len();
        crate::image::read_bgr(path).map_err(|e| FaceError::CameraRead {
            endpoint: self.endpoint.clone(),
            detail: e.to_string(),
        })
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            CameraSpec::parse("dir://demo/camera").unwrap(),
            CameraSpec::Folder("demo/camera".into())
        );
        assert_eq!(
            CameraSpec::parse("file:///tmp/a.avi").unwrap(),
            CameraSpec::Video("/tmp/a.avi".into())
        );
        assert_eq!(
            CameraSpec::parse("v4l2:///dev/video0").unwrap(),
            CameraSpec::V4l2("/dev/video0".into())
        );
        assert_eq!(
            CameraSpec::parse("v4l2://1").unwrap(),
            CameraSpec::V4l2("1".into())
        );
        assert_eq!(
            CameraSpec::parse("actor://demo/camera").unwrap(),
            CameraSpec::Actor("demo/camera".into())
        );
        for bad in ["demo/camera", "usb://0", "dir://", ""] {
            assert!(CameraSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_devices_are_errors_not_panics() {
        let e = CameraSpec::V4l2("/dev/video-none".into())
            .open()
            .err()
            .unwrap();
        assert!(matches!(e, FaceError::CameraUnavailable { .. }), "{e}");
        assert!(e.to_string().contains("kiosk.toml"));
        let e = CameraSpec::Folder("/nonexistent/camera".into())
            .open()
            .err()
            .unwrap();
        assert!(e.to_string().contains("scripts/setup-faces"), "{e}");
        let e = CameraSpec::Video("/nonexistent.avi".into())
            .open()
            .err()
            .unwrap();
        assert!(matches!(e, FaceError::CameraUnavailable { .. }));
    }
}
