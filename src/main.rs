//! Bootstrap only: the CLI does the rest.

use std::ffi::{c_int, c_long};

/// mimalloc rather than glibc's allocator: a webhook makes hundreds of small allocations
/// (HTTP, JSON, logs, metrics) around a few large buffers, and on the floor bench this took a
/// tenth off the CPU of a JSON webhook (peak RSS: the same under 8 MB uploads, +27 MB at 64
/// connections of 5 s samples). The binary's choice, not the library's: the library and the
/// tests that run it in-process keep the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mi_option_t` enum of the mimalloc (v3) that
/// `libmimalloc-sys` builds; the test below holds the number to that option's default.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// How long freed memory stays with the process before mimalloc gives it back to the OS.
/// mimalloc's own 1 s returned the body buffers of a load that had paused for a second, and
/// taking them again cost page faults that zero the memory again (a 2 MB huge page at a time
/// where transparent huge pages are on): 4–5 % of a multipart webhook's CPU in paired floor
/// bench runs. Ten seconds keeps them through such gaps and still gives a spike's memory back
/// soon after it ends; the price is a higher peak (a 6 000-request multipart run: 138 MB of
/// RSS against 118 MB).
const PURGE_DELAY_MS: c_long = 10_000;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
}

/// Sets [`PURGE_DELAY_MS`], unless the operator chose a delay with `MIMALLOC_PURGE_DELAY`.
fn keep_freed_memory_a_while() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc's options are plain values that may be set at any time, from any
        // thread; the option number is checked by the test below.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    }
}

fn main() -> std::process::ExitCode {
    keep_freed_memory_a_while();
    precall_webhook::app::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" {
        fn mi_option_get(option: c_int) -> c_long;
    }

    /// mimalloc's current purge delay, milliseconds.
    fn purge_delay_ms() -> c_long {
        // SAFETY: reading an option has no precondition.
        unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }
    }

    #[test]
    fn the_option_number_is_mimallocs_purge_delay_and_the_delay_is_set() {
        // 1000 ms is the default of mimalloc v3's purge delay and of no other option it has.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), 1_000, "not mimalloc v3's purge delay");
        }
        keep_freed_memory_a_while();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
        }
    }
}
