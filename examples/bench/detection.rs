//! Scenario 4: change detection (from criterion's estimates and the memory figures of
//! `cargo bench --bench change_detection`) and the batched change insert.

use std::time::Instant;

use serde_json::{Value, json};
use testkit::{postgres::fresh_database_named, synthetic as data};
use uuid::Uuid;

use crate::report::{Report, results_dir};

fn criterion_mean_ns(bench: &str) -> Option<f64> {
    let path = testkit::repo_root().join(format!("target/criterion/change_detection/{bench}/new/estimates.json"));
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

pub fn detection_figures(report: &mut Report) {
    println!("\n== change detection (criterion) ==");
    match criterion_mean_ns("full_pass_100k") {
        Some(ns) => {
            let s = ns / 1e9;
            report.figure(
                "Change detection, 100k employees × 10 periods (criterion mean, one core)",
                format!("{s:.3} s per full pass"),
                "< 1 s",
                Some(s < 1.0),
            );
        }
        None => report
            .missing
            .push("change detection: no criterion estimates (run `cargo bench --bench change_detection`)".into()),
    }
    let mem: Option<Vec<Value>> = std::fs::read(results_dir().join("change_detection_memory.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(rows) = mem {
        let per: Vec<(u64, f64)> = rows
            .iter()
            .map(|r| {
                let n = r["employees"].as_u64().unwrap_or(1);
                (n, r["peak_bytes"].as_f64().unwrap_or(0.0) / n as f64)
            })
            .collect();
        let (lo, hi) = per.iter().fold((f64::MAX, 0f64), |(a, b), (_, x)| (a.min(*x), b.max(*x)));
        report.figure(
            "Change detection memory (peak heap over input, per employee)",
            per.iter().map(|(n, b)| format!("{n}: {b:.0} B")).collect::<Vec<_>>().join(", "),
            "linear (per-employee cost flat within 25 %)",
            Some(hi <= lo * 1.25),
        );
    }
}

pub async fn dbwrite_figure(report: &mut Report) -> anyhow::Result<()> {
    println!("\n== batched change insert ==");
    let url = fresh_database_named("es_bench_").await;
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
