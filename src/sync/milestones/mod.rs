//! Milestones kept up to date (the rules: README, "Milestones"; the pure part:
//! [`crate::domain::milestones`]). [`evaluate`] derives an employee's milestones from what is
//! stored, plans them against the stored rows and writes rows and events in one transaction
//! per batch of employees. It runs after every session for the employees the session touched
//! ([`after_session`]) and once a day for every employee ([`daily`]); the events go out through
//! the outbox ([`outbox`]).

pub mod daily;
pub mod outbox;

use std::collections::HashMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    config::MilestonesConfig,
    db::{
        Db,
        audit::{self, AuditEntry},
        milestones::{self as store, EmployeeFacts as StoredFacts, views, write},
    },
    domain::{
        AuditAction, Role,
        milestones::{
            EffectiveChangeType, EmployeeFacts, Event, RecordedChange, Row, Step, Write, acknowledge, derive, plan,
        },
    },
};

/// Employees evaluated per transaction.
const BATCH: i64 = 500;

/// Which of a company's employees to evaluate.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    All,
    Only(&'a [Uuid]),
}

/// What one evaluation wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evaluated {
    pub employees: usize,
    /// Milestones inserted or updated.
    pub written: usize,
    /// Events recorded in the outbox.
    pub events: usize,
    /// Employees with problems in their employment data (their faulty contracts derive nothing).
    pub with_data_errors: usize,
}

/// Evaluate the company's milestones for `scope` as of `today`. `baseline`: the events are about
/// a company's first sync.
#[tracing::instrument(skip_all, fields(%company, %today))]
pub async fn evaluate(
    db: &Db,
    config: &MilestonesConfig,
    company: Uuid,
    scope: Scope<'_>,
    today: NaiveDate,
    baseline: bool,
) -> anyhow::Result<Evaluated> {
    let mut total = Evaluated::default();
    // All: pages of the company's employees by id. Only: the given ones, a batch at a time.
    let mut chunks = match scope {
        Scope::All => None,
        Scope::Only(ids) => Some(ids.chunks(BATCH as usize)),
    };
    let mut after = None;
    loop {
        let only = match chunks.as_mut().map(Iterator::next) {
            None => None,
            Some(Some(chunk)) => Some(chunk),
            Some(None) => break,
        };
        let mut tx = db.begin().await?;
        store::lock_company(&mut tx, company).await?;
        let Some(settings) = store::chain_settings(&mut tx, company).await? else {
            return Ok(total); // the company was deleted meanwhile
        };
        let facts = store::employee_facts(&mut tx, company, only, after, BATCH).await?;
        if only.is_none() {
            let Some(last) = facts.last().map(|f| f.id) else { break };
            after = Some(last);
        }
        let ids: Vec<Uuid> = facts.iter().map(|f| f.id).collect();
        let mut changes: HashMap<Uuid, Vec<RecordedChange>> = HashMap::new();
        for c in store::dated_changes(&mut tx, company, &ids).await? {
            let Ok(change_type) = EffectiveChangeType::try_from(c.change_type) else { continue };
            changes.entry(c.employee_id).or_default().push(RecordedChange {
                change_id: c.id,
                change_type,
                effective_date: Some(c.effective_date),
                detected_on: config.day_of(c.detected_at),
            });
        }
        let mut stored: HashMap<Uuid, Vec<Row>> = HashMap::new();
        for row in store::stored_for_update(&mut tx, company, &ids).await? {
            match row.to_row(today) {
                Some(r) => stored.entry(row.employee_id).or_default().push(r),
                None => tracing::error!(milestone = %row.id, "a stored milestone cannot be read; left as it is"),
            }
        }
        let fetched = facts.len();
        let mut steps = Vec::new();
        for employee in &facts {
            let rows = stored.remove(&employee.id).unwrap_or_default();
            let derivation = derive(&facts_of(company, employee, &changes), &settings);
            if !derivation.data_errors.is_empty() {
                total.with_data_errors += 1;
                tracing::debug!(employee = %employee.id, errors = derivation.data_errors.len(), "employment data problems");
            }
            steps.extend(plan(&rows, &derivation, today, &config.reminders));
        }
        total.events += write_steps(&mut tx, company, &steps, today, baseline, None).await?;
        total.written += steps.len();
        tx.commit().await?;
        total.employees += fetched;
        if only.is_none() && fetched < BATCH as usize {
            break;
        }
    }
    metrics::counter!("employes_sync_milestone_evaluations_total", "company" => company.to_string()).increment(1);
    Ok(total)
}

fn facts_of<'a>(
    company: Uuid,
    e: &'a StoredFacts,
    changes: &'a HashMap<Uuid, Vec<RecordedChange>>,
) -> EmployeeFacts<'a> {
    let employments = e.employments.as_ref().and_then(|v| v.as_array()).map(Vec::as_slice).unwrap_or_default();
    EmployeeFacts {
        company_id: company,
        employee_id: e.id,
        out_of_service: e.removed || e.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("out of service")),
        employments,
        changes: changes.get(&e.id).map(Vec::as_slice).unwrap_or_default(),
    }
}

