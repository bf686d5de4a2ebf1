//! Company secrets at rest: sealed under `SECRETS_KEY` (never plaintext in the table), opened at
//! every start (a missing or wrong key stops it, naming the key), and company changes seen by
//! every replica.

use employes_sync::{
    app::App,
    cli::Role,
    companies::{CompanyError, KeySource, NewCompany, SecretsKey},
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::*;

const API_KEY: &str = "company-api-key-that-must-never-be-stored-plain";
const WEBHOOK: &str = "whsec_c2VjcmV0LXdlYmhvb2stb2YtdGhlLWNvbXBhbnktMDEy";

fn new_company(id: Uuid) -> NewCompany {
    NewCompany {
        id,
        name: Some("Sealed B.V.".into()),
        api_key: Some(SecretString::from(API_KEY.to_string())),
        webhook_secrets: Some(vec![SecretString::from(WEBHOOK.to_string())]),
        ..NewCompany::default()
    }
}

#[tokio::test]
async fn keys_and_webhook_secrets_are_stored_sealed_and_open_again_with_the_same_secrets_key() {
    // Arrange
    let mut env = TestEnv::new().await;
    let key = SecretsKey::generate();
    env.set("SECRETS_KEY", key.to_base64().expose_secret());
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let registry = app.companies.clone().unwrap();
    let id = Uuid::new_v4();

    // Act
    let stored = registry.insert(&new_company(id)).await.unwrap();

    // Assert: the table holds neither secret, nor their base64; the runtime has both.
    let (api_key, webhook): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT api_key_enc, webhook_secrets_enc FROM companies WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let row: String = sqlx::query_scalar("SELECT row_to_json(c)::text FROM companies c WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    for needle in [API_KEY, WEBHOOK, "c2VjcmV0LXdlYmhvb2st"] {
        assert!(!row.contains(needle), "{needle} in {row}");
        assert!(!api_key.windows(needle.len()).any(|w| w == needle.as_bytes()));
        assert!(!webhook.windows(needle.len()).any(|w| w == needle.as_bytes()));
    }
    assert_eq!((stored.key_source, stored.webhook_keys.len()), (KeySource::Stored, 1));
    app.stop().await;
    // A restart with the same key opens them.
    let again = App::build(env.config(), vec![Role::Worker]).await.unwrap();
    assert_eq!(again.companies().get(id).unwrap().key_source, KeySource::Stored);
}

#[tokio::test]
async fn a_start_without_the_secrets_key_or_with_another_one_fails_naming_secrets_key() {
    // Arrange: a company with sealed secrets.
    let mut env = TestEnv::new().await;
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    let app = env.spawn_app_with_roles(vec![Role::Worker]).await;
    app.companies.clone().unwrap().insert(&new_company(Uuid::new_v4())).await.unwrap();
    app.stop().await;

    for key in [None, Some(SecretsKey::generate())] {
        // Act
        match &key {
            Some(k) => env.set("SECRETS_KEY", k.to_base64().expose_secret()),
            None => {
                env.settings.remove("SECRETS_KEY");
                &mut env
            }
        };
        let refused = App::build(env.config(), vec![Role::Worker]).await.err().expect("the start is refused");

        // Assert: one line that names the key and no secret.
        let message = format!("{refused:#}");
        assert!(message.contains("SECRETS_KEY") && !message.contains('\n'), "{message}");
        assert!(!message.contains(API_KEY), "{message}");
    }
}

#[tokio::test]
async fn storing_a_secret_without_secrets_key_is_refused_and_stores_nothing() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let id = Uuid::new_v4();

    // Act
    let refused = app.companies.clone().unwrap().insert(&new_company(id)).await;

    // Assert
    assert!(matches!(refused, Err(CompanyError::SecretsKeyMissing)), "{refused:?}");
    assert_eq!(count(&app, &format!("SELECT count(*) FROM companies WHERE id = '{id}'")).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_company_added_on_one_replica_is_seen_by_another_at_once() {
    // Arrange: two replicas.
    let mut env = TestEnv::new().await;
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    let a = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let b = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let id = Uuid::new_v4();

    // Act
    a.companies.clone().unwrap().insert(&new_company(id)).await.unwrap();

    // Assert: B reloads on the announcement (well before its 30 s backstop).
    let seen = b.companies.clone().unwrap();
    eventually("replica B sees the new company", Duration::from_secs(5), async || seen.get(id).is_some()).await;
    a.companies.clone().unwrap().delete(id).await.unwrap();
    eventually("replica B sees it deleted", Duration::from_secs(5), async || seen.get(id).is_none()).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn without_employes_api_url_the_builtin_simulators_companies_are_registered_as_simulated_and_sync() {
    // Arrange: the embedded default with two simulated companies.
    let mut env = TestEnv::new().await;
    for key in ["EMPLOYES_API_URL", "EMPLOYES_API_KEY", "EMPLOYES_COMPANY_ID"] {
        env.settings.remove(key);
    }
    env.set("SIMULATOR_ADDR", "127.0.0.1:0").set("SIMULATOR_COMPANIES", "2").set("EMPLOYES_RATE_LIMIT", "5");

    // Act
    let app = env.spawn_app().await;

    // Assert: both registered as simulated (the first with the fixed id), each with a key of its own.
    let registry = app.companies.clone().unwrap();
    let companies = registry.all();
    assert_eq!(companies.len(), 2);
    assert!(companies.iter().all(|c| c.company.simulated && c.key_source == KeySource::Simulator));
    assert!(registry.get(employes_sync::config::default_company_id()).is_some());
    let second =
        companies.iter().map(|c| c.id()).find(|id| *id != employes_sync::config::default_company_id()).unwrap();
    let s = app.wait_for_session(&super::side_by_side::request_for(&app, second).await).await;
    assert_eq!((s["status"].as_str(), s["employees_processed"].as_u64()), (Some("completed"), Some(110)), "{s}");
    app.stop().await;
}
