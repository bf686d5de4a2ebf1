//! Typed configuration: defaults, then an optional `KEY=VALUE` file, then the environment.
//! Validated once at start; every problem is one line naming the key.

use std::{collections::HashMap, net::SocketAddr, str::FromStr, time::Duration};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString, zeroize::Zeroizing};
use sha2::Sha256;
use uuid::Uuid;

use crate::simulator::DEFAULT_COMPANY_ID;

/// A configuration problem: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

fn bad(key: &'static str, problem: impl Into<String>) -> ConfigError {
    // One line, whatever the underlying parser printed.
    let problem: String = problem.into();
    ConfigError { key, problem: problem.split_whitespace().collect::<Vec<_>>().join(" ") }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A webhook signing key (decoded from `whsec_<base64>`), kept as the HMAC state keyed with it:
/// each delivery clones the state instead of hashing the key again. The state is as secret as
/// the key; it never prints (`Debug` is redacted) and lives as long as the configuration.
pub struct WebhookKey(Hmac<Sha256>);

impl WebhookKey {
    pub fn new(key: &[u8]) -> WebhookKey {
        WebhookKey(Hmac::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// A fresh HMAC keyed with this key.
    pub fn mac(&self) -> Hmac<Sha256> {
        self.0.clone()
    }
}

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey([REDACTED])")
    }
}

/// A named static API token (`API_TOKENS=name:token,...`).
#[derive(Debug)]
pub struct ApiToken {
    pub name: String,
    pub token: SecretString,
}

#[derive(Debug, Clone)]
pub struct EmployesConfig {
    /// `None` = the built-in simulator.
    pub api_url: Option<String>,
    pub api_key: SecretString,
    pub company_id: Uuid,
    pub rate_limit: u32,
    pub request_timeout: Duration,
    pub max_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// JetStream ack wait of the durable consumer.
    pub ack_wait: Duration,
    /// How often a running session heart-beats (and sends in-progress acks).
    pub heartbeat: Duration,
    /// A running session whose heartbeat is older than this may be taken over by another worker.
    pub takeover_after: Duration,
    /// A running session silent for this long is marked failed by the reaper.
    pub reap_after: Duration,
    pub max_deliver: i64,
    pub concurrency: usize,
    /// Employments fetched concurrently (all still under the client's rate limit).
    pub fetch_concurrency: usize,
    /// Targeted requests from one source within this window share a queued session.
    pub coalesce_window: Duration,
    /// A full sync fetches employments only for employees whose record changed, or whose
    /// history is older than this; zero = always every employee.
    pub history_refresh_after: Duration,
}

#[derive(Debug)]
pub struct Config {
    pub database_url: SecretString,
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
    /// `None` = scheduler off.
    pub sync_schedule: Option<cron::Schedule>,
    pub sync_outdated_after: Duration,
    pub log_format: Option<LogFormat>,
    pub shutdown_timeout: Duration,
    pub request_timeout: Duration,
    pub worker: WorkerConfig,
}

/// Every key this service reads (the contract's table plus operational extras).
pub const KEYS: &[&str] = &[
    "DATABASE_URL",
    "NATS_URL",
    "NATS_SUBJECT_PREFIX",
    "NATS_STREAM_REPLICAS",
    "HTTP_ADDR",
    "EMPLOYES_API_URL",
    "EMPLOYES_API_KEY",
    "EMPLOYES_COMPANY_ID",
    "EMPLOYES_RATE_LIMIT",
    "EMPLOYES_REQUEST_TIMEOUT",
    "EMPLOYES_MAX_ATTEMPTS",
    "SIMULATOR_ADDR",
    "WEBHOOK_SECRET",
    "WEBHOOK_COALESCE_WINDOW",
    "AUTH_JWT_SECRET",
    "API_TOKENS",
    "CORS_ORIGINS",
    "SYNC_SCHEDULE",
    "SYNC_OUTDATED_AFTER",
    "LOG_FORMAT",
    "SHUTDOWN_TIMEOUT",
    "HTTP_REQUEST_TIMEOUT",
    "WORKER_ACK_WAIT",
    "WORKER_HEARTBEAT",
    "WORKER_REAP_AFTER",
    "WORKER_MAX_DELIVER",
    "WORKER_CONCURRENCY",
    "WORKER_FETCH_CONCURRENCY",
    "HISTORY_REFRESH_AFTER",
];

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
        let get = |k: &str| values.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
        let api_url = get("EMPLOYES_API_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(url) = &api_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(bad("EMPLOYES_API_URL", "must start with http:// or https://"));
            }
        }
        let api_key = match (get("EMPLOYES_API_KEY"), &api_url) {
            (Some(k), _) => SecretString::from(k.to_string()),
            (None, None) => SecretString::from("simulator".to_string()),
            (None, Some(_)) => {
                return Err(bad("EMPLOYES_API_KEY", "required when EMPLOYES_API_URL is set"));
            }
        };
        let company_id = match get("EMPLOYES_COMPANY_ID") {
            Some(v) => Uuid::parse_str(v).map_err(|_| bad("EMPLOYES_COMPANY_ID", "not a UUID"))?,
            None if api_url.is_some() => {
                return Err(bad("EMPLOYES_COMPANY_ID", "required when EMPLOYES_API_URL is set"));
            }
            None => Uuid::parse_str(DEFAULT_COMPANY_ID).expect("constant company id is a UUID"),
        };
        let rate_limit: u32 = parse(get("EMPLOYES_RATE_LIMIT"), "EMPLOYES_RATE_LIMIT", 5)?;
        if rate_limit == 0 || rate_limit > 10_000 {
            return Err(bad("EMPLOYES_RATE_LIMIT", "must be between 1 and 10000 requests per second"));
        }
        let prefix = get("NATS_SUBJECT_PREFIX").unwrap_or("employes").to_string();
        if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || prefix.len() > 64 {
            return Err(bad("NATS_SUBJECT_PREFIX", "use 1-64 letters, digits, '_' or '-'"));
        }
        let webhook_raw = get("WEBHOOK_SECRET");
        let webhook_secrets = webhook_raw
            .map(|raw| raw.split_whitespace().map(decode_whsec).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        let sync_schedule = match get("SYNC_SCHEDULE").unwrap_or("0 0 */6 * * *") {
            "off" => None,
            expr => Some(
                cron::Schedule::from_str(expr)
                    .map_err(|e| bad("SYNC_SCHEDULE", format!("not a cron expression with seconds ({e})")))?,
            ),
        };
        let log_format = match get("LOG_FORMAT") {
            None => None,
            Some("json") => Some(LogFormat::Json),
            Some("pretty") => Some(LogFormat::Pretty),
            Some(_) => return Err(bad("LOG_FORMAT", "must be `json` or `pretty`")),
        };
        let heartbeat = duration(get("WORKER_HEARTBEAT"), "WORKER_HEARTBEAT", "5s")?;
        let concurrency = parse(get("WORKER_CONCURRENCY"), "WORKER_CONCURRENCY", 4usize)?;
        let fetch_concurrency = parse(get("WORKER_FETCH_CONCURRENCY"), "WORKER_FETCH_CONCURRENCY", 8usize)?;
        if concurrency == 0 || fetch_concurrency == 0 {
            return Err(bad("WORKER_CONCURRENCY", "must be at least 1"));
        }
        Ok(Config {
            database_url: SecretString::from(
                get("DATABASE_URL").unwrap_or("postgres://postgres@127.0.0.1:5432/employes_sync").to_string(),
            ),
            nats_urls: get("NATS_URL").unwrap_or("nats://127.0.0.1:4222").to_string(),
            subject_prefix: prefix,
            stream_replicas: parse(get("NATS_STREAM_REPLICAS"), "NATS_STREAM_REPLICAS", 1usize).and_then(|r| {
                if (1..=5).contains(&r) { Ok(r) } else { Err(bad("NATS_STREAM_REPLICAS", "must be 1 to 5")) }
            })?,
            http_addr: parse(get("HTTP_ADDR"), "HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            employes: EmployesConfig {
                api_url,
                api_key,
                company_id,
                rate_limit,
                request_timeout: duration(get("EMPLOYES_REQUEST_TIMEOUT"), "EMPLOYES_REQUEST_TIMEOUT", "10s")?,
                max_attempts: parse(get("EMPLOYES_MAX_ATTEMPTS"), "EMPLOYES_MAX_ATTEMPTS", 5u32)?.max(1),
            },
            simulator_addr: parse(get("SIMULATOR_ADDR"), "SIMULATOR_ADDR", SocketAddr::from(([127, 0, 0, 1], 8090)))?,
            webhook_secrets,
            webhook_secret_raw: webhook_raw
                .and_then(|r| r.split_whitespace().next())
                .map(|s| SecretString::from(s.to_string())),
            auth_jwt_secret: get("AUTH_JWT_SECRET").map(|s| SecretString::from(s.to_string())),
            api_tokens: get("API_TOKENS").map(parse_tokens).transpose()?.unwrap_or_default(),
            cors_origins: get("CORS_ORIGINS")
                .map(|s| {
                    s.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect()
                })
                .unwrap_or_default(),
            sync_schedule,
            sync_outdated_after: duration(get("SYNC_OUTDATED_AFTER"), "SYNC_OUTDATED_AFTER", "6h")?,
            log_format,
            shutdown_timeout: duration(get("SHUTDOWN_TIMEOUT"), "SHUTDOWN_TIMEOUT", "30s")?,
            request_timeout: duration(get("HTTP_REQUEST_TIMEOUT"), "HTTP_REQUEST_TIMEOUT", "30s")?,
            worker: WorkerConfig {
                ack_wait: duration(get("WORKER_ACK_WAIT"), "WORKER_ACK_WAIT", "30s")?,
                heartbeat,
                takeover_after: heartbeat * 3,
                reap_after: duration(get("WORKER_REAP_AFTER"), "WORKER_REAP_AFTER", "10m")?,
                max_deliver: parse(get("WORKER_MAX_DELIVER"), "WORKER_MAX_DELIVER", 20i64)?,
                concurrency,
                fetch_concurrency,
                coalesce_window: duration(get("WEBHOOK_COALESCE_WINDOW"), "WEBHOOK_COALESCE_WINDOW", "2s")?,
                history_refresh_after: duration(get("HISTORY_REFRESH_AFTER"), "HISTORY_REFRESH_AFTER", "24h")?,
            },
        })
    }

    /// True when syncing against the in-process simulator.
    pub fn uses_simulator(&self) -> bool {
        self.employes.api_url.is_none()
    }
}

