//! Printing through the real paths into emupos on loopback: TCP 9100-style, serial and a
//! device file (the emulator's pty), with its faults set through its control API. Each
//! test uses its own simulated printer, so they run in parallel on one emulator.

mod common;

use std::io::{self, Read};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use escpos_receipt::emulator::Emulator;
use escpos_receipt::journal::State;
use escpos_receipt::layout::Layout;
use escpos_receipt::raster::render;
use escpos_receipt::status::Fault;
use escpos_receipt::transport::{DeviceTransport, SerialTransport, TcpTransport};
use escpos_receipt::{
    CjkFont, Completion, Confirmation, Endpoint, Journal, Mode, PrintError, Printer,
    PrinterProfile, Transport, e_receipt, encode,
};
use kiosk_core::Lang;
use kiosk_core::session::PrinterState;

fn font() -> Arc<CjkFont> {
    static F: std::sync::OnceLock<Arc<CjkFont>> = std::sync::OnceLock::new();
    F.get_or_init(|| Arc::new(CjkFont::system().unwrap()))
        .clone()
}

fn printer(emu: &Emulator, device: &str, profile: &str) -> Printer {
    let port = emu.device(device).unwrap().tcp_port;
    let ep: Endpoint = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    Printer::new(ep, PrinterProfile::by_id(profile).unwrap(), Some(font()))
}

fn layout(job: &kiosk_core::session::PrintJob) -> Layout {
    Layout::from_bundle(&bundle(), job).unwrap()
}

fn latest(emu: &Emulator, device: &str, count: usize) -> (Vec<u8>, String) {
    let ids = emu
        .wait_receipts(device, count, Duration::from_secs(10))
        .unwrap();
    assert_eq!(ids.len(), count, "{device}: receipts {ids:?}");
    (
        emu.receipt_png(device, &ids[0]).unwrap(),
        emu.receipt_text(device, &ids[0]).unwrap(),
    )
}

#[test]
fn text_mode_receipt_over_tcp_is_confirmed_and_scans() {
    let Some(emu) = emu("text_mode_receipt_over_tcp_is_confirmed_and_scans") else {
        return;
    };
    let mut pr = printer(emu, "text80", "pos-80-gbk");
    let p = pr.print(&layout(&done_job("payment", Lang::Zh))).unwrap();
    assert_eq!(p.mode, Mode::Text);
    assert!(matches!(p.confirmation, Confirmation::Confirmed { .. }));
    assert!(!p.paper_near_end);
    let (png, text) = latest(emu, "text80", 1);
    // emupos draws GS ( k and GS k itself; zbarimg reads them off its PNG.
    if let Some(codes) = zbar(&png, "emu-text80") {
        assert!(
            codes.contains(&format!("QR-Code:{}", verify_url())),
            "{codes:?}"
        );
        assert!(codes.contains(&format!("CODE-128:{DOC}")), "{codes:?}");
    }
    // It does not draw FS & text (its dump shows the GB18030 bytes in code page 437), but
    // the ASCII parts and the codes are in the dump.
    for s in [
        KIOSK,
        TIME,
        "[qr http://127.0.0.1:8700/v1/documents/PRACTICE-000001/verify?code=0A5E]",
        "[barcode CODE128 PRACTICE-000001]",
    ] {
        assert!(text.contains(s), "{s} not in\n{text}");
    }
    std::fs::write(png_dir().join("emupos-text80-payment.png"), &png).unwrap();
}

