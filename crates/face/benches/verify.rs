//! Face verification benchmark: accuracy and latency.
//!
//! ```text
//! cargo bench -p face --bench verify -- [DIR] [--threshold T] [--rounds N] [--no-python]
//! ```
//!
//! DIR holds `labels.tsv` (identity TAB file, one image per line, an optional
//! `identity<TAB>file` header) and the images; it defaults to `../shared/data/faces/dev`
//! beside the repository. Every pair with the same identity is genuine, every other pair
//! an impostor. Printed: the genuine and impostor score distributions, FAR and FRR at the
//! threshold (and around it), then the per-frame latency (detect + align + feature, 640x480,
//! one thread) p50/p95 next to the same pipeline in Python's opencv-python-headless, run in
//! a virtual environment the benchmark creates under target/.
//!
//! Images are read from DIR at run time and kept in memory; nothing is copied or written
//! except the Python environment and its script.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use face::quality::Assessment;
use face::{DEFAULT_THRESHOLD, FaceConfig, FaceEngine, Feature, ModelDir, image};
use opencv::core::Mat;

/// The Python side: the OpenCV release the Rust side links (Debian 12's 4.6), so that the
/// comparison is about the binding and the surrounding code, not about OpenCV versions.
/// Its wheels were built against numpy 1.x.
const PY_PACKAGES: [&str; 2] = ["opencv-python-headless==4.6.0.66", "numpy<2"];
const PY_SCRIPT: &str = include_str!("verify_py.py");
const LATENCY_SAMPLES: usize = 300;
const WARMUP: usize = 5;

struct Args {
    dir: Option<PathBuf>,
    threshold: f32,
    rounds: Option<usize>,
    python: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: None,
        threshold: DEFAULT_THRESHOLD,
        rounds: None,
        python: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // cargo bench appends --bench to harness-less benchmarks.
            "--bench" => {}
            "--no-python" => args.python = false,
            "--threshold" => {
                let v = it.next().ok_or("--threshold needs a value")?;
                args.threshold = v.parse().map_err(|_| format!("bad threshold {v:?}"))?;
            }
            "--rounds" => {
                let v = it.next().ok_or("--rounds needs a value")?;
                args.rounds = Some(v.parse().map_err(|_| format!("bad rounds {v:?}"))?);
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s => args.dir = Some(PathBuf::from(s)),
        }
    }
    Ok(args)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn models() -> ModelDir {
    if std::env::var_os(face::models::MODELS_ENV).is_some_and(|v| !v.is_empty()) {
        ModelDir::from_env()
    } else {
        ModelDir::new(repo().join("models"))
    }
}

struct Labeled {
    identity: String,
    path: PathBuf,
}

fn read_labels(dir: &Path) -> Result<Vec<Labeled>, String> {
    let tsv = dir.join("labels.tsv");
    let text = std::fs::read_to_string(&tsv).map_err(|e| format!("{}: {e}", tsv.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') || (n == 0 && line == "identity\tfile") {
            continue;
        }
        let (id, file) = line
            .split_once('\t')
            .ok_or_else(|| format!("{}:{}: expected identity<TAB>file", tsv.display(), n + 1))?;
        out.push(Labeled {
            identity: id.trim().to_string(),
            path: dir.join(file.trim()),
        });
    }
    Ok(out)
}

fn quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn summary(name: &str, v: &[f32]) {
    let mean = v.iter().sum::<f32>() / v.len().max(1) as f32;
    println!(
        "  {name:<9} n={:<5} min {:.3}  p1 {:.3}  p5 {:.3}  median {:.3}  mean {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}",
        v.len(),
        quantile(v, 0.0),
        quantile(v, 0.01),
        quantile(v, 0.05),
        quantile(v, 0.5),
        mean,
        quantile(v, 0.95),
        quantile(v, 0.99),
        quantile(v, 1.0),
    );
}

fn histogram(genuine: &[f32], impostor: &[f32]) {
    let bin = 0.05f32;
    let lo = (genuine
        .iter()
        .chain(impostor)
        .fold(1.0f32, |a, b| a.min(*b))
        / bin)
        .floor() as i32;
    let hi = (genuine
        .iter()
        .chain(impostor)
        .fold(-1.0f32, |a, b| a.max(*b))
        / bin)
        .floor() as i32;
    let count = |v: &[f32], b: i32| v.iter().filter(|s| (**s / bin).floor() as i32 == b).count();
    let gmax = (lo..=hi)
        .map(|b| count(genuine, b))
        .max()
        .unwrap_or(1)
        .max(1);
    let imax = (lo..=hi)
        .map(|b| count(impostor, b))
        .max()
        .unwrap_or(1)
        .max(1);
    println!("  score bin      genuine                          impostor");
    for b in lo..=hi {
        let (g, i) = (count(genuine, b), count(impostor, b));
        let bar = |c: usize, m: usize| "#".repeat((c * 24).div_ceil(m));
        println!(
            "  {:>5.2}..{:<5.2} {:>5} {:<26} {:>5} {}",
            b as f32 * bin,
            (b + 1) as f32 * bin,
            g,
            bar(g, gmax),
            i,
            bar(i, imax)
        );
    }
}

