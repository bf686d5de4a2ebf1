//! Recorded changes: inserted once by their dedup key, published through an outbox marker.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use sqlx::PgConnection;

use super::Db;
use crate::{
    domain::{BusinessImpact, ChangeType, ChangeValue, KeyedChange, amount_of},
    events::EventStream,
};

/// `query_as!` into [`ChangeRow`]: the one list of its columns (with their types) from `changes c`
/// and the employee's name, then `$tail` (`WHERE … ORDER BY …`).
macro_rules! change_query {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ChangeRow,
            r#"SELECT c.id, c.company_id, c.employee_id, e.display_name AS "employee_name?", c.change_type AS "change_type: ChangeType",
                      c.field, c.old_value, c.new_value, c.effective_date, c.detected_at, c.session_id,
                      c.business_impact AS "business_impact: BusinessImpact", c.change_amount, c.change_percent,
                      c.baseline, c.sequence AS "sequence!"
               FROM changes c LEFT JOIN employees e ON e.id = c.employee_id "#
                + $tail
            $(, $arg)*
        )
    };
}

/// A recorded change (what [`ChangeView`] shows with its amounts).
//
// Every field is always sent (`null` when unknown): each `Option` is `required` in the document.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChangeRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub employee_id: Uuid,
    #[schema(required = true)]
    pub employee_name: Option<String>,
    pub change_type: ChangeType,
    #[schema(required = true)]
    pub field: Option<String>,
    #[schema(required = true)]
    pub old_value: Option<String>,
    #[schema(required = true)]
    pub new_value: Option<String>,
    #[schema(required = true)]
    pub effective_date: Option<NaiveDate>,
    pub detected_at: DateTime<Utc>,
    pub session_id: Uuid,
    #[schema(required = true)]
    pub business_impact: Option<BusinessImpact>,
    #[schema(required = true)]
    pub change_amount: Option<f64>,
    #[schema(required = true)]
    pub change_percent: Option<f64>,
    /// Recorded by the company's first sync: a past transition found in the employment history
    /// (its `detected_at` is that sync's, not when it happened; see `effective_date`).
    pub baseline: bool,
    /// The change's number among its employee's events (`sequence` of its CloudEvent).
    #[serde(skip)]
    pub sequence: i64,
}

/// A change as the API and its CloudEvent show it: the stored row, and its old and new values
/// as numbers where they are numbers (`old_value`/`new_value` stay text, as they always were).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    #[serde(flatten)]
    pub change: ChangeRow,
    /// `old_value` as a number (salary and hours changes: e.g. 2577 or 38.5); null when it is not one.
    #[schema(required = true)]
    pub old_amount: Option<f64>,
    /// `new_value` as a number; null when it is not one.
    #[schema(required = true)]
    pub new_amount: Option<f64>,
}

impl From<ChangeRow> for ChangeView {
    fn from(change: ChangeRow) -> ChangeView {
        let amount = |v: &Option<String>| v.as_deref().and_then(amount_of);
        ChangeView { old_amount: amount(&change.old_value), new_amount: amount(&change.new_value), change }
    }
}

/// Record changes in one transaction: insert them (ones already recorded, by dedup key, are
/// skipped) and give the new ones their per-employee sequence numbers, in `(effective_date, key)`
/// order within each employee. Returns the types of the new ones. Keys and ids come precomputed;
/// the key's hex text and the values' text are made here, for one batch at a time.
pub async fn record(
    db: &Db,
    company: Uuid,
    session: Uuid,
    baseline: bool,
    changes: &[KeyedChange],
) -> sqlx::Result<Vec<ChangeType>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let inserted = insert(&mut tx, company, session, baseline, changes).await?;
    // A concurrent session recording the same change waits on the unique key above and then
    // skips it: only what this transaction inserted is numbered, so numbers have no gaps.
    let new: std::collections::HashSet<Uuid> = inserted.iter().map(|(id, _)| *id).collect();
    let mut numbered: Vec<&KeyedChange> = changes.iter().filter(|c| new.contains(&c.id())).collect();
    numbered.sort_by_key(|c| {
        (c.change().employee_id, c.change().effective_date.is_none(), c.change().effective_date, c.key())
    });
    let mut counts: Vec<(Uuid, i64)> = Vec::new();
    for c in &numbered {
        match counts.last_mut() {
            Some((e, n)) if *e == c.change().employee_id => *n += 1,
            _ => counts.push((c.change().employee_id, 1)),
        }
    }
    let firsts = crate::events::reserve_sequences(&mut tx, company, EventStream::Changes, &counts).await?;
    let mut ids = Vec::with_capacity(numbered.len());
    let mut sequences = Vec::with_capacity(numbered.len());
    let mut next = numbered.iter();
    for ((_, n), first) in counts.iter().zip(firsts) {
        for (c, sequence) in next.by_ref().take(*n as usize).zip(first..) {
            ids.push(c.id());
            sequences.push(sequence);
        }
    }
    sqlx::query!(
        "UPDATE changes c SET sequence = t.s FROM UNNEST($1::uuid[], $2::int8[]) AS t(id, s) WHERE c.id = t.id",
        &ids,
        &sequences
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(inserted.into_iter().map(|(_, t)| t).collect())
}

