//! The login attempt's storage steps in `POST /v1/login`, arranged so that independent calls
//! overlap: the attempt is read while its per-attempt counter is hit, and a passed attempt is
//! ended while the new session is written. Each function takes only the ports it uses, so the
//! ordering rules below are tested with in-memory stores.

use axum::http::HeaderMap;
use shared::api::{ApiError, CookiePolicy, CredentialKind, credential};
use shared::crypto::Credential;
use shared::ports::{AttemptStatus, LoginAttempt, LoginAttemptStore, Session, SessionStore};
use shared::rate_limit::{self, Limit, RateLimiter};

/// The attempt the presented credential names, with one hit counted on its per-attempt limit.
///
/// The counter's key is the credential's id, known before the read, so both calls run at once.
/// The answers keep their order: no usable credential or no matching attempt is 401 (never
/// 429), then the limit (429 or a 503 from the counter store). One difference with counting
/// after the read: a well-formed credential with a wrong secret now counts against the attempt
/// it names too — which only makes guessing that attempt's secret slower.
pub async fn find_counted(
    attempts: &dyn LoginAttemptStore,
    limiter: &dyn RateLimiter,
    limit: Limit,
    headers: &HeaderMap,
    cookies: CookiePolicy,
    now: i64,
) -> Result<LoginAttempt, ApiError> {
    let credential = credential::presented(headers, CredentialKind::LoginAttempt, cookies)?
        .and_then(|c| Credential::parse(&c))
        .ok_or_else(ApiError::unauthorized)?;
    let key = format!("login#attempt#{}", credential.id);
    let hits = [(key.as_str(), limit)];
    let (limited, found) = futures::join!(
        rate_limit::enforce(limiter, "login_attempt", &hits, now),
        attempts.get(&credential.id),
    );
    let attempt = found?
        .filter(|a| credential.matches(&a.secret_hash))
        .ok_or_else(ApiError::unauthorized)?;
    limited?;
    Ok(attempt)
}

/// Moves a `validating` attempt to its end. Best effort: an attempt left `validating` is just
/// as final for a second call, so a failure is logged, not answered.
pub async fn end(
    attempts: &dyn LoginAttemptStore,
    attempt_id: &str,
    to: AttemptStatus,
    reason: Option<&str>,
) {
    if let Err(err) = attempts
        .transition(attempt_id, AttemptStatus::Validating, to, reason)
        .await
    {
        tracing::warn!(error = %err, "could not record the attempt's end");
    }
}

