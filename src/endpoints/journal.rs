//! The attempts log, written in batches (a group commit per endpoint): each delivery hands its
//! attempt to the endpoint's writer and waits; the writer inserts whatever has gathered meanwhile
//! in one statement and then answers every delivery of the batch. A message is settled (acked,
//! NAKed, terminated) only after that answer, so an acked event's attempt is in the log; one
//! statement per batch instead of one per delivery is what keeps the log cheap at throughput.

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{
    db::{
        Db,
        endpoints::{self, NewAttempt},
    },
    domain::AttemptStatus,
};

/// The most attempts one statement writes.
const MOST: usize = 256;

/// One attempt, as the log keeps it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub event_id: Uuid,
    pub event_type: String,
    pub attempt: i32,
    pub status: AttemptStatus,
    pub response_status: Option<i32>,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

struct Entry {
    attempt: Attempt,
    written: oneshot::Sender<Result<(), String>>,
}

/// An endpoint's writer; it stops when the last handle is dropped.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::UnboundedSender<Entry>,
}

impl Journal {
    pub fn start(db: Db, endpoint: Uuid) -> Journal {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(db, endpoint, rx));
        Journal { tx }
    }

    /// Log an attempt; returns once it is committed (or why it could not be).
    pub async fn record(&self, attempt: Attempt) -> Result<(), String> {
        let (written, done) = oneshot::channel();
        self.tx.send(Entry { attempt, written }).map_err(|_| "the attempts log writer has stopped".to_string())?;
        done.await.map_err(|_| "the attempts log writer has stopped".to_string())?
    }
}

/// The writer: one `INSERT … SELECT FROM UNNEST` per batch of what waits.
async fn write(db: Db, endpoint: Uuid, mut rx: mpsc::UnboundedReceiver<Entry>) {
    let mut batch: Vec<Entry> = Vec::with_capacity(MOST);
    while rx.recv_many(&mut batch, MOST).await > 0 {
        let rows: Vec<NewAttempt<'_>> = batch
            .iter()
            .map(|e| NewAttempt {
                endpoint_id: endpoint,
                event_id: e.attempt.event_id,
                event_type: &e.attempt.event_type,
                attempt: e.attempt.attempt,
                status: e.attempt.status,
                response_status: e.attempt.response_status,
                error: e.attempt.error.as_deref(),
                next_attempt_at: e.attempt.next_attempt_at,
            })
            .collect();
        let done = endpoints::record_attempts(&db, &rows).await.map_err(|e| e.to_string());
        drop(rows);
        metrics::counter!("employes_sync_endpoint_attempt_writes_total").increment(1);
        for entry in batch.drain(..) {
            let _ = entry.written.send(done.clone());
        }
    }
}
