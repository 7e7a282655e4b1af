//! The HTTP face of the fake: which route a request is, the `xi-api-key` check, the scripted
//! fault, the operation on the account, and the answer — in that order — with every request
//! written to the log before it is answered.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{HeaderMap, Method, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::account::{ListQuery, Refusal, validation_error};
use super::faults::{Act, Answer, Fault, Route};
use super::log::{Exchange, Outcome};
use super::{Shared, form};

/// A request, read to the end.
pub(super) struct Incoming {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Option<String>,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// What the connection does with the request.
pub(super) enum Reply {
    Respond(Response<Full<Bytes>>),
    Hang,
    Reset,
    Close,
}

/// The account's own answer to an operation.
struct Real {
    status: u16,
    body: Value,
}

impl From<Refusal> for Real {
    fn from(refusal: Refusal) -> Self {
        Self {
            status: refusal.status(),
            body: refusal.body(),
        }
    }
}

fn ok(body: Value) -> Real {
    Real { status: 200, body }
}

/// Serves one request; `shutdown` resolves when the fake stops.
pub(super) async fn handle(
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<()>,
    request: Incoming,
) -> Reply {
    let mut exchange = Exchange {
        method: request.method.to_string(),
        path: request.path.clone(),
        query: request.query.clone(),
        received_at: tokio::time::Instant::now(),
        route: None,
        fault: None,
        acted: None,
        outcome: Outcome::Answered(404),
    };
    let Some((route, id)) = route_of(&request.method, &request.path) else {
        let refusal = Refusal::Plain {
            status: 404,
            detail: format!(
                "Not Found (FakeElevenLabs does not model {} {})",
                request.method, request.path
            ),
        };
        return answer(&shared, exchange, refusal.into());
    };
    exchange.route = Some(route);
    let key = request
        .headers
        .get("xi-api-key")
        .and_then(|v| v.to_str().ok());
    if key != Some(shared.api_key.as_str()) {
        let refusal = Refusal::business(401, "invalid_api_key", "Invalid API key");
        return answer(&shared, exchange, refusal.into());
    }
    let Some(fault) = shared.lock().script.take(route) else {
        let real = act(&shared, route, &id, request, None).await;
        exchange.acted = Some(real.status);
        return answer(&shared, exchange, real);
    };
    exchange.fault = Some(format!("{fault:?}"));
    if let Some(gate) = &fault.gate {
        tokio::select! {
            () = gate.pass() => {}
            _ = shutdown.changed() => return Reply::Hang,
        }
    }
    let real = match fault.act {
        Act::No => None,
        Act::After(delay) => {
            if !wait(&mut shutdown, delay).await {
                return Reply::Hang;
            }
            Some(act(&shared, route, &id, request, fault.dropped.as_deref()).await)
        }
    };
    exchange.acted = real.as_ref().map(|r| r.status);
    faulty(&shared, shutdown, exchange, fault, real).await
}

/// Answers as `fault` says, after its delay.
async fn faulty(
    shared: &Shared,
    mut shutdown: watch::Receiver<()>,
    mut exchange: Exchange,
    fault: Fault,
    real: Option<Real>,
) -> Reply {
    let reply = match (fault.answer, real) {
        (Answer::Real, Some(real)) => {
            exchange.outcome = Outcome::Answered(real.status);
            response(real.status, &[], "application/json", real.body.to_string())
        }
        // `Fault::without_acting` refuses `Answer::Real`; should one slip through, say so.
        (Answer::Real, None) => {
            exchange.outcome = Outcome::Answered(500);
            let detail = json!({"detail": "FakeElevenLabs: a real answer without acting"});
            response(500, &[], "application/json", detail.to_string())
        }
        (
            Answer::Respond {
                status,
                headers,
                content_type,
                body,
            },
            _,
        ) => {
            exchange.outcome = Outcome::Answered(status);
            response(status, &headers, &content_type, body)
        }
        (Answer::Hang, _) => {
            exchange.outcome = Outcome::NoAnswer;
            Reply::Hang
        }
        (Answer::Reset, _) => {
            exchange.outcome = Outcome::Reset;
            Reply::Reset
        }
        (Answer::Close, _) => {
            exchange.outcome = Outcome::Closed;
            Reply::Close
        }
    };
    shared.lock().log.push(exchange);
    if wait(&mut shutdown, fault.answer_delay).await {
        reply
    } else {
        Reply::Hang
    }
}

/// Logs the exchange with `real` as its outcome and answers it.
fn answer(shared: &Shared, mut exchange: Exchange, real: Real) -> Reply {
    exchange.outcome = Outcome::Answered(real.status);
    shared.lock().log.push(exchange);
    response(real.status, &[], "application/json", real.body.to_string())
}

/// Sleeps `delay` (tokio time, so paused clocks advance it); `false` if the fake stopped first.
async fn wait(shutdown: &mut watch::Receiver<()>, delay: Duration) -> bool {
    if delay.is_zero() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = shutdown.changed() => false,
    }
}

fn response(
    status: u16,
    headers: &[(String, String)],
    content_type: &str,
    body: impl Into<Bytes>,
) -> Reply {
    let builder = headers.iter().fold(
        Response::builder()
            .status(status)
            .header("content-type", content_type),
        |builder, (name, value)| builder.header(name, value),
    );
    match builder.body(Full::new(body.into())) {
        Ok(response) => Reply::Respond(response),
        // A status or header a test scripted that HTTP cannot carry.
        Err(_) => Reply::Reset,
    }
}

