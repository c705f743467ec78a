//! OAuth access tokens and the user-management endpoints.

mod common;

use axum::http::{Method, StatusCode};
use common::{API_KEY, Sandbox};
use serde_json::json;

const ID: &str = "sandbox-oauth-id";
const SECRET: &str = "sandbox-oauth-secret";
const GRANT: &str = "grant_type=client_credentials";

#[tokio::test]
async fn client_credentials_grant_issues_a_bearer_token() {
    // GIVEN the right client credentials
    let sandbox = Sandbox::new();

    // WHEN a token is requested
    let reply = sandbox.oauth(API_KEY, ID, SECRET, GRANT).await;

    // THEN an hour-long bearer token is issued
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        reply.body["access_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 32)
    );
    assert_eq!(reply.body["token_type"], json!("Bearer"));
    assert_eq!(reply.body["expires_in"], json!(3600));
    assert!(reply.body["scope"].is_string());
}

#[tokio::test]
async fn wrong_client_grant_or_api_key_are_refused_with_oauth_codes() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN the Basic credentials, the grant type or the api_key in the path are wrong
    let wrong_client = sandbox.oauth(API_KEY, ID, "nope", GRANT).await;
    let wrong_grant = sandbox
        .oauth(API_KEY, ID, SECRET, "grant_type=password")
        .await;
    let wrong_key = sandbox.oauth("other-key", ID, SECRET, GRANT).await;
    let no_basic = sandbox
        .post(&format!("/api/v2/{API_KEY}/access_token"), json!({}))
        .await;

    // THEN each gets its own code
    assert_eq!(wrong_client.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_client.error(), "invalid_client");
    assert!(wrong_client.headers.contains_key("www-authenticate"));
    assert_eq!(wrong_grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_grant.error(), "unsupported_grant_type");
    assert_eq!(wrong_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_key.error(), "invalid_key");
    assert_eq!(no_basic.error(), "invalid_client");
}

#[tokio::test]
async fn an_access_token_works_for_fifty_requests_then_is_refused() {
    // GIVEN an enrolled user and a fresh access token
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;
    let token = sandbox.access_token().await;

    // WHEN it is used 50 times
    for use_number in 1..=50 {
        let reply = sandbox
            .with_bearer(Method::GET, "/api/v2/users/user-1", &token)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "use {use_number}: {}",
            reply.text
        );
    }

    // THEN the 51st use is refused, and a new token works again
    let refused = sandbox
        .with_bearer(Method::GET, "/api/v2/users/user-1", &token)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error(), "token_quota_exceeded");
    let fresh = sandbox.access_token().await;
    let reply = sandbox
        .with_bearer(Method::GET, "/api/v2/users/user-1", &fresh)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_access_token_is_invalid_oauth() {
    // GIVEN access tokens that live no time at all
    let sandbox = Sandbox::new();
    sandbox
        .put("/sandbox/config", json!({ "access_token_ttl_seconds": 0 }))
        .await;
    let token = sandbox.access_token().await;

    // WHEN one is used
    let reply = sandbox
        .with_bearer(Method::GET, "/api/v2/users/user-1", &token)
        .await;

    // THEN it is refused
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error(), "invalid_oauth");
}

#[tokio::test]
async fn user_endpoints_require_a_bearer_token() {
    // GIVEN an enrolled user
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;

    // WHEN the user is read or deleted without a token, or with a made-up one
    let without = sandbox.get("/api/v2/users/user-1").await;
    let made_up = sandbox
        .with_bearer(Method::DELETE, "/api/v2/users/user-1", "made-up")
        .await;

    // THEN both are invalid_oauth and the user is still there
    for reply in [without, made_up] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error(), "invalid_oauth");
    }
    assert_eq!(
        sandbox.get("/sandbox/users/user-1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn get_and_delete_user_report_status_and_erase_it() {
    // GIVEN an enrolled user and an access token
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;
    let token = sandbox.access_token().await;

    // WHEN the user is read, deleted, then read and deleted again
    let read = sandbox
        .with_bearer(Method::GET, "/api/v2/users/user-1", &token)
        .await;
    let deleted = sandbox
        .with_bearer(Method::DELETE, "/api/v2/users/user-1", &token)
        .await;
    let read_again = sandbox
        .with_bearer(Method::GET, "/api/v2/users/user-1", &token)
        .await;
    let deleted_again = sandbox
        .with_bearer(Method::DELETE, "/api/v2/users/user-1", &token)
        .await;

    // THEN it was Active, is answered Deleted, and is then unknown everywhere
    assert_eq!(read.body["user_id"], json!("user-1"));
    assert_eq!(read.body["status"], json!("Active"));
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["status"], json!("Deleted"));
    assert_eq!(read_again.status, StatusCode::NOT_FOUND);
    assert_eq!(read_again.error(), "not_found");
    assert_eq!(deleted_again.status, StatusCode::NOT_FOUND);
    assert_eq!(deleted_again.error(), "not_found");
    assert_eq!(
        sandbox.get("/sandbox/users/user-1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn availability_answers_up_for_the_right_api_key() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN availability is asked with the right key, a wrong one, and none
    let up = sandbox
        .get(&format!("/api/v2/availability?api_key={API_KEY}"))
        .await;
    let wrong = sandbox.get("/api/v2/availability?api_key=nope").await;
    let none = sandbox.get("/api/v2/availability").await;

    // THEN only the first is up
    assert_eq!(up.status, StatusCode::OK);
    assert_eq!(up.body, json!({ "up": true }));
    assert_eq!(wrong.error(), "invalid_key");
    assert_eq!(none.error(), "missing_data");
}
