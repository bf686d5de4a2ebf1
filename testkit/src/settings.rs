//! The configuration a service under test starts from.

use std::collections::HashMap;

use uuid::Uuid;

use crate::{API_TOKEN, EMPLOYES_API_KEY, WEBHOOK_SECRET};

/// A subject prefix of its own (`<letter>` + 10 hex digits), so runs on one NATS never meet.
pub fn subject_prefix(letter: char) -> String {
    format!("{letter}{}", &Uuid::new_v4().simple().to_string()[..10])
}

/// What every service under test runs with: its database, NATS and subject prefix, the
/// simulator (`employes_url`, `company`) as Employes at 1,000 requests/s, the kit's API token
/// and webhook secret, an HTTP port picked by the OS, no schedule and no watch (tests of either
/// set them), and request rates no test reaches (the tests of the limits set theirs). Callers add
/// or override.
pub fn service_settings(
    database_url: &str,
    nats_url: &str,
    subject_prefix: &str,
    employes_url: &str,
    company: Uuid,
) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url.to_string()),
        ("NATS_URL", nats_url.to_string()),
        ("NATS_SUBJECT_PREFIX", subject_prefix.to_string()),
        ("HTTP_ADDR", "127.0.0.1:0".into()),
        ("EMPLOYES_API_URL", employes_url.to_string()),
        ("EMPLOYES_API_KEY", EMPLOYES_API_KEY.into()),
        ("EMPLOYES_COMPANY_ID", company.to_string()),
        ("EMPLOYES_RATE_LIMIT", "1000".into()),
        ("API_TOKENS", format!("ci:{API_TOKEN}:admin")),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("SYNC_SCHEDULE", "off".into()),
        ("WATCH_INTERVAL", "off".into()),
        // Tests poll and send as fast as they like; the tests of the limits set their own.
        ("API_RATE_LIMIT", "1000000".into()),
        ("WEBHOOK_RATE_LIMIT", "1000000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
