//! How the client reports its calls to whoever keeps metrics.
//!
//! The client counts every call to iProov (and its failures, and how long it took), but which
//! metrics system hears about it is its owner's business: the backend writes CloudWatch EMF
//! lines, a test may keep the reports in memory. The owner hands an implementation of
//! [`CallObserver`] to [`IProovClient::new`](super::IProovClient::new), so the client depends on
//! no metrics code.

use std::time::Duration;

use super::error::IProovError;

/// Told about each logical call to iProov once it has ended.
///
/// Called on the request path, after the answer arrived and before it is returned: keep it
/// cheap and never block (writing one log line is fine, a network call is not).
pub trait CallObserver: Send + Sync {
    /// One logical call ended: after all its attempts, credential refreshes, OAuth renewals and
    /// backoff delays. A call that needed an OAuth token first reports that token call too, as
    /// a call of its own (endpoint `access_token`), before it ends itself.
    fn call_ended(&self, call: &CallReport<'_>);
}

/// What the client knows about one logical call. It carries no secret, token, user id, URL or
/// answer text, so an observer may turn any of it into a metric dimension or a log field.
#[derive(Debug, Clone, Copy)]
pub struct CallReport<'a> {
    /// The endpoint's stable, low-cardinality name: `enrol_token`, `verify_token`,
    /// `enrol_validate`, `verify_validate`, `invalidate`, `delete_user`, `access_token` or
    /// `availability`.
    pub endpoint: &'static str,
    /// How the call ended. A user iProov did not know when deleting it is reported here as the
    /// `not_found` error iProov answered, although the client then returns success.
    pub result: Result<(), &'a IProovError>,
    /// Wall time of the whole call, retries and backoff included.
    pub elapsed: Duration,
}
