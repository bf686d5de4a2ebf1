//! The service against its published documents, with third-party tools: schemathesis over the
//! HTTP API, a client generated from `/api/openapi.json`, and every NATS message of a scenario
//! against `docs/asyncapi.yaml`. The tools install on first use (`scripts/contracts.sh`).

mod client;
mod documents;
mod events;
mod schemathesis;
