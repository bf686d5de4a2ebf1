//! What a milestone is: its kind, identity, dates and details, and the names the contract gives
//! to statuses, resolutions and event reasons.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

named_enum! {
    /// The five things about to happen that the service watches for.
    pub enum MilestoneKind {
        /// The current fixed-term contract ends.
        ContractEnding,
        /// The written notice (aanzegging, BW 7:668) is due one month before a contract of six
        /// months or longer ends.
        NoticeDue,
        /// The current fixed-term contract is the last one the chain rule (BW 7:668a) allows.
        ChainLimit,
        /// The chain rule has been passed: by law the contract is permanent.
        ChainExceeded,
        /// A recorded salary, hours or contract change takes effect on a later date.
        ChangeEffective,
    }
}

named_enum! {
    /// `upcoming` before the due date, `due` on it, `overdue` after it while unresolved.
    pub enum MilestoneStatus {
        Upcoming,
        Due,
        Overdue,
        Resolved,
    }
}

named_enum! {
    /// Why a milestone stopped being open.
    pub enum Resolution {
        /// A later contract (or, for `chain_exceeded`, a permanent one) was recorded.
        Superseded,
        /// A user said the notice was given (`POST /api/milestones/{id}/resolve`).
        Acknowledged,
        /// The employee went out of service.
        Terminated,
    }
}

named_enum! {
    /// Why a milestone event was published (`data.reason`).
    pub enum MilestoneReason {
        Detected,
        Reminder,
        Due,
        Overdue,
        Resolved,
    }
}

named_enum! {
    /// Which rule of the chain (BW 7:668a) was reached or passed.
    pub enum ChainReason {
        MaxContracts,
        MaxDuration,
    }
}

named_enum! {
    /// `contract_duration` of a contract, as Employes names it.
    pub enum ContractDuration {
        Fixed,
        Permanent,
    }
}

named_enum! {
    /// The recorded change types that can take effect later (`change_effective`).
    pub enum EffectiveChangeType {
        SalaryChange,
        HoursChange,
        ContractChange,
    }
}

impl TryFrom<crate::domain::ChangeType> for EffectiveChangeType {
    type Error = crate::domain::ChangeType;

    /// The change types that have an effective date in employment history; the others are given back.
    fn try_from(t: crate::domain::ChangeType) -> Result<Self, Self::Error> {
        use crate::domain::ChangeType as C;
        match t {
            C::SalaryChange => Ok(EffectiveChangeType::SalaryChange),
            C::HoursChange => Ok(EffectiveChangeType::HoursChange),
            C::ContractChange => Ok(EffectiveChangeType::ContractChange),
            C::EmployeeAdded | C::EmployeeRemoved | C::StatusChange | C::PersonalDataChange => Err(t),
        }
    }
}

/// What a milestone is anchored to, besides its employee and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anchor {
    /// The start date of the contract it is about (for `chain_exceeded`: the chain's first contract).
    ContractStart(NaiveDate),
    /// The recorded change it is about (`change_effective`).
    Change(Uuid),
}

/// The identity of a milestone: re-evaluating finds the same key, so a milestone is never
/// stored twice. One row per (employee, kind, contract start / change id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MilestoneKey {
    pub company_id: Uuid,
    pub employee_id: Uuid,
    pub kind: MilestoneKind,
    pub anchor: Anchor,
}

/// Namespace for milestone and milestone-event ids (UUID v5).
pub(super) const MILESTONE_NAMESPACE: Uuid = Uuid::from_u128(0x7a3e_51c0_2d84_4f6b_9e17_c8b2_05d9_a64f);

