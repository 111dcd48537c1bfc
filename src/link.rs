//! The kiosk's link to the back office: it executes the core's outbound requests with the
//! signed client and the durable outbox, and turns the answers into events. A submission
//! or payment goes through the outbox, so if the back office cannot be reached the
//! taxpayer is told it was received and the outbox delivers it later.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use backoffice::{Answer, Client, ClientConfig, ClientError, Item, Outbox, Prov, taxpayer_key};
use backoffice_api as api;
use kiosk_core::Localized;
use kiosk_core::config::Bundle;
use kiosk_core::session::{
    Event, Outbound, PaymentMethod, Provenance, Request, SessionId, SubmitResult,
    VerificationMethod,
};

pub struct Link {
    rt: tokio::runtime::Runtime,
    client: Arc<Client>,
    outbox: Arc<Outbox>,
    /// The taxpayer token per session; dropped with the session's wipe.
    tokens: HashMap<SessionId, (String, String)>,
    /// The simulated bank's endpoint and key, for QR payments in the demo.
    bank: Option<(String, String)>,
    stop: tokio::sync::watch::Sender<bool>,
}

fn prov(p: &Provenance) -> Prov {
    Prov {
        config_version: p.config_version.clone(),
        session_id: p.session_id.0.clone(),
        verification: p.verification.code().to_string(),
    }
}

impl Link {
    /// Connects to the back office at `base` (`…/v1`) as this kiosk, with its key from a
    /// keys file, and starts the outbox's background delivery.
    pub fn open(
        base: &str,
        kiosk_id: &str,
        keys_file: &Path,
        outbox_file: &Path,
        timeout_secs: u32,
    ) -> Result<Link> {
        let key = kiosk_key(keys_file, kiosk_id)?;
        let mut cfg = ClientConfig::new(base, kiosk_id, key);
        cfg.timeout = Duration::from_secs(timeout_secs.max(1) as u64);
        let client = Arc::new(Client::new(cfg)?);
        if let Some(dir) = outbox_file.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        let outbox = Arc::new(Outbox::open(outbox_file)?);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let (stop, rx) = tokio::sync::watch::channel(false);
        rt.spawn(outbox.clone().run(client.clone(), rx));
        Ok(Link {
            rt,
            client,
            outbox,
            tokens: HashMap::new(),
            bank: None,
            stop,
        })
    }

    /// Lets the demo play the taxpayer's bank app for QR payments.
    pub fn with_simulated_bank(mut self, bank_base: &str, bank_key: &str) -> Link {
        self.bank = Some((
            bank_base.trim_end_matches('/').to_string(),
            bank_key.to_string(),
        ));
        self
    }

    pub fn reachable(&self) -> bool {
        let base = self.client.config().base.clone();
        let health = base.trim_end_matches("/v1").to_string() + "/health";
        self.rt.block_on(async {
            reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
        })
    }

    pub fn outbox_pending(&self) -> usize {
        self.outbox.pending().unwrap_or(0)
    }

    pub fn forget_all(&mut self) {
        self.tokens.clear();
    }

