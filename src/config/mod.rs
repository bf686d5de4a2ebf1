//! Typed configuration: defaults, then an optional `KEY=VALUE` file, then the environment.
//! Validated once at start; every problem is one line naming the key. Each section (one module
//! each) reads and checks its own keys.

mod employes;
mod endpoints;
mod http;
mod limits;
mod milestones;
pub mod reference;
mod runtime;
mod secrets;
mod store;
mod values;
mod webhooks;
mod worker;

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use secrecy::{ExposeSecret, SecretString};

pub use employes::{EmployesConfig, default_company_id};
pub use endpoints::EndpointConfig;
pub use http::ApiToken;
pub use limits::LimitsConfig;
pub use milestones::MilestonesConfig;
pub use runtime::{LogFormat, MIN_WATCH_INTERVAL, RuntimeConfig};
pub use store::Pools;
use values::{Values, bad};
pub use worker::WorkerConfig;

use crate::{companies::SecretsKey, webhook_signature::WebhookKey};

/// A configuration problem: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

#[derive(Debug)]
pub struct Config {
    pub database_url: SecretString,
    /// `DATABASE_MAX_CONNECTIONS`, `DATABASE_API_CONNECTIONS`.
    pub pools: Pools,
    pub nats_urls: String,
    pub subject_prefix: String,
    pub stream_replicas: usize,
    pub http_addr: SocketAddr,
    pub employes: EmployesConfig,
    pub simulator_addr: SocketAddr,
    pub webhook_secrets: Vec<WebhookKey>,
    /// The raw first `whsec_` secret, handed to the in-process simulator so its webhooks verify.
    pub webhook_secret_raw: Option<SecretString>,
    pub auth_jwt_secret: Option<SecretString>,
    pub api_tokens: Vec<ApiToken>,
    pub cors_origins: Vec<String>,
    /// The schedule, the watch, retention, logs, start-up and shutdown.
    pub runtime: RuntimeConfig,
    pub request_timeout: Duration,
    pub worker: WorkerConfig,
    /// `SECRETS_KEY`: seals company API keys and webhook secrets at rest.
    pub secrets_key: Option<SecretsKey>,
    /// `SECRETS_KEY_PREVIOUS`: what was sealed under it is sealed under `SECRETS_KEY` at start.
    pub secrets_key_previous: Option<SecretsKey>,
    /// `TIMEZONE`, `MILESTONE_REMINDERS`, `MILESTONE_TODAY`.
    pub milestones: MilestonesConfig,
    /// Outbound endpoints: retries, disabling, timeout, concurrency, the SSRF guard.
    pub endpoints: EndpointConfig,
    /// Request rates per caller and per sending company, and open event streams.
    pub limits: LimitsConfig,
}

/// Every key this service reads (the README's configuration table), in the order of
/// [`reference::REFERENCE`], where each is documented; the environment is consulted for these only.
pub const KEYS: &[&str] = &{
    let mut keys = [""; reference::REFERENCE.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = reference::REFERENCE[i].key;
        i += 1;
    }
    keys
};

impl Config {
    /// Defaults → optional file (`CONFIG_FILE` or `file`) → process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let mut values = HashMap::new();
        let file = file.map(|p| p.to_path_buf()).or_else(|| std::env::var_os("CONFIG_FILE").map(Into::into));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| bad("CONFIG_FILE", format!("cannot read {}: {e}", path.display())))?;
            values.extend(parse_file(&text)?);
        }
        for key in KEYS {
            if let Ok(v) = std::env::var(key) {
                values.insert((*key).to_string(), v);
            }
        }
        Config::from_map(&values)
    }

    /// Build from explicit key/values (unset keys take their defaults).
    pub fn from_map(values: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::from_values(&Values::new(values))
    }

    fn from_values(v: &Values<'_>) -> Result<Config, ConfigError> {
        let employes::Employes { employes, simulator_addr } = employes::parse(v)?;
        let store::Store { database_url, pools, nats_urls, subject_prefix, stream_replicas } = store::parse(v)?;
        let webhooks::Webhooks { webhook_secrets, webhook_secret_raw } = webhooks::parse(v)?;
        let runtime = runtime::parse(v)?;
        let worker = worker::parse(v)?;
        let http::Http { http_addr, request_timeout, auth_jwt_secret, api_tokens, cors_origins } = http::parse(v)?;
        let secrets::Secrets { key: secrets_key, previous: secrets_key_previous } = secrets::parse(v)?;
        let milestones = milestones::parse(v)?;
        let endpoints = endpoints::parse(v)?;
        let limits = limits::parse(v)?;
        Ok(Config {
            database_url,
            pools,
            nats_urls,
            subject_prefix,
            stream_replicas,
            http_addr,
            employes,
            simulator_addr,
            webhook_secrets,
            webhook_secret_raw,
            auth_jwt_secret,
            api_tokens,
            cors_origins,
            runtime,
            request_timeout,
            worker,
            secrets_key,
            secrets_key_previous,
            milestones,
            endpoints,
            limits,
        })
    }

    /// True when syncing against the in-process simulator.
    pub fn uses_simulator(&self) -> bool {
        self.employes.api_url.is_none()
    }

    /// The database URL, for connecting (never logged).
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