/// Insert changes without a sequence yet; returns the new ones' ids and types.
async fn insert(
    conn: &mut PgConnection,
    company: Uuid,
    session: Uuid,
    baseline: bool,
    changes: &[KeyedChange],
) -> sqlx::Result<Vec<(Uuid, ChangeType)>> {
    let ids: Vec<Uuid> = changes.iter().map(KeyedChange::id).collect();
    let keys: Vec<String> = changes.iter().map(|c| c.key().to_hex()).collect();
    let all = || changes.iter().map(KeyedChange::change);
    let employees: Vec<Uuid> = all().map(|c| c.employee_id).collect();
    let types: Vec<ChangeType> = all().map(|c| c.change_type).collect();
    let fields: Vec<Option<&str>> = all().map(|c| c.field).collect();
    let text = |v: &Option<ChangeValue>| v.as_ref().map(ChangeValue::to_string);
    let olds: Vec<Option<String>> = all().map(|c| text(&c.old_value)).collect();
    let news: Vec<Option<String>> = all().map(|c| text(&c.new_value)).collect();
    let dates: Vec<Option<NaiveDate>> = all().map(|c| c.effective_date).collect();
    let impacts: Vec<Option<BusinessImpact>> = all().map(|c| c.business_impact).collect();
    let amounts: Vec<Option<f64>> = all().map(|c| c.change_amount).collect();
    let percents: Vec<Option<f64>> = all().map(|c| c.change_percent).collect();
    let rows = sqlx::query!(
        r#"INSERT INTO changes (id, dedup_key, employee_id, change_type, field, old_value, new_value, effective_date,
                                session_id, business_impact, change_amount, change_percent, company_id, baseline)
           SELECT t.id, t.k, t.e, t.ty, t.f, t.o, t.n, t.d, $1, t.i, t.a, t.p, $13, $14
           FROM UNNEST($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::date[],
                       $10::text[], $11::float8[], $12::float8[]) AS t(id, k, e, ty, f, o, n, d, i, a, p)
           ON CONFLICT DO NOTHING
           RETURNING id, change_type AS "change_type: ChangeType""#,
        session,
        &ids,
        &keys,
        &employees,
        &types as &[ChangeType],
        &fields as &[Option<&str>],
        &olds as &[Option<String>],
        &news as &[Option<String>],
        &dates as &[Option<NaiveDate>],
        &impacts as &[Option<BusinessImpact>],
        &amounts as &[Option<f64>],
        &percents as &[Option<f64>],
        company,
        baseline,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.change_type)).collect())
}

pub async fn count_for_session(db: &Db, session: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM changes WHERE session_id = $1"#, session).fetch_one(db).await
}

/// Changes not yet published: of one session, or (sweeper) any older than `min_age_secs`; each
/// employee's in sequence order.
pub async fn unpublished(
    db: &Db,
    session: Option<Uuid>,
    min_age_secs: f64,
    limit: i64,
) -> sqlx::Result<Vec<ChangeRow>> {
    change_query!(
        r#"WHERE c.published_at IS NULL
             AND ($1::uuid IS NULL OR c.session_id = $1)
             AND c.detected_at <= now() - make_interval(secs => $2)
           ORDER BY c.detected_at, c.company_id, c.employee_id, c.sequence
           LIMIT $3"#,
        session,
        min_age_secs,
        limit
    )
    .fetch_all(db)
    .await
}

/// How many changes wait in the outbox.
pub async fn count_unpublished(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM changes WHERE published_at IS NULL"#).fetch_one(db).await
}

pub async fn mark_published(db: &Db, ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!("UPDATE changes SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL", ids)
        .execute(db)
        .await?;
    Ok(())
}

