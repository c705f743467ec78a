//! What the iProov client writes to the logs: endpoint names and error codes, never a secret,
//! token, user id, address or image.
//!
//! A test binary of its own: the subscriber is installed for this thread only
//! (`set_default`), and tracing caches per call site whether anyone listens. Tests on other
//! threads of the same binary hitting the same call sites first can leave that cache saying
//! "nobody", and this test then misses lines it should see (seen as a flaky failure).

mod iproov_mock;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use iproov_mock::*;
use serde_json::json;

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn log_lines_never_contain_secrets_tokens_user_ids_addresses_or_images() {
    // GIVEN every log line, at every level, captured
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // AND a mock whose answers exercise retries, refreshes, renewals, frames and error texts
    let mock = Mock::start().await;
    let user = user();
    let user_path = format!("/users/{}", user.as_str());
    let leaky = |status| {
        Reply::json(
            status,
            json!({"error": "server_error", "error_description": format!("key {API_KEY} secret {SECRET} user {}", user.as_str())}),
        )
    };
    mock.enqueue("POST", "/claim/enrol/token", leaky(503));
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        Reply::error(401, "invalid_key"),
    );
    mock.enqueue(
        "POST",
        "/claim/enrol/token",
        token_answer("claim-token-secret-1", user.as_str()),
    );
    mock.enqueue("POST", "/claim/enrol/validate", Reply::json(200, json!({"passed": true, "token": "claim-token-secret-1", "type": "enrol", "frame": STANDARD.encode(PNG), "frame_jpeg": "!!bad"})));
    mock.enqueue("POST", "/claim/verify/validate", leaky(500));
    mock.always(
        "POST",
        &format!("/{API_KEY}/access_token"),
        access_token_answer("bearer-secret-1", 3600),
    );
    mock.enqueue("DELETE", &user_path, Reply::error(401, "invalid_oauth"));
    mock.enqueue(
        "DELETE",
        &user_path,
        Reply::json(200, json!({"status": "deleted"})),
    );
    mock.enqueue("POST", "/claim/claim-token-secret-1/invalidate", leaky(500));
    mock.enqueue(
        "POST",
        "/claim/claim-token-secret-1/invalidate",
        Reply::json(200, json!({})),
    );
    mock.enqueue(
        "GET",
        "/availability",
        Reply::json(200, json!({"up": true})),
    );
    let client = client(&mock);

    // WHEN the whole client is exercised
    let claim = client.enrol_token(&user).await.unwrap();
    let req = validate_request(&user, &claim.token, "203.0.113.77");
    client.enrol_validate(req).await.unwrap();
    client.verify_validate(req).await.unwrap_err();
    client.delete_user(&user).await.unwrap();
    client.invalidate(&claim.token, "done").await.unwrap();
    client.availability().await.unwrap();

    // THEN lines were written, with endpoint names and error codes
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("enrol_token")
            && text.contains("invalid_key")
            && text.contains("delete_user"),
        "{text}"
    );
    // AND none holds anything sensitive
    let png_b64 = STANDARD.encode(PNG);
    for secret in [
        API_KEY,
        SECRET,
        OAUTH_ID,
        OAUTH_SECRET,
        "claim-token-secret-1",
        "bearer-secret-1",
        user.as_str(),
        "203.0.113.77",
        &png_b64,
        "described",
        "Mozilla",
    ] {
        assert!(
            !text.contains(secret),
            "a log line contains {secret}:\n{text}"
        );
    }
}
