//! Reading a configuration bundle folder (`kiosk-config/`) into
//! [`kiosk_core::config::BundleFiles`]: the one piece of file I/O the loader needs, kept
//! out of the core so that the core can be fed bytes by tests and fuzzers. The kiosk
//! (`tax-kiosk config check`, `run`, `demo`), the hall (`tax-hall config sign|verify`, the
//! reference bundle, through `telemetry::bundle::read_dir`), the back office, the
//! consultation evaluator, and every test and bench read a bundle with [`read`].
//!
//! # What is read
//!
//! Before this crate the workspace had sixteen copies of this walk (the kiosk's
//! `src/bundle_dir.rs`, telemetry's `read_dir`, the back office's and `consult-eval`'s
//! `read_bundle`, and twelve in tests and benches), and they did not agree. What they did
//! and what [`read`] does:
//!
//! - **Paths**: relative to the folder, `/`-separated on every platform (what
//!   `BundleFiles`, the loader, the content hash and `telemetry::bundle::is_bundle_path`
//!   expect). Some test copies used the OS separator (`to_string_lossy` of the path).
//! - **Hidden files and folders** (name starting with `.`: `.git`, `.DS_Store`, vim's
//!   `.name.swp`, emacs's `.#name` lock links) are skipped, at any depth. The kiosk,
//!   telemetry, back-office and evaluator copies did this; the test and bench copies did
//!   not. This is what `telemetry::bundle::is_bundle_path` and the hall's archive upload
//!   accept, so that editor and VCS litter never changes a signed bundle's hash.
//! - **Editor backups** without a leading dot (`texts.toml~`, `#texts.toml#`) are read
//!   like any file. No copy skipped them, and skipping them here would make a folder
//!   signed with `tax-hall config sign` hash differently from the same folder uploaded
//!   as an archive (the hall keeps them there too). The loader already warns about every
//!   file that is not part of the format and ignores it.
//! - **The signature file (`bundle.sig`) and the kiosk-local `kiosk.toml`** are read like
//!   any file; `telemetry::bundle::shared` leaves them out of what is signed and sent, and
//!   `tax-hall config verify` needs `bundle.sig` in the result. Every copy did this.
//! - **Symbolic links** are followed, to files and to folders: a bundle holds what
//!   `cat` shows. The kiosk copy followed links to files but silently dropped links to
//!   folders; telemetry's silently dropped every link (so the hall signed without a
//!   linked file that the kiosk then read); the others followed both, with no guard. A
//!   link to a folder that contains it (a loop), or a link that leads nowhere, is an
//!   error naming it.
//! - **Anything else that is not a regular file** (a socket, a pipe, a device) is an
//!   error naming it. The kiosk and telemetry copies dropped these silently; the others
//!   tried to read them (a pipe blocks forever).
//! - **A name that is not UTF-8** is an error naming it. Every copy replaced the bad bytes
//!   with U+FFFD, so two such files could land on one path and one would silently vanish.
//!   A hidden one is skipped like any hidden file.
//! - **Errors** name the path: a missing folder, or a path that is not a folder, says
//!   "… is not a folder; give the path of a configuration bundle …" (the kiosk's wording,
//!   which `tests/config_check.rs` checks); a folder that cannot be listed or a file that
//!   cannot be read says "cannot read PATH: cause". The test copies panicked with no path;
//!   the back office's and the evaluator's lost the path on file errors. The cause is in
//!   the message, so [`Error`] reports no separate `source()` (it would print twice under
//!   `{:#}`).
//! - **Order**: the result is a sorted map whatever the order on disk, and entries are
//!   visited in name order, so that the error reported first is the same on every run.
//!   Only the kiosk, telemetry and evaluator copies sorted; the others visited in
//!   directory order.
//!
//! A folder is accepted whole or not at all: any error means no files.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use kiosk_core::config::BundleFiles;

