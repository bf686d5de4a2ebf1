//! One line per configuration key: its default and what it means. `serve --help` lists this
//! table, [`KEYS`](super::KEYS) is its keys; tests keep it in step with the keys and defaults the
//! sections really read and apply (so the help cannot drift from the code).

/// What a key is when it is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This value (setting the key to it changes nothing).
    Value(&'static str),
    /// No value; the text says what happens then.
    Unset(&'static str),
}

/// One documented key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub key: &'static str,
    pub default: DefaultValue,
    pub meaning: &'static str,
}

const fn doc(key: &'static str, default: &'static str, meaning: &'static str) -> KeyDoc {
    KeyDoc { key, default: DefaultValue::Value(default), meaning }
}

const fn unset(key: &'static str, when_unset: &'static str, meaning: &'static str) -> KeyDoc {
    KeyDoc { key, default: DefaultValue::Unset(when_unset), meaning }
}

/// Every key this service reads.
pub const REFERENCE: &[KeyDoc] = &[
    doc("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/employes_sync", "Postgres"),
    doc(
        "DATABASE_MAX_CONNECTIONS",
        "16",
        "Postgres connections of the main pool (the worker's sessions, admissions, background tasks)",
    ),
    doc(
        "DATABASE_API_CONNECTIONS",
        "8",
        "Postgres connections of the HTTP API's own pool, beside the main one (its queries planned for their arguments)",
    ),
    doc("NATS_URL", "nats://127.0.0.1:4222", "NATS with JetStream; comma-separated for a cluster"),
    doc("NATS_SUBJECT_PREFIX", "employes", "prefix of every subject and stream"),
    doc("NATS_STREAM_REPLICAS", "1", "stream replicas (3 on a 3-node cluster)"),
    doc("HTTP_ADDR", "0.0.0.0:8080", "where the API, the dashboard and the webhook intake listen"),
    unset("EMPLOYES_API_URL", "the built-in simulator", "the Employes API, e.g. https://connect.employes.nl/v4"),
    unset(
        "EMPLOYES_API_KEY",
        "none",
        "Employes API key the companies of EMPLOYES_COMPANY_ID share (secret, never logged or stored)",
    ),
    unset(
        "EMPLOYES_COMPANY_ID",
        "the simulator's company",
        "UUID of a company in Employes, or several comma-separated, registered at every start",
    ),
    unset("EMPLOYES_COMPANY_NAME", "Company <id>", "name of that company (several: one per id, comma-separated)"),
    doc("EMPLOYES_RATE_LIMIT", "5", "requests per second per API key, for companies without a rate_limit of their own"),
    doc("EMPLOYES_REQUEST_TIMEOUT", "10s", "bound on one request to Employes"),
    doc("EMPLOYES_MAX_ATTEMPTS", "5", "tries per Employes request on 5xx, timeouts and connection errors"),
    doc("SIMULATOR_ADDR", "127.0.0.1:8090", "where the built-in simulator listens (its control API is there)"),
    doc("SIMULATOR_COMPANIES", "1", "companies the built-in simulator serves (1-1000), registered as simulated"),
    unset(
        "SECRETS_KEY",
        "no key or secret can be stored per company",
        "base64 of 32 random bytes sealing company API keys and webhook secrets at rest (secret)",
    ),
    unset(
        "SECRETS_KEY_PREVIOUS",
        "none",
        "the SECRETS_KEY before a rotation: what it sealed is sealed under SECRETS_KEY at start (secret)",
    ),
    unset("WEBHOOK_SECRET", "webhooks answer 503", "whsec_... secrets of webhook senders, space-separated (rotation)"),
    doc("WEBHOOK_COALESCE_WINDOW", "2s", "webhooks within this window share one targeted sync"),
    unset("AUTH_JWT_SECRET", "no JWT sign-in", "HS256 secret of sign-in JWTs (email claim, source manual)"),
    unset(
        "API_TOKENS",
        "none",
        "name:token[:role[:uuid|uuid..]],... static API tokens (name = triggered_by, source api; role viewer, operator (default) or admin; companies default all)",
    ),
    unset("CORS_ORIGINS", "none", "browser origins allowed to call the API, comma-separated"),
    doc("SYNC_SCHEDULE", "0 0 */6 * * *", "cron (with seconds) of scheduled full syncs; off disables"),
    doc("WATCH_INTERVAL", "5m", "how often each company is watched (an incremental full sync); off disables"),
    doc("SYNC_OUTDATED_AFTER", "6h", "a completed sync older than this shows as outdated"),
    doc(
        "RETENTION",
        "400d",
        "sessions, errors, webhook deliveries, audit entries and superseded versions older than this are deleted daily",
    ),
    unset("LOG_FORMAT", "pretty on a terminal, else json", "pretty or json; RUST_LOG filters (default info)"),
    doc("SHUTDOWN_TIMEOUT", "30s", "bound on the graceful shutdown after SIGTERM"),
    doc("STARTUP_TIMEOUT", "60s", "how long start-up waits for Postgres and NATS before it exits"),
    doc(
        "HTTP_REQUEST_TIMEOUT",
        "30s",
        "bound on one HTTP request; a response whose writes make no progress this long is dropped",
    ),
    doc("API_RATE_LIMIT", "50", "requests per second per caller on /api/* (burst of the same size); beyond: 429"),
    doc("WEBHOOK_RATE_LIMIT", "500", "webhooks per second per sending company (burst of the same size); beyond: 429"),
    doc("SSE_MAX_PER_TOKEN", "20", "event streams one caller may hold open on a replica; beyond: 429"),
    doc("SSE_MAX", "2000", "event streams a replica holds open; beyond: 429"),
    doc("WORKER_ACK_WAIT", "30s", "JetStream ack wait of the sync consumer"),
    doc("WORKER_HEARTBEAT", "5s", "how often a running session shows it is alive"),
    doc("WORKER_REAP_AFTER", "10m", "a running session silent this long is failed"),
    doc("WORKER_MAX_DELIVER", "20", "claims of one session before it is given up as failed, as a dead letter (1-1000)"),
    doc("WORKER_CONCURRENCY", "128", "sessions one worker runs at once (at most 2 of one company while others wait)"),
    doc("WORKER_FINISH_CONCURRENCY", "16", "sessions of one worker in their last phase (changes, milestones) at once"),
    doc("WORKER_FETCH_CONCURRENCY", "8", "concurrent Employes fetches of one session (still rate-limited)"),
    doc("HISTORY_REFRESH_AFTER", "24h", "every history is re-read within this, a rolling share per watch; 0s = always"),
    doc("TIMEZONE", "Europe/Amsterdam", "IANA time zone whose calendar day is today for milestones"),
    doc("MILESTONE_REMINDERS", "30,7", "days before a milestone's due date that get a reminder event, comma-separated"),
    unset(
        "MILESTONE_TODAY",
        "today's date in TIMEZONE",
        "YYYY-MM-DD: evaluate milestones as if today were this date (tests and demos only)",
    ),
    doc("ENDPOINT_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h,10h", "delays before each retry of a failed endpoint delivery"),
    doc("ENDPOINT_DISABLE_AFTER", "5d", "an endpoint whose every delivery failed this long is disabled"),
    doc("ENDPOINT_TIMEOUT", "15s", "bound on one delivery attempt to an endpoint"),
    doc("ENDPOINT_CONCURRENCY", "16", "deliveries in flight to one endpoint per replica (1-1000)"),
    doc(
        "ENDPOINT_ALLOW_PRIVATE_NETWORKS",
        "false",
        "true lets endpoints use loopback, private, link-local and metadata addresses",
    ),
];

