//! The iProov client against a scripted local HTTP server: what goes on the wire, how answers
//! are read, how failures are typed, and what never shows up in Debug output or logs.

mod iproov_mock;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use iproov_client::{
    AssuranceType, ClaimToken, Fallback, Frame, IProovConfig, IProovError, StaticCredentials,
    Token, ValidateOutcome, ValidateRequest,
};
use iproov_mock::*;
use serde_json::json;

const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF-face-pixels";

// ----- what goes on the wire -----

#[tokio::test]
async fn token_calls_carry_credentials_and_configuration_in_the_json_body_never_in_the_url() {
    // GIVEN a mock that issues enrol and verify tokens
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        token_answer("tok-enrol", user.as_str()),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        token_answer("tok-verify", user.as_str()),
    );
    let client = client_with(IProovConfig {
        assurance_type: AssuranceType::Liveness,
        ..config(&mock.base_url())
    });

    // WHEN both tokens are requested
    let enrol = client.enrol_token(&user).await.unwrap();
    let verify = client.verify_token(&user).await.unwrap();

    // THEN each body holds key, secret, resource, pseudonymous user id, assurance type and risk profile
    assert_eq!(enrol.token.expose(), "tok-enrol");
    assert_eq!(verify.token.expose(), "tok-verify");
    for path in ["/claim/enrol/token", "/claim/verify/token"] {
        let sent = &mock.requests_to("POST", path)[0];
        assert_eq!(
            sent.json(),
            json!({
                "api_key": API_KEY, "secret": SECRET, "resource": RESOURCE,
                "user_id": user.as_str(), "assurance_type": "liveness", "risk_profile": RISK_PROFILE
            })
        );
        assert_eq!(
            sent.header("content-type").as_deref(),
            Some("application/json")
        );
        // AND nothing secret travels in the path, query or headers
        let outside = sent.outside_body();
        assert!(
            !outside.contains(API_KEY) && !outside.contains(SECRET),
            "{outside}"
        );
    }
}

#[tokio::test]
async fn risk_profile_is_omitted_when_not_configured() {
    // GIVEN a client without a risk profile
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        token_answer("t", user().as_str()),
    );
    let client = client_with(IProovConfig {
        risk_profile: None,
        ..config(&mock.base_url())
    });
    // WHEN a token is requested
    client.enrol_token(&user()).await.unwrap();
    // THEN the body has no risk_profile and the default assurance type
    let body = mock.requests()[0].json();
    assert!(body.get("risk_profile").is_none());
    assert_eq!(body["assurance_type"], "genuine_presence");
}

#[tokio::test]
async fn enrol_validate_activates_the_user_and_verify_validate_does_not_send_activate() {
    // GIVEN a mock that passes both validations
    let mock = Mock::start().await;
    let (user, token) = (user(), Token::new("tok-1"));
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        validate_answer(true, "tok-1"),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        validate_answer(true, "tok-1"),
    );
    let client = client(&mock);

    // WHEN both are validated from an IPv4 client
    let req = validate_request(&user, &token, "203.0.113.9");
    assert!(client.enrol_validate(req).await.unwrap().passed);
    assert!(client.verify_validate(req).await.unwrap().passed);

    // THEN the enrol body is complete and says activate, the verify body has no activate
    let enrol = mock.requests_to("POST", "/claim/enrol/validate")[0].json();
    assert_eq!(
        enrol,
        json!({
            "api_key": API_KEY, "secret": SECRET, "user_id": user.as_str(), "token": "tok-1",
            "ip": "203.0.113.9", "client": "Mozilla/5.0 (test)", "risk_profile": RISK_PROFILE,
            "activate": true
        })
    );
    let verify = mock.requests_to("POST", "/claim/verify/validate")[0].json();
    assert!(verify.get("activate").is_none());
    assert_eq!(verify["token"], "tok-1");
}

