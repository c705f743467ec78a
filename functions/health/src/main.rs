//! `GET /v1/health`: proves the whole chain (gateway, runtime, binary) is up. It touches no
//! backend on purpose, so it stays cheap to probe.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
    // No route takes a credential, so no page needs to be allowed.
    api::server::run(
        Router::new().route("/v1/health", get(health)),
        api::OriginPolicy::default(),
    )
    .await
}
