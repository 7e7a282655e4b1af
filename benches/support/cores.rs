//! Keeping the server and the load generator off each other's core, with `taskset` (util-linux):
//! the server is started through `taskset -c CORE`, and the bench pins itself (every thread it
//! has so far; threads started later inherit it) with `taskset -a -p -c CORE PID`. Without
//! `taskset`, or on a machine with fewer than two cores, nothing is pinned and the bench says so.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The core the server under test runs on.
pub const SERVER_CORE: usize = 0;
/// The core the load generator and the mock upstream run on.
pub const LOAD_CORE: usize = 1;

/// `taskset` found on this process's `PATH`: the servers are started with a cleared
/// environment, where a bare name would not be found.
fn taskset() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("taskset"))
        .find(|path| path.is_file())
}

/// Whether the server and the load can each have a core of their own.
pub fn can_pin() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores >= 2 && taskset().is_some()
}

/// A command running `program` on `core` when given and `taskset` is there, else as is.
pub fn command_on(core: Option<usize>, program: impl AsRef<OsStr>) -> Command {
    match core.zip(taskset()) {
        Some((core, taskset)) => {
            let mut command = Command::new(taskset);
            command.arg("-c").arg(core.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Pins this process, every thread it has so far, to `core`. Call before starting a runtime.
///
/// # Errors
/// When `taskset` cannot be run or refuses.
pub fn pin_self(core: usize) -> Result<(), String> {
    let taskset = taskset().ok_or("taskset is not installed")?;
    let status = Command::new(taskset)
        .args([
            "-a",
            "-p",
            "-c",
            &core.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run taskset: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset failed: {status}"))
    }
}