/// The modelled operation and its path parameter.
fn route_of(method: &Method, path: &str) -> Option<(Route, String)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let route = match (method, segments.as_slice()) {
        (&Method::POST, ["v1", "voices", "add"]) => (Route::AddVoice, String::new()),
        (&Method::DELETE, ["v1", "voices", id]) if !id.is_empty() => {
            (Route::DeleteVoice, (*id).to_owned())
        }
        (&Method::GET, ["v2", "voices"]) => (Route::ListVoices, String::new()),
        (&Method::GET, ["v1", "user", "subscription"]) => (Route::Subscription, String::new()),
        (&Method::GET, ["v1", "convai", "agents", id]) if !id.is_empty() => {
            (Route::GetAgent, (*id).to_owned())
        }
        (&Method::PATCH, ["v1", "convai", "agents", id]) if !id.is_empty() => {
            (Route::PatchAgent, (*id).to_owned())
        }
        _ => return None,
    };
    Some(route)
}

/// Performs the operation on the account and returns its real answer; an agent PATCH keeps
/// nothing of its body at the JSON pointer `dropped`.
async fn act(
    shared: &Shared,
    route: Route,
    id: &str,
    request: Incoming,
    dropped: Option<&str>,
) -> Real {
    match route {
        Route::AddVoice => {
            let content_type = request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            let new = match form::add_voice(content_type, request.body).await {
                Ok(new) => new,
                Err(refusal) => return refusal.into(),
            };
            match shared.lock().account.add_voice(new) {
                Ok(voice_id) => ok(json!({"voice_id": voice_id, "requires_verification": false})),
                Err(refusal) => refusal.into(),
            }
        }
        Route::DeleteVoice => match shared.lock().account.delete_voice(id) {
            Ok(()) => ok(json!({"status": "ok"})),
            Err(refusal) => refusal.into(),
        },
        Route::ListVoices => {
            let listed = list_query(request.query.as_deref())
                .and_then(|query| shared.lock().account.list_voices(&query));
            listed.map_or_else(Real::from, ok)
        }
        Route::Subscription => ok(shared.lock().account.subscription_body()),
        Route::GetAgent => shared
            .lock()
            .account
            .agents
            .get(id)
            .map_or_else(|r| r.into(), |agent| ok(agent.clone())),
        Route::PatchAgent => {
            let body = match json_body(&request) {
                Ok(body) => body,
                Err(refusal) => return refusal.into(),
            };
            shared
                .lock()
                .account
                .agents
                .patch(id, body, dropped)
                .map_or_else(|r| r.into(), |agent| ok(agent.clone()))
        }
    }
}

/// A JSON request body, refused as FastAPI refuses it.
fn json_body(request: &Incoming) -> Result<Value, Refusal> {
    let is_json = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if !is_json {
        return Err(Refusal::invalid(
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        ));
    }
    serde_json::from_slice(&request.body)
        .map_err(|_| Refusal::invalid(json!(["body", 0]), "JSON decode error", "json_invalid"))
}

/// The query of `GET /v2/voices`; parameters the fake does not model are refused, so that a
/// client relying on them notices.
fn list_query(query: Option<&str>) -> Result<ListQuery, Refusal> {
    const CATEGORIES: &[&str] = &[
        "premade",
        "cloned",
        "generated",
        "professional",
        "famous",
        "high_quality",
    ];
    let mut parsed = ListQuery {
        personal: true,
        page_size: 10,
        ..ListQuery::default()
    };
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let loc = json!(["query", key]);
        match key.as_ref() {
            "search" => parsed.search = Some(value.into_owned()),
            "next_page_token" => parsed.next_page_token = Some(value.into_owned()),
            "category" if CATEGORIES.contains(&value.as_ref()) => {
                parsed.category = Some(value.into_owned());
            }
            "category" => errors.push(validation_error(
                loc,
                "Input should be 'premade', 'cloned', 'generated' or 'professional'",
                "enum",
            )),
            "voice_type" => match value.as_ref() {
                "personal" | "non-default" | "workspace" => parsed.personal = true,
                "default" | "community" => parsed.personal = false,
                _ => errors.push(validation_error(
                    loc,
                    "Input should be 'personal', 'community', 'default', 'workspace' or \
                     'non-default'",
                    "enum",
                )),
            },
            "page_size" => match value.parse::<i64>() {
                Ok(size @ 1..=100) => parsed.page_size = usize::try_from(size).unwrap_or(100),
                Ok(size) if size < 1 => errors.push(validation_error(
                    loc,
                    "Input should be greater than or equal to 1",
                    "greater_than_equal",
                )),
                Ok(_) => errors.push(validation_error(
                    loc,
                    "Input should be less than or equal to 100",
                    "less_than_equal",
                )),
                Err(_) => errors.push(validation_error(
                    loc,
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                )),
            },
            "sort" | "sort_direction" | "voice_ids" | "collection_id" | "fine_tuning_state" => {
                errors.push(validation_error(
                    loc,
                    "FakeElevenLabs does not model this parameter",
                    "not_modelled",
                ));
            }
            // `include_total_count` and anything unknown: ignored (the total is always given).
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(Refusal::Invalid(errors))
    }
}
