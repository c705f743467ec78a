//! How sure a face scan makes us, chosen per journey. iProov judges a scan under one of two
//! assurance types: Genuine Presence (a real, present person, resisting replayed and injected
//! video as well as masks and screens) or Liveness (a real person rather than a mask or screen).
//! A deployment chooses one, with an optional risk profile agreed with iProov, separately for
//! registration, login and step-up (template parameters); what was used is recorded with the
//! session, and is the `acr` of what the person proved.

use std::str::FromStr;

/// iProov's assurance types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssuranceType {
    #[default]
    GenuinePresence,
    Liveness,
}

impl AssuranceType {
    /// The configuration and wire name (`genuine_presence`, `liveness`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GenuinePresence => "genuine_presence",
            Self::Liveness => "liveness",
        }
    }

    /// The authentication context class a scan under this type proves: the `acr` of the
    /// step-up answer (and of tokens, once they exist).
    pub fn acr(self) -> &'static str {
        match self {
            Self::GenuinePresence => "urn:iproov:assurance:genuine_presence",
            Self::Liveness => "urn:iproov:assurance:liveness",
        }
    }

    /// The type an `acr` names, if it names one.
    pub fn from_acr(acr: &str) -> Option<Self> {
        [Self::GenuinePresence, Self::Liveness]
            .into_iter()
            .find(|t| t.acr() == acr)
    }
}

impl FromStr for AssuranceType {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "genuine_presence" => Ok(Self::GenuinePresence),
            "liveness" => Ok(Self::Liveness),
            _ => Err("must be genuine_presence or liveness"),
        }
    }
}

/// How one journey's scans are judged.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssurancePolicy {
    pub assurance_type: AssuranceType,
    /// A risk profile agreed with iProov (`[A-Za-z0-9_.-]`, at most 64), sent with the token
    /// and validate requests when set.
    pub risk_profile: Option<String>,
}

impl AssurancePolicy {
    /// Checks a configured risk profile: the characters iProov's profile names use, so a typo
    /// (or an injected value) fails at start, not at the first scan.
    pub fn risk_profile(raw: Option<&str>) -> Result<Option<String>, &'static str> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(p)
                if p.len() <= 64
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) =>
            {
                Ok(Some(p.to_owned()))
            }
            Some(_) => Err("must be at most 64 of A-Z a-z 0-9 _ . -"),
        }
    }
}

/// The policy of each journey that scans a face.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssurancePolicies {
    pub registration: AssurancePolicy,
    pub login: AssurancePolicy,
    pub step_up: AssurancePolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assurance_types_parse_their_names_and_name_their_acr() {
        // given the two configuration names, then each parses and maps to its own acr, and back
        for t in [AssuranceType::GenuinePresence, AssuranceType::Liveness] {
            assert_eq!(t.as_str().parse::<AssuranceType>(), Ok(t));
            assert_eq!(AssuranceType::from_acr(t.acr()), Some(t));
        }
        assert!("gpa".parse::<AssuranceType>().is_err());
        assert_eq!(AssuranceType::from_acr("urn:other"), None);
    }

    #[test]
    fn a_risk_profile_is_optional_and_limited_to_safe_characters() {
        // given configured values, then empty means none and only safe names pass
        assert_eq!(AssurancePolicy::risk_profile(None), Ok(None));
        assert_eq!(AssurancePolicy::risk_profile(Some("  ")), Ok(None));
        assert_eq!(
            AssurancePolicy::risk_profile(Some("bank-high.v2")),
            Ok(Some("bank-high.v2".into()))
        );
        assert!(AssurancePolicy::risk_profile(Some("a b")).is_err());
        assert!(AssurancePolicy::risk_profile(Some(&"x".repeat(65))).is_err());
    }
}
