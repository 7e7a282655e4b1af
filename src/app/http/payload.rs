//! Turning a verified raw body into a [`PreCallEvent`]: JSON (`application/json`) or multipart
//! (`multipart/form-data` with a `metadata` JSON field and a `voice_sample` file field).
//! Only runs after the signature has been verified.

use bytes::Bytes;

use super::multipart::{self, MultipartError};
use super::sample_base64;
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

#[cfg(doc)]
use super::schema::PreCallPayload;
use crate::domain::{ConversationId, EventError, PreCallEvent, RawPreCallEvent, SampleUpload};

/// Largest `metadata` field of a multipart body.
pub const MAX_METADATA_BYTES: u64 = 64 * 1024;
/// Longest error detail we repeat back (parser messages can quote the input).
const MAX_DETAIL_CHARS: usize = 200;

/// Why a body is not a valid pre-call webhook; all answer `400 INVALID_PAYLOAD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Neither JSON nor multipart.
    #[error("Unsupported content type {0:?}: send application/json or multipart/form-data")]
    UnsupportedContentType(String),
    /// Not JSON, or JSON of the wrong shape.
    #[error("Invalid JSON body: {0}")]
    Json(String),
    /// A broken multipart body, or one with missing, duplicate or unknown parts.
    #[error("Invalid multipart body: {0}")]
    Multipart(String),
    /// `voice_sample.format` is not `base64`.
    #[error("voice_sample.format must be \"base64\"")]
    SampleEncoding,
    /// `voice_sample.data` is not base64.
    #[error("voice_sample.data is not valid base64: {0}")]
    Base64(String),
    /// A field breaks its rule.
    #[error(transparent)]
    Event(#[from] EventError),
}

/// A refused payload, with the conversation id when it was valid and known by then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadRejection {
    /// What is wrong.
    pub error: PayloadError,
    /// The conversation, if it could be read.
    pub conversation_id: Option<ConversationId>,
}

impl From<PayloadError> for PayloadRejection {
    fn from(error: PayloadError) -> Self {
        Self {
            error,
            conversation_id: None,
        }
    }
}

pub(super) fn detail(message: impl ToString) -> String {
    let message = message.to_string();
    if message.chars().count() <= MAX_DETAIL_CHARS {
        return message;
    }
    let mut short: String = message.chars().take(MAX_DETAIL_CHARS).collect();
    short.push('…');
    short
}

enum BodyKind {
    Json,
    Multipart,
}

fn kind_of(content_type: Option<&str>) -> Result<BodyKind, PayloadError> {
    let raw = content_type.unwrap_or("");
    let essence = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "multipart/form-data" => Ok(BodyKind::Multipart),
        _ => Err(PayloadError::UnsupportedContentType(detail(raw))),
    }
}

/// Parses a verified body into an event.
///
/// # Errors
/// A [`PayloadRejection`] naming what is wrong.
pub fn parse(content_type: Option<&str>, body: Bytes) -> Result<PreCallEvent, PayloadRejection> {
    match kind_of(content_type)? {
        // The body is dropped as soon as the event holds the decoded sample.
        BodyKind::Json => into_event(parse_json(&body)?, None),
        BodyKind::Multipart => {
            let (metadata, file) = read_multipart(content_type.unwrap_or(""), &body)?;
            let payload = parse_json(&metadata)?;
            if payload.voice_sample.is_some() && file.is_some() {
                return Err(PayloadError::Multipart(
                    "send the voice sample either in metadata or as the voice_sample file, not both".into(),
                )
                .into());
            }
            into_event(payload, file)
        }
    }
}

/// The JSON body as parsed. It mirrors [`PreCallPayload`] (the documented schema; a test keeps
/// the two in step) but borrows the strings it can and decodes the sample straight from the
/// body, so a 13 MB base64 string is never copied before it is decoded — escaped or not.
#[derive(Deserialize)]
struct WirePayload<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    event_timestamp: Option<i64>,
    #[serde(borrow)]
    conversation_id: Cow<'a, str>,
    #[serde(borrow)]
    agent_id: Cow<'a, str>,
    #[serde(borrow)]
    caller_metadata: Option<WireCaller<'a>>,
    #[serde(borrow)]
    voice_sample: Option<WireSample<'a>>,
}

