//! Reading a conversation-initiation request leniently: the answer must be a `200` whatever
//! arrives, so nothing here fails. A field that is missing, not a string, or not valid is
//! simply absent; a body that is not a JSON object is a request with nothing in it.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

use crate::domain::{CallId, InitiationRequest};

/// The fields of the request we read; everything else is skipped unparsed.
#[derive(Deserialize, Default)]
struct Fields<'a> {
    #[serde(default, borrow)]
    caller_id: Lenient<'a>,
    #[serde(default, borrow)]
    call_sid: Lenient<'a>,
    #[serde(default, borrow)]
    call_id: Lenient<'a>,
}

/// A string when the value is one; nothing for any other JSON value.
#[derive(Default)]
struct Lenient<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyValue;
        impl<'de> Visitor<'de> for AnyValue {
            type Value = Option<Cow<'de, str>>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Some(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(Cow::Owned(v.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        deserializer.deserialize_any(AnyValue).map(Lenient)
    }
}

/// The request in `body`, as far as it can be read: `call_sid` when it is a valid call id,
/// else `call_id`; the caller's number as sent.
pub fn parse_initiation(body: &[u8]) -> InitiationRequest {
    let fields: Fields<'_> = serde_json::from_slice(body).unwrap_or_default();
    let call = [fields.call_sid.0, fields.call_id.0]
        .into_iter()
        .flatten()
        .find_map(|id| CallId::parse(id.into_owned()));
    InitiationRequest {
        caller_id: fields.caller_id.0.map(Cow::into_owned),
        call,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWILIO: &str = include_str!("../../../tests/fixtures/initiation/twilio.json");
    const SIP: &str = include_str!("../../../tests/fixtures/initiation/sip.json");

    #[test]
    fn reads_elevenlabs_twilio_and_sip_requests() {
        let twilio = parse_initiation(TWILIO.as_bytes());
        assert_eq!(twilio.caller_id.as_deref(), Some("+31612345678"));
        assert_eq!(
            twilio.call.as_ref().map(CallId::as_str),
            Some("CA5b2f0e1c9d8a7b6c5d4e3f2a1b0c9d8e")
        );
        let sip = parse_initiation(SIP.as_bytes());
        assert_eq!(
            sip.call.as_ref().map(CallId::as_str),
            Some("3c5e2b7a-9f41-4d0e-8c1a-6b2d9e0f7a51@sip.example.net")
        );
    }

    #[test]
    fn anything_unreadable_is_simply_absent() {
        for body in [
            &b""[..],
            b"not json",
            b"[1,2]",
            b"null",
            b"{\"caller_id\": 31612345678, \"call_sid\": {\"x\": [1]}}",
            b"{\"caller_id\": null, \"call_sid\": \"has a space\"}",
        ] {
            assert_eq!(
                parse_initiation(body),
                InitiationRequest::default(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn escaped_strings_and_unknown_fields_are_read() {
        let request = parse_initiation(
            br#"{"x": {"deep": [true]}, "caller_id": "\u002b31 6", "call_sid": "", "call_id": "a@b"}"#,
        );
        assert_eq!(request.caller_id.as_deref(), Some("+31 6"));
        assert_eq!(request.call.as_ref().map(CallId::as_str), Some("a@b"));
    }
}
