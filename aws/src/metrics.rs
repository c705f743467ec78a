//! Business and integration metrics as CloudWatch Embedded Metric Format (EMF) log lines.
//!
//! Why EMF: Lambda already ships stdout to CloudWatch Logs, and CloudWatch extracts metrics
//! from EMF lines there. A metric therefore costs no API call, no `cloudwatch:PutMetricData`
//! permission, no agent and no latency on the request path, and the same line stays queryable
//! in Logs Insights.
//!
//! The contract with `template.yaml` (alarms, dashboard): namespace `METRICS_NAMESPACE`
//! (default `IProovOnboarding`), and every metric is emitted at least with the dimension set
//! `[Environment]` (value `APP_ENV`). Finer sets such as `[Environment, Reason]` are added per
//! metric, chosen so that the number of distinct series stays small.
//!
//! No personal data may become a dimension. Dimension names are `&'static str`; values are
//! compile-time literals, a closed vocabulary ([`Reason`]), an iProov error code, or the
//! environment, and every value still passes a strict character and length allowlist
//! (anything else is replaced by `other`). The free-form [`Metrics::count`] and
//! [`Metrics::latency_ms`] take only `&'static str` dimension values for the same reason.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use iproov_client::{CallObserver, CallReport, IProovError};
use onboarding_core::domain::reasons::Reason;
use serde_json::{Map, Value, json};

/// The namespace the alarms and the dashboard read when `METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "IProovOnboarding";

/// Metric names: the ones `template.yaml` alarms on and charts. Kept as constants so the
/// template, the docs and the tests name exactly the same thing.
pub mod names {
    pub const REGISTRATIONS_STARTED: &str = "RegistrationsStarted";
    pub const REGISTRATIONS_COMPLETED: &str = "RegistrationsCompleted";
    pub const REGISTRATIONS_FAILED: &str = "RegistrationsFailed";
    pub const LOGINS_PASSED: &str = "LoginsPassed";
    pub const LOGINS_FAILED: &str = "LoginsFailed";
    pub const RATE_LIMIT_HITS: &str = "RateLimitHits";
    pub const IPROOV_CALLS: &str = "IProovCalls";
    pub const IPROOV_ERRORS: &str = "IProovErrors";
    pub const IPROOV_LATENCY_MS: &str = "IProovLatencyMs";
    pub const VALIDATION_LAG_MS: &str = "ValidationLagMs";
    pub const AUDIT_EVENTS_LOST: &str = "AuditEventsLost";

    /// Every documented metric, in the order of `docs/template.md`.
    pub const ALL: [&str; 11] = [
        REGISTRATIONS_STARTED,
        REGISTRATIONS_COMPLETED,
        REGISTRATIONS_FAILED,
        LOGINS_PASSED,
        LOGINS_FAILED,
        RATE_LIMIT_HITS,
        IPROOV_CALLS,
        IPROOV_ERRORS,
        IPROOV_LATENCY_MS,
        VALIDATION_LAG_MS,
        AUDIT_EVENTS_LOST,
    ];
}

/// The dimension every metric carries; the alarms select on it.
const ENVIRONMENT: &str = "Environment";
/// Longest dimension value accepted; codes and names are far shorter, free text is not.
const MAX_LABEL_LEN: usize = 64;
/// The stand-in for a value that fails the allowlist.
const OTHER: &str = "other";

// ----- output ------------------------------------------------------------------------------

/// Where complete lines go: stdout in Lambda, memory in tests. Shared with
/// [`crate::events::LogEventSink`], whose events travel the same log pipeline.
pub trait LineWriter: Send + Sync {
    /// Writes one line; `line` has no trailing newline. Never fails the caller: losing a
    /// metric must not fail a registration.
    fn write_line(&self, line: &str);
}

/// Standard output, which Lambda forwards to the function's log group.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutLines;

impl LineWriter for StdoutLines {
    fn write_line(&self, line: &str) {
        // One `write_all` of the line and its newline under the stdout lock, so a log line
        // written by another thread can never land in the middle of it.
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(buf.as_bytes()).and_then(|()| out.flush());
    }
}

/// Discards lines: what [`Metrics::from_env`] and [`crate::events::LogEventSink::from_env`]
/// use outside a Lambda runtime, so library and handler tests don't fill their output with
/// EMF lines (writes to `io::stdout` bypass the test harness's capture).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullLines;

