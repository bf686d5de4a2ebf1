//! One replica's fan-out of session progress: however many clients follow a session, the
//! replica reads its events through one JetStream consumer ([`progress::follow`]) and hands each
//! event to every follower through a bounded broadcast channel. A follower that falls more than
//! [`LAG`] events behind (a slow client) ends its stream instead of being buffered for; the
//! consumer is removed when the session's last event has gone out, or when its last follower
//! left. Followers that join late get the session's events so far first (up to [`HISTORY`]).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{Stream, StreamExt};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::{ProgressEvent, progress};
use crate::{bus::Bus, db::Db};

/// Events a follower may fall behind before its stream ends.
pub const LAG: usize = 256;

/// Events of one session kept for followers that join late (the oldest go first beyond it).
pub const HISTORY: usize = 10_000;

/// How often a followed session checks whether anyone still follows it.
const FOLLOWERS_CHECK: Duration = Duration::from_secs(1);

/// The sessions followed on this replica (in the HTTP role's state).
pub struct Hub {
    bus: Arc<Bus>,
    db: Db,
    followed: Mutex<HashMap<Uuid, Arc<Followed>>>,
}

/// One followed session: its events so far and the channel of the next ones.
struct Followed {
    log: Mutex<Log>,
    /// `None` until its consumer exists; then whether it could be made.
    started: watch::Receiver<Option<Result<(), String>>>,
}

struct Log {
    events: VecDeque<ProgressEvent>,
    live: broadcast::Sender<ProgressEvent>,
}

impl Hub {
    pub fn new(bus: Arc<Bus>, db: Db) -> Arc<Hub> {
        Arc::new(Hub { bus, db, followed: Mutex::default() })
    }

    /// The session's progress for one more follower: its events so far, then live ones, ending
    /// after its last event (or when the follower lags [`LAG`] events behind). The first
    /// follower on this replica makes the session's one consumer; an error is NATS's.
    pub async fn follow(self: &Arc<Self>, session: Uuid) -> anyhow::Result<impl Stream<Item = ProgressEvent> + use<>> {
        let (past, live, mut started) = {
            let mut followed = self.followed.lock().expect("the hub is never poisoned");
            let entry = match followed.get(&session) {
                Some(entry) => entry.clone(),
                None => {
                    let entry = self.start(session);
                    followed.insert(session, entry.clone());
                    metrics::gauge!("employes_sync_fanout_subscriptions").set(followed.len() as f64);
                    entry
                }
            };
            // Under the hub's lock: the session cannot be given up between joining and subscribing.
            let log = entry.log.lock().expect("a session's log is never poisoned");
            (log.events.iter().cloned().collect::<Vec<_>>(), log.live.subscribe(), entry.started.clone())
        };
        let ready = started.wait_for(Option::is_some).await.map(|r| r.clone());
        match ready {
            Ok(Some(Err(e))) => anyhow::bail!("{e}"),
            // Started, or the consumer already done with (its events are all in `past` and `live`).
            Ok(_) | Err(_) => Ok(follower(past, live)),
        }
    }

    /// A new followed session and the task that reads its events.
    fn start(self: &Arc<Self>, session: Uuid) -> Arc<Followed> {
        let (tx, _) = broadcast::channel(LAG);
        let (started_tx, started) = watch::channel(None);
        let entry = Arc::new(Followed { log: Mutex::new(Log { events: VecDeque::new(), live: tx }), started });
        tokio::spawn(self.clone().pump(session, entry.clone(), started_tx));
        entry
    }

    /// Read the session's events through one consumer and hand them on, until its last event or
    /// until nobody follows it.
    async fn pump(
        self: Arc<Self>,
        session: Uuid,
        entry: Arc<Followed>,
        started: watch::Sender<Option<Result<(), String>>>,
    ) {
        let events = match progress::follow(&self.bus, &self.db, session).await {
            Ok(events) => events,
            Err(e) => {
                started.send_replace(Some(Err(format!("{e:#}"))));
                self.give_up(session, &entry, false);
                return;
            }
        };
        started.send_replace(Some(Ok(())));
        let mut events = std::pin::pin!(events);
        let mut check = tokio::time::interval(FOLLOWERS_CHECK);
        loop {
            tokio::select! {
                event = events.next() => {
                    let Some(event) = event else { break };
                    let last = event.is_final();
                    entry.append(event);
                    if last {
                        break;
                    }
                }
                _ = check.tick() => {
                    if self.give_up(session, &entry, true) {
                        return;
                    }
                }
            }
        }
        self.give_up(session, &entry, false);
    }

