//! Face images in S3, encrypted with the customer-managed KMS key. Keys hold only random ids.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use futures::TryStreamExt;

use onboarding_core::ports::{ImageStore, StoreError};

/// Object deletes kept in flight at once by [`S3Images::delete_all_versions`].
const MAX_DELETES_IN_FLIGHT: usize = 16;

pub struct S3Images {
    client: Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3Images {
    pub fn new(client: Client, bucket: String, kms_key_id: Option<String>) -> Self {
        Self {
            client,
            bucket,
            kms_key_id,
        }
    }
}

#[async_trait]
impl ImageStore for S3Images {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .set_ssekms_key_id(self.kms_key_id.clone())
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                use aws_sdk_s3::error::ProvideErrorMetadata;
                StoreError::Unavailable(e.code().unwrap_or("s3_error").to_owned())
            })
    }

    /// Asked through ListObjectVersions on the key itself, which the validator's role already
    /// has for its clean-ups: no read permission on face images is needed to learn that one
    /// exists.
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        let out = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(e.code().unwrap_or("s3_error").to_owned()))?;
        Ok(out
            .versions()
            .iter()
            .any(|v| v.key() == Some(key) && v.is_latest() == Some(true)))
    }

    async fn delete_all_versions(&self, prefix: &str) -> Result<usize, StoreError> {
        self.delete_versions_under(prefix).await
    }
}

impl S3Images {
    /// Deletes every version of every object under `prefix`; returns how many were deleted.
    async fn delete_versions_under(&self, prefix: &str) -> Result<usize, StoreError> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        let unavailable =
            |code: Option<&str>| StoreError::Unavailable(code.unwrap_or("s3_error").to_owned());
        let mut deleted = 0;
        let mut key_marker = None;
        let mut version_marker = None;
        loop {
            let out = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| unavailable(e.code()))?;
            let versions = out
                .versions()
                .iter()
                .map(|v| {
                    (
                        v.key().map(str::to_owned),
                        v.version_id().map(str::to_owned),
                    )
                })
                .chain(out.delete_markers().iter().map(|m| {
                    (
                        m.key().map(str::to_owned),
                        m.version_id().map(str::to_owned),
                    )
                }));
            // The versions' deletes are independent: in flight together (bounded), one round
            // trip per page instead of one per version.
            let versions: Vec<(String, Option<String>)> = versions
                .filter_map(|(key, version)| Some((key?, version)))
                .collect();
            deleted += versions.len();
            futures::stream::iter(versions.into_iter().map(Ok))
                .try_for_each_concurrent(MAX_DELETES_IN_FLIGHT, |(key, version)| async move {
                    self.client
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .set_version_id(version)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| unavailable(e.code()))
                })
                .await?;
            if out.is_truncated() == Some(true) {
                key_marker = out.next_key_marker().map(str::to_owned);
                version_marker = out.next_version_id_marker().map(str::to_owned);
            } else {
                break;
            }
        }
        Ok(deleted)
    }
}
