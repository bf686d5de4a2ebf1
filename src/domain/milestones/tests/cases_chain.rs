//! The chain rule (ketenregeling, BW 7:668a) and its collective-agreement deviations.

use serde_json::json;

use super::*;
use ChainReason::{MaxContracts, MaxDuration};

/// Four consecutive six-month contracts from 2023-01-01.
fn four_halves() -> Vec<Value> {
    vec![
        fixed("2023-01-01", "2023-06-30"),
        fixed("2023-07-01", "2023-12-31"),
        fixed("2024-01-01", "2024-06-30"),
        fixed("2024-07-01", "2024-12-31"),
    ]
}

fn halves(n: usize) -> Vec<Value> {
    let all = [
        fixed("2023-01-01", "2023-06-30"),
        fixed("2023-07-01", "2023-12-31"),
        fixed("2024-01-01", "2024-06-30"),
        fixed("2024-07-01", "2024-12-31"),
        fixed("2025-01-01", "2025-06-30"),
        fixed("2025-07-01", "2025-12-31"),
        fixed("2026-01-01", "2026-06-30"),
    ];
    all[..n].to_vec()
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        // BW 7:668a lid 1 sub b: more than three contracts make the last one permanent, so the third
        // is the last fixed one allowed; any continuation must be permanent.
        Case {
            name: "the third consecutive contract reaches the chain limit",
            today: "2024-03-01",
            contracts: halves(3),
            expect: vec![
                ending("2024-06-30"),
                notice("2024-05-30", None),
                limit("2024-06-30", 3, "2023-01-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub b: the fourth contract is permanent by law from its start.
        Case {
            name: "the fourth consecutive contract is permanent since its start",
            today: "2024-09-01",
            contracts: four_halves(),
            expect: vec![
                ending("2024-12-31"),
                notice("2024-11-30", None),
                exceeded("2024-07-01", 4, "2023-01-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub b: a fifth contract does not move the date: the fourth already converted.
        Case {
            name: "a fifth contract keeps the chain permanent since the fourth started",
            today: "2025-03-01",
            contracts: halves(5),
            expect: vec![
                ending("2025-06-30"),
                notice("2025-05-30", None),
                exceeded("2024-07-01", 5, "2023-01-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1: "tussenpozen van niet meer dan zes maanden": the days strictly between
        // 2025-01-31 and 2025-08-01 are exactly six months, so the chain continues.
        Case {
            name: "an interval of exactly six months continues the chain",
            today: "2026-03-01",
            contracts: vec![
                fixed("2024-02-01", "2025-01-31"),
                fixed("2025-08-01", "2026-01-31"),
                fixed("2026-02-01", "2026-07-31"),
            ],
            expect: vec![
                ending("2026-07-31"),
                notice("2026-06-30", None),
                limit("2026-07-31", 3, "2024-02-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1: six months and one day is "meer dan zes maanden": the chain starts again.
        Case {
            name: "an interval of six months and a day breaks the chain",
            today: "2026-03-01",
            contracts: vec![
                fixed("2024-02-01", "2025-01-31"),
                fixed("2025-08-02", "2026-01-31"),
                fixed("2026-02-01", "2026-07-31"),
            ],
            expect: vec![ending("2026-07-31"), notice("2026-06-30", None)],
            ..Case::default()
        },
        // BW 7:668a lid 1: six months from 31 August end on 27 February (month end clamped), so a
        // contract starting 28 February follows within the interval.
        Case {
            name: "an interval ending in February is measured in calendar months",
            today: "2025-10-01",
            contracts: vec![
                fixed("2024-03-01", "2024-08-30"),
                fixed("2025-02-28", "2025-08-27"),
                fixed("2025-08-28", "2026-02-27"),
            ],
            expect: vec![
                ending("2026-02-27"),
                notice("2026-01-27", None),
                limit("2026-02-27", 3, "2024-03-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a: 36 months including intervals are allowed; ending on
        // chain start + 36 months − 1 day reaches the limit without passing it.
        Case {
            name: "a chain reaching 36 months on its end date reaches the limit",
            today: "2025-06-01",
            contracts: vec![fixed("2023-01-01", "2024-12-31"), fixed("2025-01-01", "2025-12-31")],
            expect: vec![
                ending("2025-12-31"),
                notice("2025-11-30", None),
                limit("2025-12-31", 2, "2023-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a: one day more passes 36 months: permanent "met ingang van die dag",
        // chain start + 36 months.
        Case {
            name: "a chain passing 36 months is permanent since chain start plus 36 months",
            today: "2025-06-01",
            contracts: vec![fixed("2023-01-01", "2024-12-31"), fixed("2025-01-01", "2026-01-01")],
            expect: vec![
                ending("2026-01-01"),
                notice("2025-12-01", None),
                exceeded("2026-01-01", 2, "2023-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a: the day the 36 months pass may fall inside the last contract.
        Case {
            name: "a chain passing 36 months inside its last contract converts on that day",
            today: "2025-06-01",
            contracts: vec![fixed("2023-01-01", "2024-06-30"), fixed("2024-07-01", "2026-06-30")],
            expect: vec![
                ending("2026-06-30"),
                notice("2026-05-30", None),
                exceeded("2026-01-01", 2, "2023-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a and b: both rules passed; the earlier date counts (36 months passed on
        // 2025-01-01, before the fourth contract started on 2025-04-01).
        Case {
            name: "when both rules are passed the earlier date makes the contract permanent",
            today: "2025-05-01",
            contracts: vec![
                fixed("2022-01-01", "2023-06-30"),
                fixed("2023-07-01", "2024-12-31"),
                fixed("2025-01-01", "2025-03-31"),
                fixed("2025-04-01", "2025-06-30"),
            ],
            expect: vec![ending("2025-06-30"), exceeded("2025-01-01", 4, "2022-01-01", MaxDuration)],
            ..Case::default()
        },
        // BW 7:668a: the rule is about fixed-term contracts; a permanent one ends the chain (and has
        // no end to announce).
        Case {
            name: "a permanent contract ends the chain",
            today: "2024-09-01",
            contracts: [halves(3), vec![permanent("2024-07-01")]].concat(),
            ..Case::default()
        },
        // BW 7:668a: fixed contracts after a permanent one start a new chain.
        Case {
            name: "fixed contracts after a permanent one start a new chain",
            today: "2024-09-01",
            contracts: vec![
                fixed("2022-01-01", "2022-12-31"),
                json!({"contract_duration": "permanent", "start_date": "2023-01-01", "end_date": "2023-12-31"}),
                fixed("2024-01-01", "2024-06-30"),
                fixed("2024-07-01", "2024-12-31"),
            ],
            expect: vec![ending("2024-12-31"), notice("2024-11-30", None)],
            ..Case::default()
        },
        // BW 7:668a lid 5: a collective agreement may allow up to six contracts in 48 months; five
        // contracts in 30 months are then within the chain.
        Case {
            name: "under a CAO of six contracts in 48 months five contracts are within the chain",
            today: "2025-03-01",
            settings: cao(6, 48, 6),
            contracts: halves(5),
            expect: vec![ending("2025-06-30"), notice("2025-05-30", None)],
            ..Case::default()
        },
        // BW 7:668a lid 5: under that CAO the sixth contract is the last fixed one.
        Case {
            name: "under a CAO of six contracts in 48 months the sixth contract reaches the limit",
            today: "2025-09-01",
            settings: cao(6, 48, 6),
            contracts: halves(6),
            expect: vec![
                ending("2025-12-31"),
                notice("2025-11-30", None),
                limit("2025-12-31", 6, "2023-01-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 5: and the seventh is permanent since its start.
        Case {
            name: "under a CAO of six contracts in 48 months the seventh contract is permanent",
            today: "2026-03-01",
            settings: cao(6, 48, 6),
            contracts: halves(7),
            expect: vec![
                ending("2026-06-30"),
                notice("2026-05-30", None),
                exceeded("2026-01-01", 7, "2023-01-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 5: under that CAO 48 months are reached on 2025-12-31, not passed.
        Case {
            name: "under a CAO of 48 months a 48-month chain reaches the limit",
            today: "2025-06-01",
            settings: cao(6, 48, 6),
            contracts: vec![fixed("2022-01-01", "2024-12-31"), fixed("2025-01-01", "2025-12-31")],
            expect: vec![
                ending("2025-12-31"),
                notice("2025-11-30", None),
                limit("2025-12-31", 2, "2022-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a: the same history without a CAO passed 36 months when the second
        // contract started.
        Case {
            name: "without a CAO the same 48-month chain is permanent since 36 months passed",
            today: "2025-06-01",
            contracts: vec![fixed("2022-01-01", "2024-12-31"), fixed("2025-01-01", "2025-12-31")],
            expect: vec![
                ending("2025-12-31"),
                notice("2025-11-30", None),
                exceeded("2025-01-01", 2, "2022-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a: a single contract of 36 months is allowed, but any continuation within
        // six months would pass 36 months.
        Case {
            name: "a single 36-month contract reaches the limit",
            today: "2025-06-01",
            contracts: vec![fixed("2023-01-01", "2025-12-31")],
            expect: vec![
                ending("2025-12-31"),
                notice("2025-11-30", None),
                limit("2025-12-31", 1, "2023-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a speaks of contracts that "elkaar hebben opgevolgd": a single first
        // contract longer than 36 months is not converted; its continuation would be.
        Case {
            name: "a single contract longer than 36 months is not converted",
            today: "2025-03-01",
            contracts: vec![fixed("2022-01-01", "2025-06-30")],
            expect: vec![
                ending("2025-06-30"),
                notice("2025-05-30", None),
                limit("2025-06-30", 1, "2022-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub a: the contract following one longer than 36 months is permanent from
        // its own start (the contracts followed each other and passed 36 months then).
        Case {
            name: "the continuation of a contract longer than 36 months is permanent since its start",
            today: "2025-09-01",
            contracts: vec![fixed("2022-01-01", "2025-06-30"), fixed("2025-07-01", "2025-12-31")],
            expect: vec![
                ending("2025-12-31"),
                notice("2025-11-30", None),
                exceeded("2025-07-01", 2, "2022-01-01", MaxDuration),
            ],
            ..Case::default()
        },
        // BW 7:668a lid 5: a CAO may shorten the interval to three months for recurring temporary
        // work; an interval of four months then breaks the chain.
        Case {
            name: "under a CAO interval of three months a four-month interval breaks the chain",
            today: "2025-06-01",
            settings: cao(3, 36, 3),
            contracts: vec![
                fixed("2024-01-01", "2024-06-30"),
                fixed("2024-11-01", "2025-04-30"),
                fixed("2025-05-01", "2025-10-31"),
            ],
            expect: vec![ending("2025-10-31"), notice("2025-09-30", None)],
            ..Case::default()
        },
        // BW 7:668a lid 1: with the legal six months the same four-month interval continues it.
        Case {
            name: "under the legal interval of six months a four-month interval continues the chain",
            today: "2025-06-01",
            contracts: vec![
                fixed("2024-01-01", "2024-06-30"),
                fixed("2024-11-01", "2025-04-30"),
                fixed("2025-05-01", "2025-10-31"),
            ],
            expect: vec![
                ending("2025-10-31"),
                notice("2025-09-30", None),
                limit("2025-10-31", 3, "2024-01-01", MaxContracts),
            ],
            ..Case::default()
        },
        // BW 7:668a: the conversion happened by law while employed; leaving later does not undo it,
        // but nothing of the current contract is announced any more.
        Case {
            name: "an out-of-service employee keeps a passed chain but gets no ending notice or limit",
            today: "2025-02-01",
            contracts: four_halves(),
            out_of_service: true,
            expect: vec![exceeded("2024-07-01", 4, "2023-01-01", MaxContracts)],
            ..Case::default()
        },
        // BW 7:668a: a chain at its limit has no continuation to warn about once the employee left.
        Case {
            name: "an out-of-service employee at the chain limit gets nothing",
            today: "2024-05-01",
            contracts: halves(3),
            out_of_service: true,
            ..Case::default()
        },
        // BW 7:668a counts known contracts; a fixed contract without an end date (a data error) has no
        // interval to the next, so the chain is only counted after it.
        Case {
            name: "a fixed contract without an end date breaks the chain and is reported",
            today: "2024-09-01",
            contracts: vec![
                fixed("2023-01-01", "2023-06-30"),
                json!({"contract_duration": "fixed", "start_date": "2023-07-01", "end_date": null}),
                fixed("2024-01-01", "2024-06-30"),
                fixed("2024-07-01", "2024-12-31"),
            ],
            errors: vec![DataProblem::MissingEndDate],
            expect: vec![ending("2024-12-31"), notice("2024-11-30", None)],
            ..Case::default()
        },
        // BW 7:668a is about fixed-term contracts; one of unknown duration cannot be counted as one.
        Case {
            name: "a contract of unknown duration breaks the chain and is reported",
            today: "2024-09-01",
            contracts: vec![
                fixed("2023-01-01", "2023-06-30"),
                json!({"contract_duration": "flex", "start_date": "2023-07-01", "end_date": "2023-12-31"}),
                fixed("2024-01-01", "2024-06-30"),
                fixed("2024-07-01", "2024-12-31"),
            ],
            errors: vec![DataProblem::UnknownDuration],
            expect: vec![ending("2024-12-31"), notice("2024-11-30", None)],
            ..Case::default()
        },
    ]
}
