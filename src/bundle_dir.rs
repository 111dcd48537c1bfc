//! Reading a bundle folder from disk: the one piece of file I/O the loader needs, kept
//! out of the core so that the core can be fed bytes by tests and fuzzers.

use std::path::Path;

use anyhow::{Context, Result, bail};
use kiosk_core::config::BundleFiles;

/// Reads every regular file below `dir` (hidden files and folders skipped) into memory.
pub fn read(dir: &Path) -> Result<BundleFiles> {
    if !dir.is_dir() {
        bail!(
            "{} is not a folder; give the path of a configuration bundle such as kiosk-config/",
            dir.display()
        );
    }
    let mut files = BundleFiles::default();
    walk(dir, dir, &mut files)?;
    Ok(files)
}

fn walk(root: &Path, dir: &Path, out: &mut BundleFiles) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(root, &path, out)?;
        } else if ty.is_file() || (ty.is_symlink() && path.is_file()) {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            out.insert(rel, bytes);
        }
    }
    Ok(())
}
