//! Sync sessions end to end: opening and queueing one ([`trigger`]), the JetStream worker that
//! runs it, its three stages, progress and the change outbox.
//!
//! Five different things are called a "request" around here, and each has its own name:
//! - a **trigger** ([`SyncTrigger`]): what a webhook event, an API call, the scheduler or the
//!   CLI asks for, turned into a session by [`request_sync`] (or, for a webhook, by the worker's
//!   admission);
//! - a **queue task** ([`QueueTask`]): one message on `<p>.sync.requests.<company_id>` (the
//!   stream is still named for requests), either [`AdmitWebhook`] or [`RunSession`];
//! - a session's **request id** (`sync_sessions.request_id`, [`RunSession::request_id`]): the
//!   `Nats-Msg-Id` of the task that opened the session, which keeps it alive until it ends;
//! - an **idempotency key** ([`SyncTrigger::idempotency_key`]): the company- and caller-scoped
//!   `Idempotency-Key` header that makes a repeated `POST /api/sync` get the same session;
//! - an **HTTP request**, whose `x-request-id` only the logs use.

mod admission;
pub mod dead_letter;
pub mod fairness;
pub mod fanout;
pub mod issues;
pub mod message;
pub mod milestones;
pub mod outbox;
pub mod pipeline;
pub mod progress;
pub mod stages;
pub mod trigger;
pub mod worker;

pub use message::{AdmitWebhook, ProgressEvent, QueueTask, RunSession, Step};
pub use trigger::{
    Opened, Requested, RequestedBy, SyncTrigger, TriggerError, idempotency_key, request_sync, request_sync_audited,
};