#[tokio::test]
async fn an_ipv6_client_address_is_never_sent_and_an_ipv4_mapped_one_is_sent_as_ipv4() {
    // GIVEN a mock that answers every verify validate
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/verify/validate",
        validate_answer(false, "tok-6"),
    );
    let client = client(&mock);
    let (user, token) = (user(), Token::new("tok-6"));

    // WHEN validating from a native IPv6, an IPv4-mapped IPv6, and an unknown address
    client
        .verify_validate(validate_request(&user, &token, "2001:db8::7"))
        .await
        .unwrap();
    client
        .verify_validate(validate_request(&user, &token, "::ffff:198.51.100.4"))
        .await
        .unwrap();
    let no_ip = ValidateRequest {
        client_ip: None,
        ..validate_request(&user, &token, "10.0.0.1")
    };
    client.verify_validate(no_ip).await.unwrap();

    // THEN the IPv6 address is omitted, the mapped one becomes IPv4, and none is invented
    let bodies: Vec<_> = mock.requests().iter().map(|r| r.json()).collect();
    assert!(bodies[0].get("ip").is_none());
    assert!(!mock.requests()[0].body.windows(8).any(|w| w == b"2001:db8"));
    assert_eq!(bodies[1]["ip"], "198.51.100.4");
    assert!(bodies[2].get("ip").is_none());
}

#[tokio::test]
async fn a_long_client_identifier_is_truncated_to_256_characters() {
    let mock = Mock::start().await;
    mock.enqueue("POST", "/claim/verify/validate", validate_answer(true, "t"));
    let (user, token) = (user(), Token::new("t"));
    let ua = "x".repeat(1000);
    let req = ValidateRequest {
        client: &ua,
        ..validate_request(&user, &token, "10.0.0.1")
    };
    client(&mock).verify_validate(req).await.unwrap();
    assert_eq!(
        mock.requests()[0].json()["client"].as_str().unwrap().len(),
        256
    );
}

#[tokio::test]
async fn invalidate_posts_the_reason_to_the_token_path() {
    // GIVEN a token to cancel
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/tok-9/invalidate",
        Reply::json(200, json!({"claim_aborted": true, "user_informed": false})),
    );
    // WHEN it is invalidated
    client(&mock)
        .invalidate(&Token::new("tok-9"), "session_replaced")
        .await
        .unwrap();
    // THEN the body carries only the reason
    assert_eq!(
        mock.requests()[0].json(),
        json!({"reason": "session_replaced"})
    );
}

#[tokio::test]
async fn path_segments_are_percent_encoded_so_a_token_cannot_change_the_endpoint() {
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/a%2F..%2Fb/invalidate",
        Reply::json(200, json!({})),
    );
    client(&mock)
        .invalidate(&Token::new("a/../b"), "x")
        .await
        .unwrap();
    assert_eq!(mock.requests()[0].path, "/claim/a%2F..%2Fb/invalidate");
}

#[tokio::test]
async fn availability_sends_the_api_key_in_the_query_as_the_contract_requires() {
    // GIVEN a platform that is up
    let mock = Mock::start().await;
    mock.enqueue(
        "GET",
        "/availability",
        Reply::json(200, json!({"up": true, "version": "2.13"})),
    );
    // WHEN availability is asked
    let up = client(&mock).availability().await.unwrap();
    // THEN it is up, and the key was in the query (only there)
    assert!(up);
    let sent = &mock.requests()[0];
    assert_eq!(
        sent.query.as_deref(),
        Some(format!("api_key={API_KEY}").as_str())
    );
    assert!(sent.body.is_empty());
}

#[tokio::test]
async fn availability_reports_down_when_the_platform_says_so() {
    let mock = Mock::start().await;
    mock.enqueue(
        "GET",
        "/availability",
        Reply::json(200, json!({"up": false})),
    );
    assert!(!client(&mock).availability().await.unwrap());
}

// ----- reading answers tolerantly -----

