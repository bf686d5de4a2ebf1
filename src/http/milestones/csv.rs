//! A milestone as a row of the `GET /api/milestones?format=csv` export.

use super::super::export::{CsvRecord, Row};
use crate::db::milestones::views::MilestoneView;

impl CsvRecord for MilestoneView {
    const HEADER: &'static [&'static str] = &[
        "id",
        "company_id",
        "employee_id",
        "employee_name",
        "kind",
        "due_date",
        "status",
        "contract_start_date",
        "contract_end_date",
        "contract_duration",
        "details",
        "created_at",
        "resolved_at",
        "resolution",
        "note",
        "max_compensation",
        "permanent_since",
    ];

    fn write(&self, row: &mut Row<'_>) {
        let details = serde_json::to_value(self.details).unwrap_or_default();
        let field = |name: &str| details.get(name).filter(|v| !v.is_null()).cloned();
        row.opt(Some(self.id));
        row.opt(Some(self.company_id));
        row.opt(Some(self.employee_id));
        row.opt(self.employee_name.as_deref());
        row.opt(Some(self.kind));
        row.opt(Some(self.due_date));
        row.opt(Some(self.status));
        row.opt(self.contract.map(|c| c.start_date));
        row.opt(self.contract.and_then(|c| c.end_date));
        row.opt(self.contract.map(|c| c.contract_duration));
        row.text(&details.to_string());
        row.time(Some(self.created_at));
        row.time(self.resolved_at);
        row.opt(self.resolution);
        row.opt(self.note.as_deref());
        row.number(field("max_compensation").and_then(|v| v.as_f64()));
        row.opt(field("permanent_since").and_then(|v| v.as_str().map(str::to_string)));
    }
}
