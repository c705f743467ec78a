//! Rate limits as deployed: the limits from the template's environment, and the core's
//! rate-limit signals as logs and metrics (`RateLimitHits`, which the alarms read). The rules
//! (limits, the token-route order, networks, windows) are the core's
//! (core/src/domain/rate_limits.rs, core/src/use_cases/token_route.rs); a refusal becomes 429
//! or 503 in the HTTP layer (api/src/core_errors.rs).

use crate::config::ConfigError;
use onboarding_core::domain::rate_limits::{Limit, Limits};

/// The limits from the environment the template sets (`RATE_LIMIT_*`), with the defaults of
/// docs/template.md.
pub fn limits_from_env() -> Result<Limits, ConfigError> {
    fn read(name: &'static str, default: Limit) -> Result<Limit, ConfigError> {
        match crate::config::optional(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|why| ConfigError::Invalid(name, why)),
        }
    }
    Ok(Limits {
        registration_per_ip: read("RATE_LIMIT_REGISTRATION_PER_IP", Limit::per(20, 600))?,
        registration_per_username: read(
            "RATE_LIMIT_REGISTRATION_PER_USERNAME",
            Limit::per(10, 600),
        )?,
        login_per_ip: read("RATE_LIMIT_LOGIN_PER_IP", Limit::per(30, 600))?,
        login_per_username: read("RATE_LIMIT_LOGIN_PER_USERNAME", Limit::per(10, 600))?,
        login_per_attempt: read("RATE_LIMIT_LOGIN_PER_ATTEMPT", Limit::per(5, 600))?,
        username_alarm: read("RATE_LIMIT_USERNAME_ALARM", Limit::per(50, 600))?,
    })
}

/// The core's rate-limit signals as logs and metrics: `RateLimitHits{Limit=…}`, which the
/// alarms read (a passed username ceiling under `Limit=username_ceiling`, for
/// `UsernameCeilingAlarm`).
pub struct MetricSignals;

impl onboarding_core::ports::RateLimitSignals for MetricSignals {
    fn refused(&self, limit: &'static str, retry_after: u32) {
        tracing::warn!(retry_after, limit, "rate limit hit");
        crate::metrics::emit(crate::metrics::Metric::RateLimitHit { limit });
    }

    fn username_ceiling_passed(&self, route: &'static str) {
        tracing::warn!(
            limit = route,
            "one username is being tried from many networks; alarm, not refusal"
        );
        crate::metrics::emit(crate::metrics::Metric::RateLimitHit {
            limit: "username_ceiling",
        });
    }
}
