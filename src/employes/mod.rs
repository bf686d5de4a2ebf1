//! The Employes API: a rate-limited, retrying client handing over [`Employee`] records.
//!
//! - `client`: the paced client and its requests; `pacer`: one key's request schedule;
//!   `retry`: which failures are tried again.
//! - `paging`: the employee list, page by page; `error`: endpoints and errors.
//! - `tally`: requests made per company, for the daily budget (`db::budget`).

mod client;
mod error;
mod pacer;
mod paging;
mod retry;
mod tally;

pub use crate::domain::Employee;
pub use client::{ClientParts, EmployesClient, Limiter, http_client, limiter};
pub use error::{EmployesError, Endpoint};
pub use paging::{EmployeeList, ListedPage};
pub use tally::RequestTally;
