//! The shipped bundle, read for tests. The core never reads files; tests may.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kiosk_core::config::BundleFiles;

pub fn bundle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config")
}

pub fn shipped() -> BundleFiles {
    let mut out = BundleFiles::default();
    read(&bundle_dir(), &bundle_dir(), &mut out);
    out
}

fn read(root: &Path, dir: &Path, out: &mut BundleFiles) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            read(root, &p, out);
        } else {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// `../shared` beside the checkout, if it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}
