//! What each subcommand does. Errors end as one line on stderr and a non-zero exit.

mod companies;

use std::{process::ExitCode, time::Duration};

use anyhow::Context as _;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::{
    app::{self, App},
    cli::{Cli, Command, SimulateArgs},
    config::Config,
    db::sessions,
    domain::{SessionStatus, Source},
    simulator::{SimConfig, Simulator},
    sync::{RequestedBy, SyncTrigger, progress, request_sync_audited},
    telemetry,
};

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Simulate(args) => {
            telemetry::init(None);
            simulate(args).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Healthcheck { url } => healthcheck(&url).await,
        command => match Config::load(cli.config.as_deref()) {
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            Ok(config) => {
                telemetry::init(config.runtime.log_format);
                match command {
                    Command::Serve { roles } => serve(config, roles).await.map(|_| ExitCode::SUCCESS),
                    Command::Migrate => app::connect(&config).await.map(|_| {
                        eprintln!("migrations applied");
                        ExitCode::SUCCESS
                    }),
                    Command::Sync { company, employees, wait, operator } => {
                        sync(config, company, employees, wait, operator).await
                    }
                    Command::Token { email, ttl, role, companies } => {
                        let companies = (!companies.is_empty()).then_some(companies.as_slice());
                        let who = crate::http::SignInFor { email: &email, role, companies };
                        token(&config, &who, ttl).map(|_| ExitCode::SUCCESS)
                    }
                    Command::Companies(command) => companies::run(&config, command).await,
                    Command::Simulate(_) | Command::Healthcheck { .. } => {
                        unreachable!("handled above")
                    }
                }
            }
        },
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {}", crate::error::one_line(&e));
        ExitCode::FAILURE
    })
}

/// Cancelled on SIGINT or SIGTERM.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        t.cancel();
    });
    token
}

async fn serve(config: Config, roles: Vec<crate::cli::Role>) -> anyhow::Result<()> {
    let app = App::build(config, roles).await?;
    if let Some(addr) = app.local_addr() {
        eprintln!("employes-sync listening on http://{addr} — dashboard at http://{addr}/employes-sync");
    }
    app.run_until_stopped(shutdown_token()).await
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let addr = args.addr;
    let cfg = simulator_config(args)?;
    let sim = Simulator::bind(cfg).await.with_context(|| format!("--addr {addr}"))?;
    let companies = sim.companies();
    let count = if companies.len() > 1 { format!(" companies={}", companies.len()) } else { String::new() };
    println!("simulator listening: base_url={} company_id={}{count}", sim.base_url(), sim.company_id());
    if companies.len() > 1 && companies.len() <= 20 {
        for c in companies {
            let key = if c.key.is_some() { "own key" } else { "any key" };
            println!("company {} employees={} with_history={} ({key}) {}", c.id, c.employees, c.with_history, c.name);
        }
    } else if companies.len() > 20 {
        println!("GET {}/_sim/companies lists the {} companies", sim.root_url(), companies.len());
    }
    sim.run_until_stopped(shutdown_token()).await
}

/// The simulator's configuration from `simulate`'s options; a size, key or secret for a
/// company that is not simulated is an error naming the option.
fn simulator_config(args: SimulateArgs) -> anyhow::Result<SimConfig> {
    let mut cfg = SimConfig {
        addr: args.addr,
        company_id: args.company_id,
        employees: args.employees,
        with_history: args.with_history,
        seed: args.seed,
        rate_limit: args.rate_limit,
        latency_ms: args.latency_ms,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret.map(SecretString::from),
        companies: Vec::new(),
    }
    .with_companies(args.companies as usize);
    let (all, with_history) = (cfg.employees, cfg.with_history.min(cfg.employees));
    let share = |employees: usize| (employees * with_history).checked_div(all).unwrap_or(0);
    let unknown = |option: &str, id: uuid::Uuid, n: usize| {
        anyhow::anyhow!(
            "{option} names company {id}, which is not one of the {n} simulated (see --companies, --company-id, --seed)"
        )
    };
    let n = cfg.companies.len();
    for size in args.company_size {
        let with_history = size.with_history.unwrap_or_else(|| share(size.employees));
        let c = cfg.company_mut(size.company_id).ok_or_else(|| unknown("--company-size", size.company_id, n))?;
        (c.employees, c.with_history) = (size.employees, with_history);
    }
    for key in args.company_key {
        let c = cfg.company_mut(key.company_id).ok_or_else(|| unknown("--company-key", key.company_id, n))?;
        c.key = Some(key.value);
    }
    for secret in args.company_webhook_secret {
        let c = cfg
            .company_mut(secret.company_id)
            .ok_or_else(|| unknown("--company-webhook-secret", secret.company_id, n))?;
        c.webhook_secret = Some(SecretString::from(secret.value));
    }
    let unsigned = cfg.companies.iter().any(|c| c.webhook_secret.is_none());
    if cfg.webhook_url.is_some() && cfg.webhook_secret.is_none() && unsigned {
        anyhow::bail!("--webhook-url needs --webhook-secret (or --company-webhook-secret for every company)");
    }
    Ok(cfg)
}

