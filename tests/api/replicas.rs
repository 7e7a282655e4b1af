//! Two replicas' views of one store, for the contract suites: a rule does one thing through
//! `one` and checks it through `other`, so the shared adapter is proven across connections (a
//! redelivery reaching another replica) and the in-memory one, where both are the same object,
//! proves the same rules within one process.

use std::sync::Arc;

use precall_webhook::adapters::RedisStore;

use crate::redis_server::RedisServer;

/// The same store seen by two replicas.
pub struct Replicas<P: ?Sized> {
    /// The first replica's adapter.
    pub one: Arc<P>,
    /// The second replica's adapter: the same store through its own connection.
    pub other: Arc<P>,
    /// Kept running for as long as the adapters are used.
    _server: Option<RedisServer>,
}

impl<P: ?Sized> Replicas<P> {
    /// One in-memory adapter, which both "replicas" share.
    pub fn in_memory(adapter: Arc<P>) -> Self {
        Self {
            other: Arc::clone(&adapter),
            one: adapter,
            _server: None,
        }
    }

    /// A Redis of the test's own and two stores on it under one prefix, each made into an
    /// adapter by `make`.
    pub async fn on_redis(make: impl Fn(&RedisStore) -> Arc<P>) -> Self {
        let server = RedisServer::start().await;
        let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
        Self {
            one: make(&server.store(&prefix)),
            other: make(&server.store(&prefix)),
            _server: Some(server),
        }
    }
}

/// One Redis adapter and the server it lives on (for suites that need one view only).
pub struct OnRedis<T> {
    adapter: T,
    _server: RedisServer,
}

impl<T> OnRedis<T> {
    /// A Redis of the test's own and an adapter made from a store on it.
    pub async fn start(make: impl FnOnce(&RedisStore) -> T) -> Self {
        let server = RedisServer::start().await;
        let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
        Self {
            adapter: make(&server.store(&prefix)),
            _server: server,
        }
    }
}

impl<T> std::ops::Deref for OnRedis<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.adapter
    }
}
