//! Lifecycle: from the milestones stored for one employee and a fresh [`Derivation`], what to
//! write and which events are due today, each exactly once.
//!
//! A milestone's events happen at moments: a reminder at each of [`Reminders`] days before the
//! due date, `due` on it, `overdue` the day after (never for `change_effective`, which stays
//! `due`). On each evaluation the latest moment reached is published unless it (or a later one)
//! already was; earlier moments missed (the service was down) are passed over, not sent late.
//! `detected` stands in for every moment already reached when a milestone is first found, so a
//! milestone found inside the 7-day window gets no 30-day (and no 7-day) reminder.
//! What was published is recorded in [`Published`], a few columns of the milestone's row: the
//! storage layer writes it together with the events (an outbox) to make them exactly-once.

use std::str::FromStr;

use chrono::{Datelike as _, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::calendar::{day_after, days_before};
use super::derive::Derivation;
use super::types::{MILESTONE_NAMESPACE, Milestone, MilestoneKind, MilestoneReason, MilestoneStatus, Resolution};

/// Days before a due date at which a reminder is sent (`MILESTONE_REMINDERS`, default `30,7`):
/// distinct, each at least 1, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders(Vec<u32>);

impl Reminders {
    pub fn new(days: impl IntoIterator<Item = u32>) -> Reminders {
        let mut days: Vec<u32> = days.into_iter().filter(|d| *d > 0).collect();
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        Reminders(days)
    }

    pub fn days(&self) -> &[u32] {
        &self.0
    }
}

impl Default for Reminders {
    fn default() -> Self {
        Reminders(vec![30, 7])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reminders are whole days between 1 and 3650, comma-separated (e.g. 30,7); {0:?} is not")]
pub struct InvalidReminders(pub String);

impl FromStr for Reminders {
    type Err = InvalidReminders;

    /// `"30,7"`; an empty value means no reminders.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let days =
            s.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| {
                d.parse().ok().filter(|n| (1..=3650).contains(n)).ok_or_else(|| InvalidReminders(d.to_owned()))
            });
        Ok(Reminders::new(days.collect::<Result<Vec<u32>, _>>()?))
    }
}

/// Which of a milestone's events were published, or passed over on purpose. `last_reminder`,
/// `due` and `overdue` are about the current due date; they start again when it moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub detected: bool,
    /// The smallest `days_before` of the reminders sent or passed over.
    pub last_reminder: Option<u32>,
    pub due: bool,
    pub overdue: bool,
    pub resolved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    Reminder(u32),
    Due,
    Overdue,
}

impl Published {
    fn covers(&self, moment: Moment) -> bool {
        match moment {
            Moment::Reminder(days) => self.due || self.last_reminder.is_some_and(|last| last <= days),
            Moment::Due => self.due,
            Moment::Overdue => self.overdue,
        }
    }

    /// Marks `moment` and every earlier one as done.
    fn cover(&mut self, moment: Moment) {
        match moment {
            Moment::Reminder(days) => self.last_reminder = Some(self.last_reminder.map_or(days, |l| l.min(days))),
            Moment::Due => self.due = true,
            Moment::Overdue => (self.due, self.overdue) = (true, true),
        }
    }
}

/// One event to publish for a milestone (`data.reason`, and `data.days_before` for reminders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub reason: MilestoneReason,
    pub days_before: Option<u32>,
    /// The due date the event is about (part of its identity: a moved date has its own reminders).
    pub due_date: NaiveDate,
}

impl Event {
    /// The event id (`Nats-Msg-Id`): a UUID v5 of the milestone, reason, reminder and due date.
    pub fn id(&self, milestone_id: Uuid) -> Uuid {
        let reason: &'static str = self.reason.into();
        let mut buf = Vec::with_capacity(40);
        buf.extend_from_slice(milestone_id.as_bytes());
        buf.extend_from_slice(reason.as_bytes());
        buf.extend_from_slice(&self.days_before.unwrap_or(0).to_be_bytes());
        buf.extend_from_slice(&self.due_date.num_days_from_ce().to_be_bytes());
        Uuid::new_v5(&MILESTONE_NAMESPACE, &buf)
    }
}

/// A milestone as stored: the derived facts plus its status, resolution and published events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub milestone: Milestone,
    pub status: MilestoneStatus,
    pub resolution: Option<Resolution>,
    pub published: Published,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Insert,
    Update,
}

/// One row to write, with the event to publish in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub write: Write,
    pub row: Row,
    pub event: Option<Event>,
}

/// `upcoming` before the due date, `due` on it, `overdue` after it while unresolved
/// (`change_effective` stays `due`); `resolved` once resolved.
pub fn status_on(
    kind: MilestoneKind,
    due_date: NaiveDate,
    resolution: Option<Resolution>,
    today: NaiveDate,
) -> MilestoneStatus {
    if resolution.is_some() {
        return MilestoneStatus::Resolved;
    }
    match today.cmp(&due_date) {
        std::cmp::Ordering::Less => MilestoneStatus::Upcoming,
        std::cmp::Ordering::Equal => MilestoneStatus::Due,
        std::cmp::Ordering::Greater if kind == MilestoneKind::ChangeEffective => MilestoneStatus::Due,
        std::cmp::Ordering::Greater => MilestoneStatus::Overdue,
    }
}

