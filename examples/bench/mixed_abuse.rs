//! The abusive token of the mixed load's second round: 5,000 event streams of one token held open
//! and 500 requests a second, from a client of its own — its own connection pool and its own
//! runtime on a thread of its own, as another process on the same host would be — so that its
//! client-side work does not delay the other generators' futures (and their measured latency) in
//! the bench's runtime, while it competes with them and with the service for the machine's CPU.

use std::{
    sync::{Arc, atomic::Ordering::Relaxed},
    thread::JoinHandle,
    time::Duration,
};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    mixed::token,
    mixed_load::{Counts, first_session, follow, timed_get},
};

/// How many streams the abuser tries to open, and how many requests it makes a second.
pub const STREAMS: usize = 5_000;
const REQUESTS_PER_S: usize = 500;

/// The abuser on a thread of its own until `stop`; join the handle after cancelling.
pub fn start(c: Arc<Counts>, stop: CancellationToken, urls: [String; 2], companies: Vec<Uuid>) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("bench-abuser".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(abuse(c, stop, urls, companies));
        })
        .expect("a thread")
}

async fn abuse(c: Arc<Counts>, stop: CancellationToken, urls: [String; 2], companies: Vec<Uuid>) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(512).build().expect("a client");
    let mut tasks = JoinSet::new();
    for k in 0..STREAMS {
        let (http, c, stop, base) = (http.clone(), c.clone(), stop.clone(), urls[k % 2].clone());
        let co = companies[k % companies.len()];
        tasks.spawn(async move {
            let tok = token("abuser", 0);
            let (_, _, body) =
                timed_get(&http, &format!("{base}/api/sync/sessions?company_id={co}&limit=1"), &tok).await;
            let Some(id) = first_session(body.as_ref()) else { return };
            if follow(&http, &format!("{base}/api/sync/sessions/{id}/events"), &tok, &c, &stop).await == Some(200) {
                c.abuse_streams_ok.fetch_add(1, Relaxed);
            }
        });
    }
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut n = 0usize;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        for _ in 0..REQUESTS_PER_S / 100 {
            let (http, c, url) = (http.clone(), c.clone(), format!("{}/api/changes?limit=50", urls[n % 2]));
            n += 1;
            tasks.spawn(async move {
                let (s, _, _) = timed_get(&http, &url, &token("abuser", 0)).await;
                c.abuse_requests.fetch_add(1, Relaxed);
                c.status(s);
                if (200..300).contains(&s) {
                    c.abuse_ok.fetch_add(1, Relaxed);
                }
            });
        }
        while tasks.try_join_next().is_some() {}
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}
