//! Rotating the credentials at run time (`PUT /sandbox/credentials`), as a rotation in AWS
//! Secrets Manager would, and what the API then accepts.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{API_KEY, Kind, Reply, SECRET, Sandbox, validate_body};
use iproov_sandbox::{SandboxConfig, token_fingerprint};
use serde_json::{Value, json};

const OAUTH_ID: &str = "sandbox-oauth-id";
const OAUTH_SECRET: &str = "sandbox-oauth-secret";
const GRANT: &str = "grant_type=client_credentials";

const NEW_KEY: &str = "rotated-api-key";
const NEW_SECRET: &str = "rotated-secret";
const NEW_OAUTH_ID: &str = "rotated-oauth-id";
const NEW_OAUTH_SECRET: &str = "rotated-oauth-secret";

/// What a wrong api_key or secret has always been answered with.
fn invalid_key_body() -> Value {
    json!({ "error": "invalid_key", "error_description": "the api_key or secret is not valid" })
}

fn fingerprints(api_key: &str, secret: &str, id: &str, client_secret: &str) -> Value {
    json!({
        "api_key": token_fingerprint(api_key),
        "secret": token_fingerprint(secret),
        "oauth_client_id": token_fingerprint(id),
        "oauth_client_secret": token_fingerprint(client_secret),
    })
}

