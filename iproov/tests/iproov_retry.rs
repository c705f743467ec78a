//! Retries and delivery rules of the iProov client, against a scripted local HTTP server:
//! token calls back off with full jitter inside a time budget; validate is never sent twice
//! once it may have reached iProov.

mod iproov_mock;

use std::time::{Duration, Instant};

use iproov_client::{IProovConfig, IProovError, IProovUserId, RetryPolicy, Token, ValidateRequest};
use iproov_mock::*;
use serde_json::json;

fn user() -> IProovUserId {
    IProovUserId::derive(b"pseudonymisation-key", "our-user-7")
}

fn policy(max_attempts: u32, base_ms: u64, max_ms: u64, total_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(base_ms),
        max_delay: Duration::from_millis(max_ms),
        max_total: Duration::from_millis(total_ms),
    }
}

fn request<'a>(user: &'a IProovUserId, token: &'a Token) -> ValidateRequest<'a> {
    ValidateRequest {
        user_id: user,
        token,
        client_ip: Some("192.0.2.10".parse().unwrap()),
        client: "test-agent",
    }
}

/// Time between consecutive recorded requests.
fn gaps(requests: &[Recorded]) -> Vec<Duration> {
    requests.windows(2).map(|w| w[1].at - w[0].at).collect()
}

/// Scheduling and loopback I/O on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(150);

// ----- token calls: backoff with full jitter -----

#[tokio::test]
async fn token_call_succeeds_after_two_429s_with_delays_under_a_doubling_cap() {
    // GIVEN iProov rate-limits twice, then issues a token
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::error(429, "too_many_requests"),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::error(429, "too_many_requests"),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        token_answer("tok-after-429", user.as_str()),
    );
    let client = client_with(IProovConfig {
        retry: policy(4, 100, 2000, 5000),
        ..config(&mock.base_url())
    });

    // WHEN a token is requested
    let claim = client.enrol_token(&user).await.unwrap();

    // THEN it arrives on the third attempt
    assert_eq!(claim.token.expose(), "tok-after-429");
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    // AND each delay stayed under its cap, which doubles: 100 ms, then 200 ms (full jitter
    // draws from zero to the cap, so the growth is proven on the cap here, and on the mean
    // delay in the unit tests of retry.rs)
    let gaps = gaps(&requests);
    assert!(gaps[0] <= Duration::from_millis(100) + SLACK, "{gaps:?}");
    assert!(gaps[1] <= Duration::from_millis(200) + SLACK, "{gaps:?}");
    assert_eq!(
        policy(4, 100, 2000, 5000).backoff_cap(2),
        2 * policy(4, 100, 2000, 5000).backoff_cap(1)
    );
}

#[tokio::test]
async fn retry_after_from_a_429_is_honoured_up_to_max_delay() {
    // GIVEN iProov asks for a one-second pause
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        Reply::error(429, "too_many_requests").header("retry-after", "1"),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        token_answer("t", user.as_str()),
    );
    let client = client_with(IProovConfig {
        retry: policy(3, 10, 2000, 5000),
        ..config(&mock.base_url())
    });
    // WHEN a token is requested
    client.verify_token(&user).await.unwrap();
    // THEN the retry waited at least that long
    assert!(gaps(&mock.requests())[0] >= Duration::from_secs(1));
}

#[tokio::test]
async fn token_call_gives_up_after_max_attempts_on_a_persistent_outage() {
    // GIVEN iProov keeps failing
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/enrol/token",
        Reply::error(503, "server_error"),
    );
    let client = client_with(IProovConfig {
        retry: policy(3, 10, 50, 5000),
        ..config(&mock.base_url())
    });
    // WHEN a token is requested
    let err = client.enrol_token(&user()).await.unwrap_err();
    // THEN it fails as unavailable after exactly max_attempts attempts
    assert_eq!(err, IProovError::Unavailable { status: 503 });
    assert!(err.is_retryable());
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn token_call_never_runs_past_its_total_budget_however_many_attempts_are_allowed() {
    // GIVEN a persistent outage, 100 attempts allowed, but one second of budget
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/enrol/token",
        Reply::error(500, "server_error"),
    );
    let client = client_with(IProovConfig {
        retry: policy(100, 100, 400, 1000),
        ..config(&mock.base_url())
    });
    // WHEN a token is requested
    let started = Instant::now();
    let err = client.enrol_token(&user()).await.unwrap_err();
    // THEN it gives up within the budget (no sleep ends past it), after retrying
    assert_eq!(err, IProovError::Unavailable { status: 500 });
    assert!(
        started.elapsed() < Duration::from_millis(1000) + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert!(mock.requests().len() >= 2);
}

