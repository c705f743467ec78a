//! The access log: one JSON line per request, and no secret, token or frame in any of them.

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::{API_KEY, Kind, SECRET, Sandbox};
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("capture lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn each_request_logs_one_json_line_without_secrets_tokens_or_frames() {
    // GIVEN a sandbox logging to a capture buffer
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(iproov_sandbox::json_subscriber(capture.clone(), "info"));
    let sandbox = Sandbox::new();

    // WHEN a full enrolment runs, plus calls with credentials in the path and query, and a
    // refused one
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    sandbox.scan(&token, "passed").await;
    let validated = sandbox.validate(Kind::Enrol, "user-1", &token).await;
    let frame = validated.body["frame"].as_str().expect("frame").to_owned();
    let access = sandbox.access_token().await;
    sandbox
        .with_bearer(Method::DELETE, "/api/v2/users/user-1", &access)
        .await;
    sandbox
        .get(&format!("/api/v2/availability?api_key={API_KEY}"))
        .await;
    sandbox.validate(Kind::Enrol, "user-1", &token).await;

    // THEN there is one JSON line per request with the expected fields
    let text = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("UTF-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 7, "{text}");
    for line in &lines {
        assert!(line["method"].is_string(), "{line}");
        assert!(line["path"].is_string(), "{line}");
        assert!(line["status"].is_u64(), "{line}");
        assert!(line["duration_ms"].is_number(), "{line}");
    }
    let last = lines.last().expect("a line");
    assert_eq!(last["status"], json!(400));
    assert_eq!(last["error"], json!("invalid_token"));

    // AND nothing secret appears anywhere
    for secret in [
        API_KEY,
        SECRET,
        "sandbox-oauth-secret",
        token.as_str(),
        access.as_str(),
        &frame[..40],
    ] {
        assert!(!text.contains(secret), "the log leaks {secret:?}:\n{text}");
    }
}

#[tokio::test]
async fn rotating_the_credentials_logs_no_value() {
    // GIVEN a sandbox logging to a capture buffer
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(iproov_sandbox::json_subscriber(capture.clone(), "info"));
    let sandbox = Sandbox::new();
    let (key, secret, id, client_secret) = (
        "rotated-key-value",
        "rotated-secret-value",
        "rotated-id-value",
        "rotated-client-secret-value",
    );

    // WHEN the credentials are rotated, read, used, refused and reset
    sandbox
        .put(
            "/sandbox/credentials",
            json!({ "api_key": key, "secret": secret, "oauth_client_id": id,
                    "oauth_client_secret": client_secret, "grace_seconds": 5 }),
        )
        .await;
    sandbox
        .put("/sandbox/credentials", json!({ "secret": "bad\u{1}" }))
        .await;
    sandbox.get("/sandbox/credentials").await;
    sandbox
        .get(&format!("/api/v2/availability?api_key={key}"))
        .await;
    sandbox
        .oauth(key, id, client_secret, "grant_type=client_credentials")
        .await;
    sandbox.post("/sandbox/reset", json!({})).await;

    // THEN the route is logged by name and no value appears
    let text = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("UTF-8");
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.contains("\"path\":\"/sandbox/credentials\""), "{text}");
    for value in [key, secret, id, client_secret, "bad\\u0001"] {
        assert!(!text.contains(value), "the log leaks {value:?}:\n{text}");
    }
}
