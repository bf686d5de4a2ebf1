//! Company secrets at rest: sealed under `SECRETS_KEY` (never plaintext in the table), opened at
//! every start (a missing or wrong key stops it, naming the key), sealed anew under a new key by
//! a start with `SECRETS_KEY_PREVIOUS`, and company changes seen by every replica.

use employes_sync::{
    app::App,
    cli::Role,
    companies::{ChangedBy, CompanyError, Field, KeySource, NewCompany, SecretsKey},
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
    let stored = registry.insert(&new_company(id), &ChangedBy::service()).await.unwrap();

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
    app.companies.clone().unwrap().insert(&new_company(Uuid::new_v4()), &ChangedBy::service()).await.unwrap();
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
    let refused = app.companies.clone().unwrap().insert(&new_company(id), &ChangedBy::service()).await;

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
    a.companies.clone().unwrap().insert(&new_company(id), &ChangedBy::service()).await.unwrap();

    // Assert: B reloads on the announcement (well before its 30 s backstop).
    let seen = b.companies.clone().unwrap();
    eventually("replica B sees the new company", Duration::from_secs(5), async || seen.get(id).is_some()).await;
    a.companies.clone().unwrap().delete(id, &ChangedBy::service()).await.unwrap();
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

#[tokio::test]
async fn a_rotation_seals_everything_under_the_new_key_at_start_after_which_the_previous_key_is_not_needed() {
    // Arrange: under key A, a company's key and webhook secret, an endpoint's two secrets (one
    // rotated out) and the digest key.
    use employes_sync::{
        db::endpoints::{self, NewEndpoint},
        endpoints::secrets as endpoint_secrets,
    };
    let (a, b) = (SecretsKey::generate(), SecretsKey::generate());
    let mut env = TestEnv::new().await;
    env.set("SECRETS_KEY", a.to_base64().expose_secret());
    let app = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let (company, endpoint) = (Uuid::new_v4(), Uuid::new_v4());
    app.companies.clone().unwrap().insert(&new_company(company), &ChangedBy::service()).await.unwrap();
    let (_, first) = endpoint_secrets::generate(&a, endpoint);
    let new = NewEndpoint {
        id: endpoint,
        url: "https://hooks.example.nl/in",
        company_id: None,
        types: None,
        description: None,
        secret: &first,
    };
    endpoints::insert(&app.db, &new).await.unwrap();
    let (_, second) = endpoint_secrets::generate(&a, endpoint);
    endpoints::rotate(&app.db, endpoint, &second, chrono::Utc::now() + chrono::Duration::hours(1)).await.unwrap();
    let digest_key = async |db: &employes_sync::db::Db| -> Vec<u8> {
        sqlx::query_scalar("SELECT sealed FROM digest_key").fetch_one(db).await.unwrap()
    };
    let digest_before = a.open(Uuid::nil(), Field::DigestKey, &digest_key(&app.db).await).unwrap();
    app.stop().await;

    // Act 1: start with SECRETS_KEY=B, SECRETS_KEY_PREVIOUS=A.
    env.set("SECRETS_KEY", b.to_base64().expose_secret());
    env.set("SECRETS_KEY_PREVIOUS", a.to_base64().expose_secret());
    let rotated = App::build(env.config(), vec![Role::Worker]).await.expect("the start re-seals");

    // Assert 1: everything opens with B, nothing with A any more, the digest key is the same one.
    let stored = rotated.companies().get(company).unwrap();
    assert_eq!((stored.key_source, stored.webhook_keys.len()), (KeySource::Stored, 1));
    let db = rotated.db().clone();
    let sealed = endpoints::secrets(&db, endpoint).await.unwrap().unwrap();
    assert!(endpoint_secrets::open_keys(Some(&b), endpoint, &sealed).unwrap().1.is_some(), "both secrets open");
    assert!(endpoint_secrets::open_keys(Some(&a), endpoint, &sealed).is_err());
    let sealed_digest = digest_key(&db).await;
    assert_eq!(b.open(Uuid::nil(), Field::DigestKey, &sealed_digest).unwrap(), digest_before);
    let (api_key, webhook): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT api_key_enc, webhook_secrets_enc FROM companies WHERE id = $1")
            .bind(company)
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(a.open(company, Field::ApiKey, &api_key).is_err() && b.open(company, Field::ApiKey, &api_key).is_ok());
    assert!(b.open(company, Field::WebhookSecrets, &webhook).is_ok());
    drop(rotated);

    // Act 2 + Assert 2: B alone starts; a key that opens nothing, even with A as the previous
    // one, stops the start in one line naming SECRETS_KEY and changes nothing.
    env.settings.remove("SECRETS_KEY_PREVIOUS");
    let again = App::build(env.config(), vec![Role::Worker]).await.expect("B alone starts");
    assert_eq!(again.companies().get(company).unwrap().key_source, KeySource::Stored);
    drop(again);
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    env.set("SECRETS_KEY_PREVIOUS", SecretsKey::generate().to_base64().expose_secret());
    let refused = App::build(env.config(), vec![Role::Worker]).await.err().expect("the start is refused");
    let message = format!("{refused:#}");
    assert!(message.contains("SECRETS_KEY") && !message.contains('\n'), "{message}");
    assert!(!message.contains(API_KEY), "{message}");
    assert_eq!(digest_key(&db).await, sealed_digest, "nothing changed");
    assert!(b.open(company, Field::ApiKey, &api_key).is_ok());
}
