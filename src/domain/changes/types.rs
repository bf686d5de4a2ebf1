//! What a detected change is: its type, its business impact, and the change itself.

use chrono::NaiveDate;
use uuid::Uuid;

use super::value::ChangeValue;

named_enum! {
    // The name is also part of every change's dedup key: it must never change.
    /// What changed. The snake_case name is the one stored in `changes.change_type`, sent in JSON
    /// and used in event types and subjects (`nl.employes.salary_change`).
    pub enum ChangeType {
        SalaryChange,
        HoursChange,
        ContractChange,
        EmployeeAdded,
        EmployeeRemoved,
        StatusChange,
        PersonalDataChange,
    }
}

named_enum! {
    /// What a change means for the business, where the rules can tell. Stored in
    /// `changes.business_impact` and sent in JSON by its snake_case name.
    pub enum BusinessImpact {
        SalaryIncrease,
        SalaryDecrease,
        HoursIncrease,
        HoursDecrease,
        PermanentContract,
        ContractRenewal,
        Hired,
        Terminated,
    }
}

/// One detected change, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub employee_id: Uuid,
    pub change_type: ChangeType,
    /// Field names are fixed by the rules, so they are never allocated.
    pub field: Option<&'static str>,
    pub old_value: Option<ChangeValue>,
    pub new_value: Option<ChangeValue>,
    pub effective_date: Option<NaiveDate>,
    pub business_impact: Option<BusinessImpact>,
    pub change_amount: Option<f64>,
    pub change_percent: Option<f64>,
    /// Distinguishes record diffs that carry no values (the record version they appeared in).
    pub discriminator: Option<String>,
}

impl Change {
    /// A change of `change_type` with nothing else known yet.
    pub(super) fn new(employee_id: Uuid, change_type: ChangeType) -> Change {
        Change {
            employee_id,
            change_type,
            field: None,
            old_value: None,
            new_value: None,
            effective_date: None,
            business_impact: None,
            change_amount: None,
            change_percent: None,
            discriminator: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use strum::VariantArray;

    use super::*;

    /// Every name of `T`, as serde writes it, reads back to the same value through serde and
    /// through `FromStr` (what the database decoding and the API filters use).
    fn names_round_trip<T>(want: &[&str])
    where
        T: VariantArray + Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
        T: FromStr + Into<&'static str>,
        <T as FromStr>::Err: std::fmt::Debug,
    {
        let names: Vec<&str> = T::VARIANTS.iter().map(|v| (*v).into()).collect();
        assert_eq!(names, want);
        for (value, name) in T::VARIANTS.iter().zip(want) {
            assert_eq!(serde_json::to_value(value).unwrap(), serde_json::json!(name));
            assert_eq!(serde_json::from_value::<T>(serde_json::json!(name)).unwrap(), *value);
            assert_eq!(T::from_str(name).unwrap(), *value);
        }
    }

    #[test]
    fn change_types_keep_their_stored_names() {
        names_round_trip::<ChangeType>(&[
            "salary_change",
            "hours_change",
            "contract_change",
            "employee_added",
            "employee_removed",
            "status_change",
            "personal_data_change",
        ]);
        assert_eq!(ChangeType::SalaryChange.to_string(), "salary_change");
    }

    #[test]
    fn business_impacts_keep_their_stored_names() {
        names_round_trip::<BusinessImpact>(&[
            "salary_increase",
            "salary_decrease",
            "hours_increase",
            "hours_decrease",
            "permanent_contract",
            "contract_renewal",
            "hired",
            "terminated",
        ]);
    }

    #[test]
    fn an_unknown_name_is_rejected_when_it_is_read() {
        assert!(serde_json::from_str::<ChangeType>(r#""bogus""#).is_err());
        assert!(ChangeType::from_str("bogus").is_err());
        assert!(ChangeType::from_str("Salary_Change").is_err());
        assert!(serde_json::from_str::<BusinessImpact>(r#""bogus""#).is_err());
        assert!(BusinessImpact::from_str("bogus").is_err());
    }
}
