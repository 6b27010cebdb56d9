//! Masking of Indian patient identifiers (Aadhaar, PAN, phone numbers) and of sensitive field values before
//! anything is logged or stored in an audit row.
//!
//! Identifiers keep their last four characters so support staff can match records; everything else becomes `X`,
//! separators and prefixes (`+91`, `0`) stay as they were. The scanners are hand-rolled over bytes: every pattern is
//! ASCII and only ASCII bytes are ever replaced, so multi-byte UTF-8 passes through untouched.
//!
//! To avoid mangling ordinary data a match must stand alone: it may not touch a letter, digit or `_`, may not be
//! joined by `-` or `.` to one (UUID groups, order numbers, decimals), and a grouped number (`98765 43210`) may not
//! continue with another separated digit group (card numbers).

use serde_json::Value;

/// What sensitive values are replaced with.
const REDACTED: &str = "[REDACTED]";
/// Appended by [`Redactor::body`] when it cuts the text.
const TRUNCATED: &str = "…[truncated]";
/// Characters left visible at the end of a masked identifier.
const KEEP: usize = 4;

/// Field names whose values are always masked whole (matched case-insensitively, ignoring `_`/`-`, e.g. "apiKey" ==
/// "api_key").
pub const DEFAULT_FIELDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "authorization",
    "aadhaar",
    "aadhar",
    "pan",
    "phone",
    "mobile",
    "otp",
];

/// Masks Aadhaar numbers, PANs, phone numbers and the values of sensitive fields.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Sensitive field names, lowercased and without `_`/`-`.
    fields: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new("")
    }
}

impl Redactor {
    /// Defaults plus extra comma-separated field names (the deployment's `RedactFields` setting); blanks ignored.
    pub fn new(extra_fields: &str) -> Self {
        let mut fields: Vec<String> = Vec::new();
        for name in DEFAULT_FIELDS.iter().copied().chain(extra_fields.split(',')) {
            let name: String = normalized(name.trim().chars()).collect();
            if !name.is_empty() && !fields.contains(&name) {
                fields.push(name);
            }
        }
        Self { fields }
    }

    /// Whether values under `key` are masked whole.
    pub fn is_sensitive(&self, key: &str) -> bool {
        self.fields.iter().any(|f| normalized(key.chars()).eq(f.chars()))
    }

    /// Masks identifiers inside free text, and the value after a sensitive name followed by `:` or `=`
    /// (`password=…`, `"otp": 123456`, `Authorization: Bearer …`).
    pub fn text(&self, s: &str) -> String {
        let mut buf = self.mask_field_values(s.as_bytes());
        mask_identifiers(&mut buf);
        // Only ASCII bytes were replaced, by ASCII, so this is valid UTF-8; the fallback just keeps the API panic-free.
        String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Masks a JSON value in place: values under sensitive keys become "[REDACTED]" (whatever their type); every other
    /// string (object keys included) goes through [`Redactor::text`]; numbers that look like an Aadhaar (12 digits) or
    /// phone (10 digits starting 6-9) are replaced by a masked string.
    pub fn json(&self, value: &mut Value) {
        // An explicit stack: a caller-built value may be nested deeper than the call stack allows.
        let mut stack: Vec<&mut Value> = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    let masked = self.text(s);
                    if masked != *s {
                        *s = masked;
                    }
                }
                Value::Number(n) => {
                    if let Some(masked) = mask_number(&n.to_string()) {
                        *v = Value::String(masked);
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => {
                    let old = std::mem::take(map);
                    for (key, mut val) in old {
                        if self.is_sensitive(&key) {
                            val = Value::String(REDACTED.to_owned());
                        }
                        let masked = self.text(&key);
                        let mut new_key = masked.clone();
                        // A masked key may collide with another (two phone numbers with the same last four); keep both.
                        let mut n = 2;
                        while map.contains_key(&new_key) {
                            new_key = format!("{masked}#{n}");
                            n += 1;
                        }
                        map.insert(new_key, val);
                    }
                    stack.extend(map.iter_mut().map(|(_, v)| v));
                }
                Value::Null | Value::Bool(_) => {}
            }
        }
    }

