//! Redaction of text, JSON and stored bodies: never panics, respects the
//! size cap, keeps JSON valid, and an identifier standing alone in any
//! surrounding text never survives.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::redact::Redactor;

/// Identifiers that must be masked wherever they stand alone, and how many of
/// their digits stay visible (the last four characters, a `+91` prefix).
const PLANTED: [(&str, usize); 6] = [
    ("234567890123", 4),
    ("2345 6789 0123", 4),
    ("98765 43210", 4),
    ("+91 9876543210", 6),
    ("ABCDE1234F", 3),
    ("+44 20 7946 0958", 4),
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    extra_fields: &'a str,
    bytes: &'a [u8],
    max: u16,
    before: &'a str,
    after: &'a str,
    planted: u8,
}

/// Every value under a sensitive key is the redaction marker.
fn assert_sensitive_values_hidden(redactor: &Redactor, value: &Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, inner) in map {
                    if redactor.is_sensitive(k) {
                        assert_eq!(inner, &Value::String("[REDACTED]".into()), "{k} kept its value");
                    }
                    stack.push(inner);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

fuzz_target!(|input: Input| {
    let redactor = Redactor::new(input.extra_fields);
    let max = usize::from(input.max);

    let stored = redactor.body(input.bytes, max);
    assert!(stored.len() <= max + "…[truncated]".len(), "{} bytes kept of a {max} cap", stored.len());
    if let Ok(mut value) = serde_json::from_slice::<Value>(input.bytes) {
        if stored.len() <= max {
            serde_json::from_str::<Value>(&stored).expect("redacted JSON stays JSON");
        }
        redactor.json(&mut value);
        assert_sensitive_values_hidden(&redactor, &value);
    }
    let _ = redactor.text(&String::from_utf8_lossy(input.bytes));

    // Digits only come from the planted identifier, so more visible digits
    // than the masked form keeps is a leak.
    let strip = |s: &str| s.chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
    let (planted, visible) = PLANTED[usize::from(input.planted) % PLANTED.len()];
    let text = format!("{} {planted} {}", strip(input.before), strip(input.after));
    let masked = redactor.text(&text);
    let digits = masked.chars().filter(char::is_ascii_digit).count();
    assert!(digits <= visible, "{planted:?} leaked from {text:?} as {masked:?}");
});
