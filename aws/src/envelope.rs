//! Application-level envelope encryption of personal fields (username, display name).
//!
//! A table export, a backup or an over-broad IAM read must not reveal who registered. Each
//! process asks KMS once for a data key (`GenerateDataKey`, AES-256); fields are sealed with
//! AES-256-GCM under that key, and the KMS-encrypted copy of the key travels with every sealed
//! value, so any process allowed to use the KMS key can open it (one `Decrypt` per distinct data
//! key, then cached). Plaintext keys live only in this process's memory and are zeroed on drop.
//!
//! The additional authenticated data binds a value to its field and owner (`field|user_id`), so a
//! sealed display name cannot be swapped into another user's record or another field. Because the
//! binding is to the user id (fixed at registration), the validator copies sealed values from the
//! registration to the user record without ever opening them.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::{Mutex, OnceCell};
use zeroize::Zeroizing;

pub use onboarding_core::domain::Sealed;

/// Format version prefix of sealed values: `v2` data keys carry [`ENCRYPTION_CONTEXT`]. `v1`
/// values (sealed before the context existed) are still opened, without a context; on AWS that
/// needs a `kms:Decrypt` grant without the context condition (docs/template.md).
const VERSION: &str = "v2";
const LEGACY_VERSION: &str = "v1";

/// The KMS encryption context of every data key that seals personal fields. KMS binds it to
/// the encrypted key (a key generated with it opens only with it), CloudTrail records it with
/// every call, and the template's IAM statements allow `GenerateDataKey` and `Decrypt` for
/// direct use only with this context (`kms:EncryptionContext:purpose`): a role that may use the
/// key through SQS or S3 cannot open a sealed name by calling KMS itself.
pub const ENCRYPTION_CONTEXT: (&str, &str) = ("purpose", "personal-fields");

/// Why sealing or opening failed. Carries no key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("key service unavailable ({0})")]
    Unavailable(String),
    #[error("sealed value is malformed or was tampered with")]
    Corrupt,
}

/// The part of KMS the envelope needs; a fake in unit tests.
#[async_trait]
pub trait KeyService: Send + Sync {
    /// A fresh 256-bit data key: (plaintext, KMS-encrypted copy).
    async fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), EnvelopeError>;
    /// The plaintext of a KMS-encrypted data key; `with_context` is false only for `v1` values.
    async fn decrypt(
        &self,
        encrypted: &[u8],
        with_context: bool,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError>;
}

/// KMS with the customer-managed data key.
pub struct Kms {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl Kms {
    pub fn new(client: aws_sdk_kms::Client, key_id: String) -> Self {
        Self { client, key_id }
    }
}

fn kms_error<E: aws_sdk_kms::error::ProvideErrorMetadata>(e: &E) -> EnvelopeError {
    EnvelopeError::Unavailable(e.code().unwrap_or("kms_error").to_owned())
}

#[async_trait]
impl KeyService for Kms {
    async fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), EnvelopeError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context(ENCRYPTION_CONTEXT.0, ENCRYPTION_CONTEXT.1)
            .send()
            .await
            .map_err(|e| kms_error(&e))?;
        let plain = out.plaintext.ok_or(EnvelopeError::Corrupt)?.into_inner();
        let encrypted = out
            .ciphertext_blob
            .ok_or(EnvelopeError::Corrupt)?
            .into_inner();
        Ok((Zeroizing::new(plain), encrypted))
    }

    async fn decrypt(
        &self,
        encrypted: &[u8],
        with_context: bool,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let mut call = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(encrypted.to_vec()));
        if with_context {
            call = call.encryption_context(ENCRYPTION_CONTEXT.0, ENCRYPTION_CONTEXT.1);
        }
        let out = call.send().await.map_err(|e| kms_error(&e))?;
        Ok(Zeroizing::new(
            out.plaintext.ok_or(EnvelopeError::Corrupt)?.into_inner(),
        ))
    }
}

#[async_trait::async_trait]
impl onboarding_core::ports::FieldSealer for FieldCipher {
    async fn seal(
        &self,
        field: &str,
        owner: &str,
        plaintext: &str,
    ) -> Result<Sealed, onboarding_core::ports::SealError> {
        FieldCipher::seal(self, field, owner, plaintext)
            .await
            .map_err(|err| onboarding_core::ports::SealError(err.to_string()))
    }

    async fn open(
        &self,
        field: &str,
        owner: &str,
        sealed: &Sealed,
    ) -> Result<String, onboarding_core::ports::SealError> {
        FieldCipher::open(self, field, owner, sealed)
            .await
            .map_err(|err| onboarding_core::ports::SealError(err.to_string()))
    }
}

