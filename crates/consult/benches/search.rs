//! What consultation costs on the kiosk: building the index from the shipped bundle (the
//! first build of a process also loads jieba's dictionary; later builds, on config swaps,
//! do not), and the latency of one search and of one suggestion, p50 and p99 over every
//! query of the crate's own sets (and of ../shared's dev set when it is there), repeated.
//!
//! Run: `cargo bench -p consult --bench search`. Every figure is printed on a line that
//! starts with FIGURE.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use consult::{Index, eval};
use kiosk_core::config::{Bundle, load};

fn shipped() -> Bundle {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config");
    let files = bundle_dir::read(&root).expect("kiosk-config is readable");
    match load(&files) {
        Ok(l) => l.bundle,
        Err(d) => panic!("the shipped bundle must load: {d:#?}"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too, briefly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let bundle = shipped();

    let t = Instant::now();
    let index = Index::build(&bundle);
    let first = t.elapsed();
    let mut builds = Vec::new();
    for _ in 0..if quick { 2 } else { 15 } {
        let t = Instant::now();
        black_box(Index::build(black_box(&bundle)));
        builds.push(t.elapsed());
    }
    builds.sort();
    let (faq, businesses, terms) = index.stats();
    println!(
        "FIGURE index build, first in process (loads jieba's dictionary): {:.1} ms",
        ms(first)
    );
    println!(
        "FIGURE index build from the shipped bundle ({faq} questions, {businesses} businesses, {terms} terms): median {:.1} ms over {} builds",
        ms(percentile(&builds, 0.5)),
        builds.len()
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = Vec::new();
    for f in [
        root.join("data/extra-queries.tsv"),
        root.join("data/blind-queries.tsv"),
        root.join("../../../shared/data/guidance/dev-queries.tsv"),
    ] {
        if let Ok(t) = std::fs::read_to_string(&f) {
            cases.extend(eval::parse(&t).expect("query file parses"));
        }
    }
    let rounds = if quick { 1 } else { 30 };
    let mut search = Vec::new();
    let mut suggest = Vec::new();
    for _ in 0..rounds {
        for c in &cases {
            let t = Instant::now();
            black_box(index.search(black_box(&c.query), c.lang, 3));
            search.push(t.elapsed());
            // A suggestion per keystroke: the first two characters (or letters) typed.
            let prefix: String = c.query.chars().take(2).collect();
            let t = Instant::now();
            black_box(index.suggest(black_box(&prefix), c.lang, 6));
            suggest.push(t.elapsed());
        }
    }
    // Where the tail comes from, for whoever tunes it next.
    let mut per_query: Vec<(Duration, &str)> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut v: Vec<Duration> = (0..rounds).map(|r| search[r * cases.len() + i]).collect();
            v.sort();
            (v[v.len() / 2], c.query.as_str())
        })
        .collect();
    per_query.sort_by_key(|q| std::cmp::Reverse(q.0));
    for (d, q) in per_query.iter().take(3) {
        println!("slowest: {:.0} µs {q:?}", us(*d));
    }
    // On a shared machine the raw p99 is mostly the scheduler; the slowest query's own
    // median is what the search itself costs at worst.
    if let Some((d, _)) = per_query.first() {
        println!(
            "FIGURE search latency, slowest query's median over {rounds} runs: {:.0} µs",
            us(*d)
        );
    }
    search.sort();
    suggest.sort();
    println!(
        "FIGURE search latency: p50 {:.0} µs, p99 {:.0} µs ({} queries × {rounds})",
        us(percentile(&search, 0.5)),
        us(percentile(&search, 0.99)),
        cases.len()
    );
    println!(
        "FIGURE suggest latency (2-character prefix): p50 {:.0} µs, p99 {:.0} µs",
        us(percentile(&suggest, 0.5)),
        us(percentile(&suggest, 0.99))
    );
}
