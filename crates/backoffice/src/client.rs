//! The HTTP client: every call signed and carrying its provenance, timeouts per call,
//! retries with backoff and jitter for calls that are safe to repeat, and a circuit
//! breaker so a dead back office costs the taxpayer one short wait, not one per retry.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use backoffice_api::{self as api, ApiError, headers as h};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;

/// Who is calling, for the provenance headers. The core's `Provenance` maps onto this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Prov {
    pub config_version: String,
    pub session_id: String,
    /// none, card, face, sms or staff.
    pub verification: String,
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL ending in `/v1`.
    pub base: String,
    pub kiosk_id: String,
    pub key: Vec<u8>,
    pub software_version: String,
    pub timeout: Duration,
    /// Attempts for a call that may be repeated (GET, or with an idempotency key).
    pub attempts: u32,
    pub backoff_base: Duration,
    /// Consecutive failures that open the breaker, and how long it stays open.
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
}

impl ClientConfig {
    pub fn new(base: &str, kiosk_id: &str, key: Vec<u8>) -> ClientConfig {
        ClientConfig {
            base: base.trim_end_matches('/').to_string(),
            kiosk_id: kiosk_id.to_string(),
            key,
            software_version: env!("CARGO_PKG_VERSION").to_string(),
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff_base: Duration::from_millis(200),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(15),
        }
    }
}

struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

pub struct Client {
    cfg: ClientConfig,
    http: reqwest::Client,
    breaker: Mutex<Breaker>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Client {
            cfg,
            http,
            breaker: Mutex::new(Breaker {
                failures: 0,
                open_until: None,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    fn breaker_check(&self) -> Result<(), ClientError> {
        let b = self
            .breaker
            .lock()
            .map_err(|_| ClientError::Setup("breaker lock poisoned".into()))?;
        match b.open_until {
            Some(t) if Instant::now() < t => Err(ClientError::Unavailable),
            _ => Ok(()),
        }
    }

    fn breaker_record(&self, ok: bool) {
        if let Ok(mut b) = self.breaker.lock() {
            if ok {
                b.failures = 0;
                b.open_until = None;
            } else {
                b.failures += 1;
                if b.failures >= self.cfg.breaker_threshold {
                    b.open_until = Some(Instant::now() + self.cfg.breaker_cooldown);
                }
            }
        }
    }

    /// One API call. Retried only when repeating it cannot do harm: a GET, or a call that
    /// carries an idempotency key (the server answers a repeat with the first result).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        prov: &Prov,
        idem: Option<&str>,
        token: Option<&str>,
    ) -> Result<T, ClientError> {
        self.breaker_check()?;
        let body_bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| ClientError::Setup(e.to_string()))?,
            None => Vec::new(),
        };
        let repeatable = method == Method::GET || idem.is_some();
        let attempts = if repeatable {
            self.cfg.attempts.max(1)
        } else {
            1
        };
        let mut last = ClientError::Unavailable;
        for attempt in 0..attempts {
            if attempt > 0 {
                // Exponential backoff with full jitter, so kiosks that failed together do
                // not retry together.
                let cap = self.cfg.backoff_base * 2u32.pow(attempt - 1);
                let wait = rand::rng().random_range(0..=cap.as_millis() as u64);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            match self
                .once(&method, path, &body_bytes, prov, idem, token)
                .await
            {
                Ok(bytes) => {
                    self.breaker_record(true);
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| ClientError::Protocol(e.to_string()));
                }
                Err(e) if e.is_transient() => {
                    self.breaker_record(false);
                    last = e;
                    if self.breaker_check().is_err() {
                        break;
                    }
                }
                Err(e) => {
                    // The back office answered: it is up, even if it said no.
                    self.breaker_record(true);
                    return Err(e);
                }
            }
        }
        Err(last)
    }

