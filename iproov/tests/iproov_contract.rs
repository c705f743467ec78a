//! The iProov client against the project's iProov sandbox, served in-process: the journeys and
//! rules of the contract (docs/iproov-contract.md) hold end to end, not only against a script.

use std::sync::Arc;
use std::time::Duration;

use iproov_client::{
    CallObserver, CallReport, IProovClient, IProovConfig, IProovCredentials, IProovError,
    IProovUserId, RetryPolicy, StaticCredentials, Token, ValidateRequest,
};
use iproov_sandbox::{SandboxConfig, serve, token_fingerprint};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A sandbox on a free loopback port, and a client configured for it.
struct Stack {
    root: String,
    control: reqwest::Client,
    client: IProovClient,
}

fn sandbox_credentials() -> IProovCredentials {
    let defaults = SandboxConfig::default();
    IProovCredentials {
        api_key: defaults.api_key,
        secret: defaults.secret,
        oauth_client_id: defaults.oauth_client_id,
        oauth_client_secret: defaults.oauth_client_secret,
    }
}

fn client_config(root: &str) -> IProovConfig {
    IProovConfig {
        call_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_total: Duration::from_secs(4),
        },
        ..IProovConfig::new(format!("{root}/api/v2"), "contract-tests")
    }
}

/// The sandbox speaks plain HTTP on loopback: the client needs no trust anchor.
fn tls() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth()
}

/// The contract is about what iProov sees and answers, not about what the client reports.
struct Unobserved;

impl CallObserver for Unobserved {
    fn call_ended(&self, _: &CallReport<'_>) {}
}

impl Stack {
    async fn start() -> Self {
        Self::start_with(sandbox_credentials()).await
    }

    async fn start_with(credentials: IProovCredentials) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, SandboxConfig::default()));
        let client = IProovClient::new(
            client_config(&root),
            Arc::new(StaticCredentials::new(credentials)),
            tls(),
            Arc::new(Unobserved),
        )
        .unwrap();
        Self {
            root,
            control: reqwest::Client::new(),
            client,
        }
    }

    /// Plays the person in front of the camera: the scan of `token` ended with `outcome`.
    async fn scan(&self, token: &Token, outcome: &str, reason: Option<&str>) {
        let mut body = json!({"outcome": outcome});
        if let Some(reason) = reason {
            body["reason"] = json!(reason);
        }
        let url = format!("{}/sandbox/claims/{}/scan", self.root, token.expose());
        let answer = self.control.post(url).json(&body).send().await.unwrap();
        assert!(
            answer.status().is_success(),
            "scan refused: {}",
            answer.status()
        );
    }

    /// The next `count` calls to `path` (relative to /api/v2) are faulted: delayed, answered
    /// with an error, or cut off, as `fault` says (the sandbox's `POST /sandbox/faults` body).
    async fn fault(&self, path: &str, count: u32, fault: Value) {
        let mut body = json!({"path": path, "count": count});
        for (field, value) in fault.as_object().unwrap() {
            body[field] = value.clone();
        }
        let url = format!("{}/sandbox/faults", self.root);
        let answer = self.control.post(url).json(&body).send().await.unwrap();
        assert!(
            answer.status().is_success(),
            "fault refused: {}",
            answer.status()
        );
    }

    async fn stats(&self) -> Value {
        let url = format!("{}/sandbox/stats", self.root);
        self.control
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn calls(&self, route: &str) -> u64 {
        self.stats().await["calls"][route].as_u64().unwrap_or(0)
    }

    async fn validations(&self, token: &Token) -> u64 {
        self.stats().await["validations"][token_fingerprint(token.expose())]
            .as_u64()
            .unwrap_or(0)
    }
}

fn user(n: u32) -> IProovUserId {
    IProovUserId::derive(b"contract-key", &format!("user-{n}"))
}

fn request<'a>(user: &'a IProovUserId, token: &'a Token) -> ValidateRequest<'a> {
    ValidateRequest {
        user_id: user,
        token,
        client_ip: Some("198.51.100.20".parse().unwrap()),
        client: "contract-test-agent",
    }
}

