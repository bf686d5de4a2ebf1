//! The employee list, page by page: `per_page=100`, the first page telling the page count.

use futures::{StreamExt, stream};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{
    client::EmployesClient,
    error::{EmployesError, Endpoint},
};
use crate::domain::Employee;

const PER_PAGE: u32 = 100;
/// Never follow more pages than this (a million employees), whatever a page claims.
const MAX_PAGES: u64 = 10_000;

/// The result of listing every page.
#[derive(Debug, Default)]
pub struct EmployeeList {
    pub employees: Vec<Employee>,
    /// Records that had no usable id (counted, never logged).
    pub invalid_records: usize,
    /// Pages after the first that could not be fetched; the list is then incomplete.
    pub page_errors: Vec<EmployesError>,
}

impl EmployeeList {
    pub fn is_complete(&self) -> bool {
        self.page_errors.is_empty()
    }
}

/// One page of the employee list, as [`EmployesClient::list_pages`] hands it over.
#[derive(Debug)]
pub enum ListedPage {
    Records {
        employees: Vec<Employee>,
        /// Records that had no usable id (counted, never logged).
        invalid_records: usize,
        /// The company's employee count, as the page states it.
        total: Option<u64>,
    },
    /// A page after the first that could not be fetched.
    Failed(EmployesError),
}

impl ListedPage {
    /// One page's records; also returns how many records the page had.
    fn from_body(body: Value) -> (ListedPage, usize) {
        let total = body.get("total").and_then(Value::as_u64);
        let items = match body {
            Value::Object(mut map) => match map.remove("data") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        let n = items.len();
        let mut employees = Vec::with_capacity(n);
        let mut invalid_records = 0;
        for item in items {
            match Employee::from_json(item) {
                Some(e) => employees.push(e),
                None => invalid_records += 1,
            }
        }
        (ListedPage::Records { employees, invalid_records, total }, n)
    }
}

impl EmployesClient {
    /// Every employee, over all pages, collected in memory (see [`Self::list_pages`]).
    pub async fn list_employees(&self) -> Result<EmployeeList, EmployesError> {
        let (tx, mut rx) = mpsc::channel(4);
        let mut list = EmployeeList::default();
        let collect = async {
            while let Some(page) = rx.recv().await {
                match page {
                    ListedPage::Records { employees, invalid_records, .. } => {
                        list.employees.extend(employees);
                        list.invalid_records += invalid_records;
                    }
                    ListedPage::Failed(e) => list.page_errors.push(e),
                }
            }
        };
        let (listed, ()) = tokio::join!(self.list_pages(4, tx), collect);
        listed.map(|()| list)
    }

    /// Fetch every page of the employee list (`per_page=100`) and hand each to `tx` as it
    /// arrives, so a caller can store page by page instead of holding the whole company. The
    /// first page tells the page count; the rest are fetched `concurrency` at a time (all paced
    /// by the rate limiter). Without a page count, pages are fetched in turn until a short one.
    ///
    /// The first page failing, or a fatal error (a rejected key), is the `Err`; any other page
    /// that fails is sent as [`ListedPage::Failed`] (the list is then incomplete). Stops early,
    /// without error, when the receiver is gone.
    #[tracing::instrument(skip_all)]
    pub async fn list_pages(&self, concurrency: usize, tx: mpsc::Sender<ListedPage>) -> Result<(), EmployesError> {
        let first = self.page(1).await?;
        let pages = first.get("pages").and_then(Value::as_u64).map(|p| p.min(MAX_PAGES) as u32);
        let (page, mut last_len) = ListedPage::from_body(first);
        if tx.send(page).await.is_err() {
            return Ok(());
        }
        let Some(pages) = pages else {
            let mut n = 2;
            while last_len >= PER_PAGE as usize && u64::from(n) <= MAX_PAGES {
                let item = match self.page(n).await {
                    Ok(body) => {
                        let (page, len) = ListedPage::from_body(body);
                        last_len = len;
                        page
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        last_len = 0;
                        ListedPage::Failed(e)
                    }
                };
                if tx.send(item).await.is_err() {
                    return Ok(());
                }
                n += 1;
            }
            return Ok(());
        };
        let mut rest = stream::iter(2..=pages).map(|n| self.page(n)).buffer_unordered(concurrency.max(1));
        while let Some(result) = rest.next().await {
            let item = match result {
                Ok(body) => ListedPage::from_body(body).0,
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => ListedPage::Failed(e),
            };
            if tx.send(item).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Whether the key and the company id work: one list call (the first page). The company's
    /// employee count as the page states it (else the records on it, when it is the only page).
    pub async fn count_employees(&self) -> Result<u64, EmployesError> {
        let first = self.page(1).await?;
        let total = first.get("total").and_then(Value::as_u64);
        Ok(total.unwrap_or_else(|| ListedPage::from_body(first).1 as u64))
    }

    /// One page; a 404 is an error here (a listed page must exist).
    async fn page(&self, page: u32) -> Result<Value, EmployesError> {
        let path = format!("employees?page={page}&per_page={PER_PAGE}");
        self.get_json(Endpoint::ListEmployees, &path)
            .await?
            .ok_or(EmployesError::Status { endpoint: Endpoint::ListEmployees, status: 404 })
    }
}