    /// One signed call with raw bytes and no retry, answering the status and body as they
    /// came: for tests that send what a well-behaved kiosk never would.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        prov: &Prov,
        idem: Option<&str>,
        token: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let req = self
            .signed(&method, path, body, prov, idem, token)?
            .body(body.to_vec());
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }

    /// A request with the provenance headers, the signature over them and the body, the
    /// idempotency key and the taxpayer token.
    fn signed(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
        prov: &Prov,
        idem: Option<&str>,
        token: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let url = format!("{}{path}", self.cfg.base);
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| ClientError::Setup(format!("bad URL {url}: {e}")))?;
        let path_and_query = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        };
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
            .to_string();
        let canonical = api::canonical(
            method.as_str(),
            &path_and_query,
            &self.cfg.kiosk_id,
            &self.cfg.software_version,
            &prov.config_version,
            &prov.session_id,
            &prov.verification,
            &ts,
            idem.unwrap_or(""),
            body,
        );
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header(h::KIOSK_ID, &self.cfg.kiosk_id)
            .header(h::SOFTWARE_VERSION, &self.cfg.software_version)
            .header(h::CONFIG_VERSION, &prov.config_version)
            .header(h::SESSION_ID, &prov.session_id)
            .header(h::VERIFICATION, &prov.verification)
            .header(h::TIMESTAMP, &ts)
            .header(h::SIGNATURE, api::sign(&self.cfg.key, &canonical));
        if let Some(k) = idem {
            req = req.header(h::IDEMPOTENCY_KEY, k);
        }
        if let Some(t) = token {
            req = req.header(h::AUTHORIZATION, format!("Bearer {t}"));
        }
        Ok(req)
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
        prov: &Prov,
        idem: Option<&str>,
        token: Option<&str>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut req = self.signed(method, path, body, prov, idem, token)?;
        if !body.is_empty() {
            req = req
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                ClientError::Timeout
            } else {
                ClientError::Network(e.to_string())
            }
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let err: ApiError = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            ApiError::new(
                "http",
                format!("后台返回 {status}"),
                format!("The back office answered {status}"),
            )
        });
        Err(match status {
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT
            | StatusCode::TOO_MANY_REQUESTS => ClientError::Unavailable,
            s if s.is_server_error() => ClientError::Server(err),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ClientError::Auth(err),
            _ => ClientError::Refused(err),
        })
    }

    // ---- the API, typed -------------------------------------------------------------------

    pub async fn send_sms(
        &self,
        prov: &Prov,
        id_number: &str,
    ) -> Result<api::SmsSent, ClientError> {
        let body = api::SmsRequest {
            id_number: id_number.into(),
        };
        self.call(Method::POST, "/identity/sms", Some(&body), prov, None, None)
            .await
    }

    pub async fn verify(
        &self,
        prov: &Prov,
        req: &api::VerifyRequest,
    ) -> Result<api::Verified, ClientError> {
        self.call(
            Method::POST,
            "/identity/verify",
            Some(req),
            prov,
            None,
            None,
        )
        .await
    }

    pub async fn records(&self, prov: &Prov, token: &str) -> Result<api::Records, ClientError> {
        self.call(
            Method::GET,
            "/taxpayer/records",
            None::<&()>,
            prov,
            None,
            Some(token),
        )
        .await
    }

    pub async fn submit(
        &self,
        prov: &Prov,
        token: &str,
        idem: &str,
        req: &api::ApplicationRequest,
    ) -> Result<api::Application, ClientError> {
        self.call(
            Method::POST,
            "/applications",
            Some(req),
            prov,
            Some(idem),
            Some(token),
        )
        .await
    }

    pub async fn application(
        &self,
        prov: &Prov,
        tracking: &str,
    ) -> Result<api::Application, ClientError> {
        self.call(
            Method::GET,
            &format!("/applications/{tracking}"),
            None::<&()>,
            prov,
            None,
            None,
        )
        .await
    }

    pub async fn pay(
        &self,
        prov: &Prov,
        token: &str,
        idem: &str,
        req: &api::PaymentRequest,
    ) -> Result<api::Payment, ClientError> {
        self.call(
            Method::POST,
            "/payments",
            Some(req),
            prov,
            Some(idem),
            Some(token),
        )
        .await
    }

    pub async fn payment(&self, prov: &Prov, id: &str) -> Result<api::Payment, ClientError> {
        self.call(
            Method::GET,
            &format!("/payments/{id}"),
            None::<&()>,
            prov,
            None,
            None,
        )
        .await
    }
}
