//! The writes of an evaluation, one statement each for all the rows of a batch: new milestones,
//! the lifecycle's new state of stored ones, and their events in the outbox with the employees'
//! sequence numbers.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use crate::{
    domain::milestones::{ContractRef, Details, Event, MilestoneKey, Published, Row},
    events::{EventStream, reserve_sequences},
};

fn details_json(details: &Details) -> Value {
    serde_json::to_value(details).unwrap_or(Value::Null)
}

/// Store newly derived milestones (a row already there is left as it is).
pub async fn insert(conn: &mut PgConnection, rows: &[&Row]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let (mut ids, mut companies, mut employees, mut kinds) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut starts, mut changes, mut due_dates, mut contracts) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut details, mut resolutions, mut published) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for row in rows {
        let m = &row.milestone;
        ids.push(m.key.id());
        companies.push(m.key.company_id);
        employees.push(m.key.employee_id);
        kinds.push(<&'static str>::from(m.kind()));
        starts.push(m.key.contract_start());
        changes.push(m.key.change_id());
        due_dates.push(m.due_date);
        contracts.push(m.contract.map(Json));
        details.push(details_json(&m.details));
        resolutions.push(row.resolution.map(<&'static str>::from));
        published.push(Json(row.published));
    }
    sqlx::query!(
        r#"INSERT INTO milestones (id, company_id, employee_id, kind, contract_start, change_id, due_date, contract,
                                   details, resolution, resolved_at, published)
           SELECT t.id, t.company_id, t.employee_id, t.kind, t.contract_start, t.change_id, t.due_date, t.contract,
                  t.details, t.resolution, CASE WHEN t.resolution IS NULL THEN NULL ELSE now() END, t.published
           FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::date[], $6::uuid[], $7::date[],
                       $8::jsonb[], $9::jsonb[], $10::text[], $11::jsonb[])
                AS t(id, company_id, employee_id, kind, contract_start, change_id, due_date, contract, details,
                     resolution, published)
           ON CONFLICT DO NOTHING"#,
        &ids,
        &companies,
        &employees,
        &kinds as &[&str],
        &starts as &[Option<chrono::NaiveDate>],
        &changes as &[Option<Uuid>],
        &due_dates,
        &contracts as &[Option<Json<ContractRef>>],
        &details,
        &resolutions as &[Option<&str>],
        &published as &[Json<Published>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Who resolved milestones by hand and what they wrote (`None` when the service writes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Resolver<'a> {
    pub note: Option<&'a str>,
    pub by: Option<&'a str>,
}

/// Write the lifecycle's new state of stored milestones (each at most once). A resolution is
/// written once (with its time); `note` and `resolved_by` only by a user's resolution.
pub async fn update(conn: &mut PgConnection, rows: &[&Row], resolver: Resolver<'_>) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let (mut ids, mut due_dates, mut contracts, mut details) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut published, mut resolutions) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for row in rows {
        let m = &row.milestone;
        ids.push(m.key.id());
        due_dates.push(m.due_date);
        contracts.push(m.contract.map(Json));
        details.push(details_json(&m.details));
        published.push(Json(row.published));
        resolutions.push(row.resolution.map(<&'static str>::from));
    }
    let notes = vec![resolver.note; n];
    let by = vec![resolver.by; n];
    sqlx::query!(
        r#"UPDATE milestones m SET
               due_date = t.due_date, contract = t.contract, details = t.details, published = t.published,
               resolution = coalesce(m.resolution, t.resolution),
               resolved_at = CASE WHEN m.resolution IS NULL AND t.resolution IS NOT NULL THEN now()
                                  ELSE m.resolved_at END,
               note = coalesce(t.note, m.note), resolved_by = coalesce(t.resolved_by, m.resolved_by),
               updated_at = now()
           FROM UNNEST($1::uuid[], $2::date[], $3::jsonb[], $4::jsonb[], $5::jsonb[], $6::text[], $7::text[],
                       $8::text[])
                AS t(id, due_date, contract, details, published, resolution, note, resolved_by)
           WHERE m.id = t.id"#,
        &ids,
        &due_dates,
        &contracts as &[Option<Json<ContractRef>>],
        &details,
        &published as &[Json<Published>],
        &resolutions as &[Option<&str>],
        &notes as &[Option<&str>],
        &by as &[Option<&str>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An event to record: of which milestone, and the milestone as it now is (the event's data).
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub key: &'a MilestoneKey,
    pub event: &'a Event,
    pub milestone: Value,
}

/// Record events of the company's milestones in the outbox, in the given order, each with its
/// employee's next sequence number on the milestones stream (taken only for an event not recorded
/// before, so numbers stay contiguous; an employee's events get consecutive numbers in the given
/// order). An event recorded before (or earlier in `events`) is left as it is. The caller holds
/// the milestones' row locks, so no other transaction records the same events meanwhile. Returns
/// how many were recorded.
pub async fn record_events(
    conn: &mut PgConnection,
    company: Uuid,
    events: Vec<NewEvent<'_>>,
    baseline: bool,
) -> sqlx::Result<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.event.id(e.key.id())).collect();
    let known: HashSet<Uuid> = sqlx::query_scalar!("SELECT id FROM milestone_events WHERE id = ANY($1)", &ids)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::with_capacity(ids.len());
    let fresh: Vec<(Uuid, NewEvent)> =
        ids.into_iter().zip(events).filter(|(id, _)| !known.contains(id) && seen.insert(*id)).collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    // Each employee's block of numbers, in the order the employees first appear.
    let mut counts: Vec<(Uuid, i64)> = Vec::new();
    let mut slot: HashMap<Uuid, usize> = HashMap::new();
    for (_, e) in &fresh {
        let i = *slot.entry(e.key.employee_id).or_insert_with(|| {
            counts.push((e.key.employee_id, 0));
            counts.len() - 1
        });
        counts[i].1 += 1;
    }
    let firsts = reserve_sequences(&mut *conn, company, EventStream::Milestones, &counts).await?;
    let mut next: HashMap<Uuid, i64> = counts.iter().map(|(e, _)| *e).zip(firsts).collect();
    let n = fresh.len();
    let (mut milestone_ids, mut employees, mut kinds, mut reasons) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut days_before, mut due_dates, mut data, mut sequences) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut event_ids = Vec::with_capacity(n);
    for (id, e) in fresh {
        event_ids.push(id);
        milestone_ids.push(e.key.id());
        employees.push(e.key.employee_id);
        kinds.push(<&'static str>::from(e.key.kind));
        reasons.push(<&'static str>::from(e.event.reason));
        days_before.push(e.event.days_before.map(|d| i32::try_from(d).unwrap_or(i32::MAX)));
        due_dates.push(e.event.due_date);
        data.push(e.milestone);
        let sequence = next.get_mut(&e.key.employee_id).expect("a block per employee");
        sequences.push(*sequence);
        *sequence += 1;
    }
    // In the given order: `position` (the publishing order) follows it.
    sqlx::query!(
        r#"INSERT INTO milestone_events (id, milestone_id, company_id, employee_id, kind, reason, days_before,
                                         due_date, milestone, baseline, sequence)
           SELECT t.id, t.milestone_id, $1, t.employee_id, t.kind, t.reason, t.days_before, t.due_date, t.milestone,
                  $2, t.sequence
           FROM UNNEST($3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::int4[], $9::date[],
                       $10::jsonb[], $11::int8[])
                WITH ORDINALITY AS t(id, milestone_id, employee_id, kind, reason, days_before, due_date, milestone,
                                     sequence, n)
           ORDER BY t.n"#,
        company,
        baseline,
        &event_ids,
        &milestone_ids,
        &employees,
        &kinds as &[&str],
        &reasons as &[&str],
        &days_before as &[Option<i32>],
        &due_dates,
        &data,
        &sequences,
    )
    .execute(conn)
    .await?;
    Ok(n)
}
