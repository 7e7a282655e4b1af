//! The tokio runtime the commands run on, chosen for the cores this process may use (its CPU
//! affinity and cgroup quota, as `std::thread::available_parallelism` reads them).
//!
//! On one core, the current-thread runtime: connections, upstream calls and delivery tasks
//! all run on the thread that started it. The multi-thread runtime's single worker does the
//! same work at a higher price there: the floor bench measured a multipart webhook at
//! 0.82–0.90× the CPU on the current-thread runtime with the core saturated (README, "At the
//! floor"). Nothing else changes: the blocking pool, where a long audio probe goes, is the same
//! in both.
//!
//! On more cores, or when `TOKIO_WORKER_THREADS` (tokio's own setting) asks for a number of
//! workers, the multi-thread runtime, one worker per core unless that setting says otherwise.

use std::fmt;
use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// tokio's setting for the multi-thread runtime's worker count.
const WORKER_THREADS_VAR: &str = "TOKIO_WORKER_THREADS";

/// Which tokio scheduler runs the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Everything on the one thread that starts the runtime.
    CurrentThread,
    /// A worker per core (or per `TOKIO_WORKER_THREADS`), stealing work from each other.
    MultiThread,
}

impl Flavor {
    /// The scheduler for `cores` usable cores (`None`: unknown), `TOKIO_WORKER_THREADS` set or
    /// not. An explicit worker count is the operator's choice and is kept, even on one core.
    #[must_use]
    pub fn for_cores(cores: Option<NonZeroUsize>, worker_threads_set: bool) -> Self {
        match cores {
            Some(cores) if cores.get() == 1 && !worker_threads_set => Self::CurrentThread,
            _ => Self::MultiThread,
        }
    }

    /// The scheduler for this process, from its affinity, quota and environment.
    #[must_use]
    pub fn for_this_process() -> Self {
        Self::for_cores(
            std::thread::available_parallelism().ok(),
            std::env::var_os(WORKER_THREADS_VAR).is_some(),
        )
    }

    /// Builds the runtime, with its I/O and time drivers.
    ///
    /// # Errors
    /// When the operating system refuses what the runtime needs (threads, an epoll instance).
    pub fn build(self) -> std::io::Result<Runtime> {
        match self {
            Self::CurrentThread => Builder::new_current_thread(),
            Self::MultiThread => Builder::new_multi_thread(),
        }
        .enable_all()
        .build()
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CurrentThread => "current-thread",
            Self::MultiThread => "multi-thread",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores(n: usize) -> Option<NonZeroUsize> {
        NonZeroUsize::new(n)
    }

    #[test]
    fn one_core_runs_on_the_current_thread() {
        assert_eq!(Flavor::for_cores(cores(1), false), Flavor::CurrentThread);
    }

    #[test]
    fn more_cores_or_an_unknown_count_run_the_multi_thread_scheduler() {
        assert_eq!(Flavor::for_cores(cores(2), false), Flavor::MultiThread);
        assert_eq!(Flavor::for_cores(cores(64), false), Flavor::MultiThread);
        assert_eq!(Flavor::for_cores(None, false), Flavor::MultiThread);
    }

    #[test]
    fn an_explicit_worker_count_is_kept_even_on_one_core() {
        assert_eq!(Flavor::for_cores(cores(1), true), Flavor::MultiThread);
    }

    #[test]
    fn both_flavors_build_and_run_a_task() {
        for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
            let runtime = flavor.build().expect("a runtime");
            let answer = runtime.block_on(async { tokio::spawn(async { 42 }).await });
            assert_eq!(answer.ok(), Some(42), "{flavor}");
        }
    }
}
