//! What the iProov client reports to its owner's observer (which the backend turns into its
//! `IProovCalls`, `IProovErrors` and `IProovLatencyMs` metrics): one report per logical call,
//! after its retries, with the endpoint's name and how the call ended.

mod iproov_mock;

use std::sync::Arc;
use std::time::Duration;

use iproov_client::{IProovClient, StaticCredentials, Token};
use iproov_mock::*;

fn observed(mock: &Mock) -> (IProovClient, Arc<Reports>) {
    let reports = Arc::new(Reports::default());
    let client = IProovClient::new(
        config(&mock.base_url()),
        Arc::new(StaticCredentials::new(credentials())),
        tls(),
        reports.clone(),
    )
    .expect("client");
    (client, reports)
}

#[tokio::test]
async fn a_call_and_its_retries_are_one_report_timed_from_the_first_attempt() {
    // GIVEN a token call iProov answers with 503 once, after a delay, then with a token
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::error(503, "server_error").delayed(Duration::from_millis(50)),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        token_answer("tok", user.as_str()),
    );
    let (client, reports) = observed(&mock);

    // WHEN the token is requested
    client.enrol_token(&user).await.unwrap();

    // THEN one call was reported, successful, and its time includes the failed attempt
    let reports = reports.taken();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let (endpoint, code, elapsed) = &reports[0];
    assert_eq!((*endpoint, code.as_str()), ("enrol_token", "ok"));
    assert!(*elapsed >= Duration::from_millis(50), "{elapsed:?}");
    assert_eq!(mock.requests_to("POST", "/claim/enrol/token").len(), 2);
}

#[tokio::test]
async fn failures_are_reported_by_code_even_those_the_caller_sees_as_success() {
    // GIVEN a validate iProov refuses, and a user iProov does not know
    let mock = Mock::start().await;
    let user = user();
    mock.enqueue(
        "POST",
        "/claim/enrol/validate",
        Reply::error(400, "invalid_token"),
    );
    mock.always(
        "POST",
        &format!("/{API_KEY}/access_token"),
        access_token_answer("bearer-1", 3600),
    );
    mock.enqueue(
        "DELETE",
        &format!("/users/{}", user.as_str()),
        Reply::error(404, "not_found"),
    );
    let (client, reports) = observed(&mock);

    // WHEN the scan is validated and the user deleted
    let token = Token::new("tok");
    let refused = client
        .enrol_validate(validate_request(&user, &token, "203.0.113.9"))
        .await;
    client.delete_user(&user).await.unwrap();

    // THEN each call is reported with iProov's code, the bearer token's call first, and the
    // deletion of a missing user as the not_found it was (the caller gets success: erasure is
    // idempotent)
    assert!(refused.is_err());
    let codes: Vec<(&str, String)> = reports
        .taken()
        .into_iter()
        .map(|(endpoint, code, _)| (endpoint, code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("enrol_validate", "invalid_token".to_owned()),
            ("access_token", "ok".to_owned()),
            ("delete_user", "not_found".to_owned()),
        ]
    );
}
