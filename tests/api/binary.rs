//! The real binary as a child process, for the tests that need a process of its own: signals
//! (shutdown) and several replicas on one store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::helpers::{ELEVENLABS_API_KEY, SECRET, try_send};

pub const BIN: &str = env!("CARGO_BIN_EXE_precall-webhook");

/// Which cores the child may run on.
#[derive(Debug, Clone, Copy)]
pub enum Cores {
    /// Those this test process may use.
    All,
    /// The first of those only.
    One,
}

/// The first core this process may run on, from `Cpus_allowed_list` (such as `0-1,4`).
fn first_allowed_core() -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map(|list| {
            list.trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect()
        })
        .filter(|core: &String| !core.is_empty())
        .expect("a Cpus_allowed_list line")
}

/// The service as a child process; killed if the test ends before it exits.
pub struct Service {
    pub child: Child,
    pub address: SocketAddr,
    log: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Service {
    /// Starts `precall-webhook serve` on a loopback port of its own choosing (port 0, read
    /// back from its `listening` line), against the ElevenLabs at `base_url`, in `dir` (so no
    /// `.env` is picked up), with nothing inherited from the environment but `vars`. A port
    /// picked here and released for the child to bind could be taken in between by a parallel
    /// test's server or client.
    pub async fn start(dir: &Path, base_url: &str, vars: &[(&str, &str)]) -> Self {
        Self::launch(Command::new(BIN), dir, base_url, vars).await
    }

    /// As [`Service::start`], on the `cores` given.
    pub async fn start_on(cores: Cores, dir: &Path, base_url: &str, vars: &[(&str, &str)]) -> Self {
        match cores {
            Cores::All => Self::start(dir, base_url, vars).await,
            Cores::One => Self::start_on_one_core(dir, base_url, vars).await,
        }
    }

    /// As [`Service::start`], with the process allowed on one core only (`taskset`, as an
    /// operator pins it or a one-CPU container limits it): the service then runs on tokio's
    /// current-thread runtime, which its `listening` line says.
    async fn start_on_one_core(dir: &Path, base_url: &str, vars: &[(&str, &str)]) -> Self {
        let mut pinned = Command::new("taskset");
        pinned.args(["--cpu-list", &first_allowed_core(), BIN]);
        let service = Self::launch(pinned, dir, base_url, vars).await;
        let log = service.log();
        assert!(
            log.lines()
                .any(|line| line.contains("listening: ") && line.contains("current-thread")),
            "one core, yet not the current-thread runtime:\n{log}"
        );
        service
    }

    async fn launch(
        mut command: Command,
        dir: &Path,
        base_url: &str,
        vars: &[(&str, &str)],
    ) -> Self {
        let log = dir.join("service.log");
        let output = std::fs::File::create(&log).expect("a log file");
        let child = command
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .envs([
                ("ELEVENLABS_API_KEY", ELEVENLABS_API_KEY),
                ("ELEVENLABS_WEBHOOK_SECRET", SECRET),
                ("ELEVENLABS_API_BASE_URL", base_url),
                ("PRECALL_WEBHOOK_HOST", "127.0.0.1"),
                ("PRECALL_WEBHOOK_PORT", "0"),
                ("SHUTDOWN_GRACE_SECONDS", "20"),
            ])
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("a log file handle"))
            .stderr(output)
            .spawn()
            .expect("the binary starts");
        let mut service = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        service.address = service.bound_address().await;
        service
    }

    /// The address the service bound, from its `listening` line (text or JSON), once written.
    async fn bound_address(&mut self) -> SocketAddr {
        for _ in 0..1200 {
            self.assert_running();
            let log = self.log();
            let port = log
                .lines()
                .find(|line| line.contains("listening: "))
                .and_then(|line| line.split("127.0.0.1:").nth(1))
                .map(|rest| {
                    rest.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                })
                .and_then(|digits| digits.parse::<u16>().ok());
            if let Some(port) = port {
                return SocketAddr::from(([127, 0, 0, 1], port));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service never said where it listens:\n{}", self.log());
    }

    /// Polls `/health` until the freshly started process answers.
    pub async fn wait_until_healthy(&mut self, client: &reqwest::Client) {
        let url = format!("http://{}/health", self.address);
        for _ in 0..600 {
            self.assert_running();
            if let Ok(response) = try_send(client.get(&url)).await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/health never answered:\n{}", self.log());
    }

    /// What the service logged so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics, with the log, when the service has exited already.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the service exited early ({status}):\n{}", self.log());
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits for the process to exit.
    pub async fn exit_status(&mut self) -> ExitStatus {
        // Not a timing assertion: a guard (beyond the 20 s grace period) so that a service that
        // never exits fails the test instead of hanging it.
        let wait = async {
            loop {
                if let Some(status) = self.child.try_wait().expect("the child can be waited on") {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(status) => status,
            Err(_) => panic!("the service did not exit within 60 s:\n{}", self.log()),
        }
    }
}

/// An HTTP client that keeps no idle connection (an idle keep-alive connection is still a
/// connection the service has to close on shutdown).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client")
}
