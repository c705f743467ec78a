//! PII-free domain events for analytics: one event per journey step, so a data team can build
//! funnels (started → submitted → completed / failed by reason → logged in) without ever
//! touching the operational tables.
//!
//! Where they go (see `docs/analytics.md`): each event is one JSON line on stdout, marked
//! `"analytics":"onboarding_event"`. Lambda writes it to the function's log group, and a
//! CloudWatch Logs subscription filter sends exactly the marked lines to a Firehose stream
//! that lands them in an encrypted S3 bucket. The functions need no SDK, no permission and no
//! network call for this, and an emission can never fail or slow a journey.
//!
//! Why personal data cannot get in: an event holds only
//! * a [`RegistrationId`] — accepted only in the form our ids are generated in (32 lowercase
//!   hex digits, a random UUID), so a name or an e-mail address can never be one;
//! * an attempt number;
//! * an [`AnalyticsUserId`] — a keyed hash of our random user id under a purpose of its own,
//!   so it cannot be joined with the users table, the iProov user id or the username index;
//! * a [`Reason`] — a closed vocabulary; any other code becomes `other`;
//! * the event type, a timestamp, a random event id, the environment and the schema version.
//!
//! No field is free text, and no constructor takes text that ends up in the output unchecked.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::metrics::{LineWriter, runtime_writer, safe_label};

/// Version of the event schema in `docs/analytics.md`. Bump it on any change that is not a
/// pure addition of an optional field or an event type.
pub const SCHEMA_VERSION: u32 = 1;

/// Value of the `analytics` marker field; the subscription filter in `template.yaml` selects
/// `{ $.analytics = "onboarding_event" }`, so no other log line can reach the analytics store.
pub const MARKER: &str = "onboarding_event";

/// Purpose label of the analytics pseudonym (see [`onboarding_core::crypto::hmac`]).
const ANALYTICS_USER_PURPOSE: &str = "analytics-user-v1";

// ----- the closed vocabulary of failure reasons ----------------------------------------------

/// Why an attempt failed, as events carry it: the core's one reason table
/// (core/src/domain/reasons.rs), whose codes are also the metric labels and the API's `reason`.
pub use onboarding_core::domain::reasons::Reason;

// ----- identifiers -------------------------------------------------------------------------

/// A registration id: exactly 32 lowercase hex digits, the form `Uuid::new_v4().simple()`
/// gives and the only form we generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RegistrationId(String);

