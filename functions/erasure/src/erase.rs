//! Erasing one user. Every step is idempotent, and the record that lets us find the rest (the
//! user item) goes last, so a crash midway leaves enough to finish on the next delivery.
//!
//! Everything before that last step runs at once, since all of it is keyed by the user id in
//! the message: the user read (followed by the iProov delete and the registration delete, which
//! need the iProov id and the registration id the record holds), the end of the sessions, and
//! the image deletes. The user record is deleted only when all of them succeeded.
//!
//! The registration record goes too: it holds the sealed username and display name, the
//! username index, the iProov id and token, and its credential could otherwise still open a
//! login session for the erased user.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::future::join_all;
use serde::Deserialize;
use shared::iproov::{IProovClient, IProovError, IProovUserId};
use shared::ports::{ImageStore, RegistrationStore, SessionControl, User, UserStore};
use tracing::Instrument;

pub struct Deps {
    pub users: Arc<dyn UserStore>,
    pub registrations: Arc<dyn RegistrationStore>,
    pub sessions: Arc<dyn SessionControl>,
    pub images: Arc<dyn ImageStore>,
    pub iproov: Arc<dyn IProovUsers>,
}

/// Removing the user's enrolment at iProov.
#[async_trait]
pub trait IProovUsers: Send + Sync {
    async fn delete_user(&self, user: &IProovUserId) -> Result<(), IProovError>;
}

#[async_trait]
impl IProovUsers for IProovClient {
    async fn delete_user(&self, user: &IProovUserId) -> Result<(), IProovError> {
        IProovClient::delete_user(self, user).await
    }
}

#[derive(Deserialize)]
struct EraseRequest {
    user_id: String,
    #[serde(default)]
    request_id: Option<String>,
}

