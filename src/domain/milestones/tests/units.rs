//! Names, identities, settings and the lifecycle's edges outside the dated table.

use std::str::FromStr as _;

use serde_json::json;

use super::*;

fn employee<'a>(employments: &'a [Value], changes: &'a [RecordedChange], out_of_service: bool) -> EmployeeFacts<'a> {
    EmployeeFacts { company_id: COMPANY, employee_id: EMPLOYEE, out_of_service, employments, changes }
}

fn derived(contracts: Vec<Value>) -> Derivation {
    derive(&employee(&[json!({ "contracts": contracts })], &[], false), &ChainSettings::default())
}

fn of_kind(d: &Derivation, kind: MilestoneKind) -> Milestone {
    *d.milestones.iter().find(|m| m.kind() == kind).unwrap_or_else(|| panic!("no {kind}"))
}

fn stored_after(d: &Derivation, today: &str) -> Vec<Row> {
    let mut store = Vec::new();
    apply(&mut store, &plan(&[], d, super::d(today), &Reminders::default()));
    store
}

#[test]
fn kinds_statuses_resolutions_and_reasons_carry_the_contract_names() {
    assert_eq!(MilestoneKind::NoticeDue.to_string(), "notice_due");
    assert_eq!(MilestoneKind::from_str("chain_exceeded"), Ok(MilestoneKind::ChainExceeded));
    assert_eq!(serde_json::to_value(MilestoneKind::ChangeEffective).unwrap(), json!("change_effective"));
    assert_eq!(serde_json::to_value(MilestoneStatus::Overdue).unwrap(), json!("overdue"));
    assert_eq!(serde_json::to_value(Resolution::Acknowledged).unwrap(), json!("acknowledged"));
    assert_eq!(<&str>::from(MilestoneReason::Detected), "detected");
    assert_eq!(serde_json::to_value(ChainReason::MaxDuration).unwrap(), json!("max_duration"));
}

#[test]
fn details_serialise_as_the_contract_objects_and_read_back() {
    let (start, id) = (d("2023-01-01"), Uuid::from_u128(9));
    let all = [
        (Details::ContractEnding(NoDetails {}), json!({})),
        (Details::NoticeDue(NoticeDetails { max_compensation: Some(2709.5) }), json!({"max_compensation": 2709.5})),
        (Details::NoticeDue(NoticeDetails { max_compensation: None }), json!({"max_compensation": null})),
        (
            Details::ChainLimit(ChainDetails {
                contracts_in_chain: 3,
                chain_start: start,
                reason: ChainReason::MaxContracts,
            }),
            json!({"contracts_in_chain": 3, "chain_start": "2023-01-01", "reason": "max_contracts"}),
        ),
        (
            Details::ChainExceeded(ExceededDetails {
                contracts_in_chain: 2,
                chain_start: start,
                reason: ChainReason::MaxDuration,
                permanent_since: d("2026-01-01"),
            }),
            json!({"contracts_in_chain": 2, "chain_start": "2023-01-01", "reason": "max_duration", "permanent_since": "2026-01-01"}),
        ),
        (
            Details::ChangeEffective(ChangeDetails { change_id: id, change_type: EffectiveChangeType::HoursChange }),
            json!({"change_id": id, "change_type": "hours_change"}),
        ),
    ];
    for (details, json) in all {
        assert_eq!(serde_json::to_value(details).unwrap(), json, "{details:?}");
        assert_eq!(serde_json::from_value::<Details>(json).unwrap(), details);
    }
}

#[test]
fn a_milestone_id_is_pinned_to_its_key_and_differs_between_keys() {
    let d1 = derived(vec![fixed("2025-01-01", "2025-06-30")]);
    let ending = of_kind(&d1, MilestoneKind::ContractEnding).key;
    assert_eq!(ending.anchor, Anchor::ContractStart(d("2025-01-01")));
    assert_eq!(
        ending.id(),
        of_kind(&derived(vec![fixed("2025-01-01", "2025-06-30")]), MilestoneKind::ContractEnding).key.id()
    );
    // A refactor must never change ids: stored rows and published event ids depend on them.
    assert_eq!(ending.id().to_string(), "6c0f956a-33bf-55db-a369-e94f936cd2b0");
    let notice = of_kind(&d1, MilestoneKind::NoticeDue).key;
    assert_ne!(ending.id(), notice.id());
    let change =
        MilestoneKey { anchor: Anchor::Change(Uuid::from_u128(1)), kind: MilestoneKind::ChangeEffective, ..ending };
    assert_ne!(change.id(), MilestoneKey { anchor: Anchor::Change(Uuid::from_u128(2)), ..change }.id());
    assert_ne!(ending.id(), MilestoneKey { company_id: Uuid::from_u128(1), ..ending }.id());
}