impl LineWriter for NullLines {
    fn write_line(&self, _line: &str) {}
}

/// The writer for lines meant for CloudWatch: stdout inside a Lambda runtime (Lambda and
/// `cargo lambda watch` both set `AWS_LAMBDA_FUNCTION_NAME`) or when `METRICS_STDOUT=1`;
/// nowhere otherwise.
pub(crate) fn runtime_writer() -> Arc<dyn LineWriter> {
    let in_lambda = crate::config::optional("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let forced = crate::config::optional("METRICS_STDOUT").as_deref() == Some("1");
    if in_lambda || forced {
        Arc::new(StdoutLines)
    } else {
        Arc::new(NullLines)
    }
}

/// Keeps lines in memory, for tests (here and in the function crates).
#[derive(Debug, Default)]
pub struct MemoryLines(Mutex<Vec<String>>);

impl MemoryLines {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl LineWriter for MemoryLines {
    fn write_line(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.to_owned());
    }
}

// ----- dimension values --------------------------------------------------------------------

/// `raw` if it is a short label made of ASCII letters, digits, `_`, `-` and `.`; otherwise
/// `other`. Spaces, `@`, `+`, `:` and non-ASCII never pass, so neither an e-mail address, a
/// phone number, an IP address nor a display name can become a dimension value.
pub(crate) fn safe_label(raw: &str) -> Cow<'_, str> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_LABEL_LEN
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Cow::Borrowed(raw)
    } else {
        Cow::Borrowed(OTHER)
    }
}

/// Dimension names: ASCII letters and digits, starting with a letter (CloudWatch forbids a
/// leading colon; we keep to the names we use).
fn is_dimension_name(name: &str) -> bool {
    name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// CloudWatch namespaces: 1–255 of `[A-Za-z0-9.-_/#:]`, and `AWS/` is reserved.
fn is_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 255
        && !ns.starts_with("AWS/")
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_/#:".contains(&b))
}

// ----- what can be measured ----------------------------------------------------------------

/// EMF units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The documented metrics, typed so that each carries exactly its dimensions.
#[derive(Debug, Clone, Copy)]
pub enum Metric<'a> {
    /// A registration was started (token issued). `[Environment]`.
    RegistrationStarted,
    /// A registration ended with a user created. `[Environment]`.
    RegistrationCompleted,
    /// An attempt ended failed. `[Environment]`, `[Environment, Reason]`.
    RegistrationFailed { reason: Reason },
    /// A login verification passed. `[Environment]`.
    LoginPassed,
    /// A login verification failed. `[Environment]`, `[Environment, Reason]`.
    LoginFailed { reason: Reason },
    /// A request was refused by an application rate limit. `limit` names the limit
    /// (e.g. `login_per_ip`). `[Environment]`, `[Environment, Limit]`.
    RateLimitHit { limit: &'static str },
    /// One call to iProov (after its retries). Emits `IProovCalls`, `IProovErrors`
    /// (`[Environment]`, `[Environment, Endpoint, Code]`) and `IProovLatencyMs`
    /// (`[Environment]`, `[Environment, Endpoint]`). `endpoint` is the client's endpoint name
    /// (`enrol_token`, `enrol_validate`, …).
    IProovCall {
        endpoint: &'static str,
        result: Result<(), &'a IProovError>,
        latency_ms: f64,
    },
    /// Time from scan submitted (SQS `SentTimestamp`) to validated. `[Environment]`.
    ValidationLag { lag_ms: f64 },
    /// An audited event the trail could not take, after its retry (docs/audit.md). `[Environment]`.
    AuditEventLost,
}

/// Whether a failed iProov call counts towards the error-rate alarm. `invalid_token` does
/// not: it is what a person who abandoned or repeated a scan produces, not an integration
/// fault, and counting it would page someone for user behaviour.
pub fn counts_as_iproov_error(error: &IProovError) -> bool {
    !matches!(error, IProovError::InvalidToken)
}

/// Metrics that share the same dimension sets within one line.
struct Directive {
    values: Vec<(&'static str, Unit, f64)>,
    /// Dimension sets beyond `Environment`, which every set starts with.
    extra_sets: Vec<Vec<&'static str>>,
}

/// Everything one EMF line says.
struct Line<'a> {
    dimensions: Vec<(&'static str, Cow<'a, str>)>,
    directives: Vec<Directive>,
}