/// What to write for one employee today: new milestones, changed ones, ones no longer derived
/// (resolved), and the event each owes. Rows that need nothing are left out. A resolution is
/// final: a resolved milestone derived again stays resolved.
pub fn plan(stored: &[Row], derivation: &Derivation, today: NaiveDate, reminders: &Reminders) -> Vec<Step> {
    let mut steps = Vec::with_capacity(derivation.milestones.len());
    for row in stored {
        let key = row.milestone.key;
        let fresh = derivation.milestones.binary_search_by_key(&key, |m| m.key).ok().map(|i| derivation.milestones[i]);
        let step = match (row.resolution, fresh) {
            (Some(_), _) => announce_resolution(row),
            (None, Some(fresh)) => carry_on(row, fresh, today, reminders),
            // Never resolved: it becomes due on its date and stays, whatever the history says later.
            (None, None) if key.kind == MilestoneKind::ChangeEffective => {
                carry_on(row, row.milestone, today, reminders)
            }
            (None, None) => Some(resolve(row, gone_because(key.kind, derivation.out_of_service))),
        };
        steps.extend(step);
    }
    for milestone in &derivation.milestones {
        if stored.iter().any(|row| row.milestone.key == milestone.key) {
            continue;
        }
        let mut published = Published::default();
        let event = next_event(&mut published, milestone, today, reminders);
        let status = status_on(milestone.kind(), milestone.due_date, None, today);
        let row = Row { milestone: *milestone, status, resolution: None, published };
        steps.push(Step { write: Write::Insert, row, event });
    }
    steps
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AcknowledgeError {
    #[error("only a notice_due milestone can be acknowledged, not {0}")]
    NotAcknowledgeable(MilestoneKind),
    #[error("the milestone is already resolved ({0})")]
    AlreadyResolved(Resolution),
}

/// A user says the notice was given (`POST /api/milestones/{id}/resolve`): the milestone is
/// resolved as `acknowledged` and its `resolved` event is due.
pub fn acknowledge(row: &Row) -> Result<Step, AcknowledgeError> {
    if let Some(resolution) = row.resolution {
        return Err(AcknowledgeError::AlreadyResolved(resolution));
    }
    match row.milestone.kind() {
        MilestoneKind::NoticeDue => Ok(resolve(row, Resolution::Acknowledged)),
        kind => Err(AcknowledgeError::NotAcknowledgeable(kind)),
    }
}

/// Why a milestone is no longer derived: the employee left (for the kinds that stop then), or
/// the history moved on (a later contract, a permanent one, corrected data).
fn gone_because(kind: MilestoneKind, out_of_service: bool) -> Resolution {
    match kind {
        MilestoneKind::ContractEnding | MilestoneKind::NoticeDue | MilestoneKind::ChainLimit if out_of_service => {
            Resolution::Terminated
        }
        _ => Resolution::Superseded,
    }
}

fn resolve(row: &Row, resolution: Resolution) -> Step {
    let published = Published { resolved: true, ..row.published };
    let next = Row { status: MilestoneStatus::Resolved, resolution: Some(resolution), published, ..*row };
    let event = Event { reason: MilestoneReason::Resolved, days_before: None, due_date: row.milestone.due_date };
    Step { write: Write::Update, row: next, event: Some(event) }
}

/// A resolved row owes only its `resolved` event (when the resolution was written elsewhere).
fn announce_resolution(row: &Row) -> Option<Step> {
    let next =
        Row { status: MilestoneStatus::Resolved, published: Published { resolved: true, ..row.published }, ..*row };
    let event = (!row.published.resolved).then_some(Event {
        reason: MilestoneReason::Resolved,
        days_before: None,
        due_date: row.milestone.due_date,
    });
    (next != *row).then_some(Step { write: Write::Update, row: next, event })
}

/// An open milestone still derived: take the fresh facts, publish what today owes.
fn carry_on(row: &Row, fresh: Milestone, today: NaiveDate, reminders: &Reminders) -> Option<Step> {
    let mut next = Row { milestone: fresh, ..*row };
    if fresh.due_date != row.milestone.due_date {
        next.published = Published { detected: row.published.detected, ..Published::default() };
    }
    let event = next_event(&mut next.published, &fresh, today, reminders);
    next.status = status_on(fresh.kind(), fresh.due_date, None, today);
    (next != *row || event.is_some()).then_some(Step { write: Write::Update, row: next, event })
}

/// The event an open milestone owes today, recording it in `published`.
fn next_event(published: &mut Published, m: &Milestone, today: NaiveDate, reminders: &Reminders) -> Option<Event> {
    let due_date = m.due_date;
    let latest = moments(m.kind(), due_date, reminders).take_while(|(on, _)| *on <= today).last().map(|(_, m)| m);
    if !published.detected {
        published.detected = true;
        if let Some(moment) = latest {
            published.cover(moment);
        }
        return Some(Event { reason: MilestoneReason::Detected, days_before: None, due_date });
    }
    let moment = latest.filter(|moment| !published.covers(*moment))?;
    published.cover(moment);
    let (reason, days_before) = match moment {
        Moment::Reminder(days) => (MilestoneReason::Reminder, Some(days)),
        Moment::Due => (MilestoneReason::Due, None),
        Moment::Overdue => (MilestoneReason::Overdue, None),
    };
    Some(Event { reason, days_before, due_date })
}

/// A milestone's moments in date order.
fn moments(
    kind: MilestoneKind,
    due: NaiveDate,
    reminders: &Reminders,
) -> impl Iterator<Item = (NaiveDate, Moment)> + '_ {
    let reminders = reminders.days().iter().filter_map(move |d| Some((days_before(due, *d)?, Moment::Reminder(*d))));
    let overdue = (kind != MilestoneKind::ChangeEffective).then(|| day_after(due)).flatten();
    reminders.chain([(due, Moment::Due)]).chain(overdue.map(|on| (on, Moment::Overdue)))
}