async fn rotate(sandbox: &Sandbox, body: Value) -> Reply {
    let reply = sandbox.put("/sandbox/credentials", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply
}

async fn availability(sandbox: &Sandbox, api_key: &str) -> Reply {
    sandbox
        .get(&format!("/api/v2/availability?api_key={api_key}"))
        .await
}

#[tokio::test]
async fn rotated_claim_credentials_refuse_the_old_values_and_accept_the_new_ones() {
    // GIVEN a sandbox whose api_key and secret were rotated, and what a wrong key looked like
    // before
    let sandbox = Sandbox::new();
    let wrong_before = sandbox
        .token_with(Kind::Enrol, "user-1", "wrong", SECRET)
        .await;
    rotate(
        &sandbox,
        json!({ "api_key": NEW_KEY, "secret": NEW_SECRET }),
    )
    .await;

    // WHEN an enrol token is requested with the old and with the new credentials
    let old = sandbox
        .token_with(Kind::Enrol, "user-1", API_KEY, SECRET)
        .await;
    let new = sandbox
        .token_with(Kind::Enrol, "user-1", NEW_KEY, NEW_SECRET)
        .await;

    // THEN the old ones fail exactly as wrong credentials always did, the new ones work
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(old.body, invalid_key_body());
    assert_eq!(
        (old.status, &old.body),
        (wrong_before.status, &wrong_before.body)
    );
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);

    // AND validate, availability and the access-token path key follow the same rule
    let token = new.body["token"].as_str().expect("a token").to_owned();
    sandbox.scan(&token, "passed").await;
    let validated_old = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert_eq!(validated_old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(validated_old.body, invalid_key_body());
    let mut body = validate_body("user-1", &token);
    body["api_key"] = json!(NEW_KEY);
    body["secret"] = json!(NEW_SECRET);
    let validated_new = sandbox.validate_body(Kind::Enrol, body).await;
    assert_eq!(
        validated_new.body["passed"],
        json!(true),
        "{}",
        validated_new.text
    );

    let up_old = availability(&sandbox, API_KEY).await;
    assert_eq!(up_old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(up_old.body, invalid_key_body());
    assert_eq!(
        availability(&sandbox, NEW_KEY).await.body,
        json!({ "up": true })
    );

    let oauth_old_key = sandbox.oauth(API_KEY, OAUTH_ID, OAUTH_SECRET, GRANT).await;
    assert_eq!(oauth_old_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(oauth_old_key.body, invalid_key_body());
    let oauth_new_key = sandbox.oauth(NEW_KEY, OAUTH_ID, OAUTH_SECRET, GRANT).await;
    assert_eq!(
        oauth_new_key.status,
        StatusCode::OK,
        "{}",
        oauth_new_key.text
    );
}

#[tokio::test]
async fn a_rotated_oauth_client_is_refused_but_its_access_tokens_live_until_expiry() {
    // GIVEN an enrolled user and an access token issued to the start-up OAuth client
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;
    let issued_before = sandbox.access_token().await;

    // WHEN the OAuth client is rotated and both clients ask for a token
    rotate(
        &sandbox,
        json!({ "oauth_client_id": NEW_OAUTH_ID, "oauth_client_secret": NEW_OAUTH_SECRET }),
    )
    .await;
    let old = sandbox.oauth(API_KEY, OAUTH_ID, OAUTH_SECRET, GRANT).await;
    let new = sandbox
        .oauth(API_KEY, NEW_OAUTH_ID, NEW_OAUTH_SECRET, GRANT)
        .await;

    // THEN the old client is invalid_client (with WWW-Authenticate), as a wrong client always
    // was, and the new one gets a token
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(old.error(), "invalid_client");
    assert!(old.headers.contains_key("www-authenticate"));
    let wrong = sandbox.oauth(API_KEY, "nobody", "nothing", GRANT).await;
    assert_eq!((old.status, &old.body), (wrong.status, &wrong.body));
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    let issued_after = new.body["access_token"].as_str().expect("a token");

    // AND the token issued before the rotation still works, like the new one
    for token in [issued_before.as_str(), issued_after] {
        let reply = sandbox
            .with_bearer(Method::GET, "/api/v2/users/user-1", token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    // AND a mix of old and new client values is refused
    let mixed = sandbox
        .oauth(API_KEY, OAUTH_ID, NEW_OAUTH_SECRET, GRANT)
        .await;
    assert_eq!(mixed.error(), "invalid_client");
}

#[tokio::test]
async fn a_partial_rotation_changes_only_the_named_credentials() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN only the secret is rotated
    let reply = rotate(&sandbox, json!({ "secret": NEW_SECRET })).await;

    // THEN the api_key and OAuth client are unchanged and only the old secret is refused
    assert_eq!(
        reply.body["current"],
        fingerprints(API_KEY, NEW_SECRET, OAUTH_ID, OAUTH_SECRET)
    );
    let old = sandbox
        .token_with(Kind::Enrol, "user-1", API_KEY, SECRET)
        .await;
    assert_eq!(old.body, invalid_key_body());
    let new = sandbox
        .token_with(Kind::Enrol, "user-1", API_KEY, NEW_SECRET)
        .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    assert_eq!(availability(&sandbox, API_KEY).await.status, StatusCode::OK);
    sandbox.access_token().await;
}

#[tokio::test]
async fn reset_restores_the_start_up_credentials() {
    // GIVEN a sandbox started with its own credentials, then rotated with a grace period
    let config = SandboxConfig {
        api_key: "start-key".to_owned(),
        secret: "start-secret".to_owned(),
        oauth_client_id: "start-id".to_owned(),
        oauth_client_secret: "start-client-secret".to_owned(),
        ..Default::default()
    };
    let sandbox = Sandbox::with_config(config);
    rotate(
        &sandbox,
        json!({
            "api_key": NEW_KEY, "secret": NEW_SECRET,
            "oauth_client_id": NEW_OAUTH_ID, "oauth_client_secret": NEW_OAUTH_SECRET,
            "grace_seconds": 600,
        }),
    )
    .await;

    // WHEN it is reset
    let reply = sandbox.post("/sandbox/reset", json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);

    // THEN the start-up credentials work again, the rotated ones do not, and no grace remains
    let shown = sandbox.get("/sandbox/credentials").await.body;
    assert_eq!(
        shown,
        json!({
            "current": fingerprints("start-key", "start-secret", "start-id", "start-client-secret"),
            "previous": null,
        })
    );
    let start = sandbox
        .token_with(Kind::Enrol, "user-1", "start-key", "start-secret")
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let rotated = sandbox
        .token_with(Kind::Enrol, "user-1", NEW_KEY, NEW_SECRET)
        .await;
    assert_eq!(rotated.body, invalid_key_body());
    let oauth_start = sandbox
        .oauth("start-key", "start-id", "start-client-secret", GRANT)
        .await;
    assert_eq!(oauth_start.status, StatusCode::OK, "{}", oauth_start.text);
    let oauth_rotated = sandbox
        .oauth("start-key", NEW_OAUTH_ID, NEW_OAUTH_SECRET, GRANT)
        .await;
    assert_eq!(oauth_rotated.error(), "invalid_client");
}

#[tokio::test]
async fn the_credentials_are_shown_as_fingerprints_never_as_values() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN the credentials are read, rotated, and read again
    let before = sandbox.get("/sandbox/credentials").await;
    let put = rotate(
        &sandbox,
        json!({
            "api_key": NEW_KEY, "secret": NEW_SECRET,
            "oauth_client_id": NEW_OAUTH_ID, "oauth_client_secret": NEW_OAUTH_SECRET,
        }),
    )
    .await;
    let after = sandbox.get("/sandbox/credentials").await;

    // THEN each answer holds the 12-hex fingerprints the stats use, and no value
    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(
        before.body,
        json!({
            "current": fingerprints(API_KEY, SECRET, OAUTH_ID, OAUTH_SECRET),
            "previous": null,
        })
    );
    let rotated = json!({
        "current": fingerprints(NEW_KEY, NEW_SECRET, NEW_OAUTH_ID, NEW_OAUTH_SECRET),
        "previous": null,
    });
    assert_eq!(put.body, rotated);
    assert_eq!(after.body, rotated);
    for reply in [&before, &put, &after] {
        for value in [
            API_KEY,
            SECRET,
            OAUTH_ID,
            OAUTH_SECRET,
            NEW_KEY,
            NEW_SECRET,
            NEW_OAUTH_ID,
            NEW_OAUTH_SECRET,
        ] {
            assert!(!reply.text.contains(value), "{value} in {}", reply.text);
        }
    }
    assert_eq!(token_fingerprint(NEW_KEY).len(), 12);
}

#[tokio::test]
async fn bad_credential_bodies_are_refused_and_change_nothing() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();
    let long = "k".repeat(257);
    let bodies = [
        json!({}),
        json!({ "grace_seconds": 10 }),
        json!({ "api_key": NEW_KEY, "apikey": "typo" }),
        json!({ "api_key": "" }),
        json!({ "api_key": long }),
        json!({ "secret": "line\nbreak" }),
        json!({ "secret": "tab\there" }),
        json!({ "secret": "del\u{7f}" }),
        json!({ "secret": 12345 }),
        json!({ "secret": null }),
        json!({ "api_key": ["a"] }),
        json!({ "oauth_client_id": "with:colon" }),
        json!({ "api_key": NEW_KEY, "grace_seconds": 3601 }),
        json!({ "api_key": NEW_KEY, "grace_seconds": -1 }),
        json!({ "api_key": NEW_KEY, "grace_seconds": 1.5 }),
        json!({ "api_key": NEW_KEY, "grace_seconds": "10" }),
        // One bad field spoils the whole body: the good one is not applied either.
        json!({ "api_key": NEW_KEY, "secret": "" }),
    ];

    for body in bodies {
        // WHEN a malformed body is sent
        let reply = sandbox.put("/sandbox/credentials", body.clone()).await;

        // THEN it is a 400 with an error code, and its description quotes no value
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body} → {}",
            reply.text
        );
        assert!(reply.body["error"].is_string(), "{}", reply.text);
        assert!(!reply.text.contains(NEW_KEY), "{}", reply.text);
        assert!(!reply.text.contains("line"), "{}", reply.text);
    }
    let no_body = sandbox
        .request(Method::PUT, "/sandbox/credentials", None)
        .await;
    assert_eq!(no_body.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_body.error(), "invalid_request");

    // AND the start-up credentials are still the only ones
    assert_eq!(
        sandbox.get("/sandbox/credentials").await.body,
        json!({
            "current": fingerprints(API_KEY, SECRET, OAUTH_ID, OAUTH_SECRET),
            "previous": null,
        })
    );
    assert_eq!(availability(&sandbox, API_KEY).await.status, StatusCode::OK);
}

