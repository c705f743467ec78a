//! Credentials of the iProov client, against a scripted local HTTP server: a refused key is
//! refreshed once; the OAuth token is cached for at most 50 requests or its lifetime, and
//! renewed once when refused.

mod iproov_mock;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use iproov_client::{
    CredentialSource, IProovClient, IProovCredentials, IProovError, IProovUserId, Token,
    ValidateRequest,
};
use iproov_mock::*;
use serde_json::json;

fn user() -> IProovUserId {
    IProovUserId::derive(b"pseudonymisation-key", "our-user-9")
}

/// A credential store whose secret is rotated: each refresh yields the next version.
#[derive(Default)]
struct RotatingCredentials {
    refreshes: AtomicUsize,
}

impl RotatingCredentials {
    fn version(n: usize) -> IProovCredentials {
        IProovCredentials {
            api_key: format!("rotating-api-key-v{n}"),
            secret: format!("rotating-secret-v{n}"),
            oauth_client_id: format!("oauth-id-v{n}"),
            oauth_client_secret: format!("oauth-secret-v{n}"),
        }
    }
}

#[async_trait]
impl CredentialSource for RotatingCredentials {
    async fn current(&self) -> Result<Arc<IProovCredentials>, IProovError> {
        Ok(Arc::new(Self::version(
            self.refreshes.load(Ordering::SeqCst),
        )))
    }
    async fn refresh(&self) -> Result<Arc<IProovCredentials>, IProovError> {
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Arc::new(Self::version(n)))
    }
}

fn rotating_client(mock: &Mock) -> (IProovClient, Arc<RotatingCredentials>) {
    let source = Arc::new(RotatingCredentials::default());
    let client = new_client(config(&mock.base_url()), source.clone()).unwrap();
    (client, source)
}

// ----- refused API key -----

#[tokio::test]
async fn a_refused_key_is_refreshed_once_then_reported_as_invalid_key() {
    // GIVEN iProov refuses every key
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/enrol/token",
        Reply::error(401, "invalid_key"),
    );
    let (client, source) = rotating_client(&mock);
    // WHEN a token is requested
    let err = client.enrol_token(&user()).await.unwrap_err();
    // THEN credentials were refreshed exactly once, the call repeated once, then it failed
    assert_eq!(err, IProovError::InvalidKey);
    assert!(!err.is_retryable());
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    let sent = mock.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].json()["secret"], "rotating-secret-v0");
    assert_eq!(sent[1].json()["secret"], "rotating-secret-v1");
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_and_the_call_succeeds() {
    // GIVEN iProov refuses the old key once, then accepts the new one
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        Reply::error(401, "invalid_key"),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        token_answer("tok", user.as_str()),
    );
    let (client, source) = rotating_client(&mock);
    // WHEN a token is requested
    let claim = client.verify_token(&user).await.unwrap();
    // THEN it succeeds with the refreshed key
    assert_eq!(claim.token.expose(), "tok");
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(mock.requests()[1].json()["api_key"], "rotating-api-key-v1");
}

#[tokio::test]
async fn validate_with_a_refused_key_is_refreshed_and_sent_once_more_because_nothing_was_validated()
{
    // GIVEN iProov refuses the old key on validate, then validates with the new one
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        Reply::error(401, "invalid_key"),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        validate_answer(true, "tok"),
    );
    let (client, source) = rotating_client(&mock);
    let (user, token) = (user(), Token::new("tok"));
    let req = ValidateRequest {
        user_id: &user,
        token: &token,
        client_ip: None,
        client: "ua",
    };
    // WHEN the scan is validated
    let outcome = client.enrol_validate(req).await.unwrap();
    // THEN the refused attempt (which validated nothing) was followed by one real validation
    assert!(outcome.passed);
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn an_unavailable_credential_store_fails_the_call_without_contacting_iproov() {
    struct Down;
    #[async_trait]
    impl CredentialSource for Down {
        async fn current(&self) -> Result<Arc<IProovCredentials>, IProovError> {
            Err(IProovError::Credentials("secrets store unreachable".into()))
        }
        async fn refresh(&self) -> Result<Arc<IProovCredentials>, IProovError> {
            self.current().await
        }
    }
    let mock = Mock::start().await;
    let client = new_client(config(&mock.base_url()), Arc::new(Down)).unwrap();
    let err = client.enrol_token(&user()).await.unwrap_err();
    assert_eq!(err.code(), "credentials");
    assert!(err.is_retryable());
    assert!(mock.requests().is_empty());
}

// ----- OAuth access token -----

fn access_token_path() -> String {
    format!("/{API_KEY}/access_token")
}

fn bearer_of(request: &Recorded) -> String {
    request.header("authorization").unwrap_or_default()
}

#[tokio::test]
async fn the_access_token_is_requested_with_basic_auth_and_a_client_credentials_form() {
    // GIVEN iProov issues access tokens and deletes users
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("bearer-1", 3600),
    );
    mock.enqueue(
        "DELETE",
        &format!("/users/{}", user.as_str()),
        Reply::json(200, json!({"status": "deleted"})),
    );
    // WHEN a user is deleted
    client(&mock).delete_user(&user).await.unwrap();
    // THEN the token request used HTTP Basic with the OAuth client credentials and the form body
    let token_request = &mock.requests_to("POST", &access_token_path())[0];
    let basic = STANDARD.encode(format!("{OAUTH_ID}:{OAUTH_SECRET}"));
    assert_eq!(
        token_request.header("authorization"),
        Some(format!("Basic {basic}"))
    );
    assert_eq!(
        token_request.header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(token_request.body, b"grant_type=client_credentials");
    // AND the delete carried the bearer token, not the key or secret
    let delete = &mock.requests_to("DELETE", &format!("/users/{}", user.as_str()))[0];
    assert_eq!(bearer_of(delete), "Bearer bearer-1");
    assert!(!delete.outside_body().contains(SECRET));
}

