//! The benchmark scenarios of issue 9, run by `./bench/run.sh` (or
//! `cargo run --release --example bench` after `cargo bench --bench change_detection`).
//!
//! One `nats-server -js` for the run, a fresh Postgres database and subject prefix per
//! scenario, the simulator in this process, and `target/release/employes-sync serve` as a
//! child process (so its peak RSS can be read from `/proc/<pid>/status`). Every figure is a
//! ratio measured in this run or an absolute figure labelled with this machine.
//!
//! `BENCH_ONLY=sync110,sync1k,sync10k,latency,intake,detection,dbwrite` runs a subset;
//! `BENCH_OUT` names the Markdown file (default `BENCHMARKS.md`). A scenario that fails (an
//! error or a panic of the testkit) is listed under "Missing figures"; the others still run.
//!
//! One module per scenario; `service` starts the service under test, `report` collects the
//! figures and writes them out.

mod detection;
mod intake;
mod latency;
mod report;
mod service;
mod sync;

use std::{panic::AssertUnwindSafe, path::PathBuf, time::Instant};

use anyhow::bail;
use futures::FutureExt as _;
use serde_json::Value;
use testkit::nats::Nats;

use report::{Report, machine, results_dir, verdict, write_markdown};
use sync::SyncScenario;

/// Run one scenario; its error or panic becomes a missing figure named `key`.
async fn run(report: &mut Report, key: &str, scenario: impl AsyncFnOnce(&mut Report) -> anyhow::Result<()>) {
    let failure = match AssertUnwindSafe(scenario(report)).catch_unwind().await {
        Ok(Ok(())) => return,
        Ok(Err(e)) => format!("{e:#}"),
        Err(panic) => panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into()),
    };
    report.missing.push(format!("{key}: {failure}"));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let (Some("baseline-server"), Some(url)) = (std::env::args().nth(1).as_deref(), std::env::args().nth(2)) {
        return intake::serve_baseline(&url).await;
    }
    // `bench load <url> <company-id> <total> <connections>`: the intake load generator on its own,
    // for profiling a server by hand (strace, valgrind) outside the paired rounds.
    if std::env::args().nth(1).as_deref() == Some("load") {
        let a: Vec<String> = std::env::args().skip(2).collect();
        let [url, company, total, connections] = a.as_slice() else {
            bail!("usage: bench load <url> <company-id> <total> <connections>");
        };
        let l = intake::load(url, company.parse()?, total.parse()?, connections.parse()?, "probe").await?;
        println!("{:.0}/s p50 {:.2} ms p99 {:.2} ms, {} errors", l.rate, l.p50_ms, l.p99_ms, l.errors);
        return Ok(());
    }
    let only: Option<Vec<String>> =
        std::env::var("BENCH_ONLY").ok().map(|s| s.split(',').map(|p| p.trim().to_string()).collect());
    let wants = |k: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == k));
    std::fs::create_dir_all(results_dir())?;
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let nats = Nats::start();
    let nc = async_nats::connect(nats.url()).await?;
    let mut report = Report::default();
    println!("machine: {}", machine());

    let scenarios = [
        SyncScenario { key: "sync110", employees: 110, with_history: 99, rate: 5, latency_ms: 30, resync: false },
        SyncScenario { key: "sync1k", employees: 1_000, with_history: 900, rate: 200, latency_ms: 5, resync: false },
        SyncScenario { key: "sync10k", employees: 10_000, with_history: 9_000, rate: 200, latency_ms: 5, resync: true },
    ];
    for s in scenarios {
        if wants(s.key) {
            run(&mut report, s.key, async |r| sync::sync_scenario(r, &nats, &nc, s).await).await;
        }
    }
    if wants("latency") {
        run(&mut report, "latency", async |r| latency::latency_scenario(r, &nats, &nc, 200).await).await;
    }
    if wants("intake") {
        run(&mut report, "intake", async |r| intake::intake_scenario(r, &nats, 20_000, 16).await).await;
    }
    if wants("detection") {
        detection::detection_figures(&mut report);
    }
    if wants("dbwrite") {
        run(&mut report, "dbwrite", async |r| detection::dbwrite_figure(r).await).await;
    }

    let secs = started.elapsed().as_secs_f64();
    println!("\n{:<70} {:<10} result", "figure", "status");
    for f in &report.figures {
        println!("{:<70} {:<10} {}", f.name, verdict(f.met), f.value);
    }
    for m in &report.missing {
        println!("MISSING: {m}");
    }
    std::fs::write(results_dir().join("results.json"), serde_json::to_vec_pretty(&Value::Object(report.raw.clone()))?)?;
    let out =
        std::env::var("BENCH_OUT").map(PathBuf::from).unwrap_or_else(|_| testkit::repo_root().join("BENCHMARKS.md"));
    write_markdown(&report, &out, started_at, secs)?;
    println!("\nwrote {} ({secs:.0} s)", out.display());
    Ok(())
}
