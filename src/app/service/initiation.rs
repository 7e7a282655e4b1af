//! The conversation-initiation webhook's order of work: authenticate (or say the endpoint is
//! off), then answer from the registry — never an error once authenticated, because a non-200
//! can drop the ringing call.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::domain::{AnswerInitiation, BearerToken, InitiationAnswer, InitiationRequest};

/// Longest the answer waits for the registry: a store that is away must not hold up a ringing
/// call (the neutral answer lets it go on unpersonalised).
pub const STORE_BUDGET: Duration = Duration::from_secs(1);

/// Why a request gets no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InitiationRefusal {
    /// `CONVERSATION_INITIATION_TOKEN` is not set: the endpoint does not exist.
    #[error(
        "The conversation-initiation webhook is off (CONVERSATION_INITIATION_TOKEN is not set)"
    )]
    Disabled,
    /// The `Authorization` header is missing or does not carry the token.
    #[error("Missing or wrong bearer token in the Authorization header")]
    Unauthorized,
}

/// The conversation-initiation webhook's application service.
pub struct InitiationService {
    /// The expected token; `None` turns the endpoint off.
    pub token: Option<BearerToken>,
    /// Answers from the registry.
    pub use_case: Arc<AnswerInitiation>,
    /// `INITIATION_DYNAMIC_VARIABLES`: sent with every answer.
    pub dynamic_variables: Arc<Map<String, Value>>,
}

impl InitiationService {
    /// Checks the `Authorization` header (constant time).
    ///
    /// # Errors
    /// [`InitiationRefusal`] when the endpoint is off or the token is not the right one.
    pub fn authorize(&self, authorization: Option<&[u8]>) -> Result<(), InitiationRefusal> {
        let token = self.token.as_ref().ok_or(InitiationRefusal::Disabled)?;
        if token.admits(authorization) {
            Ok(())
        } else {
            Err(InitiationRefusal::Unauthorized)
        }
    }

    /// The answer for this call (the neutral one when nothing in the request can be used, or
    /// when the registry does not answer within [`STORE_BUDGET`]: the phone is ringing).
    pub async fn answer(&self, request: &InitiationRequest) -> InitiationAnswer {
        tokio::time::timeout(STORE_BUDGET, self.use_case.answer(request))
            .await
            .unwrap_or_else(|_| {
                tracing::error!("the voice registry did not answer in time: neutral answer");
                InitiationAnswer::neutral()
            })
    }

    /// The dynamic-variable defaults every answer carries.
    pub fn dynamic_variables(&self) -> &Map<String, Value> {
        &self.dynamic_variables
    }
}