#[tokio::test]
async fn a_user_enrols_with_a_passed_scan_and_then_verifies() {
    // GIVEN a new user
    let stack = Stack::start().await;
    let user = user(1);

    // WHEN they enrol: token, scan passed, validate
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    let enrolled = stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap();

    // THEN the enrolment passed and brought a face image whose type was read from its bytes
    assert!(enrolled.passed, "{enrolled:?}");
    let frame = enrolled
        .frame
        .expect("the sandbox returns a frame by default");
    assert!(matches!(frame.content_type, "image/png" | "image/jpeg"));
    assert!(!frame.bytes.is_empty());

    // AND WHEN they later log in with a passed scan
    let verify = stack.client.verify_token(&user).await.unwrap();
    stack.scan(&verify.token, "passed", None).await;
    let verified = stack
        .client
        .verify_validate(request(&user, &verify.token))
        .await
        .unwrap();

    // THEN the verification passed
    assert!(verified.passed, "{verified:?}");
    assert_eq!(verify.user_id, user);
}

#[tokio::test]
async fn a_failed_scan_is_a_failed_outcome_with_its_reason() {
    let stack = Stack::start().await;
    let user = user(2);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "failed", Some("too_dark")).await;
    let outcome = stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap();
    assert!(!outcome.passed);
    assert_eq!(outcome.reason.as_deref(), Some("too_dark"));
}

#[tokio::test]
async fn validate_before_the_scan_finished_is_an_invalid_token() {
    let stack = Stack::start().await;
    let user = user(3);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    let err = stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap_err();
    assert_eq!(err, IProovError::InvalidToken);
}

#[tokio::test]
async fn validate_works_once_a_second_call_is_an_invalid_token() {
    // GIVEN a validated enrolment
    let stack = Stack::start().await;
    let user = user(4);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    assert!(
        stack
            .client
            .enrol_validate(request(&user, &enrol.token))
            .await
            .unwrap()
            .passed
    );
    // WHEN validated again
    let err = stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap_err();
    // THEN iProov refuses the token, as the contract says
    assert_eq!(err, IProovError::InvalidToken);
    assert_eq!(stack.validations(&enrol.token).await, 2);
}

#[tokio::test]
async fn token_calls_ride_out_transient_outages_and_rate_limits() {
    // GIVEN the next two enrol token calls fail with 503
    let stack = Stack::start().await;
    stack
        .fault(
            "/claim/enrol/token",
            2,
            json!({"status": 503, "error": "server_error"}),
        )
        .await;
    // WHEN a token is requested
    stack.client.enrol_token(&user(5)).await.unwrap();
    // THEN it succeeded on the third call
    assert_eq!(stack.calls("POST /claim/enrol/token").await, 3);

    // AND GIVEN the next call is rate-limited
    stack
        .fault(
            "/claim/enrol/token",
            1,
            json!({"status": 429, "error": "too_many_requests"}),
        )
        .await;
    // WHEN another token is requested
    stack.client.enrol_token(&user(5)).await.unwrap();
    // THEN it succeeded on the second call
    assert_eq!(stack.calls("POST /claim/enrol/token").await, 5);
}

#[tokio::test]
async fn a_validate_answered_with_a_5xx_is_reported_as_unknown_and_not_resent() {
    // GIVEN a scanned token, and validate failing with 500 once
    let stack = Stack::start().await;
    let user = user(6);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    stack
        .fault(
            "/claim/enrol/validate",
            1,
            json!({"status": 500, "error": "server_error"}),
        )
        .await;
    // WHEN validated
    let err = stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap_err();
    // THEN the outcome is unknown and validate was called exactly once
    assert_eq!(err, IProovError::Unavailable { status: 500 });
    assert!(err.outcome_unknown());
    assert_eq!(stack.calls("POST /claim/enrol/validate").await, 1);
}

#[tokio::test]
async fn a_validate_slower_than_the_call_timeout_is_reported_as_unknown_and_not_resent() {
    // GIVEN a scanned token, and validate answering after 3 s (timeout 2 s)
    let stack = Stack::start().await;
    let user = user(7);
    let verify_user = user.clone();
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    stack
        .fault("/claim/enrol/validate", 1, json!({"delay_ms": 3000}))
        .await;
    // WHEN validated
    let err = stack
        .client
        .enrol_validate(request(&verify_user, &enrol.token))
        .await
        .unwrap_err();
    // THEN it timed out with the outcome unknown, after a single call
    assert_eq!(err, IProovError::Timeout { maybe_sent: true });
    assert!(err.outcome_unknown());
    assert_eq!(stack.calls("POST /claim/enrol/validate").await, 1);
}

