//! The loader against malformed input: random edits of the shipped bundle must give
//! either a bundle or diagnostics that point inside the bundle, never a panic.

use kiosk_core::config::{BundleFiles, load};
use proptest::prelude::*;

mod common;

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    DropLine { line: usize },
    DuplicateLine { line: usize },
    Truncate { at: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    Just(b'"'),
                    Just(b'['),
                    Just(b']'),
                    Just(b'='),
                    Just(b'\n'),
                    Just(b'{'),
                    Just(0xe4),
                    any::<u8>()
                ],
                1..8
            )
        )
            .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        any::<usize>().prop_map(|line| Edit::DropLine { line }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    let n = bytes.len().max(1);
    match e {
        Edit::Delete { at, len } => {
            let a = at % n;
            let b = (a + len).min(bytes.len());
            bytes.drain(a.min(bytes.len())..b);
        }
        Edit::Insert { at, bytes: ins } => {
            let a = (at % n).min(bytes.len());
            bytes.splice(a..a, ins.iter().copied());
        }
        Edit::DropLine { line } | Edit::DuplicateLine { line } => {
            let text = bytes.clone();
            let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
            let i = line % lines.len();
            if matches!(e, Edit::DropLine { .. }) {
                lines.remove(i);
            } else {
                lines.insert(i, lines[i]);
            }
            *bytes = lines.join(&b'\n');
        }
        Edit::Truncate { at } => bytes.truncate(at % n),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_never_panic(file_pick in any::<usize>(), edits in prop::collection::vec(edit(), 1..4)) {
        let mut b: BundleFiles = common::shipped();
        let paths: Vec<String> = b.files.keys().filter(|p| p.ends_with(".toml")).cloned().collect();
        let path = &paths[file_pick % paths.len()];
        let mut bytes = b.files[path].clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        b.insert(path.clone(), bytes);
        match load(&b) {
            Ok(_) => {}
            Err(diags) => {
                prop_assert!(!diags.is_empty());
                for d in &diags {
                    // Every diagnostic names a file of the bundle or a bundle folder, and a
                    // line that exists in it.
                    let known = b.files.contains_key(&d.file) || d.file.ends_with('/');
                    prop_assert!(known, "unknown file in {}", d);
                    if let Some(bytes) = b.files.get(&d.file) {
                        let lines = bytes.split(|c| *c == b'\n').count();
                        prop_assert!(d.line <= lines, "line out of range in {}", d);
                    }
                    prop_assert!(!d.message.is_empty());
                }
            }
        }
    }
}

#[test]
fn empty_and_garbage_bundles() {
    let d = load(&BundleFiles::default())
        .err()
        .expect("an empty bundle is refused");
    assert!(d.iter().any(|d| d.message.contains("kiosk.toml")));
    let mut b = BundleFiles::default();
    for p in [
        "kiosk.toml",
        "zones.toml",
        "texts.toml",
        "forms/x.toml",
        "businesses/A.toml",
        "receipts/r.toml",
    ] {
        b.insert(p, "\u{0}\u{1}[[[ = ]]]\"");
    }
    let d = load(&b).err().expect("garbage is refused");
    assert!(d.len() >= 6, "{d:#?}");
}
