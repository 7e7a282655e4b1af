//! Bootstrap only: the CLI does the rest.

/// mimalloc rather than glibc's allocator: a webhook makes hundreds of small allocations
/// (HTTP, JSON, logs, metrics) around a few large buffers, and on the floor bench this took a
/// tenth off the CPU of a JSON webhook (peak RSS: the same under 8 MB uploads, +27 MB at 64
/// connections of 5 s samples). The binary's choice, not the library's: the library and the
/// tests that run it in-process keep the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    precall_webhook::app::cli::main()
}
