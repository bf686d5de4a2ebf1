//! Property tests of the pure parts: webhook signature verification, the lenient Employes JSON
//! parsing, and change detection.

use std::collections::BTreeSet;

use employes_sync::{
    domain::{self, Change, History, RecordDiff, detect_history_changes, detect_record_changes},
    employes::Employee,
    webhook_signature::{SignedHeaders, TOLERANCE_SECS, WebhookKey, sign, verify},
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn key(bytes: &[u8]) -> WebhookKey {
    WebhookKey::new(bytes)
}

/// Any JSON value, nested a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
        // Strings that look like what the parsers look for.
        prop_oneof![
            Just("2024-01-01"),
            Just("2025-02-30"),
            Just("0001-01-01T00:00:00"),
            Just("3f2a10b5-6c4d-4e8f-9a01-23456789abcd"),
            Just("  12,5 "),
            Just("permanent"),
            Just("fixed"),
            Just("é2024-01-01"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("id".to_string()),
            Just("data".to_string()),
            Just("salary".to_string()),
            Just("hours".to_string()),
            Just("contracts".to_string()),
            Just("start_date".to_string()),
            Just("end_date".to_string()),
            Just("month_wage".to_string()),
            Just("hour_wage".to_string()),
            Just("hours_per_week".to_string()),
            Just("contract_duration".to_string()),
            Just("status".to_string()),
            Just("email".to_string()),
            Just("first_name".to_string()),
            Just("employment".to_string()),
            "[a-z_]{1,10}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures

/// A webhook id as Standard Webhooks senders make them: 1–256 visible ASCII characters.
fn webhook_id() -> impl Strategy<Value = String> {
    "[!-~]{1,256}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verification_never_panics_on_arbitrary_headers_bodies_and_clocks(
        id in prop::option::of(prop_oneof![".{0,300}", webhook_id()]),
        ts in prop::option::of(prop_oneof![".{0,24}", any::<i64>().prop_map(|n| n.to_string())]),
        signature in prop::option::of(prop_oneof![".{0,200}", "(v1,[A-Za-z0-9+/=]{0,60} ?){0,20}"]),
        body in prop::collection::vec(any::<u8>(), 0..512),
        now in prop_oneof![any::<i64>(), Just(1_764_000_000i64)],
        secret in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let headers = SignedHeaders {
            id: id.as_deref(),
            timestamp: ts.as_deref(),
            signature: signature.as_deref(),
        };
        let _ = verify(&[key(&secret)], headers, &body, now);
    }

    #[test]
    fn exactly_what_the_signer_signed_verifies_and_any_single_byte_change_to_the_body_does_not(
        secret in prop::collection::vec(any::<u8>(), 1..64),
        id in webhook_id(),
        ts in 0i64..4_000_000_000,
        skew in -TOLERANCE_SECS..=TOLERANCE_SECS,
        body in prop::collection::vec(any::<u8>(), 1..512),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let signature = sign(&secret, &id, ts, &body);
        let ts_text = ts.to_string();
        let headers = SignedHeaders { id: Some(&id), timestamp: Some(&ts_text), signature: Some(&signature) };
        prop_assert_eq!(verify(&[key(&secret)], headers, &body, ts + skew), Ok(id.as_str()));
        let mut tampered = body.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(verify(&[key(&secret)], headers, &tampered, ts + skew).is_err());
        // Another key, or the same signature outside the tolerance, fails too.
        let mut other = secret.clone();
        other[0] ^= 1;
        prop_assert!(verify(&[key(&other)], headers, &body, ts).is_err());
        prop_assert!(verify(&[key(&secret)], headers, &body, ts + TOLERANCE_SECS + 1).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Employes JSON

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn employee_and_employment_parsing_never_panics_on_arbitrary_json(value in any_json()) {
        if let Some(e) = Employee::from_json(value.clone()) {
            let _ = (e.display_name(), e.status(), e.dt_update(), e.text("email"));
        }
        let employments = match &value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        let history = History::from_employments(&employments);
        let _ = detect_history_changes(Uuid::nil(), &history);
        for current in [None, Some(&value)] {
            for baseline in [false, true] {
                let _ = detect_record_changes(&RecordDiff {
                    employee_id: Uuid::nil(),
                    previous: Some(&value),
                    current,
                    version: 2,
                    baseline,
                });
            }
        }
    }

    #[test]
    fn date_parsing_never_panics_on_arbitrary_text(text in ".{0,40}") {
        let _ = domain::parse_date(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// Change detection

/// A salary, hours or contract period as Employes sends it; dates from a small range so that
/// periods share start dates now and then.
fn period() -> impl Strategy<Value = (&'static str, Value)> {
    let date = (2020u32..2024, 1u32..=3).prop_map(|(y, m)| format!("{y}-{m:02}-01"));
    prop_oneof![
        (date.clone(), prop::option::of(1500u32..1600), prop::option::of(14u32..16))
            .prop_map(|(d, month, hour)| ("salary", json!({"start_date": d, "month_wage": month, "hour_wage": hour}))),
        (date.clone(), 30u32..33).prop_map(|(d, h)| ("hours", json!({"start_date": d, "hours_per_week": h}))),
        (date.clone(), prop::option::of(date), prop_oneof![Just("fixed"), Just("permanent")]).prop_map(
            |(d, end, kind)| ("contracts", json!({"start_date": d, "end_date": end, "contract_duration": kind}))
        ),
    ]
}

/// Spread periods over `employments` employment objects, in the given order.
fn employments(periods: &[(&'static str, Value)], employments: usize) -> Vec<Value> {
    let n = employments.max(1);
    let mut out: Vec<Map<String, Value>> = vec![Map::new(); n];
    for (i, (kind, p)) in periods.iter().enumerate() {
        let e = &mut out[i % n];
        e.entry(*kind).or_insert_with(|| Value::Array(Vec::new())).as_array_mut().unwrap().push(p.clone());
    }
    out.into_iter().map(Value::Object).collect()
}

fn keys(changes: &[Change]) -> BTreeSet<String> {
    changes.iter().map(Change::dedup_key).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn history_change_detection_is_deterministic_and_independent_of_input_order(
        (periods, shuffled) in prop::collection::vec(period(), 0..12)
            .prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        split in 1usize..4,
        resplit in 1usize..4,
    ) {
        let id = Uuid::from_u128(42);
        let once = detect_history_changes(id, &History::from_employments(&employments(&periods, split)));
        let again = detect_history_changes(id, &History::from_employments(&employments(&periods, split)));
        prop_assert_eq!(&once, &again);
        let reordered = detect_history_changes(id, &History::from_employments(&employments(&shuffled, resplit)));
        prop_assert_eq!(keys(&once), keys(&reordered));
    }

    #[test]
    fn periods_that_all_repeat_the_same_values_are_no_change(
        dates in prop::collection::btree_set((2015u32..2026, 1u32..=12), 1..8),
        month_wage in prop::option::of(1000.0f64..9000.0),
        hour_wage in prop::option::of(10.0f64..60.0),
        hours in 1.0f64..40.0,
        duration in prop_oneof![Just("permanent"), Just("fixed")],
    ) {
        let periods: Vec<(&'static str, Value)> = dates
            .iter()
            .flat_map(|(y, m)| {
                let d = format!("{y}-{m:02}-01");
                // A fixed contract that is renewed is a change by design; the same one repeated is not.
                let end = (duration == "fixed").then_some("2030-12-31");
                let start = if duration == "fixed" { "2014-01-01".to_string() } else { d.clone() };
                [
                    ("salary", json!({"start_date": d, "month_wage": month_wage, "hour_wage": hour_wage})),
                    ("hours", json!({"start_date": d, "hours_per_week": hours})),
                    ("contracts", json!({"start_date": start, "end_date": end, "contract_duration": duration})),
                ]
            })
            .collect();
        let history = History::from_employments(&employments(&periods, 1));
        prop_assert_eq!(detect_history_changes(Uuid::nil(), &history), Vec::<Change>::new());
    }

    #[test]
    fn a_record_compared_with_itself_is_no_change(record in any_json(), baseline in any::<bool>(), version in 1i32..100) {
        let diff = RecordDiff {
            employee_id: Uuid::nil(),
            previous: Some(&record),
            current: Some(&record),
            version,
            baseline,
        };
        prop_assert_eq!(detect_record_changes(&diff), Vec::<Change>::new());
    }

    #[test]
    fn record_change_detection_is_deterministic(previous in any_json(), current in any_json()) {
        let diff = RecordDiff {
            employee_id: Uuid::nil(),
            previous: Some(&previous),
            current: Some(&current),
            version: 3,
            baseline: false,
        };
        prop_assert_eq!(keys(&detect_record_changes(&diff)), keys(&detect_record_changes(&diff)));
    }
}
