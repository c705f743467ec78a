//! Storing a passed registration: the face image to S3 and the user (with its username claim)
//! in one DynamoDB transaction — at the same time, since neither needs the other's answer.
//!
//! Why the overlap keeps the invariants of doing them one after the other (upload first):
//!
//! - The image key is chosen before either call and recorded with the outcome (`record_outcome`
//!   runs first, by design), so the user item names the same key whichever call ends first.
//! - The frame exists only in iProov's validate answer, which cannot be asked for twice: only
//!   the delivery that validated can upload it. A retry after an upload failure has always
//!   written the user without uploading (the key names a missing object); overlapping does not
//!   change that outcome, it only writes the user one delivery earlier.
//! - Both calls are idempotent (same key, same bytes; the transaction answers `AlreadyExisted`
//!   to a repeat), and the registration turns `completed` only after both succeeded in one
//!   delivery, or the user write succeeded in a retry. Any failure sends the message back.
//! - A username taken meanwhile ends the registration as before; the image uploaded alongside
//!   is left under the user's prefix exactly as when the upload came first.

use shared::ports::{ImageStore, StoreError, User, UserCreated, UserStore};

/// A frame to upload: object key, bytes, content type.
pub type Frame = (String, Vec<u8>, &'static str);

/// Uploads `frame` (when this delivery has one) while writing `user`. The user write's answer
/// decides: a taken name is reported as such whatever the upload did; a stored user with a
/// failed upload is an error, so the message comes back.
pub async fn store_user(
    images: &dyn ImageStore,
    users: &dyn UserStore,
    user: &User,
    frame: Option<Frame>,
) -> Result<UserCreated, StoreError> {
    let upload = async {
        match frame {
            Some((key, bytes, content_type)) => images.put(&key, bytes, content_type).await,
            None => Ok(()),
        }
    };
    let (uploaded, created) = futures::join!(upload, users.create(user));
    match created? {
        UserCreated::NameTaken => Ok(UserCreated::NameTaken),
        created => uploaded.map(|()| created),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use shared::envelope::Sealed;
    use shared::ports::NameClaim;

    use super::*;

    #[derive(Default)]
    struct Backend {
        objects: Mutex<Vec<String>>,
        users: Mutex<Vec<String>>,
        /// Calls in flight, and the most seen at once.
        in_flight: Mutex<(usize, usize)>,
        s3_down: bool,
        dynamo_down: bool,
        name_taken: bool,
    }

    impl Backend {
        async fn call(&self) {
            {
                let mut f = self.in_flight.lock().unwrap();
                f.0 += 1;
                f.1 = f.1.max(f.0);
            }
            tokio::task::yield_now().await;
            self.in_flight.lock().unwrap().0 -= 1;
        }
    }

    #[async_trait]
    impl UserStore for Backend {
        async fn find_by_name(&self, _: &str) -> Result<Option<NameClaim>, StoreError> {
            Ok(None)
        }
        async fn get(&self, _: &str) -> Result<Option<User>, StoreError> {
            Ok(None)
        }
        async fn create(&self, user: &User) -> Result<UserCreated, StoreError> {
            self.call().await;
            if self.dynamo_down {
                return Err(StoreError::Unavailable("dynamodb".into()));
            }
            if self.name_taken {
                return Ok(UserCreated::NameTaken);
            }
            let mut users = self.users.lock().unwrap();
            if users.contains(&user.user_id) {
                return Ok(UserCreated::AlreadyExisted);
            }
            users.push(user.user_id.clone());
            Ok(UserCreated::Created)
        }
        async fn delete(&self, _: &User) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[async_trait]
    impl ImageStore for Backend {
        async fn put(&self, key: &str, _: Vec<u8>, _: &str) -> Result<(), StoreError> {
            self.call().await;
            if self.s3_down {
                return Err(StoreError::Unavailable("s3".into()));
            }
            self.objects.lock().unwrap().push(key.to_owned());
            Ok(())
        }
        async fn delete_all_versions(&self, _: &str) -> Result<usize, StoreError> {
            Ok(0)
        }
    }

    fn user() -> User {
        User {
            user_id: "u1".into(),
            username: Sealed::from_stored("x".into()),
            display_name: Sealed::from_stored("y".into()),
            iproov_user_id: "i1".into(),
            name_index: "n1".into(),
            image_key: Some("faces/u1/r1-1.png".into()),
            registration_id: Some("r1".into()),
            created_at: 0,
        }
    }

    fn frame() -> Option<Frame> {
        Some(("faces/u1/r1-1.png".into(), vec![1, 2, 3], "image/png"))
    }

    #[tokio::test]
    async fn the_upload_and_the_user_write_happen_together() {
        // given working backends
        let backend = Backend::default();
        // when a passed registration is stored
        let created = store_user(&backend, &backend, &user(), frame())
            .await
            .unwrap();
        // then both were written, and both calls were in flight at once
        assert_eq!(created, UserCreated::Created);
        assert_eq!(backend.objects.lock().unwrap().len(), 1);
        assert_eq!(backend.users.lock().unwrap().len(), 1);
        assert_eq!(backend.in_flight.lock().unwrap().1, 2);
    }

    #[tokio::test]
    async fn a_failed_upload_sends_the_message_back_and_the_retry_finishes_the_user() {
        // given S3 down for this delivery
        let backend = Backend {
            s3_down: true,
            ..Backend::default()
        };
        // when the passed registration is stored
        let first = store_user(&backend, &backend, &user(), frame()).await;
        // then it is an error (the message comes back), though the user was written
        assert!(first.is_err());
        // and when the retry (which no longer has the frame) stores it again
        let retry = store_user(&backend, &backend, &user(), None).await.unwrap();
        // then it finds its own user: the registration can complete
        assert_eq!(retry, UserCreated::AlreadyExisted);
        assert_eq!(backend.users.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_user_write_sends_the_message_back() {
        // given DynamoDB down for this delivery
        let backend = Backend {
            dynamo_down: true,
            ..Backend::default()
        };
        // when the passed registration is stored
        let answer = store_user(&backend, &backend, &user(), frame()).await;
        // then it is an error, and the image is uploaded (the retry cannot upload it)
        assert!(answer.is_err());
        assert_eq!(backend.objects.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_taken_name_is_reported_whatever_the_upload_did() {
        // given another user holding the name, and S3 down
        let backend = Backend {
            name_taken: true,
            s3_down: true,
            ..Backend::default()
        };
        // when the passed registration is stored
        let answer = store_user(&backend, &backend, &user(), frame())
            .await
            .unwrap();
        // then the name decides: the registration ends as username_taken
        assert_eq!(answer, UserCreated::NameTaken);
    }
}
