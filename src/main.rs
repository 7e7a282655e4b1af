//! Bootstrap only: the CLI does the rest.

fn main() -> std::process::ExitCode {
    precall_webhook::app::cli::main()
}
