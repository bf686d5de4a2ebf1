//! The load generators of the mixed-load round (`mixed`): followers over SSE, pollers, webhooks
//! each with its change upstream, the abusive token, and a sampler of NATS consumers and open
//! sessions; then the drain and the check that every accepted webhook led to its change once.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use testkit::{Webhook, nats::Nats, sim::SimServer};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    mixed::{Mix, token},
    report::pct,
    service::Service,
};

/// How long a webhook may wait for its answer before it counts as unanswered.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Load<'a> {
    pub mix: Mix,
    pub abuse: bool,
    pub companies: Vec<Uuid>,
    pub replicas: [&'a Service; 2],
    pub sim: &'a SimServer,
    pub nats: &'a Nats,
}

#[derive(Default)]
pub struct Outcome {
    pub api_p50_ms: f64,
    pub api_p99_ms: f64,
    pub api_requests: usize,
    /// p99 of changes and of milestones.
    pub route_p99_ms: [f64; 2],
    pub follow_p99_ms: f64,
    pub server_errors: usize,
    pub stream_opens: usize,
    pub webhooks_offered: usize,
    /// Seconds over which they were offered (the round's length, as the schedule ran).
    pub webhooks_offered_s: f64,
    pub webhooks_sent: usize,
    pub raises_failed: usize,
    /// Answered with any status (202, 429 or another).
    pub webhooks_answered: usize,
    pub webhooks_other: usize,
    pub webhooks_unanswered: usize,
    pub webhooks_max_in_flight: usize,
    pub webhook_p50_ms: f64,
    pub webhook_p99_ms: f64,
    pub webhooks_accepted: usize,
    pub webhooks_limited: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub drain_s: f64,
    pub max_consumers: usize,
    pub max_open_sessions: usize,
    pub max_followed: usize,
    pub rss_mb: [f64; 2],
    /// CPU seconds of the two replicas and of the bench process (simulator and load) in the window.
    pub cpu_s: [f64; 3],
    pub abuse_streams: usize,
    pub abuse_streams_ok: usize,
    pub abuse_requests: usize,
    pub abuse_ok: usize,
    /// The seconds of the window with the most poller requests over 50 ms: (second, how many, of how many).
    pub slow_seconds: Vec<(usize, usize, usize)>,
    pub raw: Value,
}

/// What every generator counts.
#[derive(Default)]
pub(crate) struct Counts {
    /// Each poller request's start, seconds into the window, and its milliseconds.
    api_at: Mutex<Vec<(f64, f64)>>,
    /// The milliseconds of the poller requests to changes (0) and to milestones (1).
    route_ms: Mutex<[Vec<f64>; 2]>,
    follow_ms: Mutex<Vec<f64>>,
    pub(crate) server_errors: AtomicUsize,
    pub(crate) stream_opens: AtomicUsize,
    pub(crate) followed: AtomicUsize,
    /// Webhooks due by the schedule (each its task), sent (its raise made upstream), answered by
    /// status, and never answered (a transport error or [`WEBHOOK_TIMEOUT`]).
    offered: AtomicUsize,
    /// Raises the simulator did not make (no answer in time, or refused): their webhooks are not sent.
    raise_failed: AtomicUsize,
    sent: AtomicUsize,
    limited: AtomicUsize,
    webhook_other: AtomicUsize,
    unanswered: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    webhook_ms: Mutex<Vec<f64>>,
    accepted: Mutex<Vec<(Uuid, chrono::NaiveDate)>>,
    pub(crate) abuse_streams_ok: AtomicUsize,
    pub(crate) abuse_requests: AtomicUsize,
    pub(crate) abuse_ok: AtomicUsize,
}

impl Counts {
    pub(crate) fn status(&self, s: u16) {
        if s >= 500 {
            self.server_errors.fetch_add(1, Relaxed);
        }
    }
}

/// GET `url` with `token`: its status, the milliseconds until its last byte (status 0: no
/// answer) and its body, unparsed (a client that polls a list need not build a JSON tree of it:
/// that would spend the bench's share of the machine's CPU, not the service's).
pub(crate) async fn timed_get(http: &reqwest::Client, url: &str, token: &str) -> (u16, f64, Option<bytes::Bytes>) {
    let t = Instant::now();
    match http.get(url).bearer_auth(token).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.bytes().await.ok();
            (status, t.elapsed().as_secs_f64() * 1000.0, body)
        }
        Err(_) => (0, t.elapsed().as_secs_f64() * 1000.0, None),
    }
}

