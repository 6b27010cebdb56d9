//! Micro-benchmarks for the hot, pure paths of `shared`: signing and verification, redaction of stored bodies, SSRF
//! URL checks and envelope serialisation.
//!
//! Run with `cargo bench -p shared --bench micro`; results land under
//! `target/criterion/<group>/<function>[/<size>]/new/estimates.json`.

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};
use shared::crypto::generate_signing_secret;
use shared::event::{envelope, EventSnapshot};
use shared::ids::{DeliveryId, EndpointId, EventId};
use shared::redact::Redactor;
use shared::signature::{hms_signature, standard_signature_header, verify_hms, verify_standard};
use shared::ssrf::TargetPolicy;

const TIMESTAMP: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const TOLERANCE_SECS: i64 = 300;
const MSG_ID: &str = "msg_2zKq8bVvJ3tYcN5pW7xR1aLmE4";

/// A JSON-ish body of exactly `len` bytes (content does not matter to HMAC, only length).
fn body_of(len: usize) -> Vec<u8> {
    let chunk = br#"{"bill_id":"BL-2026-000123","amount_paise":125000,"status":"paid","ward":"B-4"},"#;
    chunk.iter().copied().cycle().take(len).collect()
}

fn signature(c: &mut Criterion) {
    let secret = generate_signing_secret();
    let secrets = [secret.as_str()];
    let ts = TIMESTAMP.to_string();
    let mut group = c.benchmark_group("signature");
    for (label, len) in [("1KB", 1024usize), ("64KB", 64 * 1024)] {
        let body = body_of(len);
        let hms = hms_signature(&secret, TIMESTAMP, &body);
        let standard = standard_signature_header(&secrets, MSG_ID, TIMESTAMP, &body).expect("valid secret");
        assert_eq!(verify_hms(&secret, &ts, &hms, &body, TIMESTAMP, TOLERANCE_SECS), Ok(()));
        assert_eq!(verify_standard(&secret, MSG_ID, &ts, &standard, &body, TIMESTAMP, TOLERANCE_SECS), Ok(()));

        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("hms_sign", label), &body, |b, body| {
            b.iter(|| hms_signature(black_box(&secret), black_box(TIMESTAMP), black_box(body)))
        });
        group.bench_with_input(BenchmarkId::new("standard_sign", label), &body, |b, body| {
            b.iter(|| standard_signature_header(black_box(&secrets), black_box(MSG_ID), black_box(TIMESTAMP), body))
        });
        group.bench_with_input(BenchmarkId::new("hms_verify", label), &body, |b, body| {
            b.iter(|| {
                verify_hms(
                    black_box(&secret),
                    black_box(&ts),
                    black_box(&hms),
                    black_box(body),
                    black_box(TIMESTAMP),
                    TOLERANCE_SECS,
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("standard_verify", label), &body, |b, body| {
            b.iter(|| {
                verify_standard(
                    black_box(&secret),
                    black_box(MSG_ID),
                    black_box(&ts),
                    black_box(&standard),
                    black_box(body),
                    black_box(TIMESTAMP),
                    TOLERANCE_SECS,
                )
            })
        });
    }
    group.finish();
}

/// A realistic ~4 KB patient record as an HMS would post it: identifiers in sensitive fields, in free text, as
/// numbers, and as object keys, plus plenty of ordinary data the redactor must leave alone.
fn patient_payload() -> Vec<u8> {
    let labs: Vec<Value> = [
        ("HB", "Haemoglobin", "13.4", "g/dL", "13.0-17.0"),
        ("WBC", "Total leucocyte count", "7.8", "10^3/uL", "4.0-10.0"),
        ("PLT", "Platelet count", "212", "10^3/uL", "150-410"),
        ("FBS", "Fasting blood sugar", "104", "mg/dL", "70-100"),
        ("HBA1C", "Glycated haemoglobin", "6.1", "%", "4.0-5.6"),
        ("CREAT", "Serum creatinine", "0.92", "mg/dL", "0.7-1.3"),
        ("TSH", "Thyroid stimulating hormone", "2.35", "uIU/mL", "0.4-4.0"),
        ("LDL", "LDL cholesterol", "131", "mg/dL", "<100"),
        ("ALT", "SGPT (ALT)", "38", "U/L", "0-45"),
        ("VITD", "25-OH vitamin D", "18.2", "ng/mL", "30-100"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (code, name, value, unit, range))| {
        json!({
            "test_code": code,
            "test_name": name,
            "value": value,
            "unit": unit,
            "reference_range": range,
            "flag": if i % 3 == 0 { "H" } else { "N" },
            "sample_id": format!("SMP-2026-04-{:05}", 1200 + i),
            "collected_at": "2026-04-11T08:15:00+05:30",
            "reported_at": "2026-04-11T13:42:10+05:30",
            "verified_by": "Dr. Kavita Menon, MD (Path)",
        })
    })
    .collect();
    let payload = json!({
        "event": "lab.report.ready",
        "hospital": {"id": "HSP-BLR-004", "name": "Sanjeevani Multispeciality Hospital", "gstin": "29ABCDE1234F1Z5"},
        "patient": {
            "uhid": "UH-0042-778812",
            "name": "Ramesh Kumar Iyer",
            "gender": "M",
            "date_of_birth": "1979-08-14",
            "aadhaar": "2345 6789 0123",
            "pan": "ABCDE1234F",
            "mobile": "+91 98765 43210",
            "alternate_contact": "Wife Lakshmi, +91 91234 56780, Aadhaar 3456 7890 1234",
            "email": "ramesh.iyer@example.in",
            "address": {
                "line1": "Flat 12B, Prestige Lakeside Habitat",
                "line2": "Varthur Main Road, Gunjur",
                "city": "Bengaluru",
                "state": "Karnataka",
                "pincode": "560087",
            },
            "emergency_contacts": [
                {"name": "Lakshmi Iyer", "relation": "spouse", "phone": "9845012345"},
                {"name": "Arjun Iyer", "relation": "son", "note": "call 08023456789 or 7012345678 after 6 pm"},
            ],
            "insurance": {"provider": "Star Health", "policy_no": "P/141100/01/2026/004512", "holder_pan": "FGHIJ5678K"},
        },
        "encounter": {
            "id": "ENC-2026-0411-0093",
            "department": "Internal Medicine",
            "consultant": "Dr. Suresh Rao",
            "notes": "Patient (Aadhaar 2345 6789 0123, PAN ABCDE1234F) reports fatigue; follow up on 9876543210.",
            "order_numbers": ["ORD-5521-0098", "ORD-5521-0099"],
            "visit_uuid": "3f1c2a9e-5b7d-4e21-9c3a-8d6f0b1e2a47",
        },
        "lab_results": labs,
        "billing": {"invoice": "INV/2026/04/88123", "amount_inr": 4850.0, "paid": true, "upi_ref": "412345678901"},
    });
    payload.to_string().into_bytes()
}

fn redact(c: &mut Criterion) {
    let body = patient_payload();
    assert!((3_800..=4_400).contains(&body.len()), "patient payload is {} bytes", body.len());
    let redactor = Redactor::default();
    // Checked untruncated: the 2048-byte cut used below may drop whole sections.
    let redacted = redactor.body(&body, usize::MAX);
    assert!(redacted.contains("[REDACTED]") && !redacted.contains("2345 6789 0123"), "nothing was redacted");
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("patient_4KB", |b| b.iter(|| redactor.body(black_box(&body), black_box(2048))));
    group.finish();
}

fn ssrf(c: &mut Criterion) {
    let policy = TargetPolicy::default();
    assert!(policy.check_url("https://hooks.example.com/hms/webhook?x=1").is_ok());
    assert!(policy.check_url("https://0x7f.1/").is_err());
    let mut group = c.benchmark_group("ssrf");
    group.bench_function("check_url", |b| {
        b.iter(|| policy.check_url(black_box("https://hooks.example.com/hms/webhook?x=1")))
    });
    // Parsed by the URL crate as 127.0.0.1, so this also measures building the rejection.
    group.bench_function("check_url_odd_ipv4", |b| b.iter(|| policy.check_url(black_box("https://0x7f.1/"))));
    group.finish();
}

fn envelope_bench(c: &mut Criterion) {
    let items: Vec<Value> = (0..10)
        .map(|i| json!({"sku": format!("MED-{:04}", 310 + i), "description": "Paracetamol 650 mg tablet", "qty": 10, "price_paise": 3250}))
        .collect();
    let payload =
        json!({"bill_id": "BL-2026-000123", "patient_uhid": "UH-0042-778812", "status": "paid", "items": items})
            .to_string();
    assert!((900..=1_200).contains(&payload.len()), "envelope payload is {} bytes", payload.len());
    let snapshot = EventSnapshot {
        event_id: EventId::generate(),
        event_type: "bill.paid".to_owned(),
        created_at: Utc.timestamp_opt(TIMESTAMP, 0).single().expect("valid timestamp"),
        payload,
        correlation_id: "corr_01JRZ6W9K3M2N7P8Q4R5S6T7V8".to_owned(),
        hops: 0,
    };
    let endpoint = EndpointId::generate();
    let delivery = DeliveryId::for_event(&snapshot.event_id, &endpoint);
    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Bytes(snapshot.payload.len() as u64));
    group.bench_function("serialize_1KB", |b| {
        b.iter(|| envelope(black_box(&snapshot), black_box(&endpoint), black_box(&delivery)))
    });
    // The outbox row's payload deflated at publish (and inflated by the fan-out).
    group.bench_function("pack_outbox_payload_1KB", |b| {
        b.iter(|| serde_dynamo::to_item::<_, Item>(black_box(&Packed { payload: &snapshot.payload })))
    });
    let item: Item = serde_dynamo::to_item(Packed { payload: &snapshot.payload }).expect("packs");
    group.bench_function("unpack_outbox_payload_1KB", |b| {
        b.iter(|| serde_dynamo::from_item::<_, Unpacked>(black_box(item.clone())))
    });
    group.finish();
}

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

#[derive(serde::Serialize)]
struct Packed<'a> {
    #[serde(serialize_with = "shared::packed::serialize")]
    payload: &'a str,
}

#[derive(serde::Deserialize)]
struct Unpacked {
    #[serde(deserialize_with = "shared::packed::deserialize")]
    #[allow(dead_code)]
    payload: String,
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = micro;
    config = config();
    targets = signature, redact, ssrf, envelope_bench
}
criterion_main!(micro);