/// Why a bundle folder could not be read. Every variant names the path concerned.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The path given is missing or is not a folder.
    NotAFolder { path: PathBuf },
    /// A folder could not be listed or a file could not be read (including a link that
    /// leads nowhere).
    Io { path: PathBuf, source: io::Error },
    /// A file or folder name is not valid UTF-8.
    NotUtf8 { path: PathBuf },
    /// Neither a regular file nor a folder: a socket, a pipe, a device.
    NotAFile { path: PathBuf },
    /// A link to a folder that contains it (or to the folder itself).
    Loop { path: PathBuf },
}

impl Error {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::NotAFolder { path }
            | Error::Io { path, .. }
            | Error::NotUtf8 { path }
            | Error::NotAFile { path }
            | Error::Loop { path } => path,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotAFolder { path } => write!(
                f,
                "{} is not a folder; give the path of a configuration bundle such as kiosk-config/",
                path.display()
            ),
            Error::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::NotUtf8 { path } => write!(
                f,
                "the name of {} is not valid UTF-8; rename it (bundle paths are UTF-8)",
                path.display()
            ),
            Error::NotAFile { path } => write!(
                f,
                "{} is neither a file nor a folder (a socket, pipe or device); remove it from the bundle",
                path.display()
            ),
            Error::Loop { path } => write!(
                f,
                "{} links back to a folder that contains it; remove the link",
                path.display()
            ),
        }
    }
}

/// The cause of an `Io` error is part of its message, so no `source()` is reported.
impl std::error::Error for Error {}