impl<'a> Line<'a> {
    fn one(name: &'static str, unit: Unit, value: f64) -> Self {
        Self {
            dimensions: Vec::new(),
            directives: vec![Directive {
                values: vec![(name, unit, value)],
                extra_sets: Vec::new(),
            }],
        }
    }

    /// One metric, by `[Environment]` and by `[Environment, key]`.
    fn by(name: &'static str, unit: Unit, value: f64, key: &'static str, label: &'a str) -> Self {
        Self {
            dimensions: vec![(key, safe_label(label))],
            directives: vec![Directive {
                values: vec![(name, unit, value)],
                extra_sets: vec![vec![key]],
            }],
        }
    }
}

impl<'a> Metric<'a> {
    fn line(&self) -> Line<'a> {
        use names::*;
        match *self {
            Metric::RegistrationStarted => Line::one(REGISTRATIONS_STARTED, Unit::Count, 1.0),
            Metric::RegistrationCompleted => Line::one(REGISTRATIONS_COMPLETED, Unit::Count, 1.0),
            Metric::RegistrationFailed { reason } => Line::by(
                REGISTRATIONS_FAILED,
                Unit::Count,
                1.0,
                "Reason",
                reason.as_str(),
            ),
            Metric::LoginPassed => Line::one(LOGINS_PASSED, Unit::Count, 1.0),
            Metric::LoginFailed { reason } => {
                Line::by(LOGINS_FAILED, Unit::Count, 1.0, "Reason", reason.as_str())
            }
            Metric::RateLimitHit { limit } => {
                Line::by(RATE_LIMIT_HITS, Unit::Count, 1.0, "Limit", limit)
            }
            Metric::IProovCall {
                endpoint,
                result,
                latency_ms,
            } => {
                let (code, error) = match result {
                    Ok(()) => ("ok", false),
                    Err(e) => (e.code(), counts_as_iproov_error(e)),
                };
                Line {
                    dimensions: vec![
                        ("Endpoint", safe_label(endpoint)),
                        ("Code", safe_label(code)),
                    ],
                    directives: vec![
                        Directive {
                            values: vec![
                                (IPROOV_CALLS, Unit::Count, 1.0),
                                (IPROOV_ERRORS, Unit::Count, if error { 1.0 } else { 0.0 }),
                            ],
                            extra_sets: vec![vec!["Endpoint", "Code"]],
                        },
                        Directive {
                            values: vec![(IPROOV_LATENCY_MS, Unit::Milliseconds, latency_ms)],
                            extra_sets: vec![vec!["Endpoint"]],
                        },
                    ],
                }
            }
            Metric::ValidationLag { lag_ms } => {
                Line::one(VALIDATION_LAG_MS, Unit::Milliseconds, lag_ms)
            }
            Metric::AuditEventLost => Line::one(AUDIT_EVENTS_LOST, Unit::Count, 1.0),
        }
    }
}

// ----- the emitter -------------------------------------------------------------------------

/// Writes EMF lines. Build one per process ([`Metrics::from_env`] or [`global`]) and share it.
#[derive(Clone)]
pub struct Metrics {
    namespace: String,
    environment: String,
    /// `AWS_LAMBDA_FUNCTION_NAME`, written as a plain property (not a dimension, so it adds
    /// no metric series) to find the emitting function in Logs Insights.
    function: Option<String>,
    out: Arc<dyn LineWriter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Namespace from `METRICS_NAMESPACE` (default `IProovOnboarding`), environment from
    /// `APP_ENV` (default `unknown`), lines to stdout in a Lambda runtime (see
    /// [`NullLines`]). Never fails: a bad value falls back with a warning, because metrics
    /// must not stop a function from starting.
    pub fn from_env() -> Self {
        let namespace = crate::config::optional("METRICS_NAMESPACE")
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let environment = crate::config::optional("APP_ENV").unwrap_or_else(|| "unknown".into());
        let mut metrics = Self::new(&namespace, &environment, runtime_writer());
        metrics.function = crate::config::optional("AWS_LAMBDA_FUNCTION_NAME")
            .map(|f| safe_label(&f).into_owned());
        metrics
    }

