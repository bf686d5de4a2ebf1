//! Issue 19: signed HTTP delivery to a registered endpoint against a baseline that POSTs the same
//! signed payloads with reqwest at the same concurrency, both to one receiver (an axum handler
//! answering 200, in a child process of its own: `bench receiver`); and change recorded →
//! delivered latency.
//!
//! The events are real: a company's first sync records its past transitions while the endpoint is
//! disabled, so they wait in the endpoint's durable consumer; enabling it drains them at
//! `ENDPOINT_CONCURRENCY` (16). The baseline then sends exactly what the receiver got (body and
//! `webhook-*` headers) with 16 tasks over one reqwest client, and again after a second drain
//! (a replay of the same events), alternating, so both sides see the same machine.

use std::{
    net::SocketAddr,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use axum::{Json, Router, body::Bytes, extract::State, http::HeaderMap, routing::get, routing::post};
use employes_sync::simulator::SimConfig;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use testkit::{WEBHOOK_SECRET, free_port, nats::Nats, process::ServiceProcess, sim::SimServer};

use crate::{
    report::{Report, pct},
    service::{Callgrind, Perf, Service, cpu_seconds},
    sync::full_sync,
};

/// One delivery as the receiver got it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Got {
    id: String,
    timestamp: String,
    signature: String,
    /// Arrival, µs since the Unix epoch.
    at_us: i64,
    body: String,
}

type Seen = Arc<Mutex<Vec<Got>>>;

/// `bench receiver`: POST /hook records and answers 200; GET /seen lists; POST /reset forgets.
pub async fn serve_receiver() -> anyhow::Result<()> {
    async fn hook(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> &'static str {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let got = Got {
            id: h("webhook-id"),
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
            at_us: chrono::Utc::now().timestamp_micros(),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        seen.lock().expect("not poisoned").push(got);
        "ok"
    }
    async fn list(State(seen): State<Seen>) -> Json<Vec<Got>> {
        Json(seen.lock().expect("not poisoned").clone())
    }
    async fn count(State(seen): State<Seen>) -> String {
        seen.lock().expect("not poisoned").len().to_string()
    }
    async fn reset(State(seen): State<Seen>) -> &'static str {
        seen.lock().expect("not poisoned").clear();
        "ok"
    }
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/seen", get(list))
        .route("/count", get(count))
        .route("/reset", post(reset))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

