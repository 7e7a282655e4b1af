//! Instant Voice Cloning (`POST /v1/voices/add`) and voice deletion (`DELETE /v1/voices/{id}`).

use std::collections::HashMap;
use std::time::Instant;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::client::{CallError, ElevenLabsClient, Replay};
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

/// One voice of `GET /v2/voices`; only what identifies ours.
#[derive(Deserialize)]
struct ListedVoice {
    voice_id: String,
    name: String,
    #[serde(default)]
    labels: HashMap<String, String>,
}

#[derive(Deserialize)]
struct VoiceList {
    voices: Vec<ListedVoice>,
}

impl ElevenLabsClient {
    /// After a clone whose answer was lost (a timeout, a 5xx), asks ElevenLabs whether the voice
    /// was created anyway: our voice has this exact name and this conversation's label.
    async fn find_created_voice(
        &self,
        request: &CloneRequest<'_>,
    ) -> Result<Option<VoiceId>, UpstreamError> {
        let mut url = self.url(&["v2", "voices"]);
        url.query_pairs_mut()
            .append_pair("search", request.name.as_str())
            .append_pair("voice_type", "personal")
            .append_pair("page_size", "100");
        let body = self
            .call("look up voice", Replay::Safe, request.deadline, || {
                self.http().get(url.clone())
            })
            .await
            .map_err(CallError::into_upstream)?;
        let list: VoiceList = serde_json::from_slice(&body).map_err(|e| {
            UpstreamError::Unavailable(format!("look up voice: unexpected answer: {e}"))
        })?;
        Ok(list
            .voices
            .into_iter()
            .find(|v| {
                v.name == request.name.as_str()
                    && v.labels.get("conversation_id").map(String::as_str)
                        == Some(request.conversation_id.as_str())
            })
            .and_then(|v| VoiceId::parse(v.voice_id).ok()))
    }

    /// Sends the clone once; `Uncertain` when ElevenLabs may have created the voice anyway.
    async fn add_voice(
        &self,
        request: &CloneRequest<'_>,
        labels: &str,
    ) -> Result<ClonedVoice, CallError> {
        let url = self.url(&["v1", "voices", "add"]);
        let body = self
            .call(
                "clone voice",
                Replay::IfUnprocessed,
                request.deadline,
                || {
                    let builder = self.http().post(url.clone());
                    match form(request, labels) {
                        Ok(form) => builder.multipart(form),
                        Err(_) => builder,
                    }
                },
            )
            .await?;
        let response: AddVoiceResponse = serde_json::from_slice(&body).map_err(|e| {
            CallError::Unavailable(format!(
                "clone voice: unexpected answer from ElevenLabs: {e}"
            ))
        })?;
        let voice_id = VoiceId::parse(response.voice_id).map_err(|e| {
            CallError::Unavailable(format!(
                "clone voice: unexpected voice id from ElevenLabs: {e}"
            ))
        })?;
        Ok(ClonedVoice {
            voice_id,
            requires_verification: response.requires_verification,
        })
    }
}

#[async_trait]
impl VoiceCloner for ElevenLabsClient {
    /// `POST /v1/voices/add` creates a voice each time it is processed, so a clone is never
    /// blindly sent twice: after an uncertain failure the voice list is checked first, and a
    /// voice that was created after all is adopted instead of cloned again.
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        let labels = labels(&request);
        // The part's MIME types are constants, so building the form cannot fail in practice;
        // check once up front rather than inside every attempt.
        form(&request, &labels).map_err(|e| UpstreamError::InvalidRequest(e.to_string()))?;
        let mut uncertain_retries = 0;
        loop {
            let reason = match self.add_voice(&request, &labels).await {
                Ok(cloned) => {
                    tracing::info!(voice_id = %cloned.voice_id, "ElevenLabs created the voice");
                    return Ok(cloned);
                }
                Err(CallError::Uncertain(reason)) => reason,
                Err(other) => return Err(other.into_upstream()),
            };
            match self.find_created_voice(&request).await {
                Ok(Some(voice_id)) => {
                    tracing::warn!(%voice_id, %reason, "the clone's answer was lost but ElevenLabs created the voice; using it");
                    return Ok(ClonedVoice {
                        voice_id,
                        requires_verification: false,
                    });
                }
                Ok(None) if uncertain_retries < self.max_retries() => {
                    uncertain_retries += 1;
                    tracing::warn!(%reason, retry = uncertain_retries, "clone failed and created no voice; retrying");
                }
                Ok(None) => return Err(UpstreamError::Unavailable(reason)),
                Err(lookup) => {
                    tracing::error!(
                        voice_name = %request.name, %reason, error = %lookup,
                        "clone failed and it is unknown whether ElevenLabs created the voice; \
                         check the voice library for this name"
                    );
                    return Err(UpstreamError::Unavailable(reason));
                }
            }
        }
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let url = self.url(&["v1", "voices", voice_id.as_str()]);
        match self
            .call("delete voice", Replay::Safe, deadline, || {
                self.http().delete(url.clone())
            })
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
