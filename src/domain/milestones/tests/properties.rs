//! Evaluation is deterministic, independent of the order Employes lists things in, and never
//! panics, whatever the period lists hold (overlaps, missing or impossible dates, ends before
//! starts, unknown durations, odd settings).

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn date_text() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (2021i32..2028, 1u32..13, 1u32..32).prop_map(|(y, m, d)| json!(format!("{y}-{m:02}-{d:02}"))),
        1 => Just(Value::Null),
        1 => Just(json!("0001-01-01T00:00:00")),
        1 => Just(json!("9999-12-31")),
        1 => Just(json!("soon")),
        1 => Just(json!(20250101)),
    ]
}

fn amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1u32..5000).prop_map(|n| json!(n)),
        (1u32..5000).prop_map(|n| json!(format!("{},{}", n / 100, n % 100))),
        Just(json!(-12)),
        Just(json!(1e308)),
        Just(Value::Null),
    ]
}

fn contract() -> impl Strategy<Value = Value> {
    let duration = prop_oneof![
        Just(json!("fixed")),
        Just(json!("permanent")),
        Just(json!(" Fixed ")),
        Just(json!("flex")),
        Just(Value::Null)
    ];
    (date_text(), date_text(), duration)
        .prop_map(|(s, e, d)| json!({"start_date": s, "end_date": e, "contract_duration": d}))
}

fn salary() -> impl Strategy<Value = Value> {
    (date_text(), date_text(), amount(), amount())
        .prop_map(|(s, e, m, h)| json!({"start_date": s, "end_date": e, "month_wage": m, "hour_wage": h}))
}

fn hours_period() -> impl Strategy<Value = Value> {
    (date_text(), date_text(), amount())
        .prop_map(|(s, e, h)| json!({"start_date": s, "end_date": e, "hours_per_week": h}))
}

fn employment() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (
            prop::collection::vec(contract(), 0..7),
            prop::collection::vec(salary(), 0..4),
            prop::collection::vec(hours_period(), 0..4),
        )
            .prop_map(|(c, s, h)| json!({"contracts": c, "salary": s, "hours": h})),
        1 => Just(json!({"contracts": "not a list"})),
        1 => Just(json!(null)),
    ]
}

fn changes() -> impl Strategy<Value = Vec<RecordedChange>> {
    let one = (0u128..4, 0usize..3, 2021i32..2028, 1u32..366, 1u32..366, any::<bool>()).prop_map(
        |(id, t, y, eff, det, dated)| {
            let day = |n: u32| NaiveDate::from_yo_opt(y, n.min(365)).expect("day of year");
            let change_type = [
                EffectiveChangeType::SalaryChange,
                EffectiveChangeType::HoursChange,
                EffectiveChangeType::ContractChange,
            ][t];
            RecordedChange {
                change_id: Uuid::from_u128(id),
                change_type,
                effective_date: dated.then(|| day(eff)),
                detected_on: day(det),
            }
        },
    );
    prop::collection::vec(one, 0..5)
}

fn settings() -> impl Strategy<Value = ChainSettings> {
    (0u32..8, 0u32..60, 0u32..13).prop_map(|(c, m, g)| cao(c, m, g))
}

/// The same employments listed in the opposite order, each list reversed.
fn reversed(employments: &[Value]) -> Vec<Value> {
    employments
        .iter()
        .rev()
        .map(|e| match e.as_object() {
            Some(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let v =
                            v.as_array().map_or_else(|| v.clone(), |a| Value::Array(a.iter().rev().cloned().collect()));
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            None => e.clone(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_is_deterministic_and_never_panics(
        employments in prop::collection::vec(employment(), 0..3),
        changes in changes(),
        settings in settings(),
        out_of_service in any::<bool>(),
        day in 0u64..2500,
    ) {
        let today = d("2021-01-01") + chrono::Days::new(day);
        let employee = EmployeeFacts { company_id: COMPANY, employee_id: EMPLOYEE, out_of_service, employments: &employments, changes: &changes };
        let first = derive(&employee, &settings);
        prop_assert_eq!(&first, &derive(&employee, &settings));
        let listed_otherwise = reversed(&employments);
        let mut shuffled_changes = changes.clone();
        shuffled_changes.reverse();
        let other = EmployeeFacts { employments: &listed_otherwise, changes: &shuffled_changes, ..employee };
        prop_assert_eq!(&first, &derive(&other, &settings), "input order does not matter");

        let keys: Vec<_> = first.milestones.iter().map(|m| m.key).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted, one per key");
        for m in &first.milestones {
            prop_assert_eq!(m.details.kind(), m.kind());
            prop_assert!(!(out_of_service && matches!(m.kind(), MilestoneKind::ContractEnding | MilestoneKind::NoticeDue | MilestoneKind::ChainLimit)));
        }

        let reminders = Reminders::default();
        let mut store = Vec::new();
        let steps = plan(&store, &first, today, &reminders);
        prop_assert_eq!(&steps, &plan(&store, &first, today, &reminders));
        apply(&mut store, &steps);
        prop_assert!(plan(&store, &first, today, &reminders).is_empty(), "a second evaluation the same day writes nothing");
        // Later days, with the history gone: every open milestone resolves or moves on, once.
        let gone = derive(&EmployeeFacts { employments: &[], changes: &[], ..employee }, &settings);
        for later in [today + chrono::Days::new(40), today + chrono::Days::new(41)] {
            let events = advance(&mut store, &gone, later, &reminders);
            prop_assert!(events.len() <= store.len());
        }
        prop_assert!(plan(&store, &gone, today + chrono::Days::new(41), &reminders).is_empty());
        for row in &store {
            let open_change = row.milestone.kind() == MilestoneKind::ChangeEffective && row.resolution.is_none();
            prop_assert!(open_change || (row.resolution.is_some() && row.published.resolved), "{:?}", row);
        }
    }
}