fn parse_file(text: &str) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (k, v) = line.split_once('=').ok_or_else(|| bad("CONFIG_FILE", "lines must be KEY=VALUE"))?;
        let k = k.trim();
        if !KEYS.contains(&k) {
            return Err(bad("CONFIG_FILE", format!("unknown key {k}")));
        }
        out.insert(k.to_string(), v.trim().trim_matches('"').to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_valid_and_use_the_simulator() {
        let c = Config::from_map(&HashMap::new()).unwrap();
        assert!(c.uses_simulator());
        assert_eq!(c.employes.rate_limit, 5);
        assert_eq!(c.subject_prefix, "employes");
        assert!(c.runtime.sync_schedule.is_some());
        assert_eq!(c.runtime.sync_outdated_after, Duration::from_secs(6 * 3600));
        assert_eq!(c.runtime.retention, Duration::from_secs(400 * 24 * 3600));
        assert_eq!(c.employes.v1_company(), Some(default_company_id()));
        assert_eq!(c.employes.simulator_companies, 1);
        assert_eq!(c.worker.concurrency, 128);
        assert_eq!(c.worker.finish_concurrency, 16);
    }

    #[test]
    fn each_bad_value_names_its_key() {
        for (key, value) in [
            ("EMPLOYES_RATE_LIMIT", "fast"),
            ("EMPLOYES_RATE_LIMIT", "0"),
            ("HTTP_ADDR", "nowhere"),
            ("EMPLOYES_COMPANY_ID", "acme"),
            ("WEBHOOK_SECRET", "plain"),
            ("WEBHOOK_SECRET", "whsec_!!!"),
            ("SYNC_SCHEDULE", "every day"),
            ("SYNC_OUTDATED_AFTER", "soon"),
            ("API_TOKENS", "nocolon"),
            ("NATS_SUBJECT_PREFIX", "a.b"),
            ("LOG_FORMAT", "xml"),
        ] {
            let err = Config::from_map(&map(&[(key, value)])).unwrap_err();
            assert_eq!(err.key, key, "{key}={value}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn companies_from_the_environment_need_the_key_they_share() {
        let url = ("EMPLOYES_API_URL", "https://connect.employes.nl/v4");
        let one = ("EMPLOYES_COMPANY_ID", "7e3f2a10-5b6c-4d8e-9f01-23456789abcd");
        assert_eq!(Config::from_map(&map(&[url, one])).unwrap_err().key, "EMPLOYES_API_KEY");
        // Without EMPLOYES_COMPANY_ID, companies are added later (API or CLI) with keys of their own.
        let c = Config::from_map(&map(&[url])).unwrap();
        assert!(c.employes.company_ids.is_empty());
        assert_eq!(c.employes.v1_company(), None);
    }

    #[test]
    fn the_environment_may_name_several_companies() {
        let (a, b) = ("7e3f2a10-5b6c-4d8e-9f01-23456789abcd", "0b7d7c8e-1111-4222-8333-944455556666");
        let ids = format!("{a}, {b}");
        let c = Config::from_map(&map(&[("EMPLOYES_COMPANY_ID", &ids), ("EMPLOYES_COMPANY_NAME", "A, B")])).unwrap();
        assert_eq!(c.employes.company_ids.iter().map(ToString::to_string).collect::<Vec<_>>(), [a, b]);
        assert_eq!(c.employes.company_names, ["A", "B"]);
        assert_eq!(c.employes.v1_company().unwrap().to_string(), a);
        let twice = format!("{a},{a}");
        assert_eq!(Config::from_map(&map(&[("EMPLOYES_COMPANY_ID", &twice)])).unwrap_err().key, "EMPLOYES_COMPANY_ID");
        let names = Config::from_map(&map(&[("EMPLOYES_COMPANY_ID", &ids), ("EMPLOYES_COMPANY_NAME", "only one")]));
        assert_eq!(names.unwrap_err().key, "EMPLOYES_COMPANY_NAME");
        // One company takes the whole name, commas and all.
        let one = Config::from_map(&map(&[("EMPLOYES_COMPANY_ID", a), ("EMPLOYES_COMPANY_NAME", "Acme, B.V.")]));
        assert_eq!(one.unwrap().employes.company_names, ["Acme, B.V."]);
    }

    #[test]
    fn secrets_key_must_be_base64_of_32_bytes_and_never_prints() {
        let err = Config::from_map(&map(&[("SECRETS_KEY", "c2hvcnQ=")])).unwrap_err();
        assert_eq!(err.key, "SECRETS_KEY");
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let c = Config::from_map(&map(&[("SECRETS_KEY", key)])).unwrap();
        assert!(c.secrets_key.is_some());
        assert!(!format!("{c:?}").contains(key));
        // The previous key: checked alike, and only with a key to seal under anew.
        let old = "HxwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEAAAA=";
        let c = Config::from_map(&map(&[("SECRETS_KEY", key), ("SECRETS_KEY_PREVIOUS", old)])).unwrap();
        assert!(c.secrets_key_previous.is_some() && !format!("{c:?}").contains(old));
        let alone = Config::from_map(&map(&[("SECRETS_KEY_PREVIOUS", old)])).unwrap_err();
        assert_eq!(alone.key, "SECRETS_KEY_PREVIOUS");
        let bad = Config::from_map(&map(&[("SECRETS_KEY", key), ("SECRETS_KEY_PREVIOUS", "c2hvcnQ=")])).unwrap_err();
        assert_eq!(bad.key, "SECRETS_KEY_PREVIOUS");
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_map(&map(&[
            ("API_TOKENS", "ci:abcdefghijklmnopqrstu"),
            ("AUTH_JWT_SECRET", "jwt-secret-value"),
            ("WEBHOOK_SECRET", "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="),
        ]))
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("abcdefghijklmnopqrstu"));
        assert!(!printed.contains("jwt-secret-value"));
        assert!(!printed.contains("c2VjcmV0"));
        assert_eq!(c.webhook_secrets.len(), 1);
    }

    #[test]
    fn every_listed_key_is_read_and_every_key_read_is_listed() {
        let values = HashMap::new();
        let v = Values::new(&values);
        Config::from_values(&v).unwrap();
        let listed: std::collections::BTreeSet<&str> = KEYS.iter().copied().collect();
        assert_eq!(v.read(), listed);
    }

    #[test]
    fn a_number_that_is_not_one_names_its_key_and_says_a_number_is_expected() {
        let err = Config::from_map(&map(&[("EMPLOYES_RATE_LIMIT", "abc")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid configuration: EMPLOYES_RATE_LIMIT: expected a whole number, got "abc""#
        );
        let err = Config::from_map(&map(&[("WORKER_FETCH_CONCURRENCY", "0")])).unwrap_err();
        assert_eq!(err.key, "WORKER_FETCH_CONCURRENCY");
    }

    #[test]
    fn worker_max_deliver_caps_claim_attempts_within_1_to_1000() {
        for (value, attempts) in [("20", 20), ("0", 1), ("-3", 1), ("5000", 1000)] {
            let c = Config::from_map(&map(&[("WORKER_MAX_DELIVER", value)])).unwrap();
            assert_eq!(c.worker.max_attempts, attempts, "{value}");
        }
        assert_eq!(Config::from_map(&HashMap::new()).unwrap().worker.max_attempts, 20);
    }

    #[test]
    fn the_watch_runs_every_five_minutes_unless_set_or_off_and_never_below_a_second() {
        assert_eq!(Config::from_map(&HashMap::new()).unwrap().runtime.watch_interval, Some(Duration::from_secs(300)));
        for (value, interval) in [("10s", Some(10)), ("off", None), ("0s", None), ("1s", Some(1))] {
            let c = Config::from_map(&map(&[("WATCH_INTERVAL", value)])).unwrap();
            assert_eq!(c.runtime.watch_interval, interval.map(Duration::from_secs), "{value}");
        }
        for value in ["500ms", "often"] {
            let err = Config::from_map(&map(&[("WATCH_INTERVAL", value)])).unwrap_err();
            assert_eq!(err.key, "WATCH_INTERVAL", "{value}");
        }
    }

    #[test]
    fn schedule_off_disables_the_scheduler() {
        let c = Config::from_map(&map(&[("SYNC_SCHEDULE", "off")])).unwrap();
        assert!(c.runtime.sync_schedule.is_none());
    }
}
