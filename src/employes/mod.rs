//! The Employes API: a rate-limited, retrying client and lenient models that keep the raw JSON.

mod client;
mod models;

pub use client::{EmployeeList, EmployesClient, EmployesError, Endpoint, ListedPage};
pub use models::{Employee, unwrap_data};
