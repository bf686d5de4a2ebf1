//! Command line: `serve`, `migrate`, `simulate`, `sync`, `healthcheck`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "employes-sync", version, about = "Keeps employees in step with Employes and publishes what changed")]
pub struct Cli {
    /// Optional KEY=VALUE configuration file (the environment overrides it).
    #[arg(long, global = true, env = "CONFIG_FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Http,
    Worker,
    Scheduler,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (all roles by default). Applies migrations and creates streams first.
    Serve {
        #[arg(long, value_delimiter = ',', default_value = "http,worker,scheduler")]
        roles: Vec<Role>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Run the Employes API simulator.
    Simulate(SimulateArgs),
    /// Request a sync (source `api`); with --wait, follow it to the end.
    /// Exit code: 0 completed, 2 completed_with_errors, 1 failed.
    Sync {
        /// Sync only these employees (repeatable).
        #[arg(long = "employee")]
        employees: Vec<Uuid>,
        /// Follow progress until the session ends.
        #[arg(long)]
        wait: bool,
    },
    /// Exit 0 when the service answers its health check (for container HEALTHCHECKs).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    #[arg(long, default_value = crate::simulator::DEFAULT_COMPANY_ID)]
    pub company_id: Uuid,
    #[arg(long, default_value_t = 110)]
    pub employees: usize,
    #[arg(long, default_value_t = 99)]
    pub with_history: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Requests per second before answering 429.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    #[arg(long, default_value_t = 30)]
    pub latency_ms: u64,
    #[arg(long, requires = "webhook_secret")]
    pub webhook_url: Option<String>,
    #[arg(long, requires = "webhook_url")]
    pub webhook_secret: Option<String>,
}
