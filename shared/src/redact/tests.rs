//! Tests of `redact`.

use serde_json::json;

use super::*;

fn r() -> Redactor {
    Redactor::default()
}

#[test]
fn known_values_are_scrubbed_also_when_json_escaped_their_slashes() {
    let values = vec!["v1,ab/cd+efghijk=".to_owned(), "ab/cd+efghijk".to_owned(), "short".to_owned()];
    let echoed = r#"{"sig":"v1,ab\/cd+efghijk=","again":"ab/cd+efghijk","other":"short"}"#;
    assert_eq!(
        scrub_values(echoed, &values),
        r#"{"sig":"[REDACTED]","again":"[REDACTED]","other":"short"}"#,
        "too short a value would mangle ordinary text, so it stays"
    );
    assert_eq!(scrub_values("nothing here", &values), "nothing here");
}

#[test]
fn aadhaar_in_free_text_is_masked_keeping_last_four_and_separators() {
    assert_eq!(r().text("Aadhaar 2345 6789 0123 on file"), "Aadhaar XXXX XXXX 0123 on file");
    assert_eq!(r().text("id=234567890123."), "id=XXXXXXXX0123.");
    assert_eq!(r().text("(2345-6789-0123)"), "(XXXX-XXXX-0123)");
}

#[test]
fn aadhaar_lookalikes_are_left_alone() {
    // First digit 0/1, longer runs, glued to letters, mixed separators, card-like 4-4-4-4.
    for s in [
        "123456789012",
        "0234 5678 9012",
        "2345678901234",
        "a234567890123",
        "234567890123b",
        "2345 6789-0123",
        "4111 2345 6789 0123",
        "2345 6789 0123 4567",
        "2345  6789  0123",
    ] {
        assert_eq!(r().text(s), s, "{s}");
    }
}

#[test]
fn pan_in_free_text_is_masked_case_insensitively() {
    assert_eq!(r().text("PAN ABCDE1234F."), "PAN XXXXXX234F.");
    assert_eq!(r().text("pan of abcde1234f ok"), "pan of XXXXXX234f ok");
    assert_eq!(
        r().text("XABCDE1234F ABCDE1234FG ABCD1234F ABCDE12345F"),
        "XABCDE1234F ABCDE1234FG ABCD1234F ABCDE12345F"
    );
}

#[test]
fn indian_mobiles_with_prefixes_and_separators_are_masked() {
    let cases = [
        ("+91 98765 43210", "+91 XXXXX X3210"),
        ("+91-9876543210", "+91-XXXXXX3210"),
        ("+919876543210", "+91XXXXXX3210"),
        ("09876543210", "0XXXXXX3210"),
        ("0 98765-43210", "0 XXXXX-X3210"),
        ("9876543210", "XXXXXX3210"),
        ("91 98765 43210", "91 XXXXX X3210"),
        ("987-654-3210", "XXX-XXX-3210"),
        ("call 6123456789, or 7123456789.", "call XXXXXX6789, or XXXXXX6789."),
        ("tel:+91 98765 43210;", "tel:+91 XXXXX X3210;"),
    ];
    for (input, want) in cases {
        assert_eq!(r().text(input), want, "{input}");
    }
}

#[test]
fn international_e164_numbers_are_masked() {
    assert_eq!(r().text("+1 415 555 2671"), "+X XXX XXX 2671");
    assert_eq!(r().text("ring +447911123456 now"), "ring +XXXXXXXX3456 now");
    assert_eq!(r().text("+49-30-1234567"), "+XX-XX-XXX4567");
}

#[test]
fn phone_lookalikes_are_left_alone() {
    for s in [
        "5876543210",
        "98765432101",
        "98765432101234",
        "+1234567",
        "+1234567890123456",
        "9 876 543 210",
        "98765 43210 12345",
        "9876543210.50",
        "x9876543210",
        "+0123456789",
        "4111-1111-1111-1111",
    ] {
        assert_eq!(r().text(s), s, "{s}");
    }
}

