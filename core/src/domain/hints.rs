//! iProov failure reasons, in both generations of codes, mapped to a short hint a person can act
//! on. Unknown codes get a generic hint, so a new code never breaks the page.

/// The hint for a failure `reason` code.
pub fn for_reason(reason: &str) -> &'static str {
    match reason {
        "eyes_closed" => "Keep your eyes open and look at the screen.",
        "face_too_far" => "Move closer so your face fills the oval.",
        "face_too_close" => "Move a little further from the camera.",
        "misaligned_face" => "Keep your face inside the oval.",
        "multiple_faces" => "Make sure only your face is in view.",
        "obscured_face" | "sunglasses" => {
            "Remove anything covering your face, such as sunglasses or a mask."
        }
        "too_bright" | "lighting_face_too_bright" | "lighting_flash_reflection_too_low" => {
            "Find softer light; avoid direct light on your face."
        }
        "too_dark" | "lighting_too_dark" => "Find a brighter place.",
        "lighting_backlit" => "Avoid bright light behind you.",
        "too_much_movement" | "motion_too_much_movement" => "Hold still during the scan.",
        "motion_too_much_mouth_movement" => "Keep your mouth still during the scan.",
        "network_problem" => "Check your connection and try again.",
        "user_timeout" => "Start the scan again; it timed out.",
        "scan_expired" => "Your scan session expired. Start a new scan.",
        "validation_unknown" => "We could not confirm your scan. Please scan again.",
        "username_taken" => "That username was taken meanwhile. Choose another one.",
        _ => "Please try again.",
    }
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
        assert_eq!(for_reason("too_dark"), for_reason("lighting_too_dark"));
        assert_eq!(for_reason("something_new"), "Please try again.");
    }

    #[test]
    fn odd_reason_codes_are_sanitised() {
        assert_eq!(sanitise_reason(Some("eyes_closed")), "eyes_closed");
        assert_eq!(sanitise_reason(Some("<script>")), "unknown");
        assert_eq!(sanitise_reason(None), "unknown");
    }
}
