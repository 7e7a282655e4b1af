//! The HTTP adapter in: poem + poem-openapi for the routes, the OpenAPI spec and the Swagger
//! UI; our own hyper connection loop in front, which answers `POST /webhook` directly.

mod api;
mod body;
mod direct_webhook;
mod error_examples;
mod error_json;
mod errors;
mod header_limit;
mod initiation_payload;
mod initiation_request;
mod initiation_response;
mod initiation_schema;
mod json_answer;
mod metrics_response;
pub mod multipart;
pub mod payload;
pub mod post_call_payload;
mod post_call_response;
mod ready;
mod refusal_log;
mod request_metrics;
mod sample_base64;
mod schema;
mod server;
mod success_json;

use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use poem_openapi::OpenApiService;

pub use api::{SERVICE_NAME, WebhookApi};
pub use body::{BodyLimits, PostCallLimits, SIGNATURE_HEADER};
pub use direct_webhook::DirectWebhook;
pub use errors::ApiError;
pub use schema::ErrorCode;
pub use server::serve;

use header_limit::HeaderLimit;
use request_metrics::RequestMetrics;

/// The OpenAPI service for the API; `server` is the URL shown in the spec.
pub fn openapi_service(api: WebhookApi, server: &str) -> OpenApiService<WebhookApi, ()> {
    OpenApiService::new(
        api,
        "ElevenLabs pre-call webhook",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Receives signed ElevenLabs pre-call webhooks, clones the caller's voice with \
         Instant Voice Cloning, and puts that voice and a personalised greeting on the agent.\n\n\
         Every error has the `ErrorBody` shape, including those of the router: a path the \
         spec does not list answers `404 NOT_FOUND`, a method a path does not take \
         `405 METHOD_NOT_ALLOWED`, and headers over the cap `431 HEADERS_TOO_LARGE`.",
    )
    .server(server)
}

/// The OpenAPI spec as served at `/openapi.json`.
pub fn spec_json(api: WebhookApi) -> String {
    openapi_service(api, "/").spec()
}

/// Where a request goes: `POST /webhook` to [`DirectWebhook`], everything else to poem.
pub struct Routes<E> {
    /// `POST /webhook`, the hot path.
    pub webhook: DirectWebhook,
    /// Everything else.
    pub site: E,
}

/// All routes: `/health`, `/metrics`, the webhooks, `/openapi.json`, `/docs`. Requests whose
/// headers total more than `max_header_bytes` get `431` before any route runs; an unknown path
/// gets `404` and an unknown method `405`, in the same error shape as every other error. Every
/// answer, those included, is counted in the metrics.
pub fn routes(
    api: WebhookApi,
    limits: BodyLimits,
    post_call_limits: BodyLimits,
    max_header_bytes: usize,
) -> Routes<impl Endpoint<Output = poem::Response>> {
    let metrics = api.metrics.metrics.http();
    let webhook = DirectWebhook {
        api: api.clone(),
        limits,
        metrics: metrics.clone(),
        max_header_bytes,
    };
    let request_metrics = RequestMetrics(metrics);
    let service = openapi_service(api, "/");
    let docs = service.swagger_ui();
    let spec = service.spec_endpoint();
    let site = Route::new()
        .nest("/", service)
        // `get`: the spec endpoint alone would answer any method.
        .at("/openapi.json", poem::get(spec))
        .nest("/docs", docs)
        // poem's router (and poem-openapi's, for the operations) report these as errors whose
        // default response is plain text.
        .catch_error(|_: NotFoundError| async {
            error_response(ApiError::new(
                ErrorCode::NotFound,
                "No endpoint at this path; the API is described at /docs",
            ))
        })
        .catch_error(|_: MethodNotAllowedError| async {
            error_response(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "This path does not take this method; the API is described at /docs",
            ))
        })
        .data(limits)
        .data(PostCallLimits(post_call_limits))
        .with(CatchPanic::new().with_handler(|_| panic_response()))
        .with(HeaderLimit(max_header_bytes))
        .with(request_metrics)
        .map_to_response();
    Routes { webhook, site }
}

/// Our error shape outside the OpenAPI operations (middleware, panics).
fn error_response(error: ApiError) -> poem::Response {
    let status = poem::http::StatusCode::from_u16(error.status())
        .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    error.body().with_status(status).into_response()
}

fn panic_response() -> poem::Response {
    tracing::error!("a request handler panicked; the process carries on");
    error_response(ApiError::internal())
}
