//! Per-employee event sequences (`events::next_sequence`, `events::reserve_sequences`) against a
//! real Postgres: from 1 per (company, employee, stream), taken in the recording transaction (a
//! rolled-back event leaves no gap, a concurrent one waits its turn), never reused.

use std::time::Duration;

use employes_sync::events::{EventStream, next_sequence, reserve_sequences};
use uuid::Uuid;

use crate::helpers::*;

async fn migrated() -> employes_sync::db::Db {
    let db = employes_sync::db::pool(&fresh_database().await).unwrap();
    employes_sync::db::migrate(&db, None).await.unwrap();
    db
}

#[tokio::test]
async fn sequences_count_from_one_per_employee_and_stream_and_a_rolled_back_event_leaves_no_gap() {
    // Arrange
    let db = migrated().await;
    let (company, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let next = async |employee, stream| {
        let mut tx = db.begin().await.unwrap();
        let n = next_sequence(&mut tx, company, employee, stream).await.unwrap();
        tx.commit().await.unwrap();
        n
    };
    // Act
    let first = (next(a, EventStream::Changes).await, next(a, EventStream::Changes).await);
    let mut rolled_back = db.begin().await.unwrap();
    let lost = next_sequence(&mut rolled_back, company, a, EventStream::Changes).await.unwrap();
    rolled_back.rollback().await.unwrap();
    let after_rollback = next(a, EventStream::Changes).await;
    let other_stream = next(a, EventStream::Milestones).await;
    let other_employee = next(b, EventStream::Changes).await;
    let mut tx = db.begin().await.unwrap();
    let blocks = reserve_sequences(&mut tx, company, EventStream::Changes, &[(a, 2), (b, 3)]).await.unwrap();
    tx.commit().await.unwrap();
    let after_blocks = (next(a, EventStream::Changes).await, next(b, EventStream::Changes).await);
    // Assert
    assert_eq!(first, (1, 2));
    assert_eq!((lost, after_rollback), (3, 3), "the rolled-back number is taken by the next event");
    assert_eq!((other_stream, other_employee), (1, 1));
    assert_eq!(blocks, vec![4, 2], "a block starts after the last number: a gets 4..=5, b 2..=4");
    assert_eq!(after_blocks, (6, 5));
}

#[tokio::test]
async fn an_event_recorded_while_another_transaction_holds_the_employees_counter_waits_and_gets_the_next_number() {
    // Arrange: transaction one took number 1 and has not committed.
    let db = migrated().await;
    let (company, employee) = (Uuid::new_v4(), Uuid::new_v4());
    let mut one = db.begin().await.unwrap();
    assert_eq!(next_sequence(&mut one, company, employee, EventStream::Changes).await.unwrap(), 1);
    // Act: transaction two asks for the same employee's next number.
    let pool = db.clone();
    let two = tokio::spawn(async move {
        let mut two = pool.begin().await.unwrap();
        let n = next_sequence(&mut two, company, employee, EventStream::Changes).await.unwrap();
        two.commit().await.unwrap();
        n
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waited = !two.is_finished();
    one.commit().await.unwrap();
    // Assert
    assert!(waited, "the second transaction waits for the first to end");
    assert_eq!(two.await.unwrap(), 2);
}

#[tokio::test]
async fn numbers_are_never_handed_out_again_after_an_employees_rows_or_the_company_are_deleted() {
    // Arrange: a company whose employee has a recorded change event numbered 1..=2.
    let db = migrated().await;
    let (company, employee) = (Uuid::new_v4(), Uuid::new_v4());
    employes_sync::db::companies::upsert_from_env(&db, company, None, None).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    assert_eq!(reserve_sequences(&mut tx, company, EventStream::Changes, &[(employee, 2)]).await.unwrap(), vec![1]);
    tx.commit().await.unwrap();
    // Act: the company and everything stored about it is deleted (as erasure deletes an employee's rows).
    sqlx::query("DELETE FROM companies WHERE id = $1").bind(company).execute(&db).await.unwrap();
    employes_sync::db::companies::upsert_from_env(&db, company, None, None).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let next = next_sequence(&mut tx, company, employee, EventStream::Changes).await.unwrap();
    tx.commit().await.unwrap();
    // Assert
    assert_eq!(next, 3);
}
