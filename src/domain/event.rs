//! The pre-call event: what a webhook asks us to do, after the edge has parsed its wire format
//! (JSON or multipart) and before anything has been checked about the audio.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use twox_hash::XxHash3_128;

use super::caller::{CallerError, CallerMetadata};
use super::identifiers::{AgentId, ConversationId, IdError};

/// The only event type this endpoint handles.
pub const PRE_CALL_EVENT_TYPE: &str = "pre_call";

/// Why an event was refused; `Display` is the sentence the sender sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// `type` is not `pre_call`.
    #[error("type must be \"pre_call\", got {0:?}")]
    WrongType(String),
    /// `conversation_id` or `agent_id` broke the identifier rules.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A caller_metadata field broke its rules.
    #[error(transparent)]
    Caller(#[from] CallerError),
}

/// The audio as received, with the sender's claims about it. Nothing here is trusted: the use
/// case measures the real format and duration from the bytes.
#[derive(Clone, PartialEq)]
pub struct SampleUpload {
    /// The audio bytes (already base64-decoded for JSON bodies).
    pub bytes: Bytes,
    /// What the sender says the duration is, in seconds; logged when it disagrees, never used.
    pub claimed_duration_seconds: Option<f64>,
    /// What the sender says the sample rate is; logged when it disagrees, never used.
    pub claimed_sample_rate: Option<u32>,
}

impl std::fmt::Debug for SampleUpload {
    // Audio bytes are never printed: they are large and they are the caller's voice.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleUpload")
            .field("len", &self.bytes.len())
            .field("claimed_duration_seconds", &self.claimed_duration_seconds)
            .field("claimed_sample_rate", &self.claimed_sample_rate)
            .finish()
    }
}

/// A validated pre-call webhook event.
#[derive(Debug, Clone, PartialEq)]
pub struct PreCallEvent {
    /// The conversation about to start; identifies the delivery.
    pub conversation_id: ConversationId,
    /// The agent that takes the call.
    pub agent_id: AgentId,
    /// When the sender says the event happened (unix seconds), if it says.
    pub event_timestamp: Option<i64>,
    /// Who is calling.
    pub caller: CallerMetadata,
    /// A few seconds of the caller's voice, if sent.
    pub sample: Option<SampleUpload>,
}

/// The fields of an event as they come off the wire, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawPreCallEvent {
    /// `type`; must be `pre_call`.
    pub event_type: String,
    /// `conversation_id`.
    pub conversation_id: String,
    /// `agent_id`.
    pub agent_id: String,
    /// `event_timestamp`.
    pub event_timestamp: Option<i64>,
    /// `caller_metadata.name`.
    pub name: Option<String>,
    /// `caller_metadata.date_of_birth`.
    pub date_of_birth: Option<String>,
    /// `caller_metadata.phone_number`.
    pub phone_number: Option<String>,
}

/// A digest of what a delivery asks for. Two deliveries of the same conversation with equal
/// fingerprints are the same webhook sent twice; different fingerprints are a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

/// XXH3-128 of a sample, little-endian. The digest is part of fingerprints a Redis ledger keeps
/// across versions, so its bytes must never change (a test pins them); the implementation picks
/// AVX2 at run time where the CPU has it (twice the speed of the SSE2 code a portable build gets
/// otherwise: 4 against 9 µs for a 5 s WAV).
fn sample_digest(sample: &[u8]) -> [u8; 16] {
    XxHash3_128::oneshot(sample).to_le_bytes()
}

