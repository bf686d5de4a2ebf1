//! Requests made to Employes, per company, since they were last taken: every request that
//! reached the API (any answer, or a timeout) counts, so the figures match what Employes counts
//! against the key's daily budget. The budget flusher moves them to Postgres
//! (`db::budget`) every few seconds.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use uuid::Uuid;

/// Shared by every company's client of one registry (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct RequestTally(Arc<Mutex<HashMap<Uuid, u64>>>);

impl RequestTally {
    /// One more request of `company`.
    pub fn add(&self, company: Uuid) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(company).or_default() += 1;
    }

    /// The counts so far, reset to zero.
    pub fn take(&self) -> HashMap<Uuid, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Put counts back (a flush that could not be stored).
    pub fn restore(&self, counts: HashMap<Uuid, u64>) {
        let mut current = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (company, n) in counts {
            *current.entry(company).or_default() += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_per_company_taken_once_and_restored_when_a_flush_fails() {
        let (tally, a, b) = (RequestTally::default(), Uuid::from_u128(1), Uuid::from_u128(2));
        for _ in 0..3 {
            tally.clone().add(a);
        }
        tally.add(b);
        let taken = tally.take();
        assert_eq!((taken[&a], taken[&b]), (3, 1));
        assert!(tally.take().is_empty(), "taken once");
        tally.add(a);
        tally.restore(taken);
        assert_eq!(tally.take()[&a], 4);
    }
}