    /// Executes one request and gives the event that answers it.
    pub fn execute(&mut self, o: &Outbound, _bundle: &Bundle) -> Option<Event> {
        let p = prov(&o.provenance);
        let sid = o.provenance.session_id.clone();
        let client = self.client.clone();
        match &o.request {
            Request::SendSmsCode { id_number } => {
                let r = self.rt.block_on(client.send_sms(&p, id_number.expose()));
                Some(Event::SmsSent(
                    r.map(|s| s.phone_masked).map_err(|e| e.for_taxpayer()),
                ))
            }
            Request::VerifyIdentity {
                name,
                id_number,
                method,
                face_score_milli,
                sms_code,
            } => {
                let method = match method {
                    VerificationMethod::Face => api::VerificationMethod::Face,
                    VerificationMethod::Sms => api::VerificationMethod::Sms,
                    VerificationMethod::StaffAssist => api::VerificationMethod::Staff,
                    VerificationMethod::Card | VerificationMethod::None => {
                        api::VerificationMethod::Card
                    }
                };
                let req = api::VerifyRequest {
                    id_number: id_number.expose().into(),
                    name: name.clone(),
                    method,
                    face_score_milli: *face_score_milli,
                    sms_code: sms_code.clone(),
                };
                let r = self.rt.block_on(client.verify(&p, &req));
                match r {
                    Ok(v) => {
                        self.tokens
                            .insert(sid, (v.token, taxpayer_key(id_number.expose())));
                        Some(Event::IdentityResult(Ok(())))
                    }
                    Err(e) => Some(Event::IdentityResult(Err(e.for_taxpayer()))),
                }
            }
            Request::Submit {
                business,
                values,
                computed,
                idempotency_key,
                ..
            } => {
                let Some((token, taxpayer)) = self.tokens.get(&sid).cloned() else {
                    return Some(Event::Submitted(refused(Localized::new(
                        "请先完成身份核验",
                        "Please verify your identity first",
                    ))));
                };
                let req = api::ApplicationRequest {
                    business: business.clone(),
                    values: values.iter().map(|(k, v)| (k.clone(), v.wire())).collect(),
                    computed: computed.iter().map(|(k, v)| (k.clone(), v.fen())).collect(),
                };
                Some(Event::Submitted(self.through_outbox(
                    idempotency_key,
                    &taxpayer,
                    &p,
                    &token,
                    Item::Submit(req),
                    |a| match a {
                        Answer::Application(a) => application_result(a),
                        Answer::Payment(_) => {
                            refused(Localized::new("后台应答不符", "Unexpected answer"))
                        }
                    },
                )))
            }
            Request::Pay {
                tracking,
                amount,
                method,
                idempotency_key,
                ..
            } => {
                let Some((token, taxpayer)) = self.tokens.get(&sid).cloned() else {
                    return Some(Event::Paid(Err(Localized::new(
                        "请先完成身份核验",
                        "Please verify your identity first",
                    ))));
                };
                let (method, pos_auth) = match method {
                    PaymentMethod::TripartiteDebit => (api::PaymentMethod::TripartiteDebit, None),
                    PaymentMethod::Qr => (api::PaymentMethod::Qr, None),
                    PaymentMethod::BankCard => (
                        api::PaymentMethod::BankCard,
                        Some(pos_authorise(idempotency_key)),
                    ),
                };
                let req = api::PaymentRequest {
                    target: tracking.clone(),
                    amount_fen: amount.fen(),
                    method,
                    pos_auth,
                };
                self.outbox
                    .enqueue(idempotency_key, &taxpayer, &p, &token, &Item::Pay(req))
                    .ok()?;
                let r = self
                    .rt
                    .block_on(self.outbox.deliver(&client, idempotency_key));
                Some(Event::Paid(match r {
                    Ok(Some(Answer::Payment(pay))) => self.settle_payment(&p, pay),
                    Ok(Some(_)) => Err(Localized::new("后台应答不符", "Unexpected answer")),
                    Ok(None) => Err(Localized::new(
                        "暂时无法连接银行，请稍后在本机或电子税务局缴款",
                        "The bank cannot be reached; pay later here or online",
                    )),
                    Err(e) => Err(e.for_taxpayer()),
                }))
            }
            // Tickets come from the hall console (`hall_port`), or from the sandbox when
            // the kiosk has no hall; the caller routes them there.
            Request::Ticket { .. } => None,
        }
    }

    fn through_outbox(
        &self,
        key: &str,
        taxpayer: &str,
        p: &Prov,
        token: &str,
        item: Item,
        map: impl Fn(Answer) -> SubmitResult,
    ) -> SubmitResult {
        if let Err(e) = self.outbox.enqueue(key, taxpayer, p, token, &item) {
            return refused(e.for_taxpayer());
        }
        match self.rt.block_on(self.outbox.deliver(&self.client, key)) {
            Ok(Some(a)) => map(a),
            // Not reached: the outbox holds it and keeps trying. Received, will be processed.
            Ok(None) => SubmitResult::Queued {
                tracking: queued_tracking(key),
            },
            Err(ClientError::Refused(e)) | Err(ClientError::Auth(e)) => SubmitResult::Refused {
                reason: Localized::new(e.message_zh, e.message_en),
                next_step: Localized::new(
                    "如有疑问请点击“呼叫工作人员”或到一窗综合受理区咨询",
                    "If in doubt, call staff or ask at the one-window zone",
                ),
            },
            Err(e) => refused(e.for_taxpayer()),
        }
    }

