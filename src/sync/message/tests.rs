use serde_json::json;

use super::*;

fn admit_at(at: DateTime<Utc>) -> QueueTask {
    QueueTask::AdmitWebhook(AdmitWebhook {
        company_id: Some(Uuid::from_u128(3)),
        webhook_id: "msg_1".into(),
        event_type: "employee.updated".into(),
        employee_ids: Some(vec![Uuid::from_u128(7)]),
        triggered_by: "employes".into(),
        requested_at: at,
    })
}

fn run(session: u128) -> QueueTask {
    QueueTask::RunSession(RunSession {
        company_id: Some(Uuid::from_u128(3)),
        request_id: "schedule-1".into(),
        session_id: Uuid::from_u128(session),
        source: Source::Scheduler,
        triggered_by: "system".into(),
        employee_ids: None,
        requested_at: "2026-11-25T22:11:24.5Z".parse().unwrap(),
    })
}

#[test]
fn requested_at_round_trips_to_the_nanosecond_in_and_out_of_the_fast_range() {
    let times = [
        "2026-11-25T22:11:24.792151123Z",
        "2026-11-25T22:11:24Z",
        "1970-01-01T00:00:00.000000001Z",
        "1969-12-31T23:59:59.5Z",
        "9999-12-31T23:59:59.999999999Z",
        "0001-01-01T00:00:00Z",
    ];
    for t in times {
        let task = admit_at(t.parse().unwrap());
        let json = serde_json::to_string(&task).unwrap();
        assert_eq!(QueueTask::parse(json.as_bytes()).unwrap(), task, "{json}");
    }
    let json = serde_json::to_value(admit_at("2026-11-25T22:11:24.5Z".parse().unwrap())).unwrap();
    assert_eq!(json["requested_at"], "2026-11-25T22:11:24.500000000Z");
}

#[test]
fn each_task_is_tagged_by_kind_and_a_session_task_keeps_every_field_of_the_first_version() {
    let admit = serde_json::to_value(admit_at("2026-11-25T22:11:24.5Z".parse().unwrap())).unwrap();
    assert_eq!(
        admit,
        json!({"kind": "admit_webhook", "company_id": Uuid::from_u128(3), "webhook_id": "msg_1", "event_type": "employee.updated",
               "employee_ids": [Uuid::from_u128(7)], "triggered_by": "employes",
               "requested_at": "2026-11-25T22:11:24.500000000Z",
               // Transitional: what a worker of the previous release reads it by.
               "request_id": "msg_1", "session_id": Uuid::nil(), "source": "webhook"})
    );
    // A worker of the previous release reads it as the webhook it is (as the first-version shape).
    let mut v1 = admit.as_object().unwrap().clone();
    v1.remove("kind");
    assert_eq!(
        QueueTask::parse(serde_json::Value::Object(v1).to_string().as_bytes()).unwrap(),
        admit_at("2026-11-25T22:11:24.5Z".parse().unwrap())
    );
    let session = serde_json::to_value(run(9)).unwrap();
    assert_eq!(
        session,
        json!({"kind": "run_session", "company_id": Uuid::from_u128(3), "request_id": "schedule-1", "session_id": Uuid::from_u128(9),
               "source": "scheduler", "triggered_by": "system", "employee_ids": null,
               "requested_at": "2026-11-25T22:11:24.500000000Z"})
    );
    assert_eq!(QueueTask::parse(session.to_string().as_bytes()).unwrap(), run(9));
}

#[test]
fn tasks_of_the_first_version_still_on_a_stream_are_read_after_an_upgrade() {
    // A webhook: nil session id, the webhook id as request id, its event type.
    let webhook = json!({"request_id": "msg_1", "session_id": Uuid::nil(), "source": "webhook",
                         "triggered_by": "employes", "employee_ids": [Uuid::from_u128(7)],
                         "requested_at": "2026-11-25T22:11:24.500000000Z", "event_type": "employee.updated"});
    // They name no company: the worker takes them as the v1 company's.
    assert_eq!(
        QueueTask::parse(webhook.to_string().as_bytes()).unwrap(),
        without_company(admit_at("2026-11-25T22:11:24.5Z".parse().unwrap()))
    );
    // A session's request.
    let session = json!({"request_id": "schedule-1", "session_id": Uuid::from_u128(9), "source": "scheduler",
                         "triggered_by": "system", "employee_ids": null,
                         "requested_at": "2026-11-25T22:11:24.500000000Z"});
    assert_eq!(QueueTask::parse(session.to_string().as_bytes()).unwrap(), without_company(run(9)));
}

fn without_company(task: QueueTask) -> QueueTask {
    match task {
        QueueTask::AdmitWebhook(a) => QueueTask::AdmitWebhook(AdmitWebhook { company_id: None, ..a }),
        QueueTask::RunSession(r) => QueueTask::RunSession(RunSession { company_id: None, ..r }),
    }
}

#[test]
fn malformed_tasks_are_refused_with_a_reason() {
    let unknown_kind = json!({"kind": "run_everything", "session_id": Uuid::from_u128(9)});
    let reason = QueueTask::parse(unknown_kind.to_string().as_bytes()).unwrap_err();
    assert!(reason.contains("run_everything"), "{reason}");
    let webhook_without_type = json!({"request_id": "msg_1", "session_id": Uuid::nil(), "source": "webhook",
                                      "triggered_by": "employes", "employee_ids": null,
                                      "requested_at": "2026-11-25T22:11:24Z"});
    let reason = QueueTask::parse(webhook_without_type.to_string().as_bytes()).unwrap_err();
    assert!(reason.contains("event_type"), "{reason}");
    let bad_source = json!({"kind": "run_session", "request_id": "r", "session_id": Uuid::from_u128(9),
                            "source": "cron", "triggered_by": "x", "employee_ids": null,
                            "requested_at": "2026-11-25T22:11:24Z"});
    assert!(QueueTask::parse(bad_source.to_string().as_bytes()).is_err());
    assert!(QueueTask::parse(b"not json").is_err());
    assert!(QueueTask::parse(br#"{"request_id":"x","session_id":"nope"}"#).is_err());
}

fn event(stage: &str, status: &str) -> serde_json::Value {
    json!({"session_id": Uuid::from_u128(3), "stage": stage, "status": status, "processed": 4, "total": 10,
           "at": "2026-11-25T22:11:24.500Z"})
}

#[test]
fn progress_events_keep_their_wire_shape_for_stages_and_the_session_end() {
    for (stage, status, step) in [
        ("snapshot", "running", Step::Snapshot(StageStatus::Running)),
        ("history", "completed_with_errors", Step::History(StageStatus::CompletedWithErrors)),
        ("changes", "failed", Step::Changes(StageStatus::Failed)),
        ("session", "completed", Step::Session(SessionStatus::Completed)),
    ] {
        let parsed: ProgressEvent = serde_json::from_value(event(stage, status)).unwrap();
        assert_eq!(parsed.step, step);
        assert_eq!(parsed.step.name(), stage);
        assert_eq!(parsed.is_final(), stage == "session");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), event(stage, status));
    }
}

#[test]
fn a_progress_event_for_an_unknown_stage_or_status_does_not_parse() {
    for (stage, status) in [("bogus", "running"), ("snapshot", "queued"), ("session", "done"), ("Snapshot", "running")]
    {
        let parsed = serde_json::from_value::<ProgressEvent>(event(stage, status));
        assert!(parsed.is_err(), "{stage}/{status} parsed as {parsed:?}");
    }
    assert_eq!(Step::of(Stage::History, StageStatus::Running).stage(), Some(Stage::History));
}
