//! Instant Voice Cloning (`POST /v1/voices/add`) and voice deletion (`DELETE /v1/voices/{id}`).

use std::time::Instant;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::client::{CallError, ElevenLabsClient};
use crate::domain::VoiceId;
use crate::ports::{CloneRequest, ClonedVoice, UpstreamError, VoiceCloner};

/// `AddVoiceIVCResponseModel`: `voice_id` and `requires_verification`, nothing else.
#[derive(Deserialize)]
struct AddVoiceResponse {
    voice_id: String,
    #[serde(default)]
    requires_verification: bool,
}

/// The `labels` we put on every voice we create, so they can be found and cleaned up later.
fn labels(request: &CloneRequest<'_>) -> String {
    serde_json::json!({
        "source": "precall-webhook",
        "conversation_id": request.conversation_id.as_str(),
        "agent_id": request.agent_id.as_str(),
    })
    .to_string()
}

fn form(request: &CloneRequest<'_>, labels: &str) -> Result<Form, reqwest::Error> {
    let sample = request.sample;
    let bytes = sample.bytes().clone();
    let length = bytes.len() as u64;
    // One file part, named and typed after the format measured from the bytes.
    let file = Part::stream_with_length(reqwest::Body::from(bytes), length)
        .file_name(format!("sample.{}", sample.format().extension()))
        .mime_str(sample.format().mime_type())?;
    Ok(Form::new()
        .text("name", request.name.as_str().to_owned())
        .part("files", file)
        .text(
            "description",
            format!(
                "Pre-call voice clone for conversation {} (agent {})",
                request.conversation_id, request.agent_id
            ),
        )
        .text("labels", labels.to_owned())
        .text("remove_background_noise", "false"))
}

#[async_trait]
impl VoiceCloner for ElevenLabsClient {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        let url = self.url(&["v1", "voices", "add"]);
        let labels = labels(&request);
        // The part's MIME types are constants, so building the form cannot fail in practice;
        // check once up front rather than inside every attempt.
        form(&request, &labels).map_err(|e| UpstreamError::InvalidRequest(e.to_string()))?;
        let body = self
            .call("clone voice", request.deadline, || {
                let builder = self.http().post(url.clone());
                match form(&request, &labels) {
                    Ok(form) => builder.multipart(form),
                    Err(_) => builder,
                }
            })
            .await
            .map_err(CallError::into_upstream)?;
        let response: AddVoiceResponse = serde_json::from_slice(&body).map_err(|e| {
            UpstreamError::Unavailable(format!(
                "clone voice: unexpected answer from ElevenLabs: {e}"
            ))
        })?;
        let voice_id = VoiceId::parse(response.voice_id).map_err(|e| {
            UpstreamError::Unavailable(format!(
                "clone voice: unexpected voice id from ElevenLabs: {e}"
            ))
        })?;
        tracing::info!(%voice_id, "ElevenLabs created the voice");
        Ok(ClonedVoice {
            voice_id,
            requires_verification: response.requires_verification,
        })
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let url = self.url(&["v1", "voices", voice_id.as_str()]);
        match self
            .call("delete voice", deadline, || self.http().delete(url.clone()))
            .await
        {
            Ok(_) => Ok(()),
            // Already gone: what a rollback wanted.
            Err(CallError::Refused {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(()),
            Err(error) => Err(error.into_upstream()),
        }
    }
}