#[tokio::test]
async fn a_validate_whose_connection_is_cut_is_reported_as_unknown_and_not_resent() {
    // GIVEN a scanned token, and the connection of the next verify validate cut by the server
    let stack = Stack::start().await;
    let user = user(12);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap();
    let verify = stack.client.verify_token(&user).await.unwrap();
    stack.scan(&verify.token, "passed", None).await;
    stack
        .fault(
            "/claim/verify/validate",
            1,
            json!({"drop_connection": true}),
        )
        .await;
    // WHEN validated
    let err = stack
        .client
        .verify_validate(request(&user, &verify.token))
        .await
        .unwrap_err();
    // THEN the request may have been sent: outcome unknown, and no second call
    assert_eq!(err, IProovError::Transport { maybe_sent: true });
    assert!(err.outcome_unknown());
    assert_eq!(stack.calls("POST /claim/verify/validate").await, 1);
}

#[tokio::test]
async fn a_wrong_secret_is_refreshed_once_then_reported_as_invalid_key() {
    let stack = Stack::start_with(IProovCredentials {
        secret: "not-the-sandbox-secret".into(),
        ..sandbox_credentials()
    })
    .await;
    let err = stack.client.enrol_token(&user(8)).await.unwrap_err();
    assert_eq!(err, IProovError::InvalidKey);
    assert_eq!(stack.calls("POST /claim/enrol/token").await, 2);
}

#[tokio::test]
async fn an_invalidated_token_cannot_be_validated() {
    let stack = Stack::start().await;
    let user = user(9);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack
        .client
        .invalidate(&enrol.token, "session_replaced")
        .await
        .unwrap();
    let err = stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap_err();
    assert_eq!(err, IProovError::InvalidToken);
}

#[tokio::test]
async fn deleting_a_user_is_idempotent() {
    // GIVEN an enrolled user
    let stack = Stack::start().await;
    let user = user(10);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    stack
        .client
        .enrol_validate(request(&user, &enrol.token))
        .await
        .unwrap();
    // WHEN the user is deleted twice, and a user iProov never knew is deleted
    stack.client.delete_user(&user).await.unwrap();
    stack.client.delete_user(&user).await.unwrap();
    stack.client.delete_user(&self::user(11)).await.unwrap();
    // THEN every deletion succeeded with one OAuth token
    assert_eq!(stack.calls("POST /*/access_token").await, 1);
}

#[tokio::test]
async fn the_oauth_token_is_renewed_before_its_fifty_request_quota_runs_out() {
    // GIVEN a sandbox enforcing the 50-request quota of an access token
    let stack = Stack::start().await;
    // WHEN 51 user-management requests are made
    for n in 0..51 {
        stack.client.delete_user(&user(100 + n)).await.unwrap();
    }
    // THEN none was refused, and exactly two tokens were fetched
    assert_eq!(stack.calls("POST /*/access_token").await, 2);
    assert_eq!(stack.calls("DELETE /users/*").await, 51);
}

#[tokio::test]
async fn the_platform_reports_itself_available() {
    let stack = Stack::start().await;
    assert!(stack.client.availability().await.unwrap());
    assert_eq!(stack.client.sdk_base_url(), stack.root);
}

#[tokio::test]
async fn a_client_behind_ipv6_can_still_be_validated() {
    // GIVEN a scanned token and a client known only by a native IPv6 address
    let stack = Stack::start().await;
    let user = user(13);
    let enrol = stack.client.enrol_token(&user).await.unwrap();
    stack.scan(&enrol.token, "passed", None).await;
    let req = ValidateRequest {
        client_ip: Some("2001:db8::42".parse().unwrap()),
        ..request(&user, &enrol.token)
    };
    // WHEN validated
    let outcome = stack.client.enrol_validate(req).await.unwrap();
    // THEN iProov (which refuses IPv6) validated it: the address was left out
    assert!(outcome.passed);
}