#[tokio::test]
async fn values_at_the_limits_are_accepted() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();
    let longest = "é".repeat(256);

    // WHEN the api_key is rotated to 256 characters and the secret to one, with spaces allowed
    rotate(
        &sandbox,
        json!({ "api_key": longest, "secret": "s", "oauth_client_secret": "a b:c",
                "grace_seconds": 0 }),
    )
    .await;

    // THEN they authenticate
    let reply = sandbox
        .token_with(Kind::Enrol, "user-1", &longest, "s")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let encoded: String = longest.chars().map(|_| "%C3%A9").collect();
    let oauth = sandbox.oauth(&encoded, OAUTH_ID, "a b:c", GRANT).await;
    assert_eq!(oauth.status, StatusCode::OK, "{}", oauth.text);
}

#[tokio::test]
async fn during_the_grace_period_old_and_new_credentials_are_both_accepted() {
    // GIVEN every credential rotated with a one-minute grace period
    let sandbox = Sandbox::new();
    let reply = rotate(
        &sandbox,
        json!({
            "api_key": NEW_KEY, "secret": NEW_SECRET,
            "oauth_client_id": NEW_OAUTH_ID, "oauth_client_secret": NEW_OAUTH_SECRET,
            "grace_seconds": 60,
        }),
    )
    .await;

    // WHEN old and new credentials are used
    let old = sandbox
        .token_with(Kind::Enrol, "user-1", API_KEY, SECRET)
        .await;
    let new = sandbox
        .token_with(Kind::Enrol, "user-1", NEW_KEY, NEW_SECRET)
        .await;
    let mixed = sandbox
        .token_with(Kind::Enrol, "user-1", NEW_KEY, SECRET)
        .await;
    let oauth_old = sandbox.oauth(API_KEY, OAUTH_ID, OAUTH_SECRET, GRANT).await;
    let oauth_new = sandbox
        .oauth(NEW_KEY, NEW_OAUTH_ID, NEW_OAUTH_SECRET, GRANT)
        .await;

    // THEN both generations work, but a key from one with a secret from the other does not
    assert_eq!(old.status, StatusCode::OK, "{}", old.text);
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    assert_eq!(mixed.body, invalid_key_body());
    assert_eq!(oauth_old.status, StatusCode::OK, "{}", oauth_old.text);
    assert_eq!(oauth_new.status, StatusCode::OK, "{}", oauth_new.text);
    assert_eq!(availability(&sandbox, API_KEY).await.status, StatusCode::OK);

    // AND the answer shows the previous fingerprints with the time left
    let previous = &reply.body["previous"];
    for (field, value) in [
        ("api_key", API_KEY),
        ("secret", SECRET),
        ("oauth_client_id", OAUTH_ID),
        ("oauth_client_secret", OAUTH_SECRET),
    ] {
        assert_eq!(
            previous[field],
            json!(token_fingerprint(value)),
            "{previous}"
        );
    }
    let left = previous["grace_seconds_left"].as_f64().expect("a number");
    assert!(left > 59.0 && left <= 60.0, "{left}");

    // AND a rotation without grace ends the overlap at once
    rotate(&sandbox, json!({ "secret": "third-secret" })).await;
    let start_up = sandbox
        .token_with(Kind::Enrol, "user-1", API_KEY, SECRET)
        .await;
    assert_eq!(start_up.body, invalid_key_body());
    let second = sandbox
        .token_with(Kind::Enrol, "user-1", NEW_KEY, NEW_SECRET)
        .await;
    assert_eq!(second.body, invalid_key_body());
    assert_eq!(
        sandbox.get("/sandbox/credentials").await.body["previous"],
        json!(null)
    );
}

#[tokio::test]
async fn the_old_credentials_stop_working_when_the_grace_period_ends() {
    // GIVEN the api_key rotated with a one-second grace period
    let sandbox = Sandbox::new();
    rotate(&sandbox, json!({ "api_key": NEW_KEY, "grace_seconds": 1 })).await;
    assert_eq!(availability(&sandbox, API_KEY).await.status, StatusCode::OK);

    // WHEN the period is over
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // THEN the old key is refused like any wrong key, and no previous set is shown
    let reply = availability(&sandbox, API_KEY).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, invalid_key_body());
    assert_eq!(availability(&sandbox, NEW_KEY).await.status, StatusCode::OK);
    assert_eq!(
        sandbox.get("/sandbox/credentials").await.body["previous"],
        json!(null)
    );
}
