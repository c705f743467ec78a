//! # iproov-sandbox
//!
//! A local server that behaves like iProov's REST API v2 (under `/api/v2`) for local runs and
//! end-to-end tests, plus a control surface (under `/sandbox`) through which a test plays the
//! person in front of the camera and injects faults. See `README.md` beside this crate for every
//! endpoint and for where the sandbox departs from the real service.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use iproov_sandbox::{SandboxConfig, serve};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let base_url = format!("http://{}/api/v2", listener.local_addr()?);
//! tokio::spawn(serve(listener, SandboxConfig::default()));
//! # let _ = base_url; Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;

mod access_log;
mod api;
mod claims;
pub mod cli;
mod config;
mod conn;
mod control;
mod credentials;
mod errors;
mod faults;
pub mod jpeg;
mod oauth;
mod paths;
pub mod png;
mod ratelimit;
mod request;
mod state;
mod stats;
mod tokens;
mod users;

pub use access_log::{init_json_stdout as init_logging, json_subscriber};
pub use config::{DEFAULT_TOKEN_TTL, FrameMode, SandboxConfig};
pub use paths::token_fingerprint;

use conn::{ConnectionHandle, DroppableListener};
use errors::ApiError;
use state::Shared;

/// The complete sandbox application, with fresh state inside.
///
/// Usable with `tower::ServiceExt::oneshot` in tests. Served this way, a `drop_connection` fault
/// cannot cut the connection and stalls instead; use [`serve`] for that.
pub fn router(config: SandboxConfig) -> Router {
    let shared = Arc::new(Shared::new(config));
    Router::new()
        .route("/api/v2/{*rest}", any(api::dispatch))
        .merge(control::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(access_log::log_request))
        .with_state(shared)
}

async fn not_found() -> Response {
    ApiError::not_found("no such route").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::method_not_allowed().into_response()
}

/// Serves the sandbox on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: SandboxConfig) -> io::Result<()> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

/// Serves the sandbox on `listener` until `shutdown` completes, then stops accepting and waits
/// for in-flight requests.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    config: SandboxConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = router(config).into_make_service_with_connect_info::<ConnectionHandle>();
    axum::serve(DroppableListener::new(listener), app)
        .with_graceful_shutdown(shutdown)
        .await
}
