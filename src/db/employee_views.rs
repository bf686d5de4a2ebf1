//! Employees as the read API shows them: the stored current state of each, with what its
//! latest record version and employment history say, listed by name with a keyset cursor.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::Db;

/// One stored employee: the `employees` row, its current record's `employee_number` and embedded
/// `employment`, and its latest employment history (`None` when never stored).
#[derive(Debug, Clone)]
pub struct EmployeeRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub name: String,
    pub status: Option<String>,
    pub employee_number: Option<Value>,
    pub employment: Option<Value>,
    pub employments: Option<Value>,
    pub has_history: bool,
    pub updated_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    /// The list's sort key: the name lowercased (by Postgres, so the cursor compares alike).
    pub sort_name: String,
}

/// The list's filters (all optional) and page.
#[derive(Debug, Clone, Default)]
pub struct EmployeeFilter<'a> {
    pub company_id: Option<Uuid>,
    /// The companies the caller may see (`None` = all).
    pub companies: Option<&'a [Uuid]>,
    /// Only names containing this, case-insensitively.
    pub name_contains: Option<&'a str>,
    /// Only employees whose Employes status is this (case-insensitively).
    pub status: Option<&'a str>,
    /// Only employees after this (sort name, id).
    pub after: Option<(String, Uuid)>,
    pub limit: i64,
}

/// Matching employees by name (lowercased), then id: the page is cut from `employees` alone
/// (index `employees_company_name`), then joined to its versions.
pub async fn list(db: &Db, f: &EmployeeFilter<'_>) -> sqlx::Result<Vec<EmployeeRow>> {
    let pattern = f.name_contains.map(|q| format!("%{}%", like_escaped(q)));
    let (after_name, after_id) = f.after.clone().unzip();
    sqlx::query_as!(
        EmployeeRow,
        r#"WITH page AS (
               SELECT e.id, e.company_id, e.display_name, e.status, e.has_history, e.updated_at, e.removed_at,
                      e.snapshot_version, e.history_version, lower(e.display_name) AS sort_name
               FROM employees e
               WHERE ($1::uuid IS NULL OR e.company_id = $1)
                 AND ($2::uuid[] IS NULL OR e.company_id = ANY($2))
                 AND ($3::text IS NULL OR e.display_name ILIKE $3)
                 AND ($4::text IS NULL OR lower(e.status) = lower($4))
                 AND ($5::text IS NULL OR (lower(e.display_name), e.id) > ($5, $6::uuid))
               ORDER BY lower(e.display_name), e.id
               LIMIT $7
           )
           SELECT e.id AS "id!", e.company_id AS "company_id!", e.display_name AS "name!", e.status,
                  v.data -> 'employee_number' AS employee_number, v.data -> 'employment' AS employment,
                  h.data AS "employments?", e.has_history AS "has_history!", e.updated_at AS "updated_at!",
                  e.removed_at, e.sort_name AS "sort_name!"
           FROM page e
           JOIN employee_versions v ON v.employee_id = e.id AND v.version = e.snapshot_version
           LEFT JOIN employment_versions h ON h.employee_id = e.id AND h.version = e.history_version
           ORDER BY e.sort_name, e.id"#,
        f.company_id,
        f.companies as Option<&[Uuid]>,
        pattern,
        f.status,
        after_name,
        after_id,
        f.limit,
    )
    .fetch_all(db)
    .await
}

/// One stored employee (erased ones are not stored).
pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<EmployeeRow>> {
    sqlx::query_as!(
        EmployeeRow,
        r#"SELECT e.id, e.company_id, e.display_name AS name, e.status, v.data -> 'employee_number' AS employee_number,
                  v.data -> 'employment' AS employment, h.data AS "employments?", e.has_history, e.updated_at,
                  e.removed_at, lower(e.display_name) AS "sort_name!"
           FROM employees e
           JOIN employee_versions v ON v.employee_id = e.id AND v.version = e.snapshot_version
           LEFT JOIN employment_versions h ON h.employee_id = e.id AND h.version = e.history_version
           WHERE e.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// `text` for a `LIKE` pattern: its wildcards and the escape character taken literally.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_a_search_are_plain_characters() {
        assert_eq!(super::like_escaped(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(super::like_escaped("de Vries"), "de Vries");
    }
}
