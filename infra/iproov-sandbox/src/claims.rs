//! Enrol and verify claims: a token's life from issue to scan to the one validate call.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::errors::ApiError;
use crate::tokens::random_token;

/// Which of the two flows a token belongs to. A token of one kind is not valid in the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimKind {
    Enrol,
    Verify,
}

impl ClaimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Enrol => "enrol",
            ClaimKind::Verify => "verify",
        }
    }
}

/// The assurance a token was issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssuranceType {
    GenuinePresence,
    Liveness,
}

impl AssuranceType {
    /// Absent means `genuine_presence`; any other value is refused with 403, as iProov does.
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("genuine_presence") => Ok(AssuranceType::GenuinePresence),
            Some("liveness") => Ok(AssuranceType::Liveness),
            Some(_) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "invalid_assurance_type",
                "assurance_type must be genuine_presence or liveness",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssuranceType::GenuinePresence => "genuine_presence",
            AssuranceType::Liveness => "liveness",
        }
    }
}

/// What the person in front of the camera achieved, as told by `POST /sandbox/claims/{t}/scan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanOutcome {
    pub passed: bool,
    /// The failure code (`unknown` when a failed scan gave none); `None` when passed.
    pub reason: Option<String>,
}

/// Where a claim is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimState {
    /// Issued; the SDK has not finished streaming. Validate answers `invalid_token`.
    AwaitingScan,
    /// Streamed; the next validate call answers with this outcome.
    Scanned(ScanOutcome),
    /// Validated once; every later validate answers `invalid_token`.
    Validated,
    /// Aborted with `/claim/{token}/invalidate`.
    Invalidated,
}

/// One issued token and what it was issued for.
#[derive(Clone, Debug)]
pub struct Claim {
    pub kind: ClaimKind,
    pub user_id: String,
    pub assurance_type: AssuranceType,
    pub risk_profile: Option<String>,
    pub expires_at: Instant,
    pub state: ClaimState,
}

/// A claim that validate consumed, with what the answer needs.
#[derive(Clone, Debug)]
pub struct Consumed {
    pub kind: ClaimKind,
    pub assurance_type: AssuranceType,
    pub risk_profile: Option<String>,
    pub outcome: ScanOutcome,
}

/// Why the scan control refused a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanRefusal {
    UnknownToken,
    AlreadyScanned,
    AlreadyValidated,
    Invalidated,
}

/// Expired claims are kept this long after expiry (so they answer `invalid_token` rather than
/// vanish), then dropped so a long-running sandbox does not grow without bound.
const RETAIN_AFTER_EXPIRY: Duration = Duration::from_secs(3600);

/// All claims, by token.
#[derive(Debug, Default)]
pub struct Claims {
    by_token: HashMap<String, Claim>,
}

impl Claims {
    /// Issues a token. Returns it.
    pub fn issue(
        &mut self,
        kind: ClaimKind,
        user_id: &str,
        assurance_type: AssuranceType,
        risk_profile: Option<&str>,
        ttl: Duration,
        now: Instant,
    ) -> String {
        self.forget_long_expired(now);
        let token = random_token();
        self.by_token.insert(
            token.clone(),
            Claim {
                kind,
                user_id: user_id.to_owned(),
                assurance_type,
                risk_profile: risk_profile.map(str::to_owned),
                expires_at: now.checked_add(ttl).unwrap_or(now),
                state: ClaimState::AwaitingScan,
            },
        );
        token
    }

    /// What `token` was asked for, for tests checking which policy reached iProov.
    pub fn get(&self, token: &str) -> Option<&Claim> {
        self.by_token.get(token)
    }

    /// Records the outcome of the SDK's scan. The token's expiry is not checked here: the scan
    /// control stands in for a person, and validate is where expiry is enforced.
    pub fn record_scan(&mut self, token: &str, outcome: ScanOutcome) -> Result<(), ScanRefusal> {
        let claim = self
            .by_token
            .get_mut(token)
            .ok_or(ScanRefusal::UnknownToken)?;
        match claim.state {
            ClaimState::AwaitingScan => {
                claim.state = ClaimState::Scanned(outcome);
                Ok(())
            }
            ClaimState::Scanned(_) => Err(ScanRefusal::AlreadyScanned),
            ClaimState::Validated => Err(ScanRefusal::AlreadyValidated),
            ClaimState::Invalidated => Err(ScanRefusal::Invalidated),
        }
    }