/// Reads every file below `dir` into memory by `/`-separated relative path, as described
/// in the [crate documentation](crate): hidden files and folders skipped, links followed,
/// and an error naming the path for anything that cannot be read.
pub fn read(dir: &Path) -> Result<BundleFiles, Error> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::NotAFolder {
                path: dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotAFolder {
                path: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(io_error(dir, e)),
    }
    let mut files = BundleFiles::default();
    walk(dir, "", &mut Vec::new(), &mut files)?;
    Ok(files)
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `inside`: the canonical paths of the folders being walked, outermost first.
fn walk(
    dir: &Path,
    prefix: &str,
    inside: &mut Vec<PathBuf>,
    out: &mut BundleFiles,
) -> Result<(), Error> {
    let here = std::fs::canonicalize(dir).map_err(|e| io_error(dir, e))?;
    // A folder that holds (or is) one being walked would lead back into it.
    if inside.iter().any(|p| p.starts_with(&here)) {
        return Err(Error::Loop {
            path: dir.to_path_buf(),
        });
    }
    inside.push(here);
    let mut entries = std::fs::read_dir(dir)
        .and_then(|it| it.collect::<io::Result<Vec<_>>>())
        .map_err(|e| io_error(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        let Some(name) = name.to_str() else {
            return Err(Error::NotUtf8 { path });
        };
        let rel = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        // `metadata` follows links: a link counts as what it points to.
        let meta = std::fs::metadata(&path).map_err(|e| io_error(&path, e))?;
        if meta.is_dir() {
            walk(&path, &rel, inside, out)?;
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
            out.insert(rel, bytes);
        } else {
            return Err(Error::NotAFile { path });
        }
    }
    inside.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system temp dir, removed on drop.
    struct Temp(PathBuf);

    impl Temp {
        fn new(name: &str) -> Temp {
            let p =
                std::env::temp_dir().join(format!("bundle-dir-test-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Temp(p)
        }

        fn file(&self, rel: &str, bytes: &[u8]) -> &Temp {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
            self
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn paths(files: &BundleFiles) -> Vec<&str> {
        files.files.keys().map(String::as_str).collect()
    }

    #[test]
    fn nested_folders_give_slash_paths_and_hidden_entries_are_skipped() {
        let t = Temp::new("nested");
        t.file("kiosk.toml", b"k")
            .file("bundle.sig", b"s")
            .file("texts.toml~", b"backup")
            .file("businesses/A.toml", b"a")
            .file("businesses/deeper/B.toml", b"b")
            .file("businesses/.A.toml.swp", b"swap")
            .file(".DS_Store", b"x")
            .file(".git/config", b"x")
            .file("faq/.hidden/C.toml", b"x");
        let files = read(&t.0).unwrap();
        assert_eq!(
            paths(&files),
            [
                "bundle.sig",
                "businesses/A.toml",
                "businesses/deeper/B.toml",
                "kiosk.toml",
                "texts.toml~",
            ]
        );
        assert_eq!(files.files["businesses/deeper/B.toml"], b"b");
    }

    #[test]
    fn an_empty_folder_is_an_empty_bundle() {
        let t = Temp::new("empty");
        assert!(read(&t.0).unwrap().files.is_empty());
    }

    #[test]
    fn a_missing_folder_or_a_file_is_not_a_folder_and_the_message_names_it() {
        let t = Temp::new("missing");
        let missing = t.0.join("no-such-bundle");
        let e = read(&missing).unwrap_err();
        assert!(matches!(e, Error::NotAFolder { .. }), "{e:?}");
        assert_eq!(e.path(), missing);
        let msg = e.to_string();
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
        assert!(msg.contains("is not a folder"), "{msg}");

        t.file("plain.toml", b"x");
        let e = read(&t.0.join("plain.toml")).unwrap_err();
        assert!(matches!(e, Error::NotAFolder { .. }), "{e:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_that_cannot_be_read_is_an_error_naming_it() {
        // A link that leads nowhere: unreadable even for root, unlike a chmod 000 file.
        let t = Temp::new("unreadable");
        t.file("kiosk.toml", b"k");
        let dangling = t.0.join("zones.toml");
        std::os::unix::fs::symlink(t.0.join("gone.toml"), &dangling).unwrap();
        let e = read(&t.0).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert_eq!(e.path(), dangling);
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("cannot read {}: ", dangling.display())),
            "{msg}"
        );
        // The cause is in the message, not repeated as a source.
        assert!(std::error::Error::source(&e).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_name_that_is_not_utf8_is_an_error_unless_hidden() {
        use std::os::unix::ffi::OsStrExt;
        let t = Temp::new("utf8");
        t.file("kiosk.toml", b"k");
        let hidden = t.0.join(std::ffi::OsStr::from_bytes(b".caf\xe9.swp"));
        std::fs::write(&hidden, b"x").unwrap();
        assert_eq!(paths(&read(&t.0).unwrap()), ["kiosk.toml"]);

        let bad =
            t.0.join("faq")
                .join(std::ffi::OsStr::from_bytes(b"caf\xe9.toml"));
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, b"x").unwrap();
        let e = read(&t.0).unwrap_err();
        assert!(matches!(e, Error::NotUtf8 { .. }), "{e:?}");
        assert_eq!(e.path(), bad);
        assert!(e.to_string().contains("not valid UTF-8"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_a_loop_is_an_error() {
        use std::os::unix::fs::symlink;
        let t = Temp::new("links");
        let elsewhere = Temp::new("links-target");
        elsewhere
            .file("kiosk.toml", b"local")
            .file("faq/a.toml", b"a");
        t.file("zones.toml", b"z");
        symlink(elsewhere.0.join("kiosk.toml"), t.0.join("kiosk.toml")).unwrap();
        symlink(elsewhere.0.join("faq"), t.0.join("faq")).unwrap();
        let files = read(&t.0).unwrap();
        assert_eq!(paths(&files), ["faq/a.toml", "kiosk.toml", "zones.toml"]);
        assert_eq!(files.files["kiosk.toml"], b"local");

        let up = t.0.join("faq-up");
        symlink(&t.0, &up).unwrap();
        let e = read(&t.0).unwrap_err();
        assert!(matches!(e, Error::Loop { .. }), "{e:?}");
        assert_eq!(e.path(), up);
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_is_an_error_naming_it() {
        let t = Temp::new("socket");
        let sock = t.0.join("printer.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = read(&t.0).unwrap_err();
        assert!(matches!(e, Error::NotAFile { .. }), "{e:?}");
        assert_eq!(e.path(), sock);
    }

    #[test]
    fn the_shipped_bundle_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config");
        let files = read(&dir).unwrap();
        assert!(files.files.contains_key("kiosk.toml"));
        assert!(files.files.keys().any(|p| p.starts_with("businesses/")));
        assert!(files.files.keys().all(|p| !p.contains('\\')));
    }
}
