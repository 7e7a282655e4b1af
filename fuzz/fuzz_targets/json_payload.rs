//! `payload::parse` on an `application/json` body of arbitrary bytes.
//!
//! Checked: it returns (never panics), a rejection's message stays bounded whatever the input
//! size, and an accepted event is consistent (its sample, if any, is no larger than the body:
//! base64 only shrinks).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use precall_webhook::app::http::payload;

/// Rejection messages quote at most ~200 characters of input (escaped by `{:?}` at worst).
const MAX_MESSAGE_BYTES: usize = 4096;

/// `FUZZ_PRINT=1` prints each input's outcome (to inspect seeds and corpora with `-runs=0`).
fn print_outcomes() -> bool {
    static PRINT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("FUZZ_PRINT").is_some())
}

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    for content_type in ["application/json", "Application/JSON; charset=utf-8"] {
        let result = payload::parse(Some(content_type), body.clone());
        if print_outcomes() {
            eprintln!("{content_type}: {result:?}");
        }
        match result {
            Ok(event) => {
                assert!(!event.conversation_id.as_str().is_empty());
                assert!(!event.agent_id.as_str().is_empty());
                if let Some(sample) = &event.sample {
                    assert!(sample.bytes.len() <= data.len());
                }
            }
            Err(rejection) => {
                let message = rejection.error.to_string();
                assert!(
                    message.len() <= MAX_MESSAGE_BYTES,
                    "{} byte message for a {} byte body",
                    message.len(),
                    data.len()
                );
            }
        }
    }
});
