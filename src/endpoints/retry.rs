//! What happens after one delivery attempt: delivered, retried after a delay (the schedule's, or
//! the receiver's `Retry-After`), given up, or the endpoint disabled (`410 Gone`). Pure.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// `ENDPOINT_RETRY_SCHEDULE`: the delay before each retry; its length is the number of retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    /// `5s,5m,30m,2h,5h,10h,10h`.
    fn default() -> RetrySchedule {
        let h = 3600;
        RetrySchedule([5, 300, 1800, 2 * h, 5 * h, 10 * h, 10 * h].map(Duration::from_secs).to_vec())
    }
}

impl RetrySchedule {
    /// Comma-separated durations (`humantime`: `5s`, `5m`, `2h`), at least one.
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let delays = text
            .split(',')
            .map(|d| humantime::parse_duration(d.trim()).map_err(|e| format!("`{}`: {e}", d.trim())))
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() || delays.iter().any(Duration::is_zero) {
            return Err("expected one or more positive durations, e.g. 5s,5m,30m".into());
        }
        Ok(RetrySchedule(delays))
    }

    /// Attempts in all: the first and one per retry.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The receiver answered with this status (and maybe `Retry-After`).
    Status { status: u16, retry_after: Option<Duration> },
    /// No answer: timeout, refused connection, refused address, TLS failure.
    NoAnswer,
}

/// What to do with the event after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again after this long.
    Retry(Duration),
    /// The last attempt failed: the event stays failed in the attempts log.
    GiveUp,
    /// `410 Gone`: the receiver says it is gone; disable the endpoint now.
    Gone,
}

/// The longest `Retry-After` honoured (a longer one waits this long).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// `attempt` counts from 1.
pub fn verdict(schedule: &RetrySchedule, attempt: u32, response: &Response) -> Verdict {
    let retry_after = match response {
        Response::Status { status: 200..=299, .. } => return Verdict::Delivered,
        Response::Status { status: 410, .. } => return Verdict::Gone,
        Response::Status { retry_after, .. } => *retry_after,
        Response::NoAnswer => None,
    };
    match schedule.0.get(attempt.saturating_sub(1) as usize) {
        None => Verdict::GiveUp,
        Some(delay) => Verdict::Retry(retry_after.map_or(*delay, |r| r.min(MAX_RETRY_AFTER))),
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110); a date in the past is no delay.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<u64>) -> Response {
        Response::Status { status, retry_after: retry_after.map(Duration::from_secs) }
    }

    #[test]
    fn the_default_schedule_is_the_contracts_and_parses_from_its_text() {
        assert_eq!(RetrySchedule::parse("5s,5m,30m,2h,5h,10h,10h"), Ok(RetrySchedule::default()));
        assert_eq!(RetrySchedule::default().attempts(), 8);
        assert!(RetrySchedule::parse("5s,,5m").is_err());
        assert!(RetrySchedule::parse("0s").is_err());
        assert!(RetrySchedule::parse("soon").unwrap_err().contains("soon"));
    }

    #[test]
    fn a_2xx_delivers_a_410_disables_and_anything_else_follows_the_schedule_until_it_ends() {
        let s = RetrySchedule::parse("5s,5m").unwrap();
        assert_eq!(verdict(&s, 1, &status(204, None)), Verdict::Delivered);
        assert_eq!(verdict(&s, 1, &status(410, None)), Verdict::Gone);
        assert_eq!(verdict(&s, 1, &status(500, None)), Verdict::Retry(Duration::from_secs(5)));
        assert_eq!(verdict(&s, 2, &Response::NoAnswer), Verdict::Retry(Duration::from_secs(300)));
        assert_eq!(verdict(&s, 3, &status(500, None)), Verdict::GiveUp);
        assert_eq!(verdict(&s, 1, &status(301, None)), Verdict::Retry(Duration::from_secs(5)), "redirects fail");
    }

    #[test]
    fn retry_after_replaces_the_scheduled_delay_up_to_a_day() {
        let s = RetrySchedule::parse("5s,5m").unwrap();
        assert_eq!(verdict(&s, 1, &status(503, Some(2))), Verdict::Retry(Duration::from_secs(2)));
        assert_eq!(verdict(&s, 1, &status(429, Some(3600))), Verdict::Retry(Duration::from_secs(3600)));
        assert_eq!(verdict(&s, 1, &status(429, Some(10 * 24 * 3600))), Verdict::Retry(MAX_RETRY_AFTER));
        assert_eq!(verdict(&s, 3, &status(503, Some(2))), Verdict::GiveUp);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Tue, 01 Dec 2026 10:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("later", now), None);
    }
}
