//! One consumer's pull requests, sized by how fast the endpoint takes deliveries: one subscription
//! on an inbox, and a pull request whenever the messages asked for and not yet taken by the pull
//! loop (on their way, or arrived and waiting) fall to half the depth the loop asks for, for the
//! difference. A fast endpoint gets a deep pull, so its slots never wait for the next message; a
//! slow one a shallow one, so no message waits here long enough to be redelivered elsewhere (see
//! [`super::live::Pace`]).
//!
//! Requests are counted oldest first: each message pays off the oldest one, a `408` (expired, with
//! what it still owed) or a `409` ends it, and one past its expiry is forgotten, so a lost status
//! costs at most one expiry of under-asking. No idle heartbeat within three heartbeats forgets
//! every request (the connection may have dropped them); the next call asks again.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use async_nats::{
    StatusCode, Subject, Subscriber,
    jetstream::{self, consumer::PullConsumer, consumer::pull::BatchConfig},
};
use futures::StreamExt as _;

/// A pull request not yet paid off: how many messages it still owes, until when.
struct Asked {
    owed: usize,
    until: Instant,
}

pub struct Puller {
    consumer: PullConsumer,
    context: jetstream::Context,
    inbox: Subject,
    messages: Subscriber,
    asked: VecDeque<Asked>,
    expires: Duration,
    heartbeat: Duration,
}

impl Puller {
    pub async fn open(
        consumer: PullConsumer,
        context: jetstream::Context,
        client: &async_nats::Client,
        expires: Duration,
        heartbeat: Duration,
    ) -> anyhow::Result<Puller> {
        let inbox = Subject::from(client.new_inbox());
        let messages = client.subscribe(inbox.clone()).await?;
        Ok(Puller { consumer, context, inbox, messages, asked: VecDeque::new(), expires, heartbeat })
    }

    /// Messages asked for and not yet taken.
    pub fn owed(&self) -> usize {
        self.asked.iter().map(|a| a.owed).sum()
    }

    async fn ask(&mut self, n: usize) -> anyhow::Result<()> {
        let request =
            BatchConfig { batch: n, expires: Some(self.expires), idle_heartbeat: self.heartbeat, ..Default::default() };
        self.consumer.request_batch(request, self.inbox.clone()).await?;
        // A little past the server's expiry: its 408 normally comes first.
        self.asked.push_back(Asked { owed: n, until: Instant::now() + self.expires + self.heartbeat });
        Ok(())
    }

    /// The oldest request pays off one message (or `n`, or all it owes).
    fn pay(&mut self, n: Option<usize>) {
        if let Some(front) = self.asked.front_mut() {
            front.owed = front.owed.saturating_sub(n.unwrap_or(front.owed));
            if front.owed == 0 {
                self.asked.pop_front();
            }
        }
    }

    /// The next message, asking for more first when what is owed fell to half of `depth`.
    /// Cancel-safe: a message is only taken off the subscription where it is returned.
    pub async fn next(&mut self, depth: usize) -> anyhow::Result<jetstream::Message> {
        let depth = depth.max(1);
        loop {
            let now = Instant::now();
            self.asked.retain(|a| a.until > now);
            let owed = self.owed();
            if owed <= depth / 2 {
                self.ask(depth - owed).await?;
            }
            let Ok(next) = tokio::time::timeout(self.heartbeat * 3, self.messages.next()).await else {
                // Not even a heartbeat: the requests may be gone with a reconnection.
                self.asked.clear();
                continue;
            };
            let msg = next.ok_or_else(|| anyhow::anyhow!("the pull subscription ended"))?;
            match msg.status {
                None | Some(StatusCode::OK) => {
                    self.pay(Some(1));
                    return Ok(jetstream::Message { message: msg, context: self.context.clone() });
                }
                Some(StatusCode::IDLE_HEARTBEAT) => {}
                Some(StatusCode::TIMEOUT) | Some(StatusCode::REQUEST_TERMINATED) => {
                    if msg.description.as_deref() == Some("Consumer Deleted") {
                        anyhow::bail!("the consumer was deleted");
                    }
                    let left = msg
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("Nats-Pending-Messages"))
                        .and_then(|v| v.as_str().parse().ok());
                    self.pay(left);
                }
                Some(status) => {
                    self.asked.clear();
                    anyhow::bail!("pulling answered {status} ({})", msg.description.as_deref().unwrap_or("-"));
                }
            }
        }
    }
}
