//! Receipt benchmark: encoding time and bytes in text and raster mode, and the time from
//! `Printer::print` to the completion reply against the emupos emulator.
//!
//! ```text
//! cargo bench -p escpos-receipt --bench receipt [-- --rounds N --prints N]
//! ```
//!
//! The receipt is the shipped `payment` template with three form lines (the longest
//! common receipt: QR code and barcode), laid out for 80 mm (`pos-80-gbk`, text mode) and
//! drawn for the same paper in raster mode; 58 mm figures follow. Every figure is printed
//! on a line starting with `FIGURE`. Without emupos (scripts/setup-printer) the print
//! figures are skipped with a note.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use escpos_receipt::emulator::{self, DeviceSpec, Emulator};
use escpos_receipt::layout::Layout;
use escpos_receipt::{
    CjkFont, Confirmation, Endpoint, Printer, PrinterProfile, encode_raster, encode_text,
};
use kiosk_core::Lang;
use kiosk_core::session::PrintJob;

fn bundle() -> kiosk_core::config::Bundle {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kiosk-config");
    let files = bundle_dir::read(&root).unwrap();
    kiosk_core::config::load(&files)
        .expect("shipped bundle")
        .bundle
}

fn job() -> PrintJob {
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    PrintJob {
        template: "payment".into(),
        lang: Lang::Zh,
        fields: vec![
            f("hall_name", "昆明市五华区税务局智慧办税服务厅"),
            f("kiosk_id", "KSK-5301-0001"),
            f("business_code", "C02"),
            f("business_name", "增值税及附加税费申报（小规模纳税人）"),
            f("taxpayer_name", "张*丰"),
            f("taxpayer_id_masked", "530102********1234"),
            f("time", "2026-11-29 18:31"),
            f("tracking_no", "SANDBOX-C02-0001"),
            f("document_no", "PRACTICE-000001"),
            f("verify_code", "0A5E"),
            f(
                "verify_url",
                "http://127.0.0.1:8700/v1/documents/PRACTICE-000001/verify?code=0A5E",
            ),
            f("total", "1,234.56"),
        ],
        lines: vec![
            f("税款所属期", "2026年第3季度"),
            f("应税销售额（3%征收率）", "98,000.00"),
            f("本期应纳税额", "1,234.56"),
        ],
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut last = f(); // warm-up
    let mut d = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        last = f();
        d.push(t.elapsed());
    }
    (percentile(&mut d, 0.5), percentile(&mut d, 0.95), last)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mut rounds = 200usize;
    let mut prints = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            "--prints" => {
                prints = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--prints N")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let b = bundle();
    let job = job();
    let t = Instant::now();
    let font = Arc::new(CjkFont::system().expect("fonts-noto-cjk (scripts/setup)"));
    println!("font: {} loaded in {}", font.face, ms(t.elapsed()));

    let (p50, _, layout) = time(rounds, || Layout::from_bundle(&b, &job).unwrap());
    println!("FIGURE layout (template + job -> layout): p50 {}", ms(p50));

    for id in ["pos-80-gbk", "pos-58-gbk"] {
        let p = PrinterProfile::by_id(id).unwrap();
        let (t50, t95, text) = time(rounds, || encode_text(&layout, &p).unwrap());
        println!(
            "FIGURE encode text mode {} mm: p50 {} p95 {}, {} bytes",
            p.paper_mm,
            ms(t50),
            ms(t95),
            text.len()
        );
        let (r50, r95, raster) = time(rounds.min(100), || {
            encode_raster(&layout, &p, &font).unwrap()
        });
        println!(
            "FIGURE encode raster mode {} mm: p50 {} p95 {}, {} bytes ({:.1}x text)",
            p.paper_mm,
            ms(r50),
            ms(r95),
            raster.len(),
            raster.len() as f64 / text.len() as f64
        );
        // What those bytes cost on a 9600-baud serial printer (ten bits a byte).
        println!(
            "FIGURE transfer at 9600 baud {} mm: text {:.1} s, raster {:.1} s",
            p.paper_mm,
            text.len() as f64 / 960.0,
            raster.len() as f64 / 960.0
        );
    }

    let Some(bin) = emulator::find_binary() else {
        println!(
            "note: emupos is not installed (scripts/setup-printer): print-to-confirmation figures skipped"
        );
        return;
    };
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-emupos-{}", std::process::id()));
    let emu = Emulator::start(
        &bin,
        &dir,
        &[DeviceSpec {
            id: "bench".into(),
            width_dots: 576,
            serial: false,
        }],
        true,
    )
    .expect("emupos start");
    let port = emu.device("bench").unwrap().tcp_port;
    for (mode, profile) in [("text", "pos-80-gbk"), ("raster", "tm-t20iii")] {
        let ep: Endpoint = format!("tcp://127.0.0.1:{port}").parse().unwrap();
        let mut pr = Printer::new(
            ep,
            PrinterProfile::by_id(profile).unwrap(),
            Some(font.clone()),
        );
        let mut total = Vec::new();
        let mut confirm = Vec::new();
        let mut status = Vec::new();
        for _ in 0..prints {
            let t = Instant::now();
            let p = pr.print(&layout).expect("print");
            total.push(t.elapsed());
            match p.confirmation {
                Confirmation::Confirmed { after_us } => {
                    confirm.push(Duration::from_micros(after_us))
                }
                Confirmation::NotAvailable => unreachable!("TCP confirms"),
            }
            let t = Instant::now();
            pr.status().expect("status");
            status.push(t.elapsed());
        }
        println!(
            "FIGURE print to confirmation, {mode} mode, emupos over TCP ({prints} receipts): send->GS r reply p50 {} p95 {}; whole print() incl. encode and DLE EOT 1-4 p50 {} p95 {}",
            ms(percentile(&mut confirm, 0.5)),
            ms(percentile(&mut confirm, 0.95)),
            ms(percentile(&mut total, 0.5)),
            ms(percentile(&mut total, 0.95)),
        );
        println!(
            "FIGURE status read (DLE EOT 1-4) against emupos: p50 {}",
            ms(percentile(&mut status, 0.5))
        );
    }
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}
