//! Enrol and verify claims: tokens, scans and the once-only validate call.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{API_KEY, Kind, SECRET, Sandbox, validate_body};
use iproov_sandbox::token_fingerprint;
use serde_json::json;

#[tokio::test]
async fn full_enrol_scan_validate_then_verify_flow_passes() {
    // GIVEN a fresh sandbox and an enrol token for a new user
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;

    // WHEN the scan passes and the enrolment is validated
    assert_eq!(sandbox.scan(&token, "passed").await.status, StatusCode::OK);
    let enrolled = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN validate answers passed with a frame, and the user is active
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.text);
    assert_eq!(enrolled.body["passed"], json!(true));
    assert_eq!(enrolled.body["type"], json!("enrol"));
    assert_eq!(enrolled.body["token"], json!(token));
    assert_eq!(enrolled.body["assurance_type"], json!("genuine_presence"));
    assert_eq!(enrolled.body["frame_available"], json!(true));
    assert!(
        enrolled.body["frame"]
            .as_str()
            .is_some_and(|f| !f.is_empty())
    );
    assert_eq!(
        enrolled.body["signals"]["anti_spoofing"]["passed"],
        json!(true)
    );
    assert!(enrolled.body.get("reason").is_none());
    let user = sandbox.get("/sandbox/users/user-1").await;
    assert_eq!(user.body["status"], json!("Active"));
    assert_eq!(user.body["enrolled"], json!(true));

    // WHEN the user then logs in with a verify token
    let verify = sandbox.issue(Kind::Verify, "user-1").await;
    sandbox.scan(&verify, "passed").await;
    let verified = sandbox.validate(Kind::Verify, "user-1", &verify).await;

    // THEN the verification passes with a matching signal
    assert_eq!(verified.body["passed"], json!(true), "{}", verified.text);
    assert_eq!(verified.body["type"], json!("verify"));
    assert_eq!(verified.body["signals"]["matching"]["passed"], json!(true));
}

#[tokio::test]
async fn token_answer_has_every_documented_field_and_an_unknown_one() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN an enrol token is requested with a Host header and a risk profile
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v2/claim/enrol/token")
        .header("host", "127.0.0.1:4600")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({
                "api_key": API_KEY, "secret": SECRET, "resource": "r",
                "user_id": "user-1", "assurance_type": "liveness", "risk_profile": "low"
            })
            .to_string(),
        ))
        .expect("request");
    let reply = sandbox.send(request).await;

    // THEN every field is there, the base URL host comes from the Host header, and an extra
    // field tests the client's tolerance
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let token = reply.body["token"].as_str().expect("token");
    assert!(token.len() >= 64);
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_eq!(reply.body["primary"], json!("127.0.0.1:4600"));
    assert_eq!(reply.body["redirect_domain"], json!("127.0.0.1:4600"));
    assert_eq!(reply.body["user_id"], json!("user-1"));
    assert_eq!(reply.body["risk_profile"], json!("low"));
    assert!(reply.body["pod"].is_string());
    assert!(reply.body["fallback"][0]["type"].is_string());
    assert!(reply.body["fallback"][0]["message"].is_string());
    assert_eq!(reply.body["sandbox"], json!(true));
}

#[tokio::test]
async fn validating_twice_answers_invalid_token_the_second_time() {
    // GIVEN a scanned enrol token that was validated once
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;
    let first = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert_eq!(first.status, StatusCode::OK);

    // WHEN it is validated again
    let second = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN iProov refuses: validate works once per token
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.error(), "invalid_token");
}

#[tokio::test]
async fn validating_before_the_scan_answers_invalid_token_without_consuming_it() {
    // GIVEN a token whose scan has not finished
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;

    // WHEN validate is called too early
    let early = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN it is refused, and the token still validates once the scan is done
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert_eq!(early.error(), "invalid_token");
    sandbox.scan(&token, "passed").await;
    let later = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert_eq!(later.body["passed"], json!(true), "{}", later.text);
}