    /// The validate call: succeeds once per scanned, unexpired token of the right kind and user,
    /// and consumes it. Any refusal leaves the claim as it was.
    pub fn consume(
        &mut self,
        token: &str,
        kind: ClaimKind,
        user_id: &str,
        now: Instant,
    ) -> Result<Consumed, ApiError> {
        let claim = self
            .by_token
            .get_mut(token)
            .ok_or_else(ApiError::invalid_token)?;
        if claim.kind != kind || claim.user_id != user_id || now >= claim.expires_at {
            return Err(ApiError::invalid_token());
        }
        let ClaimState::Scanned(outcome) = &claim.state else {
            return Err(ApiError::invalid_token());
        };
        let consumed = Consumed {
            kind: claim.kind,
            assurance_type: claim.assurance_type,
            risk_profile: claim.risk_profile.clone(),
            outcome: outcome.clone(),
        };
        claim.state = ClaimState::Validated;
        Ok(consumed)
    }

    /// Aborts a claim. `Ok(true)` when it was still open, `Ok(false)` when it had already been
    /// validated or invalidated (nothing left to abort).
    pub fn invalidate(&mut self, token: &str) -> Result<bool, ApiError> {
        let claim = self
            .by_token
            .get_mut(token)
            .ok_or_else(ApiError::invalid_token)?;
        match claim.state {
            ClaimState::AwaitingScan | ClaimState::Scanned(_) => {
                claim.state = ClaimState::Invalidated;
                Ok(true)
            }
            ClaimState::Validated | ClaimState::Invalidated => Ok(false),
        }
    }

    /// Drops every claim of a user, so a deleted user's outstanding tokens stop working.
    pub fn forget_user(&mut self, user_id: &str) {
        self.by_token.retain(|_, claim| claim.user_id != user_id);
    }

    fn forget_long_expired(&mut self, now: Instant) {
        self.by_token.retain(|_, claim| {
            claim
                .expires_at
                .checked_add(RETAIN_AFTER_EXPIRY)
                .is_none_or(|limit| now < limit)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn passed() -> ScanOutcome {
        ScanOutcome {
            passed: true,
            reason: None,
        }
    }

    fn issue(claims: &mut Claims, now: Instant) -> String {
        claims.issue(
            ClaimKind::Enrol,
            "user-1",
            AssuranceType::GenuinePresence,
            None,
            TTL,
            now,
        )
    }

    #[test]
    fn a_scanned_token_validates_exactly_once() {
        let now = Instant::now();
        let mut claims = Claims::default();
        let token = issue(&mut claims, now);
        assert!(
            claims
                .consume(&token, ClaimKind::Enrol, "user-1", now)
                .is_err()
        );
        claims.record_scan(&token, passed()).expect("scan recorded");
        assert!(
            claims
                .consume(&token, ClaimKind::Enrol, "user-1", now)
                .is_ok()
        );
        assert!(
            claims
                .consume(&token, ClaimKind::Enrol, "user-1", now)
                .is_err()
        );
    }

    #[test]
    fn refused_validations_do_not_consume_the_token() {
        let now = Instant::now();
        let mut claims = Claims::default();
        let token = issue(&mut claims, now);
        claims.record_scan(&token, passed()).expect("scan recorded");
        assert!(
            claims
                .consume(&token, ClaimKind::Verify, "user-1", now)
                .is_err()
        );
        assert!(
            claims
                .consume(&token, ClaimKind::Enrol, "user-2", now)
                .is_err()
        );
        assert!(
            claims
                .consume(&token, ClaimKind::Enrol, "user-1", now + TTL)
                .is_err()
        );
        assert!(
            claims
                .consume(&token, ClaimKind::Enrol, "user-1", now)
                .is_ok()
        );
    }

    #[test]
    fn a_token_is_scanned_once_and_not_after_validation() {
        let now = Instant::now();
        let mut claims = Claims::default();
        let token = issue(&mut claims, now);
        assert_eq!(
            claims.record_scan("nope", passed()),
            Err(ScanRefusal::UnknownToken)
        );
        claims.record_scan(&token, passed()).expect("scan recorded");
        assert_eq!(
            claims.record_scan(&token, passed()),
            Err(ScanRefusal::AlreadyScanned)
        );
        claims
            .consume(&token, ClaimKind::Enrol, "user-1", now)
            .expect("validated");
        assert_eq!(
            claims.record_scan(&token, passed()),
            Err(ScanRefusal::AlreadyValidated)
        );
    }
}
