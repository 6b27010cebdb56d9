//! Secrets at rest and in the API: AEAD sealing under the data key, signing
//! secret generation and masking, API key generation and hashing.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
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
    /// A second key from the same material, for MACs the deployment checks
    /// itself (the hop header); never the sealing key.
    mac_key: [u8; 32],
}

/// A sealed value could not be opened (wrong key, tampering, or corruption).
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret could not be opened: {0}")]
pub struct OpenError(&'static str);

impl OpenError {
    pub(crate) fn new(why: &'static str) -> Self {
        Self(why)
    }
}

impl SecretBox {
    /// Derives the 256-bit key from the data key secret's text.
    pub fn from_data_key(material: &str) -> Self {
        let key = Sha256::digest(material.as_bytes());
        let mac_key = Sha256::new().chain_update(b"hookline/mac/v1\0").chain_update(material.as_bytes()).finalize();
        Self { cipher: XChaCha20Poly1305::new(&key), mac_key: mac_key.into() }
    }

    /// HMAC-SHA256 of `message` under the deployment's MAC key.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC accepts 32-byte keys");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is [`Self::mac`] of `message`, compared in constant time.
    pub fn verify_mac(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC accepts 32-byte keys");
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }

    /// Seals bytes; the result is `nonce || ciphertext`, for a binary attribute.
    pub fn seal_bytes(&self, plaintext: &[u8], aad: &str) -> Vec<u8> {
        let nonce_bytes = random_bytes::<24>();
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce_bytes), Payload { msg: plaintext, aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory input");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`Self::seal_bytes`] made with the same associated data.
    pub fn open_bytes(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 24 + 16 {
            return Err(OpenError("too short"));
        }
        let (nonce, ciphertext) = sealed.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| OpenError("authentication failed"))
    }

    /// Seals `plaintext`; the result is printable and self-describing.
    pub fn seal(&self, plaintext: &str, aad: &str) -> String {
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.seal_bytes(plaintext.as_bytes(), aad)))
    }

    /// Opens a value made by [`Self::seal`] with the same associated data.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<String, OpenError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError("unknown format"))?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError("not base64"))?;
        let plain = self.open_bytes(&raw, aad)?;
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
    fn bytes_seal_without_text_encoding_and_macs_check_in_constant_time() {
        let boxed = SecretBox::from_data_key("k");
        let body = vec![0u8, 255, 10, 13];
        let sealed = boxed.seal_bytes(&body, "inbound/t/inb_1");
        assert_eq!(sealed.len(), body.len() + 24 + 16, "a nonce and a tag, nothing more");
        assert_eq!(boxed.open_bytes(&sealed, "inbound/t/inb_1").unwrap(), body);
        assert!(boxed.open_bytes(&sealed, "inbound/t/inb_2").is_err());
        let tag = boxed.mac(b"1.dlv_1");
        assert!(boxed.verify_mac(b"1.dlv_1", &tag));
        assert!(!boxed.verify_mac(b"2.dlv_1", &tag));
        assert!(!SecretBox::from_data_key("k2").verify_mac(b"1.dlv_1", &tag));
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
