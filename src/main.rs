//! Thin shim: parse the command line, run the library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: glibc's malloc/free were ~20 % of the instructions per webhook (callgrind), much of
/// it freeing across the runtime's threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = employes_sync::cli::Cli::parse();
    employes_sync::commands::run(cli).await
}
