//! The iProov client as the core's verifier ports (enrolment, tokens, login validation): iProov's answers and errors
//! translated into the core's terms, so the scan validation use case knows nothing of HTTP,
//! OAuth or iProov's error codes.

use std::sync::Arc;

use async_trait::async_trait;
use iproov_client::{IProovClient, IProovError, IProovUserId, ScanPolicy, Token, ValidateRequest};
use onboarding_core::domain::{AssurancePolicy, AssuranceType};
use onboarding_core::ports::{
    ClientContext, EnrolmentVerifier, FaceImage, FaceTokens, ScanVerdict, VerifierError,
};

/// What the validator tells iProov it is (no end user is on the line when it validates).
const VALIDATOR_CLIENT: &str = "iproov-onboarding-validator";

/// iProov's error classes as the use cases need them: whether the call may be made again, and
/// whether it may already have used the token.
fn verifier_error(err: IProovError) -> VerifierError {
    match err {
        IProovError::InvalidToken => VerifierError::InvalidToken,
        IProovError::NotFound => VerifierError::NotFound,
        err if err.outcome_unknown() => VerifierError::OutcomeUnknown {
            code: err.code().to_owned(),
        },
        err if err.is_retryable() => VerifierError::NotProcessed {
            code: err.code().to_owned(),
        },
        err => VerifierError::Rejected {
            code: err.code().to_owned(),
        },
    }
}

/// A stored iProov user id outside iProov's character set is refused here, never sent.
fn user_id(stored: &str) -> Result<IProovUserId, VerifierError> {
    IProovUserId::from_stored(stored.to_owned()).map_err(|_| VerifierError::Rejected {
        code: "invalid_user_id".into(),
    })
}

/// The core's verifier ports, answered by the iProov client.
///
/// A type of this crate around the client rather than an impl on the client itself: the port
/// (`onboarding-core`) and the client (`iproov-client`) live in two other crates, and Rust lets
/// only a crate that owns one of them, or owns the implementing type, write the impl.
#[derive(Debug, Clone)]
pub struct IProovVerifier {
    client: Arc<IProovClient>,
}

impl IProovVerifier {
    pub fn new(client: Arc<IProovClient>) -> Self {
        Self { client }
    }
}

/// The core's assurance type in the client's terms.
pub fn assurance_type(assurance: AssuranceType) -> iproov_client::AssuranceType {
    match assurance {
        AssuranceType::GenuinePresence => iproov_client::AssuranceType::GenuinePresence,
        AssuranceType::Liveness => iproov_client::AssuranceType::Liveness,
    }
}

/// The core's policy in the client's terms.
fn scan_policy(policy: &AssurancePolicy) -> ScanPolicy<'_> {
    ScanPolicy {
        assurance_type: assurance_type(policy.assurance_type),
        risk_profile: policy.risk_profile.as_deref(),
    }
}

/// Which validate call, with what it sends besides the token.
enum Validation<'a> {
    /// An enrolment (the validator's): the configuration's risk profile.
    Enrol,
    /// A verification, under its journey's risk profile.
    Verify { risk_profile: Option<&'a str> },
}

impl IProovVerifier {
    /// One validate of `token` for `verifier_user_id`, its answer in the core's terms.
    async fn validate(
        &self,
        call: Validation<'_>,
        verifier_user_id: &str,
        token: &str,
        client_ip: Option<std::net::IpAddr>,
        client: &str,
    ) -> Result<ScanVerdict, VerifierError> {
        let user_id = user_id(verifier_user_id)?;
        let token = Token::new(token.to_owned());
        let request = ValidateRequest {
            user_id: &user_id,
            token: &token,
            client_ip,
            client,
        };
        let answer = match call {
            Validation::Enrol => self.client.enrol_validate(request).await,
            Validation::Verify { risk_profile } => {
                self.client
                    .verify_validate_with(request, risk_profile)
                    .await
            }
        };
        answer.map(verdict).map_err(verifier_error)
    }
}

