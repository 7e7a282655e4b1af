//! `POST /webhook` answered straight from hyper, without poem's router, OpenAPI extractors and
//! middleware stack: on a refused webhook (a forged-request flood) they were 7 % of the CPU,
//! the HMAC over the body being most of the rest (README, "At the floor").
//!
//! The answer is the one poem's operation gives, from the same parts in the same order: the
//! metrics around everything, the header cap, a caught panic's `500`, the same body reader
//! under the same limits, and the same handler ([`WebhookApi::pre_call_webhook`]); the tests
//! below hold the two to the same answers. The poem operation stays: it documents the
//! endpoint in the OpenAPI spec, and Swagger UI's requests to it come here like any other.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use bytes::Bytes;
use futures_util::FutureExt;
use poem::http::Method;
use poem::{IntoResponse, Response};

use super::api::WebhookApi;
use super::body::{BodyLimits, read_webhook_body, signature_header};
use super::header_limit::refuse_oversized;
use super::panic_response;
use super::request_metrics::record;
use crate::app::metrics::{HttpMetrics, endpoint_label};

/// The path this answers, with `POST`.
const PATH: &str = "/webhook";

/// Answers `POST /webhook`.
pub struct DirectWebhook {
    pub(super) api: WebhookApi,
    pub(super) limits: BodyLimits,
    pub(super) metrics: HttpMetrics,
    pub(super) max_header_bytes: usize,
}

impl DirectWebhook {
    /// Whether `request` is one to answer here: `POST /webhook`, whatever its query.
    pub fn takes<B>(request: &hyper::Request<B>) -> bool {
        request.method() == Method::POST && request.uri().path() == PATH
    }

    /// The answer to `request`, one [`DirectWebhook::takes`].
    pub async fn answer<B>(&self, request: hyper::Request<B>) -> Response
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let started = Instant::now();
        let response = match refuse_oversized(request.headers(), self.max_header_bytes) {
            Some(refusal) => refusal,
            None => AssertUnwindSafe(self.handle(request))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| panic_response()),
        };
        record(
            &self.metrics,
            endpoint_label(PATH),
            started.elapsed(),
            &response,
        );
        response
    }

    async fn handle<B>(&self, request: hyper::Request<B>) -> Response
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let (parts, body) = request.into_parts();
        let body = read_webhook_body(&parts.headers, body, self.limits).await;
        self.api
            .pre_call_webhook(signature_header(&parts.headers), body)
            .await
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use http_body_util::Full;
    use poem::Endpoint;
    use poem::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    use secrecy::SecretString;
    use serde_json::Value;

    use super::*;
    use crate::app::config::{Config, OFFLINE_WEBHOOK_SECRET};
    use crate::app::http::{Routes, SIGNATURE_HEADER, routes};
    use crate::app::startup::{Backends, build_api};
    use crate::domain::WebhookSecret;

    const MAX_HEADER_BYTES: usize = 2048;

    /// A case: its name, the status both answers must have, the request's headers and body.
    type Case<'a> = (&'a str, u16, Vec<(&'a str, String)>, &'a [u8]);

    /// What a client sees of an answer: status, headers, JSON body.
    type Seen = (u16, Vec<(String, String)>, Value);

    /// A fresh offline service's routes (in-memory ElevenLabs, ledger and registry).
    fn service() -> Routes<impl Endpoint<Output = Response>> {
        let config = Config::from_vars(|_| None, true).expect("the offline defaults");
        let api = build_api(&config, Backends::offline(&config)).expect("an offline API");
        let limits = BodyLimits {
            max_bytes: config.max_body_bytes(),
            timeout: config.body_timeout,
        };
        routes(api, limits, limits, MAX_HEADER_BYTES)
    }

    fn now() -> i64 {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
    }

    fn signed(body: &[u8]) -> String {
        WebhookSecret::new(SecretString::from(OFFLINE_WEBHOOK_SECRET))
            .expect("a non-empty secret")
            .sign(now(), body)
    }

    /// What a client sees of an answer; the handling time, which differs run to run, left out.
    async fn seen(mut response: Response) -> Seen {
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        headers.sort();
        let bytes = response.take_body().into_bytes().await.unwrap_or_default();
        let mut body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Some(fields) = body.as_object_mut() {
            fields.remove("processing_time_ms");
        }
        (response.status().as_u16(), headers, body)
    }

    /// The same request answered directly by one fresh service and through poem's router by
    /// another.
    async fn both(headers: &[(&str, String)], body: &[u8]) -> [Seen; 2] {
        let mut direct = hyper::Request::builder()
            .method(Method::POST)
            .uri("/webhook");
        let mut routed = poem::Request::builder()
            .method(Method::POST)
            .uri_str("/webhook");
        for (name, value) in headers {
            direct = direct.header(*name, value.as_str());
            routed = routed.header(*name, value.as_str());
        }
        let direct = direct
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap_or_else(|e| panic!("a request: {e}"));
        assert!(DirectWebhook::takes(&direct));
        let routed = routed.body(Bytes::copy_from_slice(body));
        [
            seen(service().webhook.answer(direct).await).await,
            seen(service().site.get_response(routed).await).await,
        ]
    }

    #[tokio::test]
    async fn answers_as_poems_operation_does() {
        let event = br#"{"type":"pre_call","conversation_id":"conv_same","agent_id":"agent_1","caller_metadata":{"name":"Ivan"}}"#;
        let json = || (CONTENT_TYPE.as_str(), "application/json".to_owned());
        let cases: Vec<Case<'_>> = vec![
            (
                "handled",
                200,
                vec![json(), (SIGNATURE_HEADER, signed(event))],
                event,
            ),
            (
                "forged",
                401,
                vec![
                    json(),
                    (
                        SIGNATURE_HEADER,
                        format!("t={},v0={}", now(), "0".repeat(64)),
                    ),
                ],
                event,
            ),
            ("unsigned", 401, vec![json()], event),
            (
                "malformed signature",
                401,
                vec![json(), (SIGNATURE_HEADER, "v0=zz".to_owned())],
                event,
            ),
            (
                "headers over the cap",
                431,
                vec![
                    json(),
                    (SIGNATURE_HEADER, signed(event)),
                    ("x-padding", "a".repeat(MAX_HEADER_BYTES)),
                ],
                event,
            ),
            (
                "announced over the size limit",
                413,
                vec![
                    json(),
                    (SIGNATURE_HEADER, signed(event)),
                    (CONTENT_LENGTH.as_str(), "999999999".to_owned()),
                ],
                event,
            ),
            (
                "not JSON",
                400,
                vec![json(), (SIGNATURE_HEADER, signed(b"{"))],
                b"{",
            ),
            (
                "another content type",
                400,
                vec![
                    (CONTENT_TYPE.as_str(), "text/plain".to_owned()),
                    (SIGNATURE_HEADER, signed(event)),
                ],
                event,
            ),
        ];
        for (case, status, headers, body) in cases {
            let [direct, routed] = both(&headers, body).await;
            assert_eq!(direct.0, status, "{case}: {:?}", direct.2);
            assert_eq!(direct, routed, "{case}");
        }
    }
}