    /// An emitter writing to `out`; `namespace` and `environment` are checked as in
    /// [`Metrics::from_env`].
    pub fn new(namespace: &str, environment: &str, out: Arc<dyn LineWriter>) -> Self {
        let namespace = if is_namespace(namespace) {
            namespace.to_owned()
        } else {
            tracing::warn!(
                "METRICS_NAMESPACE is not a valid CloudWatch namespace; using the default"
            );
            DEFAULT_NAMESPACE.to_owned()
        };
        Self {
            namespace,
            environment: safe_label(environment).into_owned(),
            function: None,
            out,
        }
    }

    /// Emits one documented metric as one EMF line.
    pub fn emit(&self, metric: Metric<'_>) {
        self.write(&metric.line());
    }

    /// A count of 1 for `name`, by `[Environment]` and, when `dims` is not empty, by
    /// `[Environment, <dims keys>]`. Prefer [`Metrics::emit`] for the documented metrics.
    pub fn count(&self, name: &'static str, dims: &[(&'static str, &'static str)]) {
        self.write(&Self::free_line(name, Unit::Count, 1.0, dims));
    }

    /// A latency sample in milliseconds, with dimensions as in [`Metrics::count`].
    pub fn latency_ms(
        &self,
        name: &'static str,
        value: f64,
        dims: &[(&'static str, &'static str)],
    ) {
        self.write(&Self::free_line(name, Unit::Milliseconds, value, dims));
    }

    fn free_line(
        name: &'static str,
        unit: Unit,
        value: f64,
        dims: &[(&'static str, &'static str)],
    ) -> Line<'static> {
        let mut line = Line::one(name, unit, value);
        let dims: Vec<_> = dims
            .iter()
            .filter(|(k, _)| is_dimension_name(k) && *k != ENVIRONMENT && *k != name)
            .take(29) // EMF allows 30 dimensions per set, Environment is one of them
            .map(|&(k, v)| (k, safe_label(v)))
            .collect();
        if !dims.is_empty() {
            line.directives[0].extra_sets = vec![dims.iter().map(|(k, _)| *k).collect()];
            line.dimensions = dims;
        }
        line
    }

    fn write(&self, line: &Line<'_>) {
        if let Some(text) = self.render(line, now_ms()) {
            self.out.write_line(&text);
        }
    }

    /// The EMF JSON text of `line`, or `None` when a value is not a finite number (JSON has
    /// no NaN, and CloudWatch would reject the whole line).
    fn render(&self, line: &Line<'_>, timestamp_ms: i64) -> Option<String> {
        let mut root = Map::new();
        root.insert(ENVIRONMENT.into(), Value::from(self.environment.as_str()));
        for (key, value) in &line.dimensions {
            root.insert((*key).into(), Value::from(value.as_ref()));
        }
        let mut directives = Vec::with_capacity(line.directives.len());
        for directive in &line.directives {
            let mut definitions = Vec::with_capacity(directive.values.len());
            for &(name, unit, value) in &directive.values {
                if !value.is_finite() {
                    tracing::warn!(metric = name, "metric value is not finite; line dropped");
                    return None;
                }
                // Durations measured across clocks can come out slightly negative.
                let value = if unit == Unit::Milliseconds {
                    value.max(0.0)
                } else {
                    value
                };
                root.insert(name.into(), json!(value));
                definitions.push(json!({"Name": name, "Unit": unit.as_str()}));
            }
            let mut sets = vec![vec![ENVIRONMENT]];
            for extra in &directive.extra_sets {
                let mut set = vec![ENVIRONMENT];
                set.extend(extra.iter().copied());
                sets.push(set);
            }
            directives.push(json!({
                "Namespace": self.namespace,
                "Dimensions": sets,
                "Metrics": definitions,
            }));
        }
        if let Some(function) = &self.function {
            root.insert("function".into(), Value::from(function.as_str()));
        }
        root.insert(
            "_aws".into(),
            json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
        );
        serde_json::to_string(&Value::Object(root)).ok()
    }
}

/// The iProov client reports each call it made here (it knows no metrics code of its own:
/// `wiring::iproov_client` hands it the process's emitter), and each report becomes one
/// [`Metric::IProovCall`] line: calls, errors and latency by endpoint.
impl CallObserver for Metrics {
    fn call_ended(&self, call: &CallReport<'_>) {
        self.emit(Metric::IProovCall {
            endpoint: call.endpoint,
            result: call.result,
            latency_ms: call.elapsed.as_secs_f64() * 1000.0,
        });
    }
}