    /// For stored bodies: if `bytes` parse as JSON, redact and re-serialize compactly, else redact as (lossy UTF-8)
    /// text; then cut to at most `max_bytes` bytes on a char boundary, appending "…[truncated]" when cut (the marker
    /// may exceed `max_bytes` by its own length).
    pub fn body(&self, bytes: &[u8], max_bytes: usize) -> String {
        let mut out = match serde_json::from_slice::<Value>(bytes) {
            Ok(mut value) => {
                self.json(&mut value);
                value.to_string()
            }
            Err(_) => self.text(&String::from_utf8_lossy(bytes)),
        };
        if out.len() > max_bytes {
            let mut cut = max_bytes;
            while cut > 0 && !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str(TRUNCATED);
        }
        out
    }

    /// [`Redactor::is_sensitive`] for an ASCII name, without allocating.
    fn is_sensitive_ascii(&self, name: &[u8]) -> bool {
        let mut buf = [0u8; 64];
        let mut n = 0;
        for &b in name.iter().filter(|&&b| b != b'_' && b != b'-') {
            match buf.get_mut(n) {
                Some(slot) => *slot = b.to_ascii_lowercase(),
                // Longer than any sensible field name; fall back to the general comparison.
                None => return self.fields.iter().any(|f| normalized(name.iter().map(|&b| b as char)).eq(f.chars())),
            }
            n += 1;
        }
        let name = buf.get(..n).unwrap_or_default();
        self.fields.iter().any(|f| f.as_bytes() == name)
    }

    /// Copies `s`, replacing the value after each sensitive `name:` / `name=` with "[REDACTED]".
    fn mask_field_values(&self, s: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        let mut copied = 0;
        let mut i = 0;
        while i < s.len() {
            if !is_name_byte(at(s, i)) {
                i += 1;
                continue;
            }
            let start = i;
            while is_name_byte(at(s, i)) {
                i += 1;
            }
            // The value check is cheap and usually fails at once, so it goes before the name lookup.
            let Some((from, to)) = field_value(s, i) else { continue };
            if !self.is_sensitive_ascii(s.get(start..i).unwrap_or_default()) {
                continue;
            }
            out.extend_from_slice(s.get(copied..from).unwrap_or_default());
            out.extend_from_slice(REDACTED.as_bytes());
            copied = to;
            i = to;
        }
        out.extend_from_slice(s.get(copied..).unwrap_or_default());
        out
    }
}

/// A field name without `_`/`-`, lowercased.
fn normalized(name: impl Iterator<Item = char>) -> impl Iterator<Item = char> {
    name.filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase)
}

/// The byte at `i`, or 0 (which matches no pattern) past the end.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Ends an unquoted field value.
fn ends_bare_value(b: u8) -> bool {
    b == 0 || b.is_ascii_whitespace() || b"&,;\"'<>})]".contains(&b)
}

/// The byte range of the value after a sensitive name ending at `i`: an optional closing quote, `:` or `=`, then a
/// quoted string (contents only), or a bare word (two words for `Bearer …`/`Basic …`). Nested objects, arrays and
/// empty values are left alone.
fn field_value(s: &[u8], mut i: usize) -> Option<(usize, usize)> {
    if matches!(at(s, i), b'"' | b'\'') {
        i += 1;
    }
    while matches!(at(s, i), b' ' | b'\t') {
        i += 1;
    }
    if !matches!(at(s, i), b':' | b'=') {
        return None;
    }
    i += 1;
    while matches!(at(s, i), b' ' | b'\t') {
        i += 1;
    }
    let quote = at(s, i);
    if quote == b'"' || quote == b'\'' {
        let from = i + 1;
        let mut to = from;
        while to < s.len() && s[to] != quote && s[to] != b'\n' {
            to += if s[to] == b'\\' { 2 } else { 1 };
        }
        let to = to.min(s.len());
        return (to > from).then_some((from, to));
    }
    if matches!(quote, b'{' | b'[') {
        return None;
    }
    let from = i;
    let mut to = from;
    while !ends_bare_value(at(s, to)) {
        to += 1;
    }
    let word = s.get(from..to).unwrap_or_default();
    if (word.eq_ignore_ascii_case(b"bearer") || word.eq_ignore_ascii_case(b"basic")) && at(s, to) == b' ' {
        let mut end = to + 1;
        while !ends_bare_value(at(s, end)) {
            end += 1;
        }
        if end > to + 1 {
            to = end;
        }
    }
    (to > from).then_some((from, to))
}