/// For a passed attempt: ends it (`passed`) and writes the new session at the same time — the
/// two items are independent, and the end is best effort (see [`end`]) whatever happens to the
/// session. Only the session's failure is answered (503), as when they ran one after the other.
pub async fn open_session(
    attempts: &dyn LoginAttemptStore,
    sessions: &dyn SessionStore,
    attempt_id: &str,
    session: &Session,
    idle_seconds: i64,
) -> Result<(), ApiError> {
    let ((), created) = futures::join!(
        end(attempts, attempt_id, AttemptStatus::Passed, None),
        sessions.create(session, idle_seconds),
    );
    created.map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use axum::http::{StatusCode, header};
    use shared::ports::StoreError;
    use shared::rate_limit::Decision;

    use super::*;

    const PLAIN: CookiePolicy = CookiePolicy { secure: false };

    const LIMIT: Limit = Limit {
        limit: 2,
        window_seconds: 600,
    };

    #[derive(Default)]
    struct Attempts {
        items: Mutex<HashMap<String, LoginAttempt>>,
        down: bool,
    }

    #[async_trait]
    impl LoginAttemptStore for Attempts {
        async fn create(&self, attempt: &LoginAttempt) -> Result<(), StoreError> {
            self.items
                .lock()
                .unwrap()
                .insert(attempt.id.clone(), attempt.clone());
            Ok(())
        }

        async fn get(&self, id: &str) -> Result<Option<LoginAttempt>, StoreError> {
            if self.down {
                return Err(StoreError::Unavailable("down".into()));
            }
            Ok(self.items.lock().unwrap().get(id).cloned())
        }

        async fn transition(
            &self,
            id: &str,
            from: AttemptStatus,
            to: AttemptStatus,
            _reason: Option<&str>,
        ) -> Result<(), StoreError> {
            if self.down {
                return Err(StoreError::Unavailable("down".into()));
            }
            let mut items = self.items.lock().unwrap();
            match items.get_mut(id) {
                Some(a) if a.status == from => {
                    a.status = to;
                    Ok(())
                }
                _ => Err(StoreError::Conflict),
            }
        }
    }

    #[derive(Default)]
    struct Counters(Mutex<HashMap<String, u32>>);

    #[async_trait]
    impl RateLimiter for Counters {
        async fn hit(&self, key: &str, limit: Limit, _now: i64) -> Result<Decision, StoreError> {
            let mut hits = self.0.lock().unwrap();
            let n = hits.entry(key.to_owned()).or_default();
            *n += 1;
            Ok(if *n > limit.limit {
                Decision::Limited { retry_after: 30 }
            } else {
                Decision::Allowed
            })
        }
    }

    #[derive(Default)]
    struct Sessions {
        items: Mutex<Vec<Session>>,
        down: bool,
    }

    #[async_trait]
    impl SessionStore for Sessions {
        async fn create(&self, session: &Session, _idle: i64) -> Result<(), StoreError> {
            if self.down {
                return Err(StoreError::Unavailable("down".into()));
            }
            self.items.lock().unwrap().push(session.clone());
            Ok(())
        }

        async fn get(&self, _id: &str) -> Result<Option<Session>, StoreError> {
            Ok(None)
        }
    }

    /// A stored pending attempt and the headers that present its credential.
    async fn stored_attempt(
        attempts: &Attempts,
        status: AttemptStatus,
    ) -> (LoginAttempt, HeaderMap) {
        let credential = Credential::issue("a1".into()).unwrap();
        let attempt = LoginAttempt {
            id: "a1".into(),
            secret_hash: credential.secret_hash(),
            user_id: "u1".into(),
            iproov_user_id: "i1".into(),
            iproov_token: "t".into(),
            status,
            expires_at: 1_000,
            created_at: 0,
            decoy: false,
        };
        attempts.create(&attempt).await.unwrap();
        let mut headers = HeaderMap::new();
        let bearer = format!("Bearer {}", credential.expose());
        headers.insert(header::AUTHORIZATION, bearer.parse().unwrap());
        (attempt, headers)
    }

    fn session() -> Session {
        Session {
            id: "s1".into(),
            secret_hash: "h".into(),
            user_id: "u1".into(),
            created_at: 0,
            last_seen: 0,
            absolute_expires_at: 100,
        }
    }

    #[tokio::test]
    async fn a_known_attempt_is_found_and_counted() {
        // given a pending attempt
        let (attempts, counters) = (Attempts::default(), Counters::default());
        let (_, headers) = stored_attempt(&attempts, AttemptStatus::Pending).await;
        // when it is looked up
        let found = find_counted(&attempts, &counters, LIMIT, &headers, PLAIN, 0).await;
        // then it is found, and its counter went up by one
        assert_eq!(found.unwrap().id, "a1");
        assert_eq!(counters.0.lock().unwrap()["login#attempt#a1"], 1);
    }

    #[tokio::test]
    async fn a_known_attempt_over_its_limit_is_429() {
        // given a pending attempt whose counter is full
        let (attempts, counters) = (Attempts::default(), Counters::default());
        let (_, headers) = stored_attempt(&attempts, AttemptStatus::Pending).await;
        counters
            .0
            .lock()
            .unwrap()
            .insert("login#attempt#a1".into(), LIMIT.limit);
        // when it is looked up
        let err = find_counted(&attempts, &counters, LIMIT, &headers, PLAIN, 0)
            .await
            .unwrap_err();
        // then the answer is 429
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test]
    async fn a_wrong_secret_is_401_even_over_the_limit() {
        // given an attempt whose counter is full, and a credential with its id but another secret
        let (attempts, counters) = (Attempts::default(), Counters::default());
        stored_attempt(&attempts, AttemptStatus::Pending).await;
        counters
            .0
            .lock()
            .unwrap()
            .insert("login#attempt#a1".into(), LIMIT.limit);
        let forged = Credential::issue("a1".into()).unwrap();
        let mut headers = HeaderMap::new();
        let bearer = format!("Bearer {}", forged.expose());
        headers.insert(header::AUTHORIZATION, bearer.parse().unwrap());
        // when it is looked up
        let err = find_counted(&attempts, &counters, LIMIT, &headers, PLAIN, 0)
            .await
            .unwrap_err();
        // then the answer is 401, as before the two calls overlapped
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn no_credential_is_401_without_counting() {
        // given no credential at all
        let (attempts, counters) = (Attempts::default(), Counters::default());
        // when the attempt is looked up
        let err = find_counted(&attempts, &counters, LIMIT, &HeaderMap::new(), PLAIN, 0)
            .await
            .unwrap_err();
        // then 401, and no counter was touched
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        assert!(counters.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_attempt_store_is_503() {
        // given an attempt store that cannot be reached
        let attempts = Attempts {
            down: true,
            ..Attempts::default()
        };
        let counters = Counters::default();
        let (_, headers) = stored_attempt(&Attempts::default(), AttemptStatus::Pending).await;
        // when the attempt is looked up
        let err = find_counted(&attempts, &counters, LIMIT, &headers, PLAIN, 0)
            .await
            .unwrap_err();
        // then 503
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn a_passed_attempt_ends_and_its_session_is_written() {
        // given an attempt being validated
        let (attempts, sessions) = (Attempts::default(), Sessions::default());
        stored_attempt(&attempts, AttemptStatus::Validating).await;
        // when the session is opened
        open_session(&attempts, &sessions, "a1", &session(), 60)
            .await
            .unwrap();
        // then the attempt is passed and the session exists
        assert_eq!(
            attempts.items.lock().unwrap()["a1"].status,
            AttemptStatus::Passed
        );
        assert_eq!(sessions.items.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_session_that_cannot_be_written_is_503_and_the_attempt_still_ends() {
        // given an attempt being validated and a session store that is down
        let attempts = Attempts::default();
        stored_attempt(&attempts, AttemptStatus::Validating).await;
        let sessions = Sessions {
            down: true,
            ..Sessions::default()
        };
        // when the session is opened
        let err = open_session(&attempts, &sessions, "a1", &session(), 60)
            .await
            .unwrap_err();
        // then 503, and the attempt is used up all the same (no second validate)
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            attempts.items.lock().unwrap()["a1"].status,
            AttemptStatus::Passed
        );
    }

    #[tokio::test]
    async fn an_attempt_that_cannot_be_ended_still_gets_its_session() {
        // given an attempt store that is down for writes
        let attempts = Attempts {
            down: true,
            ..Attempts::default()
        };
        let sessions = Sessions::default();
        // when the session is opened
        open_session(&attempts, &sessions, "a1", &session(), 60)
            .await
            .unwrap();
        // then the session exists: the attempt's end is best effort
        assert_eq!(sessions.items.lock().unwrap().len(), 1);
    }
}
