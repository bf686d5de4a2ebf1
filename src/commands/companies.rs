//! `employes-sync companies list | add | remove | check`: the company writes of the API, against
//! the database directly (running replicas reload within 30 s). Keys are read from a file (or
//! stdin), never from an argument, and never printed.

use std::{io::Read as _, path::Path, process::ExitCode};

use tokio::time::Instant;

use anyhow::Context as _;
use secrecy::SecretString;

use crate::{
    cli::CompaniesCommand,
    companies::{self, ChangedBy, NewCompany, Registry, RegistrySettings},
    config::Config,
    db::{self, Db},
    startup,
};

pub async fn run(config: &Config, command: CompaniesCommand) -> anyhow::Result<ExitCode> {
    let db = connect(config).await?;
    match command {
        CompaniesCommand::List => list(config, &db).await,
        CompaniesCommand::Add { id, name, api_key_file, rate_limit, schedule, webhook_secrets_file } => {
            let api_key = Some(SecretString::from(read_secret(&api_key_file, "--api-key-file")?));
            let webhook_secrets = match webhook_secrets_file {
                None => None,
                Some(file) => {
                    let text = read_secret(&file, "--webhook-secrets-file")?;
                    Some(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| l.to_string().into()).collect())
                }
            };
            let new = NewCompany { id, name, api_key, rate_limit, schedule, webhook_secrets, ..NewCompany::default() };
            companies::insert(&db, config.secrets_key.as_ref(), &new, &cli_user()?).await.map_err(cli_error)?;
            println!("added company {id}; running replicas pick it up within 30 s");
            Ok(ExitCode::SUCCESS)
        }
        CompaniesCommand::Remove { id } => {
            companies::delete(&db, id, &cli_user()?).await.map_err(cli_error)?;
            println!("removed company {id} and everything stored about it");
            Ok(ExitCode::SUCCESS)
        }
        CompaniesCommand::Check { id } => {
            let Some(url) = config.employes.api_url.clone() else {
                anyhow::bail!(
                    "EMPLOYES_API_URL is not set: the built-in simulator runs inside `serve`; check with \
                     POST /api/companies/{{id}}/check instead"
                );
            };
            let registry = registry(config, &db, url).await?;
            let company = registry.get(id).ok_or_else(|| anyhow::anyhow!("no such company: {id}"))?;
            match companies::check(&company, std::time::Duration::from_secs(60)).await {
                Ok(employees) => {
                    println!("ok: the key and the id work ({employees} employees)");
                    Ok(ExitCode::SUCCESS)
                }
                Err(reason) => {
                    println!("not ok: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// Postgres, migrated.
async fn connect(config: &Config) -> anyhow::Result<Db> {
    let timeout = config.runtime.startup_timeout;
    startup::wait_for_postgres(config.database_url(), timeout, Instant::now() + timeout).await?;
    let db = db::pool(config.database_url()).context("DATABASE_URL")?;
    db::migrate(&db, config.employes.v1_company()).await?;
    Ok(db)
}

/// The companies with their clients (no NATS: nothing to announce to).
async fn registry(config: &Config, db: &Db, base_url: String) -> anyhow::Result<Registry> {
    let settings = RegistrySettings::from_config(config, base_url);
    Registry::load(db.clone(), None, settings, config.secrets_key.clone()).await
}

async fn list(config: &Config, db: &Db) -> anyhow::Result<ExitCode> {
    let rows = db::companies::all(db).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let activity = db::companies::activity(db, &ids).await?;
    println!(
        "{:<36}  {:<28}  {:<9}  {:>5}  {:<16}  {:>9}  last success",
        "id", "name", "key", "rate", "schedule", "employees"
    );
    for row in &rows {
        let a = activity.iter().find(|a| a.id == row.id);
        let key = if row.api_key_enc.is_some() {
            "stored"
        } else if row.from_env && config.employes.api_key.is_some() {
            "env"
        } else if row.simulated {
            "simulator"
        } else {
            "missing"
        };
        let rate = row.rate_limit.map_or(config.employes.rate_limit, |r| r.max(1) as u32);
        let schedule = row.schedule.as_deref().unwrap_or("(SYNC_SCHEDULE)");
        let name: String = row.name.chars().take(28).collect();
        let last = a.and_then(|a| a.last_success_at).map_or_else(|| "never".to_string(), |t| t.to_rfc3339());
        let employees = a.map_or(0, |a| a.employees);
        println!("{:<36}  {name:<28}  {key:<9}  {rate:>5}  {schedule:<16}  {employees:>9}  {last}", row.id.to_string());
    }
    Ok(ExitCode::SUCCESS)
}

/// A secret from a file (`-` = stdin), trimmed; the error names the option, never the content.
fn read_secret(path: &Path, option: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).with_context(|| format!("{option}: reading stdin"))?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("{option} {}", path.display()))?;
    }
    let text = text.trim().to_string();
    if text.is_empty() {
        anyhow::bail!("{option} {}: the file is empty", path.display());
    }
    Ok(text)
}

fn cli_error(e: companies::CompanyError) -> anyhow::Error {
    match e {
        companies::CompanyError::Database(e) => anyhow::Error::new(e).context("the database"),
        e => anyhow::anyhow!("{e}"),
    }
}

/// Whoever runs the CLI holds the database's credentials: they act as an admin, under their
/// login name.
fn cli_user() -> anyhow::Result<ChangedBy> {
    Ok(ChangedBy { actor: super::operator_name(None)?, role: crate::domain::Role::Admin, request_id: None })
}
