//! What an endpoint subscribes to: its company (or all) and its `types` (or all), as the names
//! the API takes and as the JetStream filter subjects of its consumers.

use std::{fmt, str::FromStr};

use strum::VariantArray as _;
use uuid::Uuid;

use crate::domain::{ChangeType, milestones::MilestoneKind};

/// One entry of an endpoint's `types`: a change type, `employee_erased`, or `milestone.<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Change(ChangeType),
    EmployeeErased,
    Milestone(MilestoneKind),
}

/// The name `employee_erased` has on the changes stream (`<p>.changes.<company>.employee_erased`).
const ERASED: &str = "employee_erased";

impl EventKind {
    /// Every name `types` accepts, in a stable order.
    pub fn all() -> Vec<EventKind> {
        let changes = ChangeType::VARIANTS.iter().map(|&t| EventKind::Change(t));
        let milestones = MilestoneKind::VARIANTS.iter().map(|&k| EventKind::Milestone(k));
        changes.chain(std::iter::once(EventKind::EmployeeErased)).chain(milestones).collect()
    }

    /// The kind of an event by the subject it was published on (`None`: not an endpoint's event).
    pub fn of_subject(prefix: &str, subject: &str) -> Option<EventKind> {
        let rest = subject.strip_prefix(prefix)?.strip_prefix('.')?;
        let mut tokens = rest.split('.');
        let (stream, _company, last) = (tokens.next()?, tokens.next()?, tokens.next()?);
        if tokens.next().is_some() {
            return None;
        }
        match stream {
            "changes" if last == ERASED => Some(EventKind::EmployeeErased),
            "changes" => last.parse().ok().map(EventKind::Change),
            "milestones" => last.parse().ok().map(EventKind::Milestone),
            _ => None,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Change(t) => f.write_str(t.as_str()),
            EventKind::EmployeeErased => f.write_str(ERASED),
            EventKind::Milestone(k) => write!(f, "milestone.{}", <&str>::from(*k)),
        }
    }
}

/// An unknown name in `types`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}`; expected one of {allowed}", allowed = allowed())]
pub struct UnknownKind(pub String);

fn allowed() -> String {
    EventKind::all().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl FromStr for EventKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<EventKind, UnknownKind> {
        if s == ERASED {
            return Ok(EventKind::EmployeeErased);
        }
        let parsed = match s.strip_prefix("milestone.") {
            Some(kind) => kind.parse().ok().map(EventKind::Milestone),
            None => s.parse().ok().map(EventKind::Change),
        };
        parsed.ok_or_else(|| UnknownKind(s.to_string()))
    }
}

impl serde::Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EventKind, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for EventKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names: Vec<String> = EventKind::all().iter().map(ToString::to_string).collect();
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(names))
            .description(Some("A change type, `employee_erased`, or `milestone.<kind>`."))
            .into()
    }
}

impl utoipa::ToSchema for EventKind {}

/// The filter subjects of an endpoint's consumers: one list per stream (changes, milestones); an
/// empty list means the endpoint takes nothing from that stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subjects {
    pub changes: Vec<String>,
    pub milestones: Vec<String>,
}

/// `company` `None` = every company; `types` `None` = every type.
pub fn subjects(prefix: &str, company: Option<Uuid>, types: Option<&[EventKind]>) -> Subjects {
    let company = company.map_or_else(|| "*".to_string(), |c| c.to_string());
    let Some(types) = types else {
        return Subjects {
            changes: vec![format!("{prefix}.changes.{company}.>")],
            milestones: vec![format!("{prefix}.milestones.{company}.>")],
        };
    };
    let mut kinds = types.to_vec();
    kinds.sort();
    kinds.dedup();
    let mut out = Subjects::default();
    for kind in kinds {
        match kind {
            EventKind::Change(t) => out.changes.push(format!("{prefix}.changes.{company}.{}", t.as_str())),
            EventKind::EmployeeErased => out.changes.push(format!("{prefix}.changes.{company}.{ERASED}")),
            EventKind::Milestone(k) => {
                out.milestones.push(format!("{prefix}.milestones.{company}.{}", <&str>::from(k)))
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_itself_and_an_unknown_one_lists_the_allowed_names() {
        for kind in EventKind::all() {
            assert_eq!(kind.to_string().parse::<EventKind>(), Ok(kind));
        }
        assert_eq!("milestone.notice_due".parse(), Ok(EventKind::Milestone(MilestoneKind::NoticeDue)));
        let err = "bonus_paid".parse::<EventKind>().unwrap_err().to_string();
        assert!(err.contains("bonus_paid") && err.contains("salary_change") && err.contains("milestone.chain_limit"));
        assert!("milestone.salary_change".parse::<EventKind>().is_err());
        assert!("notice_due".parse::<EventKind>().is_err(), "a milestone kind needs its prefix");
    }

    #[test]
    fn an_endpoint_filters_by_company_and_type_on_each_stream() {
        let company = Uuid::from_u128(1);
        let types = ["salary_change".parse().unwrap(), "milestone.notice_due".parse().unwrap()];
        let one = subjects("p", Some(company), Some(&types));
        assert_eq!(one.changes, [format!("p.changes.{company}.salary_change")]);
        assert_eq!(one.milestones, [format!("p.milestones.{company}.notice_due")]);
        let all = subjects("p", None, None);
        assert_eq!((all.changes, all.milestones), (vec!["p.changes.*.>".into()], vec!["p.milestones.*.>".into()]));
        let only_changes = subjects("p", None, Some(&[EventKind::EmployeeErased]));
        assert_eq!(only_changes.changes, ["p.changes.*.employee_erased"]);
        assert!(only_changes.milestones.is_empty());
    }

    #[test]
    fn the_kind_of_an_event_follows_from_its_subject() {
        let c = Uuid::from_u128(1);
        assert_eq!(
            EventKind::of_subject("p", &format!("p.changes.{c}.hours_change")),
            Some(EventKind::Change(ChangeType::HoursChange))
        );
        assert_eq!(
            EventKind::of_subject("p", &format!("p.changes.{c}.employee_erased")),
            Some(EventKind::EmployeeErased)
        );
        assert_eq!(
            EventKind::of_subject("p", &format!("p.milestones.{c}.contract_ending")),
            Some(EventKind::Milestone(MilestoneKind::ContractEnding))
        );
        assert_eq!(EventKind::of_subject("p", "p.changes.salary_change"), None, "a first-version subject");
        assert_eq!(EventKind::of_subject("q", &format!("p.changes.{c}.hours_change")), None);
    }
}