#[test]
fn raster_receipts_come_out_exactly_as_rendered() {
    let Some(emu) = emu("raster_receipts_come_out_exactly_as_rendered") else {
        return;
    };
    for (device, profile, count) in [("raster80", "tm-t20iii", 1), ("raster58", "zj-5870", 1)] {
        let mut pr = printer(emu, device, profile);
        let l = layout(&done_job("certificate", Lang::Zh));
        let p = pr.print(&l).unwrap();
        assert_eq!(p.mode, Mode::Raster, "{profile} has no Chinese font");
        assert!(matches!(p.confirmation, Confirmation::Confirmed { .. }));
        // zj-5870 has no cutter: emupos ends that job when the connection goes quiet.
        let (png, text) = latest(emu, device, count);
        std::fs::write(
            png_dir().join(format!("emupos-{device}-certificate.png")),
            &png,
        )
        .unwrap();
        let ours = render(&l, pr.profile(), &font()).unwrap();
        let theirs = decode_png(&png);
        assert_eq!((theirs.0, theirs.1), (ours.width, ours.height), "{device}");
        let differ = (0..ours.height)
            .flat_map(|y| (0..ours.width).map(move |x| (x, y)))
            .filter(|&(x, y)| ours.get(x, y) != theirs.2[y * theirs.0 + x])
            .count();
        assert_eq!(differ, 0, "{device}: the printed image differs from ours");
        assert!(
            text.contains("[image 384x") || text.contains("[image 576x"),
            "{text}"
        );
        if let Some(codes) = zbar(&png, device) {
            assert!(
                codes.contains(&format!("QR-Code:{}", verify_url())),
                "{codes:?}"
            );
        }
    }
}

/// A 1-bit or 8-bit grayscale PNG as (width, height, black pixels).
fn decode_png(png: &[u8]) -> (usize, usize, Vec<bool>) {
    let mut dec = png::Decoder::new(io::Cursor::new(png));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let ch = info.color_type.samples();
    let px = (0..w * h).map(|i| buf[i * ch] < 128).collect();
    (w, h, px)
}

#[test]
fn paper_near_end_prints_and_tells() {
    let Some(emu) = emu("paper_near_end_prints_and_tells") else {
        return;
    };
    emu.set_fault("near", "paper-near-end", true).unwrap();
    let mut pr = printer(emu, "near", "pos-80-gbk");
    let st = pr.status().unwrap();
    assert!(st.can_print() && st.paper_near_end);
    assert_eq!(st.to_printer_state(), PrinterState::PaperLow);
    let p = pr.print(&layout(&ticket_job(Lang::Zh))).unwrap();
    assert!(p.paper_near_end, "staff must be told");
    assert!(matches!(p.confirmation, Confirmation::Confirmed { .. }));
    latest(emu, "near", 1);
}

#[test]
fn stopping_faults_start_no_job() {
    let Some(emu) = emu("stopping_faults_start_no_job") else {
        return;
    };
    for (device, fault, want) in [
        ("out", "paper-out", Fault::PaperOut),
        ("cover", "cover-open", Fault::CoverOpen),
        ("offline", "offline", Fault::Offline),
    ] {
        emu.set_fault(device, fault, true).unwrap();
        let mut pr = printer(emu, device, "pos-80-gbk");
        match pr.print(&layout(&done_job("done", Lang::Zh))) {
            Err(PrintError::NotReady(st)) => {
                assert_eq!(st.faults(), vec![want], "{device}");
                assert!(matches!(st.to_printer_state(), PrinterState::Fault(_)));
            }
            other => panic!("{device}: {other:?}"),
        }
        // Nothing was sent, so nothing is held: clearing the fault prints nothing.
        emu.set_fault(device, fault, false).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            emu.receipts(device).unwrap().is_empty(),
            "{device}: a job was held"
        );
        assert!(pr.status().unwrap().can_print());
    }
}

/// Forwards to the real transport, and runs the printer out of paper just as the job
/// (anything longer than a status request) arrives.
struct PaperRunsOut {
    inner: Box<dyn Transport>,
    emu: &'static Emulator,
    armed: bool,
}

impl Transport for PaperRunsOut {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        if self.armed && data.len() > 3 {
            self.armed = false;
            self.emu.set_fault("held", "paper-out", true)?;
        }
        self.inner.write_all(data, deadline)
    }
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        self.inner.read(buf, deadline)
    }
    fn link_rate(&self) -> u64 {
        self.inner.link_rate()
    }
}

