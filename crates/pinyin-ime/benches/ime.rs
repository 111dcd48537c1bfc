//! What a key press on the kiosk's pinyin keyboard costs, against the obvious alternative:
//! looking the letters up by converting every character's reading on each key (no table).
//! Also the one-off cost of building the engine, which the kiosk pays on a worker at start.
//!
//! `cargo bench -p pinyin-ime --bench ime` prints the figures.

use pinyin::ToPinyinMulti;
use pinyin_ime::{Composer, Engine, Key, Mode};
use std::time::{Duration, Instant};

/// The characters whose reading starts with the letters, by scanning every character:
/// what an input without the engine's table would do on each key.
fn scan(letters: &str) -> Vec<char> {
    (0x4E00u32..=0x9FFF)
        .filter_map(char::from_u32)
        .filter(|c| {
            c.to_pinyin_multi()
                .is_some_and(|m| m.into_iter().any(|p| p.plain().starts_with(letters)))
        })
        .collect()
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let t = Instant::now();
    let engine = Engine::new();
    let build = t.elapsed();
    let words = [
        "gongshangyinhang",
        "nashuirenshibiehao",
        "wanshuizhengming",
        "zhangxiaoming",
        "shenbao",
    ];
    let fits = |c: &[pinyin_ime::Candidate]| c.len() <= 10;
    let (mut ime, mut naive) = (Vec::new(), Vec::new());
    for round in 0..20 {
        for w in words {
            let mut comp = Composer::new(Mode::Zh, false);
            for ch in w.chars() {
                let t = Instant::now();
                comp.press(&engine, Key::Letter(ch), fits);
                let page = comp.page(&engine, fits);
                ime.push(t.elapsed());
                assert!(!page.items.is_empty());
            }
            // The scan is slow: a few rounds are enough for its figure.
            if round < 2 {
                for end in 1..=w.len() {
                    let t = Instant::now();
                    let found = scan(&w[..end.min(6)]);
                    naive.push(t.elapsed());
                    std::hint::black_box(found);
                }
            }
        }
    }
    let (p50, p95, max) = (
        percentile(&mut ime, 0.5),
        percentile(&mut ime, 0.95),
        *ime.iter().max().unwrap(),
    );
    let naive_p50 = percentile(&mut naive, 0.5);
    println!(
        "engine build (once, on a worker): {:.1} ms",
        build.as_secs_f64() * 1e3
    );
    println!(
        "key press to candidate page, {} presses: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        ime.len(),
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "scanning every character's reading per key (no table, single characters only), {} presses: p50 {:.3} ms",
        naive.len(),
        naive_p50.as_secs_f64() * 1e3
    );
    println!(
        "ratio scan / engine at p50: {:.1}x",
        naive_p50.as_secs_f64() / p50.as_secs_f64()
    );
}
