//! Scenarios 1, 5 and 6: a full sync against the rate-limit floor, the service's peak RSS, and
//! an unchanged (incremental) re-sync.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use employes_sync::simulator::SimConfig;
use futures::StreamExt as _;
use serde_json::{Value, json};
use testkit::{API_TOKEN, nats::Nats, sim::SimServer};

use crate::{
    report::Report,
    service::{Perf, Service, status_kib},
};

pub struct SyncRun {
    pub wall: f64,
    pub requests: u64,
    pub by_endpoint: Value,
    pub rate_limited: u64,
    pub session: Value,
}

/// The service's `VmRSS` sampled every 50 ms on a thread of its own, to attribute memory to stages.
struct RssSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(chrono::DateTime<chrono::Utc>, u64)>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = status_kib(pid, "VmRSS:") {
                    samples.push((chrono::Utc::now(), kib));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            samples
        });
        RssSampler { stop, handle }
    }

    /// Peak RSS before the session started and during each of its stages.
    fn by_stage(self, session: &Value) -> String {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let samples = self.handle.join().unwrap_or_default();
        let ts = |v: &Value| v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
        let peak = |from: Option<chrono::DateTime<chrono::FixedOffset>>,
                    to: Option<chrono::DateTime<chrono::FixedOffset>>| {
            samples
                .iter()
                .filter(|(t, _)| from.is_none_or(|f| *t >= f) && to.is_none_or(|e| *t <= e))
                .map(|(_, k)| *k)
                .max()
                .map_or("-".to_string(), |k| format!("{:.1} MB", k as f64 / 1024.0))
        };
        let mut parts = vec![format!("before {}", peak(None, ts(&session["started_at"])))];
        for st in session["stages"].as_array().into_iter().flatten() {
            parts.push(format!(
                "{} {}",
                st["stage"].as_str().unwrap_or("?"),
                peak(ts(&st["started_at"]), ts(&st["completed_at"]))
            ));
        }
        parts.join(", ")
    }
}

/// Stage durations of a session, from its stage rows.
pub fn stage_breakdown(session: &Value) -> String {
    let ts = |v: &Value| v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    let mut parts = Vec::new();
    if let (Some(req), Some(start)) = (ts(&session["requested_at"]), ts(&session["started_at"])) {
        parts.push(format!("queued {:.2}s", (start - req).num_milliseconds() as f64 / 1000.0));
    }
    for st in session["stages"].as_array().into_iter().flatten() {
        if let (Some(a), Some(b)) = (ts(&st["started_at"]), ts(&st["completed_at"])) {
            parts.push(format!(
                "{} {:.2}s",
                st["stage"].as_str().unwrap_or("?"),
                (b - a).num_milliseconds() as f64 / 1000.0
            ));
        }
    }
    if let (Some(last), Some(done)) = (
        session["stages"].as_array().and_then(|s| s.last()).and_then(|s| ts(&s["completed_at"])),
        ts(&session["completed_at"]),
    ) {
        parts.push(format!("finish {:.2}s", (done - last).num_milliseconds() as f64 / 1000.0));
    }
    parts.join(", ")
}

/// `POST /api/sync`, then wait for the session's final progress event on NATS.
pub async fn full_sync(svc: &Service, nats: &async_nats::Client, sim: &SimServer) -> anyhow::Result<SyncRun> {
    let mut progress = nats.subscribe(format!("{}.sync.progress.*", svc.prefix)).await?;
    nats.flush().await?;
    sim.control.post("/_sim/stats/reset", json!({})).await;
    let started = Instant::now();
    let resp: Value =
        svc.http.post(svc.url("/api/sync")).bearer_auth(API_TOKEN).send().await?.error_for_status()?.json().await?;
    let session_id = resp["session_id"].as_str().context("session_id")?.to_string();
    let deadline = Duration::from_secs(600);
    let wall = loop {
        let msg = tokio::time::timeout(deadline.saturating_sub(started.elapsed()), progress.next())
            .await
            .context("sync did not finish in 10 minutes")?
            .context("progress subscription ended")?;
        let ev: Value = serde_json::from_slice(&msg.payload)?;
        if ev["session_id"] == session_id.as_str() && ev["stage"] == "session" {
            break started.elapsed().as_secs_f64();
        }
    };
    let stats = sim.control.get("/_sim/stats").await;
    let session = svc.get_json(&format!("/api/sync/sessions/{session_id}")).await?;
    Ok(SyncRun {
        wall,
        requests: stats["requests"].as_u64().unwrap_or(0),
        by_endpoint: stats["by_endpoint"].clone(),
        rate_limited: stats["rate_limited"].as_u64().unwrap_or(0),
        session,
    })
}

pub struct SyncScenario {
    pub key: &'static str,
    pub employees: usize,
    pub with_history: usize,
    pub rate: u32,
    pub latency_ms: u64,
    pub resync: bool,
}