/// Seals and opens personal fields.
pub struct FieldCipher {
    keys: Arc<dyn KeyService>,
    /// This process's data key for sealing: (cipher, encrypted key as stored).
    current: OnceCell<(Arc<LessSafeKey>, String)>,
    /// Data keys already opened, by their encrypted form.
    opened: Mutex<HashMap<String, Arc<LessSafeKey>>>,
}

fn aead_key(plain: &[u8]) -> Result<LessSafeKey, EnvelopeError> {
    UnboundKey::new(&AES_256_GCM, plain)
        .map(LessSafeKey::new)
        .map_err(|_| EnvelopeError::Corrupt)
}

fn aad(field: &str, owner: &str) -> Vec<u8> {
    format!("{field}|{owner}").into_bytes()
}

impl FieldCipher {
    pub fn new(keys: Arc<dyn KeyService>) -> Self {
        Self {
            keys,
            current: OnceCell::new(),
            opened: Mutex::new(HashMap::new()),
        }
    }

    async fn sealing_key(&self) -> Result<&(Arc<LessSafeKey>, String), EnvelopeError> {
        self.current
            .get_or_try_init(|| async {
                let (plain, encrypted) = self.keys.generate().await?;
                let key = Arc::new(aead_key(&plain)?);
                let stored = URL_SAFE_NO_PAD.encode(&encrypted);
                self.opened.lock().await.insert(stored.clone(), key.clone());
                Ok((key, stored))
            })
            .await
    }

