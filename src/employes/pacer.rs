//! The pacing of one API key: one request per `1 s / rate`, so the server's own bucket never
//! empties. Every company using the key shares its pacer.
//!
//! A GCRA (the "theoretical arrival time" of the next request moves one slot per request) with
//! a tolerance of a fraction of a slot, at most [`MAX_TOLERANCE`]: a waiter may leave that much
//! before its slot, so one that wakes late by less (the timer's millisecond tick, a busy machine)
//! does not push every later request back. Two requests are never closer than a slot minus the
//! tolerance; after an idle spell the next one goes at once and nothing is banked, so there is
//! never a burst. Waiters take turns in arrival order. Written by hand because `governor`'s
//! tolerance is a whole number of slots (its burst of one has none), with which lateness adds up:
//! 3.3 % of a 10,000-request sync at 200 req/s (`bench/ANALYSIS.md`).

use std::time::Duration;

use tokio::{sync::Mutex, time::Instant};

/// The most a request may leave before its slot (a quarter slot for rates above 50 a second).
pub const MAX_TOLERANCE: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub struct Pacer {
    /// One slot, rounded up so the rate is never exceeded.
    every: Duration,
    tolerance: Duration,
    /// The next request's slot (`None` before the first); holding it is a waiter's turn.
    next: Mutex<Option<Instant>>,
}

/// May a request leave at `now` (then: the slot after it), or not before the given instant?
fn admit(next: Option<Instant>, now: Instant, every: Duration, tolerance: Duration) -> Result<Instant, Instant> {
    match next {
        Some(slot) if now + tolerance < slot => Err(slot - tolerance),
        Some(slot) => Ok(slot.max(now) + every),
        None => Ok(now + every),
    }
}

impl Pacer {
    /// A pacer for `per_second` requests a second (at least one).
    pub fn new(per_second: u32) -> Pacer {
        let every = Duration::from_nanos(1_000_000_000u64.div_ceil(u64::from(per_second.max(1))));
        Pacer { every, tolerance: (every / 4).min(MAX_TOLERANCE), next: Mutex::new(None) }
    }

    /// Wait for this request's turn and slot.
    pub async fn until_ready(&self) {
        let mut next = self.next.lock().await;
        loop {
            match admit(*next, Instant::now(), self.every, self.tolerance) {
                Ok(after) => {
                    *next = Some(after);
                    return;
                }
                Err(at) => tokio::time::sleep_until(at).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn a_slot_is_the_rate_rounded_to_the_slower_side_and_the_tolerance_a_bounded_fraction_of_it() {
        assert_eq!(Pacer::new(3).every, Duration::from_nanos(333_333_334));
        assert_eq!(Pacer::new(0).every, Duration::from_secs(1), "at least one a second");
        assert_eq!(Pacer::new(5).tolerance, MAX_TOLERANCE, "5 ms of a 200 ms slot");
        assert_eq!(Pacer::new(1000).tolerance, Duration::from_micros(250), "a quarter of a 1 ms slot");
    }

    #[test]
    fn a_request_late_by_less_than_the_tolerance_keeps_the_schedule() {
        let (t0, every, tol) = (Instant::now(), MS(200), MS(5));
        assert_eq!(admit(None, t0, every, tol), Ok(t0 + MS(200)), "the first goes at once");
        assert_eq!(admit(Some(t0 + MS(200)), t0 + MS(100), every, tol), Err(t0 + MS(195)), "too early: wait");
        assert_eq!(admit(Some(t0 + MS(200)), t0 + MS(195), every, tol), Ok(t0 + MS(400)), "within the tolerance");
        assert_eq!(admit(Some(t0 + MS(200)), t0 + MS(203), every, tol), Ok(t0 + MS(403)), "late: the schedule moves");
        assert_eq!(admit(Some(t0 + MS(200)), t0 + MS(10_000), every, tol), Ok(t0 + MS(10_200)), "idle: no bank");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_leave_one_slot_apart() {
        let pacer = std::sync::Arc::new(Pacer::new(10));
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let pacer = pacer.clone();
                tokio::spawn(async move {
                    let mut sent = Vec::new();
                    for _ in 0..5 {
                        pacer.until_ready().await;
                        sent.push(Instant::now());
                    }
                    sent
                })
            })
            .collect();
        let mut sent = Vec::new();
        for t in tasks {
            sent.extend(t.await.unwrap());
        }
        sent.sort();
        let gaps: Vec<Duration> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        // A paused clock wakes each waiter at its earliest moment, the tolerance before its slot:
        // the second leaves 95 ms after the first, and from then on one slot apart (no drift).
        assert_eq!(gaps[0], MS(95), "{gaps:?}");
        assert!(gaps[1..].iter().all(|g| *g == MS(100)), "{gaps:?}");
        assert_eq!(sent.last().unwrap().duration_since(start), MS(95 + 18 * 100));
    }
}