#[test]
fn ordinary_data_is_not_mangled() {
    let r = r();
    for s in [
        "2026-11-22T10:35:00Z",
        "2026-11-22T10:35:00.987654321+05:30",
        "2026-11-22",
        "22/11/2026",
        "123e4567-e89b-12d3-a456-426614174000",
        "550e8400-e29b-41d4-a716-946655440000",
        "98765432-1012-4abc-8def-234567890123",
        "1234.56",
        "9876543.21",
        "C4H-ORD-2024-001234",
        "ORD-9876543210",
        "evt_01j9876543210abcdefghjkmnp",
        "1763807700000",
        "invoice 42 paid: INR 1,234.56 on 2026-11-22",
        "version 1.2.3-beta.4",
        "https://example.com/hooks/1234?ts=1763807700",
    ] {
        assert_eq!(r.text(s), s, "{s}");
    }
    let mut v = json!({"id": "123e4567-e89b-12d3-a456-426614174000", "amount": 1234.56, "at": "2026-11-22T10:35:00Z",
        "order": "C4H-ORD-2024-001234", "qty": 3, "ok": true, "ts": 1763807700});
    let before = v.clone();
    r.json(&mut v);
    assert_eq!(v, before);
}

#[test]
fn multibyte_text_around_identifiers_survives() {
    assert_eq!(r().text("रोगी का फ़ोन ९८७ 9876543210 — ठीक"), "रोगी का फ़ोन ९८७ XXXXXX3210 — ठीक");
    assert_eq!(r().text("€2345 6789 0123€"), "€XXXX XXXX 0123€");
    assert_eq!(r().text("😀ABCDE1234F😀"), "😀XXXXXX234F😀");
}

