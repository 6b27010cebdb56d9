//! A received body at rest: deflated when that saves space, then sealed,
//! and stored as a binary attribute.
//!
//! DynamoDB holds 400 KB an item. Sealing the body's base64 and storing the
//! result as base64 text made a 256 KiB body about 460 KB; raw bytes keep it
//! at its own size or less (JSON deflates four to ten times), so the
//! advertised limit fits with the masked copy and the headers beside it.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

use super::MAX_INBOUND_BYTES;
use crate::crypto::SecretBox;

/// The first plaintext byte says how the rest is stored.
const RAW: u8 = 0;
const DEFLATED: u8 = 1;
/// Shorter bodies are not worth a deflate.
const PACK_FROM: usize = 512;
const LEVEL: u8 = 3;

/// Seals `body` for its record (`aad` binds it there).
pub fn seal(sealer: &SecretBox, body: &[u8], aad: &str) -> Vec<u8> {
    let mut plain = Vec::with_capacity(body.len() + 1);
    let packed = (body.len() >= PACK_FROM).then(|| miniz_oxide::deflate::compress_to_vec(body, LEVEL));
    match packed {
        Some(p) if p.len() <= body.len() - body.len() / 8 => {
            plain.push(DEFLATED);
            plain.extend_from_slice(&p);
        }
        _ => {
            plain.push(RAW);
            plain.extend_from_slice(body);
        }
    }
    sealer.seal_bytes(&plain, aad)
}

/// Opens what [`seal`] made; never inflates past the inbound limit.
pub fn open(sealer: &SecretBox, sealed: &[u8], aad: &str) -> Result<Vec<u8>, String> {
    let plain = sealer.open_bytes(sealed, aad).map_err(|e| e.to_string())?;
    match plain.split_first() {
        Some((&RAW, rest)) => Ok(rest.to_vec()),
        Some((&DEFLATED, rest)) => miniz_oxide::inflate::decompress_to_vec_with_limit(rest, MAX_INBOUND_BYTES + 1)
            .map_err(|e| format!("a stored body does not inflate: {e}")),
        _ => Err("a stored body has an unknown format".into()),
    }
}

/// `#[serde(with = ...)]` for bytes as a binary attribute (serde's default
/// for `Vec<u8>` is a list of numbers).
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_any(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_deflates_and_noise_is_kept_raw_and_both_open_unchanged() {
        let sealer = SecretBox::from_data_key("k");
        let json = format!("[{}]", vec![r#"{"patient":"P-1","note":"fasting"}"#; 2000].join(","));
        let sealed = seal(&sealer, json.as_bytes(), "inbound/t/inb_1");
        assert!(sealed.len() < json.len() / 4, "{} of {}", sealed.len(), json.len());
        assert_eq!(open(&sealer, &sealed, "inbound/t/inb_1").unwrap(), json.as_bytes());
        let noise: Vec<u8> =
            (0..MAX_INBOUND_BYTES as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let sealed = seal(&sealer, &noise, "inbound/t/inb_2");
        assert!(sealed.len() <= noise.len() + 1 + 24 + 16, "never more than a byte, a nonce and a tag over the body");
        assert_eq!(open(&sealer, &sealed, "inbound/t/inb_2").unwrap(), noise);
        assert!(open(&sealer, &sealed, "inbound/t/inb_1").is_err(), "bound to its record");
    }
}
