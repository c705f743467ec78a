//! Helpers shared by the integration tests: an in-process sandbox driven with
//! `tower::ServiceExt::oneshot`, and iProov calls written once.
#![allow(dead_code)] // each test binary uses a different subset

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use iproov_sandbox::{SandboxConfig, router};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const API_KEY: &str = "sandbox-api-key";
pub const SECRET: &str = "sandbox-secret";

/// An answer: status, headers, and the body parsed as JSON (`Value::Null` with the raw text
/// in `text` when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error field>")
    }

    pub fn is_json(&self) -> bool {
        serde_json::from_str::<Value>(&self.text).is_ok()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Enrol,
    Verify,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Enrol => "enrol",
            Kind::Verify => "verify",
        }
    }
}

/// A sandbox in the test's own process. Clones of the router share its state.
#[derive(Clone)]
pub struct Sandbox {
    app: Router,
}

impl Sandbox {
    pub fn new() -> Self {
        Self::with_config(SandboxConfig::default())
    }

    pub fn with_config(config: SandboxConfig) -> Self {
        Sandbox {
            app: router(config),
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body readable");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        let body = match body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("valid request")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    pub async fn with_bearer(&self, method: Method, path: &str, token: &str) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("valid request");
        self.send(request).await
    }

    // --- iProov calls ---

    pub async fn token(&self, kind: Kind, user_id: &str) -> Reply {
        self.token_with(kind, user_id, API_KEY, SECRET).await
    }

    /// A token call with the given claim credentials.
    pub async fn token_with(
        &self,
        kind: Kind,
        user_id: &str,
        api_key: &str,
        secret: &str,
    ) -> Reply {
        self.post(
            &format!("/api/v2/claim/{}/token", kind.as_str()),
            json!({
                "api_key": api_key,
                "secret": secret,
                "resource": "https://example.test",
                "user_id": user_id,
            }),
        )
        .await
    }

    /// Issues a token and returns it, failing the test if that is refused.
    pub async fn issue(&self, kind: Kind, user_id: &str) -> String {
        let reply = self.token(kind, user_id).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["token"].as_str().expect("a token").to_owned()
    }

    pub async fn validate_body(&self, kind: Kind, body: Value) -> Reply {
        self.post(&format!("/api/v2/claim/{}/validate", kind.as_str()), body)
            .await
    }

    pub async fn validate(&self, kind: Kind, user_id: &str, token: &str) -> Reply {
        self.validate_body(kind, validate_body(user_id, token))
            .await
    }

    pub async fn scan(&self, token: &str, outcome: &str) -> Reply {
        self.post(
            &format!("/sandbox/claims/{token}/scan"),
            json!({ "outcome": outcome }),
        )
        .await
    }

    /// Enrols and activates a user, the way the project's registration does.
    pub async fn enrol(&self, user_id: &str) {
        let token = self.issue(Kind::Enrol, user_id).await;
        assert_eq!(self.scan(&token, "passed").await.status, StatusCode::OK);
        let reply = self.validate(Kind::Enrol, user_id, &token).await;
        assert_eq!(reply.body["passed"], json!(true), "{}", reply.text);
    }

    pub async fn access_token(&self) -> String {
        let reply = self
            .oauth(
                API_KEY,
                "sandbox-oauth-id",
                "sandbox-oauth-secret",
                "grant_type=client_credentials",
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    pub async fn oauth(&self, api_key: &str, id: &str, secret: &str, form: &str) -> Reply {
        let basic = STANDARD.encode(format!("{id}:{secret}"));
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v2/{api_key}/access_token"))
            .header(AUTHORIZATION, format!("Basic {basic}"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .expect("valid request");
        self.send(request).await
    }

    pub async fn stats(&self) -> Value {
        self.get("/sandbox/stats").await.body
    }
}

/// A complete, valid validate body.
pub fn validate_body(user_id: &str, token: &str) -> Value {
    json!({
        "api_key": API_KEY,
        "secret": SECRET,
        "user_id": user_id,
        "token": token,
        "ip": "203.0.113.7",
        "client": "integration-test/1.0",
    })
}
