//! Instant Voice Cloning (`POST /v1/voices/add`), finding and listing our voices
//! (`GET /v2/voices`, see `voice_list`) and voice deletion (`DELETE /v1/voices/{id}`).

use std::cell::Cell;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};

use super::client::{CallError, ElevenLabsClient, Replay};
use super::voice_list::SOURCE_LABEL;
use crate::domain::{AgentId, ConversationId, VoiceId, VoiceName};
use crate::ports::{
    CloneRequest, ClonedVoice, FoundVoice, ListedVoice, UpstreamError, VoiceCloner,
};

/// `AddVoiceIVCResponseModel`: `voice_id` and `requires_verification`, nothing else.
#[derive(Deserialize)]
struct AddVoiceResponse {
    voice_id: String,
    #[serde(default)]
    requires_verification: bool,
}

/// The `labels` we put on every voice we create, so they can be found and cleaned up later,
/// by this deployment (`owner`) and no other.
fn labels(request: &CloneRequest<'_>, owner: &str) -> String {
    let labels = Labels {
        agent_id: request.agent_id.as_str(),
        conversation_id: request.conversation_id.as_str(),
        owner,
        source: SOURCE_LABEL,
    };
    // Borrowed strings into a String: serializing cannot fail.
    serde_json::to_string(&labels).unwrap_or_default()
}

/// The wire shape of [`labels`], borrowed (no `serde_json::Value` tree per clone); keys in the
/// order `serde_json` sorts them, as they were written before.
#[derive(Serialize)]
struct Labels<'a> {
    agent_id: &'a str,
    conversation_id: &'a str,
    owner: &'a str,
    source: &'a str,
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

impl ElevenLabsClient {
    /// Sends the clone once; `Uncertain` when ElevenLabs may have created the voice anyway.
    /// `first` is the first attempt's form; a retry (only after a 429 or no connection) builds
    /// its own, since a sent body is consumed.
    async fn add_voice(
        &self,
        request: &CloneRequest<'_>,
        labels: &str,
        first: Form,
    ) -> Result<ClonedVoice, CallError> {
        let first = Cell::new(Some(first));
        let body = self
            .call(
                "clone voice",
                Replay::Once,
                request.deadline,
                request.min_attempt,
                move || {
                    let builder = self.http().post(self.add_voice_url().clone());
                    match first.take().map_or_else(|| form(request, labels), Ok) {
                        Ok(form) => builder.multipart(form),
                        Err(_) => builder,
                    }
                },
            )
            .await?;
        // A 2xx means ElevenLabs made the voice: an answer we cannot read leaves us uncertain,
        // not failed, so the voice is looked for instead of cloned again.
        let garbled = |why: String| CallError::Uncertain {
            reason: format!("clone voice: unexpected answer from ElevenLabs: {why}"),
            retry_after: None,
        };
        let response: AddVoiceResponse =
            serde_json::from_slice(&body).map_err(|e| garbled(e.to_string()))?;
        let voice_id = VoiceId::parse(response.voice_id).map_err(|e| garbled(e.to_string()))?;
        Ok(ClonedVoice {
            voice_id,
            requires_verification: response.requires_verification,
        })
    }
}

#[async_trait]
impl VoiceCloner for ElevenLabsClient {
    /// `POST /v1/voices/add` creates a voice each time it is processed, so it is sent again
    /// only when ElevenLabs certainly did not process it (429, no connection); anything else
    /// comes back `Uncertain` for the use case to look before cloning again.
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        let labels = labels(&request, self.owner());
        // The part's MIME types are constants, so building the form cannot fail in practice;
        // it is built before anything is sent, and refused whole if it ever does.
        let first =
            form(&request, &labels).map_err(|e| UpstreamError::InvalidRequest(e.to_string()))?;
        self.add_voice(&request, &labels, first)
            .await
            .map_err(CallError::into_upstream)
    }

    /// `GET /v2/voices?search=<conversation id>` (the id is in our description and labels),
    /// every page, keeping only our voices whose `conversation_id` label is this one.
    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        deadline: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        let ours = self
            .our_voices(Some(conversation_id.as_str()), deadline)
            .await?;
        Ok(ours
            .into_iter()
            .filter(|v| v.label("conversation_id") == Some(conversation_id.as_str()))
            .filter_map(|v| {
                Some(FoundVoice {
                    voice_id: VoiceId::parse(v.voice_id).ok()?,
                    name: VoiceName::on_platform(v.name),
                })
            })
            .collect())
    }

    /// `GET /v2/voices` without `search` (its index may lag behind new voices), every page,
    /// keeping our voices; labels that do not parse read as absent.
    async fn list_voices(&self, deadline: Instant) -> Result<Vec<ListedVoice>, UpstreamError> {
        let ours = self.our_voices(None, deadline).await?;
        Ok(ours
            .into_iter()
            .filter_map(|v| {
                Some(ListedVoice {
                    conversation_id: v
                        .label("conversation_id")
                        .and_then(|id| ConversationId::parse(id).ok()),
                    agent_id: v.label("agent_id").and_then(|id| AgentId::parse(id).ok()),
                    created_at_unix: v.created_at_unix,
                    voice_id: VoiceId::parse(v.voice_id).ok()?,
                    name: VoiceName::on_platform(v.name),
                })
            })
            .collect())
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let url = self.url(&["v1", "voices", voice_id.as_str()]);
        match self
            .call(
                "delete voice",
                Replay::Safe,
                deadline,
                Duration::ZERO,
                || self.http().delete(url.clone()),
            )
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
