//! `GET /health`: liveness.

use serde_json::json;

use crate::helpers::{spawn_app, status_and_json};

#[tokio::test]
async fn health_answers_exactly_healthy_and_the_service_name() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.get("/health").await).await;

    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": "healthy", "service": "elevenlabs-precall-webhook"})
    );
}

#[tokio::test]
async fn health_needs_no_signature_and_stays_up_after_refused_webhooks() {
    let app = spawn_app().await;

    let refused = app.post_raw(&[], b"garbage".to_vec()).await;
    assert_eq!(refused.status(), 401);

    assert_eq!(app.get("/health").await.status(), 200);
}
