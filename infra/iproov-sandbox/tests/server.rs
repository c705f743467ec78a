//! The sandbox served on a real socket, driven with reqwest as the project's client would.

use std::time::Duration;

use iproov_sandbox::{SandboxConfig, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Starts a sandbox on a free port; returns its root URL.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(serve(listener, SandboxConfig::default()));
    format!("http://{address}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    let response = client.post(url).json(&body).send().await.expect("answer");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn a_client_over_http_enrols_and_verifies_a_user() {
    // GIVEN a sandbox on a real port
    let root = start().await;
    let client = client();
    let credentials = json!({ "api_key": "sandbox-api-key", "secret": "sandbox-secret" });
    let with = |extra: Value| {
        let mut body = credentials.clone();
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };

    // WHEN a user enrols: token, scan, validate
    let (status, token) = post(
        &client,
        format!("{root}/api/v2/claim/enrol/token"),
        with(json!({ "resource": "r", "user_id": "user-1" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let enrol_token = token["token"].as_str().expect("token").to_owned();
    let (status, _) = post(
        &client,
        format!("{root}/sandbox/claims/{enrol_token}/scan"),
        json!({ "outcome": "passed" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, enrolled) = post(
        &client,
        format!("{root}/api/v2/claim/enrol/validate"),
        with(
            json!({ "user_id": "user-1", "token": enrol_token, "ip": "127.0.0.1", "client": "t" }),
        ),
    )
    .await;

    // THEN it passes, and the SDK base URL points at this very server
    assert_eq!(status, StatusCode::OK);
    assert_eq!(enrolled["passed"], json!(true));
    assert_eq!(token["primary"], json!(root.trim_start_matches("http://")));

    // AND a verification for that user passes too
    let (_, verify) = post(
        &client,
        format!("{root}/api/v2/claim/verify/token"),
        with(json!({ "resource": "r", "user_id": "user-1" })),
    )
    .await;
    let verify_token = verify["token"].as_str().expect("token").to_owned();
    post(
        &client,
        format!("{root}/sandbox/claims/{verify_token}/scan"),
        json!({ "outcome": "passed" }),
    )
    .await;
    let (_, verified) = post(
        &client,
        format!("{root}/api/v2/claim/verify/validate"),
        with(json!({ "user_id": "user-1", "token": verify_token, "client": "t" })),
    )
    .await;
    assert_eq!(verified["passed"], json!(true));
}

#[tokio::test]
async fn a_drop_connection_fault_closes_the_connection_without_an_answer() {
    // GIVEN a fault dropping the next availability call
    let root = start().await;
    let client = client();
    let (status, _) = post(
        &client,
        format!("{root}/sandbox/faults"),
        json!({ "path": "/availability", "drop_connection": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let url = format!("{root}/api/v2/availability?api_key=sandbox-api-key");

    // WHEN availability is asked twice
    let dropped = client.get(&url).send().await;
    let answered = client.get(&url).send().await.expect("second call answered");

    // THEN the first fails at the transport level (not a timeout, not a status) and the
    // second is answered
    let error = dropped.expect_err("the connection was dropped");
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(answered.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_connection_sends_not_a_single_byte() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // GIVEN a fault dropping the next enrol-validate call
    let root = start().await;
    post(
        &client(),
        format!("{root}/sandbox/faults"),
        json!({ "path": "/claim/enrol/validate", "drop_connection": true }),
    )
    .await;

    // WHEN a raw HTTP/1.1 request is written
    let address = root.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let body = "{}";
    let request = format!(
        "POST /api/v2/claim/enrol/validate HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;

    // THEN the server closes the connection and nothing was received
    assert!(read.is_ok(), "the connection was closed, not left hanging");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
}