async fn healthcheck(url: &str) -> anyhow::Result<ExitCode> {
    let resp = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?.get(url).send().await?;
    Ok(if resp.status().is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The exit code of `sync --wait`: 0 completed, 2 completed with errors, 1 failed (or not ended).
pub fn exit_code_for(status: SessionStatus) -> u8 {
    match status {
        SessionStatus::Completed => 0,
        SessionStatus::CompletedWithErrors => 2,
        SessionStatus::Failed | SessionStatus::Queued | SessionStatus::Running => 1,
    }
}

/// Who runs the CLI: `--as NAME`, else the login name (the user `sudo` was run by, when it was).
fn operator_name(named: Option<String>) -> anyhow::Result<String> {
    let name = named
        .or_else(|| std::env::var("SUDO_USER").ok().filter(|u| !u.trim().is_empty()))
        .or_else(|| whoami::fallible::username().ok())
        .ok_or_else(|| anyhow::anyhow!("cannot tell who you are: name yourself with --as NAME"))?;
    let name = name.trim();
    if name.is_empty() || name.len() > 254 || name.chars().any(char::is_control) {
        anyhow::bail!("--as takes a name of 1 to 254 printable characters");
    }
    Ok(name.to_string())
}

/// Print a sign-in token for `who`.
fn token(config: &Config, who: &crate::http::SignInFor<'_>, ttl: Duration) -> anyhow::Result<()> {
    let secret = config
        .auth_jwt_secret
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("AUTH_JWT_SECRET is not set: the service would accept no token"))?;
    println!("{}", crate::http::sign_in_token(secret, who, ttl)?);
    Ok(())
}

/// The company `sync` means: the one named (it must exist), or the only one registered.
async fn company_for_sync(db: &crate::db::Db, named: Option<uuid::Uuid>) -> anyhow::Result<uuid::Uuid> {
    let ids = crate::db::companies::ids(db).await?;
    match (named, ids.as_slice()) {
        (Some(id), ids) if ids.contains(&id) => Ok(id),
        (Some(id), _) => anyhow::bail!("no company {id} is registered"),
        (None, [only]) => Ok(*only),
        (None, []) => anyhow::bail!("no company is registered yet (start `employes-sync serve` once)"),
        (None, _) => anyhow::bail!("several companies are registered: name one with --company"),
    }
}

async fn sync(
    config: Config,
    company: Option<uuid::Uuid>,
    employees: Vec<uuid::Uuid>,
    wait: bool,
    operator: Option<String>,
) -> anyhow::Result<ExitCode> {
    let triggered_by = operator_name(operator)?;
    let (db, bus) = app::connect(&config).await?;
    let company = company_for_sync(&db, company).await?;
    let trigger = SyncTrigger {
        company_id: company,
        source: Source::Api,
        triggered_by,
        employee_ids: (!employees.is_empty()).then_some(employees),
        idempotency_key: None,
        dedup_id: None,
    };
    // Whoever runs the CLI holds the database's credentials: they act as an admin.
    let by = RequestedBy { role: crate::domain::Role::Admin, request_id: None };
    let requested = request_sync_audited(&db, &bus, config.worker.coalesce_window, &trigger, &by).await?;
    eprintln!(
        "session {} {}{}",
        requested.session_id,
        requested.status,
        if requested.coalesced { " (joined a sync already under way)" } else { "" }
    );
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")?.progress_chars("=> "));
    let mut events = std::pin::pin!(progress::follow(&bus, &db, requested.session_id).await?);
    while let Some(event) = events.next().await {
        if event.is_final() {
            break;
        }
        bar.set_message(event.step.name());
        bar.set_length(event.total.max(0) as u64);
        bar.set_position(event.processed.max(0) as u64);
    }
    bar.finish_and_clear();
    let s = sessions::get(&db, requested.session_id).await?.ok_or_else(|| anyhow::anyhow!("session vanished"))?;
    if !s.is_final() {
        anyhow::bail!("the progress stream ended unexpectedly");
    }
    println!(
        "{}: {} employees, {} with history, {} changes, {} errors{}",
        s.status,
        s.employees_processed,
        s.history_collected,
        s.changes_detected,
        s.errors_count,
        s.failure_reason.map(|r| format!(" — {r}")).unwrap_or_default()
    );
    Ok(ExitCode::from(exit_code_for(s.status)))
}