/// `X` for all but the last four digits of a JSON number shaped like an Aadhaar or a mobile number.
fn mask_number(digits: &str) -> Option<String> {
    let b = digits.as_bytes();
    let first = at(b, 0);
    let shaped = b.iter().all(u8::is_ascii_digit)
        && ((b.len() == 12 && (b'2'..=b'9').contains(&first)) || (b.len() == 10 && (b'6'..=b'9').contains(&first)));
    shaped.then(|| "X".repeat(b.len() - KEEP) + digits.get(b.len() - KEEP..).unwrap_or_default())
}

// ---- identifier scanners -------------------------------------------------------------------------------------------

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'-'
}

/// Length of the run of ASCII digits at `i`.
fn digit_run(s: &[u8], i: usize) -> usize {
    s.get(i..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Whether a match may start at `i`: see the module docs. `grouped` matches also reject a preceding `<digit><sep>`.
fn left_ok(s: &[u8], i: usize, grouped: bool) -> bool {
    let Some(prev) = i.checked_sub(1).map(|k| at(s, k)) else { return true };
    let before = i.checked_sub(2).map_or(0, |k| at(s, k));
    !(is_word(prev)
        || (matches!(prev, b'-' | b'.') && before.is_ascii_alphanumeric())
        || (grouped && is_sep(prev) && before.is_ascii_digit()))
}

/// Whether a match may end at `end` (exclusive); the mirror of [`left_ok`].
fn right_ok(s: &[u8], end: usize, grouped: bool) -> bool {
    let next = at(s, end);
    let after = at(s, end + 1);
    !(is_word(next)
        || (matches!(next, b'-' | b'.') && after.is_ascii_alphanumeric())
        || (grouped && is_sep(next) && after.is_ascii_digit()))
}

/// Exactly `want` digits from `i` in groups of at least `min_group`, separated by single spaces or hyphens, ending
/// where a digit run ends. Returns the end and whether any separator was used.
fn digit_groups(s: &[u8], mut i: usize, want: usize, min_group: usize) -> Option<(usize, bool)> {
    let mut total = 0;
    let mut grouped = false;
    loop {
        let n = digit_run(s, i);
        if n == 0 || n < min_group {
            return None;
        }
        total += n;
        i += n;
        if total >= want {
            return (total == want).then_some((i, grouped));
        }
        if !(is_sep(at(s, i)) && at(s, i + 1).is_ascii_digit()) {
            return None;
        }
        i += 1;
        grouped = true;
    }
}

/// An identifier found by [`find_match`]: mask `[from, end)`, leaving the last four alphanumerics.
struct Found {
    from: usize,
    end: usize,
}

/// Aadhaar: 12 digits starting 2-9, contiguous or 4-4-4 with the same single space or hyphen between groups.
fn aadhaar(s: &[u8], i: usize) -> Option<Found> {
    if !(b'2'..=b'9').contains(&at(s, i)) {
        return None;
    }
    let (end, grouped) = match digit_run(s, i) {
        12 => (i + 12, false),
        4 => {
            let sep = at(s, i + 4);
            let ok = is_sep(sep) && digit_run(s, i + 5) == 4 && at(s, i + 9) == sep && digit_run(s, i + 10) == 4;
            if !ok {
                return None;
            }
            (i + 14, true)
        }
        _ => return None,
    };
    (left_ok(s, i, grouped) && right_ok(s, end, grouped)).then_some(Found { from: i, end })
}

/// The ten digits of an Indian mobile number at `i` (first digit 6-9, groups of at least two).
fn mobile(s: &[u8], i: usize) -> Option<(usize, bool)> {
    if !(b'6'..=b'9').contains(&at(s, i)) {
        return None;
    }
    digit_groups(s, i, 10, 2)
}

/// An Indian mobile with an optional `+91`, `91` or `0` prefix (kept visible), or a `+` E.164 number of 8-15 digits.
fn phone(s: &[u8], i: usize) -> Option<Found> {
    let prefixes: &[&[u8]] = if at(s, i) == b'+' { &[b"+91"] } else { &[b"91", b"0", b""] };
    for prefix in prefixes {
        if !prefix.iter().enumerate().all(|(k, &b)| at(s, i + k) == b) {
            continue;
        }
        let mut from = i + prefix.len();
        let mut grouped = false;
        if !prefix.is_empty() && is_sep(at(s, from)) && at(s, from + 1).is_ascii_digit() {
            from += 1;
            grouped = true;
        }
        if let Some((end, more)) = mobile(s, from) {
            let grouped = grouped || more;
            let plus = prefix.first() == Some(&b'+');
            if left_ok(s, i, grouped && !plus) && right_ok(s, end, grouped) {
                return Some(Found { from, end });
            }
        }
    }
    if at(s, i) == b'+' {
        return e164(s, i);
    }
    None
}

/// `+` then 8-15 digits (the first 1-9) with optional single spaces or hyphens between groups; the longest fit wins.
fn e164(s: &[u8], i: usize) -> Option<Found> {
    let mut p = i + 1;
    if !(b'1'..=b'9').contains(&at(s, p)) {
        return None;
    }
    let mut total = 0;
    let mut grouped = false;
    let mut best = None;
    loop {
        let n = digit_run(s, p);
        total += n;
        p += n;
        if total > 15 {
            break;
        }
        if total >= 8 {
            best = Some((p, grouped));
        }
        if !(is_sep(at(s, p)) && at(s, p + 1).is_ascii_digit()) {
            break;
        }
        p += 1;
        grouped = true;
    }
    let (end, grouped) = best?;
    (left_ok(s, i, false) && right_ok(s, end, grouped)).then_some(Found { from: i + 1, end })
}

/// PAN: five letters, four digits, one letter (any case), word-bounded.
fn pan(s: &[u8], i: usize) -> Option<Found> {
    let shaped = (i..i + 5).all(|k| at(s, k).is_ascii_alphabetic())
        && (i + 5..i + 9).all(|k| at(s, k).is_ascii_digit())
        && at(s, i + 9).is_ascii_alphabetic();
    (shaped && !i.checked_sub(1).is_some_and(|k| is_word(at(s, k))) && !is_word(at(s, i + 10)))
        .then_some(Found { from: i, end: i + 10 })
}

fn find_match(s: &[u8], i: usize) -> Option<Found> {
    let c = at(s, i);
    if c.is_ascii_digit() {
        aadhaar(s, i).or_else(|| phone(s, i))
    } else if c == b'+' {
        phone(s, i)
    } else if c.is_ascii_alphabetic() {
        pan(s, i)
    } else {
        None
    }
}

/// Replaces every identifier in `s` with `X`s, keeping separators, prefixes and the last four characters.
fn mask_identifiers(s: &mut [u8]) {
    let mut i = 0;
    while i < s.len() {
        if let Some(found) = find_match(s, i) {
            let end = found.end.min(s.len());
            let mut kept = 0;
            for k in (found.from.min(end)..end).rev() {
                if let Some(b) = s.get_mut(k) {
                    if b.is_ascii_alphanumeric() {
                        if kept < KEEP {
                            kept += 1;
                        } else {
                            *b = b'X';
                        }
                    }
                }
            }
            i = end.max(i + 1);
        } else if is_word(at(s, i)) {
            // A match never starts inside a word, so skip the rest of it.
            while is_word(at(s, i)) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn r() -> Redactor {
        Redactor::default()
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
        assert_eq!(
            r.text("company: Acme; span=3; the password is safe"),
            "company: Acme; span=3; the password is safe"
        );
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
}
