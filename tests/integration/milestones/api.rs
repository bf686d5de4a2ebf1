//! `GET /api/milestones` (filters, `within`, paging, CSV) and `POST /api/milestones/{id}/resolve`,
//! and the lifecycle a sync drives: superseded by a follow-up contract, terminated on leaving,
//! `change_effective` for a raise dated later, never stored twice.

use serde_json::{Value, json};

use super::*;

/// Two employees: A on one 12-month contract ending 2026-06-30 (the notice obligation applies,
/// BW 7:668), B on the third consecutive fixed contract of a chain (BW 7:668a: the limit).
async fn two_contract_histories(app: &TestApp) -> (String, String) {
    let (a, b) = (app.sim.employee_id(0).await, app.sim.employee_id(1).await);
    set_contracts(app, &a, json!([fixed("2025-07-01", "2026-06-30")])).await;
    let chain = json!([
        fixed("2023-02-01", "2024-01-31"),
        fixed("2024-02-01", "2025-01-31"),
        fixed("2025-02-01", "2026-01-31")
    ]);
    set_contracts(app, &b, chain).await;
    (a, b)
}

async fn resolve(app: &TestApp, id: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.http.post(app.url(&format!("/api/milestones/{id}/resolve"))).bearer_auth(API_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

#[tokio::test]
async fn a_sync_derives_each_kind_with_its_date_status_and_details_and_the_filters_select_them() {
    // Arrange
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app().await;
    let (a, b) = two_contract_histories(&app).await;

    // Act
    app.sync_and_wait(None).await;

    // Assert: A — the notice is due a calendar month before the end; both still upcoming.
    let of_a = milestones(&app, &format!("employee_id={a}")).await;
    assert_eq!(
        summary(&of_a),
        [
            ("notice_due".into(), "2026-05-30".into(), "upcoming".into()),
            ("contract_ending".into(), "2026-06-30".into(), "upcoming".into())
        ]
    );
    let notice = of_kind(&of_a, "notice_due");
    assert!(notice["details"]["max_compensation"].as_f64().is_some_and(|w| w > 0.0), "{notice}");
    assert_eq!(
        notice["contract"],
        json!({"start_date": "2025-07-01", "end_date": "2026-06-30", "contract_duration": "fixed"})
    );
    assert_eq!((notice["resolution"].clone(), notice["note"].clone()), (Value::Null, Value::Null));
    assert!(notice["employee_name"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(of_kind(&of_a, "contract_ending")["details"], json!({}));

    // B — the notice date passed (overdue), the third contract is the chain's last.
    let of_b = milestones(&app, &format!("employee_id={b}")).await;
    assert_eq!(of_b.len(), 3, "{of_b:?}");
    assert_eq!(summary(&of_b)[0], ("notice_due".into(), "2025-12-31".into(), "overdue".into()));
    let limit = of_kind(&of_b, "chain_limit");
    assert_eq!((limit["due_date"].as_str(), limit["status"].as_str()), (Some("2026-01-31"), Some("upcoming")));
    assert_eq!(
        limit["details"],
        json!({"contracts_in_chain": 3, "chain_start": "2023-02-01", "reason": "max_contracts"})
    );
    assert_eq!(of_kind(&of_b, "contract_ending")["due_date"], "2026-01-31");

    // Filters: status, kind, within (already due ones included), together.
    let overdue = milestones(&app, &format!("employee_id={b}&status=overdue")).await;
    assert_eq!(summary(&overdue), [("notice_due".into(), "2025-12-31".into(), "overdue".into())]);
    assert_eq!(milestones(&app, &format!("employee_id={b}&kind=chain_limit")).await.len(), 1);
    assert!(milestones(&app, &format!("employee_id={a}&within=30d")).await.is_empty());
    let soon = milestones(&app, &format!("employee_id={a}&within=150d")).await;
    assert_eq!(summary(&soon), [("notice_due".into(), "2026-05-30".into(), "upcoming".into())]);
    assert_eq!(milestones(&app, &format!("employee_id={b}&within=30d")).await.len(), 3);
    let company = &env.companies[0];
    assert!(milestones(&app, &format!("company_id={company}&employee_id={a}")).await.len() == 2);
    app.stop().await;
}

#[tokio::test]
async fn pages_walk_every_milestone_once_by_due_date_and_the_csv_export_has_them_all() {
    // Arrange
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app().await;
    two_contract_histories(&app).await;
    app.sync_and_wait(None).await;
    let all = milestones(&app, "limit=500").await;
    assert!(all.len() >= 5, "{all:?}");

    // Act: one at a time, following next_cursor.
    let mut walked = Vec::new();
    let mut query = "limit=2".to_string();
    loop {
        let page = app.get_json(&format!("/api/milestones?{query}")).await;
        walked.extend(page["milestones"].as_array().unwrap().iter().map(|m| m["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }

    // Assert
    let ids: Vec<Value> = all.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(walked, ids, "every milestone once, in the same order");
    let dates: Vec<&str> = all.iter().map(|m| m["due_date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "sorted by due_date: {dates:?}");

    let resp = app.get("/api/milestones?format=csv").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("id,company_id,employee_id,employee_name,kind,due_date,status,"), "{}", lines[0]);
    assert_eq!(lines.len(), all.len() + 1, "a header and one row per milestone");
    for (line, m) in lines[1..].iter().zip(&all) {
        assert!(line.starts_with(m["id"].as_str().unwrap()), "{line}");
        assert!(
            line.contains(&format!(
                ",{},{},{},",
                m["kind"].as_str().unwrap(),
                m["due_date"].as_str().unwrap(),
                m["status"].as_str().unwrap()
            )),
            "{line}"
        );
    }

    for bad in ["within=4000d", "within=soon", "cursor=nonsense", "status=late", "limit=501"] {
        let (status, body) = reply(app.get(&format!("/api/milestones?{bad}")).await).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{bad}: {body}");
    }
    let (status, body) = reply(app.get("/api/milestones?within=4000d").await).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("within must be a number of days from 1d to 3650d, like 90d"))
    );
    app.stop().await;
}

#[tokio::test]
async fn only_a_notice_can_be_acknowledged_once_with_a_note_and_the_data_resolves_the_rest() {
    // Arrange
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app().await;
    let (a, b) = two_contract_histories(&app).await;
    let c = app.sim.employee_id(2).await;
    app.sync_and_wait(None).await;
    let of_a = milestones(&app, &format!("employee_id={a}")).await;
    let notice = of_kind(&of_a, "notice_due")["id"].as_str().unwrap().to_string();
    let ending = of_kind(&of_a, "contract_ending")["id"].as_str().unwrap().to_string();

    // Act / Assert: acknowledged with the note, once.
    let (status, resolved) = resolve(&app, &notice, Some(json!({"note": "letter handed over on 2026-01-10"}))).await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(
        (resolved["status"].as_str(), resolved["resolution"].as_str()),
        (Some("resolved"), Some("acknowledged"))
    );
    assert_eq!(resolved["note"], "letter handed over on 2026-01-10");
    assert!(resolved["resolved_at"].is_string());
    let audit = app.get_json("/api/audit").await;
    let entries: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "milestone_resolved").collect();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(
        (entries[0]["target"].as_str(), entries[0]["company_id"].as_str()),
        (Some(notice.as_str()), Some(&*env.companies[0].to_string()))
    );
    let (status, again) = resolve(&app, &notice, None).await;
    assert_eq!((status, again["error"].as_str()), (409, Some("already_resolved")), "{again}");
    let (status, refused) = resolve(&app, &ending, None).await;
    assert_eq!((status, refused["error"].as_str()), (409, Some("not_acknowledgeable")), "{refused}");
    let (status, unknown) = resolve(&app, "00000000-0000-4000-8000-000000000001", None).await;
    assert_eq!((status, unknown["error"].as_str()), (404, Some("not_found")));
    let (status, _) = resolve(&app, &ending, Some(json!({"note": "x".repeat(2001)}))).await;
    assert_eq!(status, 400);
    let audit = app.get_json("/api/audit").await;
    let resolved_entries = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "milestone_resolved");
    assert_eq!(resolved_entries.count(), 1, "refused resolutions are not audited: {audit}");
    let listed = milestones(&app, &format!("employee_id={a}&status=resolved")).await;
    assert_eq!(summary(&listed), [("notice_due".into(), "2026-05-30".into(), "resolved".into())]);
    // `open=true` (the dashboard's Upcoming) leaves the acknowledged notice out; the page says its day.
    let open = app.get_json(&format!("/api/milestones?employee_id={a}&open=true&within=365d")).await;
    assert_eq!(open["today"], "2026-01-15");
    let open: Vec<Value> = open["milestones"].as_array().unwrap().clone();
    assert_eq!(summary(&open), [("contract_ending".into(), "2026-06-30".into(), "upcoming".into())]);

    // Act: B's chain ends in a permanent contract, A leaves, C gets a raise dated far ahead.
    let mut chain = milestones(&app, &format!("employee_id={b}")).await;
    set_contracts(
        &app,
        &b,
        json!([
            fixed("2023-02-01", "2024-01-31"),
            fixed("2024-02-01", "2025-01-31"),
            fixed("2025-02-01", "2026-01-31"),
            permanent("2026-02-01")
        ]),
    )
    .await;
    app.sim.mutate(json!({"kind": "terminate", "employee_id": a})).await;
    app.sim.mutate(json!({"kind": "salary", "employee_id": c, "month_wage": 4321, "start_date": "2099-01-01"})).await;
    let stored_before = count(&app, "SELECT count(*) FROM milestones").await;
    app.sync_and_wait(None).await;

    // Assert: B's three are superseded, A's ending terminated (its acknowledged notice stays so).
    chain.sort_by_key(|m| m["id"].as_str().unwrap().to_string());
    let mut after = milestones(&app, &format!("employee_id={b}")).await;
    after.sort_by_key(|m| m["id"].as_str().unwrap().to_string());
    assert_eq!(after.iter().map(|m| &m["id"]).collect::<Vec<_>>(), chain.iter().map(|m| &m["id"]).collect::<Vec<_>>());
    for m in &after {
        assert_eq!((m["status"].as_str(), m["resolution"].as_str()), (Some("resolved"), Some("superseded")), "{m}");
    }
    let of_a = milestones(&app, &format!("employee_id={a}")).await;
    assert_eq!(of_kind(&of_a, "contract_ending")["resolution"], "terminated");
    assert_eq!(of_kind(&of_a, "notice_due")["resolution"], "acknowledged");
    let of_c = milestones(&app, &format!("employee_id={c}&kind=change_effective")).await;
    assert_eq!(summary(&of_c), [("change_effective".into(), "2099-01-01".into(), "upcoming".into())]);
    assert_eq!(of_c[0]["details"]["change_type"], "salary_change");
    assert_eq!(of_c[0]["contract"], Value::Null);
    assert_eq!(milestones(&app, &format!("employee_id={c}&open=true")).await.len(), 1, "open until its date");
    assert!(milestones(&app, &format!("employee_id={a}&open=true")).await.is_empty(), "A's are resolved");
    let change = app.get_json(&format!("/api/changes?employee_id={c}&type=salary_change")).await;
    assert!(
        change["changes"].as_array().unwrap().iter().any(|ch| ch["id"] == of_c[0]["details"]["change_id"]),
        "the change it is about: {change}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM milestones").await, stored_before + 1, "only C's milestone is new");

    // Re-evaluating stores nothing twice.
    app.sync_and_wait(None).await;
    assert_eq!(count(&app, "SELECT count(*) FROM milestones").await, stored_before + 1);
    app.stop().await;
}

#[tokio::test]
async fn a_fourth_fixed_contract_makes_the_contract_permanent_by_law_and_one_long_first_contract_does_not() {
    // Arrange: D on a fourth consecutive fixed contract (BW 7:668a: more than three); E on one
    // first contract of 48 months (no chain: the law needs contracts that followed each other).
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app().await;
    let (d, e) = (app.sim.employee_id(3).await, app.sim.employee_id(4).await);
    let four = json!([
        fixed("2022-01-01", "2022-12-31"),
        fixed("2023-01-01", "2023-12-31"),
        fixed("2024-01-01", "2024-12-31"),
        fixed("2025-01-01", "2026-12-31")
    ]);
    set_contracts(&app, &d, four).await;
    set_contracts(&app, &e, json!([fixed("2022-01-01", "2025-12-31")])).await;

    // Act
    app.sync_and_wait(None).await;

    // Assert
    let of_d = milestones(&app, &format!("employee_id={d}")).await;
    let exceeded = of_kind(&of_d, "chain_exceeded");
    assert_eq!((exceeded["due_date"].as_str(), exceeded["status"].as_str()), (Some("2025-01-01"), Some("overdue")));
    assert_eq!(
        exceeded["details"],
        json!({"contracts_in_chain": 4, "chain_start": "2022-01-01", "reason": "max_contracts", "permanent_since": "2025-01-01"})
    );
    assert!(of_d.iter().all(|m| m["kind"] != "chain_limit"), "exceeded, not at the limit: {of_d:?}");
    let of_e = milestones(&app, &format!("employee_id={e}")).await;
    assert!(of_e.iter().all(|m| m["kind"] != "chain_exceeded"), "{of_e:?}");
    assert_eq!(of_kind(&of_e, "chain_limit")["details"]["reason"], "max_duration");

    // Act: D gets the permanent contract the law gave them.
    set_contracts(&app, &d, four_plus_permanent()).await;
    app.sync_and_wait(None).await;

    // Assert
    let of_d = milestones(&app, &format!("employee_id={d}&kind=chain_exceeded")).await;
    assert_eq!((of_d[0]["status"].as_str(), of_d[0]["resolution"].as_str()), (Some("resolved"), Some("superseded")));
    app.stop().await;
}

fn four_plus_permanent() -> Value {
    json!([
        fixed("2022-01-01", "2022-12-31"),
        fixed("2023-01-01", "2023-12-31"),
        fixed("2024-01-01", "2024-12-31"),
        fixed("2025-01-01", "2026-12-31"),
        permanent("2027-01-01")
    ])
}