#[test]
fn sensitive_name_value_pairs_in_text_are_redacted() {
    let r = r();
    assert_eq!(r.text("password=hunter2&user=asha"), "password=[REDACTED]&user=asha");
    assert_eq!(r.text(r#"{"otp": "123456", "x": 1}"#), r#"{"otp": "[REDACTED]", "x": 1}"#);
    assert_eq!(r.text(r#"{"apiKey":42}"#), r#"{"apiKey":[REDACTED]}"#);
    assert_eq!(r.text("Authorization: Bearer abc.def.ghi\nnext"), "Authorization: [REDACTED]\nnext");
    assert_eq!(r.text("--refresh-token='a b\\'c' rest"), "--refresh-token='[REDACTED]' rest");
    // Names that merely contain a sensitive word, names without a value, and nested values are left alone.
    assert_eq!(r.text("company: Acme; span=3; the password is safe"), "company: Acme; span=3; the password is safe");
    assert_eq!(r.text("token: [REDACTED]"), "token: [REDACTED]");
}

#[test]
fn extra_fields_are_added_and_matched_loosely() {
    let r = Redactor::new(" patientName , ,MRN,, abha-number ");
    assert!(r.is_sensitive("patient_name"));
    assert!(r.is_sensitive("PATIENT-NAME"));
    assert!(r.is_sensitive("mrn"));
    assert!(r.is_sensitive("abhaNumber"));
    assert!(r.is_sensitive("apiKey"));
    assert!(r.is_sensitive("Access-Token"));
    assert!(!r.is_sensitive("patient"));
    assert!(!r.is_sensitive("company"));
    assert!(!r.is_sensitive(""));
    assert!(!Redactor::default().is_sensitive("mrn"));
}

#[test]
fn json_identifiers_are_masked_in_nested_objects_inside_arrays() {
    let mut v = json!({
        "patients": [
            {"name": "Asha", "contact": {"primary": "+91 98765 43210", "note": "alt 09876543211"}},
            {"ids": ["2345 6789 0123", "ABCDE1234F"], "visit": "2026-11-22T10:35:00Z"}
        ]
    });
    r().json(&mut v);
    assert_eq!(
        v,
        json!({
            "patients": [
                {"name": "Asha", "contact": {"primary": "+91 XXXXX X3210", "note": "alt 0XXXXXX3211"}},
                {"ids": ["XXXX XXXX 0123", "XXXXXX234F"], "visit": "2026-11-22T10:35:00Z"}
            ]
        })
    );
}

#[test]
fn json_sensitive_keys_are_redacted_whatever_the_value_type() {
    let mut v = json!({
        "Password": "hunter2",
        "otp": 123456,
        "api-key": null,
        "token": {"nested": true},
        "Authorization": ["Bearer x"],
        "mobile": false,
        "items": [{"aadhaar_": 234567890123u64, "PAN": "ABCDE1234F", "keep": "fine"}]
    });
    r().json(&mut v);
    assert_eq!(
        v,
        json!({
            "Password": "[REDACTED]",
            "otp": "[REDACTED]",
            "api-key": "[REDACTED]",
            "token": "[REDACTED]",
            "Authorization": "[REDACTED]",
            "mobile": "[REDACTED]",
            "items": [{"aadhaar_": "[REDACTED]", "PAN": "[REDACTED]", "keep": "fine"}]
        })
    );
}

#[test]
fn json_numbers_shaped_like_identifiers_become_masked_strings() {
    let mut v = json!({"a": 234567890123u64, "b": [9876543210u64, 5876543210u64, 123456789012u64, -9876543210i64],
        "c": 1234.56, "d": 98765432101u64});
    r().json(&mut v);
    assert_eq!(
        v,
        json!({"a": "XXXXXXXX0123", "b": ["XXXXXX3210", 5876543210u64, 123456789012u64, -9876543210i64],
            "c": 1234.56, "d": 98765432101u64})
    );
}

#[test]
fn json_keys_that_are_identifiers_are_masked_without_losing_entries() {
    let mut v = json!({"9876543210": 1, "8876543210": 2, "plain": 3});
    r().json(&mut v);
    let map = v.as_object().cloned().unwrap_or_default();
    assert_eq!(map.len(), 3);
    assert_eq!(map.get("plain"), Some(&json!(3)));
    assert!(map.contains_key("XXXXXX3210"));
    assert!(map.contains_key("XXXXXX3210#2"));
}

#[test]
fn deeply_nested_json_does_not_overflow_the_stack() {
    let mut v = json!("9876543210");
    for _ in 0..100_000 {
        v = Value::Array(vec![v]);
    }
    r().json(&mut v);
    let mut inner = &v;
    while let Value::Array(items) = inner {
        inner = &items[0];
    }
    assert_eq!(inner, &json!("XXXXXX3210"));
    // Dropping is recursive in serde_json; unwind it by hand so the test itself cannot overflow.
    let mut cur = v;
    while let Value::Array(mut items) = cur {
        cur = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn body_json_is_redacted_and_reserialized_compactly() {
    let body = br#"{ "phone" : "9876543210", "msg" : "PAN ABCDE1234F ok" }"#;
    let out = r().body(body, 1000);
    assert!(!out.contains(": ") && !out.contains(", "), "{out}");
    assert_eq!(out.len(), r#"{"msg":"PAN XXXXXX234F ok","phone":"[REDACTED]"}"#.len());
    let parsed: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(parsed, json!({"msg": "PAN XXXXXX234F ok", "phone": "[REDACTED]"}));
}

#[test]
fn body_text_is_redacted_as_text() {
    assert_eq!(r().body(b"<p>call 9876543210</p>", 1000), "<p>call XXXXXX3210</p>");
    assert_eq!(r().body(b"", 10), "");
}

#[test]
fn body_invalid_utf8_is_redacted_lossily() {
    let mut bytes = b"\xff\xfe aadhaar no 2345 6789 0123 \xc3".to_vec();
    bytes.extend_from_slice(b" end\x80");
    assert_eq!(r().body(&bytes, 1000), "\u{fffd}\u{fffd} aadhaar no XXXX XXXX 0123 \u{fffd} end\u{fffd}");
}

#[test]
fn body_truncates_on_a_char_boundary_with_a_marker() {
    // "a" is byte 0, the first "é" bytes 1-2, the second 3-4, "€" 5-7: a cut inside a character backs off.
    let text = "aéé€xyz";
    assert_eq!(r().body(text.as_bytes(), 4), "aé…[truncated]");
    assert_eq!(r().body(text.as_bytes(), 3), "aé…[truncated]");
    assert_eq!(r().body(text.as_bytes(), 2), "a…[truncated]");
    assert_eq!(r().body("€".as_bytes(), 1), "…[truncated]");
    assert_eq!(r().body(text.as_bytes(), 0), "…[truncated]");
    assert_eq!(r().body(text.as_bytes(), text.len()), text);
    // The cut applies after masking, so a cut never reveals a masked digit.
    assert_eq!(r().body(b"call 9876543210 now", 12), "call XXXXXX3…[truncated]");
}

/// A deterministic 64-bit LCG (Knuth's MMIX constants), high bits out.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}

#[test]
fn random_bytes_never_panic() {
    let r = Redactor::new("extra,mrn");
    let mut rng = Lcg(0x5eed);
    // Bytes biased toward the characters the scanners care about, plus arbitrary bytes and multi-byte UTF-8.
    let alphabet: &[u8] = b"0123456789+- .:=\"'\\&,{}[]aAbBpPxXzZ_\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\x80";
    for round in 0..4000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len)
            .map(|_| if round % 2 == 0 { alphabet[rng.below(alphabet.len())] } else { rng.next() as u8 })
            .collect();
        let max = rng.below(80);
        let out = r.body(&bytes, max);
        assert!(out.len() <= max + TRUNCATED.len(), "{bytes:?}");
        let text = String::from_utf8_lossy(&bytes);
        let masked = r.text(&text);
        // Masking never removes non-ASCII characters (these inputs never spell a sensitive field name followed by
        // `:`/`=`, so only identifiers, which are ASCII, are replaced).
        assert_eq!(
            masked.chars().filter(|c| !c.is_ascii()).collect::<String>(),
            text.chars().filter(|c| !c.is_ascii()).collect::<String>()
        );
        let mut v = json!({ "k": &*text, "a": [&*text, len], "password": len });
        r.json(&mut v);
    }
}

#[test]
fn random_json_documents_never_panic() {
    let r = Redactor::default();
    let mut rng = Lcg(42);
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"phone\"",
        "\"x\"",
        "\"9876543210\"",
        "9876543210",
        "234567890123",
        "1.5",
        "-7",
        "null",
        "true",
        "\"€\"",
        "\"ABCDE1234F\"",
        " ",
    ];
    let mut parsed = 0;
    for _ in 0..3000 {
        let doc: String = (0..rng.below(20)).map(|_| pieces[rng.below(pieces.len())]).collect();
        if serde_json::from_str::<Value>(&doc).is_ok() {
            parsed += 1;
        }
        let _ = r.body(doc.as_bytes(), rng.below(40));
    }
    assert!(parsed > 0);
}

/// Found by the `redact` fuzz target (fuzz/regressions/redact/aadhaar-after-sensitive-name): hiding the value after
/// `pan=` took only the Aadhaar's first group, and the two groups left no longer looked like an Aadhaar.
#[test]
fn an_identifier_after_a_sensitive_name_is_masked_whole() {
    assert_eq!(r().text("pan= \t 2345 6789 0123 \0("), "pan= \t [REDACTED] XXXX 0123 \0(");
    assert_eq!(r().text("otp: 98765 43210"), "otp: [REDACTED] X3210");
}