/// The environment section of `serve --help`: each key with its default, and what it means on
/// the line below (laid out like clap's own long help, readable at any terminal width).
pub fn help() -> String {
    let mut out = String::from(
        "Environment (a --config file may set the same keys; the environment wins; a bad value stops the start):\n",
    );
    for d in REFERENCE {
        let default = match d.default {
            DefaultValue::Value(v) => format!("[default: {v}]"),
            DefaultValue::Unset(what) => format!("[unset: {what}]"),
        };
        out.push_str(&format!("  {} {default}\n          {}\n", d.key, d.meaning));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{Config, KEYS};

    #[test]
    fn every_key_is_documented_once_in_the_order_of_keys() {
        let documented: Vec<&str> = REFERENCE.iter().map(|d| d.key).collect();
        assert_eq!(documented, KEYS);
        let once: std::collections::BTreeSet<&str> = KEYS.iter().copied().collect();
        assert_eq!(once.len(), KEYS.len(), "a key is documented twice");
    }

    #[test]
    fn setting_a_key_to_its_documented_default_changes_nothing() {
        // Arrange
        let defaults = Config::from_map(&HashMap::new()).unwrap();
        for d in REFERENCE {
            let DefaultValue::Value(value) = d.default else { continue };
            // Act
            let set = Config::from_map(&HashMap::from([(d.key.to_string(), value.to_string())]))
                .unwrap_or_else(|e| panic!("{}: the documented default {value:?} is invalid: {e}", d.key));
            // Assert
            assert_eq!(format!("{set:?}"), format!("{defaults:?}"), "{} is not {value} by default", d.key);
            assert_eq!(set.database_url(), defaults.database_url(), "{}", d.key);
        }
    }

    #[test]
    fn the_help_names_each_key_with_its_default_and_meaning() {
        let help = help();
        for d in REFERENCE {
            let shown = match d.default {
                DefaultValue::Value(v) => format!("  {} [default: {v}]", d.key),
                DefaultValue::Unset(what) => format!("  {} [unset: {what}]", d.key),
            };
            assert!(help.contains(&format!("{shown}\n          {}\n", d.meaning)), "{}", d.key);
            assert!(!d.meaning.contains('\n') && !d.meaning.is_empty(), "{}", d.key);
        }
    }
}
