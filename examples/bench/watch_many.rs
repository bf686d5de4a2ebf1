//! Issue 17, many watched companies: 1,000 companies × 20 employees on one replica, each
//! watched every 10 s. How late each watch is (its session requested and started, against the
//! company's slot on the fixed grid of `employes_sync::watch`) and the service's CPU per idle
//! watch.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use employes_sync::{simulator::SimConfig, watch::slot_at_or_after};
use serde_json::json;
use testkit::{nats::Nats, sim::SimServer};
use uuid::Uuid;

use crate::{
    report::{Report, pct},
    service::{Service, cpu_seconds},
};

/// CPU seconds so far of the Postgres backends serving the run's database (`db` is one of its
/// pools; the service's backends stay connected through the window) and of nats-server.
async fn others_cpu(db: &sqlx::PgPool, nats: &Nats) -> anyhow::Result<(f64, f64)> {
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()").fetch_all(db).await?;
    let pg = pids.iter().map(|p| cpu_seconds(*p as u32)).sum();
    Ok((pg, cpu_seconds(nats.pid())))
}

/// company, requested_at, started_at, status
type WatchRow = (Uuid, DateTime<Utc>, Option<DateTime<Utc>>, String);

/// The company's slot a watch requested at `t` belongs to: the last slot at or before `t`.
fn slot_of(company: Uuid, interval: Duration, t: DateTime<Utc>) -> DateTime<Utc> {
    let next = slot_at_or_after(company, interval, t);
    if next > t { next - TimeDelta::from_std(interval).unwrap_or_default() } else { next }
}

pub struct Many {
    pub companies: usize,
    pub employees: usize,
    pub with_history: usize,
    pub interval_s: u64,
    pub watch_secs: u64,
}

pub async fn watch_many(report: &mut Report, nats: &Nats, m: Many) -> anyhow::Result<()> {
    println!(
        "\n== {} watched companies × {} employees, every {} s, one replica, {} s ==",
        m.companies, m.employees, m.interval_s, m.watch_secs
    );
    let cfg = SimConfig {
        rate_limit: 2000,
        latency_ms: 30,
        employees: m.employees,
        with_history: m.with_history,
        ..SimConfig::default()
    }
    .with_companies(m.companies);
    let sim = SimServer::start(cfg).await;
    let ids: Vec<Uuid> = sim.companies.iter().map(|c| c.id).collect();
    let list = ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
    let interval = format!("{}s", m.interval_s);
    let extra = [("EMPLOYES_COMPANY_ID", list.as_str()), ("WATCH_INTERVAL", interval.as_str())];
    let svc = Service::start("watchmany", nats, &sim, 2000, "http,worker,scheduler", &extra).await?;
    let db = svc.db().await?;
    // Baselines: a full sync of every company, all requested at once.
    let started = Instant::now();
    for id in &ids {
        svc.send_json(reqwest::Method::POST, "/api/sync", &json!({"company_id": id})).await?;
    }
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT company_id) FROM sync_sessions WHERE source <> 'watch' AND status = 'completed'",
        )
        .fetch_one(&db)
        .await?;
        if done as usize >= ids.len() {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(900), "{done} of {} baselines in 15 min", ids.len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let baselines = started.elapsed().as_secs_f64();
    // Every company has its baseline: measure a window of watches from the next full interval on.
    tokio::time::sleep(Duration::from_secs(m.interval_s)).await;
    let (from, cpu0, others0) = (Utc::now(), svc.cpu_seconds(), others_cpu(&db, nats).await?);
    tokio::time::sleep(Duration::from_secs(m.watch_secs)).await;
    let (until, cpu, others) = (Utc::now(), svc.cpu_seconds() - cpu0, others_cpu(&db, nats).await?);
    let (pg_cpu, nats_cpu) = (others.0 - others0.0, others.1 - others0.1);
    // Give watches requested in the window time to start.
    tokio::time::sleep(Duration::from_secs(m.interval_s)).await;
    let (hwm, _) = svc.memory_kib();
    let rows: Vec<WatchRow> = sqlx::query_as(
        "SELECT company_id, requested_at, started_at, status FROM sync_sessions
         WHERE source = 'watch' AND requested_at >= $1 AND requested_at < $2",
    )
    .bind(from)
    .bind(until)
    .fetch_all(&db)
    .await?;
    // The CPU of the window went to the watches that ran in it: per watch completed in it.
    let completed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync_sessions WHERE source = 'watch' AND completed_at >= $1 AND completed_at < $2",
    )
    .bind(from)
    .bind(until)
    .fetch_one(&db)
    .await?;
    let per_watch = |cpu: f64| cpu * 1000.0 / completed.max(1) as f64;
    let iv = Duration::from_secs(m.interval_s);
    let secs = |d: TimeDelta| d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
    let mut requested: Vec<f64> = rows.iter().map(|(c, r, _, _)| secs(*r - slot_of(*c, iv, *r))).collect();
    let mut started_lag: Vec<f64> =
        rows.iter().filter_map(|(c, r, s, _)| s.map(|s| secs(s - slot_of(*c, iv, *r)))).collect();
    requested.sort_by(f64::total_cmp);
    started_lag.sort_by(f64::total_cmp);
    let not_started = rows.len() - started_lag.len();
    let failed = rows.iter().filter(|r| r.3 == "failed").count();
    let expected = (m.companies as f64 * m.watch_secs as f64 / m.interval_s as f64).round() as usize;
    let p99 = pct(&started_lag, 99.0);
    report.figure(
        &format!("{} companies watched every {} s by one replica: watch lag", m.companies, m.interval_s),
        format!(
            "started after its slot: p50 {:.2} s, p99 {p99:.2} s, max {:.2} s; requested after its slot: p50 {:.2} s, \
             p99 {:.2} s; {} watches in {} s (grid: {expected}), {not_started} not started, {failed} failed",
            pct(&started_lag, 50.0),
            started_lag.last().copied().unwrap_or(f64::NAN),
            pct(&requested, 50.0),
            pct(&requested, 99.0),
            rows.len(),
            m.watch_secs
        ),
        "p99 ≤ 1 s late",
        Some(p99 <= 1.0 && not_started == 0 && rows.len() * 10 >= expected * 9),
    );
    report.figure(
        "Service CPU per idle watch",
        format!(
            "{:.2} ms ({cpu:.1} CPU s for the {completed} watches completed in the {} s; {:.0} % of one core); peak \
             RSS {:.1} MB; in the same window Postgres {:.2} ms and nats-server {:.2} ms per watch ({pg_cpu:.1} and \
             {nats_cpu:.1} CPU s)",
            per_watch(cpu),
            m.watch_secs,
            cpu * 100.0 / m.watch_secs as f64,
            hwm as f64 / 1024.0,
            per_watch(pg_cpu),
            per_watch(nats_cpu),
        ),
        "reported",
        None,
    );
    report.note(format!(
        "watchmany: {} companies × {} employees ({} with history) sharing one key; simulator 2,000 req/s, 30 ms; the \
         {} baselines (one full sync each, requested at once) took {baselines:.0} s; the window starts one interval \
         after the last baseline",
        m.companies, m.employees, m.with_history, m.companies
    ));
    report.raw.insert(
        "watchmany".into(),
        json!({"watches": rows.len(), "expected": expected, "started_lag_s": started_lag, "requested_lag_s": requested,
               "completed": completed, "cpu_s": cpu, "postgres_cpu_s": pg_cpu, "nats_cpu_s": nats_cpu, "baselines_s": baselines,
               "vmhwm_kib": hwm}),
    );
    Ok(())
}
