//! # employes-sync
//!
//! Keeps a copy of a company's employees in step with Employes (Dutch payroll SaaS) and
//! tells the rest of the company what changed.
//!
//! Dashboard clicks, API clients, the scheduler and the CLI call [`sync::request_sync`], which
//! opens a session in Postgres and queues its task on NATS JetStream; a verified Employes
//! webhook is queued as it is and the worker admits it into a session. A durable consumer
//! ([`sync::worker`]) runs the session's stages — snapshot, history, changes — emitting
//! progress events, and publishes each newly recorded change as a CloudEvent.
//!
//! ## Layout
//! `docs/architecture.md` has the picture, the map of every module, one webhook's walk from
//! intake to CloudEvent (`file:function` per hop) and where each guarantee is enforced. In short:
//! - [`app`]: `App::build` / `run_until_stopped`, shared by `main` and the tests; [`startup`]: waiting
//!   (bounded by `STARTUP_TIMEOUT`) for Postgres and NATS.
//! - [`cli`], [`commands`], [`config`], [`telemetry`], [`error`]: start-up, typed configuration, logs, the one error type.
//! - [`http`]: one router per resource (webhooks, sync, sessions, changes, stats, health, dashboard), each route
//!   registered with its OpenAPI documentation.
//! - [`webhook_signature`]: Standard Webhooks signing and verification.
//! - [`endpoints`]: outbound webhooks — registered endpoints' filters, the SSRF guard, signed delivery
//!   from one durable JetStream consumer per endpoint, retries, disabling.
//! - [`events`]: the CloudEvents envelope every published event has, and per-employee sequences.
//! - [`sync`]: opening and queueing sessions, the worker, the stages, progress and the change outbox.
//! - [`domain`]: pure change detection, milestones, and the typed states of sessions and deliveries.
//! - [`db`]: small compile-time-checked queries per table family; [`bus`]: NATS streams and subjects;
//!   [`asyncapi`]: the AsyncAPI document of what is published (`docs/asyncapi.yaml`).
//! - [`companies`]: the companies served, their sealed secrets, and the runtime registry
//!   (settings in effect, one Employes client per company, one rate limiter per API key).
//! - [`privacy`]: the personal-data digest key and the rewrite of versions stored before
//!   minimisation (what is kept of a record: `domain::minimise`; the audit log: `db::audit`).
//! - [`employes`]: the Employes API client; [`simulator`]: a stand-in Employes for demos and tests.
//! - [`scheduler`]: the cron-driven full sync of each company, once per (company, slot) across
//!   replicas; [`watch`]: each company's incremental full sync every `watch_interval`, once per
//!   (company, slot) across replicas; [`failpoint`]: named pause points for fault-injection tests.
//!
//! Dependencies point one way: `http` → `sync` → `db`/`bus`/`employes` → `domain`.
#![forbid(unsafe_code)]

pub mod app;
pub mod asyncapi;
pub mod bus;
pub mod cli;
pub mod commands;
pub mod companies;
pub mod config;
pub mod db;
#[cfg(test)]
mod doc_links;
pub mod domain;
pub mod employes;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod failpoint;
pub mod http;
pub mod privacy;
pub mod scheduler;
pub mod simulator;
pub mod startup;
pub mod sync;
pub mod telemetry;
pub mod watch;
pub mod webhook_signature;
