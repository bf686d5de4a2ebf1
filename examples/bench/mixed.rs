//! Issue 23, item 4: the mixed load on two replicas — companies syncing, live dashboard followers
//! over SSE, API clients polling changes and milestones, signed webhooks each with its change
//! upstream — once as it is and once with one abusive token on top. Its load generators live in
//! `mixed_load`; this module sets the deployment up, runs the two rounds and reports them.

use std::time::Duration;

use anyhow::Context as _;
use employes_sync::simulator::SimConfig;
use serde_json::json;
use testkit::{API_TOKEN, nats::Nats, sim::SimServer};
use uuid::Uuid;

use crate::{
    mixed_load::{Load, Outcome, run_load},
    report::Report,
    service::Service,
};

/// The size of one round.
#[derive(Clone, Copy)]
pub struct Mix {
    pub companies: usize,
    pub employees: usize,
    pub followers: usize,
    pub pollers: usize,
    pub webhooks_per_s: usize,
    pub secs: u64,
    pub rounds: Rounds,
}

/// Which rounds run: both (the default), or for iteration only the one without the abusive token
/// (`BENCH_MIXED_ROUNDS=calm`) or only the one with it (`BENCH_MIXED_ROUNDS=abused`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rounds {
    Both,
    Calm,
    Abused,
}

impl Rounds {
    pub fn from_env() -> Rounds {
        match std::env::var("BENCH_MIXED_ROUNDS").as_deref() {
            Ok("calm") => Rounds::Calm,
            Ok("abused") => Rounds::Abused,
            _ => Rounds::Both,
        }
    }
}

/// Tokens of the round: `viewer-<i>` for followers (10 streams each), `poller-<i>`, `abuser`.
pub fn token(kind: &str, i: usize) -> String {
    format!("bench-{kind}-token-{i:04}-0123456789abcdef")
}

fn api_tokens(mix: &Mix) -> String {
    let mut entries = vec![format!("ci:{API_TOKEN}:admin"), format!("abuser:{}:viewer", token("abuser", 0))];
    for i in 0..mix.followers.div_ceil(10) {
        entries.push(format!("viewer{i}:{}:viewer", token("viewer", i)));
    }
    for i in 0..mix.pollers {
        entries.push(format!("poller{i}:{}:viewer", token("poller", i)));
    }
    entries.join(",")
}

/// One round on a fresh deployment: two replicas, `mix.companies` companies with keys of their
/// own at 5 req/s, the API and webhook limits at their defaults.
async fn round(nats: &Nats, mix: Mix, abuse: bool, tag: &str) -> anyhow::Result<Outcome> {
    let mut cfg = SimConfig {
        rate_limit: 5,
        latency_ms: 30,
        seed: 23,
        employees: mix.employees,
        // Every employee with a visible history: a raise of one without it would be its first
        // salary period, not a salary change, and the lost-webhook count could not tell them apart.
        with_history: mix.employees,
        ..SimConfig::default()
    }
    .with_companies(mix.companies);
    for (k, c) in cfg.companies.iter_mut().enumerate().skip(1) {
        c.key = Some(format!("bench-mixed-key-{k}"));
    }
    let sim = SimServer::start(cfg).await;
    let tokens = api_tokens(&mix);
    let extra = [
        ("EMPLOYES_RATE_LIMIT", "5"),
        ("API_TOKENS", tokens.as_str()),
        ("API_RATE_LIMIT", "50"),
        ("WEBHOOK_RATE_LIMIT", "500"),
    ];
    let a = Service::start(&format!("mixed-{tag}-a"), nats, &sim, 5, "http,worker", &extra).await?;
    for c in sim.companies.iter().skip(1) {
        let body = json!({"id": c.id, "name": c.name, "api_key": c.key.clone().context("key")?, "rate_limit": 5});
        a.send_json(reqwest::Method::POST, "/api/companies", &body).await?;
    }
    let b = a.replica(&format!("mixed-{tag}-b")).await?;
    let companies: Vec<Uuid> = sim.companies.iter().map(|c| c.id).collect();
    let load = Load { mix, abuse, companies, replicas: [&a, &b], sim: &sim, nats };
    run_load(load).await
}

