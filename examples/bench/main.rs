//! The benchmark scenarios (issues 9, 16, 17, 19 and 23), run by `./bench/run.sh` (or
//! `cargo run --release --example bench` after `cargo bench --bench change_detection`).
//!
//! One `nats-server -js` for the run, a fresh Postgres database and subject prefix per
//! scenario, the simulator in this process, and `target/release/employes-sync serve` as a
//! child process (so its peak RSS can be read from `/proc/<pid>/status`). Every figure is a
//! ratio measured in this run or an absolute figure labelled with this machine.
//!
//! `BENCH_ONLY=<section>,…` (names in [`SECTIONS`]) runs a subset and rewrites only those sections
//! of the Markdown file, `BENCH_OUT` (default `BENCHMARKS.md`). A scenario that fails (an error or
//! a panic of the testkit) is listed under its section's "Missing figures"; the others still run.
//!
//! One module per scenario; `service` starts the service under test, `report` collects the
//! figures and writes them out.

mod companies;
mod detection;
mod endpoints;
mod intake;
mod latency;
mod mixed;
mod mixed_abuse;
mod mixed_load;
mod report;
mod service;
mod sync;
mod watch;
mod watch_many;

use std::{panic::AssertUnwindSafe, path::PathBuf, time::Instant};

use anyhow::bail;
use futures::FutureExt as _;
use serde_json::Value;
use testkit::nats::Nats;

use report::{Ran, Report, load_average, machine, results_dir, verdict, write_markdown};
use sync::SyncScenario;

/// Every section, in the order `BENCHMARKS.md` lists them.
const SECTIONS: &[&str] = &[
    "sync110",
    "sync1k",
    "sync10k",
    "latency",
    "intake",
    "detection",
    "dbwrite",
    "watchlatency",
    "watchidle",
    "watchmany",
    "watchrefresh",
    "endpoints",
    "companies",
    "fairness",
    "sharedkey",
    "mixed",
];

/// A number from the environment, else `default`.
fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Run one scenario as section `key`; its error or panic becomes a missing figure of it.
async fn run(report: &mut Report, key: &str, scenario: impl AsyncFnOnce(&mut Report) -> anyhow::Result<()>) {
    report.section = key.to_string();
    let (started, clock, load_before) = (chrono::Utc::now(), Instant::now(), load_average());
    let outcome = AssertUnwindSafe(scenario(report)).catch_unwind().await;
    let ran = Ran { started, secs: clock.elapsed().as_secs_f64(), load_before, load_after: load_average() };
    report.ran.insert(key.to_string(), ran);
    let failure = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => format!("{e:#}"),
        Err(panic) => panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into()),
    };
    report.miss(format!("{key}: {failure}"));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let (Some("baseline-server"), Some(url)) = (std::env::args().nth(1).as_deref(), std::env::args().nth(2)) {
        return intake::serve_baseline(&url).await;
    }
    if std::env::args().nth(1).as_deref() == Some("receiver") {
        return endpoints::serve_receiver().await;
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
    if let Some(unknown) = only.iter().flatten().find(|k| !SECTIONS.contains(&k.as_str())) {
        bail!("BENCH_ONLY names an unknown section {unknown:?}; the sections are {}", SECTIONS.join(","));
    }
    let wants = |k: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == k));
    std::fs::create_dir_all(results_dir())?;
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
        run(&mut report, "detection", async |r| {
            detection::detection_figures(r);
            Ok(())
        })
        .await;
    }
    if wants("watchlatency") {
        run(&mut report, "watchlatency", async |r| {
            watch::watch_latency(r, &nats, &nc, env_or("BENCH_WATCH_RUNS", 100)).await
        })
        .await;
    }
    if wants("watchidle") {
        run(&mut report, "watchidle", async |r| watch::watch_idle(r, &nats, &nc, 6).await).await;
    }
    if wants("watchrefresh") {
        run(&mut report, "watchrefresh", async |r| watch::watch_refresh(r, &nats, &nc, 150).await).await;
    }
    if wants("watchmany") {
        let many =
            watch_many::Many { companies: 1_000, employees: 20, with_history: 10, interval_s: 10, watch_secs: 120 };
        run(&mut report, "watchmany", async |r| watch_many::watch_many(r, &nats, many).await).await;
    }
    if wants("endpoints") {
        run(&mut report, "endpoints", async |r| {
            endpoints::endpoints_scenario(
                r,
                &nats,
                &nc,
                1_000,
                env_or("BENCH_ENDPOINT_EVENTS", 10_000),
                env_or("BENCH_ENDPOINT_RUNS", 100),
            )
            .await
        })
        .await;
    }
    if wants("companies") {
        run(&mut report, "companies", async |r| {
            companies::many_companies(r, &nats, env_or("BENCH_COMPANIES", 200)).await
        })
        .await;
    }
    if wants("fairness") {
        let large = std::env::var("BENCH_FAIRNESS_LARGE").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
        run(&mut report, "fairness", async |r| companies::fairness(r, &nats, large, 50).await).await;
    }
    if wants("sharedkey") {
        run(&mut report, "sharedkey", async |r| companies::shared_key(r, &nats, 10).await).await;
    }
    if wants("mixed") {
        let mix = mixed::Mix {
            companies: 50,
            employees: 20,
            followers: 200,
            pollers: 20,
            webhooks_per_s: env_or("BENCH_MIXED_WEBHOOKS", 1_000),
            secs: env_or("BENCH_MIXED_SECS", 60) as u64,
            rounds: mixed::Rounds::from_env(),
        };
        run(&mut report, "mixed", async |r| mixed::mixed_scenario(r, &nats, mix).await).await;
    }
    if wants("dbwrite") {
        run(&mut report, "dbwrite", async |r| detection::dbwrite_figure(r).await).await;
    }

    let secs = started.elapsed().as_secs_f64();
    println!("\n{:<70} {:<10} result", "figure", "status");
    for f in &report.figures {
        println!("{:<70} {:<10} {}", f.name, verdict(f.met), f.value);
    }
    for (_, m) in &report.missing {
        println!("MISSING: {m}");
    }
    // Raw results merge like the sections: a partial run replaces only its own keys.
    let raw_path = results_dir().join("results.json");
    let mut raw: serde_json::Map<String, Value> =
        std::fs::read(&raw_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    raw.extend(report.raw.clone());
    std::fs::write(&raw_path, serde_json::to_vec_pretty(&Value::Object(raw))?)?;
    let out =
        std::env::var("BENCH_OUT").map(PathBuf::from).unwrap_or_else(|_| testkit::repo_root().join("BENCHMARKS.md"));
    write_markdown(&report, &out, SECTIONS)?;
    println!("\nwrote {} ({secs:.0} s)", out.display());
    Ok(())
}