#[tokio::test]
async fn token_answer_with_unknown_fields_is_read_and_missing_optionals_are_fine() {
    // GIVEN one answer with extra fields, and one with nothing but the token
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        token_answer("tok-a", user.as_str()),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::json(200, json!({"token": "tok-b"})),
    );
    let client = client(&mock);

    // WHEN both are read
    let full = client.enrol_token(&user).await.unwrap();
    let bare = client.enrol_token(&user).await.unwrap();

    // THEN the known fields are kept and the absent ones are empty
    assert_eq!(
        full,
        ClaimToken {
            token: Token::new("tok-a"),
            user_id: user.clone(),
            primary: Some("genuine_presence".into()),
            fallback: vec![Fallback {
                kind: "otp".into(),
                message: Some("Use a one-time code".into())
            }],
        }
    );
    assert_eq!(bare.token.expose(), "tok-b");
    assert_eq!(bare.user_id, user);
    assert_eq!(bare.primary, None);
    assert!(bare.fallback.is_empty());
}

#[tokio::test]
async fn token_answer_without_a_token_is_a_decode_error() {
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::json(200, json!({"primary": "x"})),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::json(200, json!({"token": ""})),
    );
    let client = client(&mock);
    assert_eq!(
        client.enrol_token(&user()).await.unwrap_err(),
        IProovError::Decode
    );
    assert_eq!(
        client.enrol_token(&user()).await.unwrap_err(),
        IProovError::Decode
    );
}

#[tokio::test]
async fn minimal_validate_answer_gives_an_outcome_with_no_reason_and_no_frame() {
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        Reply::json(
            200,
            json!({"passed": false, "token": "t", "type": "verify"}),
        ),
    );
    let (user, token) = (user(), Token::new("t"));
    let outcome = client(&mock)
        .verify_validate(validate_request(&user, &token, "10.0.0.1"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ValidateOutcome {
            passed: false,
            reason: None,
            frame: None,
            assurance_type: None
        }
    );
}

#[tokio::test]
async fn rich_validate_answer_keeps_reason_frame_and_assurance_type_and_ignores_the_rest() {
    // GIVEN an answer with a PNG frame, signals, a risk profile and fields we do not know
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        Reply::json(200, json!({
            "passed": false, "token": "t", "type": "enrol", "reason": "sunglasses",
            "frame_available": true, "frame": STANDARD.encode(PNG), "risk_profile": "rp",
            "assurance_type": "genuine_presence",
            "signals": {"anti_spoofing": {"passed": true}, "matching": {"passed": false}, "multiple_faces_found": false},
            "score": 0.97, "future": [1, 2, 3]
        })),
    );
    let (user, token) = (user(), Token::new("t"));
    // WHEN it is read
    let outcome = client(&mock)
        .enrol_validate(validate_request(&user, &token, "10.0.0.1"))
        .await
        .unwrap();
    // THEN only the public fields come out
    assert!(!outcome.passed);
    assert_eq!(outcome.reason.as_deref(), Some("sunglasses"));
    assert_eq!(outcome.assurance_type.as_deref(), Some("genuine_presence"));
    assert_eq!(
        outcome.frame,
        Some(Frame {
            bytes: PNG.to_vec(),
            content_type: "image/png"
        })
    );
}

#[tokio::test]
async fn frame_content_type_is_sniffed_from_the_bytes_not_the_field_name() {
    // GIVEN a JPEG sent in `frame`, and a JPEG sent only in `frame_jpeg`
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        Reply::json(
            200,
            json!({"passed": true, "token": "t", "type": "enrol", "frame": STANDARD.encode(JPEG)}),
        ),
    );
    mock.enqueue("POST", "/claim/enrol/validate", Reply::json(200, json!({"passed": true, "token": "t", "type": "enrol", "frame_jpeg": STANDARD.encode(JPEG)})));
    let client = client(&mock);
    let (user, token) = (user(), Token::new("t"));
    // WHEN both are read
    let first = client
        .enrol_validate(validate_request(&user, &token, "10.0.0.1"))
        .await
        .unwrap();
    let second = client
        .enrol_validate(validate_request(&user, &token, "10.0.0.1"))
        .await
        .unwrap();
    // THEN both are JPEG images
    for outcome in [first, second] {
        let frame = outcome.frame.expect("frame");
        assert_eq!(frame.content_type, "image/jpeg");
        assert_eq!(frame.bytes, JPEG);
    }
}