struct Rates {
    far: f64,
    frr: f64,
    false_accepts: usize,
    false_rejects: usize,
}

/// `None` scores are pairs where a face was not found: a reject either way.
fn rates(genuine: &[Option<f32>], impostor: &[Option<f32>], t: f32) -> Rates {
    let false_rejects = genuine.iter().filter(|s| s.is_none_or(|s| s < t)).count();
    let false_accepts = impostor
        .iter()
        .filter(|s| s.is_some_and(|s| s >= t))
        .count();
    Rates {
        far: false_accepts as f64 / impostor.len().max(1) as f64,
        frr: false_rejects as f64 / genuine.len().max(1) as f64,
        false_accepts,
        false_rejects,
    }
}

fn report(label: &str, genuine: &[Option<f32>], impostor: &[Option<f32>], threshold: f32) -> bool {
    let mut g: Vec<f32> = genuine.iter().flatten().copied().collect();
    let mut i: Vec<f32> = impostor.iter().flatten().copied().collect();
    g.sort_by(f32::total_cmp);
    i.sort_by(f32::total_cmp);
    println!("\n{label}");
    let lost = genuine.len() - g.len() + impostor.len() - i.len();
    if lost > 0 {
        println!("  ({lost} pairs had an image without a detected face; counted as rejects)");
    }
    summary("genuine", &g);
    summary("impostor", &i);
    histogram(&g, &i);
    let mut ts = vec![0.363, 0.40, 0.45, threshold, 0.50, 0.55];
    if let Some(max_imp) = i.last() {
        // The lowest threshold with no false accept.
        ts.push(max_imp + 0.001);
    }
    ts.sort_by(f32::total_cmp);
    ts.dedup_by(|a, b| (*a - *b).abs() < 1e-4);
    println!("  threshold   FAR                 FRR");
    for t in ts {
        let r = rates(genuine, impostor, t);
        let mark = if (t - threshold).abs() < 1e-6 {
            "  <- threshold"
        } else if i.last().is_some_and(|m| (t - (m + 0.001)).abs() < 1e-6) {
            "  <- lowest with FAR 0"
        } else {
            ""
        };
        println!(
            "  {t:<9.3}   {:>6.3}% ({:>4}/{:<5}) {:>6.2}% ({:>3}/{:<4}){mark}",
            r.far * 100.0,
            r.false_accepts,
            impostor.len(),
            r.frr * 100.0,
            r.false_rejects,
            genuine.len()
        );
    }
    if let (Some(min_g), Some(max_i)) = (g.first(), i.last()) {
        println!(
            "  separation: lowest genuine {min_g:.3}, highest impostor {max_i:.3} (gap {:+.3})",
            min_g - max_i
        );
    }
    let r = rates(genuine, impostor, threshold);
    let met = r.far <= 0.001 && r.frr <= 0.02;
    println!(
        "  at {threshold:.3}: FAR {:.3}% FRR {:.2}%  target FAR <= 0.1% (0 wanted), FRR <= 2%: {}",
        r.far * 100.0,
        r.frr * 100.0,
        if met { "met" } else { "NOT met" }
    );
    met
}

