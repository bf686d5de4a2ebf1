//! Sync sessions end to end: requesting one (every trigger goes through [`request::request_sync`]),
//! the JetStream worker that runs it, its three stages, progress events and the change outbox.

pub mod message;
pub mod outbox;
pub mod pipeline;
pub mod progress;
pub mod request;
pub mod stages;
pub mod worker;

pub use message::{ProgressEvent, SyncRequestMsg};
pub use request::{RequestError, Requested, Source, SyncRequest, request_sync};
