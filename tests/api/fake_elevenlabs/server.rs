//! The fake's HTTP/1 server, on hyper directly rather than poem, because a fault may need to do
//! what a framework hides: hold a request forever, or tear its connection down (RST or FIN)
//! without a response after the account has acted.
//!
//! Each request is read to the end, then handled on its own task, so an operation the fault
//! delays still happens when the client gives up and drops the connection — as on the real
//! service. Everything stops when the shutdown channel's sender (held by the handle) drops.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as IncomingBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::Shared;
use super::routes::{self, Incoming, Reply};

/// How a connection ends without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Teardown {
    /// TCP RST: the client sees "connection reset".
    Reset,
    /// TCP FIN: the client sees the connection closed before a response.
    Close,
}

/// Accepts connections until the fake stops.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, shared.clone(), shutdown.clone()));
                }
            }
        }
    }
}

/// Serves one connection until it ends, a fault tears it down, or the fake stops.
async fn connection(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<()>) {
    // A second descriptor of the same socket, kept out of hyper's hands, to set `SO_LINGER` 0
    // on when a fault resets the connection (the socket closes when both are dropped).
    let Ok((stream, twin)) = with_twin(stream) else {
        return;
    };
    let (teardown, mut torn_down) = mpsc::unbounded_channel();
    let requests_shutdown = shutdown.clone();
    let service = service_fn(move |request| {
        let shared = shared.clone();
        let shutdown = requests_shutdown.clone();
        let teardown = teardown.clone();
        async move { Ok::<_, Infallible>(respond(shared, shutdown, teardown, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        Some(how) = torn_down.recv() => {
            if how == Teardown::Reset {
                let _ = twin.set_zero_linger();
            }
        }
        _ = shutdown.changed() => {}
    }
}

fn with_twin(stream: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let stream = stream.into_std()?;
    let twin = stream.try_clone()?;
    Ok((TcpStream::from_std(stream)?, TcpStream::from_std(twin)?))
}

/// Reads the request, handles it on its own task, and turns the reply into a response, a held
/// request or a torn-down connection.
async fn respond(
    shared: Arc<Shared>,
    shutdown: watch::Receiver<()>,
    teardown: mpsc::UnboundedSender<Teardown>,
    request: Request<IncomingBody>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        // The client went away mid-body: nothing reached the account.
        return std::future::pending().await;
    };
    let incoming = Incoming {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    match tokio::spawn(routes::handle(shared, shutdown, incoming)).await {
        Ok(Reply::Respond(response)) => response,
        Ok(Reply::Reset) => {
            let _ = teardown.send(Teardown::Reset);
            std::future::pending().await
        }
        Ok(Reply::Close) => {
            let _ = teardown.send(Teardown::Close);
            std::future::pending().await
        }
        // Held until the client gives up or the fake stops (both drop this future).
        Ok(Reply::Hang) => std::future::pending().await,
        // A panic in the fake itself: answer loudly rather than hang the test.
        Err(_) => Response::builder()
            .status(500)
            .body(Full::new(Bytes::from_static(
                b"{\"detail\":\"FakeElevenLabs panicked\"}",
            )))
            .unwrap_or_default(),
    }
}
