//! Starting a registration (`POST /v1/users/registration`): a fresh registration for a username
//! nobody holds, or — with the credential of a registration whose attempt failed or expired — a
//! new attempt on the same registration.
//!
//! 0. The person's consent to biometric processing is judged first (domain/consent.rs): without
//!    an accepted, current version nothing else happens — no key is read, no rate-limit counter
//!    moves, no token is asked of the verifier and nothing is stored. This holds for retries
//!    too: each attempt spends a new enrol token, a new capture of the face, so the consent that
//!    covers it is the one given with it (the record is replaced on a retry; a repeated request
//!    for the attempt already issued keeps the one it was issued under).
//! 1. The username's blind index is computed (a keyed hash: the table never holds the name).
//! 2. The route's rate limits are applied while the username claim is read; the limits answer
//!    first, then "taken".
//! 3. Fresh: the person's names are sealed for a new user id, an enrol token is asked for the
//!    user's pseudonymous verifier id, and the registration is saved with the token kept
//!    server-side. Retry: the next attempt gets a fresh token, guarded by the attempt it starts
//!    from, so two concurrent retries cannot both win. A repeated request while a scan is
//!    awaited gets the current attempt again (a double click, a lost answer).

use std::net::IpAddr;

use super::failure::{Failure, new_credential, new_id};
use super::token_route::{RouteKeys, RouteLimits, TokenRouteGuard};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::crypto::{Credential, keyed_hash};
use crate::domain::consent::{ConsentAnswer, ConsentProblem};
use crate::domain::{
    AssurancePolicy, Channel, ConsentCatalog, ConsentRecord, DisplayName, Language, Registration,
    RegistrationStatus, Username,
};
use crate::ports::{
    Clock, FaceTokens, FieldSealer, KeyRing, RegistrationStore, StoreError, UserStore,
};

/// What starting a registration needs.
pub struct StartRegistration<'a> {
    pub registrations: &'a dyn RegistrationStore,
    pub users: &'a dyn UserStore,
    pub tokens: &'a dyn FaceTokens,
    pub sealer: &'a dyn FieldSealer,
    pub keys: &'a dyn KeyRing,
    pub guard: TokenRouteGuard<'a>,
    pub clock: &'a dyn Clock,
    pub limits: RouteLimits,
    /// How long an enrol token may wait for its scan.
    pub token_ttl_seconds: i64,
    /// How long a registration (all its attempts) may take.
    pub registration_ttl_seconds: i64,
    pub max_attempts: u32,
    /// How registration scans are judged.
    pub policy: &'a AssurancePolicy,
    /// The consent versions and texts of this deployment.
    pub consent: &'a ConsentCatalog,
}

/// A person's request, validated.
pub struct RegistrationRequest {
    pub username: Username,
    pub display_name: DisplayName,
    /// The caller's address (rate limits only).
    pub ip: Option<IpAddr>,
    /// The registration the caller's credential opens, if it presented a valid one.
    pub continuing: Option<(Credential, Registration)>,
    /// The person's answer to the consent text, if the request carried one.
    pub consent: Option<ConsentAnswer>,
    /// The request's language (`Accept-Language`): the text shown, unless the answer names one.
    pub language: Language,
    /// Browser or app.
    pub channel: Channel,
}

/// Which kind of attempt was handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptKind {
    /// Attempt 1 of a new registration.
    Fresh,
    /// The next attempt of a registration whose last one failed or expired.
    Retry,
    /// The attempt already awaiting its scan, handed out again.
    Repeat,
}

/// An attempt the person can scan for now.
#[derive(Debug)]
pub struct IssuedAttempt {
    pub credential: Credential,
    pub registration: Registration,
    /// The enrol token the app streams the scan with.
    pub token: String,
    pub kind: AttemptKind,
}

/// How the request ended.
#[derive(Debug)]
pub enum StartOutcome {
    Issued(Box<IssuedAttempt>),
    /// Another user holds the username.
    UsernameTaken,
    /// The registration is being validated or was submitted: it cannot restart now.
    InProgress(RegistrationStatus),
    /// The registration moved on while the request was running.
    ChangedMeanwhile,
    /// The registration used all its attempts.
    AttemptsExhausted,
    /// No consent we may act on: nothing was done.
    ConsentRefused(ConsentProblem),
}

impl StartOutcome {
    /// What the trail records: a fresh attempt or a retry started a registration attempt; a
    /// repeated request and a refusal started nothing.
    pub fn audit_event(&self, now: i64, request_id: &str) -> Option<AuditEvent> {
        let StartOutcome::Issued(issued) = self else {
            return None;
        };
        if issued.kind == AttemptKind::Repeat {
            return None;
        }
        Some(
            AuditEvent::new(AuditKind::RegistrationStarted, Actor::Person, now)?
                .registration(&issued.registration.id)
                .request(Some(request_id)),
        )
    }
}

