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
        // Identifiers first: hiding a field's value can cut an identifier in two (`pan= 2345 6789 0123` would lose
        // only its first group), and the halves no longer look like one.
        let mut masked = s.as_bytes().to_vec();
        mask_identifiers(&mut masked);
        let buf = self.mask_field_values(&masked);
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

/// Replaces each of `values` in `s` with "[REDACTED]", also in the `\/` spelling some JSON encoders give `/`. For
/// what the caller knows to be sensitive and no pattern could spot, such as the signatures and secrets of a request,
/// which an echoing receiver sends straight back. Values shorter than 8 characters are left alone.
pub fn scrub_values(s: &str, values: &[String]) -> String {
    let mut out = s.to_owned();
    for value in values.iter().filter(|v| v.len() >= 8) {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), REDACTED);
        }
        let escaped = value.replace('/', "\\/");
        if escaped != *value && out.contains(&escaped) {
            out = out.replace(&escaped, REDACTED);
        }
    }
    out
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
mod tests;
