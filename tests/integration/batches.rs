//! Batch publishing (`Bus::send_batch`) against a real `nats-server -js`: many batches at once,
//! together far more than the JetStream context lets go unanswered, all end.

use std::time::Duration;

use employes_sync::{
    bus::{Bus, Outgoing},
    domain::ChangeType,
};
use testkit::{nats::Nats, settings::subject_prefix};
use uuid::Uuid;

#[tokio::test]
async fn many_concurrent_batches_beyond_the_contexts_unanswered_bound_all_end_stored() {
    // Arrange: 40 batches of 500 = 20,000 messages, four times the context's 5,000 unanswered
    // publishes (a batch that sent all of its messages before awaiting any waited there forever
    // once the others held the rest).
    let nats = Nats::start();
    let bus = Bus::connect(&nats.url(), &subject_prefix('b')).await.unwrap();
    bus.ensure_streams(1).await.unwrap();
    let company = Uuid::new_v4();
    let batches: Vec<Vec<Uuid>> = (0..40).map(|_| (0..500).map(|_| Uuid::new_v4()).collect()).collect();
    // Act
    let sends = batches.iter().map(|ids| {
        bus.send_batch(
            ids,
            |id| -> anyhow::Result<Outgoing> {
                Ok(Outgoing {
                    subject: bus.change_subject(company, ChangeType::SalaryChange),
                    msg_id: id.to_string(),
                    payload: "{}".into(),
                })
            },
            async |_| {},
        )
    });
    let sent = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(sends))
        .await
        .expect("every batch ends");
    // Assert
    for batch in sent {
        let batch = batch.unwrap();
        assert!(batch.failed.is_none(), "{:?}", batch.failed);
        assert_eq!(batch.stored.len(), 500);
    }
}
