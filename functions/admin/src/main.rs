//! The operator API (`/admin/…`): look an account up, lock and unlock it, end its sessions,
//! queue its erasure, list its recent attempts. API Gateway authorises every route with IAM
//! (SigV4, the template's `OperatorApiPolicy`); the journeys are the core's
//! (core/src/use_cases/operator/), audited with the principal API Gateway authenticated. This
//! function wires their ports once, then serves; its handlers only translate.

mod caller;
mod routes;

use std::sync::Arc;

use aws_adapters::config::{self, JourneySettings};
use aws_adapters::wiring;
use axum::Router;
use axum::routing::{delete, get, post, put};
use onboarding_core::audit::AuditTrail;
use onboarding_core::oidc::ports::UserGrants;
use onboarding_core::ports::{
    AccountLocks, Clock, ErasureQueue, KeyRing, SystemClock, UserActivity, UserStore,
};

/// The ports the operator journeys use, and the one setting they read.
pub struct Deps {
    pub users: Arc<dyn UserStore>,
    pub locks: Arc<dyn AccountLocks>,
    pub activity: Arc<dyn UserActivity>,
    pub grants: Arc<dyn UserGrants>,
    pub erasure_queue: Arc<dyn ErasureQueue>,
    pub trail: Arc<dyn AuditTrail>,
    pub keys: Arc<dyn KeyRing>,
    pub clock: Arc<dyn Clock>,
    /// The login sessions' idle timeout: a lookup counts live sessions as login checks them.
    pub session_idle_seconds: i64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    api::telemetry::init();
    let sdk = config::aws();
    let settings = JourneySettings::from_env()?;
    let users = wiring::users(&sdk)?;
    let deps = Arc::new(Deps {
        users: users.clone(),
        locks: users,
        activity: wiring::activity(&sdk)?,
        grants: wiring::oidc_records(&sdk)?,
        erasure_queue: wiring::erasure_queue(&sdk)?,
        trail: wiring::audit_trail(&sdk)?,
        keys: wiring::app_keys(&sdk, &settings)?,
        clock: Arc::new(SystemClock),
        session_idle_seconds: settings.session_idle_seconds,
    });
    let routes = Router::new()
        .route("/admin/users/lookup", post(routes::look_up))
        .route(
            "/admin/users/{user_id}",
            get(routes::show).delete(routes::erase),
        )
        .route(
            "/admin/users/{user_id}/lock",
            put(routes::lock).delete(routes::unlock),
        )
        .route(
            "/admin/users/{user_id}/sessions",
            delete(routes::end_sessions),
        )
        .route("/admin/users/{user_id}/attempts", get(routes::attempts))
        .with_state(deps);
    api::server::run(routes, settings.origins()).await
}