    /// Forget the session (only when nobody follows it, if `when_unfollowed`); whether it was.
    fn give_up(&self, session: Uuid, entry: &Arc<Followed>, when_unfollowed: bool) -> bool {
        let mut followed = self.followed.lock().expect("the hub is never poisoned");
        if when_unfollowed && entry.log.lock().expect("a session's log is never poisoned").live.receiver_count() > 0 {
            return false;
        }
        if followed.get(&session).is_some_and(|e| Arc::ptr_eq(e, entry)) {
            followed.remove(&session);
        }
        metrics::gauge!("employes_sync_fanout_subscriptions").set(followed.len() as f64);
        true
    }

    /// Sessions followed on this replica now (each through one consumer).
    pub fn subscriptions(&self) -> usize {
        self.followed.lock().expect("the hub is never poisoned").len()
    }
}

impl Followed {
    fn append(&self, event: ProgressEvent) {
        let mut log = self.log.lock().expect("a session's log is never poisoned");
        if log.events.len() == HISTORY {
            log.events.pop_front();
        }
        log.events.push_back(event.clone());
        // No follower right now is fine: a late one reads the log.
        let _ = log.live.send(event);
    }
}

/// One follower's stream: `past`, then `live` until the last event; a follower that lagged
/// behind the channel's bound ends here (counted), and so does one whose session's consumer ended.
fn follower(
    past: Vec<ProgressEvent>,
    mut live: broadcast::Receiver<ProgressEvent>,
) -> impl Stream<Item = ProgressEvent> + use<> {
    async_stream::stream! {
        for event in past {
            let last = event.is_final();
            yield event;
            if last {
                return;
            }
        }
        loop {
            match live.recv().await {
                Ok(event) => {
                    let last = event.is_final();
                    yield event;
                    if last {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(behind)) => {
                    metrics::counter!("employes_sync_stream_followers_dropped_total", "reason" => "lagged").increment(1);
                    tracing::debug!(behind, "a follower fell behind its session's events: its stream ends");
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{
        domain::{SessionStatus, StageStatus},
        sync::Step,
    };

    fn event(n: i64, step: Step) -> ProgressEvent {
        ProgressEvent { session_id: Uuid::nil(), step, processed: n, total: 100, at: Utc::now() }
    }

    fn running(n: i64) -> ProgressEvent {
        event(n, Step::Snapshot(StageStatus::Running))
    }

    #[tokio::test]
    async fn a_follower_reads_the_past_then_live_events_and_ends_after_the_last() {
        // Arrange
        let (tx, rx) = broadcast::channel(LAG);
        let stream = follower(vec![running(1), running(2)], rx);
        tx.send(running(3)).unwrap();
        tx.send(event(3, Step::Session(SessionStatus::Completed))).unwrap();
        tx.send(running(4)).unwrap();
        // Act
        let seen: Vec<i64> = stream.map(|e| e.processed).collect().await;
        // Assert
        assert_eq!(seen, [1, 2, 3, 3], "nothing after the last event");
    }

    #[tokio::test]
    async fn a_follower_that_falls_behind_the_bound_ends_instead_of_being_buffered_for() {
        // Arrange: a follower that reads nothing while more than LAG events go out.
        let (tx, rx) = broadcast::channel(LAG);
        let stream = follower(Vec::new(), rx);
        for n in 0..(LAG as i64 + 10) {
            tx.send(running(n)).unwrap();
        }
        let held = tx.len();
        // Act
        let seen: Vec<ProgressEvent> = stream.collect().await;
        // Assert: its stream ended at once, though the session did not.
        assert!(seen.is_empty(), "{} events", seen.len());
        assert_eq!(held, LAG, "the channel holds at most LAG events, however far behind a follower is");
    }
}