    /// Seals `plaintext` as `field` of `owner`.
    pub async fn seal(
        &self,
        field: &str,
        owner: &str,
        plaintext: &str,
    ) -> Result<Sealed, EnvelopeError> {
        let (key, stored_key) = self.sealing_key().await?;
        let nonce_bytes = onboarding_core::crypto::random_bytes::<NONCE_LEN>()
            .map_err(|_| EnvelopeError::Corrupt)?;
        let mut in_out = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad(field, owner).as_slice()),
            &mut in_out,
        )
        .map_err(|_| EnvelopeError::Corrupt)?;
        let mut payload = nonce_bytes.to_vec();
        payload.extend_from_slice(&in_out);
        Ok(Sealed::from_stored(format!(
            "{VERSION}.{stored_key}.{}",
            URL_SAFE_NO_PAD.encode(payload)
        )))
    }

    /// Opens a value sealed as `field` of `owner`.
    pub async fn open(
        &self,
        field: &str,
        owner: &str,
        sealed: &Sealed,
    ) -> Result<String, EnvelopeError> {
        let mut parts = sealed.as_str().split('.');
        let (Some(version), Some(stored_key), Some(payload), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(EnvelopeError::Corrupt);
        };
        let with_context = match version {
            VERSION => true,
            LEGACY_VERSION => false,
            _ => return Err(EnvelopeError::Corrupt),
        };
        let key = self.opening_key(stored_key, with_context).await?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| EnvelopeError::Corrupt)?;
        if payload.len() < NONCE_LEN {
            return Err(EnvelopeError::Corrupt);
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| EnvelopeError::Corrupt)?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad(field, owner).as_slice()), &mut in_out)
            .map_err(|_| EnvelopeError::Corrupt)?;
        String::from_utf8(plain.to_vec()).map_err(|_| EnvelopeError::Corrupt)
    }

    async fn opening_key(
        &self,
        stored_key: &str,
        with_context: bool,
    ) -> Result<Arc<LessSafeKey>, EnvelopeError> {
        if let Some(key) = self.opened.lock().await.get(stored_key) {
            return Ok(key.clone());
        }
        let encrypted = URL_SAFE_NO_PAD
            .decode(stored_key)
            .map_err(|_| EnvelopeError::Corrupt)?;
        let plain = self.keys.decrypt(&encrypted, with_context).await?;
        let key = Arc::new(aead_key(&plain)?);
        self.opened
            .lock()
            .await
            .insert(stored_key.to_owned(), key.clone());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A stand-in for KMS: "encrypts" a data key by XOR with a pad that depends on whether the
    /// encryption context was sent (as KMS binds a key to its context), and counts calls.
    const PAD_WITH_CONTEXT: u8 = 0xAA;
    const PAD_WITHOUT_CONTEXT: u8 = 0x55;
    #[derive(Default)]
    struct FakeKms {
        generated: AtomicUsize,
        decrypted: AtomicUsize,
    }

    #[async_trait]
    impl KeyService for FakeKms {
        async fn generate(&self) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), EnvelopeError> {
            let n = self.generated.fetch_add(1, Ordering::SeqCst) as u8;
            let plain: Vec<u8> = (0..32).map(|i| i ^ n).collect();
            let wrapped = plain.iter().map(|b| b ^ PAD_WITH_CONTEXT).collect();
            Ok((Zeroizing::new(plain), wrapped))
        }

        async fn decrypt(
            &self,
            encrypted: &[u8],
            with_context: bool,
        ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
            self.decrypted.fetch_add(1, Ordering::SeqCst);
            let pad = if with_context {
                PAD_WITH_CONTEXT
            } else {
                PAD_WITHOUT_CONTEXT
            };
            Ok(Zeroizing::new(encrypted.iter().map(|b| b ^ pad).collect()))
        }
    }

    #[tokio::test]
    async fn new_values_are_sealed_under_context_bound_keys_and_old_ones_still_open() {
        // given a value sealed now, and a v1 value sealed before keys carried a context
        let kms = Arc::new(FakeKms::default());
        let cipher = FieldCipher::new(kms.clone());
        let sealed = cipher.seal("username", "u", "ada").await.expect("seal");
        let plain_key = [7u8; 32];
        let legacy_key: Vec<u8> = plain_key.iter().map(|b| b ^ PAD_WITHOUT_CONTEXT).collect();
        let legacy_cipher = aead_key(&plain_key).expect("key");
        let nonce = [1u8; NONCE_LEN];
        let mut payload = b"bob".to_vec();
        legacy_cipher
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad("username", "u").as_slice()),
                &mut payload,
            )
            .expect("seal");
        let legacy = Sealed::from_stored(format!(
            "v1.{}.{}",
            URL_SAFE_NO_PAD.encode(&legacy_key),
            URL_SAFE_NO_PAD.encode([nonce.as_slice(), &payload].concat())
        ));
        // when another process opens both
        let reader = FieldCipher::new(kms);
        // then the new value is v2 and opens with the context, the old one without it
        assert!(sealed.as_str().starts_with("v2."));
        assert_eq!(reader.open("username", "u", &sealed).await.unwrap(), "ada");
        assert_eq!(reader.open("username", "u", &legacy).await.unwrap(), "bob");
        // and an unknown version is refused without a KMS call
        let unknown = Sealed::from_stored(sealed.as_str().replacen("v2.", "v9.", 1));
        assert!(reader.open("username", "u", &unknown).await.is_err());
    }

    #[tokio::test]
    async fn sealed_values_open_in_another_process_and_hide_the_plaintext() {
        // GIVEN one process seals a display name
        let kms = Arc::new(FakeKms::default());
        let writer = FieldCipher::new(kms.clone());
        let sealed = writer
            .seal("display_name", "user-1", "Ada Lovelace")
            .await
            .expect("seal");
        assert!(!sealed.as_str().contains("Ada"));
        // WHEN another process (its own cache) opens it twice
        let reader = FieldCipher::new(kms.clone());
        for _ in 0..2 {
            let opened = reader
                .open("display_name", "user-1", &sealed)
                .await
                .expect("open");
            assert_eq!(opened, "Ada Lovelace");
        }
        // THEN KMS was asked once for a key and once to decrypt it
        assert_eq!(kms.generated.load(Ordering::SeqCst), 1);
        assert_eq!(kms.decrypted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_sealed_value_cannot_move_to_another_owner_or_field_or_be_altered() {
        let cipher = FieldCipher::new(Arc::new(FakeKms::default()));
        let sealed = cipher
            .seal("username", "user-1", "ada")
            .await
            .expect("seal");
        assert!(cipher.open("username", "user-2", &sealed).await.is_err());
        assert!(
            cipher
                .open("display_name", "user-1", &sealed)
                .await
                .is_err()
        );
        let mut tampered = sealed.as_str().to_owned();
        tampered.pop();
        tampered.push(if sealed.as_str().ends_with('A') {
            'B'
        } else {
            'A'
        });
        assert!(
            cipher
                .open("username", "user-1", &Sealed::from_stored(tampered))
                .await
                .is_err()
        );
        assert!(
            cipher
                .open("username", "user-1", &Sealed::from_stored("junk".into()))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_same_plaintext_seals_differently_each_time() {
        let cipher = FieldCipher::new(Arc::new(FakeKms::default()));
        let a = cipher.seal("username", "u", "ada").await.expect("seal");
        let b = cipher.seal("username", "u", "ada").await.expect("seal");
        assert_ne!(a, b);
    }
}
