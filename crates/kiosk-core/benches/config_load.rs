//! How long loading and validating the shipped bundle takes (target: well under 20 ms in
//! release), against parsing the same files as plain TOML with no validation, the floor
//! any loader pays. Run: `cargo bench -p kiosk-core --bench config_load`.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use kiosk_core::config::{BundleFiles, load};

fn shipped() -> BundleFiles {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config");
    bundle_dir::read(&root).expect("kiosk-config is readable")
}

fn parse_only(files: &BundleFiles) -> usize {
    files
        .files
        .iter()
        .filter(|(p, _)| p.ends_with(".toml"))
        .map(|(_, b)| {
            toml::from_str::<toml::Table>(std::str::from_utf8(b).expect("utf-8"))
                .expect("valid toml")
                .len()
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let files = shipped();
    assert!(load(&files).is_ok(), "the shipped bundle must load");
    c.bench_function("load+validate shipped bundle", |b| {
        b.iter(|| load(black_box(&files)).is_ok())
    });
    c.bench_function("parse-only TOML baseline", |b| {
        b.iter(|| parse_only(black_box(&files)))
    });
}

/// The figure this benchmark stands for, printed plainly: medians of 50 runs each.
fn summary() {
    let files = shipped();
    let median = |f: &dyn Fn()| {
        let mut v: Vec<f64> = (0..50)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[25]
    };
    let full = median(&|| {
        black_box(load(&files).is_ok());
    });
    let parse = median(&|| {
        black_box(parse_only(&files));
    });
    let bytes: usize = files.files.values().map(Vec::len).sum();
    println!(
        "FIGURE config_load: {} files, {} KiB: load+validate median {full:.2} ms, parse-only median {parse:.2} ms, ratio {:.2}x (target < 20 ms)",
        files.files.len(),
        bytes / 1024,
        full / parse
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    summary();
}