#[tokio::test]
async fn a_slow_answer_is_cut_at_the_remaining_budget_not_the_longer_call_timeout() {
    // GIVEN iProov takes 3 s to answer, the call timeout is 10 s and the budget 500 ms
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/enrol/token",
        token_answer("late", "x").delayed(Duration::from_secs(3)),
    );
    let client = client_with(IProovConfig {
        call_timeout: Duration::from_secs(10),
        retry: policy(4, 50, 100, 500),
        ..config(&mock.base_url())
    });
    // WHEN a token is requested
    let started = Instant::now();
    let err = client.enrol_token(&user()).await.unwrap_err();
    // THEN it times out within the budget
    assert_eq!(err, IProovError::Timeout { maybe_sent: true });
    assert!(
        started.elapsed() < Duration::from_millis(500) + SLACK,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_token_call_that_timed_out_is_retried() {
    // GIVEN a first answer slower than the call timeout, then a prompt one
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        token_answer("slow", user.as_str()).delayed(Duration::from_secs(2)),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/token",
        token_answer("prompt", user.as_str()),
    );
    let client = client_with(IProovConfig {
        call_timeout: Duration::from_millis(300),
        ..config(&mock.base_url())
    });
    // WHEN a token is requested
    let claim = client.verify_token(&user).await.unwrap();
    // THEN the second attempt's token is returned
    assert_eq!(claim.token.expose(), "prompt");
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn a_token_call_to_a_closed_port_fails_as_not_sent_after_its_retries() {
    // GIVEN no server at all
    let slot = closed_port().await;
    let client = client_with(IProovConfig {
        retry: policy(3, 10, 20, 2000),
        ..config(&slot.base_url())
    });
    // WHEN a token is requested
    let err = client.enrol_token(&user()).await.unwrap_err();
    // THEN it reports a connection failure that provably sent nothing
    assert_eq!(err, IProovError::Transport { maybe_sent: false });
    assert!(err.is_retryable() && !err.outcome_unknown());
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    // GIVEN iProov refuses the request for a reason retrying cannot fix
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/enrol/token",
        Reply::error(400, "already_enrolled"),
    );
    // WHEN a token is requested
    let err = client(&mock).enrol_token(&user()).await.unwrap_err();
    // THEN one attempt is made
    assert_eq!(
        err,
        IProovError::Rejected {
            status: 400,
            code: "already_enrolled".into()
        }
    );
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn invalidate_and_availability_are_retried_like_token_calls() {
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/tok/invalidate",
        Reply::error(502, "bad_gateway"),
    );
    mock.enqueue(
        "POST",
        "/claim/tok/invalidate",
        Reply::json(200, json!({"claim_aborted": true})),
    );
    mock.enqueue(
        "GET",
        "/availability",
        Reply::error(429, "too_many_requests"),
    );
    mock.enqueue(
        "GET",
        "/availability",
        Reply::json(200, json!({"up": true})),
    );
    let client = client(&mock);
    client
        .invalidate(&Token::new("tok"), "abandoned")
        .await
        .unwrap();
    assert!(client.availability().await.unwrap());
    assert_eq!(mock.requests().len(), 4);
}

// ----- validate: at most once -----

#[tokio::test]
async fn validate_that_timed_out_is_not_resent_and_its_outcome_is_unknown() {
    // GIVEN iProov answers validate after the call timeout
    let mock = Mock::start().await;
    mock.always(
        "POST",
        "/claim/enrol/validate",
        validate_answer(true, "tok").delayed(Duration::from_secs(1)),
    );
    let client = client_with(IProovConfig {
        call_timeout: Duration::from_millis(300),
        ..config(&mock.base_url())
    });
    let (user, token) = (user(), Token::new("tok"));
    // WHEN the scan is validated
    let err = client
        .enrol_validate(request(&user, &token))
        .await
        .unwrap_err();
    // THEN it times out with the request possibly sent, so the outcome is unknown
    assert_eq!(err, IProovError::Timeout { maybe_sent: true });
    assert!(err.outcome_unknown());
    // AND it reached iProov exactly once, even after waiting for any straggling retry
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mock.requests_to("POST", "/claim/enrol/validate").len(), 1);
}

