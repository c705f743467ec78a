//! Fault injection, latency, rate limits and reset.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{API_KEY, Kind, SECRET, Sandbox};
use iproov_sandbox::token_fingerprint;
use serde_json::json;

#[tokio::test]
async fn a_429_fault_answers_twice_then_the_call_succeeds() {
    // GIVEN a fault: the next two enrol-token calls answer 429
    let sandbox = Sandbox::new();
    let fault = sandbox
        .post(
            "/sandbox/faults",
            json!({ "path": "/claim/enrol/token", "status": 429, "count": 2 }),
        )
        .await;
    assert_eq!(fault.status, StatusCode::OK, "{}", fault.text);

    // WHEN the token is requested three times
    let first = sandbox.token(Kind::Enrol, "user-1").await;
    let second = sandbox.token(Kind::Enrol, "user-1").await;
    let third = sandbox.token(Kind::Enrol, "user-1").await;

    // THEN the first two are 429 too_many_requests and the third is issued
    for reply in [&first, &second] {
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.error(), "too_many_requests");
    }
    assert_eq!(third.status, StatusCode::OK, "{}", third.text);
    assert_eq!(sandbox.stats().await["faults_triggered"], json!(2));
}

#[tokio::test]
async fn a_faulted_validate_does_not_consume_the_token() {
    // GIVEN a scanned token and a 503 fault on enrol-validate
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;
    sandbox
        .post(
            "/sandbox/faults",
            json!({ "path": "/claim/enrol/validate", "method": "POST", "status": 503,
                    "error": "server_error" }),
        )
        .await;

    // WHEN validate is called, faulted, and called again
    let faulted = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    let retried = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN the fault answered 503 without touching the token, so the retry passes
    assert_eq!(faulted.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(faulted.error(), "server_error");
    assert_eq!(retried.body["passed"], json!(true), "{}", retried.text);

    // AND the statistics show two calls but one validation that reached the service
    let stats = sandbox.stats().await;
    assert_eq!(stats["calls"]["POST /claim/enrol/validate"], json!(2));
    assert_eq!(stats["validations"][token_fingerprint(&token)], json!(1));
}

#[tokio::test]
async fn a_delay_only_fault_slows_the_call_but_answers_normally() {
    // GIVEN a 200 ms delay fault on availability
    let sandbox = Sandbox::new();
    sandbox
        .post(
            "/sandbox/faults",
            json!({ "path": "/availability", "delay_ms": 200 }),
        )
        .await;

    // WHEN availability is asked
    let started = Instant::now();
    let reply = sandbox
        .get(&format!("/api/v2/availability?api_key={API_KEY}"))
        .await;

    // THEN it answers normally, late
    assert_eq!(reply.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn faults_match_wildcard_paths_and_only_their_method() {
    // GIVEN a 500 fault on every user path, for DELETE only
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;
    let token = sandbox.access_token().await;
    sandbox
        .post(
            "/sandbox/faults",
            json!({ "path": "/users/{user_id}", "method": "DELETE", "status": 500 }),
        )
        .await;

    // WHEN the user is read and then deleted twice
    let read = sandbox
        .with_bearer(axum::http::Method::GET, "/api/v2/users/user-1", &token)
        .await;
    let first = sandbox
        .with_bearer(axum::http::Method::DELETE, "/api/v2/users/user-1", &token)
        .await;
    let second = sandbox
        .with_bearer(axum::http::Method::DELETE, "/api/v2/users/user-1", &token)
        .await;

    // THEN the read is untouched, the first delete fails with server_error, the second works
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first.error(), "server_error");
    assert_eq!(second.body["status"], json!("Deleted"));
}

#[tokio::test]
async fn clearing_faults_removes_pending_ones() {
    // GIVEN a pending fault
    let sandbox = Sandbox::new();
    sandbox
        .post(
            "/sandbox/faults",
            json!({ "path": "/claim/**", "status": 500, "count": 10 }),
        )
        .await;
    assert_eq!(
        sandbox.get("/sandbox/faults").await.body["faults"][0]["remaining"],
        json!(10)
    );

    // WHEN the faults are cleared
    let cleared = sandbox.delete("/sandbox/faults").await;

    // THEN calls answer normally again
    assert_eq!(cleared.body["faults"], json!([]));
    assert_eq!(
        sandbox.token(Kind::Enrol, "user-1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn latency_is_added_to_api_calls_only() {
    // GIVEN 150 ms of latency
    let sandbox = Sandbox::new();
    let reply = sandbox.put("/sandbox/latency", json!({ "ms": 150 })).await;
    assert_eq!(reply.body["latency_ms"], json!(150));

    // WHEN an API call and a control call are made
    let started = Instant::now();
    sandbox.token(Kind::Enrol, "user-1").await;
    let api_time = started.elapsed();
    let started = Instant::now();
    sandbox.get("/sandbox/stats").await;
    let control_time = started.elapsed();

    // THEN only the API call waited
    assert!(api_time >= Duration::from_millis(150), "{api_time:?}");
    assert!(
        control_time < Duration::from_millis(150),
        "{control_time:?}"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_per_api_key_on_token_endpoints() {
    // GIVEN a limit of 2 token calls per second
    let sandbox = Sandbox::new();
    let reply = sandbox
        .put("/sandbox/rate-limit", json!({ "per_second": 2 }))
        .await;
    assert_eq!(reply.body["per_second"], json!(2));

    // WHEN three token calls come at once, and one with another api_key
    let replies = [
        sandbox.token(Kind::Enrol, "user-1").await,
        sandbox.token(Kind::Enrol, "user-1").await,
        sandbox.token(Kind::Enrol, "user-1").await,
    ];
    let other_key = sandbox
        .post(
            "/api/v2/claim/enrol/token",
            json!({ "api_key": "another", "secret": SECRET, "resource": "r", "user_id": "u" }),
        )
        .await;

    // THEN the third is refused, the other key is not limited (just wrong)
    assert_eq!(replies[0].status, StatusCode::OK);
    assert_eq!(replies[1].status, StatusCode::OK);
    assert_eq!(replies[2].status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(replies[2].error(), "too_many_requests");
    assert_eq!(other_key.error(), "invalid_key");

    // AND switching the limit off lets calls through again
    sandbox
        .put("/sandbox/rate-limit", json!({ "per_second": 0 }))
        .await;
    assert_eq!(
        sandbox.token(Kind::Enrol, "user-1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn reset_forgets_users_faults_latency_limits_config_and_counters() {
    // GIVEN a sandbox with state of every kind
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;
    sandbox
        .post(
            "/sandbox/faults",
            json!({ "path": "/availability", "status": 500 }),
        )
        .await;
    sandbox.put("/sandbox/latency", json!({ "ms": 1 })).await;
    sandbox
        .put("/sandbox/rate-limit", json!({ "per_second": 1 }))
        .await;
    sandbox
        .put("/sandbox/config", json!({ "frame": "none" }))
        .await;

    // WHEN it is reset
    let reply = sandbox.post("/sandbox/reset", json!({})).await;

    // THEN everything is back to the start
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        sandbox.get("/sandbox/users/user-1").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sandbox.get("/sandbox/faults").await.body["faults"],
        json!([])
    );
    assert_eq!(
        sandbox.get("/sandbox/latency").await.body["latency_ms"],
        json!(0)
    );
    assert_eq!(
        sandbox.get("/sandbox/rate-limit").await.body["per_second"],
        json!(null)
    );
    assert_eq!(
        sandbox.get("/sandbox/config").await.body["frame"],
        json!("png")
    );
    let stats = sandbox.stats().await;
    assert_eq!(stats["calls"], json!({}));
    assert_eq!(stats["validations"], json!({}));
    let api_key_ok = sandbox
        .get(&format!("/api/v2/availability?api_key={API_KEY}"))
        .await;
    assert_eq!(api_key_ok.status, StatusCode::OK);
}

#[tokio::test]
async fn control_bodies_with_unknown_fields_are_refused() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN config is sent with a typo
    let reply = sandbox
        .put("/sandbox/config", json!({ "token_ttl": 1 }))
        .await;

    // THEN it is refused instead of silently ignored
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error(), "invalid_request");
    assert_eq!(
        sandbox.get("/sandbox/config").await.body["token_ttl_seconds"],
        json!(600.0)
    );
}