#[tokio::test]
async fn an_expired_token_answers_invalid_token() {
    // GIVEN tokens that live 200 ms
    let sandbox = Sandbox::new();
    let reply = sandbox
        .put("/sandbox/config", json!({ "token_ttl_seconds": 0.2 }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN validate comes after the token expired
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN it is refused like any unusable token
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error(), "invalid_token");
}

#[tokio::test]
async fn a_zero_ttl_makes_tokens_expire_at_once() {
    // GIVEN a token lifetime of zero
    let sandbox = Sandbox::new();
    sandbox
        .put("/sandbox/config", json!({ "token_ttl_seconds": 0 }))
        .await;
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN it is validated straight away
    let reply = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN it has already expired
    assert_eq!(reply.error(), "invalid_token");
}

#[tokio::test]
async fn a_wrong_api_key_or_secret_is_invalid_key_on_token_and_validate() {
    // GIVEN a sandbox with a scanned token
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    for (api_key, secret) in [("wrong", SECRET), (API_KEY, "wrong")] {
        // WHEN a token or validate call carries wrong credentials
        let issued = sandbox
            .post(
                "/api/v2/claim/enrol/token",
                json!({ "api_key": api_key, "secret": secret, "resource": "r", "user_id": "u" }),
            )
            .await;
        let mut body = validate_body("user-1", &token);
        body["api_key"] = json!(api_key);
        body["secret"] = json!(secret);
        let validated = sandbox.validate_body(Kind::Enrol, body).await;

        // THEN both are 401 invalid_key
        for reply in [issued, validated] {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert_eq!(reply.error(), "invalid_key");
        }
    }

    // AND the token was not consumed by the refused calls
    let reply = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert_eq!(reply.body["passed"], json!(true), "{}", reply.text);
    // AND only the accepted validate counts as one (a function that refreshes rotated
    // credentials and asks again has validated once)
    let stats = sandbox.stats().await;
    assert_eq!(stats["validations"][token_fingerprint(&token)], json!(1));
}

#[tokio::test]
async fn an_ipv6_address_is_invalid_ip_but_no_ip_is_accepted() {
    // GIVEN a scanned token
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN validate carries an IPv6 address
    let mut body = validate_body("user-1", &token);
    body["ip"] = json!("2001:db8::1");
    let reply = sandbox.validate_body(Kind::Enrol, body.clone()).await;

    // THEN it is refused as invalid_ip
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error(), "invalid_ip");

    // AND the same call without an ip succeeds (the contract allows omitting it)
    body.as_object_mut().expect("object").remove("ip");
    let reply = sandbox.validate_body(Kind::Enrol, body).await;
    assert_eq!(reply.body["passed"], json!(true), "{}", reply.text);
}

#[tokio::test]
async fn verify_tokens_need_a_known_and_activated_user() {
    // GIVEN a user who only got an enrol token, and one never seen
    let sandbox = Sandbox::new();
    sandbox.issue(Kind::Enrol, "half-enrolled").await;

    // WHEN verify tokens are requested for them
    let inactive = sandbox.token(Kind::Verify, "half-enrolled").await;
    let unknown = sandbox.token(Kind::Verify, "stranger").await;

    // THEN iProov refuses with inactive_user and no_user
    assert_eq!(inactive.status, StatusCode::BAD_REQUEST);
    assert_eq!(inactive.error(), "inactive_user");
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.error(), "no_user");
}

#[tokio::test]
async fn enrolling_with_activate_false_leaves_the_user_inactive() {
    // GIVEN a passed enrol scan
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN it is validated with activate=false
    let mut body = validate_body("user-1", &token);
    body["activate"] = json!(false);
    let reply = sandbox.validate_body(Kind::Enrol, body).await;

    // THEN the enrolment passes but the user cannot verify
    assert_eq!(reply.body["passed"], json!(true), "{}", reply.text);
    assert_eq!(
        sandbox.token(Kind::Verify, "user-1").await.error(),
        "inactive_user"
    );
}

#[tokio::test]
async fn an_active_user_may_enrol_again() {
    // GIVEN an enrolled user
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;

    // WHEN another enrol token is requested
    let reply = sandbox.token(Kind::Enrol, "user-1").await;

    // THEN it is issued (re-enrolment) and the user stays active
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        sandbox.get("/sandbox/users/user-1").await.body["status"],
        json!("Active")
    );
}