#[tokio::test]
async fn validate_answered_with_a_5xx_is_not_resent_and_its_outcome_is_unknown() {
    // GIVEN iProov fails validate with 500, and would pass it on a second call
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        Reply::error(500, "server_error"),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        validate_answer(true, "tok"),
    );
    let client = client(&mock);
    let (user, token) = (user(), Token::new("tok"));
    // WHEN the scan is validated
    let err = client
        .verify_validate(request(&user, &token))
        .await
        .unwrap_err();
    // THEN the 500 is reported as an unknown outcome, not retried
    assert_eq!(err, IProovError::Unavailable { status: 500 });
    assert!(err.outcome_unknown());
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn validate_answered_with_429_is_not_resent_and_its_outcome_is_known() {
    let mock = Mock::start().await;
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        Reply::error(429, "too_many_requests"),
    );
    mock.enqueue(
        "POST",
        "/claim/verify/validate",
        validate_answer(true, "tok"),
    );
    let (user, token) = (user(), Token::new("tok"));
    let err = client(&mock)
        .verify_validate(request(&user, &token))
        .await
        .unwrap_err();
    assert_eq!(err, IProovError::RateLimited);
    assert!(!err.outcome_unknown());
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn validate_is_retried_when_the_connection_was_refused_before_sending() {
    // GIVEN nothing listens yet, and iProov starts listening 150 ms later
    let slot = closed_port().await;
    let client = client_with(IProovConfig {
        retry: policy(10, 50, 100, 5000),
        ..config(&slot.base_url())
    });
    let late_server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mock = Mock::serve(slot.bind().await);
        mock.enqueue(
            "POST",
            "/claim/enrol/validate",
            validate_answer(true, "tok"),
        );
        mock
    });
    let (user, token) = (user(), Token::new("tok"));
    // WHEN the scan is validated right away
    let outcome = client.enrol_validate(request(&user, &token)).await.unwrap();
    // THEN the refused attempts were retried and the one delivered request passed
    assert!(outcome.passed);
    let mock = late_server.await.unwrap();
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn validate_that_could_never_connect_reports_nothing_sent_and_a_known_outcome() {
    // GIVEN nothing listens
    let slot = closed_port().await;
    let client = client_with(IProovConfig {
        retry: policy(3, 10, 20, 2000),
        ..config(&slot.base_url())
    });
    let (user, token) = (user(), Token::new("tok"));
    // WHEN the scan is validated
    let err = client
        .verify_validate(request(&user, &token))
        .await
        .unwrap_err();
    // THEN the token is untouched: the caller may validate again later
    assert_eq!(err, IProovError::Transport { maybe_sent: false });
    assert!(!err.outcome_unknown());
    assert!(err.is_retryable());
}

#[tokio::test]
async fn validate_connection_dropped_after_sending_is_not_resent() {
    // GIVEN a server that reads the request and closes the connection without answering
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut count = 0;
        while let Ok(Ok((mut socket, _))) =
            tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
        {
            count += 1;
            let mut buf = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
        count
    });
    let client = client_with(config(&format!("http://{addr}/api/v2")));
    let (user, token) = (user(), Token::new("tok"));
    // WHEN the scan is validated
    let err = client
        .enrol_validate(request(&user, &token))
        .await
        .unwrap_err();
    // THEN the outcome is unknown and the server saw a single connection
    assert_eq!(err, IProovError::Transport { maybe_sent: true });
    assert!(err.outcome_unknown());
    assert_eq!(accepted.await.unwrap(), 1);
}

#[tokio::test]
async fn a_connection_that_never_completes_is_cut_at_the_connect_timeout_and_counts_as_not_sent() {
    // GIVEN a listener whose accept queue is full, so new connections hang in the handshake
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let _listener = socket.listen(1).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let attempt = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(100), attempt).await {
            fillers.push(stream);
        }
    }
    // AND a connect timeout much shorter than the call timeout
    let client = client_with(IProovConfig {
        connect_timeout: Duration::from_millis(200),
        call_timeout: Duration::from_secs(5),
        retry: policy(1, 10, 10, 5000),
        ..config(&format!("http://{addr}/api/v2"))
    });
    let (user, token) = (user(), Token::new("tok"));
    // WHEN a scan is validated
    let started = Instant::now();
    let err = client
        .enrol_validate(request(&user, &token))
        .await
        .unwrap_err();
    // THEN it gave up at the connect timeout, knowing nothing was sent
    assert_eq!(err, IProovError::Timeout { maybe_sent: false });
    assert!(!err.outcome_unknown());
    assert!(
        started.elapsed() < Duration::from_millis(200) + SLACK,
        "{:?}",
        started.elapsed()
    );
}
