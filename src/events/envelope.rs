//! The CloudEvents 1.0 envelope (structured JSON mode) around any event's `data`.
//!
//! Its schema in `docs/asyncapi.yaml` is written once, by `asyncapi::schemas::cloud_event`;
//! `events::envelope::tests` holds the two to the same attribute names.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// One event: the CloudEvents 1.0 attributes, the v2 extension attributes, and `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent<D> {
    pub specversion: SpecVersion,
    /// The event's id (also the message's `Nats-Msg-Id` and an endpoint's `webhook-id`): the
    /// same on every redelivery and replay.
    pub id: Uuid,
    /// `/employes-sync/companies/<company_id>`.
    pub source: String,
    /// `nl.employes.<…>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The employee the event is about.
    pub subject: Uuid,
    pub time: DateTime<Utc>,
    pub datacontenttype: DataContentType,
    /// The company's id.
    pub companyid: Uuid,
    /// The employee's id: events of one partition key keep their order by `sequence`.
    pub partitionkey: Uuid,
    /// Per employee and stream: +1 per event, from 1, never reused.
    pub sequence: Sequence,
    pub dataclassification: DataClassification,
    /// `true` on events of a company's first sync (past transitions it found), else `false`.
    pub baseline: bool,
    pub data: D,
}

impl<D> CloudEvent<D> {
    /// An event about `employee` of `company`; `source` and the extension attributes follow
    /// from them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        event_type: String,
        company: Uuid,
        employee: Uuid,
        time: DateTime<Utc>,
        sequence: Sequence,
        baseline: bool,
        data: D,
    ) -> CloudEvent<D> {
        CloudEvent {
            specversion: SpecVersion::V1_0,
            id,
            source: crate::companies::event_source(company),
            event_type,
            subject: employee,
            time,
            datacontenttype: DataContentType::Json,
            companyid: company,
            partitionkey: employee,
            sequence,
            dataclassification: DataClassification::Confidential,
            baseline,
            data,
        }
    }
}

/// `specversion`: CloudEvents 1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SpecVersion {
    #[serde(rename = "1.0")]
    V1_0,
}

/// `datacontenttype`: `data` is JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DataContentType {
    #[serde(rename = "application/json")]
    Json,
}

/// `dataclassification`: every event is about an employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataClassification {
    Confidential,
}

/// A per-employee sequence number, sent as 20 zero-padded decimal digits so that it sorts as
/// text too (`00000000000000000001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sequence(pub i64);

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

impl Serialize for Sequence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sequence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Sequence, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() != 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom("a sequence is 20 decimal digits"));
        }
        text.parse().map(Sequence).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;

    fn event() -> CloudEvent<serde_json::Value> {
        let company = Uuid::from_u128(7);
        let employee = Uuid::from_u128(8);
        let time = "2026-12-01T10:00:00Z".parse().unwrap();
        CloudEvent::new(
            Uuid::from_u128(9),
            "nl.employes.salary_change".into(),
            company,
            employee,
            time,
            Sequence(42),
            true,
            json!({}),
        )
    }

    #[test]
    fn a_sequence_is_twenty_zero_padded_digits_and_reads_back() {
        let text = serde_json::to_value(Sequence(1)).unwrap();
        assert_eq!(text, json!("00000000000000000001"));
        assert_eq!(Sequence(i64::MAX).to_string().len(), 19 + 1);
        assert_eq!(serde_json::from_value::<Sequence>(text).unwrap(), Sequence(1));
        assert!(serde_json::from_value::<Sequence>(json!("1")).is_err());
        assert!(serde_json::from_value::<Sequence>(json!("0000000000000000000x")).is_err());
    }

    #[test]
    fn an_event_carries_the_company_the_employee_and_the_v2_attributes() {
        let e = serde_json::to_value(event()).unwrap();
        assert_eq!(e["source"], json!(format!("/employes-sync/companies/{}", Uuid::from_u128(7))));
        assert_eq!(e["companyid"], json!(Uuid::from_u128(7)));
        assert_eq!(e["partitionkey"], json!(Uuid::from_u128(8)));
        assert_eq!(e["subject"], json!(Uuid::from_u128(8)));
        assert_eq!(e["sequence"], json!("00000000000000000042"));
        assert_eq!(e["dataclassification"], json!("confidential"));
        assert_eq!(e["baseline"], json!(true));
        assert_eq!(e["specversion"], json!("1.0"));
        let back: CloudEvent<serde_json::Value> = serde_json::from_value(e).unwrap();
        assert_eq!(back, event());
    }

    #[test]
    fn the_documented_envelope_names_exactly_the_attributes_an_event_has() {
        let e = serde_json::to_value(event()).unwrap();
        let sent: BTreeSet<String> = e.as_object().unwrap().keys().cloned().collect();
        let schema = crate::asyncapi::document()["components"]["schemas"]["ChangeEvent"].clone();
        let documented: BTreeSet<String> = schema["properties"].as_object().unwrap().keys().cloned().collect();
        let required: BTreeSet<String> =
            schema["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        assert_eq!(sent, documented);
        assert_eq!(sent, required, "every attribute is always sent");
    }
}