/// The id of the first session of a `GET /api/sync/sessions` answer.
pub(crate) fn first_session(body: Option<&bytes::Bytes>) -> Option<Uuid> {
    #[derive(serde::Deserialize)]
    struct Page {
        sessions: Vec<Id>,
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: Uuid,
    }
    Some(serde_json::from_slice::<Page>(body?).ok()?.sessions.first()?.id)
}

/// The signed webhook of the `n`-th raise (of `employee`'s salary from `date`), counted by its answer.
async fn send_webhook(
    http: &reqwest::Client,
    c: &Counts,
    url: &str,
    company: Uuid,
    employee: Uuid,
    date: chrono::NaiveDate,
    n: usize,
) {
    let body = json!({"type": "employee.updated",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {"company_id": company, "employee_id": employee}});
    let webhook = Webhook::with_id(format!("msg_mixed_{n}_{}", Uuid::new_v4().simple()), body.to_string().into_bytes());
    c.sent.fetch_add(1, Relaxed);
    let t = Instant::now();
    let request = webhook.request(http, &format!("{url}/webhooks/employes"));
    match request.timeout(WEBHOOK_TIMEOUT).send().await {
        Ok(r) => {
            let s = r.status().as_u16();
            c.webhook_ms.lock().unwrap().push(t.elapsed().as_secs_f64() * 1000.0);
            c.status(s);
            match s {
                202 => c.accepted.lock().unwrap().push((employee, date)),
                429 => drop(c.limited.fetch_add(1, Relaxed)),
                _ => drop(c.webhook_other.fetch_add(1, Relaxed)),
            }
        }
        Err(_) => drop(c.unanswered.fetch_add(1, Relaxed)),
    }
}

/// Follow a session's events until its stream ends or `stop`; whether it opened (200).
pub(crate) async fn follow(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    c: &Counts,
    stop: &CancellationToken,
) -> Option<u16> {
    let resp = http.get(url).bearer_auth(token).send().await.ok()?;
    let status = resp.status().as_u16();
    c.stream_opens.fetch_add(1, Relaxed);
    c.status(status);
    if status != 200 {
        return Some(status);
    }
    c.followed.fetch_add(1, Relaxed);
    let mut resp = resp;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            chunk = resp.chunk() => if !matches!(chunk, Ok(Some(_))) { break },
        }
    }
    c.followed.fetch_sub(1, Relaxed);
    Some(status)
}

