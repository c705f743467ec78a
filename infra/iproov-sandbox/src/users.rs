//! iProov's view of the people it knows: created by an enrol token, activated by a passed
//! enrol-validate, removed by `DELETE /users/{user_id}`.

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::errors::ApiError;

/// Largest `user_id` iProov accepts.
const USER_ID_MAX_LEN: usize = 256;

/// `user_id` must match `[a-zA-Z0-9'+_@.-]{1,256}`.
pub fn validate_user_id(user_id: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'+_@.-".contains(c);
    if (1..=USER_ID_MAX_LEN).contains(&user_id.len()) && user_id.chars().all(allowed) {
        Ok(())
    } else {
        Err(ApiError::invalid_user_id())
    }
}

/// Whether verify tokens can be issued for a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    /// Known from an enrol token, but no enrolment has been validated (and activated) yet.
    Inactive,
    Active,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Inactive => "Inactive",
            UserStatus::Active => "Active",
        }
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub status: UserStatus,
    pub created_at: OffsetDateTime,
    pub activated_at: Option<OffsetDateTime>,
    /// Passed enrol validations.
    pub enrolments: u64,
    /// Passed verify validations.
    pub verifications: u64,
}

impl User {
    /// The object `GET`/`DELETE /users/{user_id}` answer with; `status` can be overridden
    /// (`Deleted`).
    pub fn to_api_json(&self, user_id: &str, status: &str) -> Value {
        json!({
            "user_id": user_id,
            "status": status,
            "created_at": rfc3339(self.created_at),
            "activation_date": self.activated_at.map(rfc3339),
        })
    }

    /// The fuller view of `GET /sandbox/users/{user_id}`.
    pub fn to_control_json(&self, user_id: &str) -> Value {
        json!({
            "user_id": user_id,
            "status": self.status.as_str(),
            "enrolled": self.status == UserStatus::Active,
            "enrolments": self.enrolments,
            "verifications": self.verifications,
            "created_at": rfc3339(self.created_at),
            "activated_at": self.activated_at.map(rfc3339),
        })
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

#[derive(Debug, Default)]
pub struct Users {
    by_id: HashMap<String, User>,
}

impl Users {
    pub fn get(&self, user_id: &str) -> Option<&User> {
        self.by_id.get(user_id)
    }

    /// An enrol token makes the user known (inactive until an enrolment is validated).
    pub fn ensure_exists(&mut self, user_id: &str) {
        self.by_id
            .entry(user_id.to_owned())
            .or_insert_with(|| User {
                status: UserStatus::Inactive,
                created_at: OffsetDateTime::now_utc(),
                activated_at: None,
                enrolments: 0,
                verifications: 0,
            });
    }

    /// Verify tokens are only issued for active users.
    pub fn require_active(&self, user_id: &str) -> Result<(), ApiError> {
        match self.by_id.get(user_id) {
            None => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "no_user",
                "no user with this user_id is enrolled",
            )),
            Some(user) if user.status != UserStatus::Active => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "inactive_user",
                "this user has not completed an enrolment",
            )),
            Some(_) => Ok(()),
        }
    }

    /// A passed enrol-validate: counts the enrolment, and activates the user unless the call
    /// said `activate: false`.
    pub fn record_enrolment(&mut self, user_id: &str, activate: bool) {
        self.ensure_exists(user_id);
        if let Some(user) = self.by_id.get_mut(user_id) {
            user.enrolments += 1;
            if activate && user.status != UserStatus::Active {
                user.status = UserStatus::Active;
                user.activated_at = Some(OffsetDateTime::now_utc());
            }
        }
    }

    pub fn record_verification(&mut self, user_id: &str) {
        if let Some(user) = self.by_id.get_mut(user_id) {
            user.verifications += 1;
        }
    }

    pub fn remove(&mut self, user_id: &str) -> Option<User> {
        self.by_id.remove(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_follow_iproovs_pattern() {
        for good in [
            "a",
            "user.name+tag@example-1_x",
            "O'Brien",
            &"x".repeat(256),
        ] {
            assert!(validate_user_id(good).is_ok(), "{good}");
        }
        for bad in ["", "has space", "ü", "a/b", &"x".repeat(257)] {
            assert!(validate_user_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_an_activating_enrolment_makes_a_user_active() {
        let mut users = Users::default();
        users.ensure_exists("u");
        assert_eq!(
            users.require_active("u").map_err(|e| e.code),
            Err("inactive_user".into())
        );
        users.record_enrolment("u", false);
        assert!(users.require_active("u").is_err());
        users.record_enrolment("u", true);
        assert!(users.require_active("u").is_ok());
        assert_eq!(
            users.require_active("other").map_err(|e| e.code),
            Err("no_user".into())
        );
    }
}