#[test]
fn held_job_is_reported_and_never_sent_twice() {
    let Some(emu) = emu("held_job_is_reported_and_never_sent_twice") else {
        return;
    };
    let port = emu.device("held").unwrap().tcp_port;
    let tcp = TcpTransport::connect("127.0.0.1", port, Duration::from_secs(2)).unwrap();
    let t = PaperRunsOut {
        inner: Box::new(tcp),
        emu,
        armed: true,
    };
    let mut pr = Printer::with_transport(
        Box::new(t),
        PrinterProfile::by_id("pos-80-gbk").unwrap(),
        Some(font()),
    );
    let journal = Journal::open_in_memory().unwrap();
    let l = layout(&done_job("done", Lang::Zh));
    let t0 = Instant::now();
    let (id, r) = journal.print(&mut pr, "s-held", &l).unwrap();
    let err = r.unwrap_err();
    // The timeout is sized to the job (3 s + 2 x (transfer + paper)), then the status says why.
    assert!(t0.elapsed() >= Duration::from_secs(3) && t0.elapsed() < Duration::from_secs(8));
    match &err {
        PrintError::Unconfirmed {
            status: Some(st),
            sent,
            total,
            ..
        } => {
            assert_eq!(st.faults(), vec![Fault::PaperOut]);
            assert_eq!(sent, total);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.job_may_have_printed());
    assert_eq!(journal.get(id).unwrap().unwrap().state, State::Unconfirmed);
    // Reprinting needs a person to look at the printer first.
    assert!(journal.reprint(&mut pr, id, false).is_err());
    assert!(emu.receipts("held").unwrap().is_empty());
    // The roll is changed: the held job prints by itself, once.
    emu.set_fault("held", "paper-out", false).unwrap();
    let ids = emu
        .wait_receipts("held", 1, Duration::from_secs(10))
        .unwrap();
    assert_eq!(ids.len(), 1);
    // The late completion reply is matched to the job, and the journal can say so.
    assert!(pr.status().unwrap().can_print());
    let late = pr.take_late_completions();
    assert_eq!(late.len(), 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        emu.receipts("held").unwrap().len(),
        1,
        "printed exactly once"
    );
}

#[test]
fn no_status_reply_is_an_error_and_sends_nothing_else() {
    // A "printer" that accepts the connection and never answers.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut all = Vec::new();
        let mut b = [0u8; 64];
        while let Ok(n) = s.read(&mut b) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&b[..n]);
        }
        all
    });
    let ep: Endpoint = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    let mut pr = Printer::new(ep, PrinterProfile::by_id("pos-58-gbk").unwrap(), None);
    pr.set_status_timeout(Duration::from_millis(300));
    let t0 = Instant::now();
    let e = pr.print(&layout(&ticket_job(Lang::Zh))).unwrap_err();
    assert!(matches!(e, PrintError::NoStatusReply { n: 1, .. }), "{e}");
    assert!(!e.job_may_have_printed());
    assert!(t0.elapsed() < Duration::from_secs(2));
    drop(pr);
    // Only the first status request went out: no job bytes.
    assert_eq!(got.join().unwrap(), vec![0x10, 0x04, 0x01]);
}

#[test]
fn serial_and_device_file_paths() {
    let Some(emu) = emu("serial_and_device_file_paths") else {
        return;
    };
    let path = emu.device("serial").unwrap().serial_path.clone().unwrap();
    let profile = PrinterProfile::by_id("pos-80-gbk").unwrap();
    let ser = SerialTransport::open(path.to_str().unwrap(), 115_200).unwrap();
    let mut pr = Printer::with_transport(Box::new(ser), profile.clone(), Some(font()));
    let p = pr.print(&layout(&ticket_job(Lang::Zh))).unwrap();
    assert!(matches!(p.confirmation, Confirmation::Confirmed { .. }));
    drop(pr);
    latest(emu, "serial", 1);
    // The same pty as a printer device file (what /dev/usb/lp0 is to the kiosk).
    let dev = DeviceTransport::open(&path).unwrap();
    let mut pr = Printer::with_transport(Box::new(dev), profile, Some(font()));
    assert!(pr.status().unwrap().can_print());
    let p = pr.print(&layout(&accepted_job(Lang::Zh))).unwrap();
    assert!(matches!(p.confirmation, Confirmation::Confirmed { .. }));
    let (png, _) = latest(emu, "serial", 2);
    if let Some(codes) = zbar(&png, "emu-serial") {
        assert!(codes.contains(&format!("CODE-128:{TRACKING}")), "{codes:?}");
    }
}

