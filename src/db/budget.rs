//! Requests made to Employes per company and minute, and each company's use of its key's daily
//! budget (`rate_limit` × 86,400 requests) over the last 24 h.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::Db;

/// Requests a key may make in a day at `rate_limit` requests a second.
pub fn daily_budget(rate_limit: u32) -> i64 {
    i64::from(rate_limit.max(1)) * 86_400
}

/// A company's requests to Employes in the last 24 h and their share of its key's daily budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Budget {
    /// Requests made to Employes in the last 24 hours (every replica's).
    pub requests_24h: i64,
    /// `requests_24h` ÷ (`rate_limit` × 86,400): 0 = unused, 1 = the whole day's budget.
    pub budget_used: f64,
}

impl Budget {
    pub fn new(requests_24h: i64, rate_limit: u32) -> Budget {
        Budget { requests_24h, budget_used: requests_24h as f64 / daily_budget(rate_limit) as f64 }
    }
}

/// Add requests to the current minute of each company (companies deleted meanwhile are skipped).
pub async fn add(db: &Db, counts: &HashMap<Uuid, u64>) -> sqlx::Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    let (ids, ns): (Vec<Uuid>, Vec<i64>) = counts.iter().map(|(id, n)| (*id, *n as i64)).unzip();
    sqlx::query!(
        "INSERT INTO employes_requests AS r (company_id, minute, requests)
         SELECT t.id, date_trunc('minute', now()), t.n FROM UNNEST($1::uuid[], $2::bigint[]) AS t(id, n)
         WHERE EXISTS (SELECT 1 FROM companies c WHERE c.id = t.id)
         ON CONFLICT (company_id, minute) DO UPDATE SET requests = r.requests + EXCLUDED.requests",
        &ids,
        &ns,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One company's requests in the last 24 h, and their share of the budget at `rate_limit`.
pub async fn for_company(db: &Db, company: Uuid, rate_limit: u32) -> sqlx::Result<Budget> {
    let n = sqlx::query_scalar!(
        r#"SELECT coalesce(sum(requests), 0)::bigint AS "n!" FROM employes_requests
           WHERE company_id = $1 AND minute > now() - interval '24 hours'"#,
        company
    )
    .fetch_one(db)
    .await?;
    Ok(Budget::new(n, rate_limit))
}

/// The requests in the last 24 h of each of `companies` (those without any are absent).
pub async fn of_companies(db: &Db, companies: &[Uuid]) -> sqlx::Result<HashMap<Uuid, i64>> {
    let rows = sqlx::query!(
        r#"SELECT company_id, sum(requests)::bigint AS "n!" FROM employes_requests
           WHERE company_id = ANY($1) AND minute > now() - interval '24 hours' GROUP BY company_id"#,
        companies
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.company_id, r.n)).collect())
}

/// Every company's requests in the last 24 h (companies without any are absent).
pub async fn all(db: &Db) -> sqlx::Result<HashMap<Uuid, i64>> {
    let rows = sqlx::query!(
        r#"SELECT company_id, sum(requests)::bigint AS "n!" FROM employes_requests
           WHERE minute > now() - interval '24 hours' GROUP BY company_id"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.company_id, r.n)).collect())
}

/// Forget minutes older than a day and an hour.
pub async fn prune(db: &Db) -> sqlx::Result<u64> {
    Ok(sqlx::query!("DELETE FROM employes_requests WHERE minute < now() - interval '25 hours'")
        .execute(db)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_of_a_day_at_the_key_rate() {
        assert_eq!(daily_budget(5), 432_000);
        let b = Budget::new(43_200, 5);
        assert_eq!((b.requests_24h, b.budget_used), (43_200, 0.1));
        assert_eq!(Budget::new(0, 5).budget_used, 0.0);
    }
}
