//! Outbound webhooks ("endpoints"): subscribers that only speak HTTP get every change and
//! milestone event they subscribe to POSTed as its CloudEvent, signed per Standard Webhooks.
//!
//! - [`filter`]: what an endpoint subscribes to (company, `types`) and its filter subjects;
//! - [`address`] and [`guard`]: the SSRF guard (public addresses only, no redirects);
//! - [`secrets`]: `whsec_` secrets, sealed under `SECRETS_KEY`, rotation with a 24 h overlap;
//! - [`consumers`]: the endpoint's durable JetStream consumers, where delivery state lives;
//! - [`deliver`], [`retry`]: one signed attempt and what follows it;
//! - [`dispatcher`]: the endpoints every worker replica serves, following the database;
//! - [`pull`], [`fetch`], [`settle`], [`journal`], [`live`]: one endpoint's pull loops and their
//!   pull requests (as deep as the endpoint's pace allows), one delivery and what follows it, the
//!   batched attempts log, and the endpoint as it is served;
//! - [`admin`], [`announce`], [`replay`]: the management API's writes (audited, announced on
//!   `<p>.control.endpoints`) and replays of a time range.

pub mod address;
pub mod admin;
pub mod announce;
pub mod consumers;
pub mod deliver;
pub mod dispatcher;
pub mod fetch;
pub mod filter;
pub mod guard;
pub mod journal;
pub mod live;
pub mod pull;
pub mod replay;
pub mod retry;
pub mod secrets;
pub mod settle;

pub use dispatcher::Dispatcher;
pub use filter::EventKind;
pub use retry::RetrySchedule;
