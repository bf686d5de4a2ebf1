//! Scenario 4: change detection and milestone evaluation (from criterion's estimates and the
//! memory figures of `cargo bench --bench change_detection` and `--bench milestones`) and the
//! batched change insert.

use std::time::Instant;

use serde_json::{Value, json};
use testkit::{postgres::fresh_database_named, synthetic as data};
use uuid::Uuid;

use crate::report::{Report, results_dir};

fn criterion_mean_ns(group: &str, bench: &str) -> Option<f64> {
    let path = testkit::repo_root().join(format!("target/criterion/{group}/{bench}/new/estimates.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

pub fn detection_figures(report: &mut Report) {
    println!("\n== change detection (criterion) ==");
    match criterion_mean_ns("change_detection", "full_pass_100k") {
        Some(ns) => {
            let s = ns / 1e9;
            report.figure(
                "Change detection, 100k employees × 10 periods (criterion mean, one core)",
                format!("{s:.3} s per full pass"),
                "< 1 s",
                Some(s < 1.0),
            );
        }
        None => {
            report.miss("change detection: no criterion estimates (run `cargo bench --bench change_detection`)".into())
        }
    }
    linear_memory(
        report,
        "change_detection_memory.json",
        "Change detection memory (peak heap over input, per employee)",
    );
    println!("\n== milestone evaluation (criterion) ==");
    for (bench, what) in [("daily_pass_100k", "a daily pass"), ("first_pass_100k", "a first pass")] {
        match criterion_mean_ns("milestones", bench) {
            Some(ns) => {
                let s = ns / 1e9;
                report.figure(
                    &format!("Milestone evaluation, 100k employees × 5 contracts, {what} (criterion mean, one core)"),
                    format!("{s:.3} s"),
                    "< 0.5 s",
                    Some(s < 0.5),
                );
            }
            None => report.miss("milestones: no criterion estimates (run `cargo bench --bench milestones`)".into()),
        }
    }
    linear_memory(report, "milestones_memory.json", "Milestone evaluation memory (peak heap, per employee)");
}

/// A figure from `file` (rows of employees and peak bytes, by size): the per-employee cost at
/// each size. Linear when it does not grow with size (the largest size's cost is within 25 % of
/// the smallest cost seen): a fixed overhead makes small sizes cost more per employee, which is
/// still linear.
fn linear_memory(report: &mut Report, file: &str, what: &str) {
    let mem: Option<Vec<Value>> =
        std::fs::read(results_dir().join(file)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(rows) = mem {
        let mut per: Vec<(u64, f64)> = rows
            .iter()
            .map(|r| {
                let n = r["employees"].as_u64().unwrap_or(1);
                (n, r["peak_bytes"].as_f64().unwrap_or(0.0) / n as f64)
            })
            .collect();
        per.sort_by_key(|(n, _)| *n);
        let lowest = per.iter().map(|(_, b)| *b).fold(f64::MAX, f64::min);
        let largest = per.last().map_or(0.0, |(_, b)| *b);
        report.figure(
            what,
            per.iter().map(|(n, b)| format!("{n}: {b:.0} B")).collect::<Vec<_>>().join(", "),
            "linear (per-employee cost does not grow with size, within 25 %)",
            Some(largest <= lowest * 1.25),
        );
    }
}

pub async fn dbwrite_figure(report: &mut Report) -> anyhow::Result<()> {
    println!("\n== batched change insert ==");
    let url = fresh_database_named(&crate::service::scratch_db_prefix()).await;
    let db = employes_sync::db::pool(&url)?;
    employes_sync::db::migrate(&db, None).await?;
    let company = Uuid::new_v4();
    employes_sync::db::companies::upsert_from_env(&db, company, Some("Bench"), None).await?;
    let session = Uuid::new_v4();
    employes_sync::db::sessions::insert(
        &db,
        &employes_sync::db::sessions::NewSession {
            id: session,
            company_id: company,
            source: employes_sync::domain::Source::Api,
            triggered_by: "bench",
            employee_ids: None,
            idempotency_key: None,
            request_id: &session.to_string(),
        },
    )
    .await?;
    let found = data::detect_all(&data::generate(10_000));
    let started = Instant::now();
    let mut inserted = 0;
    // The batch size of `sync::stages::changes`.
    for chunk in found.chunks(1000) {
        inserted += employes_sync::db::changes::record(&db, company, session, false, chunk).await?.len();
    }
    let secs = started.elapsed().as_secs_f64();
    report.figure(
        "Batched change recording (1,000 rows and their sequences per transaction)",
        format!("{:.0} rows/s ({inserted} rows in {secs:.2} s)", inserted as f64 / secs),
        "batched; rows/s reported",
        None,
    );
    report.raw.insert("dbwrite".into(), json!({"rows": inserted, "seconds": secs}));
    Ok(())
}
