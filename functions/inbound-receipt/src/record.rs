//! The record a received webhook becomes, kept within DynamoDB's item limit
//! for any body the receipt accepts.

use chrono::Utc;
use lambda_http::http::HeaderMap;
use shared::event::new_correlation_id;
use shared::ids::InboundId;
use shared::inbound::{cut_bytes, kept_headers, InboundRecord, InboundStatus, MASKED_BODY_BYTES};
use shared::inbound_auth::dedupe_key;
use shared::redact::Redactor;
use shared::source::SourceRecord;

/// The record, its body not yet sealed in, under a fresh correlation id.
pub fn new_record(
    redactor: &Redactor,
    retention_days: u32,
    source: &SourceRecord,
    headers: &HeaderMap,
    body: &[u8],
) -> InboundRecord {
    let kept = kept_headers(headers.iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))))
        .into_iter()
        .map(|(k, v)| (k, redactor.text(&v)))
        .collect();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let received_at = Utc::now();
    InboundRecord {
        tenant_id: source.tenant_id.clone(),
        inbound_id: InboundId::generate(),
        source_slug: source.slug.clone(),
        status: InboundStatus::Received,
        correlation_id: new_correlation_id(),
        dedupe_key: dedupe_key(source.settings.dedupe_key.as_deref(), source.settings.auth_type, headers, body),
        received_at,
        content_type: cut_bytes(content_type, 256).to_owned(),
        headers: kept,
        body_bytes_sealed: Vec::new(),
        body_sealed: String::new(),
        body_masked: redactor.body(body, MASKED_BODY_BYTES),
        hops: 0,
        event_id: None,
        event_type: None,
        failure_reason: None,
        replay_of: None,
        duplicate_of: None,
        expires_at: received_at.timestamp() + i64::from(retention_days) * 86_400,
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::{HeaderName, HeaderValue};
    use shared::aws::item_size::{stored_size, MAX_ITEM_BYTES};
    use shared::crypto::SecretBox;
    use shared::inbound::{MAX_FAILURE_REASON_BYTES, MAX_INBOUND_BYTES};
    use shared::source::{SourceCreate, SourceSettings};

    use super::*;

    /// What processing may add to a record later: status, event id and
    /// type, and the longest failure reason.
    const LATER: usize = 64 + 40 + 160 + MAX_FAILURE_REASON_BYTES;

    fn source(auth: &str, dedupe: Option<&str>) -> SourceRecord {
        let mut create = serde_json::json!({"slug": "s".repeat(64), "auth_type": auth});
        if let Some(d) = dedupe {
            create["dedupe_key"] = d.into();
        }
        let input: SourceCreate = serde_json::from_value(create).unwrap();
        SourceRecord {
            slug: "s".repeat(64),
            tenant_id: shared::ids::TenantId::default_tenant(),
            settings: SourceSettings::from_create(&input),
            secret_sealed: String::new(),
            secret_masked: String::new(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// A body of `len` bytes: JSON that deflates, JSON that barely does,
    /// or arbitrary bytes (not UTF-8, so the masked copy grows with U+FFFD).
    fn body(kind: u8, len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let frame = br#"{"id":"","rows":[]}"#.len();
        match kind {
            0 => {
                let mut s = format!(r#"{{"id":"{}","rows":["#, "x".repeat(len.saturating_sub(frame).min(8)));
                while s.len() + 40 < len {
                    s.push_str(&format!(r#"{{"p":"P-{}","v":9876543210}},"#, next() % 1000));
                }
                s.truncate(s.len().min(len.saturating_sub(2)));
                while s.len() < len.saturating_sub(2) {
                    s.push(' ');
                }
                s.push_str("]}");
                s.into_bytes()
            }
            1 => {
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let inner: String =
                    (0..len.saturating_sub(frame)).map(|_| alphabet[(next() % 64) as usize] as char).collect();
                format!(r#"{{"id":"{inner}","rows":[]}}"#).into_bytes()
            }
            _ => (0..len).map(|_| (next() >> 11) as u8).collect(),
        }
    }

    /// The most and the longest headers a request can bring.
    fn worst_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        for i in 0..80 {
            let name = HeaderName::from_bytes(format!("x-{i:03}-{}", "n".repeat(120)).as_bytes()).unwrap();
            headers.insert(name, HeaderValue::from_bytes(&[0xe0, 0xa4, 0x85].repeat(700)).unwrap());
        }
        headers.insert("idempotency-key", HeaderValue::from_bytes(&[0xf0, 0x9f, 0x98, 0x80].repeat(400)).unwrap());
        headers.insert("content-type", HeaderValue::from_str(&"a".repeat(2000)).unwrap());
        headers
    }

    #[test]
    fn every_accepted_body_fits_one_item_with_room_for_processing() {
        let sealer = SecretBox::from_data_key("k");
        let redactor = Redactor::new("");
        let headers = worst_headers();
        let sources = [
            source("none", None),
            source("hms", None),
            source("stripe", None),
            source("github", None),
            source("standard-webhooks", Some("idempotency-key")),
            source("slack", None),
            source("shopify", None),
            source("none", Some("/id")),
        ];
        let mut sizes = vec![0, 1, 511, 512, 4096, 65_536, 200_000, MAX_INBOUND_BYTES - 1, MAX_INBOUND_BYTES];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..4 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            sizes.push((seed >> 40) as usize % (MAX_INBOUND_BYTES + 1));
        }
        let mut largest = 0;
        for source in &sources {
            for &len in &sizes {
                for kind in 0..3 {
                    let raw = body(kind, len, seed ^ len as u64);
                    let mut record = new_record(&redactor, 30, source, &headers, &raw);
                    record.seal_body(&sealer, &raw);
                    assert_eq!(record.open_body(&sealer).unwrap(), raw);
                    let size = stored_size(&record).unwrap();
                    largest = largest.max(size);
                    assert!(
                        size + LATER <= MAX_ITEM_BYTES,
                        "{:?} body of {len} bytes (kind {kind}) makes a {size}-byte record",
                        source.settings.auth_type
                    );
                }
            }
        }
        assert!(largest > MAX_INBOUND_BYTES, "the sweep reached full-size records ({largest} bytes)");
        eprintln!("largest inbound record in the sweep: {largest} bytes of {MAX_ITEM_BYTES}");
    }
}