fn parse<T: FromStr>(value: Option<&str>, key: &'static str, default: T) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| bad(key, format!("cannot parse {v:?}"))),
    }
}

fn duration(value: Option<&str>, key: &'static str, default: &str) -> Result<Duration, ConfigError> {
    let v = value.unwrap_or(default);
    humantime::parse_duration(v).map_err(|_| bad(key, format!("{v:?} is not a duration like 30s, 5m or 6h")))
}

fn decode_whsec(secret: &str) -> Result<WebhookKey, ConfigError> {
    let encoded =
        secret.strip_prefix("whsec_").ok_or_else(|| bad("WEBHOOK_SECRET", "each secret must start with whsec_"))?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| bad("WEBHOOK_SECRET", "the part after whsec_ is not valid base64"))?;
    if key.len() < 16 {
        return Err(bad("WEBHOOK_SECRET", "secret is shorter than 16 bytes"));
    }
    let key = Zeroizing::new(key);
    Ok(WebhookKey::new(&key))
}

fn parse_tokens(raw: &str) -> Result<Vec<ApiToken>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (name, token) =
                pair.split_once(':').ok_or_else(|| bad("API_TOKENS", "use name:token pairs separated by commas"))?;
            if name.trim().is_empty() || token.trim().len() < 16 {
                return Err(bad("API_TOKENS", "each token needs a name and at least 16 characters"));
            }
            Ok(ApiToken { name: name.trim().to_string(), token: SecretString::from(token.trim().to_string()) })
        })
        .collect()
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

impl Config {
    /// The database URL, for connecting (never logged).
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
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
        assert!(c.sync_schedule.is_some());
        assert_eq!(c.sync_outdated_after, Duration::from_secs(6 * 3600));
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
    fn a_real_api_url_requires_key_and_company() {
        let err = Config::from_map(&map(&[("EMPLOYES_API_URL", "https://connect.employes.nl/v4")])).unwrap_err();
        assert_eq!(err.key, "EMPLOYES_API_KEY");
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
    fn schedule_off_disables_the_scheduler() {
        let c = Config::from_map(&map(&[("SYNC_SCHEDULE", "off")])).unwrap();
        assert!(c.sync_schedule.is_none());
    }
}
