//! Secrets at rest and in the API: AEAD sealing under the data key, signing
//! secret generation and masking, API key generation and hashing.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::ids::random_bytes;

const SEALED_PREFIX: &str = "v1.";
const SIGNING_PREFIX: &str = "whsec_";
const API_KEY_PREFIX: &str = "hk_";

/// Encrypts and decrypts signing secrets with the deployment's data key.
/// Each value gets a fresh 192-bit nonce; the associated data binds a
/// ciphertext to the record it belongs to, so it cannot be moved to another.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

/// A sealed value could not be opened (wrong key, tampering, or corruption).
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret could not be opened: {0}")]
pub struct OpenError(&'static str);

impl SecretBox {
    /// Derives the 256-bit key from the data key secret's text.
    pub fn from_data_key(material: &str) -> Self {
        let key = Sha256::digest(material.as_bytes());
        Self { cipher: XChaCha20Poly1305::new(&key) }
    }

    /// Seals `plaintext`; the result is printable and self-describing.
    pub fn seal(&self, plaintext: &str, aad: &str) -> String {
        let nonce_bytes = random_bytes::<24>();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(nonce, Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory input");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a value made by [`Self::seal`] with the same associated data.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<String, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError("unknown format"))?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError("not base64"))?;
        if raw.len() < 24 + 16 {
            return Err(OpenError("too short"));
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| OpenError("authentication failed"))?;
        String::from_utf8(plain).map_err(|_| OpenError("not UTF-8"))
    }
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_signing_secret() -> String {
    format!("{SIGNING_PREFIX}{}", STANDARD.encode(random_bytes::<32>()))
}

/// Checks a signing secret a user supplies: `whsec_` and base64 of 24 to 64 bytes.
pub fn validate_signing_secret(secret: &str) -> Result<(), &'static str> {
    let body = secret.strip_prefix(SIGNING_PREFIX).ok_or("the secret must start with whsec_")?;
    let bytes = STANDARD.decode(body).map_err(|_| "the part after whsec_ must be base64")?;
    if !(24..=64).contains(&bytes.len()) {
        return Err("the secret must carry 24 to 64 bytes");
    }
    Ok(())
}

/// The form a secret takes everywhere but create, rotate and the secret
/// route: the prefix and the last four characters.
pub fn mask_secret(secret: &str) -> String {
    let (prefix, body) = match secret.strip_prefix(SIGNING_PREFIX) {
        Some(body) => (SIGNING_PREFIX, body),
        None => ("", secret),
    };
    let tail: String = body.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    if body.chars().count() <= 8 {
        return format!("{prefix}********");
    }
    format!("{prefix}********{tail}")
}

/// A new admin API key, shown once: `hk_` and 32 random bytes.
pub fn generate_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// How an API key is stored and looked up. Keys carry 256 random bits, so a
/// fast hash is enough; a slow password hash would buy nothing.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_and_record() {
        let boxed = SecretBox::from_data_key("data-key-material");
        let sealed = boxed.seal("whsec_abc", "tenant/ep_1");
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(boxed.open(&sealed, "tenant/ep_1").unwrap(), "whsec_abc");
    }

    #[test]
    fn a_sealed_secret_moved_to_another_record_does_not_open() {
        let boxed = SecretBox::from_data_key("k");
        let sealed = boxed.seal("whsec_abc", "tenant-a/ep_1");
        assert!(boxed.open(&sealed, "tenant-b/ep_1").is_err());
    }

    #[test]
    fn another_data_key_cannot_open_it() {
        let sealed = SecretBox::from_data_key("k1").seal("s", "a");
        assert!(SecretBox::from_data_key("k2").open(&sealed, "a").is_err());
        assert!(SecretBox::from_data_key("k1").open("v1.AAAA", "a").is_err());
        assert!(SecretBox::from_data_key("k1").open("plain", "a").is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let boxed = SecretBox::from_data_key("k");
        assert_ne!(boxed.seal("s", "a"), boxed.seal("s", "a"));
    }

    #[test]
    fn generated_signing_secrets_carry_32_bytes() {
        let secret = generate_signing_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
        assert!(validate_signing_secret(&secret).is_ok());
        assert!(validate_signing_secret("whsec_c2hvcnQ=").is_err());
        assert!(validate_signing_secret("secret").is_err());
    }

    #[test]
    fn masking_keeps_only_the_last_four_characters() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let masked = mask_secret(secret);
        assert_eq!(masked, "whsec_********LaSw");
        assert_eq!(mask_secret("short"), "********");
    }

    #[test]
    fn api_keys_hash_stably_and_differ() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a, b);
        assert_eq!(hash_api_key(&a), hash_api_key(&a));
        assert_eq!(hash_api_key(&a).len(), 64);
    }
}