#[derive(Deserialize)]
struct WireCaller<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    date_of_birth: Option<Cow<'a, str>>,
    #[serde(borrow)]
    phone_number: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireSample<'a> {
    #[serde(borrow)]
    format: Option<Cow<'a, str>>,
    /// The JSON string exactly as sent (quotes and escapes included), borrowed from the body:
    /// an escaped string (PHP writes every `/` as `\/`) would otherwise be unescaped into a
    /// copy of its own before being decoded.
    #[serde(borrow)]
    data: &'a RawValue,
    duration_seconds: Option<f64>,
    sample_rate: Option<u32>,
}

fn parse_json(bytes: &[u8]) -> Result<WirePayload<'_>, PayloadError> {
    serde_json::from_slice(bytes).map_err(|e| PayloadError::Json(detail(e)))
}

fn into_event(
    payload: WirePayload<'_>,
    file: Option<Bytes>,
) -> Result<PreCallEvent, PayloadRejection> {
    let owned = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
    let (name, date_of_birth, phone_number) = match payload.caller_metadata {
        Some(c) => (owned(c.name), owned(c.date_of_birth), owned(c.phone_number)),
        None => (None, None, None),
    };
    let raw = RawPreCallEvent {
        event_type: payload.event_type.into_owned(),
        conversation_id: payload.conversation_id.into_owned(),
        agent_id: payload.agent_id.into_owned(),
        event_timestamp: payload.event_timestamp,
        name,
        date_of_birth,
        phone_number,
    };
    let conversation_id = ConversationId::parse(raw.conversation_id.clone()).ok();
    let reject = |error: PayloadError| PayloadRejection {
        error,
        conversation_id: conversation_id.clone(),
    };
    let sample = match (payload.voice_sample, file) {
        (Some(json_sample), _) => Some(decode_sample(json_sample).map_err(reject)?),
        (None, Some(bytes)) => Some(SampleUpload {
            bytes,
            claimed_duration_seconds: None,
            claimed_sample_rate: None,
        }),
        (None, None) => None,
    };
    PreCallEvent::parse(raw, sample).map_err(|e| reject(e.into()))
}

fn decode_sample(sample: WireSample<'_>) -> Result<SampleUpload, PayloadError> {
    if sample
        .format
        .as_deref()
        .is_some_and(|f| !f.eq_ignore_ascii_case("base64"))
    {
        return Err(PayloadError::SampleEncoding);
    }
    let bytes = sample_base64::decode(sample.data)?;
    Ok(SampleUpload {
        bytes: Bytes::from(bytes),
        claimed_duration_seconds: sample.duration_seconds,
        claimed_sample_rate: sample.sample_rate,
    })
}