fn accuracy(engine: &mut FaceEngine, set: &[Labeled], threshold: f32) -> Result<(), String> {
    println!("\n== accuracy: {} images", set.len());
    let mut still: Vec<Option<Feature>> = Vec::new();
    let mut camera: Vec<Option<Feature>> = Vec::new();
    for s in set {
        let img = image::read_bgr(&s.path).map_err(|e| e.to_string())?;
        still.push(engine.still_feature(&img).map_err(|e| e.to_string())?);
        // What the kiosk camera would see: the scene in a 640x480 frame, detected at the
        // camera setting, whatever the quality gates would say.
        let frame = image::letterbox(&img, 640, 480).map_err(|e| e.to_string())?;
        let faces = engine.detect(&frame).map_err(|e| e.to_string())?;
        camera.push(match faces.first() {
            Some(f) => Some(engine.feature(&frame, f).map_err(|e| e.to_string())?),
            None => None,
        });
    }
    let no_face = still.iter().filter(|f| f.is_none()).count();
    if no_face > 0 {
        println!("  {no_face} images without a detected face (still detection)");
    }
    let score = |a: &Option<Feature>, b: &Option<Feature>| match (a, b) {
        (Some(a), Some(b)) => Some(a.cosine(b)),
        _ => None,
    };
    let (mut g, mut i) = (Vec::new(), Vec::new());
    let (mut gc, mut ic) = (Vec::new(), Vec::new());
    for a in 0..set.len() {
        for b in 0..set.len() {
            if a == b {
                continue;
            }
            let same = set[a].identity == set[b].identity;
            if a < b {
                let s = score(&still[a], &still[b]);
                if same { g.push(s) } else { i.push(s) }
            }
            // Card (still photo a) against camera (frame of b): ordered pairs.
            let s = score(&still[a], &camera[b]);
            if same { gc.push(s) } else { ic.push(s) }
        }
    }
    let met = report(
        "photo against photo (unordered pairs; the figure the issue asks for)",
        &g,
        &i,
        threshold,
    );
    report(
        "photo against a 640x480 camera frame of the other photo (ordered pairs, kiosk detection size)",
        &gc,
        &ic,
        threshold,
    );
    println!(
        "\naccuracy at threshold {threshold}: {}",
        if met { "target met" } else { "target NOT met" }
    );
    Ok(())
}

struct Latency {
    p50: f64,
    p95: f64,
    mean: f64,
    n: usize,
}

fn latency_of(mut v: Vec<f64>) -> Latency {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let q = |p: f64| v[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    Latency {
        p50: v[n / 2],
        p95: q(0.95),
        mean: v.iter().sum::<f64>() / n as f64,
        n,
    }
}

fn rust_latency(
    engine: &mut FaceEngine,
    frames: &[Mat],
    rounds: usize,
) -> Result<(Latency, Latency, Latency), String> {
    let once = |e: &mut FaceEngine, f: &Mat| -> Result<(f64, f64), String> {
        let t0 = Instant::now();
        let faces = e.detect(f).map_err(|e| e.to_string())?;
        let t1 = Instant::now();
        if let Some(face) = faces.first() {
            e.feature(f, face).map_err(|e| e.to_string())?;
        }
        let t2 = Instant::now();
        Ok((
            (t1 - t0).as_secs_f64() * 1000.0,
            (t2 - t1).as_secs_f64() * 1000.0,
        ))
    };
    for f in frames.iter().take(WARMUP) {
        once(engine, f)?;
    }
    let (mut total, mut det, mut feat) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        for f in frames {
            let (d, r) = once(engine, f)?;
            total.push(d + r);
            det.push(d);
            feat.push(r);
        }
    }
    Ok((latency_of(total), latency_of(det), latency_of(feat)))
}

#[derive(serde::Deserialize)]
struct PyResult {
    opencv: String,
    numpy: String,
    python: String,
    threads: i32,
    n: usize,
    p50_ms: Option<f64>,
    p95_ms: Option<f64>,
    mean_ms: Option<f64>,
    detect_p50_ms: Option<f64>,
    feature_p50_ms: Option<f64>,
}

