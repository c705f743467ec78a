//! Which use-case outcome the trail records as what: the mappings next to each outcome
//! (`audit_event`), checked for their kind, their ids and the absence of anything personal.

use onboarding_core::audit::{Actor, AuditKind};
use onboarding_core::ports::ScanSubmitted;
use onboarding_core::use_cases::account::LoggedOut;
use onboarding_core::use_cases::account::login::LoginOutcome;
use onboarding_core::use_cases::account::request_erasure::ErasureRequest;
use onboarding_core::use_cases::account::step_up::StepUpOutcome;
use onboarding_core::use_cases::erase_user::Erased;
use onboarding_core::use_cases::validate_scan::{DropReason, ScanValidated, Validation};

const USER: &str = "00112233445566778899aabbccddeeff";
const NOW: i64 = 1_700_000_000;

fn scan() -> ScanSubmitted {
    ScanSubmitted {
        registration_id: "ffeeddccbbaa99887766554433221100".to_owned(),
        attempt: 1,
        request_id: Some("req-1".to_owned()),
    }
}

#[test]
fn a_completed_registration_is_recorded_by_the_system_with_its_user_and_registration() {
    // given a delivery that completed the registration
    let validation = Validation {
        result: ScanValidated::Completed,
        verifier_answered: true,
        user_id: Some(USER.to_owned()),
    };
    // when it is mapped
    let event = validation.audit_event(&scan(), NOW).expect("audited");
    // then it is registration.completed, by the system, ids only
    assert_eq!(event.kind, AuditKind::RegistrationCompleted);
    assert_eq!(event.actor, Actor::System);
    assert_eq!(event.user_id.as_deref(), Some(USER));
    assert_eq!(
        event.registration_id.as_deref(),
        Some("ffeeddccbbaa99887766554433221100")
    );
    assert_eq!(event.request_id.as_deref(), Some("req-1"));
}

#[test]
fn a_failed_registration_keeps_only_a_reason_code() {
    let validation = Validation {
        result: ScanValidated::Failed {
            reason: "eyes_closed".to_owned(),
        },
        verifier_answered: true,
        user_id: Some(USER.to_owned()),
    };
    let event = validation.audit_event(&scan(), NOW).expect("audited");
    assert_eq!(event.kind, AuditKind::RegistrationFailed);
    assert_eq!(event.reason.as_deref(), Some("eyes_closed"));
    assert_eq!(event.user_id, None);
}

#[test]
fn a_dropped_or_retried_delivery_records_nothing() {
    let validation = Validation {
        result: ScanValidated::Dropped(DropReason::AlreadyDecided),
        verifier_answered: false,
        user_id: None,
    };
    assert!(validation.audit_event(&scan(), NOW).is_none());
    assert!(Erased::Retry.audit_event(USER, None, NOW).is_none());
    assert!(Erased::AlreadyErased.audit_event(USER, None, NOW).is_none());
}

#[test]
fn a_failed_login_of_a_decoy_has_no_user_and_a_real_one_has_its_user() {
    let decoy = LoginOutcome::VerificationFailed {
        reason: "validation_unknown".to_owned(),
        user_id: String::new(),
    };
    let real = LoginOutcome::VerificationFailed {
        reason: "Alice Smith".to_owned(),
        user_id: USER.to_owned(),
    };
    let decoy = decoy.audit_event("req", NOW).expect("audited");
    let real = real.audit_event("req", NOW).expect("audited");
    assert_eq!(decoy.kind, AuditKind::LoginFailed);
    assert_eq!(decoy.user_id, None);
    assert_eq!(real.user_id.as_deref(), Some(USER));
    // free text never becomes a reason
    assert_eq!(real.reason.as_deref(), Some("other"));
    assert!(LoginOutcome::AttemptUsed.audit_event("req", NOW).is_none());
}

#[test]
fn step_up_logout_and_erasure_are_recorded_for_the_sessions_user() {
    let passed = StepUpOutcome::Elevated {
        acr: "liveness",
        until: NOW + 300,
        user_id: USER.to_owned(),
    };
    let failed = StepUpOutcome::VerificationFailed {
        reason: "too_dark".to_owned(),
        user_id: USER.to_owned(),
    };
    let requested = ErasureRequest::Scheduled {
        user_id: USER.to_owned(),
        revoked: 2,
    };
    let kinds: Vec<_> = [
        passed.audit_event("r", NOW),
        failed.audit_event("r", NOW),
        LoggedOut {
            user_id: USER.to_owned(),
        }
        .audit_event("r", NOW),
        requested.audit_event("r", NOW),
        Erased::Done.audit_event(USER, Some("r"), NOW),
    ]
    .into_iter()
    .map(|e| {
        let e = e.expect("audited");
        assert_eq!(e.user_id.as_deref(), Some(USER));
        e.kind
    })
    .collect();
    assert_eq!(
        kinds,
        [
            AuditKind::StepUpPassed,
            AuditKind::StepUpFailed,
            AuditKind::LoggedOut,
            AuditKind::ErasureRequested,
            AuditKind::ErasureCompleted,
        ]
    );
    assert!(StepUpOutcome::Foreign.audit_event("r", NOW).is_none());
    assert!(
        ErasureRequest::StepUpRequired
            .audit_event("r", NOW)
            .is_none()
    );
}