#[tokio::test]
async fn a_verification_answer_s_image_is_not_read() {
    // GIVEN a verify answer carrying a decodable frame, a frame_jpeg and a reason
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        Reply::json(
            200,
            json!({
                "passed": true, "token": "t", "type": "verify", "reason": "ok",
                "frame": STANDARD.encode(PNG), "frame_jpeg": STANDARD.encode(JPEG),
                "assurance_type": "genuine_presence"
            }),
        ),
    );
    let (user, token) = (user(), Token::new("t"));
    // WHEN it is read
    let outcome = client(&mock)
        .verify_validate(validate_request(&user, &token, "10.0.0.1"))
        .await
        .unwrap();
    // THEN the verdict comes out and no image does: a login keeps none
    assert!(outcome.passed);
    assert_eq!(outcome.reason.as_deref(), Some("ok"));
    assert_eq!(outcome.assurance_type.as_deref(), Some("genuine_presence"));
    assert_eq!(outcome.frame, None);
}

#[tokio::test]
async fn an_undecodable_frame_is_treated_as_absent_not_as_an_error() {
    // GIVEN answers whose frame is not base64, not an image, or an undecodable frame with a good frame_jpeg
    let mock = Mock::start().await;
    let answers = [
        json!({"passed": true, "token": "t", "type": "enrol", "frame": "%%% not base64 %%%"}),
        json!({"passed": true, "token": "t", "type": "enrol", "frame": STANDARD.encode(b"GIF89a-not-allowed")}),
        json!({"passed": true, "token": "t", "type": "enrol", "frame": "!!", "frame_jpeg": STANDARD.encode(JPEG)}),
    ];
    for answer in answers {
        mock.enqueue("POST", "/claim/enrol/validate", Reply::json(200, answer));
    }
    let client = client(&mock);
    let (user, token) = (user(), Token::new("t"));
    // WHEN they are read
    let mut frames = Vec::new();
    for _ in 0..3 {
        let outcome = client
            .enrol_validate(validate_request(&user, &token, "10.0.0.1"))
            .await
            .unwrap();
        // THEN the verdict survives
        assert!(outcome.passed);
        frames.push(outcome.frame);
    }
    // AND the frame is absent, unless a usable one was also sent
    assert_eq!(frames[0], None);
    assert_eq!(frames[1], None);
    assert_eq!(
        frames[2].as_ref().map(|f| f.content_type),
        Some("image/jpeg")
    );
}

#[tokio::test]
async fn a_validate_answer_about_another_token_is_refused_as_unknown_outcome() {
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        validate_answer(true, "someone-elses-token"),
    );
    let (user, token) = (user(), Token::new("mine"));
    let err = client(&mock)
        .enrol_validate(validate_request(&user, &token, "10.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(err, IProovError::Decode);
    assert!(err.outcome_unknown());
}

#[tokio::test]
async fn an_unreadable_validate_success_is_an_unknown_outcome() {
    // GIVEN a 200 whose body is not the documented JSON
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        Reply::text(200, "<html>ok</html>"),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        Reply::json(200, json!({"passed": "yes", "token": "t"})),
    );
    let client = client(&mock);
    let (user, token) = (user(), Token::new("t"));
    for _ in 0..2 {
        // WHEN validated
        let err = client
            .enrol_validate(validate_request(&user, &token, "10.0.0.1"))
            .await
            .unwrap_err();
        // THEN the outcome is unknown (iProov did answer; we could not read it)
        assert_eq!(err, IProovError::Decode);
        assert!(err.outcome_unknown() && !err.is_retryable());
    }
    assert_eq!(mock.requests().len(), 2);
}

// ----- failures, typed -----

