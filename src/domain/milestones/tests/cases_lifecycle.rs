//! Milestones over time: resolutions and the events of each day.

use super::*;
use MilestoneKind::{ChainExceeded, ChainLimit, ChangeEffective, ContractEnding, NoticeDue};
use MilestoneReason::{Detected, Due, Overdue, Reminder, Resolved};
use MilestoneStatus::{Overdue as IsOverdue, Resolved as IsResolved, Upcoming};
use Resolution::{Acknowledged, Superseded, Terminated};

/// A four-month contract ending 2025-12-31 (too short for the notice obligation).
fn four_months() -> Vec<Value> {
    vec![fixed("2025-09-01", "2025-12-31")]
}

pub(super) fn cases() -> Vec<Case> {
    vec![
        // BW 7:667 lid 1: the contract ends by law on its end date; the service announces it once,
        // reminds 30 and 7 days ahead, says it is due on the day and overdue the day after.
        Case {
            name: "a contract ending is detected reminded due and overdue each exactly once",
            today: "2025-11-01",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            events: Some(vec![(ContractEnding, Detected, None)]),
            then: vec![
                Then { today: "2025-11-01", writes: Some(0), ..Then::default() },
                Then { today: "2025-12-01", events: vec![(ContractEnding, Reminder, Some(30))], ..Then::default() },
                Then { today: "2025-12-02", writes: Some(0), ..Then::default() },
                Then {
                    today: "2025-12-24",
                    events: vec![(ContractEnding, Reminder, Some(7))],
                    status: vec![(ContractEnding, "2025-12-31", Upcoming, None)],
                    ..Then::default()
                },
                Then {
                    today: "2025-12-31",
                    events: vec![(ContractEnding, Due, None)],
                    status: vec![(ContractEnding, "2025-12-31", MilestoneStatus::Due, None)],
                    ..Then::default()
                },
                Then {
                    today: "2026-01-01",
                    events: vec![(ContractEnding, Overdue, None)],
                    status: vec![(ContractEnding, "2025-12-31", IsOverdue, None)],
                    ..Then::default()
                },
                Then { today: "2026-01-05", writes: Some(0), ..Then::default() },
            ],
            ..Case::default()
        },
        // BW 7:667: an ending found inside the 7-day window is announced by `detected` alone; no
        // 30-day or 7-day reminder follows for windows already passed.
        Case {
            name: "an ending detected inside the 7-day window sends no 30-day reminder",
            today: "2025-12-26",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            events: Some(vec![(ContractEnding, Detected, None)]),
            then: vec![
                Then { today: "2025-12-27", ..Then::default() },
                Then { today: "2025-12-31", events: vec![(ContractEnding, Due, None)], ..Then::default() },
            ],
            ..Case::default()
        },
        // BW 7:667: found inside the 30-day window, the 7-day reminder still comes.
        Case {
            name: "an ending detected inside the 30-day window still gets its 7-day reminder",
            today: "2025-12-10",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            events: Some(vec![(ContractEnding, Detected, None)]),
            then: vec![
                Then { today: "2025-12-11", ..Then::default() },
                Then { today: "2025-12-24", events: vec![(ContractEnding, Reminder, Some(7))], ..Then::default() },
            ],
            ..Case::default()
        },
        // BW 7:667: found on its end date, `detected` says it is due; overdue follows the next day.
        Case {
            name: "an ending detected on its date is due at once and overdue the next day",
            today: "2025-12-31",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            events: Some(vec![(ContractEnding, Detected, None)]),
            then: vec![Then { today: "2026-01-01", events: vec![(ContractEnding, Overdue, None)], ..Then::default() }],
            ..Case::default()
        },
        // BW 7:667: after days without evaluation (an outage), only the latest moment is told; old
        // reminders are not sent late.
        Case {
            name: "after an outage only the latest moment is published",
            today: "2025-11-01",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            events: Some(vec![(ContractEnding, Detected, None)]),
            then: vec![Then { today: "2026-01-03", events: vec![(ContractEnding, Overdue, None)], ..Then::default() }],
            ..Case::default()
        },
        // BW 7:668 lid 1: a follow-up contract continues the employment, so the old ending is
        // superseded and the new contract's ending is announced.
        Case {
            name: "a follow-up contract supersedes the ending of the previous one",
            today: "2025-11-01",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            then: vec![Then {
                today: "2025-11-20",
                contracts: Some(vec![fixed("2025-09-01", "2025-12-31"), fixed("2026-01-01", "2026-03-31")]),
                events: vec![(ContractEnding, Resolved, None), (ContractEnding, Detected, None)],
                status: vec![
                    (ContractEnding, "2025-12-31", IsResolved, Some(Superseded)),
                    (ContractEnding, "2026-03-31", Upcoming, None),
                ],
                ..Then::default()
            }],
            ..Case::default()
        },
        // BW 7:668: once the employee is out of service there is nothing left to announce: ending and
        // notice are resolved as terminated.
        Case {
            name: "a termination resolves the ending and the notice as terminated",
            today: "2025-10-01",
            contracts: vec![fixed("2025-07-01", "2025-12-31")],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", None)],
            events: Some(vec![(ContractEnding, Detected, None), (NoticeDue, Detected, None)]),
            then: vec![Then {
                today: "2025-10-15",
                out_of_service: Some(true),
                events: vec![(ContractEnding, Resolved, None), (NoticeDue, Resolved, None)],
                status: vec![
                    (ContractEnding, "2025-12-31", IsResolved, Some(Terminated)),
                    (NoticeDue, "2025-11-30", IsResolved, Some(Terminated)),
                ],
                ..Then::default()
            }],
            ..Case::default()
        },
        // BW 7:668 lid 1: the service cannot see a letter; a user records that notice was given, and
        // the notice gets no further reminders while the ending keeps its own.
        Case {
            name: "an acknowledged notice is resolved and gets no more events",
            today: "2025-10-01",
            contracts: vec![fixed("2025-07-01", "2025-12-31")],
            expect: vec![ending("2025-12-31"), notice("2025-11-30", None)],
            then: vec![
                Then { today: "2025-10-31", events: vec![(NoticeDue, Reminder, Some(30))], ..Then::default() },
                Then {
                    today: "2025-11-05",
                    acknowledge: Some(NoticeDue),
                    events: vec![(NoticeDue, Resolved, None)],
                    status: vec![(NoticeDue, "2025-11-30", IsResolved, Some(Acknowledged))],
                    ..Then::default()
                },
                Then { today: "2025-11-30", writes: Some(0), ..Then::default() },
                Then {
                    today: "2025-12-01",
                    events: vec![(ContractEnding, Reminder, Some(30))],
                    status: vec![(NoticeDue, "2025-11-30", IsResolved, Some(Acknowledged))],
                    ..Then::default()
                },
            ],
            ..Case::default()
        },
        // BW 7:668 lid 1 with calendar months: the notice for 31 March is due 28 February, so its
        // 30-day reminder is on 29 January.
        Case {
            name: "the notice reminders count back from the clamped notice date",
            today: "2025-01-10",
            contracts: vec![fixed("2024-10-01", "2025-03-31")],
            expect: vec![ending("2025-03-31"), notice("2025-02-28", None)],
            then: vec![
                Then { today: "2025-01-28", ..Then::default() },
                Then { today: "2025-01-29", events: vec![(NoticeDue, Reminder, Some(30))], ..Then::default() },
            ],
            ..Case::default()
        },
        // BW 7:668a lid 1: recording the permanent contract the law already implies supersedes
        // `chain_exceeded` (and the fixed contract's ending and notice).
        Case {
            name: "a recorded permanent contract supersedes a passed chain",
            today: "2024-10-01",
            contracts: halves4(),
            expect: vec![
                ending("2024-12-31"),
                notice("2024-11-30", None),
                exceeded("2024-07-01", 4, "2023-01-01", ChainReason::MaxContracts),
            ],
            events: Some(vec![
                (ContractEnding, Detected, None),
                (NoticeDue, Detected, None),
                (ChainExceeded, Detected, None),
            ]),
            then: vec![Then {
                today: "2024-12-15",
                contracts: Some([halves4(), vec![permanent("2025-01-01")]].concat()),
                events: vec![
                    (ContractEnding, Resolved, None),
                    (NoticeDue, Resolved, None),
                    (ChainExceeded, Resolved, None),
                ],
                status: vec![(ChainExceeded, "2024-07-01", IsResolved, Some(Superseded))],
                ..Then::default()
            }],
            ..Case::default()
        },
        // BW 7:668a: leaving does not undo a conversion that already happened: `chain_exceeded`
        // stays open while the ending and notice are terminated.
        Case {
            name: "a termination leaves a passed chain open",
            today: "2024-10-01",
            contracts: halves4(),
            expect: vec![
                ending("2024-12-31"),
                notice("2024-11-30", None),
                exceeded("2024-07-01", 4, "2023-01-01", ChainReason::MaxContracts),
            ],
            then: vec![Then {
                today: "2024-10-02",
                out_of_service: Some(true),
                events: vec![(ContractEnding, Resolved, None), (NoticeDue, Resolved, None)],
                status: vec![(ChainExceeded, "2024-07-01", IsOverdue, None)],
                ..Then::default()
            }],
            ..Case::default()
        },
        // BW 7:668a lid 1 sub b: a fourth contract recorded ahead supersedes the limit of the third and
        // is permanent from its start, which is still to come.
        Case {
            name: "a fourth contract recorded ahead supersedes the limit and passes the chain on its start",
            today: "2024-03-01",
            contracts: halves4()[..3].to_vec(),
            expect: vec![
                ending("2024-06-30"),
                notice("2024-05-30", None),
                limit("2024-06-30", 3, "2023-01-01", ChainReason::MaxContracts),
            ],
            then: vec![Then {
                today: "2024-06-15",
                contracts: Some(halves4()),
                events: vec![
                    (ContractEnding, Resolved, None),
                    (NoticeDue, Resolved, None),
                    (ChainLimit, Resolved, None),
                    (ContractEnding, Detected, None),
                    (NoticeDue, Detected, None),
                    (ChainExceeded, Detected, None),
                ],
                status: vec![
                    (ChainLimit, "2024-06-30", IsResolved, Some(Superseded)),
                    (ChainExceeded, "2024-07-01", Upcoming, None),
                ],
                ..Then::default()
            }],
            ..Case::default()
        },
        // A raise agreed ahead: announced when recorded, reminded, due on its date and then stays due
        // (a change that took effect is not overdue and is never resolved).
        Case {
            name: "a future-dated raise is reminded and due on its date and stays due",
            today: "2025-01-15",
            changes: vec![change(7, EffectiveChangeType::SalaryChange, "2025-03-01", "2025-01-15")],
            expect: vec![effective("2025-03-01", EffectiveChangeType::SalaryChange)],
            events: Some(vec![(ChangeEffective, Detected, None)]),
            then: vec![
                Then { today: "2025-01-30", events: vec![(ChangeEffective, Reminder, Some(30))], ..Then::default() },
                Then { today: "2025-02-22", events: vec![(ChangeEffective, Reminder, Some(7))], ..Then::default() },
                Then { today: "2025-03-01", events: vec![(ChangeEffective, Due, None)], ..Then::default() },
                Then {
                    today: "2025-03-02",
                    writes: Some(0),
                    status: vec![(ChangeEffective, "2025-03-01", MilestoneStatus::Due, None)],
                    ..Then::default()
                },
            ],
            ..Case::default()
        },
        // BW 7:667: the ending follows the recorded end date; a corrected date gets its own reminders.
        Case {
            name: "a corrected end date moves the ending and its reminders",
            today: "2025-11-01",
            contracts: four_months(),
            expect: vec![ending("2025-12-31")],
            then: vec![
                Then { today: "2025-12-01", events: vec![(ContractEnding, Reminder, Some(30))], ..Then::default() },
                Then {
                    today: "2025-12-10",
                    contracts: Some(vec![fixed("2025-09-01", "2026-01-31")]),
                    writes: Some(1),
                    status: vec![(ContractEnding, "2026-01-31", Upcoming, None)],
                    ..Then::default()
                },
                Then { today: "2026-01-01", events: vec![(ContractEnding, Reminder, Some(30))], ..Then::default() },
            ],
            ..Case::default()
        },
    ]
}

fn halves4() -> Vec<Value> {
    vec![
        fixed("2023-01-01", "2023-06-30"),
        fixed("2023-07-01", "2023-12-31"),
        fixed("2024-01-01", "2024-06-30"),
        fixed("2024-07-01", "2024-12-31"),
    ]
}
