//! The conversation-initiation webhook next to `/health`: the server's settings (override mode,
//! a bearer token, dynamic-variable defaults), callers seeded with a clone through pre-call
//! webhooks, and one request of either endpoint. Half the initiation requests come from seeded
//! callers (the answer carries their override and binds a new call each time), half from
//! unknown numbers (the neutral answer).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::json;

use super::sign;

/// The bearer token of `/webhook/conversation-initiation`.
pub const TOKEN: &str = "bench-initiation-token-0123456789";
/// Callers given a clone before the rounds.
pub const KNOWN_CALLERS: usize = 200;

/// The variables on top of [`super::start_server`]'s for the initiation endpoint.
pub const SERVER_VARS: [(&str, &str); 3] = [
    ("AGENT_UPDATE_MODE", "override"),
    ("CONVERSATION_INITIATION_TOKEN", TOKEN),
    (
        "INITIATION_DYNAMIC_VARIABLES",
        r#"{"account_tier":"standard","max_minutes":30}"#,
    ),
];

/// The two endpoints compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /health`: routing and one small JSON answer, the floor.
    Health,
    /// `POST /webhook/conversation-initiation`.
    Initiation,
}

impl Endpoint {
    /// As printed.
    pub fn name(self) -> &'static str {
        match self {
            Self::Health => "GET /health",
            Self::Initiation => "POST /webhook/conversation-initiation",
        }
    }
}

fn caller(i: usize) -> String {
    format!("+3160000{i:04}")
}

/// Gives [`KNOWN_CALLERS`] callers a clone through pre-call webhooks.
pub async fn seed_callers(client: &reqwest::Client, base: &str) {
    let wav = precall_webhook::app::tone::wav(5.0, 16_000);
    let data = base64::engine::general_purpose::STANDARD.encode(wav);
    for i in 0..KNOWN_CALLERS {
        let body = json!({
            "type": "pre_call",
            "conversation_id": format!("conv_seed_{i}"),
            "agent_id": "agent_1",
            "caller_metadata": {"name": format!("Caller {i}"), "phone_number": caller(i)},
            "voice_sample": {"format": "base64", "data": data}
        })
        .to_string();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let response = client
            .post(format!("{base}/webhook"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", sign(now, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status() == 200 => {}
            other => panic!("seeding caller {i} failed: {other:?}"),
        }
    }
}

/// Sends request `i` of round `round_no` to `endpoint`; whether it was answered `200`.
pub async fn send(
    client: reqwest::Client,
    base: String,
    endpoint: Endpoint,
    round_no: usize,
    i: usize,
) -> bool {
    let request = match endpoint {
        Endpoint::Health => client.get(format!("{base}/health")),
        Endpoint::Initiation => {
            let body = json!({
                "caller_id": caller(i % (2 * KNOWN_CALLERS)),
                "agent_id": "agent_1",
                "called_number": "+31201234567",
                "call_sid": format!("CA{round_no}x{i}")
            })
            .to_string();
            client
                .post(format!("{base}/webhook/conversation-initiation"))
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .body(body)
        }
    };
    match request.send().await {
        Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
        Err(_) => false,
    }
}
