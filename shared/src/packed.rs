//! The outbox row's payload at rest: deflated when that saves space.
//!
//! DynamoDB charges a write unit per started kilobyte of the item. A 1 KB
//! JSON payload plus the row's other attributes is just over one unit;
//! deflated, the same row fits in one. Payloads are stored as a binary
//! attribute when deflating makes them smaller, as a string otherwise, and
//! read back from either. Used as `#[serde(with = "crate::packed")]`.

use std::cell::RefCell;
use std::fmt;

use miniz_oxide::deflate::core::{
    compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

use crate::event::MAX_STORED_PAYLOAD_BYTES;

/// Shorter payloads fit a unit as they are.
const PACK_FROM: usize = 512;
/// miniz level: fast, and most of the gain on JSON.
const LEVEL: u8 = 3;

/// Writes `payload` deflated (bytes) when that is at least an eighth smaller.
pub fn serialize<S: Serializer>(payload: &str, serializer: S) -> Result<S::Ok, S::Error> {
    if payload.len() >= PACK_FROM {
        let packed = deflate(payload.as_bytes());
        if packed.len() <= payload.len() - payload.len() / 8 {
            return serializer.serialize_bytes(&packed);
        }
    }
    serializer.serialize_str(payload)
}

thread_local! {
    /// One compressor per thread, reset between payloads. A new one
    /// allocates and zeroes about 300 KB of tables: for a 1 KB payload that
    /// cost (page faults, and the memory handed back after each publish)
    /// was most of the publish handler's CPU.
    static COMPRESSOR: RefCell<Option<Box<CompressorOxide>>> = const { RefCell::new(None) };
}

/// Raw deflate at [`LEVEL`], as `miniz_oxide::deflate::compress_to_vec`
/// writes it, with this thread's compressor.
fn deflate(mut input: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(c) => {
                c.reset();
                c
            }
            None => slot.insert(Box::new(CompressorOxide::new(create_comp_flags_from_zip_params(LEVEL.into(), 0, 0)))),
        };
        let mut output = vec![0; (input.len() / 2).max(64)];
        let mut at = 0;
        loop {
            let (status, read, wrote) = compress(compressor, input, &mut output[at..], TDEFLFlush::Finish);
            at += wrote;
            match status {
                TDEFLStatus::Done => {
                    output.truncate(at);
                    return output;
                }
                TDEFLStatus::Okay => {
                    input = &input[read..];
                    if output.len() - at < 64 {
                        output.resize(output.len() * 2, 0);
                    }
                }
                // Only a bad parameter; with these fixed ones, not reachable.
                other => panic!("deflate failed: {other:?}"),
            }
        }
    })
}

/// Reads a payload stored either way.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_any(PayloadVisitor)
}

/// Inflates a stored payload, refusing anything that grows past the
/// largest payload an outbox row holds.
pub fn unpack(packed: &[u8]) -> Result<String, String> {
    let bytes = miniz_oxide::inflate::decompress_to_vec_with_limit(packed, MAX_STORED_PAYLOAD_BYTES + 1)
        .map_err(|e| format!("a stored payload does not inflate: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "a stored payload is not UTF-8".to_owned())
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a payload as a string or as deflated bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        unpack(v).map_err(E::custom)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        unpack(&bytes).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "super")]
        payload: String,
    }

    fn stored(payload: &str) -> AttributeValue {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(Row { payload: payload.to_owned() }).expect("serializes");
        item["payload"].clone()
    }

    fn read(value: AttributeValue) -> String {
        let item = HashMap::from([("payload".to_owned(), value)]);
        serde_dynamo::from_item::<_, Row>(item).expect("deserializes").payload
    }

    #[test]
    fn a_kilobyte_of_json_is_stored_deflated_and_reads_back_the_same() {
        let items: Vec<String> = (0..12)
            .map(|i| format!(r#"{{"code":"LAB-{i:03}","description":"Complete blood count","price":{}}}"#, 150 + i))
            .collect();
        let payload = format!(r#"{{"invoice":"INV-000042","items":[{}],"note":"fasting sample"}}"#, items.join(","));
        assert!(payload.len() > 512);
        let value = stored(&payload);
        let AttributeValue::B(bytes) = &value else { panic!("expected bytes, got {value:?}") };
        assert!(bytes.as_ref().len() < payload.len() / 2, "{} of {}", bytes.as_ref().len(), payload.len());
        assert_eq!(read(value), payload);
    }

    #[test]
    fn short_payloads_stay_strings_and_any_payload_reads_back() {
        assert_eq!(stored(r#"{"a":1}"#), AttributeValue::S(r#"{"a":1}"#.into()));
        assert_eq!(read(AttributeValue::S("plain".into())), "plain", "rows written as strings still read");
        let noise: String =
            (0..2000u32).map(|i| char::from_u32(0x4e00 + (i * 7919 + i * i * 31) % 20000).unwrap()).collect();
        assert_eq!(read(stored(&noise)), noise);
    }

    #[test]
    fn a_reused_compressor_writes_what_a_fresh_one_writes() {
        let big: String = (0..400).map(|i| format!(r#"{{"line":{i},"text":"blood count {}"}},"#, i % 7)).collect();
        let small = r#"{"invoice":"INV-1","note":"fasting sample, fasting sample, fasting sample"}"#.repeat(12);
        for payload in [&big, &small, &big] {
            let packed = super::deflate(payload.as_bytes());
            assert_eq!(packed, miniz_oxide::deflate::compress_to_vec(payload.as_bytes(), super::LEVEL));
            assert_eq!(super::unpack(&packed).unwrap(), *payload);
        }
    }

    #[test]
    fn a_corrupt_or_oversized_stored_payload_is_an_error_not_a_panic() {
        assert!(super::unpack(b"not deflate at all").is_err());
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b'a'; crate::event::MAX_STORED_PAYLOAD_BYTES * 2], 6);
        assert!(super::unpack(&bomb).is_err(), "inflating stops at the publish limit");
    }
}
