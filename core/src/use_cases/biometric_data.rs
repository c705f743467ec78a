//! Removing a person's biometric data: their face images and their enrolment at the verifier.
//! Erasure and a registration that lost its username both do it, the same way: idempotent (what
//! is already gone counts as removed), logged by step, and reported as done or not so the
//! caller keeps whatever record leads back here until it is.

use crate::ports::{EnrolmentVerifier, ImageStore, VerifierError};

/// Where a user's face images live. Everything under it goes with the user.
pub fn images_prefix(user_id: &str) -> String {
    format!("faces/{user_id}/")
}

/// Deletes every image version under the user's prefix. True when none is left.
pub async fn remove_images(images: &dyn ImageStore, user_id: &str) -> bool {
    match images.delete_all_versions(&images_prefix(user_id)).await {
        Ok(versions) => {
            tracing::info!(versions, "face images deleted");
            true
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not delete face images; will retry");
            false
        }
    }
}

/// Deletes the enrolment of `verifier_user_id`. True when it is gone (already gone included).
pub async fn remove_enrolment(verifier: &dyn EnrolmentVerifier, verifier_user_id: &str) -> bool {
    match verifier.delete_enrolment(verifier_user_id).await {
        Ok(()) | Err(VerifierError::NotFound) => true,
        Err(err) => {
            tracing::warn!(
                iproov_error = err.code(),
                "could not delete the enrolment; will retry"
            );
            false
        }
    }
}
