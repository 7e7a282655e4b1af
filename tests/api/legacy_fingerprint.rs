//! A ledger written by a version that fingerprinted the sample with SHA-256 (before the XXH3
//! digest): a redelivery of the same event is still a replay, during a rolling upgrade and
//! within the ledger's retention after it; another body is still a conflict.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use precall_webhook::adapters::{InMemoryDeliveryLedger, SystemClock};
use precall_webhook::domain::{
    CallOutcome, CallerInfo, Deliveries, Delivery, DeliveryError, DeliverySettings, PreCallEvent,
    RawPreCallEvent, SampleUpload,
};
use precall_webhook::ports::{Claim, DeliveryLedger};

const LEASE: Duration = Duration::from_secs(80);

fn event(sample: &'static [u8]) -> PreCallEvent {
    PreCallEvent::parse(
        RawPreCallEvent {
            event_type: "pre_call".into(),
            conversation_id: "conv_upgrade".into(),
            agent_id: "agent_def456uvw".into(),
            event_timestamp: None,
            name: Some("Ivan".into()),
            date_of_birth: None,
            phone_number: None,
        },
        Some(SampleUpload {
            bytes: Bytes::from_static(sample),
            claimed_duration_seconds: None,
            claimed_sample_rate: None,
        }),
    )
    .unwrap()
}

/// A ledger holding `event` completed under its legacy fingerprint, as an older replica left it.
async fn ledger_from_an_older_version(event: &PreCallEvent) -> (Deliveries, CallOutcome) {
    let ledger = Arc::new(InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100));
    let outcome = CallOutcome {
        conversation_id: event.conversation_id.clone(),
        voice: None,
        voice_reused: false,
        agent_updated: true,
        caller_info: CallerInfo {
            name: Some("Ivan".into()),
            date_of_birth: None,
        },
        stored_sample: None,
    };
    let Claim::Claimed { token, .. } = ledger
        .claim(&event.conversation_id, event.legacy_fingerprint(), LEASE)
        .await
        .unwrap()
    else {
        panic!("a fresh ledger refused the first claim");
    };
    assert!(
        ledger
            .complete(&event.conversation_id, &token, &outcome)
            .await
            .unwrap()
    );
    let deliveries = Deliveries::new(
        ledger,
        Arc::new(SystemClock),
        DeliverySettings {
            lease: LEASE,
            max_wait: Duration::from_secs(5),
        },
    );
    (deliveries, outcome)
}

#[tokio::test]
async fn a_redelivery_of_an_event_an_older_version_handled_is_a_replay() {
    let first = event(b"RIFF0000WAVEfmt sample");
    assert_ne!(first.fingerprint(), first.legacy_fingerprint());
    let (deliveries, outcome) = ledger_from_an_older_version(&first).await;

    match deliveries.begin(&event(b"RIFF0000WAVEfmt sample")).await {
        Ok(Delivery::Replay(replayed)) => assert_eq!(replayed, outcome),
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[tokio::test]
async fn another_body_for_a_conversation_an_older_version_handled_is_still_a_conflict() {
    let (deliveries, _) = ledger_from_an_older_version(&event(b"RIFF0000WAVEfmt sample")).await;

    let error = deliveries
        .begin(&event(b"RIFF0000WAVEfmt another"))
        .await
        .err();
    assert!(
        matches!(error, Some(DeliveryError::Conflict(_))),
        "{error:?}"
    );
}
