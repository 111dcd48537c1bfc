//! The camera and ID-card-reader adapters on real files. The camera files written here are
//! synthetic patterns (no faces), in a temporary folder removed at the end.

mod common;

use std::path::{Path, PathBuf};

use common::demo;
use face::{Camera, CameraSpec, DemoCardReader, FaceError, FolderCamera, IdCardReader};
use kiosk_core::ids::Date;
use opencv::core::{self, Mat, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("face-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A flat frame whose blue channel says which frame it is.
fn pattern(i: u8) -> Mat {
    Mat::new_rows_cols_with_default(
        48,
        64,
        core::CV_8UC3,
        Scalar::new(i as f64 * 40.0, 80.0, 160.0, 0.0),
    )
    .unwrap()
}

fn blue(m: &Mat) -> f64 {
    core::mean_def(m).unwrap()[0]
}

#[test]
fn folder_camera_cycles_through_images_in_name_order() {
    let dir = TempDir::new("folder");
    for (name, i) in [("b.png", 2u8), ("a.png", 1), ("c.jpg", 3)] {
        imgcodecs::imwrite(
            dir.0.join(name).to_str().unwrap(),
            &pattern(i),
            &Vector::new(),
        )
        .unwrap();
    }
    std::fs::write(dir.0.join("notes.txt"), "not an image").unwrap();
    let mut cam = CameraSpec::parse(&format!("dir://{}", dir.0.display()))
        .unwrap()
        .open()
        .unwrap();
    let seen: Vec<f64> = (0..4).map(|_| blue(&cam.frame().unwrap())).collect();
    assert!((seen[0] - 40.0).abs() < 2.0, "{seen:?}");
    assert!((seen[1] - 80.0).abs() < 2.0, "{seen:?}");
    assert!((seen[2] - 120.0).abs() < 3.0, "{seen:?}");
    assert!((seen[3] - 40.0).abs() < 2.0, "cycles: {seen:?}");
    assert!(cam.endpoint().starts_with("dir://"));
}

#[test]
fn empty_folder_is_a_clear_error() {
    let dir = TempDir::new("empty");
    let e = FolderCamera::open(&dir.0).err().unwrap();
    assert!(matches!(e, FaceError::CameraUnavailable { .. }));
    assert!(e.to_string().contains("no images"), "{e}");
}

#[test]
fn video_file_camera_plays_and_loops() {
    let dir = TempDir::new("video");
    let path = dir.0.join("clip.avi");
    let fourcc = videoio::VideoWriter::fourcc('M', 'J', 'P', 'G').unwrap();
    let mut w = videoio::VideoWriter::new(
        path.to_str().unwrap(),
        fourcc,
        10.0,
        Size::new(64, 48),
        true,
    )
    .unwrap();
    if !w.is_opened().unwrap() {
        eprintln!("note: this OpenCV build cannot write MJPG video; video camera test skipped");
        return;
    }
    for i in 1..=3 {
        w.write(&pattern(i)).unwrap();
    }
    w.release().unwrap();

    let mut cam = CameraSpec::Video(path.clone()).open().unwrap();
    let seen: Vec<f64> = (0..5).map(|_| blue(&cam.frame().unwrap())).collect();
    for (got, want) in seen.iter().zip([40.0, 80.0, 120.0, 40.0, 80.0]) {
        assert!((got - want).abs() < 8.0, "{seen:?}");
    }

    let mut once = face::VideoFileCamera::open(&path, false).unwrap();
    for _ in 0..3 {
        once.frame().unwrap();
    }
    assert!(matches!(once.frame(), Err(FaceError::CameraRead { .. })));
}

#[test]
fn demo_cards_are_read_and_checked() {
    let mut reader = DemoCardReader::open(&demo().join("cards")).unwrap();
    assert_eq!(reader.cards(), ["01-obama", "02-biden", "03-obama-expired"]);

    // The first card is on the reader at start.
    let card = reader.read().unwrap().unwrap();
    assert_eq!(card.name, "奥巴马");
    assert_eq!(card.id_number.expose(), "110101196108040018");
    assert!(card.photo.cols() > 100 && card.photo.rows() > 100);
    let today = Date::new(2026, 11, 29).unwrap();
    assert!(card.valid_on(today));

    // Logs and panics see masked data only.
    let dbg = format!("{card:?}");
    assert!(!dbg.contains("110101196108040018"), "{dbg}");
    assert!(!dbg.contains("奥巴马"), "{dbg}");
    assert!(dbg.contains("withheld"), "{dbg}");

    assert!(reader.insert("02-biden"));
    let long_term = reader.read().unwrap().unwrap();
    assert_eq!(long_term.valid_to, None);
    assert!(long_term.valid_on(today));

    assert!(reader.insert("03-obama-expired"));
    assert!(!reader.read().unwrap().unwrap().valid_on(today));

    assert!(!reader.insert("99-nobody"));
    assert!(reader.read().unwrap().is_none());
    reader.remove();
    assert!(reader.read().unwrap().is_none());
}

fn write_card(dir: &Path, stem: &str, id: &str, photo: &str) {
    let json = format!(
        r#"{{"name":"测试","id_number":"{id}","valid_from":"2020-01-01","valid_to":"2040-01-01","photo":"{photo}"}}"#
    );
    std::fs::write(dir.join(format!("{stem}.json")), json).unwrap();
}

#[test]
fn bad_demo_cards_are_refused_with_the_reason() {
    let dir = TempDir::new("cards");
    imgcodecs::imwrite(
        dir.0.join("p.png").to_str().unwrap(),
        &pattern(1),
        &Vector::new(),
    )
    .unwrap();
    let first17 = "11010119900101123";
    let good = format!(
        "{first17}{}",
        kiosk_core::ids::id_check_char(first17.as_bytes()) as char
    );
    let bad_check = format!("{first17}{}", if good.ends_with('0') { '1' } else { '0' });
    write_card(&dir.0, "a-good", &good, "p.png");
    write_card(&dir.0, "b-check", &bad_check, "p.png");
    write_card(&dir.0, "c-escape", &good, "../p.png");
    write_card(&dir.0, "d-nophoto", &good, "missing.png");
    std::fs::write(dir.0.join("e-garbled.json"), "{ not json").unwrap();

    let mut reader = DemoCardReader::open(&dir.0).unwrap();
    assert!(reader.read().unwrap().is_some());
    for (stem, words) in [
        ("b-check", "check digit"),
        ("c-escape", "inside the card folder"),
        ("d-nophoto", "photo"),
        ("e-garbled", "e-garbled.json"),
    ] {
        assert!(reader.insert(stem));
        let e = reader.read().unwrap_err();
        assert!(matches!(e, FaceError::BadCard { .. }), "{stem}: {e}");
        assert!(e.to_string().contains(words), "{stem}: {e}");
    }
}

#[test]
fn missing_reader_folder_names_the_setup_command() {
    let e = DemoCardReader::open(Path::new("/nonexistent/cards"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("scripts/setup-faces"), "{e}");
}
