//! The shipped bundle and the query sets, read for tests. The crate itself reads no files
//! but the popularity counter's.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use consult::Index;
use kiosk_core::config::{Bundle, BundleFiles, load};

pub fn bundle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config")
}

pub fn files() -> BundleFiles {
    bundle_dir::read(&bundle_dir()).unwrap()
}

pub fn bundle() -> &'static Bundle {
    static B: OnceLock<Bundle> = OnceLock::new();
    B.get_or_init(|| load(&files()).unwrap_or_else(|d| panic!("{d:#?}")).bundle)
}

/// One index for all tests of a binary: building it is the slow part.
pub fn index() -> &'static Index {
    static I: OnceLock<Index> = OnceLock::new();
    I.get_or_init(|| Index::build(bundle()))
}

/// `../shared` beside the checkout, if it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}
