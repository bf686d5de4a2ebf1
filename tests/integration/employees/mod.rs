//! `GET /api/employees` (paging by name, search, the status filter, company scope, bad input) and
//! `GET /api/employees/{id}` (the timeline as the simulator's history has it, the employee's
//! changes and milestones), against the real service and the simulator.

mod detail;
mod list;

use serde_json::Value;

use crate::helpers::*;

/// Every employee of `path` (a list query), page by page with `limit` per page; checks that only
/// a full page has a next one.
pub async fn walk(app: &TestApp, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{sep}limit={limit}");
    loop {
        let page = app.get_json(&url).await;
        let got = page["employees"].as_array().unwrap_or_else(|| panic!("{url}: {page}"));
        assert!(got.len() <= limit, "{url}: {page}");
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(got.len(), limit, "only a full page has a next one: {page}");
                url = format!("{path}{sep}limit={limit}&cursor={next}");
            }
            None => return items,
        }
    }
}

/// The ground truth's display name of an employee: "First [prefix] Surname".
pub fn display_name(truth: &Value) -> String {
    let parts: Vec<&str> =
        ["first_name", "surname_prefix", "surname"].iter().filter_map(|k| truth[*k].as_str()).collect();
    parts.join(" ")
}

/// `(status, body)` of `GET path` with `token`.
pub async fn get_as(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    reply(app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap()).await
}
