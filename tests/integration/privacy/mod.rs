//! Privacy by design: the audit log (and, as they land, minimisation, erasure and retention).

mod at_rest;
mod audit;
mod erasure;
mod retention;
