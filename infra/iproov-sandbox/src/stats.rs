//! Call counters, so tests can assert what the project did to iProov ("validate was called
//! exactly once for this token") rather than only what it answered.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{Value, json};

use crate::paths::token_fingerprint;

#[derive(Debug, Default)]
pub struct Stats {
    /// `"POST /claim/enrol/validate"` → calls, by route pattern, faulted calls included.
    calls: BTreeMap<String, u64>,
    /// Token fingerprint → validate calls that named this token, got past fault injection and
    /// carried accepted credentials, whatever they answered (a refused key is not a validate).
    validations: BTreeMap<String, u64>,
}

impl Stats {
    pub fn count_call(&mut self, method: &Method, pattern: &str) {
        *self.calls.entry(format!("{method} {pattern}")).or_default() += 1;
    }

    pub fn count_validation(&mut self, token: &str) {
        *self
            .validations
            .entry(token_fingerprint(token))
            .or_default() += 1;
    }

    pub fn to_json(&self, faults_triggered: u64) -> Value {
        json!({
            "calls": self.calls,
            "validations": self.validations,
            "faults_triggered": faults_triggered,
        })
    }
}
