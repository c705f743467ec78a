//! Why an attempt failed: one table from a reason code to everything it means. Each row is a
//! code (iProov's feedback codes in both generations, and our own), its name in the closed
//! vocabulary of analytics events and metric labels, and the hint a person can act on.
//! Anything outside the table is `other` with a generic hint, so a new iProov code never breaks
//! the page, and an open string (which could carry a name) never reaches an event or a metric.

use serde::Serialize;

/// The hint for codes without one of their own.
const TRY_AGAIN: &str = "Please try again.";
const COVERED: &str = "Remove anything covering your face, such as sunglasses or a mask.";
const TOO_BRIGHT: &str = "Find softer light; avoid direct light on your face.";
const TOO_DARK: &str = "Find a brighter place.";
const MOVEMENT: &str = "Hold still during the scan.";

macro_rules! reasons {
    ($($variant:ident => $code:literal, $hint:expr;)*) => {
        /// A failure reason from the closed vocabulary; `Other` for any code not in the table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Reason {
            $(#[serde(rename = $code)] $variant,)*
            /// A code this version does not know (a new iProov code, or garbage).
            #[serde(rename = "other")]
            Other,
        }

        impl Reason {
            /// Every reason, `Other` last.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)* Reason::Other];

            /// The reason for a stored or received code; unknown codes give [`Reason::Other`].
            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => Reason::$variant,)*
                    _ => Reason::Other,
                }
            }

            /// The code, as it appears in answers, events and metric dimensions.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)*
                    Reason::Other => "other",
                }
            }

            /// What the person can do about it.
            pub fn hint(self) -> &'static str {
                match self {
                    $(Reason::$variant => $hint,)*
                    Reason::Other => TRY_AGAIN,
                }
            }
        }
    };
}

reasons! {
    // iProov feedback codes, both generations.
    EyesClosed => "eyes_closed", "Keep your eyes open and look at the screen.";
    FaceTooFar => "face_too_far", "Move closer so your face fills the oval.";
    FaceTooClose => "face_too_close", "Move a little further from the camera.";
    MisalignedFace => "misaligned_face", "Keep your face inside the oval.";
    MultipleFaces => "multiple_faces", "Make sure only your face is in view.";
    ObscuredFace => "obscured_face", COVERED;
    Sunglasses => "sunglasses", COVERED;
    TooBright => "too_bright", TOO_BRIGHT;
    TooDark => "too_dark", TOO_DARK;
    TooMuchMovement => "too_much_movement", MOVEMENT;
    LightingFaceTooBright => "lighting_face_too_bright", TOO_BRIGHT;
    LightingFlashReflectionTooLow => "lighting_flash_reflection_too_low", TOO_BRIGHT;
    LightingTooDark => "lighting_too_dark", TOO_DARK;
    LightingBacklit => "lighting_backlit", "Avoid bright light behind you.";
    MotionTooMuchMovement => "motion_too_much_movement", MOVEMENT;
    MotionTooMuchMouthMovement => "motion_too_much_mouth_movement", "Keep your mouth still during the scan.";
    NetworkProblem => "network_problem", "Check your connection and try again.";
    UserTimeout => "user_timeout", "Start the scan again; it timed out.";
    // Our own codes.
    ScanExpired => "scan_expired", "Your scan session expired. Start a new scan.";
    ValidationUnknown => "validation_unknown", "We could not confirm your scan. Please scan again.";
    ScanNotStored => "scan_not_stored", "We could not save your scan. Please scan again.";
    UsernameTaken => "username_taken", "That username was taken meanwhile. Choose another one.";
    AttemptExpired => "attempt_expired", TRY_AGAIN;
    Unknown => "unknown", TRY_AGAIN;
}

/// The hint for a failure `reason` code (see the table above).
pub fn hint_for(reason: &str) -> &'static str {
    Reason::from_code(reason).hint()
}

/// Reason codes are echoed to clients; anything outside a short safe alphabet becomes `unknown`.
pub fn sanitise_reason(reason: Option<&str>) -> String {
    match reason {
        Some(r)
            if !r.is_empty()
                && r.len() <= 64
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()) =>
        {
            r.to_owned()
        }
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_generations_and_unknown_codes_get_hints() {
        // given an old and a new code for the same problem, and a code nobody knows
        // then the old and new share a hint, and the unknown one gets the generic hint
        assert_eq!(hint_for("too_dark"), hint_for("lighting_too_dark"));
        assert_eq!(hint_for("something_new"), TRY_AGAIN);
        assert_eq!(Reason::from_code("something_new"), Reason::Other);
    }

    #[test]
    fn odd_reason_codes_are_sanitised() {
        assert_eq!(sanitise_reason(Some("eyes_closed")), "eyes_closed");
        assert_eq!(sanitise_reason(Some("<script>")), "unknown");
        assert_eq!(sanitise_reason(None), "unknown");
    }

    #[test]
    fn every_reason_round_trips_and_serialises_as_its_code() {
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.as_str()), *reason);
            assert!(!reason.hint().is_empty());
        }
    }
}
