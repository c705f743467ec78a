//! One JSON line per request, with nothing in it that must stay secret.
//!
//! The line carries the method, the path with every segment that is not a known route word
//! replaced by a fingerprint (tokens, api keys and user ids appear in paths), the status, the
//! error code and the duration. Never the query string (`?api_key=`), headers or bodies, which
//! hold secrets, tokens and frames.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::errors::ErrorCode;
use crate::paths::redact_path;

/// The `tracing` target of access-log events.
pub const TARGET: &str = "iproov_sandbox::access";

/// Middleware: logs the request once its response is ready.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = redact_path(request.uri().path());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    // Microsecond precision is plenty and keeps the line short.
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    match response.extensions().get::<ErrorCode>() {
        Some(ErrorCode(error)) => tracing::info!(
            target: TARGET,
            method = %method,
            path = %path,
            status,
            error = %error,
            duration_ms,
            "request"
        ),
        None => tracing::info!(
            target: TARGET,
            method = %method,
            path = %path,
            status,
            duration_ms,
            "request"
        ),
    }
    response
}

/// A subscriber printing events as flat JSON lines (one object per line, fields at the top
/// level) to `writer`, filtered by `directives` (`RUST_LOG` syntax; `info` if they do not parse).
pub fn json_subscriber<W>(writer: W, directives: &str) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // `Targets` (target=level pairs), not `EnvFilter`, as in the functions (api/src/telemetry.rs):
    // the workspace builds one feature set of tracing-subscriber for both.
    let filter: Targets = directives
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(writer)
        .finish()
        .with(filter)
}

/// Installs [`json_subscriber`] on stdout for the whole process, filtered by `RUST_LOG`
/// (default `info`). Fails if a subscriber is already installed.
pub fn init_json_stdout() -> Result<(), String> {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, &directives))
        .map_err(|error| error.to_string())
}
