//! One erasure request: the core's erasure use case removes everything
//! (core/src/use_cases/erase_user.rs); this handler names the request in the logs and turns the
//! outcome into the message's disposition.

use std::sync::Arc;

use aws_adapters::sqs_batch::{Delivery, Disposition};
use onboarding_core::audit::{AuditTrail, hand_over};
use onboarding_core::oidc::ports::UserGrants;
use onboarding_core::ports::{
    Clock, ConsentEvidenceStore, EnrolmentVerifier, ErasureRequested, ImageStore,
    RegistrationStore, SessionControl, UserStore,
};
use onboarding_core::use_cases::erase_user::{EraseUser, Erased};
use tracing::Instrument;

pub struct Deps {
    pub users: Arc<dyn UserStore>,
    pub registrations: Arc<dyn RegistrationStore>,
    pub sessions: Arc<dyn SessionControl>,
    pub grants: Arc<dyn UserGrants>,
    pub images: Arc<dyn ImageStore>,
    pub verifier: Arc<dyn EnrolmentVerifier>,
    pub evidence: Arc<dyn ConsentEvidenceStore>,
    /// Where a completed erasure is recorded (docs/audit.md).
    pub audit: Arc<dyn AuditTrail>,
    pub clock: Arc<dyn Clock>,
    /// `CONSENT_EVIDENCE_RETENTION_DAYS`, in seconds.
    pub evidence_retention_seconds: i64,
}

pub async fn process(deps: &Deps, request: ErasureRequested, _: Delivery) -> Disposition {
    let request_id = request.request_id.clone().unwrap_or_default();
    let span = tracing::info_span!("erase", request_id = %request_id);
    let use_case = EraseUser {
        users: deps.users.as_ref(),
        registrations: deps.registrations.as_ref(),
        sessions: deps.sessions.as_ref(),
        grants: deps.grants.as_ref(),
        images: deps.images.as_ref(),
        verifier: deps.verifier.as_ref(),
        evidence: deps.evidence.as_ref(),
        clock: deps.clock.as_ref(),
        evidence_retention_seconds: deps.evidence_retention_seconds,
    };
    let erased = use_case.run(&request.user_id).instrument(span).await;
    let event = erased.audit_event(
        &request.user_id,
        request.request_id.as_deref(),
        deps.clock.now(),
    );
    hand_over::record(deps.audit.as_ref(), event).await;
    match erased {
        Erased::Done | Erased::AlreadyErased => Disposition::Done,
        Erased::Retry => Disposition::Retry,
    }
}
