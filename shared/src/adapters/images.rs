//! Face images in S3, encrypted with the customer-managed KMS key. Keys hold only random ids.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::ports::{ImageStore, StoreError};

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
}