#[tokio::test]
async fn error_answers_map_to_typed_errors() {
    // GIVEN a client that does not retry transient failures
    let mock = Mock::start().await;
    let client = client_with(IProovConfig {
        retry: iproov_client::RetryPolicy {
            max_attempts: 1,
            ..config(&mock.base_url()).retry
        },
        ..config(&mock.base_url())
    });
    let user = user();
    let table: Vec<(Reply, IProovError)> = vec![
        (
            Reply::error(400, "invalid_token"),
            IProovError::InvalidToken,
        ),
        (
            Reply::error(400, "invalid_user_id"),
            IProovError::InvalidUserId,
        ),
        (
            Reply::error(400, "already_enrolled"),
            IProovError::Rejected {
                status: 400,
                code: "already_enrolled".into(),
            },
        ),
        (
            Reply::error(400, "no_user"),
            IProovError::Rejected {
                status: 400,
                code: "no_user".into(),
            },
        ),
        (Reply::error(401, "invalid_key"), IProovError::InvalidKey),
        (
            Reply::error(401, "invalid_oauth"),
            IProovError::InvalidOAuth,
        ),
        (
            Reply::error(403, "invalid_assurance_type"),
            IProovError::Rejected {
                status: 403,
                code: "invalid_assurance_type".into(),
            },
        ),
        (
            Reply::text(403, "Access denied"),
            IProovError::Rejected {
                status: 403,
                code: "unknown".into(),
            },
        ),
        (Reply::error(404, "not_found"), IProovError::NotFound),
        (Reply::text(404, "<html>nope</html>"), IProovError::NotFound),
        (
            Reply::error(429, "too_many_requests"),
            IProovError::RateLimited,
        ),
        (Reply::text(429, "slow down"), IProovError::RateLimited),
        (
            Reply::error(500, "server_error"),
            IProovError::Unavailable { status: 500 },
        ),
        (
            Reply::text(502, "<html>Bad Gateway</html>"),
            IProovError::Unavailable { status: 502 },
        ),
        (
            Reply::text(503, ""),
            IProovError::Unavailable { status: 503 },
        ),
        (
            Reply::text(400, "not json"),
            IProovError::Rejected {
                status: 400,
                code: "unknown".into(),
            },
        ),
        (
            Reply::json(400, json!({"error_description": "no code"})),
            IProovError::Rejected {
                status: 400,
                code: "unknown".into(),
            },
        ),
        (
            Reply::text(302, ""),
            IProovError::Rejected {
                status: 302,
                code: "unknown".into(),
            },
        ),
        (Reply::text(200, "not json"), IProovError::Decode),
    ];
    for (reply, expected) in table {
        mock.enqueue("POST", "/claim/enrol/token", reply.clone());
        if expected == IProovError::InvalidKey {
            // answered again after the one credential refresh
            mock.enqueue("POST", "/claim/enrol/token", reply.clone());
        }
        // WHEN a token is requested
        let err = client.enrol_token(&user).await.unwrap_err();
        // THEN the error is typed as the table says
        assert_eq!(err, expected, "for {reply:?}");
    }
    // AND no transient failure was retried, so every scripted reply was used exactly once
    assert_eq!(mock.requests().len(), 20);
}

#[test]
fn error_codes_and_classes_are_stable() {
    use IProovError::*;
    let cases: Vec<(IProovError, &str, bool, bool)> = vec![
        (InvalidToken, "invalid_token", false, false),
        (InvalidKey, "invalid_key", false, false),
        (InvalidOAuth, "invalid_oauth", false, false),
        (InvalidUserId, "invalid_user_id", false, false),
        (RateLimited, "rate_limited", true, false),
        (Unavailable { status: 503 }, "unavailable", true, true),
        (
            Rejected {
                status: 400,
                code: "x".into(),
            },
            "rejected",
            false,
            false,
        ),
        (NotFound, "not_found", false, false),
        (Timeout { maybe_sent: true }, "timeout", true, true),
        (Timeout { maybe_sent: false }, "timeout", true, false),
        (Transport { maybe_sent: true }, "transport", true, true),
        (Transport { maybe_sent: false }, "transport", true, false),
        (Decode, "decode", false, true),
        (Credentials("store down".into()), "credentials", true, false),
        (Config("bad".into()), "config", false, false),
    ];
    for (err, code, retryable, unknown) in cases {
        assert_eq!(err.code(), code);
        assert_eq!(err.is_retryable(), retryable, "{err:?}");
        assert_eq!(err.outcome_unknown(), unknown, "{err:?}");
    }
}

