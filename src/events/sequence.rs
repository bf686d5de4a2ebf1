//! Per-employee sequences: contiguous from 1 per (company, employee, stream), taken in the
//! transaction that records the event, so a rolled-back event leaves no gap and a committed one
//! can never get its number again.
//!
//! The counters live in `event_sequences`, which has no foreign key: erasing an employee or
//! deleting a company leaves them, so numbers are never reused.

use sqlx::PgConnection;
use uuid::Uuid;

/// The stream an event is published on; each has its own sequence per employee.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EventStream {
    /// `<P>_CHANGES`: changes and `employee_erased`.
    Changes,
    /// `<P>_MILESTONES`.
    Milestones,
}

/// The next number of `employee`'s events on `stream`. Call it inside the transaction that
/// records the event; the counter row stays locked until that transaction ends.
pub async fn next_sequence(
    conn: &mut PgConnection,
    company: Uuid,
    employee: Uuid,
    stream: EventStream,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO event_sequences (company_id, employee_id, stream, last_sequence) VALUES ($1, $2, $3, 1)
           ON CONFLICT (company_id, employee_id, stream)
           DO UPDATE SET last_sequence = event_sequences.last_sequence + 1
           RETURNING last_sequence"#,
        company,
        employee,
        stream as EventStream,
    )
    .fetch_one(conn)
    .await
}

/// For many events at once: `counts` holds (employee, how many events), each employee once.
/// Returns each employee's first number of its block (the block is `first..first + count`), in
/// the order of `counts`.
pub async fn reserve_sequences(
    conn: &mut PgConnection,
    company: Uuid,
    stream: EventStream,
    counts: &[(Uuid, i64)],
) -> sqlx::Result<Vec<i64>> {
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    let employees: Vec<Uuid> = counts.iter().map(|(e, _)| *e).collect();
    let ns: Vec<i64> = counts.iter().map(|(_, n)| *n).collect();
    let rows = sqlx::query!(
        r#"INSERT INTO event_sequences (company_id, employee_id, stream, last_sequence)
           SELECT $1, t.e, $2, t.n FROM UNNEST($3::uuid[], $4::int8[]) AS t(e, n)
           ON CONFLICT (company_id, employee_id, stream)
           DO UPDATE SET last_sequence = event_sequences.last_sequence + EXCLUDED.last_sequence
           RETURNING employee_id, last_sequence"#,
        company,
        stream as EventStream,
        &employees,
        &ns,
    )
    .fetch_all(conn)
    .await?;
    let last: std::collections::HashMap<Uuid, i64> =
        rows.into_iter().map(|r| (r.employee_id, r.last_sequence)).collect();
    Ok(counts.iter().map(|(e, n)| last[e] - n + 1).collect())
}
