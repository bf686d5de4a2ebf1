//! What subscribers receive: the CloudEvents 1.0 envelope every event of the service has (with
//! the v2 extension attributes `companyid`, `partitionkey`, `sequence`, `dataclassification`,
//! `baseline`), and the per-employee sequence it carries.
//!
//! The sequence is assigned in the transaction that records the event ([`next_sequence`],
//! [`reserve_sequences`]) from a counter table that nothing else deletes from: erasing an employee
//! or deleting a company keeps its counters, so a number is never handed out twice.

mod envelope;
mod sequence;

pub use envelope::{CloudEvent, DataClassification, DataContentType, Sequence, SpecVersion};
pub use sequence::{EventStream, next_sequence, reserve_sequences};