/// Takes the `metadata` and `voice_sample` parts; any other part, a repeated part or a missing
/// `metadata` is refused. The parts are slices of `body`: nothing is copied.
fn read_multipart(
    content_type: &str,
    body: &Bytes,
) -> Result<(Bytes, Option<Bytes>), PayloadError> {
    let error = |e: MultipartError| PayloadError::Multipart(e.to_string());
    let boundary = multipart::boundary(content_type).map_err(error)?;
    let mut metadata = None;
    let mut sample = None;
    for part in multipart::parts(body, &boundary).map_err(error)? {
        let slot = match part.name.as_str() {
            "metadata" => &mut metadata,
            "voice_sample" => &mut sample,
            other => {
                return Err(PayloadError::Multipart(format!(
                    "unexpected part {:?}",
                    detail(other)
                )));
            }
        };
        if slot.is_some() {
            return Err(PayloadError::Multipart(format!(
                "the {} part appears more than once",
                part.name
            )));
        }
        *slot = Some(part.body);
    }
    let metadata =
        metadata.ok_or_else(|| PayloadError::Multipart("the metadata part is missing".into()))?;
    if metadata.len() as u64 > MAX_METADATA_BYTES {
        return Err(PayloadError::Multipart(format!(
            "the metadata part is larger than {MAX_METADATA_BYTES} bytes"
        )));
    }
    Ok((metadata, sample))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JSON: &str = r#"{"type":"pre_call","conversation_id":"conv_1","agent_id":"agent_1",
        "caller_metadata":{"name":"Ivan","date_of_birth":"11.12.2007","phone_number":"+31612345678"},
        "voice_sample":{"format":"base64","data":"UklGRg","duration_seconds":5.2,"sample_rate":44100}}"#;

    fn json(body: &str) -> Result<PreCallEvent, PayloadRejection> {
        parse(Some("application/json"), Bytes::from(body.to_owned()))
    }

    /// A multipart part: name, optional file name, bytes.
    type FormPart<'a> = (&'a str, Option<&'a str>, &'a [u8]);

    fn form(parts: &[FormPart<'_>]) -> (String, Bytes) {
        let mut body = Vec::new();
        for (name, filename, data) in parts {
            body.extend_from_slice(b"--XyZ\r\n");
            let disposition = match filename {
                Some(f) => format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n"
                ),
                None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        (
            "multipart/form-data; boundary=XyZ".into(),
            Bytes::from(body),
        )
    }

    const META: &[u8] = br#"{"type":"pre_call","conversation_id":"conv_1","agent_id":"agent_1"}"#;

    #[test]
    fn the_documented_example_and_schema_match_what_is_parsed() {
        use super::super::schema::PreCallPayload;
        use poem_openapi::types::{Example, ToJSON, Type};
        // The example Swagger UI offers parses as a valid event.
        let example = PreCallPayload::example().to_json_string();
        assert!(parse(Some("application/json"), Bytes::from(example)).is_ok());
        // Every documented field is one the parser reads (a renamed or added field fails here).
        let mut registry = poem_openapi::registry::Registry::new();
        PreCallPayload::register(&mut registry);
        let documented: Vec<&str> = registry.schemas["PreCallPayload"]
            .properties
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            documented,
            [
                "type",
                "event_timestamp",
                "conversation_id",
                "agent_id",
                "caller_metadata",
                "voice_sample"
            ]
        );
        let full = r#"{"type":"pre_call","event_timestamp":1,"conversation_id":"c","agent_id":"a",
            "caller_metadata":{"name":"N","date_of_birth":"D","phone_number":"P"},
            "voice_sample":{"format":"base64","data":"UklGRg==","duration_seconds":1.0,"sample_rate":8000}}"#;
        let event = parse(
            Some("application/json"),
            Bytes::from_static(full.as_bytes()),
        )
        .unwrap();
        assert_eq!(event.caller.phone_number(), Some("P"));
        assert_eq!(event.sample.unwrap().claimed_sample_rate, Some(8000));
    }

    #[test]
    fn decodes_a_sample_whose_base64_escapes_its_slashes() {
        let body = r#"{"type":"pre_call","conversation_id":"c","agent_id":"a","voice_sample":{"data":"\/\/8="}}"#;
        let event = parse(
            Some("application/json"),
            Bytes::from_static(body.as_bytes()),
        )
        .unwrap();
        assert_eq!(&event.sample.unwrap().bytes[..], &[0xff, 0xff]);
    }

    #[test]
    fn refuses_sample_data_that_is_not_a_string() {
        let e = json(r#"{"type":"pre_call","conversation_id":"c1","agent_id":"a","voice_sample":{"data":5}}"#)
            .unwrap_err();
        assert!(matches!(e.error, PayloadError::Json(_)), "{:?}", e.error);
    }

    #[test]
    fn parses_a_json_webhook_with_its_sample() {
        let event = json(JSON).unwrap();
        assert_eq!(event.conversation_id.as_str(), "conv_1");
        assert_eq!(event.caller.phone_number(), Some("+31612345678"));
        let sample = event.sample.unwrap();
        assert_eq!(&sample.bytes[..], b"RIFF");
        assert_eq!(sample.claimed_sample_rate, Some(44100));
    }

    #[test]
    fn accepts_json_with_a_charset_parameter() {
        let e = parse(
            Some("application/json; charset=utf-8"),
            Bytes::from_static(META),
        );
        assert!(e.is_ok());
    }

    #[test]
    fn rejects_other_content_types() {
        let e = parse(Some("text/plain"), Bytes::from_static(META)).unwrap_err();
        assert!(matches!(e.error, PayloadError::UnsupportedContentType(_)));
        let e = parse(None, Bytes::from_static(META)).unwrap_err();
        assert!(matches!(e.error, PayloadError::UnsupportedContentType(_)));
    }

    #[test]
    fn names_a_missing_required_field() {
        let e = json(r#"{"type":"pre_call","agent_id":"a"}"#).unwrap_err();
        assert!(
            e.error
                .to_string()
                .contains("missing field `conversation_id`"),
            "{}",
            e.error
        );
    }

    #[test]
    fn names_a_field_of_the_wrong_type() {
        let e = json(r#"{"type":"pre_call","conversation_id":5,"agent_id":"a"}"#).unwrap_err();
        assert!(e.error.to_string().contains("invalid type"), "{}", e.error);
    }

    #[test]
    fn rejects_bad_base64_and_keeps_the_conversation_id() {
        let e = json(r#"{"type":"pre_call","conversation_id":"c1","agent_id":"a","voice_sample":{"data":"!!!"}}"#)
            .unwrap_err();
        assert!(matches!(e.error, PayloadError::Base64(_)));
        assert_eq!(e.conversation_id.unwrap().as_str(), "c1");
    }

    #[test]
    fn rejects_an_unknown_sample_encoding() {
        let e = json(r#"{"type":"pre_call","conversation_id":"c1","agent_id":"a","voice_sample":{"format":"hex","data":"00"}}"#)
            .unwrap_err();
        assert_eq!(e.error, PayloadError::SampleEncoding);
    }

    #[test]
    fn rejects_the_wrong_event_type() {
        let e = json(r#"{"type":"post_call","conversation_id":"c1","agent_id":"a"}"#).unwrap_err();
        assert!(matches!(
            e.error,
            PayloadError::Event(EventError::WrongType(_))
        ));
    }

    #[test]
    fn error_details_are_bounded() {
        let long = format!(
            r#"{{"type":"pre_call","conversation_id":"c","agent_id":{{"x":"{}"}}}}"#,
            "a".repeat(5000)
        );
        let e = json(&long).unwrap_err();
        assert!(e.error.to_string().chars().count() < 300);
    }

    #[test]
    fn parses_a_multipart_webhook() {
        let (ct, body) = form(&[
            ("metadata", None, META),
            ("voice_sample", Some("x.bin"), b"RIFFdata"),
        ]);
        let event = parse(Some(&ct), body).unwrap();
        assert_eq!(&event.sample.unwrap().bytes[..], b"RIFFdata");
    }

    #[test]
    fn refuses_multipart_abuse() {
        let cases: Vec<Vec<FormPart<'_>>> = vec![
            vec![("voice_sample", Some("a.wav"), b"RIFF")],
            vec![("metadata", None, META), ("metadata", None, META)],
            vec![
                ("metadata", None, META),
                ("voice_sample", Some("a"), b"1"),
                ("voice_sample", Some("b"), b"2"),
            ],
            vec![("metadata", None, META), ("other", None, b"x")],
        ];
        for parts in cases {
            let (ct, body) = form(&parts);
            let e = parse(Some(&ct), body).unwrap_err();
            assert!(
                matches!(e.error, PayloadError::Multipart(_)),
                "{:?}",
                e.error
            );
        }
        let big = vec![b'x'; MAX_METADATA_BYTES as usize + 1];
        let (ct, body) = form(&[("metadata", None, &big)]);
        assert!(parse(Some(&ct), body).is_err());
        let e = parse(Some("multipart/form-data"), Bytes::from_static(b"x")).unwrap_err();
        assert!(matches!(e.error, PayloadError::Multipart(_)));
    }

    proptest! {
        #[test]
        fn the_json_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = json(&String::from_utf8_lossy(&body));
            let _ = parse(Some("application/json"), Bytes::from(body));
        }

        #[test]
        fn the_multipart_reader_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(Some("multipart/form-data; boundary=XyZ"), Bytes::from(body));
        }
    }
}
