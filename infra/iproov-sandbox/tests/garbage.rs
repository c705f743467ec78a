//! Garbage in, JSON 4xx out: every endpoint, fed every kind of malformed request, answers a
//! JSON body with an `error` field and never a 5xx or a plain-text error.

mod common;

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, Request, StatusCode};
use common::{API_KEY, Kind, Sandbox};
use serde_json::json;

/// Every route: method, path, and whether it reads a body (and so must refuse a bad one).
fn endpoints(token: &str) -> Vec<(Method, String, bool)> {
    vec![
        (Method::POST, "/api/v2/claim/enrol/token".into(), true),
        (Method::POST, "/api/v2/claim/verify/token".into(), true),
        (Method::POST, "/api/v2/claim/enrol/validate".into(), true),
        (Method::POST, "/api/v2/claim/verify/validate".into(), true),
        (
            Method::POST,
            format!("/api/v2/claim/{token}/invalidate"),
            true,
        ),
        (
            Method::POST,
            format!("/api/v2/{API_KEY}/access_token"),
            true,
        ),
        (Method::GET, "/api/v2/users/user-1".into(), false),
        (Method::DELETE, "/api/v2/users/user-1".into(), false),
        (Method::GET, "/api/v2/availability".into(), false),
        (Method::POST, format!("/sandbox/claims/{token}/scan"), true),
        (Method::POST, "/sandbox/faults".into(), true),
        (Method::DELETE, "/sandbox/faults".into(), false),
        (Method::GET, "/sandbox/faults".into(), false),
        (Method::PUT, "/sandbox/latency".into(), true),
        (Method::PUT, "/sandbox/rate-limit".into(), true),
        (Method::PUT, "/sandbox/config".into(), true),
        (Method::GET, "/sandbox/config".into(), false),
        (Method::PUT, "/sandbox/credentials".into(), true),
        (Method::GET, "/sandbox/credentials".into(), false),
        (Method::GET, "/sandbox/stats".into(), false),
        (Method::GET, "/sandbox/users/user-1".into(), false),
        (Method::POST, "/sandbox/reset".into(), false),
        (Method::GET, "/health".into(), false),
    ]
}

/// Every field name any endpoint reads, each given a value of the wrong type.
fn wrong_types() -> serde_json::Value {
    json!({
        "api_key": 1, "secret": [], "resource": {}, "user_id": 42, "token": true,
        "ip": 1234, "client": null, "risk_profile": 5, "assurance_type": [1],
        "activate": "yes", "reason": 7, "outcome": false, "path": 3, "method": 1,
        "status": "429", "error": 1, "count": -1, "delay_ms": "fast", "drop_connection": "no",
        "ms": "100", "per_second": 1.5, "frame": 2, "token_ttl_seconds": "1",
        "access_token_ttl_seconds": -1, "access_token_max_uses": 0,
        "oauth_client_id": 1, "oauth_client_secret": false, "grace_seconds": "60"
    })
}

/// Every field name, each holding half a megabyte of text.
fn huge_strings() -> serde_json::Value {
    let huge = "A".repeat(512 * 1024 / 32);
    let mut body = serde_json::Map::new();
    for field in wrong_types().as_object().expect("object").keys() {
        body.insert(field.clone(), json!(huge));
    }
    serde_json::Value::Object(body)
}

/// (content type, body) pairs no endpoint can accept.
fn garbage_bodies() -> Vec<(Option<&'static str>, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    vec![
        (Some("application/json"), b"this is not json".to_vec()),
        (Some("application/json"), Vec::new()),
        (Some("application/json"), b"{".to_vec()),
        (Some("application/json"), b"[1, 2, 3]".to_vec()),
        (Some("application/json"), b"null".to_vec()),
        (Some("application/json"), b"\"a string\"".to_vec()),
        (Some("application/json"), b"{}".to_vec()),
        (Some("application/json"), vec![0xFF, 0xFE, 0x00, 0x7B]),
        (Some("application/json"), deep.into_bytes()),
        (
            Some("application/json"),
            wrong_types().to_string().into_bytes(),
        ),
        (
            Some("application/json"),
            huge_strings().to_string().into_bytes(),
        ),
        (Some("application/json"), vec![b' '; 2 * 1024 * 1024]),
        (
            Some("text/plain"),
            json!({ "outcome": "passed", "ms": 1 })
                .to_string()
                .into_bytes(),
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"grant_type=%zz&x".to_vec(),
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"grant_type=password".to_vec(),
        ),
        (Some("multipart/form-data; boundary=x"), b"--x--".to_vec()),
        (None, b"{\"a\": 1}".to_vec()),
    ]
}