/// Filters of `GET /api/changes`.
#[derive(Debug, Default, Clone)]
pub struct ChangeFilter {
    pub company_id: Option<Uuid>,
    /// Only these companies (a caller's scope); `None` = all.
    pub companies: Option<Vec<Uuid>>,
    pub since: Option<DateTime<Utc>>,
    /// Only changes detected before this time.
    pub until: Option<DateTime<Utc>>,
    pub change_type: Option<ChangeType>,
    pub employee_id: Option<Uuid>,
    /// Only changes after this key in the list's order (a page's cursor).
    pub after: Option<ChangeKey>,
    /// `None` = every matching change (the CSV export).
    pub limit: Option<i64>,
}

/// Where a change stands in the list's order: detected (newest first), effective date (latest
/// first, none last), id (descending).
pub type ChangeKey = (DateTime<Utc>, Option<NaiveDate>, Uuid);

impl ChangeRow {
    pub fn key(&self) -> ChangeKey {
        (self.detected_at, self.effective_date, self.id)
    }
}

/// `query_as!` of the change list into [`ChangeRow`], with the filters of [`ChangeFilter`].
macro_rules! change_list {
    ($f:expr) => {{
        let f: &ChangeFilter = $f;
        let (after_at, after_date, after_id) = match f.after {
            Some((at, date, id)) => (Some(at), date, Some(id)),
            None => (None, None, None),
        };
        change_query!(
            r#"WHERE ($1::timestamptz IS NULL OR c.detected_at >= $1)
                 AND ($2::text IS NULL OR c.change_type = $2)
                 AND ($3::uuid IS NULL OR c.employee_id = $3)
                 AND ($5::uuid IS NULL OR c.company_id = $5)
                 AND ($6::uuid[] IS NULL OR c.company_id = ANY($6))
                 AND ($7::timestamptz IS NULL
                      OR (c.detected_at, coalesce(c.effective_date, '-infinity'::date), c.id)
                         < ($7, coalesce($8::date, '-infinity'::date), $9::uuid))
                 AND ($10::timestamptz IS NULL OR c.detected_at < $10)
               ORDER BY c.detected_at DESC, coalesce(c.effective_date, '-infinity'::date) DESC, c.id DESC
               LIMIT $4"#,
            f.since,
            f.change_type as Option<ChangeType>,
            f.employee_id,
            f.limit,
            f.company_id,
            f.companies.as_deref() as Option<&[Uuid]>,
            after_at,
            after_date,
            after_id,
            f.until,
        )
    }};
}

/// Newest first (see [`ChangeKey`]), filtered.
pub async fn list(db: &Db, f: &ChangeFilter) -> sqlx::Result<Vec<ChangeRow>> {
    change_list!(f).fetch_all(db).await
}

/// The same rows as [`list`], one at a time as the database sends them (the CSV export).
pub fn stream<'a>(db: &'a Db, f: &'a ChangeFilter) -> impl futures::Stream<Item = sqlx::Result<ChangeRow>> + Send + 'a {
    change_list!(f).fetch(db)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub employees: i64,
    pub employees_with_history: i64,
    pub changes_total: i64,
    pub changes_24h: i64,
    pub errors_total: i64,
    pub sessions_total: i64,
    /// Share of finished sessions (completed, completed with errors, failed) that completed
    /// without a single error; 0 while none has finished.
    pub success_rate: f64,
}

/// One company's figures.
pub async fn stats(db: &Db, company: Uuid) -> sqlx::Result<Stats> {
    let r = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM employees WHERE company_id = $1 AND removed_at IS NULL) AS "employees!",
             (SELECT count(*) FROM employees WHERE company_id = $1 AND removed_at IS NULL AND has_history) AS "with_history!",
             (SELECT count(*) FROM changes WHERE company_id = $1) AS "changes_total!",
             (SELECT count(*) FROM changes WHERE company_id = $1 AND detected_at > now() - interval '24 hours') AS "changes_24h!",
             (SELECT count(*) FROM sync_errors WHERE company_id = $1) AS "errors_total!",
             (SELECT count(*) FROM sync_sessions WHERE company_id = $1) AS "sessions_total!",
             (SELECT count(*) FROM sync_sessions WHERE company_id = $1
                                                   AND status IN ('completed', 'completed_with_errors', 'failed')) AS "finished!",
             (SELECT count(*) FROM sync_sessions WHERE company_id = $1 AND status = 'completed') AS "succeeded!""#,
        company
    )
    .fetch_one(db)
    .await?;
    Ok(Stats {
        employees: r.employees,
        employees_with_history: r.with_history,
        changes_total: r.changes_total,
        changes_24h: r.changes_24h,
        errors_total: r.errors_total,
        sessions_total: r.sessions_total,
        success_rate: if r.finished == 0 { 0.0 } else { r.succeeded as f64 / r.finished as f64 },
    })
}