pub async fn batch(deps: &Deps, event: SqsEvent) -> SqsBatchResponse {
    let results = join_all(event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let ok = match serde_json::from_str::<EraseRequest>(record.body.as_deref().unwrap_or("")) {
            Ok(req) => {
                let span = tracing::info_span!("erase", message_id = %id, request_id = %req.request_id.clone().unwrap_or_default());
                erase(deps, &req.user_id).instrument(span).await
            }
            Err(_) => {
                tracing::error!(message_id = %id, "malformed erasure message");
                false
            }
        };
        (id, ok)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, ok) in results {
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn erase(deps: &Deps, user_id: &str) -> bool {
    let images_prefix = format!("faces/{user_id}/");
    let (user, sessions, images) = futures::join!(
        read_user_and_delete_at_iproov(deps, user_id),
        deps.sessions.revoke_all(user_id),
        deps.images.delete_all_versions(&images_prefix),
    );
    let mut done = true;
    if let Err(err) = sessions {
        tracing::warn!(error = %err, "could not end sessions; will retry");
        done = false;
    }
    match images {
        Ok(n) => tracing::info!(objects = n, "images deleted"),
        Err(err) => {
            tracing::warn!(error = %err, "could not delete images; will retry");
            done = false;
        }
    }
    let user = match user {
        Ok(Some(user)) => user,
        Ok(None) => {
            // Erased before (a repeated message); the other steps found nothing, or finished
            // what a crash had left.
            tracing::info!("user already erased");
            return done;
        }
        Err(()) => return false,
    };
    if !done {
        // The user record stays: it is what lets the next delivery find the rest.
        return false;
    }
    if let Err(err) = deps.users.delete(&user).await {
        tracing::warn!(error = %err, "could not delete user record; will retry");
        return false;
    }
    tracing::info!("user erased");
    true
}

/// The user record (`None` if already erased), after deleting the user at iProov and the
/// registration record: both need ids the user record holds, so they follow the read while the
/// rest of the erasure runs. `Err` (logged here) means the message must come back.
async fn read_user_and_delete_at_iproov(deps: &Deps, user_id: &str) -> Result<Option<User>, ()> {
    let user = match deps.users.get(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(None),
        Err(err) => {
            tracing::warn!(error = %err, "could not read user; will retry");
            return Err(());
        }
    };
    let enrolment = async {
        match IProovUserId::from_stored(user.iproov_user_id.clone()) {
            Ok(iproov_id) => deps.iproov.delete_user(&iproov_id).await,
            Err(_) => Ok(()),
        }
    };
    let registration = async {
        match &user.registration_id {
            Some(id) => deps.registrations.delete(id).await,
            None => Ok(()),
        }
    };
    let (enrolment, registration) = futures::join!(enrolment, registration);
    let mut done = true;
    match enrolment {
        Ok(()) | Err(IProovError::NotFound) => {}
        Err(err) => {
            tracing::warn!(
                iproov_error = err.code(),
                "could not delete iProov user; will retry"
            );
            done = false;
        }
    }
    if let Err(err) = registration {
        tracing::warn!(error = %err, "could not delete the registration record; will retry");
        done = false;
    }
    if !done {
        return Err(());
    }
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use shared::domain::Registration;
    use shared::domain::registration::Outcome;
    use shared::envelope::Sealed;
    use shared::ports::{User, UserCreated};

    use super::*;
    use shared::ports::StoreError;

    /// One in-memory backend for every port, recording which steps ran and how many were in
    /// flight when the user record was deleted.
    #[derive(Default)]
    struct Backend {
        user: Mutex<Option<User>>,
        registration_deleted: Mutex<Option<String>>,
        steps: Mutex<Vec<&'static str>>,
        in_flight: Mutex<usize>,
        max_in_flight: Mutex<usize>,
        in_flight_at_user_delete: Mutex<Option<usize>>,
        images_down: bool,
        iproov_down: bool,
    }

    impl Backend {
        fn with_user() -> Self {
            let backend = Self::default();
            *backend.user.lock().unwrap() = Some(User {
                user_id: "u1".into(),
                username: Sealed::from_stored("x".into()),
                display_name: Sealed::from_stored("y".into()),
                iproov_user_id: IProovUserId::derive(b"k", "u1").as_str().to_owned(),
                name_index: "n1".into(),
                image_key: None,
                registration_id: Some("r1".into()),
                created_at: 0,
            });
            backend
        }

        /// Marks a step as started, lets the others run, then marks it done.
        async fn step(&self, name: &'static str) {
            {
                let mut in_flight = self.in_flight.lock().unwrap();
                *in_flight += 1;
                let mut max = self.max_in_flight.lock().unwrap();
                *max = (*max).max(*in_flight);
            }
            tokio::task::yield_now().await;
            self.steps.lock().unwrap().push(name);
            *self.in_flight.lock().unwrap() -= 1;
        }

        fn ran(&self, name: &str) -> bool {
            self.steps.lock().unwrap().contains(&name)
        }
    }

    #[async_trait]
    impl UserStore for Backend {
        async fn find_by_name(
            &self,
            _: &str,
        ) -> Result<Option<shared::ports::NameClaim>, StoreError> {
            Ok(None)
        }
        async fn get(&self, _: &str) -> Result<Option<User>, StoreError> {
            self.step("user read").await;
            Ok(self.user.lock().unwrap().clone())
        }
        async fn create(&self, _: &User) -> Result<UserCreated, StoreError> {
            unreachable!()
        }
        async fn delete(&self, _: &User) -> Result<(), StoreError> {
            *self.in_flight_at_user_delete.lock().unwrap() = Some(*self.in_flight.lock().unwrap());
            self.step("user delete").await;
            *self.user.lock().unwrap() = None;
            Ok(())
        }
    }

    #[async_trait]
    impl SessionControl for Backend {
        async fn touch(&self, _: &str, _: i64) -> Result<(), StoreError> {
            Ok(())
        }
        async fn revoke(&self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
        async fn revoke_all(&self, _: &str) -> Result<usize, StoreError> {
            self.step("sessions").await;
            Ok(2)
        }
    }

    #[async_trait]
    impl RegistrationStore for Backend {
        async fn get(&self, _: &str) -> Result<Option<Registration>, StoreError> {
            unreachable!()
        }
        async fn create(&self, _: &Registration) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn restart(
            &self,
            _: &str,
            _: u32,
            _: &str,
            _: i64,
            _: i64,
        ) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn submit(&self, _: &str, _: u32, _: i64) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn unsubmit(&self, _: &str, _: u32) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn begin_validation(
            &self,
            _: &str,
            _: u32,
            _: i64,
            _: i64,
        ) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn record_outcome(
            &self,
            _: &str,
            _: u32,
            _: Outcome,
            _: Option<&str>,
            _: Option<&str>,
            _: i64,
        ) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn release(&self, _: &str, _: u32, _: i64) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn fail(&self, _: &str, _: u32, _: &str, _: i64) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn complete(&self, _: &str, _: u32, _: i64) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn mark_login_issued(&self, _: &str) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn delete(&self, id: &str) -> Result<(), StoreError> {
            self.step("registration").await;
            *self.registration_deleted.lock().unwrap() = Some(id.to_owned());
            Ok(())
        }
    }

    #[async_trait]
    impl ImageStore for Backend {
        async fn put(&self, _: &str, _: Vec<u8>, _: &str) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn delete_all_versions(&self, _: &str) -> Result<usize, StoreError> {
            self.step("images").await;
            if self.images_down {
                return Err(StoreError::Unavailable("s3".into()));
            }
            Ok(1)
        }
    }

    #[async_trait]
    impl IProovUsers for Backend {
        async fn delete_user(&self, _: &IProovUserId) -> Result<(), IProovError> {
            self.step("iproov").await;
            if self.iproov_down {
                return Err(IProovError::Unavailable { status: 503 });
            }
            Ok(())
        }
    }

    fn deps(backend: Backend) -> (Arc<Backend>, Deps) {
        let backend = Arc::new(backend);
        let deps = Deps {
            users: backend.clone(),
            registrations: backend.clone(),
            sessions: backend.clone(),
            images: backend.clone(),
            iproov: backend.clone(),
        };
        (backend, deps)
    }

    #[tokio::test]
    async fn a_user_is_erased_everywhere_and_the_record_goes_last() {
        // given a user with sessions, images and an iProov enrolment
        let (backend, deps) = deps(Backend::with_user());
        // when the erasure runs
        let done = erase(&deps, "u1").await;
        // then every step ran, and the record was deleted once nothing else was in flight
        assert!(done);
        for step in [
            "user read",
            "sessions",
            "images",
            "iproov",
            "registration",
            "user delete",
        ] {
            assert!(backend.ran(step), "{step} did not run");
        }
        // and the registration that created the user is gone with it
        assert_eq!(
            backend.registration_deleted.lock().unwrap().as_deref(),
            Some("r1")
        );
        assert_eq!(backend.steps.lock().unwrap().last(), Some(&"user delete"));
        assert_eq!(*backend.in_flight_at_user_delete.lock().unwrap(), Some(0));
        assert!(backend.user.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn the_independent_steps_overlap() {
        // given a user
        let (backend, deps) = deps(Backend::with_user());
        // when the erasure runs
        erase(&deps, "u1").await;
        // then the user read, the sessions and the images were in flight together, and the
        // iProov delete came after the read it needs
        assert!(*backend.max_in_flight.lock().unwrap() >= 3);
        let steps = backend.steps.lock().unwrap().clone();
        let at = |name| steps.iter().position(|s| *s == name).unwrap();
        assert!(at("user read") < at("iproov"));
    }

    #[tokio::test]
    async fn a_failed_image_delete_keeps_the_user_record_for_the_retry() {
        // given images that cannot be deleted now
        let (backend, deps) = deps(Backend {
            images_down: true,
            ..Backend::with_user()
        });
        // when the erasure runs
        let done = erase(&deps, "u1").await;
        // then the message comes back and the record that finds the rest is still there
        assert!(!done);
        assert!(!backend.ran("user delete"));
        assert!(backend.user.lock().unwrap().is_some());
    }

    #[tokio::test]
    async fn a_failed_iproov_delete_keeps_the_user_record_for_the_retry() {
        // given iProov unavailable
        let (backend, deps) = deps(Backend {
            iproov_down: true,
            ..Backend::with_user()
        });
        // when the erasure runs
        let done = erase(&deps, "u1").await;
        // then the message comes back, the other steps were done, the record stays
        assert!(!done);
        assert!(backend.ran("sessions") && backend.ran("images"));
        assert!(backend.user.lock().unwrap().is_some());
    }

    #[tokio::test]
    async fn a_repeated_message_for_an_erased_user_succeeds() {
        // given a user already erased
        let (backend, deps) = deps(Backend::default());
        // when the erasure runs again
        let done = erase(&deps, "u1").await;
        // then it is done, without an iProov call or a second record delete
        assert!(done);
        assert!(!backend.ran("iproov"));
        assert!(!backend.ran("user delete"));
    }
}
