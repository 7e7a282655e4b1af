//! A real Redis for the store tests: each test starts its own `redis-server` on a Unix socket in
//! a temporary directory (no TCP port to race for, nothing kept on disk), can stop it and start
//! it again on the same socket to test recovery, and kills it when dropped.
//!
//! `redis-server` must be installed (`apt-get install redis-server`; `.ci/run` does it).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use precall_webhook::adapters::RedisStore;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `redis-server` of this test's own.
pub struct RedisServer {
    dir: TempDir,
    process: Option<Child>,
}

impl RedisServer {
    /// Starts a server and waits until it answers.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let mut server = Self { dir, process: None };
        server.restart().await;
        server
    }

    /// The URL the adapters connect with.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// A store on this server with its own connection, as one replica would open it.
    pub fn store(&self, prefix: &str) -> RedisStore {
        RedisStore::open(&self.url(), prefix).expect("the test server's URL opens")
    }

    /// Stops the server at once, as a crash would (no goodbye to its clients).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts the server again on the same socket (empty: nothing is persisted) and waits until
    /// it answers.
    pub async fn restart(&mut self) {
        self.stop();
        let process = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start redis-server ({err}): install it, e.g. apt-get install redis-server")
            });
        self.process = Some(process);
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while !self.answers().await {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            ready.is_ok(),
            "redis-server did not answer within {START_TIMEOUT:?}"
        );
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// Whether the server answers `PING` on its socket.
    async fn answers(&self) -> bool {
        let Ok(mut socket) = UnixStream::connect(self.socket()).await else {
            return false;
        };
        let mut reply = [0u8; 7];
        socket.write_all(b"PING\r\n").await.is_ok()
            && socket.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