fn verdicts(report: &mut Report, label: &str, o: &Outcome, secs: u64) {
    report.note(format!(
        "mixed{label}: CPU in the {secs} s window: replicas {:.1} s and {:.1} s, bench process (simulator, load) {:.1} s",
        o.cpu_s[0], o.cpu_s[1], o.cpu_s[2]
    ));
    let slow: Vec<String> = o.slow_seconds.iter().map(|(s, n, all)| format!("second {s}: {n} of {all}")).collect();
    report.note(format!(
        "mixed{label}: the seconds with the most poller requests over 50 ms: {}",
        if slow.is_empty() { "none".to_string() } else { slow.join(", ") }
    ));
    report.figure(
        &format!("Mixed load{label}: API p99 (pollers of changes and milestones)"),
        format!(
            "p99 {:.0} ms, p50 {:.0} ms over {} requests (p99 of changes {:.0} ms, of milestones {:.0} ms); \
             follower session lookups p99 {:.0} ms",
            o.api_p99_ms, o.api_p50_ms, o.api_requests, o.route_p99_ms[0], o.route_p99_ms[1], o.follow_p99_ms
        ),
        "p99 < 150 ms",
        Some(o.api_p99_ms < 150.0),
    );
    report.figure(
        &format!("Mixed load{label}: 5xx answers"),
        format!(
            "{} (of {} API requests, {} webhooks, {} stream opens)",
            o.server_errors, o.api_requests, o.webhooks_offered, o.stream_opens
        ),
        "0",
        Some(o.server_errors == 0),
    );
    report.figure(
        &format!("Mixed load{label}: webhooks lost"),
        format!(
            "{} offered in {:.0} s ({:.0}/s, on schedule), {} sent ({} not: their raise upstream failed), {} answered ({} accepted, {} 429, {} other), {} unanswered \
             after {} s, answer p50 {:.0} ms, p99 {:.0} ms, at most {} in flight; {} accepted without their change, \
             {} with it more than once (after {:.0} s of drain)",
            o.webhooks_offered,
            o.webhooks_offered_s,
            o.webhooks_offered as f64 / o.webhooks_offered_s.max(f64::EPSILON),
            o.webhooks_sent,
            o.raises_failed,
            o.webhooks_answered,
            o.webhooks_accepted,
            o.webhooks_limited,
            o.webhooks_other,
            o.webhooks_unanswered,
            crate::mixed_load::WEBHOOK_TIMEOUT.as_secs(),
            o.webhook_p50_ms,
            o.webhook_p99_ms,
            o.webhooks_max_in_flight,
            o.lost,
            o.duplicated,
            o.drain_s
        ),
        "0 lost, each change exactly once",
        Some(o.lost == 0 && o.duplicated == 0),
    );
    report.figure(
        &format!("Mixed load{label}: NATS progress consumers"),
        format!(
            "at most {} consumers while at most {} sessions were open and {} streams were followed",
            o.max_consumers, o.max_open_sessions, o.max_followed
        ),
        "bounded by sessions (≤ 2 replicas × open sessions), not viewers",
        Some(o.max_consumers <= 2 * o.max_open_sessions.max(1)),
    );
    report.figure(
        &format!("Mixed load{label}: peak RSS per replica"),
        format!("{:.1} MB and {:.1} MB", o.rss_mb[0], o.rss_mb[1]),
        "< 200 MB",
        Some(o.rss_mb.iter().all(|m| *m < 200.0)),
    );
}

pub async fn mixed_scenario(report: &mut Report, nats: &Nats, mix: Mix) -> anyhow::Result<()> {
    println!(
        "\n== mixed load: {} companies, {} followers, {} pollers, {} webhooks/s for {} s, two replicas ==",
        mix.companies, mix.followers, mix.pollers, mix.webhooks_per_s, mix.secs
    );
    let calm = if mix.rounds == Rounds::Abused { None } else { Some(round(nats, mix, false, "calm").await?) };
    if let Some(calm) = &calm {
        verdicts(report, "", calm, mix.secs);
    }
    let abused = if mix.rounds == Rounds::Calm {
        None
    } else {
        if calm.is_some() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Some(round(nats, mix, true, "abused").await?)
    };
    if let Some(abused) = &abused {
        verdicts(report, " with an abusive token", abused, mix.secs);
    }
    let mut raw = serde_json::Map::new();
    for (name, o) in [("calm", &calm), ("abused", &abused)] {
        if let Some(o) = o {
            raw.insert(name.into(), o.raw.clone());
        }
    }
    report.raw.insert("mixed".into(), raw.into());
    let (Some(calm), Some(abused)) = (calm, abused) else { return Ok(()) };
    let ratio = abused.api_p99_ms / calm.api_p99_ms;
    report.figure(
        "Mixed load: everyone else's API p99 with the abusive token ÷ without",
        format!(
            "{ratio:.2} ({:.0} ms / {:.0} ms); the abuser got {} of {} streams and {} of {} requests answered 2xx",
            abused.api_p99_ms,
            calm.api_p99_ms,
            abused.abuse_streams_ok,
            abused.abuse_streams,
            abused.abuse_ok,
            abused.abuse_requests
        ),
        "≤ 1.5",
        Some(ratio <= 1.5),
    );
    Ok(())
}
