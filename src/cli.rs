//! Command line: `serve`, `migrate`, `simulate`, `sync`, `token`, `companies`, `healthcheck`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand, ValueEnum};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "employes-sync", version, about = "Keeps employees in step with Employes and publishes what changed")]
pub struct Cli {
    /// Optional KEY=VALUE configuration file (the environment overrides it).
    #[arg(long, global = true, env = "CONFIG_FILE", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The API, the dashboard and the webhook intake (on HTTP_ADDR).
    Http,
    /// Runs the queued syncs.
    Worker,
    /// Requests the scheduled full syncs (SYNC_SCHEDULE).
    Scheduler,
}

/// What `sync` and `migrate` read of the environment.
const STORE_KEYS: &str = "Reads DATABASE_URL, NATS_URL, NATS_SUBJECT_PREFIX and STARTUP_TIMEOUT \
                          (defaults and meanings: `employes-sync serve --help`).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (all roles by default). Applies migrations and creates streams first.
    #[command(after_help = crate::config::reference::help())]
    Serve {
        /// Roles this process runs, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "http,worker,scheduler", value_name = "ROLE,...")]
        roles: Vec<Role>,
    },
    /// Apply database migrations and exit.
    #[command(after_help = "Reads DATABASE_URL and STARTUP_TIMEOUT (see `employes-sync serve --help`).")]
    Migrate,
    /// Run the Employes API simulator.
    Simulate(SimulateArgs),
    /// Request a sync (source `api`); with --wait, follow it to the end.
    ///
    /// Exit code with --wait: 0 completed, 2 completed_with_errors, 1 failed.
    #[command(after_help = STORE_KEYS)]
    Sync {
        /// The company to sync (UUID). Default: the only one registered.
        #[arg(long, value_name = "UUID")]
        company: Option<Uuid>,
        /// Sync only this employee (UUID; repeat for more). Default: every employee.
        #[arg(long = "employee", value_name = "ID")]
        employees: Vec<Uuid>,
        /// Follow progress with a progress bar until the session ends.
        #[arg(long)]
        wait: bool,
        /// Who asks, recorded as the session's `triggered_by`. Default: your login name.
        #[arg(long = "as", value_name = "NAME")]
        operator: Option<String>,
    },
    /// Print a sign-in token (a JWT) for the dashboard and the API.
    ///
    /// An HS256 JWT with `email`, `role` and (with --company) `companies` claims, signed with
    /// AUTH_JWT_SECRET; syncs started with it are recorded as source `manual`, triggered by that
    /// e-mail address.
    #[command(after_help = "Reads AUTH_JWT_SECRET (the service must have the same one).")]
    Token {
        /// The person's e-mail address (the token's `email` claim).
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// How long the token is valid, e.g. 30m, 8h or 7d.
        #[arg(long, value_name = "DURATION", default_value = "8h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// What the person may do: viewer (read), operator (also sync and check companies) or admin.
        #[arg(long, value_name = "ROLE", default_value = "operator", value_parser = parse_access_role)]
        role: crate::domain::Role,
        /// A company the person may see (repeatable); without it, every company.
        #[arg(long = "company", value_name = "UUID")]
        companies: Vec<Uuid>,
    },
    /// List, add, remove or check companies, in the database directly (no running service needed).
    #[command(
        subcommand,
        after_help = "Reads DATABASE_URL, SECRETS_KEY (to add a key or open stored ones), \
                                         EMPLOYES_API_URL (to check) and STARTUP_TIMEOUT."
    )]
    Companies(CompaniesCommand),
    /// Exit 0 when the service answers its health check (for container HEALTHCHECKs).
    Healthcheck {
        /// The URL to ask (`/readyz` also checks Postgres and NATS).
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

/// `companies …`: changes take effect in running replicas within 30 s.
#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// Every company: id, name, key, rate limit, schedule, employees, last successful sync.
    List,
    /// Add a company with its own API key (stored encrypted under SECRETS_KEY).
    Add {
        /// The company's id in Employes.
        #[arg(long, value_name = "UUID")]
        id: Uuid,
        /// Its name (default: `Company <first 8 characters of the id>`).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// A file holding the Employes API key (`-` reads it from stdin); never pass a key as an argument.
        #[arg(long, value_name = "FILE")]
        api_key_file: PathBuf,
        /// Requests per second to Employes (default EMPLOYES_RATE_LIMIT).
        #[arg(long, value_name = "N")]
        rate_limit: Option<u32>,
        /// Full syncs: a cron expression with seconds, or `off` (default SYNC_SCHEDULE).
        #[arg(long, value_name = "CRON")]
        schedule: Option<String>,
        /// A file of `whsec_…` secrets, one per line, its webhooks are verified with.
        #[arg(long, value_name = "FILE")]
        webhook_secrets_file: Option<PathBuf>,
    },
    /// Delete a company and everything stored about it.
    Remove {
        /// The company's id.
        id: Uuid,
    },
    /// One list call to Employes with the company's key: exit 0 when key and id work.
    Check {
        /// The company's id.
        id: Uuid,
    },
}

