//! Receipts, certificates, notices and queue tickets on ESC/POS thermal printers.
//!
//! This crate owns everything between a `PrintJob` from the session core and paper:
//! - [`layout`]: the receipt template and the job's (already masked) fields become a
//!   [`Layout`], wrapped and aligned per printer with Chinese characters two columns wide;
//! - [`text`] and [`raster`]: two encodings chosen by the [`PrinterProfile`]: GB18030 text
//!   between FS & and FS . for printers with a Chinese font, or the layout drawn with the
//!   Noto CJK font and sent as GS v 0 slices; the same drawing is the PNG preview;
//! - [`printer`]: DLE EOT status before a job, GS r / GS ( H completion after it, over
//!   [`transport`]s: TCP 9100, the USB printer device file, serial, or a file;
//! - [`journal`]: every receipt produced, for reprints and the e-receipt QR code;
//! - [`check`]: configuration-time checks of templates against a printer;
//! - [`emulator`]: starting the emupos printer emulator for tests, benchmarks and the demo.
//!
//! It must never: send part of a receipt (a receipt is encoded whole before the first byte
//! goes out, and text that text mode cannot print sends the whole receipt as an image);
//! print again on its own a job that was sent but not confirmed (a held job prints when the
//! fault clears); start a job when the status cannot be read or shows a stopping fault;
//! print or store an unmasked ID number; panic on any template or job.
//!
//! Use from the shell (blocking calls; run them off the UI thread):
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use escpos_receipt::*;
//! # fn demo(bundle: &kiosk_core::config::Bundle, job: &kiosk_core::session::PrintJob) -> Result<(), Box<dyn std::error::Error>> {
//! let profile = PrinterProfile::by_id("pos-80-gbk").unwrap();
//! let font = Arc::new(CjkFont::system()?);
//! let mut printer = Printer::new("tcp://127.0.0.1:9100".parse()?, profile, Some(font));
//! let journal = Journal::open(std::path::Path::new("receipts.db"))?;
//! let layout = Layout::from_bundle(bundle, job)?;
//! let (_id, outcome) = journal.print(&mut printer, "session-1", &layout)?;
//! match outcome {
//!     Ok(p) if p.paper_near_end => { /* StaffAlert::PaperLow */ }
//!     Ok(_) => {}
//!     Err(e) if e.job_may_have_printed() => { /* say so; never reprint blindly */ }
//!     Err(_) => { let _qr = e_receipt(&layout)?; /* show the e-receipt */ }
//! }
//! # Ok(()) }
//! ```

pub mod check;
pub mod code128;
pub mod emulator;
pub mod error;
pub mod journal;
pub mod layout;
pub mod printer;
pub mod profile;
pub mod qr;
pub mod raster;
pub mod status;
pub mod text;
pub mod transport;

pub use check::{check_bundle, check_template};
pub use error::{Error, PrintError};
pub use journal::{EReceipt, Journal, e_receipt};
pub use layout::{Block, Layout};
pub use printer::{Confirmation, EncodedJob, Mode, Printed, Printer, encode};
pub use profile::{Chinese, Completion, PrinterProfile};
pub use raster::{Bitmap, CjkFont, encode_raster, render, render_png};
pub use status::{Fault, PrinterStatus};
pub use text::encode_text;
pub use transport::{Endpoint, Transport};
