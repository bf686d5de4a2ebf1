//! Privacy by design: the audit log (and, as they land, minimisation, erasure and retention).

mod at_rest;
mod audit;
mod erasure;
mod retention;

/// Every column of every table of the app's schema, as text, one string per table.column (each
/// row's value on a line of its own).
async fn every_value(db: &sqlx::PgPool) -> Vec<(String, String)> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1, 2",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (table, column) in columns {
        let sql = format!(r#"SELECT coalesce(string_agg("{column}"::text, E'\n'), '') FROM "{table}""#);
        let text: String = sqlx::query_scalar(&sql).fetch_one(db).await.unwrap();
        out.push((format!("{table}.{column}"), text));
    }
    out
}