impl MilestoneKey {
    /// The milestone's id: a UUID v5 of the key, the same on every replica and every run.
    pub fn id(&self) -> Uuid {
        let kind: &'static str = self.kind.into();
        let mut buf = [0u8; 80];
        buf[..16].copy_from_slice(self.company_id.as_bytes());
        buf[16..32].copy_from_slice(self.employee_id.as_bytes());
        let mut len = 32 + kind.len();
        buf[32..len].copy_from_slice(kind.as_bytes());
        match self.anchor {
            Anchor::ContractStart(d) => {
                buf[len] = b'c';
                buf[len + 1..len + 5].copy_from_slice(&chrono::Datelike::num_days_from_ce(&d).to_be_bytes());
                len += 5;
            }
            Anchor::Change(id) => {
                buf[len] = b'x';
                buf[len + 1..len + 17].copy_from_slice(id.as_bytes());
                len += 17;
            }
        }
        Uuid::new_v5(&MILESTONE_NAMESPACE, &buf[..len])
    }

    pub fn contract_start(&self) -> Option<NaiveDate> {
        match self.anchor {
            Anchor::ContractStart(d) => Some(d),
            Anchor::Change(_) => None,
        }
    }

    pub fn change_id(&self) -> Option<Uuid> {
        match self.anchor {
            Anchor::Change(id) => Some(id),
            Anchor::ContractStart(_) => None,
        }
    }
}

/// The contract a milestone is about (`"contract"` in the milestone JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContractRef {
    pub start_date: NaiveDate,
    /// `null` for a contract without an end date (always sent).
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    pub contract_duration: ContractDuration,
}

/// `details` of `contract_ending`: `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoDetails {}

/// `details` of `notice_due`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeDetails {
    /// One month's gross wage at the end date, 2 decimals; `null` when no wage (or, for an
    /// hourly wage, no hours) is recorded for that date.
    #[schema(required = true)]
    pub max_compensation: Option<f64>,
}

/// `details` of `chain_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChainDetails {
    pub contracts_in_chain: u32,
    pub chain_start: NaiveDate,
    pub reason: ChainReason,
}

/// `details` of `chain_exceeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceededDetails {
    pub contracts_in_chain: u32,
    pub chain_start: NaiveDate,
    pub reason: ChainReason,
    pub permanent_since: NaiveDate,
}

/// `details` of `change_effective`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeDetails {
    pub change_id: Uuid,
    pub change_type: EffectiveChangeType,
}

/// A milestone's `details`, serialised as the contract's plain object. The variant order
/// makes deserialisation exact (each variant refuses fields it does not have).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Details {
    ChainExceeded(ExceededDetails),
    ChainLimit(ChainDetails),
    ChangeEffective(ChangeDetails),
    ContractEnding(NoDetails),
    NoticeDue(NoticeDetails),
}

impl Details {
    /// Reads stored `details` as the kind's own shape (not by trying each in turn).
    pub fn from_json(kind: MilestoneKind, value: serde_json::Value) -> Result<Details, serde_json::Error> {
        Ok(match kind {
            MilestoneKind::ContractEnding => Details::ContractEnding(serde_json::from_value(value)?),
            MilestoneKind::NoticeDue => Details::NoticeDue(serde_json::from_value(value)?),
            MilestoneKind::ChainLimit => Details::ChainLimit(serde_json::from_value(value)?),
            MilestoneKind::ChainExceeded => Details::ChainExceeded(serde_json::from_value(value)?),
            MilestoneKind::ChangeEffective => Details::ChangeEffective(serde_json::from_value(value)?),
        })
    }

    pub fn kind(&self) -> MilestoneKind {
        match self {
            Details::ContractEnding(_) => MilestoneKind::ContractEnding,
            Details::NoticeDue(_) => MilestoneKind::NoticeDue,
            Details::ChainLimit(_) => MilestoneKind::ChainLimit,
            Details::ChainExceeded(_) => MilestoneKind::ChainExceeded,
            Details::ChangeEffective(_) => MilestoneKind::ChangeEffective,
        }
    }
}

/// A derived milestone: what the rules say about an employee, independent of today.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Milestone {
    pub key: MilestoneKey,
    pub due_date: NaiveDate,
    pub contract: Option<ContractRef>,
    pub details: Details,
}

impl Milestone {
    pub fn kind(&self) -> MilestoneKind {
        self.key.kind
    }
}