fn build(
    method: &Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    with_basic: bool,
) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(path);
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    if with_basic {
        // Right client credentials, so the access-token endpoint gets as far as the body.
        builder = builder.header(
            AUTHORIZATION,
            "Basic c2FuZGJveC1vYXV0aC1pZDpzYW5kYm94LW9hdXRoLXNlY3JldA==",
        );
    }
    builder.body(Body::from(body)).expect("valid request")
}

#[tokio::test]
async fn every_endpoint_answers_garbage_bodies_with_a_json_4xx() {
    // GIVEN a sandbox with a live token
    let sandbox = Sandbox::new();
    let token = sandbox.issue(Kind::Enrol, "user-1").await;
    let mut failures = Vec::new();

    for (method, path, reads_body) in endpoints(&token) {
        for (content_type, body) in garbage_bodies() {
            // WHEN the endpoint is sent a malformed body
            let described = format!("{method} {path} [{content_type:?}, {} bytes]", body.len());
            let with_basic = path.ends_with("/access_token");
            let reply = sandbox
                .send(build(&method, &path, content_type, body, with_basic))
                .await;

            // THEN the answer is JSON, never a 5xx, and a 4xx with an error code if the
            // endpoint reads bodies
            let acceptable = reply.is_json()
                && !reply.status.is_server_error()
                && (!reads_body
                    || (reply.status.is_client_error() && reply.body["error"].is_string()));
            if !acceptable {
                failures.push(format!("{described} → {} {}", reply.status, reply.text));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn garbage_paths_methods_and_headers_get_json_errors() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();
    let long = "x".repeat(10_000);
    let requests = vec![
        (Method::GET, "/nowhere".to_owned(), None),
        (Method::GET, "/api/v2".to_owned(), None),
        (Method::GET, "/api/v2/".to_owned(), None),
        (Method::GET, "/api/v2/claim/enrol/token".to_owned(), None),
        (Method::PATCH, "/api/v2/users/user-1".to_owned(), None),
        (Method::PATCH, "/sandbox/config".to_owned(), None),
        (Method::DELETE, "/sandbox/credentials".to_owned(), None),
        (Method::GET, "/sandbox/reset".to_owned(), None),
        (
            Method::POST,
            "/api/v2/claim/%FF%FE/invalidate".to_owned(),
            Some("{\"reason\":\"r\"}"),
        ),
        (
            Method::POST,
            "/sandbox/claims/%FF%FE/scan".to_owned(),
            Some("{\"outcome\":\"passed\"}"),
        ),
        (
            Method::POST,
            format!("/sandbox/claims/{long}/scan"),
            Some("{\"outcome\":\"passed\"}"),
        ),
        (Method::GET, "/sandbox/users/%FF".to_owned(), None),
        (Method::GET, "/api/v2/users/%ZZ".to_owned(), None),
        (Method::GET, format!("/api/v2/users/{long}"), None),
        (
            Method::GET,
            "/api/v2/availability?api_key=%ZZ".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/api/v2/%FF/access_token".to_owned(),
            Some("grant_type=client_credentials"),
        ),
    ];

    let mut failures = Vec::new();
    for (method, path, body) in requests {
        // WHEN each is sent
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body.unwrap_or_default().to_owned()))
            .expect("request");
        request
            .headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_static("Bearer"));
        let reply = sandbox.send(request).await;

        // THEN it is a JSON 4xx with an error code
        if !(reply.status.is_client_error() && reply.body["error"].is_string()) {
            failures.push(format!(
                "{method} {} → {} {}",
                &path[..path.len().min(60)],
                reply.status,
                reply.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn non_ascii_and_broken_authorization_headers_are_refused_cleanly() {
    // GIVEN a sandbox
    let sandbox = Sandbox::new();
    for value in [
        &b"Basic !!!"[..],
        b"Basic \xFF\xFE",
        b"Bearer \xFF",
        b"",
        b"Digest x",
    ] {
        for path in [
            format!("/api/v2/{API_KEY}/access_token"),
            "/api/v2/users/user-1".to_owned(),
        ] {
            // WHEN a malformed Authorization header is sent
            let method = if path.ends_with("access_token") {
                Method::POST
            } else {
                Method::GET
            };
            let mut request = Request::builder()
                .method(method)
                .uri(&path)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=client_credentials"))
                .expect("request");
            request.headers_mut().insert(
                AUTHORIZATION,
                HeaderValue::from_bytes(value).expect("header bytes"),
            );
            let reply = sandbox.send(request).await;

            // THEN the answer is 401 JSON
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} {value:?}");
            assert!(reply.body["error"].is_string(), "{}", reply.text);
        }
    }
}