impl PreCallEvent {
    /// SHA-256 over the conversation, agent, caller details and the sample's XXH3-128 digest,
    /// each length-prefixed. Left out on purpose: the wire encoding (JSON or multipart, boundary,
    /// field order), `event_timestamp` and the sender's claims about the audio, which a sender
    /// may legitimately change when it redelivers.
    ///
    /// The sample (up to 10 MB) enters by a non-cryptographic digest: SHA-256 over it cost as
    /// much as the HMAC over the whole body (a tenth of a JSON webhook's CPU), XXH3 runs twenty
    /// times faster. A fingerprint only tells two deliveries of one conversation apart, and both
    /// are signed with the webhook secret: whoever could craft a colliding sample could as well
    /// redeliver the first body, and gets nothing from a collision but that replay.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = self.sample.as_ref().map(|s| sample_digest(&s.bytes));
        self.fingerprint_over(digest.as_ref().map(<[u8; 16]>::as_slice))
    }

    /// The fingerprint as versions before the XXH3 digest made it: the sample's bytes
    /// themselves in the SHA-256. A ledger may still hold it (written by such a version, during
    /// a rolling upgrade or within the ledger's retention after it), so a delivery whose
    /// fingerprint conflicts is compared with this one before it is refused. Costs a SHA-256
    /// over the sample: only ever computed after a conflict.
    pub fn legacy_fingerprint(&self) -> Fingerprint {
        self.fingerprint_over(self.sample.as_ref().map(|s| &s.bytes[..]))
    }

    fn fingerprint_over(&self, sample: Option<&[u8]>) -> Fingerprint {
        let mut hash = Sha256::new();
        let mut field = |bytes: Option<&[u8]>| match bytes {
            Some(bytes) => {
                hash.update([1]);
                hash.update((bytes.len() as u64).to_le_bytes());
                hash.update(bytes);
            }
            None => hash.update([0]),
        };
        field(Some(self.conversation_id.as_str().as_bytes()));
        field(Some(self.agent_id.as_str().as_bytes()));
        field(self.caller.name().map(str::as_bytes));
        field(self.caller.date_of_birth().map(str::as_bytes));
        field(self.caller.phone_number().map(str::as_bytes));
        field(sample);
        Fingerprint(hash.finalize().into())
    }

    /// Validates the wire fields and attaches the (unchecked) sample.
    ///
    /// # Errors
    /// An [`EventError`] naming the first field that broke its rule.
    pub fn parse(raw: RawPreCallEvent, sample: Option<SampleUpload>) -> Result<Self, EventError> {
        if raw.event_type != PRE_CALL_EVENT_TYPE {
            return Err(EventError::WrongType(
                raw.event_type.chars().take(40).collect(),
            ));
        }
        Ok(Self {
            conversation_id: ConversationId::parse(raw.conversation_id)?,
            agent_id: AgentId::parse(raw.agent_id)?,
            event_timestamp: raw.event_timestamp,
            caller: CallerMetadata::parse(raw.name, raw.date_of_birth, raw.phone_number)?,
            sample,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawPreCallEvent {
        RawPreCallEvent {
            event_type: "pre_call".into(),
            conversation_id: "conv_1".into(),
            agent_id: "agent_1".into(),
            name: Some("Ivan".into()),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_a_pre_call_event() {
        let e = PreCallEvent::parse(raw(), None).unwrap();
        assert_eq!(e.conversation_id.as_str(), "conv_1");
        assert_eq!(e.caller.name(), Some("Ivan"));
    }

    #[test]
    fn rejects_another_event_type() {
        let err = PreCallEvent::parse(
            RawPreCallEvent {
                event_type: "post_call".into(),
                ..raw()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type must be \"pre_call\", got \"post_call\""
        );
    }

    #[test]
    fn rejects_bad_identifiers_naming_the_field() {
        let err = PreCallEvent::parse(
            RawPreCallEvent {
                agent_id: "../x".into(),
                ..raw()
            },
            None,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("agent_id"));
        let err = PreCallEvent::parse(
            RawPreCallEvent {
                conversation_id: String::new(),
                ..raw()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "conversation_id must not be empty");
    }

    #[test]
    fn identical_events_share_a_fingerprint_whatever_their_timestamp_or_claims() {
        let sample = |claim| SampleUpload {
            bytes: Bytes::from_static(b"RIFF...."),
            claimed_duration_seconds: claim,
            claimed_sample_rate: None,
        };
        let a = PreCallEvent::parse(raw(), Some(sample(Some(5.0)))).unwrap();
        let b = PreCallEvent::parse(
            RawPreCallEvent {
                event_timestamp: Some(99),
                ..raw()
            },
            Some(sample(None)),
        )
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn any_change_of_content_changes_the_fingerprint() {
        let base = PreCallEvent::parse(raw(), None).unwrap().fingerprint();
        let variants = [
            RawPreCallEvent {
                agent_id: "agent_2".into(),
                ..raw()
            },
            RawPreCallEvent {
                name: Some("Ivo".into()),
                ..raw()
            },
            RawPreCallEvent {
                name: None,
                ..raw()
            },
            RawPreCallEvent {
                date_of_birth: Some("1.1.2000".into()),
                ..raw()
            },
            RawPreCallEvent {
                phone_number: Some("+31".into()),
                ..raw()
            },
        ];
        for variant in variants {
            assert_ne!(
                PreCallEvent::parse(variant, None).unwrap().fingerprint(),
                base
            );
        }
        let with_sample = PreCallEvent::parse(
            raw(),
            Some(SampleUpload {
                bytes: Bytes::new(),
                claimed_duration_seconds: None,
                claimed_sample_rate: None,
            }),
        )
        .unwrap();
        assert_ne!(
            with_sample.fingerprint(),
            base,
            "an empty sample is not no sample"
        );
    }

    #[test]
    fn the_sample_digest_is_xxh3_128_as_ledgers_hold_it() {
        // Computed with the xxhash-rust crate that made these digests before: short input,
        // mid-size, and one long enough for the vectorised stripes.
        for (len, expected) in [
            (100, 0x2701_f07d_2c26_abff_94b1_9615_20a1_1588_u128),
            (1000, 0x17a0_f7b2_ab90_9d68_404e_1417_800e_b486),
            (200_000, 0x19d6_8450_29fe_2069_4166_4023_e97f_a2e1),
        ] {
            let sample: Vec<u8> = (0..len).map(|i: u32| (i * 31 % 251) as u8).collect();
            assert_eq!(
                sample_digest(&sample),
                expected.to_le_bytes(),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn one_byte_of_the_sample_changes_the_fingerprint() {
        let with = |bytes: &'static [u8]| {
            PreCallEvent::parse(
                raw(),
                Some(SampleUpload {
                    bytes: Bytes::from_static(bytes),
                    claimed_duration_seconds: None,
                    claimed_sample_rate: None,
                }),
            )
            .unwrap()
            .fingerprint()
        };
        assert_eq!(with(b"RIFF0000WAVE"), with(b"RIFF0000WAVE"));
        assert_ne!(with(b"RIFF0000WAVE"), with(b"RIFF0001WAVE"));
        assert_ne!(with(b"RIFF0000WAVE"), with(b"RIFF0000WAVE\0"));
    }

    #[test]
    fn debug_output_of_a_sample_holds_no_audio() {
        let s = SampleUpload {
            bytes: Bytes::from_static(b"RIFFsecretvoice"),
            claimed_duration_seconds: Some(5.0),
            claimed_sample_rate: None,
        };
        assert!(!format!("{s:?}").contains("secretvoice"));
    }
}
