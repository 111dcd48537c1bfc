//! The practice sandbox (模拟办税): answers the kiosk's requests locally, the way the back
//! office and the hall would, without ever reaching either. Practice sessions and, until
//! the reference back office is wired in, the terminal demo use it. It computes what it
//! answers from the same form rules the kiosk uses; nothing is canned.

use kiosk_core::config::{Bundle, FieldKind, Mode, Payment};
use kiosk_core::form;
use kiosk_core::session::{Event, Outbound, Request, SubmitResult, Ticket, TicketCategory};
use kiosk_core::{Amount, Localized};

#[derive(Default)]
pub struct Sandbox {
    seq: u32,
    tickets: u32,
}

impl Sandbox {
    pub fn answer(&mut self, b: &Bundle, o: &Outbound) -> Option<Event> {
        self.seq += 1;
        let n = self.seq;
        Some(match &o.request {
            Request::SendSmsCode { .. } => Event::SmsSent(Ok("138****0000".into())),
            // The sandbox cannot check a face or a code against the bureau's records; in
            // practice every verification that reached it is accepted.
            Request::VerifyIdentity { .. } => Event::IdentityResult(Ok(())),
            Request::Submit {
                business, values, ..
            } => {
                let x = b.business(business)?;
                let f = b.form_of(x);
                // Recompute rather than trust the request, as the back office will.
                let computed = form::compute(f, values);
                let due = if x.payment == Payment::None {
                    Amount::ZERO
                } else {
                    // By the bundle's convention the last computed field is the amount due.
                    f.fields()
                        .filter(|fd| matches!(fd.kind, FieldKind::Computed(_)))
                        .filter_map(|fd| computed.get(&fd.id))
                        .last()
                        .copied()
                        .unwrap_or(Amount::ZERO)
                };
                let tracking = format!("SANDBOX-{business}-{n:04}");
                Event::Submitted(match x.mode {
                    Mode::BackOffice => SubmitResult::Accepted { tracking, due },
                    _ => SubmitResult::Done {
                        document_no: format!("PRACTICE-{n:06}"),
                        verify_code: format!("{:04X}", n * 2654 % 65_536),
                        tracking,
                        due,
                    },
                })
            }
            Request::Pay { amount, .. } => {
                if *amount > Amount::from_fen(100_000_000) {
                    Event::Paid(Err(Localized::new(
                        "练习账户余额不足",
                        "The practice account has insufficient funds",
                    )))
                } else {
                    Event::Paid(Ok(format!("PRACTICE-PAY-{n:06}")))
                }
            }
            Request::Ticket {
                category,
                appointment,
                ..
            } => {
                self.tickets += 1;
                let prefix = match category {
                    TicketCategory::Individual => "A",
                    TicketCategory::Business => "B",
                    TicketCategory::Priority => "V",
                };
                Event::TicketIssued(Ok(Ticket {
                    number: format!("{prefix}{:03}", self.tickets),
                    ahead: self.tickets.saturating_sub(1),
                    wait_minutes: 6 * self.tickets.saturating_sub(1),
                    window: "1".into(),
                    appointment: appointment.then(|| "练习预约 practice booking".to_string()),
                }))
            }
        })
    }
}