struct Receiver {
    /// Killed on drop.
    _process: ServiceProcess,
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("receiver");
        let mut process = ServiceProcess::spawn(cmd);
        let addr = process.http_addr().await;
        Ok(Receiver { _process: process, addr, http: reqwest::Client::new() })
    }
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    async fn count(&self) -> anyhow::Result<usize> {
        Ok(self.http.get(self.url("/count")).send().await?.text().await?.trim().parse()?)
    }
    async fn seen(&self) -> anyhow::Result<Vec<Got>> {
        Ok(self.http.get(self.url("/seen")).send().await?.json().await?)
    }
    async fn reset(&self) -> anyhow::Result<()> {
        self.http.post(self.url("/reset")).send().await?.error_for_status()?;
        Ok(())
    }
    /// Wait until `n` deliveries arrived (or `timeout`); how many did.
    async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<usize> {
        let started = Instant::now();
        loop {
            let c = self.count().await?;
            if c >= n || started.elapsed() > timeout {
                return Ok(c);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Deliveries per second between the first and the last arrival.
fn rate(got: &[Got]) -> f64 {
    let (first, last) = (got.iter().map(|g| g.at_us).min(), got.iter().map(|g| g.at_us).max());
    match (first, last) {
        (Some(a), Some(b)) if b > a => (got.len() - 1) as f64 / ((b - a) as f64 / 1e6),
        _ => f64::NAN,
    }
}

/// The baseline: POST every payload as it was delivered (same body and `webhook-*` headers) with
/// `concurrency` tasks over one reqwest client; the receiver's arrivals are counted the same way.
async fn baseline(receiver: &Receiver, payloads: &[Got], concurrency: usize) -> anyhow::Result<(f64, usize)> {
    receiver.reset().await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let payloads = Arc::new(payloads.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = receiver.url("/hook");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, payloads, next, url) = (http.clone(), payloads.clone(), next.clone(), url.clone());
        tasks.spawn(async move {
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(p) = payloads.get(i) else { break };
                let sent = http
                    .post(&url)
                    .header("content-type", "application/cloudevents+json")
                    .header("webhook-id", &p.id)
                    .header("webhook-timestamp", &p.timestamp)
                    .header("webhook-signature", &p.signature)
                    .body(p.body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
            }
            errors
        });
    }
    let mut errors = 0;
    while let Some(e) = tasks.join_next().await {
        errors += e?;
    }
    let got = receiver.seen().await?;
    Ok((rate(&got), errors))
}

/// Events waiting in the endpoint's consumers (every stream of the service's prefix), once that
/// number has held still for two seconds (milestone events follow the changes).
async fn waiting(nc: &async_nats::Client, prefix: &str, endpoint: &str) -> anyhow::Result<usize> {
    use futures::TryStreamExt as _;
    let js = async_nats::jetstream::new(nc.clone());
    let tag = endpoint.replace('-', "");
    let (mut last, mut same_since) = (usize::MAX, Instant::now());
    loop {
        let mut total = 0usize;
        let names: Vec<String> = js.stream_names().try_collect().await?;
        for name in names.into_iter().filter(|n| n.starts_with(&prefix.to_uppercase().replace('-', "_"))) {
            let stream = js.get_stream(&name).await?;
            let consumers: Vec<String> = stream.consumer_names().try_collect().await?;
            for c in consumers.into_iter().filter(|c| c.contains(&tag)) {
                let info = stream.consumer_info(&c).await?;
                total += info.num_pending as usize + info.num_ack_pending;
            }
        }
        if total != last {
            (last, same_since) = (total, Instant::now());
        } else if same_since.elapsed() > Duration::from_secs(2) {
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The sum of the service's samples of `series` whose labels include `label` (`""`: all), from
/// its `/metrics` text.
fn metric_sum(metrics: &str, series: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(series) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The service's `/metrics` text (empty when it does not answer).
async fn metrics_text(svc: &Service) -> String {
    let Ok(resp) = svc.http.get(svc.url("/metrics")).send().await else { return String::new() };
    resp.text().await.unwrap_or_default()
}

/// `(count, sum)` of the service's `employes_sync_endpoint_attempt_seconds` histogram.
async fn attempt_seconds(svc: &Service) -> (f64, f64) {
    let text = metrics_text(svc).await;
    let value = |suffix: &str| metric_sum(&text, &format!("employes_sync_endpoint_attempt_seconds_{suffix}"), "");
    (value("count"), value("sum"))
}

/// The service's `employes_sync_endpoint_wait_microseconds_total`, in seconds, by `on`
/// (`message`, `slot`, `held`, `log`).
async fn waits(svc: &Service) -> [f64; 4] {
    let text = metrics_text(svc).await;
    ["message", "slot", "held", "log"]
        .map(|on| metric_sum(&text, "employes_sync_endpoint_wait_microseconds_total", &format!("on=\"{on}\"")) / 1e6)
}

/// What the drained events were: how many of each type, how many distinct ids, and which sessions
/// recorded the changes among them (the full sync, or syncs the simulator's webhooks started while
/// the raises were made).
async fn events_note(svc: &Service, delivered: &[Got]) -> anyhow::Result<String> {
    let mut by_type = std::collections::BTreeMap::<String, usize>::new();
    let mut ids = std::collections::HashSet::new();
    let mut change_ids = Vec::new();
    for g in delivered {
        let ev: Value = serde_json::from_str(&g.body)?;
        let kind = ev["type"].as_str().unwrap_or("?").trim_start_matches("nl.employes.").to_string();
        if !kind.starts_with("milestone.") {
            change_ids.push(g.id.parse::<uuid::Uuid>()?);
        }
        let kind = match ev["data"]["reason"].as_str() {
            Some(reason) => format!("{kind} ({reason})"),
            None => kind,
        };
        *by_type.entry(kind).or_default() += 1;
        ids.insert(g.id.clone());
    }
    let db = svc.db().await?;
    let by_session: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT s.source, s.scope, count(*) FROM changes c JOIN sync_sessions s ON s.id = c.session_id
         WHERE c.id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(&change_ids)
    .fetch_all(&db)
    .await?;
    let list = |items: Vec<String>| items.join(", ");
    Ok(format!(
        "endpoints, what was drained: {} events, {} distinct ids; by type {}; their changes were recorded by {}",
        delivered.len(),
        ids.len(),
        list(by_type.iter().map(|(k, n)| format!("{k} {n}")).collect()),
        list(by_session.iter().map(|(source, scope, n)| format!("{n} in {source} ({scope}) syncs")).collect())
    ))
}

async fn set_enabled(svc: &Service, endpoint: &str, enabled: bool) -> anyhow::Result<()> {
    svc.send_json(reqwest::Method::PATCH, &format!("/api/endpoints/{endpoint}"), &json!({ "enabled": enabled }))
        .await?;
    Ok(())
}

pub async fn endpoints_scenario(
    report: &mut Report,
    nats: &Nats,
    nc: &async_nats::Client,
    employees: usize,
    events: usize,
    latency_runs: usize,
) -> anyhow::Result<()> {
    println!("\n== endpoint delivery: a first sync's events to one endpoint at 16 concurrent, vs reqwest ==");
    let port = free_port();
    let sim = SimServer::start(SimConfig {
        rate_limit: 2000,
        latency_ms: 0,
        employees,
        with_history: employees,
        webhook_url: Some(format!("http://127.0.0.1:{port}/webhooks/employes")),
        webhook_secret: Some(WEBHOOK_SECRET.to_string().into()),
        ..SimConfig::default()
    })
    .await;
    let addr = format!("127.0.0.1:{port}");
    let extra =
        [("HTTP_ADDR", addr.as_str()), ("ENDPOINT_ALLOW_PRIVATE_NETWORKS", "true"), ("WEBHOOK_COALESCE_WINDOW", "0s")];
    let svc = Service::start("endpoints", nats, &sim, 2000, "http,worker", &extra).await?;
    // The company's baseline first: its events (past transitions, milestones) come before the endpoint.
    full_sync(&svc, nc, &sim).await?;
    let receiver = Receiver::start().await?;
    let created = svc
        .send_json(
            reqwest::Method::POST,
            "/api/endpoints",
            &json!({"url": receiver.url("/hook"), "description": "bench"}),
        )
        .await?;
    let endpoint = created["id"].as_str().context("endpoint id")?.to_string();
    // The endpoint's consumers exist once the dispatcher served it; then it waits disabled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    set_enabled(&svc, &endpoint, false).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // `events` raises upstream (`per` per employee, in date order), then one full sync records them.
    let ids: Vec<String> = sim.control.truth().await["employees"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect();
    let per = events.div_ceil(ids.len());
    let raises = futures::stream::iter(ids.iter().enumerate().map(|(k, id)| {
        let control = sim.control.clone();
        async move {
            let base = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or_default();
            for j in 0..per.min(events.saturating_sub(k * per)) {
                let date = (base + chrono::Months::new(j as u32)).to_string();
                let raise = json!({"kind": "salary", "employee_id": id, "month_wage": 3000 + j, "start_date": date});
                control.post("/_sim/mutations", raise).await;
            }
        }
    }));
    futures::StreamExt::for_each_concurrent(raises, 16, |f| f).await;
    let sync = full_sync(&svc, nc, &sim).await?;
    let changes = sync.session["changes_detected"].as_u64().unwrap_or(0) as usize;
    let recorded = waiting(nc, &svc.prefix, &endpoint).await?;
    anyhow::ensure!(recorded >= events, "only {recorded} events wait for the endpoint ({changes} changes recorded)");
    anyhow::ensure!(receiver.count().await? == 0, "delivered while disabled");

    // Round 1: the service drains the backlog; then the baseline sends the same payloads.
    let cpu0 = svc.cpu_seconds();
    let metrics0 = attempt_seconds(&svc).await;
    let waits0 = waits(&svc).await;
    let callgrind = Callgrind::on(&svc, "endpoints");
    let perf = Perf::attach(svc.pid(), "endpoints");
    set_enabled(&svc, &endpoint, true).await?;
    let arrived = receiver.wait_for(recorded, Duration::from_secs(1800)).await?;
    if let Some(txt) = perf.and_then(Perf::finish) {
        report.note(format!("endpoints: perf profile of the drain in {}", txt.display()));
    }
    if let Some(ir) = callgrind.and_then(Callgrind::finish) {
        report.note(format!(
            "endpoints: callgrind counted {:.0}k instructions per delivery in the service over the drain \
             (profile in target/bench-results/endpoints.callgrind.out.*)",
            ir as f64 / 1000.0 / arrived.max(1) as f64
        ));
    }
    let svc_cpu = svc.cpu_seconds() - cpu0;
    let metrics1 = attempt_seconds(&svc).await;
    let waits1 = waits(&svc).await;
    let delivered = receiver.seen().await?;
    report.note(events_note(&svc, &delivered).await?);
    let mut svc_rates = vec![rate(&delivered)];
    let (posts, post_s) = (metrics1.0 - metrics0.0, metrics1.1 - metrics0.1);
    report.note(format!(
        "endpoints, round 1: {posts:.0} attempts took {:.1} ms each on average (the service's own \
         employes_sync_endpoint_attempt_seconds: the POST and its answer); with 16 slots at {:.0}/s a slot is held \
         {:.1} ms per delivery, so {:.1} ms of each is spent outside the POST (logging the attempt, settling the \
         message, pulling the next)",
        post_s * 1000.0 / posts.max(1.0),
        svc_rates[0],
        16_000.0 / svc_rates[0],
        16_000.0 / svc_rates[0] - post_s * 1000.0 / posts.max(1.0)
    ));
    let waited: Vec<f64> = waits1.iter().zip(&waits0).map(|(a, b)| (a - b) * 1000.0 / recorded.max(1) as f64).collect();
    report.note(format!(
        "endpoints, round 1, where the pull loops waited per delivery (employes_sync_endpoint_wait_microseconds_total \
         over the drain): {:.2} ms for a message with a slot free, {:.2} ms for a slot, {:.2} ms for room among the \
         held messages (logging, settling); each delivery waited {:.2} ms for its attempt's commit",
        waited[0], waited[1], waited[2], waited[3]
    ));
    let this = std::process::id();
    let cpu_b0 = cpu_seconds(this);
    let (b1, e1) = baseline(&receiver, &delivered, 16).await?;
    let base_cpu = cpu_seconds(this) - cpu_b0;
    // Round 2 in the other order: the baseline first, then a replay of the same time range.
    let (b2, e2) = baseline(&receiver, &delivered, 16).await?;
    receiver.reset().await?;
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let replayed = svc
        .send_json(reqwest::Method::POST, &format!("/api/endpoints/{endpoint}/replay"), &json!({ "since": since }))
        .await?;
    let queued = replayed["queued"].as_u64().unwrap_or(0) as usize;
    let again = receiver.wait_for(queued, Duration::from_secs(300)).await?;
    svc_rates.push(rate(&receiver.seen().await?));
    let base_rates = [b1, b2];
    let ratios: Vec<f64> = svc_rates.iter().zip(&base_rates).map(|(s, b)| s / b).collect();
    let ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
    let errors = e1 + e2;
    report.figure(
        &format!("Endpoint delivery throughput vs reqwest baseline ({recorded} events, 16 concurrent)"),
        format!(
            "{ratio:.2}× (rounds {}: service {} /s vs baseline {} /s); {arrived} of {recorded} delivered, replay {again} of \
             {queued}; {errors} baseline errors",
            ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", "),
            svc_rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" / "),
            base_rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" / ")
        ),
        "≥ 0.8 × baseline",
        Some(ratio >= 0.8 && arrived >= recorded && errors == 0),
    );
    report.note(format!(
        "endpoints: the events are the {changes} salary changes one full sync recorded after {events} raises upstream \
         ({per} per employee of {employees}); service CPU {:.0} µs per delivery (drain of round 1, incl. its attempts log), baseline load \
         generator {:.0} µs per POST; round 1 is the endpoint's consumer drained after it was enabled again, round 2 a \
         replay (`POST /api/endpoints/{{id}}/replay`) of the same events",
        svc_cpu * 1e6 / recorded as f64,
        base_cpu * 1e6 / recorded as f64
    ));

    // Latency: one raise at a time, told by the simulator's webhook; recorded (the event's `time`) →
    // arrival at the receiver.
    receiver.reset().await?;
    let base = chrono::NaiveDate::from_ymd_opt(2040, 1, 1).context("date")?;
    for i in 0..latency_runs {
        let before = receiver.count().await?;
        let date = (base + chrono::Days::new(i as u64)).to_string();
        let body =
            json!({"kind": "salary", "employee_id": ids[i % ids.len()], "month_wage": 4100 + i, "start_date": date});
        sim.control.post("/_sim/mutations", body).await;
        receiver.wait_for(before + 1, Duration::from_secs(10)).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut lat: Vec<f64> = receiver
        .seen()
        .await?
        .iter()
        .filter_map(|g| {
            let ev: Value = serde_json::from_str(&g.body).ok()?;
            let t = chrono::DateTime::parse_from_rfc3339(ev["time"].as_str()?).ok()?;
            Some((g.at_us - t.timestamp_micros()) as f64 / 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let p99 = pct(&lat, 99.0);
    report.figure(
        "Endpoint delivery latency, change recorded → delivered",
        format!(
            "p50 {:.0} ms, p99 {p99:.0} ms, max {:.0} ms over {} events ({latency_runs} raises, one at a time, each \
             synced on the simulator's webhook)",
            pct(&lat, 50.0),
            lat.last().copied().unwrap_or(f64::NAN),
            lat.len()
        ),
        "p99 < 200 ms",
        Some(p99 < 200.0 && lat.len() >= latency_runs),
    );
    report.raw.insert(
        "endpoints".into(),
        json!({"events": recorded, "service_rates": svc_rates, "baseline_rates": base_rates, "ratio": ratio,
               "service_cpu_s": svc_cpu, "latency_ms": lat}),
    );
    Ok(())
}
