//! Reading the account's cloned voices (`GET /v2/voices`) page by page, and telling ours apart
//! by their labels: what finding a conversation's voices and listing all of ours share.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::{CallError, ElevenLabsClient, Replay};
use crate::ports::UpstreamError;

/// The `source` label on every voice this service creates.
pub(super) const SOURCE_LABEL: &str = "precall-webhook";

/// Most pages read in one listing, 100 voices each. Accounts hold single digits to low
/// hundreds of custom voices, so this only bounds a platform that keeps saying `has_more`.
pub(super) const MAX_PAGES: usize = 50;

/// One voice of `GET /v2/voices`; only what identifies ours.
#[derive(Deserialize)]
pub(super) struct PlatformVoice {
    pub(super) voice_id: String,
    pub(super) name: String,
    /// A string → string map; absent or `null` reads as no labels.
    #[serde(default)]
    labels: Option<HashMap<String, String>>,
    #[serde(default)]
    pub(super) created_at_unix: Option<i64>,
}

impl PlatformVoice {
    /// The value of label `key`, if set.
    pub(super) fn label(&self, key: &str) -> Option<&str> {
        self.labels.as_ref()?.get(key).map(String::as_str)
    }

    /// Made by this service (`source`) for this deployment (`owner`). A voice without both
    /// labels is never ours, whatever else it says.
    pub(super) fn is_ours(&self, owner: &str) -> bool {
        self.label("source") == Some(SOURCE_LABEL) && self.label("owner") == Some(owner)
    }
}

/// A page of `GET /v2/voices`.
#[derive(Deserialize)]
struct VoicePage {
    voices: Vec<PlatformVoice>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl ElevenLabsClient {
    /// One page of the account's cloned voices, narrowed by `search` when given.
    async fn voice_page(
        &self,
        search: Option<&str>,
        page_token: Option<&str>,
        deadline: Instant,
    ) -> Result<VoicePage, UpstreamError> {
        let mut url = self.url(&["v2", "voices"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(search) = search {
                query.append_pair("search", search);
            }
            query
                .append_pair("category", "cloned")
                .append_pair("voice_type", "personal")
                .append_pair("page_size", "100");
            if let Some(token) = page_token {
                query.append_pair("next_page_token", token);
            }
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

    /// Our voices (see [`PlatformVoice::is_ours`]) among the cloned ones matching `search` (all
    /// of them without), from every page, oldest first (those without a creation time last).
    ///
    /// A listing that cannot be read to its end is an error, never a shorter list: the caller
    /// would take a voice it did not see for one that does not exist.
    pub(super) async fn our_voices(
        &self,
        search: Option<&str>,
        deadline: Instant,
    ) -> Result<Vec<PlatformVoice>, UpstreamError> {
        let mut ours = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.voice_page(search, token.as_deref(), deadline).await?;
            ours.extend(page.voices.into_iter().filter(|v| v.is_ours(self.owner())));
            if !page.has_more {
                ours.sort_by_key(|v| v.created_at_unix.unwrap_or(i64::MAX));
                return Ok(ours);
            }
            token = match page.next_page_token {
                Some(next) if !next.is_empty() => Some(next),
                _ => {
                    return Err(UpstreamError::Unavailable(
                        "list voices: ElevenLabs says there are more voices but gave no \
                         next_page_token"
                            .into(),
                    ));
                }
            };
        }
        Err(UpstreamError::Unavailable(format!(
            "list voices: still more voices after {MAX_PAGES} pages of 100; stopped"
        )))
    }
}
