//! Privacy by design: the personal-data digest key ([`digest_key`]), the rewrite of employee
//! versions stored before minimisation ([`upgrade`]), erasure ([`erasure`]) and retention
//! ([`retention`]). What is kept of a record is decided in
//! [`crate::domain::minimise`]; the audit log is [`crate::db::audit`].

pub mod digest_key;
pub mod erasure;
pub mod retention;
pub mod upgrade;
