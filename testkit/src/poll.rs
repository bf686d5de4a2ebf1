//! Polling with a deadline: wait for a state instead of sleeping and hoping.
//!
//! A check answers "done" or "not yet": `true`/`false`, `Some(value)`/`None`, or
//! `Ok(value)`/`Err(what it saw)` — the last "not yet" seen is named when time runs out.

use std::{
    fmt,
    time::{Duration, Instant},
};

/// How often [`eventually`] checks.
pub const EVERY: Duration = Duration::from_millis(50);

/// What one check found: done (with a value) or not yet (with what it saw, if anything).
pub trait Outcome {
    type Value;
    fn into_poll(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn into_poll(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_poll(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: fmt::Display> Outcome for Result<T, E> {
    type Value = T;
    fn into_poll(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

/// The deadline of a [`poll`] passed; `last` is the last "not yet" a check described.
#[derive(Debug)]
pub struct TimedOut {
    pub after: Duration,
    pub last: Option<String>,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not within {:?}", self.after)?;
        match &self.last {
            Some(last) => write!(f, "; last seen: {last}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TimedOut {}

/// Run `check` every `every` until it is done; the first check runs at once, and the last one
/// after the deadline has passed.
pub async fn poll<O: Outcome>(
    within: Duration,
    every: Duration,
    mut check: impl AsyncFnMut() -> O,
) -> Result<O::Value, TimedOut> {
    let deadline = Instant::now() + within;
    loop {
        let last = match check().await.into_poll() {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(TimedOut { after: within, last });
        }
        tokio::time::sleep(every).await;
    }
}

/// [`poll`] every 50 ms; panics with "`what`: not within …" (and the last state seen).
pub async fn eventually<O: Outcome>(what: &str, within: Duration, check: impl AsyncFnMut() -> O) -> O::Value {
    match poll(within, EVERY, check).await {
        Ok(value) => value,
        Err(timed_out) => panic!("{what}: {timed_out}"),
    }
}
