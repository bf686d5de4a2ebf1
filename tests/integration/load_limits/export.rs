//! A CSV export of 100,000 changes is streamed: the service's resident memory stays within a
//! small bound however large the export is.

use std::time::Duration;

use super::queued_session;
use crate::helpers::*;

/// A KiB figure (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_csv_export_of_100_000_changes_keeps_the_service_resident_memory_within_a_small_bound() {
    // Arrange: the service as a process of its own, and 100,000 changes of its company.
    let mut env = TestEnv::new().await;
    env.start_simulator();
    let mut service = spawn_binary(&env, "http", &[]);
    let app = env.attach(service.http_addr().await).await;
    let session = queued_session(&app).await;
    let company = env.companies[0];
    sqlx::query(
        "INSERT INTO changes (id, dedup_key, employee_id, change_type, field, old_value, new_value, effective_date,
                              session_id, company_id, sequence, published_at, business_impact)
         SELECT gen_random_uuid(), 'export-' || g, gen_random_uuid(), 'salary_change', 'salary', (2000 + g)::text,
                (2100 + g)::text, DATE '2026-01-01' + (g % 300), $1::uuid, $2, 1, now(), 'salary_increase'
         FROM generate_series(1, 100000) AS g",
    )
    .bind(&session)
    .bind(company)
    .execute(&app.db)
    .await
    .unwrap();
    // A first small export warms the service up (pools, buffers), so the bound is the export's own.
    let warm = app.get("/api/changes?format=csv&limit=10").await.text().await.unwrap();
    assert_eq!(warm.lines().count(), 11, "{warm}");
    let before = status_kib(service.id(), "VmRSS:");
    // Act: the whole export, read as it comes.
    let mut resp = app.get("/api/changes?format=csv").await;
    assert_eq!(resp.status(), 200);
    let (mut rows, mut bytes, mut peak) = (0usize, 0usize, before);
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), resp.chunk()).await.unwrap().unwrap() {
        rows += chunk.iter().filter(|b| **b == b'\n').count();
        bytes += chunk.len();
        peak = peak.max(status_kib(service.id(), "VmRSS:"));
    }
    // Assert: every change came, many megabytes of them, while the service grew by far less.
    assert_eq!(rows, 100_001, "a header and one row per change");
    assert!(bytes > 10 * 1024 * 1024, "{bytes} bytes");
    let grown_mib = peak.saturating_sub(before) / 1024;
    assert!(grown_mib < 16, "the service grew by {grown_mib} MiB while exporting {} MiB", bytes / (1024 * 1024));
    service.kill();
}
