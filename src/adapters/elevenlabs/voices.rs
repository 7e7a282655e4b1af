//! Instant Voice Cloning (`POST /v1/voices/add`) and voice deletion (`DELETE /v1/voices/{id}`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::client::{CallError, ElevenLabsClient, Replay};
use crate::domain::{ConversationId, VoiceId, VoiceName};
use crate::ports::{CloneRequest, ClonedVoice, FoundVoice, UpstreamError, VoiceCloner};

/// The `source` label on every voice this service creates.
const SOURCE_LABEL: &str = "precall-webhook";

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
        "source": SOURCE_LABEL,
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
    #[serde(default)]
    created_at_unix: Option<i64>,
}

/// A page of `GET /v2/voices`.
#[derive(Deserialize)]
struct VoicePage {
    voices: Vec<ListedVoice>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Most pages read in one look-up; a search by conversation id matches a handful of voices, so
/// this only bounds a platform that keeps saying `has_more`.
const MAX_PAGES: usize = 50;

impl ElevenLabsClient {
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
                Replay::Once,
                request.deadline,
                request.min_attempt,
                || {
                    let builder = self.http().post(url.clone());
                    match form(request, labels) {
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

    /// One page of our cloned voices matching `search`.
    async fn voice_page(
        &self,
        search: &str,
        page_token: Option<&str>,
        deadline: Instant,
    ) -> Result<VoicePage, UpstreamError> {
        let mut url = self.url(&["v2", "voices"]);
        url.query_pairs_mut()
            .append_pair("search", search)
            .append_pair("category", "cloned")
            .append_pair("voice_type", "personal")
            .append_pair("page_size", "100");
        if let Some(token) = page_token {
            url.query_pairs_mut().append_pair("next_page_token", token);
        }
        let body = self
            .call(
                "list voices",
                Replay::Safe,
                deadline,
                Duration::ZERO,
                || self.http().get(url.clone()),
            )
            .await
            .map_err(CallError::into_upstream)?;
        serde_json::from_slice(&body)
            .map_err(|e| UpstreamError::Unavailable(format!("list voices: unexpected answer: {e}")))
    }
}

#[async_trait]
impl VoiceCloner for ElevenLabsClient {
    /// `POST /v1/voices/add` creates a voice each time it is processed, so it is sent again
    /// only when ElevenLabs certainly did not process it (429, no connection); anything else
    /// comes back `Uncertain` for the use case to look before cloning again.
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        let labels = labels(&request);
        // The part's MIME types are constants, so building the form cannot fail in practice;
        // check once up front rather than inside every attempt.
        form(&request, &labels).map_err(|e| UpstreamError::InvalidRequest(e.to_string()))?;
        self.add_voice(&request, &labels)
            .await
            .map_err(CallError::into_upstream)
    }

    /// `GET /v2/voices?search=<conversation id>` (the id is in our description and labels),
    /// every page, keeping only voices whose labels say they are ours and this conversation's.
    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        deadline: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .voice_page(conversation_id.as_str(), token.as_deref(), deadline)
                .await?;
            found.extend(page.voices.into_iter().filter(|v| {
                v.labels.get("source").map(String::as_str) == Some(SOURCE_LABEL)
                    && v.labels.get("conversation_id").map(String::as_str)
                        == Some(conversation_id.as_str())
            }));
            token = page.next_page_token.filter(|_| page.has_more);
            if token.is_none() {
                break;
            }
        }
        found.sort_by_key(|v| v.created_at_unix.unwrap_or(i64::MAX));
        Ok(found
            .into_iter()
            .filter_map(|v| {
                Some(FoundVoice {
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
