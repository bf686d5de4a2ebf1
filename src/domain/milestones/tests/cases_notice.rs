//! Contracts ending and the notice obligation (aanzegplicht, BW 7:668), wages, changes taking
//! effect later, and data errors.

use serde_json::json;

use super::*;
use EffectiveChangeType::{ContractChange, HoursChange, SalaryChange};

pub(super) fn cases() -> Vec<Case> {
    vec![
        // BW 7:668 lid 1: the notice obligation applies to a fixed-term contract "voor zes maanden of
        // langer"; 2025-01-01 + 6 months − 1 day = 2025-06-30, so this one lasts exactly six months.
        // The notice is due "uiterlijk een maand" before the end: 2025-06-30 − 1 month = 2025-05-30.
        Case {
            name: "a six-month contract ending on the six-month boundary carries the notice obligation",
            today: "2025-03-01",
            contracts: vec![fixed("2025-01-01", "2025-06-30")],
            expect: vec![ending("2025-06-30"), notice("2025-05-30", None)],
            ..Case::default()
        },
        // BW 7:668 lid 1: one day short of six months is "korter dan zes maanden": no notice obligation,
        // but the contract still ends by operation of law (BW 7:667 lid 1).
        Case {
            name: "a contract one day shorter than six months has no notice obligation",
            today: "2025-03-01",
            contracts: vec![fixed("2025-01-01", "2025-06-29")],
            expect: vec![ending("2025-06-29")],
            ..Case::default()
        },
        // BW 7:668 lid 1 with calendar months: a month before 31 March is the last day of February.
        Case {
            name: "the notice for a contract ending on 31 March is due on 28 February",
            today: "2025-01-01",
            contracts: vec![fixed("2024-10-01", "2025-03-31")],
            expect: vec![ending("2025-03-31"), notice("2025-02-28", None)],
            ..Case::default()
        },
        // BW 7:668 lid 1, in a leap year: a month before 31 March 2024 is 29 February 2024.
        Case {
            name: "the notice for a contract ending on 31 March of a leap year is due on 29 February",
            today: "2024-01-01",
            contracts: vec![fixed("2023-10-01", "2024-03-31")],
            expect: vec![ending("2024-03-31"), notice("2024-02-29", None)],
            ..Case::default()
        },
        // BW 7:668 lid 1: "een maand" is a calendar month, not 30 or 31 days: 30 April − 1 month = 30 March.
        Case {
            name: "the notice for a contract ending on 30 April is due on 30 March",
            today: "2025-01-01",
            contracts: vec![fixed("2024-05-01", "2025-04-30")],
            expect: vec![ending("2025-04-30"), notice("2025-03-30", None)],
            ..Case::default()
        },
        // BW 7:668 lid 1: six months from 31 August end on 27 February (31 Aug + 6 months = 28 Feb,
        // minus one day), so a contract to 27 February lasts six months.
        Case {
            name: "a contract from 31 August to 27 February lasts six months",
            today: "2025-10-01",
            contracts: vec![fixed("2025-08-31", "2026-02-27")],
            expect: vec![ending("2026-02-27"), notice("2026-01-27", None)],
            ..Case::default()
        },
        // BW 7:668 lid 1: and to 26 February it is a day short of six months.
        Case {
            name: "a contract from 31 August to 26 February is shorter than six months",
            today: "2025-10-01",
            contracts: vec![fixed("2025-08-31", "2026-02-26")],
            expect: vec![ending("2026-02-26")],
            ..Case::default()
        },
        // BW 7:668 lid 3: missing the notice costs "een bedrag gelijk aan het loon voor één maand";
        // the wage in force on the end date counts, not an older one.
        Case {
            name: "the compensation is the month wage in force on the end date",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![month_wage("2024-01-01", Some("2024-12-31"), 2577.0), month_wage("2025-01-01", None, 2709.0)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", Some(2709.0))],
            ..Case::default()
        },
        // BW 7:668 lid 3: a raise that starts after the contract ended is not the wage at its end.
        Case {
            name: "a raise starting after the end date does not count for the compensation",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![month_wage("2025-01-01", None, 2709.0), month_wage("2026-01-01", None, 2800.0)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", Some(2709.0))],
            ..Case::default()
        },
        // BW 7:668 lid 3: a raise in force on the end date itself is the wage at the end.
        Case {
            name: "a raise starting on the end date counts for the compensation",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![month_wage("2025-01-01", None, 2709.0), month_wage("2025-12-31", None, 2800.0)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", Some(2800.0))],
            ..Case::default()
        },
        // BW 7:668 lid 3 for an hourly wage: one month is hour wage × hours a week × 52 ÷ 12
        // (15.50 × 32 × 52 ÷ 12 = 2149.33).
        Case {
            name: "an hourly paid employee's compensation is a month of their weekly hours",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![hour_wage("2025-01-01", 15.5)],
            hours: vec![hours("2025-01-01", None, 32.0)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", Some(2149.33))],
            ..Case::default()
        },
        // BW 7:668 lid 3: the hours in force on the end date count (14.25 × 36 × 52 ÷ 12 = 2223).
        Case {
            name: "an hourly paid employee's compensation uses the hours in force on the end date",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![hour_wage("2025-01-01", 14.25)],
            hours: vec![hours("2025-01-01", Some("2025-06-30"), 24.0), hours("2025-07-01", None, 36.0)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", Some(2223.0))],
            ..Case::default()
        },
        // BW 7:668 lid 3: without recorded hours the month wage of an hourly paid employee is unknown.
        Case {
            name: "an hourly paid employee without recorded hours has an unknown compensation",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![hour_wage("2025-01-01", 15.5)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", None)],
            ..Case::default()
        },
        // BW 7:668 lid 3: a salary period that ended before the contract did says nothing about the
        // wage on the end date; the obligation stands, the amount is unknown.
        Case {
            name: "a salary period that ended before the end date gives no compensation",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            salary: vec![month_wage("2025-01-01", Some("2025-09-30"), 2709.0)],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", None)],
            ..Case::default()
        },
        // BW 7:667 lid 1 / 7:668: only a contract "voor bepaalde tijd" ends by operation of law and
        // needs notice; a permanent one ends only by termination.
        Case {
            name: "a permanent current contract has nothing ending",
            today: "2025-06-01",
            contracts: vec![fixed("2024-01-01", "2024-12-31"), permanent("2025-01-01")],
            ..Case::default()
        },
        // BW 7:668: an employee who is already out of service is owed no notice of continuation.
        Case {
            name: "an out-of-service employee gets no contract ending and no notice",
            today: "2025-06-01",
            contracts: vec![fixed("2025-01-01", "2025-12-31")],
            out_of_service: true,
            ..Case::default()
        },
        // BW 7:668a counts contracts between the same parties, whatever payroll record holds them:
        // the current contract is the latest start over all employments (here a 3-month one).
        Case {
            name: "the current contract is the latest start over all employments",
            today: "2025-02-01",
            contracts: vec![fixed("2023-01-01", "2023-12-31")],
            more_employments: vec![json!({"contracts": [fixed("2025-01-01", "2025-03-31")]})],
            expect: vec![ending("2025-03-31")],
            ..Case::default()
        },
        // BW 7:668 needs a known end date ("van rechtswege eindigt"): a fixed contract without one is
        // a data error, not a guess.
        Case {
            name: "a fixed contract without an end date is a data error",
            today: "2025-06-01",
            contracts: vec![json!({"contract_duration": "fixed", "start_date": "2025-01-01"})],
            errors: vec![DataProblem::MissingEndDate],
            ..Case::default()
        },
        // No rule can apply to a contract ending before it starts; the older contract is not taken as
        // current instead (that would announce an ending that already passed).
        Case {
            name: "a current contract ending before it starts is a data error and derives nothing",
            today: "2025-06-01",
            contracts: vec![fixed("2024-01-01", "2024-12-31"), fixed("2025-01-01", "2024-12-01")],
            errors: vec![DataProblem::EndBeforeStart],
            ..Case::default()
        },
        // BW 7:668 and 7:668a distinguish only "bepaalde" and "onbepaalde tijd": any other duration
        // is a data error.
        Case {
            name: "an unknown contract duration is a data error",
            today: "2025-06-01",
            contracts: vec![
                json!({"contract_duration": "temporary", "start_date": "2025-01-01", "end_date": "2025-12-31"}),
            ],
            errors: vec![DataProblem::UnknownDuration],
            ..Case::default()
        },
        // A contract without a start cannot be placed in time; the others still count (BW 7:667).
        Case {
            name: "a contract without a start date is a data error and the others still count",
            today: "2025-02-01",
            contracts: vec![
                json!({"contract_duration": "fixed", "end_date": "2025-06-30"}),
                fixed("2025-01-01", "2025-03-31"),
            ],
            errors: vec![DataProblem::MissingStartDate],
            expect: vec![ending("2025-03-31")],
            ..Case::default()
        },
        // BW 7:668a: contracts follow each other; one that starts before the previous ended is a data
        // error, but still continues the chain (an interval below six months).
        Case {
            name: "overlapping contracts are a data error and still form a chain",
            today: "2025-06-01",
            contracts: vec![fixed("2024-01-01", "2024-12-31"), fixed("2024-12-01", "2025-11-30")],
            errors: vec![DataProblem::OverlappingContracts],
            expect: vec![ending("2025-11-30"), notice("2025-10-30", None)],
            ..Case::default()
        },
        // BW 7:668a counts contracts, not records: the same contract listed twice is one contract.
        Case {
            name: "the same contract listed in two employments counts once",
            today: "2025-02-01",
            contracts: vec![fixed("2025-01-01", "2025-06-30")],
            more_employments: vec![json!({"contracts": [fixed("2025-01-01", "2025-06-30")]})],
            expect: vec![ending("2025-06-30"), notice("2025-05-30", None)],
            ..Case::default()
        },
        // Employes' "no date" sentinel on a permanent contract is no end date (BW 7:667: it ends only
        // by termination).
        Case {
            name: "the no-date sentinel on a permanent contract is no end and no error",
            today: "2025-02-01",
            contracts: vec![
                json!({"contract_duration": "permanent", "start_date": "2025-01-01", "end_date": "0001-01-01T00:00:00"}),
            ],
            ..Case::default()
        },
        // Not law but payroll: a raise agreed now and effective later (e.g. a CAO wage step) is
        // announced for its effective date.
        Case {
            name: "a future-dated raise takes effect on its date",
            today: "2025-01-15",
            changes: vec![change(1, SalaryChange, "2025-03-01", "2025-01-15")],
            expect: vec![effective("2025-03-01", SalaryChange)],
            ..Case::default()
        },
        // A change effective on (or before) the day it was recorded has already happened.
        Case {
            name: "a change effective on or before the day it was recorded is no milestone",
            today: "2025-01-15",
            changes: vec![
                change(2, SalaryChange, "2025-01-15", "2025-01-15"),
                change(3, HoursChange, "2024-12-01", "2025-01-15"),
            ],
            ..Case::default()
        },
        // BW 7:610 ff.: hours and contract terms agreed ahead take effect on their own dates too;
        // an employee leaving does not undo a change recorded before.
        Case {
            name: "future hours and contract changes take effect also for an out-of-service employee",
            today: "2025-01-15",
            out_of_service: true,
            changes: vec![
                change(4, HoursChange, "2025-02-01", "2025-01-10"),
                change(5, ContractChange, "2025-04-01", "2025-01-10"),
            ],
            expect: vec![effective("2025-02-01", HoursChange), effective("2025-04-01", ContractChange)],
            ..Case::default()
        },
    ]
}