pub async fn sync_scenario(
    report: &mut Report,
    nats: &Nats,
    nc: &async_nats::Client,
    s: SyncScenario,
) -> anyhow::Result<()> {
    println!("\n== full sync: {} employees, simulator {} req/s, {} ms latency ==", s.employees, s.rate, s.latency_ms);
    let sim = SimServer::start(SimConfig {
        employees: s.employees,
        with_history: s.with_history,
        rate_limit: s.rate,
        latency_ms: s.latency_ms,
        ..SimConfig::default()
    })
    .await;
    let svc = Service::start(s.key, nats, &sim, s.rate, "http,worker", &[]).await?;
    let pages = s.employees.div_ceil(100) as u64;
    let needed = pages + s.employees as u64;
    let floor = needed as f64 / f64::from(s.rate);
    let cpu0 = svc.cpu_seconds();
    let perf = Perf::attach(svc.pid(), s.key);
    let rss = RssSampler::start(svc.pid());
    let run = full_sync(&svc, nc, &sim).await?;
    let cpu = svc.cpu_seconds() - cpu0;
    report.note(format!("{} employees, first sync: peak RSS by stage: {}", s.employees, rss.by_stage(&run.session)));
    if let Some(txt) = perf.and_then(Perf::finish) {
        report.note(format!("{}: perf profile in {}", s.key, txt.display()));
    }
    let ratio = run.wall / floor;
    let status = run.session["status"].as_str().unwrap_or("?").to_string();
    report.figure(
        &format!("Sync vs floor, {} employees ({} req/s, {} ms)", s.employees, s.rate, s.latency_ms),
        format!(
            "{ratio:.3} ({:.2} s / floor {floor:.2} s; {} requests, needed {needed}; {} rate-limited; {status})",
            run.wall, run.requests, run.rate_limited
        ),
        "≤ 1.10, requests ≤ pages + employees",
        Some(ratio <= 1.10 && run.requests <= needed && status == "completed"),
    );
    report.note(format!(
        "{} employees, first sync: {}; requests by endpoint {}; service CPU {cpu:.1} s",
        s.employees,
        stage_breakdown(&run.session),
        run.by_endpoint
    ));
    report.raw.insert(
        format!("{}_first", s.key),
        json!({"wall_s": run.wall, "floor_s": floor, "ratio": ratio, "requests": run.requests, "needed": needed,
               "rate_limited": run.rate_limited, "status": status, "cpu_s": cpu, "session": run.session}),
    );
    if !s.resync {
        return Ok(());
    }
    let (hwm1, _) = svc.memory_kib();
    let cpu0 = svc.cpu_seconds();
    let again = full_sync(&svc, nc, &sim).await?;
    let cpu = svc.cpu_seconds() - cpu0;
    let (hwm, rss) = svc.memory_kib();
    report.figure(
        &format!("Peak RSS of the service during a {}-employee sync", s.employees),
        format!(
            "{:.1} MB (VmHWM after first sync {:.1} MB; VmRSS now {:.1} MB)",
            hwm as f64 / 1024.0,
            hwm1 as f64 / 1024.0,
            rss as f64 / 1024.0
        ),
        "< 100 MB",
        Some((hwm as f64 / 1024.0) < 100.0),
    );
    // The service runs with its defaults: incremental full syncs (employments are read only for
    // employees whose record changed or whose history is older than HISTORY_REFRESH_AFTER).
    let ratio = again.wall / floor;
    let employments = again.by_endpoint["employments"].as_u64().unwrap_or(0);
    let own_floor = again.requests as f64 / f64::from(s.rate);
    report.figure(
        &format!("Unchanged re-sync, {} employees (incremental, the default)", s.employees),
        format!(
            "{} requests ({} employments) instead of {needed}; {:.2} s = {ratio:.3} × the full-read floor {floor:.2} s \
             ({:.2} s over its own floor of {own_floor:.2} s); service CPU {cpu:.1} s",
            again.requests,
            employments,
            again.wall,
            again.wall - own_floor
        ),
        "report requests and wall time vs floor",
        None,
    );
    report.figure(
        "Incremental strategy: what it saves on an unchanged company",
        format!(
            "{} of {} employments calls skipped ({:.0}× fewer requests, {:.0}× less wall time than the full-read floor); \
             correctness: tests `incremental::*` (record change → read at the next sync, untouched record → read by the \
             periodic refresh, targeted syncs always read)",
            s.employees as u64 - employments,
            s.employees,
            needed as f64 / again.requests.max(1) as f64,
            floor / again.wall.max(0.001)
        ),
        "default only if correctness is proven by tests",
        Some(employments == 0),
    );
    report.note(format!("{} employees, unchanged re-sync: {}", s.employees, stage_breakdown(&again.session)));
    report.raw.insert(
        format!("{}_resync", s.key),
        json!({"wall_s": again.wall, "floor_s": floor, "ratio": ratio, "requests": again.requests,
               "by_endpoint": again.by_endpoint, "cpu_s": cpu, "vmhwm_kib": hwm, "vmhwm_after_first_kib": hwm1,
               "session": again.session}),
    );
    Ok(())
}
