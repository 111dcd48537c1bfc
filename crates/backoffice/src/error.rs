//! Client errors, and what a taxpayer is told about each.

use backoffice_api::ApiError;
use kiosk_core::{Lang, Localized};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("the back office is unavailable")]
    Unavailable,
    #[error("the back office did not answer in time")]
    Timeout,
    #[error("network: {0}")]
    Network(String),
    /// The back office understood and refused (4xx).
    #[error("refused: {}", .0.message_en)]
    Refused(ApiError),
    #[error("not authorised: {}", .0.message_en)]
    Auth(ApiError),
    #[error("back office fault: {}", .0.message_en)]
    Server(ApiError),
    #[error("unexpected answer: {0}")]
    Protocol(String),
    #[error("client setup: {0}")]
    Setup(String),
    #[error("outbox: {0}")]
    Outbox(String),
}

impl ClientError {
    /// Worth trying again later: the request may not have arrived, or its reply was lost.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Unavailable
                | ClientError::Timeout
                | ClientError::Network(_)
                | ClientError::Server(_)
        )
    }

    /// What the kiosk says to the taxpayer: the back office's own sentence when it gave
    /// one, otherwise a plain one; never a stack of technical words.
    pub fn for_taxpayer(&self) -> Localized {
        match self {
            ClientError::Refused(e) | ClientError::Auth(e) => {
                Localized::new(e.message_zh.clone(), e.message_en.clone())
            }
            ClientError::Unavailable
            | ClientError::Timeout
            | ClientError::Network(_)
            | ClientError::Server(_) => Localized::new(
                "后台系统暂时无法连接，您的业务已保存，将自动提交",
                "The back office cannot be reached right now; your request is saved and will be sent automatically",
            ),
            ClientError::Protocol(_) | ClientError::Setup(_) | ClientError::Outbox(_) => {
                Localized::new(
                    "终端出现故障，请联系工作人员",
                    "The kiosk has a fault; please ask a member of staff",
                )
            }
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        self.for_taxpayer().get(lang).to_string()
    }
}