impl StartRegistration<'_> {
    pub async fn run(&self, request: RegistrationRequest) -> Result<StartOutcome, Failure> {
        let now = self.clock.now();
        let consent = match self.consent.judge(
            request.consent.as_ref(),
            request.language,
            request.channel,
            now,
        ) {
            Ok(consent) => consent,
            Err(problem) => return Ok(StartOutcome::ConsentRefused(problem)),
        };
        let key = self.keys.pseudonym_key().await?;
        let key = key.as_ref().as_ref();
        let name_index = keyed_hash(key, "username", request.username.as_str());
        // A credential continues its registration only for the same username and while the
        // registration can still go somewhere; otherwise (a finished registration, a different
        // name) the person is starting something new.
        let continuing = request.continuing.filter(|(_, registration)| {
            registration.status != RegistrationStatus::Completed
                && registration.name_index == name_index
        });
        let keys = RouteKeys::new(key, self.limits.route, request.ip, &name_index);
        match continuing {
            Some((credential, registration)) => {
                self.guard
                    .check_alongside(&self.limits, &keys, now, async {})
                    .await?;
                self.retry(credential, registration, consent, now).await
            }
            None => {
                let claim = self
                    .guard
                    .check_alongside(
                        &self.limits,
                        &keys,
                        now,
                        self.users.find_by_name(&name_index),
                    )
                    .await?;
                if claim?.is_some() {
                    return Ok(StartOutcome::UsernameTaken);
                }
                let names = (request.username, request.display_name);
                self.start(key, name_index, names, consent, now).await
            }
        }
    }

    /// A fresh registration for a username nobody holds.
    async fn start(
        &self,
        key: &[u8],
        name_index: String,
        (username, display_name): (Username, DisplayName),
        consent: ConsentRecord,
        now: i64,
    ) -> Result<StartOutcome, Failure> {
        let user_id = new_id()?;
        let verifier_user_id = self.tokens.verifier_user_id(key, &user_id);
        let username = self
            .sealer
            .seal("username", &user_id, username.as_str())
            .await?;
        let display_name = self
            .sealer
            .seal("display_name", &user_id, display_name.as_str())
            .await?;
        let token = self
            .tokens
            .enrol_token(&verifier_user_id, self.policy)
            .await?;
        let credential = new_credential()?;
        let registration = Registration {
            id: credential.id.clone(),
            secret_hash: credential.secret_hash(),
            user_id,
            iproov_user_id: verifier_user_id,
            name_index,
            username,
            display_name,
            status: RegistrationStatus::AwaitingScan,
            attempt: 1,
            iproov_token: token.clone(),
            token_expires_at: now + self.token_ttl_seconds,
            reason: None,
            outcome: None,
            image_key: None,
            validating_since: None,
            login_issued: false,
            consent: Some(consent),
            created_at: now,
            expires_at: now + self.registration_ttl_seconds,
        };
        self.registrations.create(&registration).await?;
        Ok(StartOutcome::Issued(Box::new(IssuedAttempt {
            credential,
            registration,
            token,
            kind: AttemptKind::Fresh,
        })))
    }

    /// The next attempt of the caller's own registration.
    async fn retry(
        &self,
        credential: Credential,
        mut registration: Registration,
        consent: ConsentRecord,
        now: i64,
    ) -> Result<StartOutcome, Failure> {
        match registration.status_at(now) {
            RegistrationStatus::AwaitingScan => {
                let token = registration.iproov_token.clone();
                return Ok(StartOutcome::Issued(Box::new(IssuedAttempt {
                    credential,
                    registration,
                    token,
                    kind: AttemptKind::Repeat,
                })));
            }
            RegistrationStatus::Failed | RegistrationStatus::Expired => {}
            other => return Ok(StartOutcome::InProgress(other)),
        }
        if !registration.can_retry(now, self.max_attempts) {
            return Ok(StartOutcome::AttemptsExhausted);
        }
        let token = self
            .tokens
            .enrol_token(&registration.iproov_user_id, self.policy)
            .await?;
        let token_expires_at = now + self.token_ttl_seconds;
        match self
            .registrations
            .restart(
                &registration.id,
                registration.attempt,
                &token,
                token_expires_at,
                &consent,
                now,
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(StartOutcome::ChangedMeanwhile),
            Err(err) => return Err(err.into()),
        }
        registration.attempt += 1;
        registration.status = RegistrationStatus::AwaitingScan;
        registration.iproov_token = token.clone();
        registration.token_expires_at = token_expires_at;
        registration.consent = Some(consent);
        Ok(StartOutcome::Issued(Box::new(IssuedAttempt {
            credential,
            registration,
            token,
            kind: AttemptKind::Retry,
        })))
    }
}
