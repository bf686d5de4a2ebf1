//! Waiting for Postgres and NATS at start: a warning names the dependency and its URL (never
//! its credentials) while it does not answer, and start-up gives up with one line once
//! `STARTUP_TIMEOUT` has passed. Errors that waiting cannot cure (a wrong password, a missing
//! database) end it at once.

use std::time::Duration;

use tokio::time::Instant;

use crate::bus::Bus;

/// `url` with any `user:password@` and `?query` removed (comma-separated lists item by item):
/// what logs and errors may show of a connection URL.
pub fn without_credentials(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let one = one.trim();
            let (scheme, rest) = one.split_once("://").map_or(("", one), |(s, r)| (s, r));
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let rest = match rest[..authority_end].rfind('@') {
                Some(at) => &rest[at + 1..],
                None => rest,
            };
            if scheme.is_empty() { rest.to_string() } else { format!("{scheme}://{rest}") }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Waits between tries: 200 ms, doubling to 5 s.
struct Pause(Duration);

impl Pause {
    fn new() -> Pause {
        Pause(Duration::from_millis(200))
    }

    /// Sleep the next pause (never past `deadline`); false once the deadline has passed.
    async fn sleep_until_next(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep(self.0.min(deadline - now)).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
        true
    }
}

fn gave_up(what: &str, shown: &str, timeout: Duration, last: &str) -> anyhow::Error {
    let waited = humantime::format_duration(Duration::from_secs(timeout.as_secs().max(1)));
    anyhow::anyhow!("{what} at {shown} did not answer within {waited} (STARTUP_TIMEOUT): {last}")
}

/// Postgres errors worth waiting out: no connection at all, or a server still starting.
fn worth_waiting(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c == "57P03"),
        e => crate::db::is_connection_error(e),
    }
}

/// NATS errors worth waiting out: no server answers (yet). A URL that does not parse, a
/// rejected login or a TLS mismatch stay what they are.
fn nats_worth_waiting(e: &anyhow::Error) -> bool {
    use async_nats::ConnectErrorKind as Kind;
    e.downcast_ref::<async_nats::ConnectError>()
        .is_some_and(|e| matches!(e.kind(), Kind::Dns | Kind::TimedOut | Kind::Io | Kind::MaxReconnects))
}

/// One connection of its own, so a failure says why (the pool would only time out).
async fn try_postgres(url: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url).await?.close().await
}

/// Wait until Postgres accepts a connection, at most until `deadline`.
pub async fn wait_for_postgres(url: &str, timeout: Duration, deadline: Instant) -> anyhow::Result<()> {
    let shown = without_credentials(url);
    let mut pause = Pause::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        let error = match tokio::time::timeout(left, try_postgres(url)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if worth_waiting(&e) => e.to_string(),
            Ok(Err(e)) => {
                let e = anyhow::Error::new(e);
                return Err(e.context(format!("Postgres at {shown} (DATABASE_URL)")));
            }
            Err(_) => "no answer".to_string(),
        };
        tracing::warn!(url = %shown, error, "waiting for Postgres (DATABASE_URL)");
        if !pause.sleep_until_next(deadline).await {
            return Err(gave_up("Postgres", &shown, timeout, &error));
        }
    }
}

/// Connect to NATS, trying until `deadline`.
pub async fn connect_nats(urls: &str, prefix: &str, timeout: Duration, deadline: Instant) -> anyhow::Result<Bus> {
    let shown = without_credentials(urls);
    let mut pause = Pause::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        let error = match tokio::time::timeout(left, Bus::connect_once(urls, prefix)).await {
            Ok(Ok(bus)) => return Ok(bus),
            Ok(Err(e)) if nats_worth_waiting(&e) => crate::error::one_line(&e),
            Ok(Err(e)) => return Err(e.context(format!("NATS at {shown} (NATS_URL)"))),
            Err(_) => "no answer".to_string(),
        };
        tracing::warn!(url = %shown, error, "waiting for NATS (NATS_URL)");
        if !pause.sleep_until_next(deadline).await {
            return Err(gave_up("NATS", &shown, timeout, &error));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_queries_are_never_shown() {
        let cases = [
            ("postgres://postgres:s3cret@db:5432/app?sslmode=require&password=x", "postgres://db:5432/app"),
            ("postgres://postgres@127.0.0.1:5432/employes_sync", "postgres://127.0.0.1:5432/employes_sync"),
            ("nats://token@a:4222, nats://u:p@b:4222", "nats://a:4222,nats://b:4222"),
            ("127.0.0.1:4222", "127.0.0.1:4222"),
            ("nats://a:4222/x@y", "nats://a:4222/x@y"),
        ];
        for (url, shown) in cases {
            assert_eq!(without_credentials(url), shown, "{url}");
        }
    }

    #[tokio::test]
    async fn a_nats_that_never_answers_is_given_up_at_the_deadline_naming_its_url() {
        // Arrange: a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("nats://user:pw@127.0.0.1:{port}");
        let timeout = Duration::from_millis(700);
        // Act
        let started = Instant::now();
        let err = connect_nats(&url, "t", timeout, Instant::now() + timeout).await.expect_err("no NATS there");
        // Assert
        let line = crate::error::one_line(&err);
        assert!(line.starts_with(&format!("NATS at nats://127.0.0.1:{port} did not answer within 1s")), "{line}");
        assert!(line.contains("STARTUP_TIMEOUT") && !line.contains("pw"), "{line}");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
