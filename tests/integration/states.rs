//! The typed states against the real schema: every variant is a value its column's CHECK
//! constraint accepts, and reads back through the query functions as itself.

use employes_sync::{
    db::{
        self, Db,
        sessions::{self, NewError, NewSession, StageEnd},
        webhooks::{self, Delivery},
    },
    domain::{Scope, SessionStatus, Source, Stage, StageStatus, WebhookOutcome},
};
use strum::VariantArray;
use uuid::Uuid;

use crate::helpers::fresh_database;

/// The one company these tests store rows of.
const COMPANY: Uuid = Uuid::from_u128(0x7e3f2a10_5b6c_4d8e_9f01_23456789abcd);

async fn migrated() -> Db {
    let db = db::pool(&fresh_database().await).unwrap();
    db::migrate(&db, None).await.unwrap();
    db::companies::upsert_from_env(&db, COMPANY, Some("Test company"), None).await.unwrap();
    db
}

async fn new_session(db: &Db, source: Source, employee_ids: Option<&[Uuid]>) -> sessions::SessionRow {
    let id = Uuid::new_v4();
    let new = NewSession {
        id,
        company_id: COMPANY,
        source,
        triggered_by: "test",
        employee_ids,
        idempotency_key: None,
        request_id: &id.to_string(),
    };
    sessions::insert(db, &new).await.unwrap().expect("inserted")
}

#[tokio::test]
async fn every_source_scope_and_session_status_is_stored_and_read_back_as_itself() {
    // Arrange
    let db = migrated().await;
    let targets = [Uuid::new_v4()];
    // Act / Assert: each source, in both scopes.
    for &source in Source::VARIANTS {
        let targeted = new_session(&db, source, Some(&targets)).await;
        assert_eq!(
            (targeted.source, targeted.scope, targeted.status),
            (source, Scope::Employees, SessionStatus::Queued)
        );
        let full = new_session(&db, source, None).await;
        assert_eq!((full.source, full.scope), (source, Scope::Full));
        sessions::finish(&db, full.id, SessionStatus::Completed, None).await.unwrap().expect("ended");
    }
    // Each status, written as its name and read back typed.
    let s = new_session(&db, Source::Api, Some(&targets)).await;
    for &status in SessionStatus::VARIANTS {
        sqlx::query("UPDATE sync_sessions SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(s.id)
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(sessions::get(&db, s.id).await.unwrap().unwrap().status, status);
        let filter = sessions::SessionFilter {
            company_id: Some(COMPANY),
            source: Some(Source::Api),
            status: Some(status),
            limit: 100,
            ..Default::default()
        };
        let listed = sessions::list(&db, &filter).await.unwrap();
        assert!(listed.iter().any(|l| l.id == s.id), "{status}");
    }
}

#[tokio::test]
async fn every_stage_and_stage_status_is_stored_and_read_back_as_itself() {
    // Arrange: a new session has its stages pending, in run order.
    let db = migrated().await;
    let s = new_session(&db, Source::Manual, None).await;
    let stages = sessions::stages(&db, s.id).await.unwrap();
    assert_eq!(stages.iter().map(|r| r.stage).collect::<Vec<_>>(), Stage::ORDER);
    assert!(stages.iter().all(|r| r.status == StageStatus::Pending));
    // Act / Assert
    for &stage in Stage::ORDER {
        for &status in StageStatus::VARIANTS {
            let end = StageEnd { stage, status, processed: 1, total: 2, count: 3 };
            sessions::stage_finished(&db, s.id, &end).await.unwrap();
            let by_session = sessions::stages_for(&db, &[s.id]).await.unwrap();
            let row = by_session[&s.id].iter().find(|r| r.stage == stage).unwrap();
            assert_eq!(row.status, status, "{stage}");
        }
        let error = NewError { employee_id: None, code: "c".into(), message: "m".into() };
        sessions::add_errors(&db, s.id, stage, &[error]).await.unwrap();
    }
    let errors = sessions::errors(&db, s.id, 10).await.unwrap();
    assert_eq!(errors.iter().map(|e| e.stage).collect::<Vec<_>>(), Stage::ORDER);
}

#[tokio::test]
async fn every_webhook_outcome_is_stored_and_read_back_as_itself() {
    let db = migrated().await;
    for &outcome in WebhookOutcome::VARIANTS {
        let id = format!("msg_{outcome}");
        let delivery = Delivery { webhook_id: Some(&id), ..Delivery::new(outcome) };
        assert!(webhooks::record(&db, &delivery).await.unwrap(), "{outcome}");
        let stored: WebhookOutcome = sqlx::query_scalar("SELECT outcome FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(&id)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(stored, outcome);
    }
}