impl RegistrationId {
    /// `None` for anything that is not one of our ids.
    pub fn parse(id: &str) -> Option<Self> {
        is_hex(id, 32).then(|| Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The pseudonymous user id of analytics: HMAC-SHA256 of our random user id under the
/// application pseudonym key, with a purpose label of its own (64 hex digits).
///
/// It is stable, so a data team can follow one person from registration to later logins, but
/// it matches nothing in our tables or at iProov. Once the user is erased, no one can link it
/// back to them: the user id it was derived from is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AnalyticsUserId(String);

impl AnalyticsUserId {
    /// The pseudonym of `user_id`, which must be one of our generated ids (32 lowercase hex
    /// digits); `None` otherwise, so a username can never be hashed into one by mistake.
    pub fn derive(pseudonym_key: &[u8], user_id: &str) -> Option<Self> {
        is_hex(user_id, 32).then(|| {
            Self(onboarding_core::crypto::keyed_hash(
                pseudonym_key,
                ANALYTICS_USER_PURPOSE,
                user_id,
            ))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ----- events ------------------------------------------------------------------------------

/// One journey step. Serialised with its `event_type` tag next to its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum JourneyEvent {
    /// An enrol token was issued for a new registration or a retry (`attempt` ≥ 1).
    RegistrationStarted {
        registration_id: RegistrationId,
        attempt: u32,
    },
    /// The app reported a finished scan and it was queued for validation.
    ScanSubmitted {
        registration_id: RegistrationId,
        attempt: u32,
    },
    /// iProov passed the scan and the user exists.
    RegistrationCompleted {
        registration_id: RegistrationId,
        attempt: u32,
        user: AnalyticsUserId,
    },
    /// The attempt failed; the registration may be retried.
    RegistrationFailed {
        registration_id: RegistrationId,
        attempt: u32,
        reason: Reason,
    },
    /// A login verification passed and a session was issued.
    LoggedIn { user: AnalyticsUserId },
    /// A login verification failed.
    LoginFailed {
        user: AnalyticsUserId,
        reason: Reason,
    },
    /// The user asked for erasure. Downstream stores delete (or anonymise) every event of
    /// this pseudonym when they see it.
    ErasureRequested { user: AnalyticsUserId },
}

impl JourneyEvent {
    /// The `event_type` value.
    pub fn event_type(&self) -> &'static str {
        match self {
            JourneyEvent::RegistrationStarted { .. } => "registration_started",
            JourneyEvent::ScanSubmitted { .. } => "scan_submitted",
            JourneyEvent::RegistrationCompleted { .. } => "registration_completed",
            JourneyEvent::RegistrationFailed { .. } => "registration_failed",
            JourneyEvent::LoggedIn { .. } => "logged_in",
            JourneyEvent::LoginFailed { .. } => "login_failed",
            JourneyEvent::ErasureRequested { .. } => "erasure_requested",
        }
    }
}

/// The line written for an event: envelope fields, then the event's own.
#[derive(Serialize)]
struct Envelope<'a> {
    analytics: &'static str,
    schema_version: u32,
    event_id: String,
    /// RFC 3339, UTC, millisecond precision.
    occurred_at: String,
    environment: &'a str,
    #[serde(flatten)]
    event: &'a JourneyEvent,
}

/// Where events go. Synchronous and infallible on purpose: analytics must never fail or slow
/// a journey step. A sink that talks to a network service would buffer and flush elsewhere.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &JourneyEvent);
}

/// Writes each event as one JSON log line (see the module documentation for the route from
/// there to S3). Locally the lines end up in `.local/logs/functions.log`.
pub struct LogEventSink {
    environment: String,
    out: Arc<dyn LineWriter>,
}

impl LogEventSink {
    /// Environment from `APP_ENV`; lines to stdout in a Lambda runtime, nowhere otherwise
    /// (see [`crate::metrics::NullLines`]).
    pub fn from_env() -> Self {
        let environment = crate::config::optional("APP_ENV").unwrap_or_else(|| "unknown".into());
        Self::new(&environment, runtime_writer())
    }

    /// A sink writing to `out`; `environment` passes the same allowlist as metric labels.
    pub fn new(environment: &str, out: Arc<dyn LineWriter>) -> Self {
        Self {
            environment: safe_label(environment).into_owned(),
            out,
        }
    }

    /// The line for `event` at `occurred_at`.
    fn render(&self, event: &JourneyEvent, occurred_at: time::OffsetDateTime) -> Option<String> {
        let envelope = Envelope {
            analytics: MARKER,
            schema_version: SCHEMA_VERSION,
            event_id: uuid::Uuid::new_v4().simple().to_string(),
            occurred_at: rfc3339_ms(occurred_at)?,
            environment: &self.environment,
            event,
        };
        serde_json::to_string(&envelope).ok()
    }
}

impl EventSink for LogEventSink {
    fn emit(&self, event: &JourneyEvent) {
        match self.render(event, time::OffsetDateTime::now_utc()) {
            Some(line) => self.out.write_line(&line),
            None => tracing::warn!(event_type = event.event_type(), "analytics event dropped"),
        }
    }
}

/// `2025-01-31T12:00:00.123Z`: fixed width, so the strings also sort by time.
fn rfc3339_ms(at: time::OffsetDateTime) -> Option<String> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC).format(&format).ok()
}

/// Keeps events in memory, for handler tests.
#[derive(Debug, Default)]
pub struct RecordingSink(Mutex<Vec<JourneyEvent>>);

impl RecordingSink {
    pub fn events(&self) -> Vec<JourneyEvent> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EventSink for RecordingSink {
    fn emit(&self, event: &JourneyEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// The process-wide sink (JSON log lines), built on first use from the environment.
pub fn global() -> &'static LogEventSink {
    static SINK: std::sync::OnceLock<LogEventSink> = std::sync::OnceLock::new();
    SINK.get_or_init(LogEventSink::from_env)
}

/// Emits `event` to the process-wide sink.
pub fn emit(event: JourneyEvent) {
    global().emit(&event);
}

/// Emits an event about a registration, when its id has the expected shape (it always does for
/// ids we issued; anything else is skipped rather than risking a free-text value).
pub fn registration(id: &str, make: impl FnOnce(RegistrationId) -> JourneyEvent) {
    if let Some(id) = RegistrationId::parse(id) {
        emit(make(id));
    }
}

/// Emits an event about a user, under the user's analytics pseudonym.
pub fn user(key: &[u8], user_id: &str, make: impl FnOnce(AnalyticsUserId) -> JourneyEvent) {
    if let Some(user) = AnalyticsUserId::derive(key, user_id) {
        emit(make(user));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::metrics::MemoryLines;

    const KEY: &[u8] = b"test-pseudonym-key";
    const REG: &str = "0123456789abcdef0123456789abcdef";
    const USER: &str = "fedcba9876543210fedcba9876543210";

    /// Personal data a careless caller might hold at each emission point.
    const CANARIES: [&str; 7] = [
        "alice.canary@example.com",
        "Alice Canary",
        "alice_canary",
        "+44 7700 900123",
        "192.0.2.44",
        "2001:db8::44",
        "Zoë Canary",
    ];

    fn user() -> AnalyticsUserId {
        AnalyticsUserId::derive(KEY, USER).expect("a generated user id")
    }

    fn registration() -> RegistrationId {
        RegistrationId::parse(REG).expect("a generated registration id")
    }

    fn every_event() -> Vec<JourneyEvent> {
        vec![
            JourneyEvent::RegistrationStarted {
                registration_id: registration(),
                attempt: 1,
            },
            JourneyEvent::ScanSubmitted {
                registration_id: registration(),
                attempt: 1,
            },
            JourneyEvent::RegistrationCompleted {
                registration_id: registration(),
                attempt: 2,
                user: user(),
            },
            JourneyEvent::RegistrationFailed {
                registration_id: registration(),
                attempt: 1,
                reason: Reason::from_code("eyes_closed"),
            },
            JourneyEvent::LoggedIn { user: user() },
            JourneyEvent::LoginFailed {
                user: user(),
                reason: Reason::from_code("alice.canary@example.com"),
            },
            JourneyEvent::ErasureRequested { user: user() },
        ]
    }

    fn lines_for(events: &[JourneyEvent]) -> Vec<String> {
        let lines = Arc::new(MemoryLines::default());
        let sink = LogEventSink::new("prod", lines.clone());
        for event in events {
            sink.emit(event);
        }
        lines.lines()
    }

    /// The fields each event type may carry, envelope included: the schema in
    /// docs/analytics.md, stated once more so that any new field fails this test first.
    fn allowed_fields(event_type: &str) -> BTreeSet<&'static str> {
        let mut fields: BTreeSet<&str> = [
            "analytics",
            "schema_version",
            "event_id",
            "occurred_at",
            "environment",
            "event_type",
        ]
        .into();
        let own: &[&str] = match event_type {
            "registration_started" | "scan_submitted" => &["registration_id", "attempt"],
            "registration_completed" => &["registration_id", "attempt", "user"],
            "registration_failed" => &["registration_id", "attempt", "reason"],
            "logged_in" | "erasure_requested" => &["user"],
            "login_failed" => &["user", "reason"],
            other => panic!("undocumented event type {other}"),
        };
        fields.extend(own);
        fields
    }

    /// The canary: every field of every event is an allowed field, and every value has the
    /// shape of an id, a code, a number or a timestamp — nothing that could hold a name.
    #[test]
    fn events_serialise_only_ids_codes_and_timestamps() {
        let reasons: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        let events = every_event();
        let lines = lines_for(&events);
        assert_eq!(lines.len(), events.len());
        for (line, event) in lines.iter().zip(&events) {
            let value: Value = serde_json::from_str(line).expect("JSON");
            let obj = value.as_object().expect("an object");
            let event_type = obj["event_type"].as_str().expect("event_type");
            assert_eq!(event_type, event.event_type());
            let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
            assert_eq!(keys, allowed_fields(event_type), "{line}");
            for (key, value) in obj {
                let ok = match key.as_str() {
                    "analytics" => value == MARKER,
                    "schema_version" => value == SCHEMA_VERSION,
                    "event_id" | "registration_id" => value.as_str().is_some_and(|s| is_hex(s, 32)),
                    "user" => value.as_str().is_some_and(|s| is_hex(s, 64)),
                    "attempt" => value.is_u64(),
                    "reason" => value.as_str().is_some_and(|s| reasons.contains(s)),
                    "environment" => value == "prod",
                    "event_type" => true,
                    "occurred_at" => value.as_str().is_some_and(|s| {
                        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
                    }),
                    other => panic!("unexpected field {other}"),
                };
                assert!(ok, "{key} = {value} in {line}");
            }
            for canary in CANARIES {
                assert!(!line.contains(canary), "{canary} leaked into {line}");
            }
        }
    }

    /// docs/analytics.md's JSON Schema names the same fields, event types and reasons as the
    /// code, so the document the data team reads cannot drift from what is emitted.
    #[test]
    fn the_documented_schema_matches_the_code() {
        let doc = include_str!("../../docs/analytics.md");
        let start = doc.find("### JSON Schema").expect("schema section");
        let block = &doc[start..];
        let open = block.find("```json\n").expect("json block") + "```json\n".len();
        let close = block[open..].find("\n```").expect("end of block") + open;
        let schema: Value = serde_json::from_str(&block[open..close]).expect("schema is JSON");

        let documented: BTreeSet<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let event_types: Vec<String> =
            serde_json::from_value(schema["properties"]["event_type"]["enum"].clone())
                .expect("event types");
        let mut emitted = BTreeSet::new();
        for event in every_event() {
            emitted.extend(allowed_fields(event.event_type()));
        }
        assert_eq!(documented, emitted);
        let codes: BTreeSet<String> = every_event()
            .iter()
            .map(|e| e.event_type().to_owned())
            .collect();
        assert_eq!(event_types.into_iter().collect::<BTreeSet<_>>(), codes);

        let reasons: Vec<String> =
            serde_json::from_value(schema["$defs"]["reason"]["enum"].clone()).expect("reasons");
        let known: Vec<String> = Reason::ALL.iter().map(|r| r.as_str().to_owned()).collect();
        assert_eq!(reasons, known);
        assert_eq!(
            schema["properties"]["schema_version"]["const"],
            SCHEMA_VERSION
        );
        assert_eq!(schema["properties"]["analytics"]["const"], MARKER);
    }

    #[test]
    fn personal_data_cannot_be_made_into_an_id_or_a_reason() {
        for canary in CANARIES {
            assert_eq!(RegistrationId::parse(canary), None);
            assert_eq!(AnalyticsUserId::derive(KEY, canary), None);
            assert_eq!(Reason::from_code(canary), Reason::Other);
        }
        // Upper-case or hyphenated forms are not what we generate either.
        assert_eq!(RegistrationId::parse(&REG.to_uppercase()), None);
        assert_eq!(
            RegistrationId::parse("01234567-89ab-cdef-0123-456789abcdef"),
            None
        );
        // An environment is a label, never free text.
        let lines = Arc::new(MemoryLines::default());
        LogEventSink::new("Alice Canary", lines.clone())
            .emit(&JourneyEvent::LoggedIn { user: user() });
        assert!(lines.lines()[0].contains(r#""environment":"other""#));
    }

    #[test]
    fn the_pseudonym_is_stable_keyed_and_distinct_from_other_hashes() {
        let a = AnalyticsUserId::derive(KEY, USER).expect("valid");
        assert_eq!(Some(&a), AnalyticsUserId::derive(KEY, USER).as_ref());
        assert_ne!(
            Some(&a),
            AnalyticsUserId::derive(b"another key", USER).as_ref()
        );
        assert!(!a.as_str().contains(USER));
        // Not the iProov pseudonym or any other keyed hash of the same id.
        assert_ne!(
            a.as_str(),
            onboarding_core::crypto::keyed_hash(KEY, "iproov-user", USER)
        );
    }

    #[test]
    fn reasons_round_trip_and_cover_every_hinted_code() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.as_str()), *reason);
            let json = serde_json::to_string(reason).expect("serialises");
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }

    #[test]
    fn each_event_is_one_marked_line_the_subscription_filter_selects() {
        for line in lines_for(&every_event()) {
            assert!(!line.contains('\n'));
            let value: Value = serde_json::from_str(&line).expect("JSON");
            assert_eq!(value["analytics"], MARKER);
            assert_eq!(value["schema_version"], 1);
        }
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let at = time::macros::datetime!(2025-03-04 05:06:07.089 +02:00);
        assert_eq!(rfc3339_ms(at).as_deref(), Some("2025-03-04T03:06:07.089Z"));
    }

    #[test]
    fn the_recording_sink_keeps_events_for_handler_tests() {
        let sink = RecordingSink::default();
        sink.emit(&JourneyEvent::ErasureRequested { user: user() });
        assert_eq!(
            sink.events(),
            vec![JourneyEvent::ErasureRequested { user: user() }]
        );
    }
}