/// Who resolved a milestone by hand, in which role, and what they wrote.
#[derive(Debug, Clone, Copy)]
pub struct ByHand<'a> {
    pub by: &'a str,
    pub role: Role,
    pub note: Option<&'a str>,
    /// The `x-request-id` of the HTTP request (for the audit log).
    pub request_id: Option<&'a str>,
}

/// Write the planned steps of the company's milestones (each milestone at most once) and record
/// their events (with each milestone as it now is), a statement each for all of them. Returns
/// the number of events recorded.
async fn write_steps(
    conn: &mut sqlx::PgConnection,
    company: Uuid,
    steps: &[Step],
    today: NaiveDate,
    baseline: bool,
    by_hand: Option<ByHand<'_>>,
) -> anyhow::Result<usize> {
    let rows = |write: Write| steps.iter().filter(move |s| s.write == write).map(|s| &s.row).collect::<Vec<_>>();
    write::insert(conn, &rows(Write::Insert)).await?;
    let resolver = write::Resolver { note: by_hand.and_then(|b| b.note), by: by_hand.map(|b| b.by) };
    write::update(conn, &rows(Write::Update), resolver).await?;
    let owing: Vec<(&Row, &Event)> = steps.iter().filter_map(|s| Some((&s.row, s.event.as_ref()?))).collect();
    if owing.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = owing.iter().map(|(row, _)| row.milestone.key.id()).collect();
    let views: HashMap<Uuid, views::MilestoneView> =
        views::get_many(conn, &ids, today).await?.into_iter().map(|v| (v.id, v)).collect();
    let mut events = Vec::with_capacity(owing.len());
    for ((row, event), id) in owing.into_iter().zip(ids) {
        let view = views.get(&id).ok_or_else(|| anyhow::anyhow!("milestone {id} vanished"))?;
        let milestone = serde_json::to_value(view)?;
        events.push(write::NewEvent { key: &row.milestone.key, event, milestone });
    }
    Ok(write::record_events(conn, company, events, baseline).await?)
}

/// Why a user's resolution was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no such milestone")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] crate::domain::milestones::AcknowledgeError),
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

/// A user says the notice was given: the milestone is resolved as `acknowledged` with their
/// note, its `resolved` event is recorded and the audit log says who did it (`milestone_resolved`,
/// target the milestone id), in one transaction. `visible` says whether the
/// caller may see the milestone's company (when not, it does not exist for them).
pub async fn resolve_by_hand(
    db: &Db,
    config: &MilestonesConfig,
    id: Uuid,
    by_hand: ByHand<'_>,
    visible: impl FnOnce(Uuid) -> bool,
) -> Result<views::MilestoneView, ResolveError> {
    let today = config.today();
    let storage = |e: sqlx::Error| ResolveError::Storage(e.into());
    let mut tx = db.begin().await.map_err(storage)?;
    let Some(stored) = store::get_for_update(&mut tx, id).await.map_err(storage)? else {
        return Err(ResolveError::NotFound);
    };
    if !visible(stored.company_id) {
        return Err(ResolveError::NotFound);
    }
    let row = stored.to_row(today).ok_or_else(|| anyhow::anyhow!("milestone {id} cannot be read"))?;
    let step = acknowledge(&row)?;
    write_steps(&mut tx, stored.company_id, &[step], today, false, Some(by_hand)).await?;
    let entry = AuditEntry {
        actor: by_hand.by.to_string(),
        role: by_hand.role,
        action: AuditAction::MilestoneResolved,
        company_id: Some(stored.company_id),
        target: Some(id.to_string()),
        request_id: by_hand.request_id.map(str::to_string),
    };
    audit::record(&mut tx, entry).await.map_err(storage)?;
    let view = views::get(&mut tx, id, today).await.map_err(storage)?.ok_or(ResolveError::NotFound)?;
    tx.commit().await.map_err(storage)?;
    Ok(view)
}

/// After a session: evaluate the employees it touched, as of today.
pub async fn after_session(
    db: &Db,
    config: &MilestonesConfig,
    company: Uuid,
    session: Uuid,
) -> anyhow::Result<Evaluated> {
    let employees = store::session_employees(db, session).await?;
    let baseline = crate::db::employees::is_baseline(db, session).await?;
    let evaluated = evaluate(db, config, company, Scope::Only(&employees), config.today(), baseline).await?;
    if evaluated.written > 0 {
        tracing::info!(
            employees = evaluated.employees,
            written = evaluated.written,
            events = evaluated.events,
            "milestones evaluated"
        );
    }
    Ok(evaluated)
}