#[test]
fn event_ids_differ_by_reason_reminder_and_due_date() {
    let id = Uuid::from_u128(42);
    let due = Event { reason: MilestoneReason::Due, days_before: None, due_date: d("2025-06-30") };
    let r30 = Event { reason: MilestoneReason::Reminder, days_before: Some(30), ..due };
    let r7 = Event { days_before: Some(7), ..r30 };
    let moved = Event { due_date: d("2025-07-31"), ..r7 };
    let ids = [due.id(id), r30.id(id), r7.id(id), moved.id(id), due.id(Uuid::from_u128(43))];
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(due.id(id), due.id(id));
}

#[test]
fn reminders_parse_from_a_comma_separated_list() {
    assert_eq!(Reminders::from_str("30,7").unwrap().days(), &[30, 7]);
    assert_eq!(Reminders::from_str(" 7, 30 ,7,").unwrap().days(), &[30, 7]);
    assert_eq!(Reminders::from_str("").unwrap().days(), &[] as &[u32]);
    assert_eq!(Reminders::from_str("0"), Err(InvalidReminders("0".into())));
    assert!(Reminders::from_str("30,soon").unwrap_err().to_string().contains("\"soon\""));
    assert_eq!(Reminders::default().days(), &[30, 7]);
}

#[test]
fn chain_settings_out_of_range_name_their_field() {
    assert_eq!(ChainSettings::default().invalid_field(), None);
    assert_eq!(cao(6, 48, 3).invalid_field(), None);
    assert_eq!(cao(0, 36, 6).invalid_field(), Some("chain_max_contracts"));
    assert_eq!(cao(3, 0, 6).invalid_field(), Some("chain_max_months"));
    assert_eq!(cao(3, 36, 121).invalid_field(), Some("chain_gap_months"));
}

#[test]
fn only_an_open_notice_can_be_acknowledged() {
    let store = stored_after(&derived(vec![fixed("2025-01-01", "2025-06-30")]), "2025-03-01");
    let ending = store.iter().find(|r| r.milestone.kind() == MilestoneKind::ContractEnding).unwrap();
    let notice = store.iter().find(|r| r.milestone.kind() == MilestoneKind::NoticeDue).unwrap();
    assert_eq!(acknowledge(ending), Err(AcknowledgeError::NotAcknowledgeable(MilestoneKind::ContractEnding)));
    let step = acknowledge(notice).unwrap();
    assert_eq!((step.row.status, step.row.resolution), (MilestoneStatus::Resolved, Some(Resolution::Acknowledged)));
    assert_eq!(step.event.map(|e| e.reason), Some(MilestoneReason::Resolved));
    assert_eq!(acknowledge(&step.row), Err(AcknowledgeError::AlreadyResolved(Resolution::Acknowledged)));
}

#[test]
fn a_resolution_written_elsewhere_gets_its_resolved_event_once() {
    // Arrange: the API wrote `acknowledged` without publishing.
    let derivation = derived(vec![fixed("2025-01-01", "2025-06-30")]);
    let mut store = stored_after(&derivation, "2025-03-01");
    let notice = store.iter_mut().find(|r| r.milestone.kind() == MilestoneKind::NoticeDue).unwrap();
    notice.resolution = Some(Resolution::Acknowledged);
    // Act
    let first = advance(&mut store, &derivation, d("2025-03-02"), &Reminders::default());
    let second = plan(&store, &derivation, d("2025-03-02"), &Reminders::default());
    // Assert
    assert_eq!(first, vec![(MilestoneKind::NoticeDue, MilestoneReason::Resolved, None)]);
    assert!(second.is_empty());
}