#[tokio::test]
async fn delete_user_is_idempotent_a_missing_user_is_success() {
    let mock = Mock::start().await;
    let user = user();
    let path = format!("/users/{}", user.as_str());
    mock.always(
        "POST",
        &format!("/{API_KEY}/access_token"),
        access_token_answer("bearer-1", 3600),
    );
    mock.enqueue(
        "DELETE",
        &path,
        Reply::json(200, json!({"user_id": user.as_str(), "status": "deleted"})),
    );
    mock.enqueue("DELETE", &path, Reply::error(404, "not_found"));
    let client = client(&mock);
    client.delete_user(&user).await.unwrap();
    client.delete_user(&user).await.unwrap();
    assert_eq!(mock.requests_to("DELETE", &path).len(), 2);
}

// ----- configuration -----

#[test]
fn sdk_base_url_is_the_platform_root_unless_overridden_for_a_proxy() {
    let direct = client_with(config("https://eu.rp.secure.iproov.me/api/v2"));
    assert_eq!(direct.sdk_base_url(), "https://eu.rp.secure.iproov.me");
    let proxied = client_with(IProovConfig {
        sdk_base_url: Some("https://id.example.com/iproov".into()),
        ..config("https://eu.rp.secure.iproov.me/api/v2")
    });
    assert_eq!(proxied.sdk_base_url(), "https://id.example.com/iproov");
}

#[test]
fn misconfiguration_fails_at_construction() {
    let creds = Arc::new(StaticCredentials::new(credentials()));
    for bad in [
        "not a url",
        "http://iproov.example/api/v2",
        "https://k:s@iproov.example/api/v2",
    ] {
        let err = new_client(config(bad), creds.clone()).unwrap_err();
        assert_eq!(err.code(), "config", "{bad}");
    }
}

#[test]
fn client_futures_are_send_so_handlers_can_await_them_on_any_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let client = client_with(config("http://127.0.0.1:9/api/v2"));
    let (user, token) = (user(), Token::new("t"));
    let req = validate_request(&user, &token, "10.0.0.1");
    assert_send(&client.enrol_token(&user));
    assert_send(&client.verify_token(&user));
    assert_send(&client.enrol_validate(req));
    assert_send(&client.verify_validate(req));
    assert_send(&client.invalidate(&token, "r"));
    assert_send(&client.delete_user(&user));
    assert_send(&client.availability());
}

// ----- nothing secret in Debug output or logs -----

#[test]
fn debug_output_of_public_types_never_shows_secrets_tokens_addresses_or_images() {
    // GIVEN every public type that holds something sensitive
    let creds = credentials();
    let user = user();
    let token = Token::new("claim-token-value-123");
    let frame = Frame {
        bytes: PNG.to_vec(),
        content_type: "image/png",
    };
    let outcome = ValidateOutcome {
        passed: true,
        reason: None,
        frame: Some(frame.clone()),
        assurance_type: None,
    };
    let claim = ClaimToken {
        token: token.clone(),
        user_id: user.clone(),
        primary: None,
        fallback: vec![],
    };
    let req = validate_request(&user, &token, "203.0.113.77");
    let client = client_with(config("http://127.0.0.1:9/api/v2"));
    let shown = [
        format!("{creds:?}"),
        format!("{:?}", StaticCredentials::new(creds.clone())),
        format!("{token:?}"),
        format!("{claim:?}"),
        format!("{req:?}"),
        format!("{outcome:?}"),
        format!("{frame:?}"),
        format!("{user:?}"),
        format!("{client:?}"),
        format!("{:?}", config("http://127.0.0.1:9/api/v2")),
    ];
    // WHEN formatted with Debug
    // THEN none shows a secret, the token, the full user id, the address or image bytes
    let png_text = String::from_utf8_lossy(PNG).to_string();
    for text in &shown {
        for secret in [
            SECRET,
            OAUTH_ID,
            OAUTH_SECRET,
            API_KEY,
            "claim-token-value-123",
            user.as_str(),
            "203.0.113.77",
            &png_text,
            "IHDR",
        ] {
            assert!(!text.contains(secret), "{text} shows {secret}");
        }
    }
    assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    assert!(
        shown[0].contains("test…"),
        "a short api key prefix helps support: {}",
        shown[0]
    );
}