#[tokio::test]
async fn the_access_token_is_reused_for_fifty_requests_and_renewed_for_the_fifty_first() {
    // GIVEN iProov issues two different access tokens in turn
    let mock = Mock::start().await;
    let user = user();
    let path = format!("/users/{}", user.as_str());
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("bearer-1", 3600),
    );
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("bearer-2", 3600),
    );
    mock.always(
        "DELETE",
        &path,
        Reply::json(200, json!({"status": "deleted"})),
    );
    let client = client(&mock);
    // WHEN 51 user-management requests are made
    for _ in 0..51 {
        client.delete_user(&user).await.unwrap();
    }
    // THEN the first 50 shared the first token and the 51st used a renewed one
    assert_eq!(mock.requests_to("POST", &access_token_path()).len(), 2);
    let bearers: Vec<String> = mock
        .requests_to("DELETE", &path)
        .iter()
        .map(bearer_of)
        .collect();
    assert!(bearers[..50].iter().all(|b| b == "Bearer bearer-1"));
    assert_eq!(bearers[50], "Bearer bearer-2");
}

#[tokio::test]
async fn the_access_token_is_renewed_before_its_lifetime_ends() {
    // GIVEN access tokens that live 2 s (renewed after half of that)
    let mock = Mock::start().await;
    let user = user();
    let path = format!("/users/{}", user.as_str());
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("short-1", 2),
    );
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("short-2", 2),
    );
    mock.always("DELETE", &path, Reply::json(200, json!({})));
    let client = client(&mock);
    // WHEN one request is made now and one after 1.1 s
    client.delete_user(&user).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.delete_user(&user).await.unwrap();
    // THEN the second used a fresh token
    let bearers: Vec<String> = mock
        .requests_to("DELETE", &path)
        .iter()
        .map(bearer_of)
        .collect();
    assert_eq!(bearers, ["Bearer short-1", "Bearer short-2"]);
}

#[tokio::test]
async fn a_refused_access_token_is_renewed_once_and_the_request_repeated() {
    // GIVEN iProov refuses the first bearer token, then accepts the renewed one
    let mock = Mock::start().await;
    let user = user();
    let path = format!("/users/{}", user.as_str());
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("bearer-1", 3600),
    );
    mock.enqueue(
        "POST",
        &access_token_path(),
        access_token_answer("bearer-2", 3600),
    );
    mock.enqueue("DELETE", &path, Reply::error(401, "invalid_oauth"));
    mock.enqueue("DELETE", &path, Reply::json(200, json!({})));
    // WHEN a user is deleted
    client(&mock).delete_user(&user).await.unwrap();
    // THEN the second attempt used the renewed token
    let bearers: Vec<String> = mock
        .requests_to("DELETE", &path)
        .iter()
        .map(bearer_of)
        .collect();
    assert_eq!(bearers, ["Bearer bearer-1", "Bearer bearer-2"]);
}

#[tokio::test]
async fn an_access_token_refused_twice_is_reported_as_invalid_oauth() {
    // GIVEN iProov refuses every bearer token (here: quota exhausted)
    let mock = Mock::start().await;
    let path = format!("/users/{}", user().as_str());
    mock.always(
        "POST",
        &access_token_path(),
        access_token_answer("bearer", 3600),
    );
    mock.always("DELETE", &path, Reply::error(401, "token_quota_exceeded"));
    // WHEN a user is deleted
    let err = client(&mock).delete_user(&user()).await.unwrap_err();
    // THEN one renewal was tried, then it failed
    assert_eq!(err, IProovError::InvalidOAuth);
    assert_eq!(mock.requests_to("DELETE", &path).len(), 2);
    assert_eq!(mock.requests_to("POST", &access_token_path()).len(), 2);
}

#[tokio::test]
async fn refused_oauth_client_credentials_are_refreshed_once_from_the_store() {
    // GIVEN the token endpoint refuses the old OAuth client, then accepts the rotated one
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/rotating-api-key-v0/access_token",
        Reply::error(401, "invalid_client"),
    );
    mock.enqueue(
        "POST",
        "/rotating-api-key-v1/access_token",
        access_token_answer("bearer", 3600),
    );
    mock.always(
        "DELETE",
        &format!("/users/{}", user.as_str()),
        Reply::json(200, json!({})),
    );
    let (client, source) = rotating_client(&mock);
    // WHEN a user is deleted
    client.delete_user(&user).await.unwrap();
    // THEN the store was asked for fresh credentials once
    assert_eq!(source.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_requests_share_one_access_token_renewal() {
    // GIVEN a slow token endpoint
    let mock = Mock::start().await;
    let user = user();
    mock.always(
        "POST",
        &access_token_path(),
        access_token_answer("shared", 3600).delayed(Duration::from_millis(100)),
    );
    mock.always(
        "DELETE",
        &format!("/users/{}", user.as_str()),
        Reply::json(200, json!({})),
    );
    let client = client(&mock);
    // WHEN ten deletions run at once
    let all = (0..10).map(|_| client.delete_user(&user));
    for result in futures::future::join_all(all).await {
        result.unwrap();
    }
    // THEN a single access token was fetched
    assert_eq!(mock.requests_to("POST", &access_token_path()).len(), 1);
}