#[test]
fn a_change_effective_stays_when_its_change_is_no_longer_listed() {
    let changes = [change(7, EffectiveChangeType::SalaryChange, "2025-03-01", "2025-01-15")];
    let with = derive(&employee(&[], &changes, false), &ChainSettings::default());
    let store = stored_after(&with, "2025-01-15");
    let without = derive(&employee(&[], &[], false), &ChainSettings::default());
    let steps = plan(&store, &without, d("2025-03-01"), &Reminders::default());
    assert_eq!(steps.len(), 1);
    assert_eq!((steps[0].row.status, steps[0].row.resolution), (MilestoneStatus::Due, None));
    assert_eq!(steps[0].event.map(|e| e.reason), Some(MilestoneReason::Due));
}

#[test]
fn a_resolved_milestone_derived_again_stays_resolved() {
    let one = derived(vec![fixed("2025-01-01", "2025-03-31")]);
    let two = derived(vec![fixed("2025-01-01", "2025-03-31"), fixed("2025-04-01", "2025-06-30")]);
    let mut store = stored_after(&one, "2025-02-01");
    advance(&mut store, &two, d("2025-02-02"), &Reminders::default());
    // The follow-up contract is removed again: the first ending is not reopened, the second is resolved.
    let events = advance(&mut store, &one, d("2025-02-03"), &Reminders::default());
    assert_eq!(events, vec![(MilestoneKind::ContractEnding, MilestoneReason::Resolved, None)]);
    assert!(store.iter().all(|r| r.resolution == Some(Resolution::Superseded)));
}

#[test]
fn a_further_contract_in_a_passed_chain_updates_the_same_milestone() {
    let four = derived(halves(4));
    let store = stored_after(&four, "2024-09-01");
    let five = derived(halves(5));
    let steps = plan(&store, &five, d("2025-02-01"), &Reminders::default());
    let exceeded: Vec<_> = steps.iter().filter(|s| s.row.milestone.kind() == MilestoneKind::ChainExceeded).collect();
    assert_eq!(exceeded.len(), 1);
    assert_eq!((exceeded[0].write, exceeded[0].event), (Write::Update, None));
    assert!(matches!(exceeded[0].row.milestone.details, Details::ChainExceeded(e) if e.contracts_in_chain == 5));
}

#[test]
fn a_new_reminder_day_is_sent_but_a_passed_one_is_not_resent() {
    let derivation = derived(vec![fixed("2025-09-01", "2025-12-31")]);
    let mut store = stored_after(&derivation, "2025-11-01");
    let defaults = Reminders::default();
    advance(&mut store, &derivation, d("2025-12-01"), &defaults);
    let more = Reminders::new([60, 30, 14, 7]);
    assert!(plan(&store, &derivation, d("2025-12-02"), &more).is_empty(), "60 and 30 were passed");
    let events = advance(&mut store, &derivation, d("2025-12-17"), &more);
    assert_eq!(events, vec![(MilestoneKind::ContractEnding, MilestoneReason::Reminder, Some(14))]);
}

#[test]
fn data_errors_name_dates_and_problems_but_no_wages() {
    let employments = [json!({
        "contracts": [fixed("2025-01-01", "2024-12-01")],
        "salary": [{"start_date": "2025-02-01", "end_date": "2025-01-01", "month_wage": 4321}],
    })];
    let derivation = derive(&employee(&employments, &[], false), &ChainSettings::default());
    let messages: Vec<String> = derivation.data_errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("contract period starting 2025-01-01") && messages[0].contains("2024-12-01"));
    assert!(messages.iter().all(|m| !m.contains("4321")));
    let stored = serde_json::to_value(derivation.data_errors[0]).unwrap();
    assert_eq!(stored["problem"], json!("end_before_start"));
}

fn halves(n: usize) -> Vec<Value> {
    let starts = ["2023-01-01", "2023-07-01", "2024-01-01", "2024-07-01", "2025-01-01"];
    let ends = ["2023-06-30", "2023-12-31", "2024-06-30", "2024-12-31", "2025-06-30"];
    (0..n).map(|i| fixed(starts[i], ends[i])).collect()
}