fn python_latency(models: &Path, images: &[PathBuf], rounds: usize) -> Result<PyResult, String> {
    let venv = repo().join("target/face-bench-venv");
    let py = venv.join("bin/python");
    let ready = py.is_file()
        && Command::new(&py)
            .args([
                "-c",
                "import cv2, numpy; assert cv2.__version__.startswith('4.6')",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        println!(
            "  creating {} and installing {} (first run only)",
            venv.display(),
            PY_PACKAGES.join(" ")
        );
        let out = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .output()
            .map_err(|e| format!("python3 is not available ({e})"))?;
        if !out.status.success() {
            return Err(format!(
                "python3 -m venv failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let out = Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PY_PACKAGES)
            .output()
            .map_err(|e| format!("pip could not start ({e})"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(6).collect();
            return Err(format!(
                "pip install {} failed:\n    {}",
                PY_PACKAGES.join(" "),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n    ")
            ));
        }
    }
    let script = venv.join("verify_py.py");
    std::fs::write(&script, PY_SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    let out = Command::new(&py)
        .arg(&script)
        .arg(models)
        .arg(rounds.to_string())
        .arg(WARMUP.to_string())
        .args(images)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .map_err(|e| format!("the Python benchmark could not start ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "the Python benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("unreadable Python result {line:?}: {e}"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "{e}\nusage: cargo bench -p face --bench verify -- [DIR] [--threshold T] [--rounds N] [--no-python]"
            );
            return ExitCode::FAILURE;
        }
    };
    let models = models();
    let mut engine = match FaceEngine::load(&models, FaceConfig::default()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| repo().join("../shared/data/faces/dev"));
    println!("face verification benchmark");
    println!("  models: {}", models.path().display());
    println!("  set:    {}", dir.display());
    println!(
        "  threshold: {} (crate default {DEFAULT_THRESHOLD})",
        args.threshold
    );

    // Accuracy.
    let set = if dir.join("labels.tsv").is_file() {
        match read_labels(&dir) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!(
            "\n== accuracy: SKIPPED: {} is absent (no labels.tsv there). Pass a folder with \
             labels.tsv (identity<TAB>file) and the images to score it.",
            dir.display()
        );
        None
    };
    if let Some(set) = &set
        && let Err(e) = accuracy(&mut engine, set, args.threshold)
    {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }

    // Latency, on the set's images, or on the demo faces when there is no set.
    let images: Vec<PathBuf> = match &set {
        Some(s) => s.iter().map(|l| l.path.clone()).collect(),
        None => {
            let demo = repo().join("demo");
            let mut v: Vec<PathBuf> = ["faces/obama.jpg", "faces/obama2.jpg", "faces/obama3.jpg"]
                .iter()
                .chain(&["faces/biden.jpg", "camera/frame-001.jpg"])
                .map(|p| demo.join(p))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            if v.is_empty() {
                println!(
                    "\n== latency: SKIPPED: no images (the set is absent and demo/ is empty; run scripts/setup-faces)"
                );
                return ExitCode::SUCCESS;
            }
            println!("\n(latency measured on the demo faces, since the set is absent)");
            v
        }
    };
    let frames: Vec<Mat> = images
        .iter()
        .filter_map(|p| image::read_bgr(p).ok())
        .filter_map(|m| image::letterbox(&m, 640, 480).ok())
        .collect();
    let rounds = args
        .rounds
        .unwrap_or_else(|| LATENCY_SAMPLES.div_ceil(frames.len().max(1)));
    let with_face = frames
        .iter()
        .filter(|f| matches!(engine.assess(f), Ok(Assessment::Good(_))))
        .count();
    println!(
        "\n== latency per frame: detect + align + feature, 640x480, one thread ({} frames x {rounds} rounds; {with_face} pass the quality gates)",
        frames.len()
    );
    if let Err(e) = opencv::core::set_num_threads(1) {
        eprintln!("cv::setNumThreads(1) failed: {e}");
        return ExitCode::FAILURE;
    }
    let (total, det, feat) = match rust_latency(&mut engine, &frames, rounds) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "  Rust   (opencv crate, system OpenCV {}): p50 {:.2} ms  p95 {:.2} ms  mean {:.2} ms  (n={}; detect p50 {:.2} ms, align+feature p50 {:.2} ms)",
        opencv::core::get_version_string().unwrap_or_default(),
        total.p50,
        total.p95,
        total.mean,
        total.n,
        det.p50,
        feat.p50
    );
    let py = if args.python {
        match python_latency(models.path(), &images, rounds) {
            Ok(py) => Some(py),
            Err(e) => {
                println!("  Python: SKIPPED: {e}");
                None
            }
        }
    } else {
        println!("  Python: skipped (--no-python)");
        None
    };
    if let Some(py) = py
        && let (Some(p50), Some(p95), Some(mean)) = (py.p50_ms, py.p95_ms, py.mean_ms)
    {
        println!(
            "  Python {} (opencv-python-headless {}, numpy {}, {} thread): p50 {p50:.2} ms  p95 {p95:.2} ms  mean {mean:.2} ms  (n={}; detect p50 {:.2} ms, align+feature p50 {:.2} ms)",
            py.python,
            py.opencv,
            py.numpy,
            py.threads,
            py.n,
            py.detect_p50_ms.unwrap_or(f64::NAN),
            py.feature_p50_ms.unwrap_or(f64::NAN)
        );
        println!(
            "  ratio Rust/Python: p50 {:.2}  p95 {:.2}  (below 1 means Rust is faster)",
            total.p50 / p50,
            total.p95 / p95
        );
    }
    println!(
        "  target p50 <= 35 ms: {}",
        if total.p50 <= 35.0 { "met" } else { "NOT met" }
    );
    ExitCode::SUCCESS
}
