//! The Employes API: a rate-limited, retrying client and lenient models that keep the raw JSON.
//!
//! - `client`: the paced client and its requests; `retry`: which failures are tried again.
//! - `paging`: the employee list, page by page; `error`: endpoints and errors.
//! - `models`: lenient views over the JSON.

mod client;
mod error;
mod models;
mod paging;
mod retry;

pub use client::EmployesClient;
pub use error::{EmployesError, Endpoint};
pub use models::{Employee, unwrap_data};
pub use paging::{EmployeeList, ListedPage};