#[tokio::test]
async fn a_failed_scan_validates_as_failed_with_its_reason_and_no_frame() {
    // GIVEN a scan that failed because the face was too dark, and one failed without reason
    let sandbox = Sandbox::new();
    let dark = sandbox.issue(Kind::Enrol, "user-1").await;
    let scan = sandbox
        .post(
            &format!("/sandbox/claims/{dark}/scan"),
            json!({ "outcome": "failed", "reason": "too_dark" }),
        )
        .await;
    assert_eq!(scan.status, StatusCode::OK, "{}", scan.text);
    let silent = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&silent, "failed").await;

    // WHEN both are validated
    let dark_reply = sandbox.validate(Kind::Enrol, "user-1", &dark).await;
    let silent_reply = sandbox.validate(Kind::Enrol, "user-1", &silent).await;

    // THEN they answer passed=false with the reason (default unknown), no frame, user inactive
    assert_eq!(dark_reply.status, StatusCode::OK);
    assert_eq!(dark_reply.body["passed"], json!(false));
    assert_eq!(dark_reply.body["reason"], json!("too_dark"));
    assert_eq!(dark_reply.body["frame_available"], json!(false));
    assert!(dark_reply.body.get("frame").is_none());
    assert_eq!(silent_reply.body["reason"], json!("unknown"));
    assert_eq!(
        sandbox.get("/sandbox/users/user-1").await.body["status"],
        json!("Inactive")
    );
}

#[tokio::test]
async fn a_token_is_only_valid_for_its_own_kind_and_user() {
    // GIVEN a scanned enrol token for user-1
    let sandbox = Sandbox::new();
    sandbox.enrol("user-2").await;
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN it is validated as a verify token, or for another user
    let wrong_kind = sandbox.validate(Kind::Verify, "user-1", &token).await;
    let wrong_user = sandbox.validate(Kind::Enrol, "user-2", &token).await;

    // THEN both are invalid_token, and the token still works for its own call
    assert_eq!(wrong_kind.error(), "invalid_token");
    assert_eq!(wrong_user.error(), "invalid_token");
    let right = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert_eq!(right.body["passed"], json!(true), "{}", right.text);
}

#[tokio::test]
async fn malformed_user_ids_and_assurance_types_are_refused() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();

    // WHEN tokens are requested with an e-mail-like id with spaces, an over-long id, or an
    // unknown assurance type
    let spaced = sandbox.token(Kind::Enrol, "john doe").await;
    let long = sandbox.token(Kind::Enrol, &"x".repeat(257)).await;
    let assurance = sandbox
        .post(
            "/api/v2/claim/enrol/token",
            json!({ "api_key": API_KEY, "secret": SECRET, "resource": "r", "user_id": "u",
                    "assurance_type": "best" }),
        )
        .await;

    // THEN they are refused with iProov's codes
    assert_eq!(spaced.error(), "invalid_user_id");
    assert_eq!(long.error(), "invalid_user_id");
    assert_eq!(assurance.status, StatusCode::FORBIDDEN);
    assert_eq!(assurance.error(), "invalid_assurance_type");
}

#[tokio::test]
async fn missing_fields_are_missing_data() {
    // GIVEN a sandbox with a scanned token
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN each required validate field is left out in turn
    for field in ["api_key", "secret", "user_id", "token", "client"] {
        let mut body = validate_body("user-1", &token);
        body.as_object_mut().expect("object").remove(field);
        let reply = sandbox.validate_body(Kind::Enrol, body).await;

        // THEN the call is refused with missing_data
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(reply.error(), "missing_data", "{field}");
    }
    // AND the token survived every refusal
    let reply = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert_eq!(reply.body["passed"], json!(true));
}

#[tokio::test]
async fn invalidating_a_claim_aborts_it() {
    // GIVEN an issued token
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;

    // WHEN it is invalidated
    let reply = sandbox
        .post(
            &format!("/api/v2/claim/{token}/invalidate"),
            json!({ "reason": "user cancelled" }),
        )
        .await;

    // THEN the claim is aborted, cannot be scanned, and unknown tokens are refused
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({ "claim_aborted": true, "user_informed": false })
    );
    assert_eq!(
        sandbox.scan(&token, "passed").await.status,
        StatusCode::CONFLICT
    );
    let unknown = sandbox
        .post("/api/v2/claim/nope/invalidate", json!({ "reason": "x" }))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.error(), "invalid_token");
}

