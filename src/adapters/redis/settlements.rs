//! Wake-ups for deliveries waiting on another (perhaps on another replica) to settle.
//!
//! The settling script publishes the conversation id on one channel; each ledger keeps one
//! pub/sub connection of its own (never the shared multiplexed one: a subscribed connection
//! takes no other commands) and fans the ids out to its waiters in this process. Pub/sub is
//! at-most-once — a message published while the listener reconnects is lost — so waiters also
//! look at the entry on a slow tick; a wake-up only makes them look sooner.

use std::time::Duration;

use ::redis::Client;
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Wake-ups buffered per waiter before it is told it lagged (and looks anyway).
const BUFFERED: usize = 256;
/// How long the listener waits before reconnecting after its connection failed or ended.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// How long one connect-and-subscribe may take before it counts as failed.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often an idle subscription is checked with a `PING`: a connection whose peer vanished
/// without closing it would otherwise look alive forever, and its waiters would fall back on
/// polling for good.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The listener of one ledger. Dropping it stops the listener.
pub(super) struct Settlements {
    sender: broadcast::Sender<String>,
    listener: JoinHandle<()>,
}

impl Settlements {
    /// Listens on `channel` until dropped, reconnecting whenever the connection fails.
    pub(super) fn listen(client: Client, channel: String) -> Self {
        let (sender, _) = broadcast::channel(BUFFERED);
        let listener = tokio::spawn(listen(client, channel, sender.clone()));
        Self { sender, listener }
    }

    /// A receiver of the wake-ups published from now on.
    pub(super) fn subscribe(&self) -> WakeUps {
        WakeUps(self.sender.subscribe())
    }
}

impl Drop for Settlements {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// One waiter's view of the wake-ups.
pub(super) struct WakeUps(broadcast::Receiver<String>);

impl WakeUps {
    /// Returns when `conversation` may have settled: its id was published, or wake-ups were
    /// missed (then it may have been among them). Never returns while the listener is gone; the
    /// waiter's own tick covers that.
    pub(super) async fn settled(&mut self, conversation: &str) {
        loop {
            match self.0.recv().await {
                Ok(id) if id == conversation => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    }
}

async fn listen(client: Client, channel: String, sender: broadcast::Sender<String>) {
    loop {
        if let Err(err) = listen_once(&client, &channel, &sender).await {
            tracing::debug!(error = %err, "ledger wake-ups: reconnecting");
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Subscribes and forwards messages until the connection fails or ends.
async fn listen_once(
    client: &Client,
    channel: &str,
    sender: &broadcast::Sender<String>,
) -> Result<(), String> {
    let subscribe = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, ::redis::RedisError>(pubsub)
    };
    let pubsub = tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribe)
        .await
        .map_err(|_| "subscribing timed out".to_owned())?
        .map_err(|err| err.to_string())?;
    let (mut sink, mut messages) = pubsub.split();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Err("the subscription ended".to_owned());
                };
                if let Ok(conversation) = message.get_payload::<String>() {
                    // No receiver just means nobody is waiting right now.
                    let _ = sender.send(conversation);
                }
            }
            _ = heartbeat.tick() => {
                tokio::time::timeout(SUBSCRIBE_TIMEOUT, sink.ping::<::redis::Value>())
                    .await
                    .map_err(|_| "the subscription stopped answering".to_owned())?
                    .map_err(|err| err.to_string())?;
            }
        }
    }
}
