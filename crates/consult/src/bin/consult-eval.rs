//! Scores the consultation search on a query set: top-1 and top-3 accuracy.
//!
//! `cargo run -p consult --bin consult-eval -- [--bundle DIR] [--misses] [FILE...]`
//!
//! FILE is a TSV with columns query, expected_codes (comma separated), lang. Without a
//! file it scores ../shared/data/guidance/dev-queries.tsv (read where it lies, never
//! copied) and the crate's own sets: crates/consult/data/extra-queries.tsv (held out, written
//! before tuning) and crates/consult/data/blind-queries.tsv (written after tuning, scored
//! once, never tuned on).
//! `--misses` lists the queries whose expected business is not in the top three.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use consult::{Index, eval};
use kiosk_core::Lang;
use kiosk_core::config::load;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Shorter paths in the report; the joined form works as well when it cannot resolve.
    let root = root.canonicalize().unwrap_or(root);
    let mut files: Vec<PathBuf> = Vec::new();
    let mut misses = false;
    let mut bundle_dir = root.join("kiosk-config");
    let mut explain: Vec<String> = Vec::new();
    let mut answers = false;
    let mut suggest: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--misses" => misses = true,
            "--answers" => answers = true,
            "--suggest" => suggest.push(args.next().context("--suggest needs a prefix")?),
            "--explain" => explain.push(args.next().context("--explain needs a query")?),
            "--bundle" => {
                bundle_dir = args.next().context("--bundle needs a folder")?.into();
            }
            "-h" | "--help" => {
                println!(
                    "usage: consult-eval [--bundle DIR] [--misses] [--answers] [--explain QUERY] [--suggest PREFIX] [FILE.tsv ...]\n\
                     FILE: TSV with columns query, expected_codes (comma separated), lang.\n\
                     Default: ../shared/data/guidance/dev-queries.tsv, crates/consult/data/extra-queries.tsv\n\
                     and crates/consult/data/blind-queries.tsv."
                );
                return Ok(());
            }
            _ => files.push(a.into()),
        }
    }
    let defaults = files.is_empty() && explain.is_empty() && suggest.is_empty();
    if defaults {
        files.push(root.join("../shared/data/guidance/dev-queries.tsv"));
        files.push(root.join("crates/consult/data/extra-queries.tsv"));
        files.push(root.join("crates/consult/data/blind-queries.tsv"));
    }

    let bundle = match load(&bundle_dir::read(&bundle_dir)?) {
        Ok(l) => l.bundle,
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            bail!("the bundle at {} does not load", bundle_dir.display());
        }
    };
    let t = Instant::now();
    let index = Index::build(&bundle);
    let (faq, businesses, terms) = index.stats();
    println!(
        "bundle {} ({faq} questions, {businesses} businesses, {terms} terms) indexed in {:.0} ms",
        bundle.version(),
        t.elapsed().as_secs_f64() * 1e3
    );

    for q in &explain {
        println!("== {q}");
        for l in index.explain(q, 12) {
            println!("  {l}");
        }
    }
    for p in &suggest {
        let lang = if p.is_ascii() && p.contains(' ') {
            Lang::En
        } else {
            Lang::Zh
        };
        println!("== suggest {p:?} ({})", lang.code());
        for s in index.suggest(p, lang, 6) {
            println!("  {:?} {}", s.target, s.text);
        }
    }
    if !(explain.is_empty() && suggest.is_empty()) && files.is_empty() {
        return Ok(());
    }
    let mut scored = 0;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) if defaults && e.kind() == std::io::ErrorKind::NotFound => {
                println!(
                    "{}: ABSENT (not scored; the shared data set is not beside this checkout)",
                    f.display()
                );
                continue;
            }
            Err(e) => bail!("cannot read {}: {e}", f.display()),
        };
        let cases = eval::parse(&text).with_context(|| format!("in {}", f.display()))?;
        let report = eval::run(&index, &cases);
        let (shown, fit) = report.answers();
        println!(
            "{}: {} queries  top-1 {:.1}% ({})  top-3 {:.1}% ({})  answers shown {} of which lead to an expected business {}",
            f.display(),
            report.total(),
            report.top(1) * 100.0,
            report.hits_at(1),
            report.top(3) * 100.0,
            report.hits_at(3),
            shown,
            fit
        );
        if misses {
            for o in report
                .outcomes
                .iter()
                .filter(|o| o.rank.is_none_or(|r| r > 1))
            {
                println!(
                    "  {} line {}: {:?} expected {} got {} {}",
                    if o.rank.is_none() { "MISS" } else { "top3" },
                    o.case.line,
                    o.case.query,
                    o.case.expected.join(","),
                    o.got.join(","),
                    match o.answer_fits {
                        Some(true) => "(answer fits)",
                        Some(false) => "(answer off)",
                        None => "(no answer)",
                    }
                );
            }
        }
        if answers {
            for o in &report.outcomes {
                if let Some((id, conf)) = &o.best_entry {
                    let fits = o.case.expected.iter().any(|c| {
                        index
                            .faq_entry(id)
                            .is_some_and(|e| e.businesses.contains(c))
                    });
                    println!(
                        "  answer {conf:.3} {} {id} for {:?}",
                        if fits { "fits" } else { "OFF " },
                        o.case.query
                    );
                }
            }
        }
        scored += 1;
    }
    if scored == 0 {
        bail!("no query file could be scored");
    }
    Ok(())
}
