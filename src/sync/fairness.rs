//! Fair shares of one worker: at most [`PER_COMPANY`] sessions of one company run at once on a
//! worker while other work may be waiting, so a company with many queued sessions cannot take
//! every slot; its other tasks are handed back to the queue with a short delay and other
//! companies' tasks go first. When nothing else is waiting and most of the worker is idle, a
//! company may use more (the worker does not sit idle for fairness' sake); half the slots stay
//! free for whoever comes next.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use uuid::Uuid;

/// Sessions of one company one worker runs at once.
pub const PER_COMPANY: usize = 2;

/// How long a task over its company's share waits before it is offered again.
pub const DEFER: Duration = Duration::from_secs(1);

/// The sessions each company has running on this worker.
#[derive(Debug, Default, Clone)]
pub struct CompanySlots(Arc<Mutex<HashMap<Uuid, usize>>>);

/// One running session's slot; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: CompanySlots,
    company: Uuid,
}

impl CompanySlots {
    /// A slot for a session of `company`, unless it already runs [`PER_COMPANY`] here. With
    /// `idle_capacity` (nothing waits behind this task) it may have more, as long as fewer than
    /// half of the worker's `concurrency` slots are in use.
    pub fn take(&self, company: Uuid, idle_capacity: bool, concurrency: usize) -> Option<Slot> {
        let mut running = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let total: usize = running.values().sum();
        let n = running.entry(company).or_default();
        let spare = idle_capacity && total < concurrency / 2;
        if *n >= PER_COMPANY && !spare {
            return None;
        }
        *n += 1;
        Some(Slot { slots: self.clone(), company })
    }

    /// Sessions of `company` running here.
    pub fn running(&self, company: Uuid) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&company).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = running.get_mut(&self.company) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.company);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_gets_at_most_its_share_and_a_finished_session_frees_its_slot() {
        let slots = CompanySlots::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let first = slots.take(a, false, 64).unwrap();
        let _second = slots.take(a, false, 64).unwrap();
        assert!(slots.take(a, false, 64).is_none(), "a third session of one company waits");
        assert!(slots.take(b, false, 64).is_some(), "another company is not held up");
        drop(first);
        assert_eq!(slots.running(a), 1);
        assert!(slots.take(a, false, 64).is_some());
    }

    #[test]
    fn with_nothing_waiting_a_company_may_use_up_to_half_the_worker() {
        let slots = CompanySlots::default();
        let a = Uuid::from_u128(1);
        let held: Vec<Slot> = (0..4).map(|_| slots.take(a, true, 8).expect("idle capacity")).collect();
        assert!(slots.take(a, true, 8).is_none(), "half of 8 slots stay free");
        assert!(slots.take(Uuid::from_u128(2), false, 8).is_some(), "for another company");
        drop(held);
        assert_eq!(slots.running(a), 0);
    }
}