/// The token of a claim iProov answered, or its error in the core's terms.
async fn token(
    claim: impl std::future::Future<Output = Result<iproov_client::ClaimToken, IProovError>>,
) -> Result<String, VerifierError> {
    claim
        .await
        .map(|claim| claim.token.expose().to_owned())
        .map_err(verifier_error)
}

fn verdict(outcome: iproov_client::ValidateOutcome) -> ScanVerdict {
    ScanVerdict {
        passed: outcome.passed,
        reason: outcome.reason,
        image: outcome.frame.map(|frame| FaceImage {
            bytes: frame.bytes,
            content_type: frame.content_type,
        }),
    }
}

#[async_trait]
impl FaceTokens for IProovVerifier {
    fn verifier_user_id(&self, pseudonym_key: &[u8], user_id: &str) -> String {
        IProovUserId::derive(pseudonym_key, user_id)
            .as_str()
            .to_owned()
    }

    fn sdk_base_url(&self) -> String {
        self.client.sdk_base_url()
    }

    async fn enrol_token(
        &self,
        verifier_user_id: &str,
        policy: &AssurancePolicy,
    ) -> Result<String, VerifierError> {
        let user = user_id(verifier_user_id)?;
        token(self.client.enrol_token_with(&user, scan_policy(policy))).await
    }

    async fn verify_token(
        &self,
        verifier_user_id: &str,
        policy: &AssurancePolicy,
    ) -> Result<String, VerifierError> {
        let user = user_id(verifier_user_id)?;
        token(self.client.verify_token_with(&user, scan_policy(policy))).await
    }

    async fn verify_validate(
        &self,
        verifier_user_id: &str,
        token: &str,
        policy: &AssurancePolicy,
        client: ClientContext<'_>,
    ) -> Result<ScanVerdict, VerifierError> {
        let call = Validation::Verify {
            risk_profile: policy.risk_profile.as_deref(),
        };
        self.validate(call, verifier_user_id, token, client.ip, client.user_agent)
            .await
    }
}

#[async_trait]
impl EnrolmentVerifier for IProovVerifier {
    async fn enrol_validate(
        &self,
        verifier_user_id: &str,
        token: &str,
    ) -> Result<ScanVerdict, VerifierError> {
        self.validate(
            Validation::Enrol,
            verifier_user_id,
            token,
            None,
            VALIDATOR_CLIENT,
        )
        .await
    }

    async fn delete_enrolment(&self, verifier_user_id: &str) -> Result<(), VerifierError> {
        // An id iProov cannot hold has no enrolment there: nothing to delete.
        let Ok(user_id) = user_id(verifier_user_id) else {
            return Err(VerifierError::NotFound);
        };
        self.client
            .delete_user(&user_id)
            .await
            .map_err(verifier_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iproov_errors_map_to_what_the_use_cases_decide_on() {
        // given iProov's error classes
        // then a used-up token, a missing user, a maybe-sent call and a refused one map apart
        assert_eq!(
            verifier_error(IProovError::InvalidToken),
            VerifierError::InvalidToken
        );
        assert_eq!(
            verifier_error(IProovError::NotFound),
            VerifierError::NotFound
        );
        assert!(matches!(
            verifier_error(IProovError::RateLimited),
            VerifierError::NotProcessed { .. }
        ));
        assert!(matches!(
            verifier_error(IProovError::Timeout { maybe_sent: true }),
            VerifierError::OutcomeUnknown { .. }
        ));
        assert!(matches!(
            verifier_error(IProovError::InvalidKey),
            VerifierError::Rejected { .. }
        ));
    }

    #[test]
    fn a_stored_user_id_outside_iprovs_character_set_is_never_sent() {
        // given a stored id with characters iProov does not accept, then it is refused locally
        assert!(matches!(
            user_id("alice smith <a@b>"),
            Err(VerifierError::Rejected { .. })
        ));
    }
}
