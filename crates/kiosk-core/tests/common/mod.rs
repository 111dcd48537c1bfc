//! The shipped bundle, read for tests. The core never reads files; tests may.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kiosk_core::config::BundleFiles;

pub fn bundle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config")
}

pub fn shipped() -> BundleFiles {
    bundle_dir::read(&bundle_dir()).unwrap()
}

/// `../shared` beside the checkout, if it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}