    /// A QR payment is pending until the bank confirms. In the demo the kiosk plays the
    /// taxpayer's bank app through the simulated bank; then it polls the payment.
    fn settle_payment(&self, p: &Prov, pay: api::Payment) -> Result<String, Localized> {
        match pay.status {
            api::PaymentStatus::Paid => Ok(pay.voucher.unwrap_or(pay.id)),
            api::PaymentStatus::Declined => Err(Localized::new(
                pay.reason_zh.unwrap_or_default(),
                pay.reason_en.unwrap_or_default(),
            )),
            api::PaymentStatus::Pending => {
                if let Some((bank, key)) = &self.bank {
                    let url = format!("{bank}/bank/qr/{}/confirm", pay.id);
                    let _ = self.rt.block_on(
                        reqwest::Client::new()
                            .post(&url)
                            .header("x-bank-key", key)
                            .send(),
                    );
                }
                for _ in 0..30 {
                    if let Ok(now) = self.rt.block_on(self.client.payment(p, &pay.id))
                        && now.status == api::PaymentStatus::Paid
                    {
                        return Ok(now.voucher.unwrap_or(now.id));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(Localized::new(
                    "未收到银行到账确认，请稍后查询",
                    "No confirmation from the bank yet; check again later",
                ))
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn application_result(a: api::Application) -> SubmitResult {
    let due = kiosk_core::Amount::from_fen(a.due_fen);
    match a.status {
        api::ApplicationStatus::Done => {
            let (document_no, verify_code) = a
                .document
                .map(|d| (d.number, d.verify_code))
                .unwrap_or_default();
            SubmitResult::Done {
                tracking: a.tracking,
                document_no,
                verify_code,
                due,
            }
        }
        api::ApplicationStatus::Rejected => SubmitResult::Refused {
            reason: Localized::new(
                a.reason_zh.unwrap_or_default(),
                a.reason_en.unwrap_or_default(),
            ),
            next_step: Localized::new(
                "请到一窗综合受理区咨询",
                "Please ask at the one-window zone",
            ),
        },
        _ => SubmitResult::Accepted {
            tracking: a.tracking,
            due,
        },
    }
}

fn refused(reason: Localized) -> SubmitResult {
    SubmitResult::Refused {
        reason,
        next_step: Localized::new("请点击“呼叫工作人员”", "Please call a member of staff"),
    }
}

/// The tracking number shown while the outbox still holds a submission: derived from its
/// idempotency key, so the back office's answer can be matched to it later.
fn queued_tracking(key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    format!("Q{:012X}", h.finish() & 0xFFFF_FFFF_FFFF)
}

/// The POS device port's simulated adapter: it authorises the card payment and returns
/// the authorisation code the back office records.
fn pos_authorise(key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    format!("P{:07}", h.finish() % 10_000_000)
}

/// This kiosk's signing key from a keys file (`[kiosks] "ID" = "hex"`). The back office,
/// the hall's ticket endpoint and the hall's broker password all derive from this one key.
pub fn kiosk_key(keys_file: &Path, kiosk_id: &str) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(keys_file)
        .with_context(|| format!("cannot read the kiosk key file {}", keys_file.display()))?;
    let keys = backoffice_server_keys(&text)?;
    keys.get(kiosk_id)
        .cloned()
        .with_context(|| format!("{} has no key for kiosk {kiosk_id}", keys_file.display()))
}

fn backoffice_server_keys(text: &str) -> Result<HashMap<String, Vec<u8>>> {
    #[derive(serde::Deserialize)]
    struct Keys {
        kiosks: HashMap<String, String>,
    }
    let k: Keys = toml::from_str(text)?;
    k.kiosks
        .into_iter()
        .map(|(id, hex_key)| {
            Ok((
                id.clone(),
                hex::decode(hex_key.trim())
                    .with_context(|| format!("the key of kiosk {id} is not hex"))?,
            ))
        })
        .collect()
}
