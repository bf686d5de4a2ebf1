//! The one integration-test binary: real Postgres, real `nats-server -js`, the simulator.

mod helpers;

mod api;
mod cli;
mod client;
mod pipeline;
mod simulator;
mod webhooks;
