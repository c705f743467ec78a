//! Structured logs: one JSON object per line, carrying the current span's fields (request id,
//! cold start) so every line can be correlated. CloudWatch adds its own timestamp, so none is
//! printed; locally the log collector keeps arrival order.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static COLD: AtomicBool = AtomicBool::new(true);

/// Installs the JSON logger once, at start-up, at the level [`filter_directive`] picks.
pub fn init() {
    let directive = filter_directive(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .finish()
        .with(filter(&directive))
        .try_init();
}

/// The filter for a directive: `target=level` pairs and a bare default level, comma-separated
/// (`RUST_LOG`'s common form); `info` when it does not parse. `Targets`, not `EnvFilter`: the
/// span and field-value forms `EnvFilter` adds need regular expressions, which would link
/// `regex-automata` and `regex-syntax` into every function for a local debugging nicety, and
/// make the functions' dependency features differ from the test build's (proptest turns on
/// `regex-syntax`'s Unicode tables), so the stack's binaries would be compiled twice
/// (README, "How long").
pub fn filter(directive: &str) -> Targets {
    directive
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

/// The log filter. Lambda sets `AWS_LAMBDA_LOG_LEVEL` from the function's `LoggingConfig`
/// (`ApplicationLogLevel`, the template's `LogLevel` parameter), the knob an operator turns in
/// the console or the template, so it wins; `RUST_LOG` (a full filter, for local debugging)
/// comes next; `info` otherwise. Lambda's `FATAL` has no tracing level and means `error`; an
/// unknown value falls through to the next source rather than silencing the function.
pub fn filter_directive(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    let lambda = lambda_level.and_then(|level| {
        Some(match level.trim().to_ascii_uppercase().as_str() {
            "TRACE" => "trace",
            "DEBUG" => "debug",
            "INFO" => "info",
            "WARN" => "warn",
            "ERROR" | "FATAL" => "error",
            _ => return None,
        })
    });
    match (lambda, rust_log.map(str::trim).filter(|s| !s.is_empty())) {
        (Some(level), _) => level.to_owned(),
        (None, Some(filter)) => filter.to_owned(),
        (None, None) => "info".to_owned(),
    }
}

/// True for the first invocation of this process, false afterwards.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::{filter, filter_directive};
    use tracing::Level;

    #[test]
    fn lambdas_log_level_wins_over_rust_log() {
        // given Lambda's level and a RUST_LOG, then Lambda's level is used
        assert_eq!(filter_directive(Some("DEBUG"), Some("info")), "debug");
        assert_eq!(filter_directive(Some("warn"), None), "warn");
    }

    #[test]
    fn fatal_means_error_and_unknown_levels_fall_through() {
        // given FATAL (no tracing equivalent) or a typo, then error, or the next source
        assert_eq!(filter_directive(Some("FATAL"), None), "error");
        assert_eq!(filter_directive(Some("LOUD"), Some("debug")), "debug");
        assert_eq!(filter_directive(Some("LOUD"), None), "info");
    }

    #[test]
    fn rust_log_applies_when_lambda_sets_no_level_and_info_is_the_default() {
        // given no Lambda level, then RUST_LOG, else info
        assert_eq!(filter_directive(None, Some("api=debug")), "api=debug");
        assert_eq!(filter_directive(None, Some("  ")), "info");
        assert_eq!(filter_directive(None, None), "info");
    }

    #[test]
    fn a_directive_sets_levels_per_target_and_a_bad_one_means_info() {
        // given a default level and a per-target level, then both apply
        let f = filter("warn,api=debug");
        assert!(f.would_enable("api::telemetry", &Level::DEBUG));
        assert!(!f.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(f.would_enable("aws_smithy_runtime", &Level::WARN));
        // given a directive that does not parse, then info
        let f = filter("api=loud");
        assert!(f.would_enable("anything", &Level::INFO));
        assert!(!f.would_enable("anything", &Level::DEBUG));
    }
}
