//! Pre-call webhook bodies as the load benches send them: a unique conversation per request,
//! the sample base64 in JSON or as a multipart file part.

use base64::Engine;
use bytes::Bytes;

/// The multipart boundary of the bodies built here.
pub const BOUNDARY: &str = "precallbenchboundary";

/// How the sample travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json`, the sample base64 in `voice_sample.data`.
    Json,
    /// `multipart/form-data`: a `metadata` part and a `voice_sample` file part.
    Multipart,
}

/// Body and content type of request `i`, for conversation `conv_bench_{i}`.
pub fn request_body(i: usize, audio: &[u8], encoding: Encoding) -> (Vec<u8>, String) {
    let meta = format!(
        r#"{{"type":"pre_call","conversation_id":"conv_bench_{i}","agent_id":"agent_1","caller_metadata":{{"name":"Ivan"}}"#
    );
    match encoding {
        Encoding::Json => {
            let data = base64::engine::general_purpose::STANDARD.encode(audio);
            let body = format!(r#"{meta},"voice_sample":{{"format":"base64","data":"{data}"}}}}"#);
            (body.into_bytes(), "application/json".into())
        }
        Encoding::Multipart => {
            let mut body = Vec::with_capacity(audio.len() + 512);
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{meta}}}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"voice_sample\"; filename=\"sample.wav\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(audio);
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            (body, format!("multipart/form-data; boundary={BOUNDARY}"))
        }
    }
}

/// A 5 s, 16 kHz, 16-bit mono WAV (160 KB).
pub fn five_second_wav() -> Bytes {
    Bytes::from(precall_webhook::app::tone::wav(5.0, 16_000))
}
