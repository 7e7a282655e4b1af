//! The connection loop: accepts TCP connections and serves each with hyper (HTTP/1.1, or
//! HTTP/2 with prior knowledge) until shutdown, every request answered by the routes.
//!
//! poem's own `Server` does the same; the service runs this loop so that `POST /webhook`, the
//! hot path, goes to [`DirectWebhook`] and only the rest to poem's router.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, Response};

use super::{DirectWebhook, Routes};

/// How long to wait after a failed `accept` (out of file descriptors, most likely) before the
/// next: retrying at once would spin a core while nothing can succeed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `routes` on `acceptor` until `shutdown` completes; then stops accepting, lets every
/// open connection finish the request it is in (idle ones close at once), and returns when all
/// are closed or after `grace`, whichever comes first.
pub async fn serve<E>(
    mut acceptor: TcpAcceptor,
    routes: Routes<E>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) where
    E: Endpoint<Output = Response> + 'static,
{
    let routes = Arc::new(routes);
    let connections = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = acceptor.accept() => match accepted {
                Ok((stream, local, remote, scheme)) => {
                    let routes = Arc::clone(&routes);
                    let service = hyper::service::service_fn(move |request| {
                        let routes = Arc::clone(&routes);
                        let (local, remote, scheme) = (local.clone(), remote.clone(), scheme.clone());
                        async move {
                            let response = if DirectWebhook::takes(&request) {
                                routes.webhook.answer(request).await
                            } else {
                                let request = poem::Request::from((request, local, remote, scheme));
                                // Boxed: poem's future is 8 KB, and hyper moves this one into
                                // place for every request, the webhook's included.
                                Box::pin(routes.site.get_response(request)).await
                            };
                            Ok::<_, Infallible>(hyper::Response::from(response))
                        }
                    });
                    let connection = auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let connection = connections.watch(connection);
                    tokio::spawn(async move {
                        // A connection's error is its client's: reset, malformed, too slow.
                        let _ = connection.await;
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; retrying shortly");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(acceptor);
    let _ = tokio::time::timeout(grace, connections.shutdown()).await;
}