#[test]
fn unanswered_completion_request_reads_the_status_to_learn_why() {
    let Some(emu) = emu("unanswered_completion_request_reads_the_status_to_learn_why") else {
        return;
    };
    // emupos does not implement GS ( H, so the completion request goes unanswered while the
    // printer is fine: the error says the job was sent and the printer is ready.
    let mut profile = PrinterProfile::by_id("pos-80-gbk").unwrap();
    profile.completion = Completion::GsParenH;
    let port = emu.device("gsh").unwrap().tcp_port;
    let ep: Endpoint = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    let mut pr = Printer::new(ep, profile, Some(font()));
    match pr.print(&layout(&ticket_job(Lang::Zh))) {
        Err(PrintError::Unconfirmed {
            status: Some(st), ..
        }) => assert!(st.can_print()),
        other => panic!("{other:?}"),
    }
    // It did print (once): unconfirmed is not the same as failed.
    latest(emu, "gsh", 1);
}

#[test]
fn journal_reprint_and_e_receipt() {
    let Some(emu) = emu("journal_reprint_and_e_receipt") else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("receipts.db");
    let journal = Journal::open(&db).unwrap();
    let mut pr = printer(emu, "journal", "pos-80-gbk");
    let mut job = done_job("done", Lang::Zh);
    // A full ID number that slipped into a form value: masked on paper and in the journal.
    let first = "53010219900307123";
    let full = format!(
        "{first}{}",
        kiosk_core::ids::id_check_char(first.as_bytes()) as char
    );
    job.lines.push(("经办人证件".into(), full.clone()));
    let l = layout(&job);
    let (id, r) = journal.print(&mut pr, "s-1", &l).unwrap();
    r.unwrap();
    let e = journal.get(id).unwrap().unwrap();
    assert_eq!((e.state, e.prints), (State::Printed, 1));
    assert_eq!(e.reference.as_deref(), Some(TRACKING));
    // Reprint from the journal: marked as such on paper.
    journal.reprint(&mut pr, id, false).unwrap().unwrap();
    assert_eq!(journal.get(id).unwrap().unwrap().prints, 2);
    let (_, text) = latest(emu, "journal", 2);
    assert!(text.contains("REPRINT"), "{text}");
    assert_eq!(journal.session("s-1").unwrap().len(), 1);
    assert_eq!(journal.find_reference(TRACKING).unwrap().unwrap().id, id);
    // The e-receipt: the verification URL when there is a document, else the text.
    let er = e_receipt(&e.layout).unwrap();
    assert_eq!(er.payload, verify_url());
    if let Some(codes) = zbar(&er.qr_png, "ereceipt") {
        assert_eq!(codes, vec![format!("QR-Code:{}", verify_url())]);
    }
    let acc = e_receipt(&layout(&accepted_job(Lang::Zh))).unwrap();
    assert!(acc.payload.contains(TRACKING) && acc.payload.contains("税务事项受理回执"));
    drop(journal);
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(w) = std::fs::read(dir.join("receipts.db-wal")) {
        bytes.extend(w);
    }
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains(&full), "full ID number stored");
    assert!(hay.contains(&format!("530102********{}", &full[14..])));
}

#[test]
fn file_printer_writes_the_job_and_confirms_nothing() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("file-printer-{}.bin", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let profile = PrinterProfile::by_id("pos-58-gbk").unwrap();
    let ep: Endpoint = format!("file://{}", path.display()).parse().unwrap();
    let mut pr = Printer::new(ep, profile.clone(), Some(font()));
    let l = layout(&ticket_job(Lang::Zh));
    assert!(matches!(pr.status(), Err(PrintError::StatusUnsupported(_))));
    let p = pr.print(&l).unwrap();
    assert_eq!(p.confirmation, Confirmation::NotAvailable);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        encode(&l, &profile, None).unwrap().bytes
    );
}
