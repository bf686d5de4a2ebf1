//! The one integration-test binary: real Postgres, real `nats-server -js`, the simulator.

mod helpers;

mod access;
mod api;
mod batches;
mod cli;
mod client;
mod cluster;
mod companies;
mod contracts;
mod employees;
mod endpoints;
mod events;
mod incremental;
mod load_limits;
mod logs;
mod milestones;
mod pages;
mod pipeline;
mod privacy;
mod properties;
mod query_plans;
mod reliability;
mod simulator;
mod startup;
mod states;
mod watch;
mod webhooks;