pub async fn run_load(load: Load<'_>) -> anyhow::Result<Outcome> {
    let Load { mix, abuse, companies, replicas, sim, nats } = load;
    let urls: [String; 2] = [replicas[0].url(""), replicas[1].url("")];
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).build()?;
    let c = Arc::new(Counts::default());
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut employees: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    // One lock per employee: two raises of one employee are made upstream in the order of their
    // dates (the simulator refuses a raise dated before the current period's start).
    let mut raising: HashMap<Uuid, Arc<tokio::sync::Mutex<()>>> = HashMap::new();
    for co in &companies {
        let truth = sim.control.truth_of(*co).await;
        let ids = truth["employees"].as_array().into_iter().flatten().filter_map(|e| e["id"].as_str()?.parse().ok());
        let ids: Vec<Uuid> = ids.collect();
        raising.extend(ids.iter().map(|e| (*e, Arc::default())));
        employees.insert(*co, ids);
    }
    // 50 companies syncing: a full sync of each, requested at once over both replicas.
    for (i, co) in companies.iter().enumerate() {
        replicas[i % 2].send_json(reqwest::Method::POST, "/api/sync", &json!({ "company_id": co })).await?;
    }
    let started = Instant::now();
    let cpu =
        || [replicas[0].cpu_seconds(), replicas[1].cpu_seconds(), crate::service::cpu_seconds(std::process::id())];
    let cpu_before = cpu();
    // Followers: each follows its company's latest session, and the next one when it ends.
    for j in 0..mix.followers {
        let (http, c, stop, co) = (http.clone(), c.clone(), stop.clone(), companies[j % companies.len()]);
        let (base, tok) = (urls[j % 2].clone(), token("viewer", j / 10));
        tasks.spawn(async move {
            while !stop.is_cancelled() {
                let (s, ms, body) =
                    timed_get(&http, &format!("{base}/api/sync/sessions?company_id={co}&limit=1"), &tok).await;
                c.status(s);
                c.follow_ms.lock().unwrap().push(ms);
                if let Some(id) = first_session(body.as_ref()) {
                    follow(&http, &format!("{base}/api/sync/sessions/{id}/events"), &tok, &c, &stop).await;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    // Pollers: changes, then milestones, four times a second.
    for i in 0..mix.pollers {
        let (http, c, stop, base, tok) =
            (http.clone(), c.clone(), stop.clone(), urls[i % 2].clone(), token("poller", i));
        tasks.spawn(async move {
            while !stop.is_cancelled() {
                for (route, path) in ["/api/changes?limit=50", "/api/milestones?limit=50"].into_iter().enumerate() {
                    let at = started.elapsed().as_secs_f64();
                    let (s, ms, _) = timed_get(&http, &format!("{base}{path}"), &tok).await;
                    c.status(s);
                    c.api_at.lock().unwrap().push((at, ms));
                    c.route_ms.lock().unwrap()[route].push(ms);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
    }
    // Webhooks: each one a raise upstream first, then its signed webhook, `webhooks_per_s` a second
    // on schedule (open loop): the n-th is offered at n / rate seconds whatever the earlier ones'
    // answers took, each in a task of its own (a closed loop of in-flight slots offered only what
    // the service answered).
    let sender = {
        let (http, c, stop, control) = (http.clone(), c.clone(), stop.clone(), sim.control.clone());
        let (companies, employees, urls, rate, raising) =
            (companies.clone(), employees.clone(), urls.clone(), mix.webhooks_per_s, raising);
        tokio::spawn(async move {
            let base = chrono::NaiveDate::from_ymd_opt(2040, 1, 1).unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut n = 0usize;
            let mut inner = JoinSet::new();
            while !stop.is_cancelled() {
                tick.tick().await;
                let due = (started.elapsed().as_secs_f64() * rate as f64) as usize;
                while n < due {
                    let co = companies[n % companies.len()];
                    let people = &employees[&co];
                    let employee = people[(n / companies.len()) % people.len()];
                    let date = base + chrono::Days::new(n as u64);
                    let (http, c, control, url) = (http.clone(), c.clone(), control.clone(), urls[n % 2].clone());
                    let turn = raising[&employee].clone().lock_owned();
                    c.offered.fetch_add(1, Relaxed);
                    let in_flight = c.in_flight.fetch_add(1, Relaxed) + 1;
                    c.max_in_flight.fetch_max(in_flight, Relaxed);
                    inner.spawn(async move {
                        let raise = json!({"kind": "salary", "company_id": co, "employee_id": employee,
                                           "month_wage": 6000 + n, "start_date": date.to_string()});
                        let raised = {
                            let _turn = turn.await;
                            let request = control.post_request("/_sim/mutations", &raise).timeout(WEBHOOK_TIMEOUT);
                            request.send().await.is_ok_and(|r| r.status().is_success())
                        };
                        if raised {
                            send_webhook(&http, &c, &url, co, employee, date, n).await;
                        } else {
                            c.raise_failed.fetch_add(1, Relaxed);
                        }
                        c.in_flight.fetch_sub(1, Relaxed);
                    });
                    n += 1;
                }
                while inner.try_join_next().is_some() {}
            }
            let offered_s = started.elapsed().as_secs_f64();
            while inner.join_next().await.is_some() {}
            offered_s
        })
    };
    // The abusive token: a client of its own (its own connections, its own runtime on a thread of
    // its own), as another process on the same host would be.
    let abuser = abuse.then(|| crate::mixed_abuse::start(c.clone(), stop.clone(), urls.clone(), companies.clone()));
    // Sampler: the progress stream's consumers and the open sessions, every second.
    let db = replicas[0].db().await?;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await?);
    let progress = format!("{}_PROGRESS", replicas[0].prefix.to_uppercase().replace('-', "_"));
    let (mut max_consumers, mut max_open, mut max_followed) = (0usize, 0usize, 0usize);
    while started.elapsed() < Duration::from_secs(mix.secs) {
        if let Ok(mut s) = js.get_stream(&progress).await
            && let Ok(info) = s.info().await
        {
            max_consumers = max_consumers.max(info.state.consumer_count);
        }
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_sessions WHERE status IN ('queued', 'running')")
            .fetch_one(&db)
            .await?;
        max_open = max_open.max(open as usize);
        max_followed = max_followed.max(c.followed.load(Relaxed));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let cpu_after = cpu();
    stop.cancel();
    let offered_s = sender.await?;
    if let Some(abuser) = abuser {
        tokio::task::spawn_blocking(move || abuser.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the abuser panicked"))?;
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Drain: until no session is open for three seconds in a row (at most 5 minutes).
    let drain = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    while drain.elapsed() < Duration::from_secs(300) {
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_sessions WHERE status IN ('queued', 'running')")
            .fetch_one(&db)
            .await?;
        match (open, quiet_since) {
            (0, Some(t)) if t.elapsed() > Duration::from_secs(3) => break,
            (0, None) => quiet_since = Some(Instant::now()),
            (0, Some(_)) => {}
            _ => quiet_since = None,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drain_s = drain.elapsed().as_secs_f64();
    let found: Vec<(Uuid, chrono::NaiveDate, i64)> = sqlx::query_as(
        "SELECT employee_id, effective_date, count(*) FROM changes WHERE change_type = 'salary_change'
         AND effective_date >= '2040-01-01' GROUP BY 1, 2",
    )
    .fetch_all(&db)
    .await?;
    let found: HashMap<(Uuid, chrono::NaiveDate), i64> = found.into_iter().map(|(e, d, n)| ((e, d), n)).collect();
    let accepted: HashSet<(Uuid, chrono::NaiveDate)> = c.accepted.lock().unwrap().iter().copied().collect();
    let lost = accepted.iter().filter(|k| !found.contains_key(k)).count();
    let duplicated = accepted.iter().filter(|k| found.get(k).is_some_and(|n| *n > 1)).count();
    let mut api: Vec<f64> = c.api_at.lock().unwrap().iter().map(|(_, ms)| *ms).collect();
    let mut fol = c.follow_ms.lock().unwrap().clone();
    let mut hooks = c.webhook_ms.lock().unwrap().clone();
    let mut routes = c.route_ms.lock().unwrap().clone();
    let [changes_ms, milestones_ms] = &mut routes;
    for v in [&mut api, &mut fol, &mut hooks, changes_ms, milestones_ms] {
        v.sort_by(f64::total_cmp);
    }
    let slow_seconds = slow_seconds(&c.api_at.lock().unwrap());
    let rss = |s: &Service| s.memory_kib().0 as f64 / 1024.0;
    Ok(Outcome {
        api_p50_ms: pct(&api, 50.0),
        api_p99_ms: pct(&api, 99.0),
        api_requests: api.len(),
        route_p99_ms: [pct(&routes[0], 99.0), pct(&routes[1], 99.0)],
        follow_p99_ms: pct(&fol, 99.0),
        server_errors: c.server_errors.load(Relaxed),
        stream_opens: c.stream_opens.load(Relaxed),
        webhooks_offered: c.offered.load(Relaxed),
        webhooks_offered_s: offered_s,
        webhooks_sent: c.sent.load(Relaxed),
        raises_failed: c.raise_failed.load(Relaxed),
        webhooks_answered: hooks.len(),
        webhooks_other: c.webhook_other.load(Relaxed),
        webhooks_unanswered: c.unanswered.load(Relaxed),
        webhooks_max_in_flight: c.max_in_flight.load(Relaxed),
        webhook_p50_ms: pct(&hooks, 50.0),
        webhook_p99_ms: pct(&hooks, 99.0),
        webhooks_accepted: accepted.len(),
        webhooks_limited: c.limited.load(Relaxed),
        lost,
        duplicated,
        drain_s,
        max_consumers,
        max_open_sessions: max_open,
        max_followed,
        rss_mb: [rss(replicas[0]), rss(replicas[1])],
        cpu_s: [0, 1, 2].map(|i| cpu_after[i] - cpu_before[i]),
        abuse_streams: if abuse { crate::mixed_abuse::STREAMS } else { 0 },
        abuse_streams_ok: c.abuse_streams_ok.load(Relaxed),
        abuse_requests: c.abuse_requests.load(Relaxed),
        abuse_ok: c.abuse_ok.load(Relaxed),
        slow_seconds,
        raw: json!({"api_ms_p50": pct(&api, 50.0), "api_ms_p99": pct(&api, 99.0), "lost": lost, "duplicated": duplicated,
                    "changes_ms_p99": pct(&routes[0], 99.0), "milestones_ms_p99": pct(&routes[1], 99.0),
                    "webhooks_offered": c.offered.load(Relaxed), "webhooks_offered_s": offered_s,
                    "webhooks_answered": hooks.len(), "webhook_ms_p99": pct(&hooks, 99.0),
                    "accepted": accepted.len(), "max_consumers": max_consumers, "max_open": max_open}),
    })
}

/// The five seconds of the window with the most requests over 50 ms, each as (second, slow, all).
fn slow_seconds(at: &[(f64, f64)]) -> Vec<(usize, usize, usize)> {
    let mut by_second: HashMap<usize, (usize, usize)> = HashMap::new();
    for (t, ms) in at {
        let e = by_second.entry(*t as usize).or_default();
        e.1 += 1;
        if *ms > 50.0 {
            e.0 += 1;
        }
    }
    let mut v: Vec<(usize, usize, usize)> =
        by_second.into_iter().filter(|(_, (slow, _))| *slow > 0).map(|(s, (slow, all))| (s, slow, all)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(5);
    v
}
