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
    let mut out = BundleFiles::default();
    read(&bundle_dir(), &bundle_dir(), &mut out);
    out
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