/// Options of `simulate` (the contract's "Simulator" sections; the README's "The built-in
/// Employes simulator" shows its control API).
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    /// Id of the first (or only) company.
    #[arg(long, value_name = "UUID", default_value = crate::simulator::DEFAULT_COMPANY_ID)]
    pub company_id: Uuid,
    /// Number of companies; those after the first get ids derived from --seed.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub companies: u32,
    /// Employees generated for each company.
    #[arg(long, value_name = "N", default_value_t = 110)]
    pub employees: usize,
    /// How many of each company's employees have employment history (the others answer 404 or an empty list).
    #[arg(long, value_name = "N", default_value_t = 99)]
    pub with_history: usize,
    /// Sizes one company (repeatable); WITH_HISTORY defaults to the --with-history/--employees share.
    #[arg(long, value_name = "UUID=EMPLOYEES[:WITH_HISTORY]", value_parser = parse_company_size)]
    pub company_size: Vec<CompanySize>,
    /// The only bearer token a company accepts, 401 for others (repeatable); other companies take any token.
    #[arg(long, value_name = "UUID=KEY", value_parser = parse_company_key)]
    pub company_key: Vec<CompanySecret>,
    /// Seed of the generated data: the same seed gives the same companies, employees and ids.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Requests per second each bearer token may send (over all companies) before answers are 429.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    /// Latency added to every Employes API answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30)]
    pub latency_ms: u64,
    /// Where to POST a signed webhook after each mutation; {company_id} is replaced by the company's id.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Secret that signs the webhooks (Standard Webhooks, whsec_ + base64 of at least 16 bytes).
    #[arg(long, value_name = "WHSEC", requires = "webhook_url")]
    pub webhook_secret: Option<String>,
    /// A company's own webhook secret instead of --webhook-secret (repeatable).
    #[arg(long, value_name = "UUID=WHSEC", value_parser = parse_company_secret, requires = "webhook_url")]
    pub company_webhook_secret: Vec<CompanySecret>,
}

/// `--company-size UUID=EMPLOYEES[:WITH_HISTORY]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanySize {
    pub company_id: Uuid,
    pub employees: usize,
    pub with_history: Option<usize>,
}

/// `UUID=VALUE` of `--company-key` and `--company-webhook-secret`; the value never prints.
#[derive(Clone)]
pub struct CompanySecret {
    pub company_id: Uuid,
    pub value: String,
}

impl std::fmt::Debug for CompanySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=[REDACTED]", self.company_id)
    }
}

fn split_company(s: &str, what: &str) -> Result<(Uuid, String), String> {
    let (id, value) = s.split_once('=').ok_or_else(|| format!("expected UUID={what}"))?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| format!("{:?} is not a company UUID", id.trim()))?;
    Ok((id, value.trim().to_string()))
}

fn parse_company_size(s: &str) -> Result<CompanySize, String> {
    let (company_id, size) = split_company(s, "EMPLOYEES[:WITH_HISTORY]")?;
    let count = |v: &str, name: &str| v.trim().parse::<usize>().map_err(|_| format!("{name} must be a whole number"));
    let (employees, with_history) = match size.split_once(':') {
        Some((e, h)) => (count(e, "EMPLOYEES")?, Some(count(h, "WITH_HISTORY")?)),
        None => (count(&size, "EMPLOYEES")?, None),
    };
    if with_history.is_some_and(|h| h > employees) {
        return Err("WITH_HISTORY must not exceed EMPLOYEES".into());
    }
    Ok(CompanySize { company_id, employees, with_history })
}

fn parse_company_key(s: &str) -> Result<CompanySecret, String> {
    let (company_id, value) = split_company(s, "KEY")?;
    if value.is_empty() {
        return Err("KEY must not be empty".into());
    }
    Ok(CompanySecret { company_id, value })
}

fn parse_company_secret(s: &str) -> Result<CompanySecret, String> {
    let (company_id, value) = split_company(s, "WHSEC")?;
    crate::webhook_signature::WebhookKey::from_whsec(&value).map_err(|e| format!("the secret: {e}"))?;
    Ok(CompanySecret { company_id, value })
}

/// `--role`: viewer, operator or admin.
fn parse_access_role(s: &str) -> Result<crate::domain::Role, String> {
    s.parse().map_err(|_| "must be viewer, operator or admin".to_string())
}