fn now_ms() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// The process-wide emitter, built from the environment on first use. For code that has no
/// handle passed down to it (the rate limiter, the handlers); the iProov client is given it
/// when it is built (`wiring::iproov_client`).
pub fn global() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::from_env)
}

/// Emits `metric` through [`global`].
pub fn emit(metric: Metric<'_>) {
    global().emit(metric);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn emitter() -> (Metrics, Arc<MemoryLines>) {
        let lines = Arc::new(MemoryLines::default());
        (
            Metrics::new(DEFAULT_NAMESPACE, "prod", lines.clone()),
            lines,
        )
    }

    /// Checks one line against the EMF specification and returns it parsed:
    /// * the root is an object with `_aws.Timestamp` (integer ms) and `_aws.CloudWatchMetrics`;
    /// * each directive has a valid `Namespace`, `Dimensions` (sets of at most 30 names, each
    ///   naming a string member of the root) and `Metrics` (at most 100, each naming a number
    ///   member of the root, with a known unit).
    fn validate_emf(line: &str) -> Value {
        let root: Value = serde_json::from_str(line).expect("an EMF line is JSON");
        assert!(!line.contains('\n'), "one line");
        let obj = root.as_object().expect("root is an object");
        let aws = obj["_aws"].as_object().expect("_aws is an object");
        let ts = aws["Timestamp"].as_i64().expect("Timestamp is an integer");
        assert!(ts > 1_600_000_000_000, "Timestamp is in milliseconds");
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .expect("CloudWatchMetrics");
        assert!(!directives.is_empty());
        for directive in directives {
            let ns = directive["Namespace"].as_str().expect("Namespace");
            assert!(is_namespace(ns));
            let sets = directive["Dimensions"].as_array().expect("Dimensions");
            assert!(!sets.is_empty());
            for set in sets {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30, "at most 30 dimensions per set");
                for key in set {
                    let key = key.as_str().expect("dimension names are strings");
                    let value = obj.get(key).unwrap_or_else(|| panic!("no member {key}"));
                    let value = value.as_str().expect("dimension members are strings");
                    assert_eq!(safe_label(value), value, "dimension value is a safe label");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("Name");
                assert!(!name.is_empty() && name.len() <= 255);
                assert!(matches!(
                    metric["Unit"].as_str(),
                    Some("Count" | "Milliseconds")
                ));
                assert!(obj[name].is_number(), "{name} is a number member");
            }
        }
        root
    }

    fn metric_names(root: &Value) -> BTreeSet<String> {
        root["_aws"]["CloudWatchMetrics"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["Metrics"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m["Name"].as_str().map(str::to_owned))
            .collect()
    }

    fn dimension_sets(root: &Value, metric: &str) -> Vec<Vec<String>> {
        let directive = root["_aws"]["CloudWatchMetrics"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| {
                d["Metrics"]
                    .as_array()
                    .is_some_and(|ms| ms.iter().any(|m| m["Name"] == metric))
            })
            .expect("a directive for the metric");
        serde_json::from_value(directive["Dimensions"].clone()).expect("sets of strings")
    }

    fn every_metric(err: &IProovError) -> Vec<Metric<'_>> {
        vec![
            Metric::RegistrationStarted,
            Metric::RegistrationCompleted,
            Metric::RegistrationFailed {
                reason: Reason::EyesClosed,
            },
            Metric::LoginPassed,
            Metric::LoginFailed {
                reason: Reason::from_code("something_new"),
            },
            Metric::RateLimitHit {
                limit: "login_per_ip",
            },
            Metric::IProovCall {
                endpoint: "enrol_validate",
                result: Ok(()),
                latency_ms: 812.5,
            },
            Metric::IProovCall {
                endpoint: "enrol_token",
                result: Err(err),
                latency_ms: 30.0,
            },
            Metric::ValidationLag { lag_ms: 4200.0 },
            Metric::AuditEventLost,
        ]
    }

    #[test]
    fn every_documented_metric_is_valid_emf_with_the_environment_set() {
        let (metrics, lines) = emitter();
        let err = IProovError::Unavailable { status: 503 };
        for metric in every_metric(&err) {
            metrics.emit(metric);
        }
        let mut seen = BTreeSet::new();
        for line in lines.lines() {
            let root = validate_emf(&line);
            assert_eq!(root["Environment"], "prod");
            for name in metric_names(&root) {
                assert!(
                    dimension_sets(&root, &name).contains(&vec!["Environment".to_owned()]),
                    "{name} is emitted by [Environment], which the alarms read"
                );
                assert_eq!(
                    root["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                    "IProovOnboarding"
                );
                seen.insert(name);
            }
        }
        let documented: BTreeSet<String> = names::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            seen, documented,
            "the typed API covers exactly the documented metrics"
        );
    }

    /// The alarms and the dashboard read these names in this namespace by `Environment`.
    #[test]
    fn the_template_reads_the_metrics_emitted_here() {
        let template = include_str!("../../template.yaml");
        assert!(template.contains(&format!("METRICS_NAMESPACE: {DEFAULT_NAMESPACE}")));
        for name in names::ALL {
            assert!(
                template.contains(&format!(
                    "\"{DEFAULT_NAMESPACE}\",\"{name}\",\"Environment\""
                )) || template.contains(&format!("MetricName: {name}")),
                "{name} is charted or alarmed on in template.yaml"
            );
        }
    }

    #[test]
    fn failures_are_also_broken_down_by_reason() {
        let (metrics, lines) = emitter();
        metrics.emit(Metric::RegistrationFailed {
            reason: Reason::UsernameTaken,
        });
        let root = validate_emf(&lines.lines()[0]);
        assert_eq!(root["Reason"], "username_taken");
        assert_eq!(root["RegistrationsFailed"], 1.0);
        assert_eq!(
            dimension_sets(&root, "RegistrationsFailed"),
            vec![vec!["Environment"], vec!["Environment", "Reason"]]
        );
    }

    #[test]
    fn an_iproov_call_carries_calls_errors_and_latency() {
        let (metrics, lines) = emitter();
        let refused = IProovError::InvalidToken;
        let down = IProovError::Timeout { maybe_sent: true };
        metrics.emit(Metric::IProovCall {
            endpoint: "verify_validate",
            result: Ok(()),
            latency_ms: 120.0,
        });
        metrics.emit(Metric::IProovCall {
            endpoint: "verify_validate",
            result: Err(&refused),
            latency_ms: 80.0,
        });
        metrics.emit(Metric::IProovCall {
            endpoint: "enrol_token",
            result: Err(&down),
            latency_ms: 10_000.0,
        });
        let roots: Vec<Value> = lines.lines().iter().map(|l| validate_emf(l)).collect();
        assert_eq!(roots[0]["Code"], "ok");
        assert_eq!(roots[0]["IProovErrors"], 0.0);
        assert_eq!(roots[1]["Code"], "invalid_token");
        assert_eq!(
            roots[1]["IProovErrors"], 0.0,
            "user behaviour, not an outage"
        );
        assert_eq!(roots[2]["Code"], "timeout");
        assert_eq!(roots[2]["IProovErrors"], 1.0);
        assert_eq!(roots[2]["Endpoint"], "enrol_token");
        assert_eq!(roots[2]["IProovLatencyMs"], 10_000.0);
        assert_eq!(
            dimension_sets(&roots[2], "IProovErrors"),
            vec![vec!["Environment"], vec!["Environment", "Endpoint", "Code"]]
        );
        assert_eq!(
            dimension_sets(&roots[2], "IProovLatencyMs"),
            vec![vec!["Environment"], vec!["Environment", "Endpoint"]]
        );
    }

    #[test]
    fn the_iproov_clients_call_reports_become_iproov_call_lines() {
        // given the emitter as the iProov client's observer
        let (metrics, lines) = emitter();
        let observer: &dyn CallObserver = &metrics;
        let down = IProovError::Unavailable { status: 503 };
        // when the client reports a failed and a successful call
        observer.call_ended(&CallReport {
            endpoint: "enrol_token",
            result: Err(&down),
            elapsed: std::time::Duration::from_millis(1500),
        });
        observer.call_ended(&CallReport {
            endpoint: "enrol_validate",
            result: Ok(()),
            elapsed: std::time::Duration::from_micros(812_500),
        });
        // then each is one IProovCall line, with its latency in milliseconds
        let roots: Vec<Value> = lines.lines().iter().map(|l| validate_emf(l)).collect();
        assert_eq!(roots.len(), 2);
        assert_eq!(
            (&roots[0]["Endpoint"], &roots[0]["Code"]),
            (&json!("enrol_token"), &json!("unavailable"))
        );
        assert_eq!(roots[0]["IProovErrors"], 1.0);
        assert_eq!(roots[0]["IProovLatencyMs"], 1500.0);
        assert_eq!(
            (&roots[1]["Endpoint"], &roots[1]["Code"]),
            (&json!("enrol_validate"), &json!("ok"))
        );
        assert_eq!(roots[1]["IProovCalls"], 1.0);
        assert_eq!(roots[1]["IProovLatencyMs"], 812.5);
    }

    #[test]
    fn every_iproov_error_code_is_a_safe_label() {
        let errors = [
            IProovError::InvalidToken,
            IProovError::InvalidKey,
            IProovError::InvalidOAuth,
            IProovError::InvalidUserId,
            IProovError::RateLimited,
            IProovError::Unavailable { status: 502 },
            IProovError::Rejected {
                status: 400,
                code: "some code".into(),
            },
            IProovError::NotFound,
            IProovError::Timeout { maybe_sent: false },
            IProovError::Transport { maybe_sent: true },
            IProovError::Decode,
            IProovError::Credentials("secret store down".into()),
            IProovError::Config("bad url".into()),
        ];
        for err in &errors {
            assert_eq!(safe_label(err.code()), err.code(), "{err:?}");
        }
    }

    #[test]
    fn free_form_counts_and_latencies_are_valid_emf() {
        let (metrics, lines) = emitter();
        metrics.count("ScanValidatorRetries", &[]);
        metrics.count("ColdStarts", &[("Function", "scan-validator")]);
        metrics.latency_ms("StoreLatencyMs", 12.0, &[("Table", "users"), ("Op", "get")]);
        let roots: Vec<Value> = lines.lines().iter().map(|l| validate_emf(l)).collect();
        assert_eq!(
            dimension_sets(&roots[0], "ScanValidatorRetries"),
            vec![vec!["Environment"]]
        );
        assert_eq!(
            dimension_sets(&roots[2], "StoreLatencyMs"),
            vec![vec!["Environment"], vec!["Environment", "Table", "Op"]]
        );
        assert_eq!(
            roots[2]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
    }

    #[test]
    fn nothing_personal_can_become_a_dimension_value() {
        for pii in [
            "alice@example.com",
            "Alice Smith",
            "+44 7700 900123",
            "192.0.2.1:443",
            "Zoë",
            "x".repeat(65).as_str(),
            "",
            "a\nb",
        ] {
            assert_eq!(safe_label(pii), "other", "{pii:?}");
        }
        let lines = Arc::new(MemoryLines::default());
        let metrics = Metrics::new(DEFAULT_NAMESPACE, "prod env", lines.clone());
        metrics.emit(Metric::RateLimitHit {
            limit: "alice@example.com",
        });
        let root = validate_emf(&lines.lines()[0]);
        assert_eq!(root["Environment"], "other");
        assert_eq!(root["Limit"], "other");
        assert!(!lines.lines()[0].contains("alice"));
    }

    #[test]
    fn bad_values_are_dropped_or_clamped_never_written_as_invalid_json() {
        let (metrics, lines) = emitter();
        metrics.emit(Metric::ValidationLag { lag_ms: f64::NAN });
        metrics.latency_ms("X", f64::INFINITY, &[]);
        assert!(lines.lines().is_empty());
        metrics.emit(Metric::ValidationLag { lag_ms: -3.0 });
        let root = validate_emf(&lines.lines()[0]);
        assert_eq!(root["ValidationLagMs"], 0.0);
    }

    #[test]
    fn a_bad_namespace_falls_back_to_the_default() {
        let lines = Arc::new(MemoryLines::default());
        let metrics = Metrics::new("AWS/Lambda", "dev", lines.clone());
        metrics.emit(Metric::LoginPassed);
        let root = validate_emf(&lines.lines()[0]);
        assert_eq!(
            root["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            DEFAULT_NAMESPACE
        );
    }
}