#[tokio::test]
async fn the_scan_control_refuses_unknown_and_already_validated_tokens() {
    // GIVEN a token validated once
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;
    sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // WHEN it is scanned again, and an unknown token is scanned
    let again = sandbox.scan(&token, "passed").await;
    let unknown = sandbox.scan("no-such-token", "passed").await;

    // THEN the first is a conflict and the second not found, both JSON
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error(), "already_validated");
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error(), "not_found");
}

#[tokio::test]
async fn stats_count_calls_per_route_and_validations_per_token() {
    // GIVEN an enrolment with one premature validate, one good one and an invalidate
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.validate(Kind::Enrol, "user-1", &token).await;
    sandbox.scan(&token, "passed").await;
    sandbox.validate(Kind::Enrol, "user-1", &token).await;
    let other = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox
        .post(
            &format!("/api/v2/claim/{other}/invalidate"),
            json!({ "reason": "r" }),
        )
        .await;

    // WHEN the statistics are read
    let stats = sandbox.stats().await;

    // THEN calls are counted per method and pattern, validations per token fingerprint
    assert_eq!(stats["calls"]["POST /claim/enrol/token"], json!(2));
    assert_eq!(stats["calls"]["POST /claim/enrol/validate"], json!(2));
    assert_eq!(stats["calls"]["POST /claim/*/invalidate"], json!(1));
    assert_eq!(stats["validations"][token_fingerprint(&token)], json!(2));
    assert!(
        stats["validations"]
            .get(token_fingerprint(&other))
            .is_none()
    );
    let printed = stats.to_string();
    assert!(!printed.contains(&token), "stats never show a token");
}

#[tokio::test]
async fn frame_mode_none_and_jpeg_change_the_validate_answer() {
    // GIVEN a sandbox returning no frames
    let sandbox = Sandbox::new();
    sandbox
        .put("/sandbox/config", json!({ "frame": "none" }))
        .await;
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN a passed scan is validated
    let none = sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN there is no frame
    assert_eq!(none.body["passed"], json!(true));
    assert_eq!(none.body["frame_available"], json!(false));
    assert!(none.body.get("frame").is_none());

    // GIVEN JPEG mode WHEN another passed scan is validated THEN both images are present
    sandbox
        .put("/sandbox/config", json!({ "frame": "jpeg" }))
        .await;
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;
    let jpeg = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    assert!(jpeg.body["frame"].is_string());
    assert!(
        jpeg.body["frame_jpeg"]
            .as_str()
            .is_some_and(|f| f.starts_with("/9j/"))
    );
}

#[tokio::test]
async fn deleting_a_user_stops_its_outstanding_tokens() {
    // GIVEN an enrolled user with a scanned verify token
    let sandbox = Sandbox::new();
    sandbox.enrol("user-1").await;
    let token = sandbox.issue(Kind::Verify, "user-1").await;
    sandbox.scan(&token, "passed").await;

    // WHEN the user is deleted through the API
    let access = sandbox.access_token().await;
    let deleted = sandbox
        .with_bearer(axum::http::Method::DELETE, "/api/v2/users/user-1", &access)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);

    // THEN the token no longer validates and the user is gone
    let reply = sandbox.validate(Kind::Verify, "user-1", &token).await;
    assert_eq!(reply.error(), "invalid_token");
    assert_eq!(
        sandbox.token(Kind::Verify, "user-1").await.error(),
        "no_user"
    );
}

#[tokio::test]
async fn the_control_surface_tells_what_a_token_was_asked_for() {
    // GIVEN an enrol token asked for liveness under a risk profile
    let sandbox = Sandbox::new();
    let reply = sandbox
        .post(
            "/api/v2/claim/enrol/token",
            json!({
                "api_key": API_KEY, "secret": SECRET, "resource": "test", "user_id": "user-1",
                "assurance_type": "liveness", "risk_profile": "step-up-high"
            }),
        )
        .await;
    let token = reply.body["token"].as_str().expect("a token").to_owned();

    // WHEN a test asks the control surface about it
    let claim = sandbox.get(&format!("/sandbox/claims/{token}")).await;

    // THEN it sees the kind, the policy and the state, and neither the user nor the token
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.text);
    assert_eq!(
        claim.body,
        json!({"kind": "enrol", "assurance_type": "liveness",
               "risk_profile": "step-up-high", "state": "awaiting_scan"})
    );
    // AND an unknown token is 404
    let unknown = sandbox.get("/sandbox/claims/nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
