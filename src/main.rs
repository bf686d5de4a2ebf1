//! Thin shim: parse the command line, run the library.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = employes_sync::cli::Cli::parse();
    employes_sync::commands::run(cli).await
}
