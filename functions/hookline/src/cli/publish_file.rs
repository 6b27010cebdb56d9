//! `hookline events publish --file events.jsonl`: one event per line, sent
//! through `POST /v1/events/batch` in batches, each line's result printed.

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};

use super::api::Api;
use super::endpoints::field;
use super::output::{table, Output};
use super::Failure;
use admin_api::http::MAX_BATCH_BODY_BYTES;
use shared::event_batch::MAX_BATCH_EVENTS;

/// What `{"events":[` and `]}` add to a batch body.
const WRAPPER_BYTES: usize = r#"{"events":[]}"#.len();

/// One event of the file, with its 1-based line number.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub number: usize,
    pub event: Value,
    /// Its compact JSON length, which it adds to a batch body.
    pub bytes: usize,
}

/// The events of a JSON Lines text. Blank lines are skipped; any other
/// line must be a JSON object small enough to travel in a batch, or
/// nothing is published and the reason names the line.
pub fn parse_lines(text: &[u8]) -> Result<Vec<Line>, Failure> {
    let mut lines = Vec::new();
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let raw = std::str::from_utf8(raw).map_err(|_| bad_line(number, "is not UTF-8"))?;
        if raw.trim().is_empty() {
            continue;
        }
        let event: Value =
            serde_json::from_str(raw).map_err(|e| bad_line(number, &format!("is not valid JSON: {e}")))?;
        if !event.is_object() {
            return Err(bad_line(number, "is not a JSON object such as {\"type\": \"bill.paid\", \"data\": {}}"));
        }
        let bytes = event.to_string().len();
        if bytes + WRAPPER_BYTES > MAX_BATCH_BODY_BYTES {
            return Err(bad_line(number, &format!("is larger than a batch may be ({MAX_BATCH_BODY_BYTES} bytes)")));
        }
        lines.push(Line { number, event, bytes });
    }
    Ok(lines)
}

fn bad_line(number: usize, why: &str) -> Failure {
    Failure::new(format!("line {number} {why}; nothing was published"))
}

/// The lines split into batches of at most `max_events` whose bodies stay
/// within `max_bytes`, in file order.
pub fn batches(lines: &[Line], max_events: usize, max_bytes: usize) -> Vec<&[Line]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, WRAPPER_BYTES);
    for (i, line) in lines.iter().enumerate() {
        // One comma between events.
        let added = line.bytes + usize::from(i > start);
        if i > start && (i - start == max_events || bytes + added > max_bytes) {
            out.push(&lines[start..i]);
            (start, bytes) = (i, WRAPPER_BYTES + line.bytes);
        } else {
            bytes += added;
        }
    }
    if start < lines.len() {
        out.push(&lines[start..]);
    }
    out
}

/// A line's result as `--json` shows it: the API's result and the line number.
fn numbered(line: &Line, result: &Value) -> Value {
    let mut v = json!({ "line": line.number });
    if let (Some(out), Some(fields)) = (v.as_object_mut(), result.as_object()) {
        out.extend(fields.clone());
    }
    v
}

/// The table row of one line.
fn row(result: &Value) -> Vec<String> {
    let status = field(result, "status");
    let about = match status.as_str() {
        "refused" => format!("{}: {}", field(result, "code"), field(result, "detail")),
        _ => field(result, "id"),
    };
    vec![field(result, "line"), status, about]
}

/// What the file came to, and the failure to exit with when a line was refused.
fn summary(results: &[Value]) -> (String, Option<Failure>) {
    let with = |s: &str| results.iter().filter(|r| r["status"] == s).count();
    let refused: Vec<String> = results.iter().filter(|r| r["status"] == "refused").map(|r| field(r, "line")).collect();
    let text =
        format!("{} committed, {} duplicate, {} refused.\n", with("committed"), with("duplicate"), refused.len());
    let failure = (!refused.is_empty()).then(|| {
        Failure::new(format!(
            "{} of {} events refused (line {}); the others were published",
            refused.len(),
            results.len(),
            refused.join(", ")
        ))
    });
    (text, failure)
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut text = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut text).map_err(|e| Failure::new(format!("cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read(path).map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(text)
}

/// Publishes every event in `path` (`-` for stdin) and prints each line's result.
pub async fn publish_file(path: &Path, api: &Api, out: &Output) -> Result<(), Failure> {
    let lines = parse_lines(&read(path)?)?;
    if lines.is_empty() {
        return Err(Failure::new(format!("{} holds no events", path.display())));
    }
    let mut results = Vec::with_capacity(lines.len());
    let mut stopped = None;
    for batch in batches(&lines, MAX_BATCH_EVENTS, MAX_BATCH_BODY_BYTES) {
        let body = json!({ "events": batch.iter().map(|l| &l.event).collect::<Vec<_>>() });
        let answered = api.post(&["v1", "events", "batch"], Some(&body)).await.and_then(|v| {
            match v.get("data").and_then(Value::as_array) {
                Some(data) if data.len() == batch.len() => Ok(data.clone()),
                _ => Err(Failure::new("POST /v1/events/batch: the answer has no result per event")),
            }
        });
        match answered {
            Ok(data) => results.extend(batch.iter().zip(&data).map(|(line, r)| numbered(line, r))),
            Err(e) => {
                let (first, last) = (batch[0].number, batch[batch.len() - 1].number);
                stopped = Some(Failure::new(format!(
                    "lines {first} to {last} were not answered: {e}; the lines before were (see above)"
                )));
                break;
            }
        }
    }
    out.json(&json!({ "data": results }))?;
    let rows: Vec<Vec<String>> = results.iter().map(row).collect();
    if !rows.is_empty() {
        out.text(&table(&["LINE", "STATUS", "EVENT OR REASON"], &rows))?;
    }
    let (text, refused) = summary(&results);
    out.text(&text)?;
    match stopped.or(refused) {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, bytes: usize) -> Vec<Line> {
        (1..=n).map(|number| Line { number, event: json!({}), bytes }).collect()
    }

    #[test]
    fn blank_lines_are_skipped_and_line_numbers_kept() {
        let text = b"{\"type\": \"a\", \"data\": {}}\n\n  \n{\"type\": \"b\", \"data\": {}}\n";
        let got = parse_lines(text).unwrap();
        assert_eq!(got.iter().map(|l| l.number).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(got[1].event["type"], "b");
    }

    #[test]
    fn a_bad_line_is_named_and_nothing_is_published() {
        let err = parse_lines(b"{\"type\": \"a\", \"data\": {}}\n{nope\n").unwrap_err();
        assert!(err.0.starts_with("line 2 is not valid JSON") && err.0.ends_with("nothing was published"), "{err}");
        let err = parse_lines(b"\n[1, 2]\n").unwrap_err();
        assert!(err.0.starts_with("line 2 is not a JSON object"), "{err}");
    }

    #[test]
    fn batches_hold_at_most_a_hundred_events() {
        let all = lines(250, 10);
        let sizes: Vec<usize> = batches(&all, MAX_BATCH_EVENTS, MAX_BATCH_BODY_BYTES).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[test]
    fn batches_stay_under_the_body_limit() {
        // Each body: 13 bytes of wrapper, the events and the commas between them.
        let all = lines(5, 30);
        let sizes: Vec<usize> = batches(&all, 100, WRAPPER_BYTES + 61).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(batches(&all, 100, WRAPPER_BYTES + 60).len(), 5, "a comma does not fit");
    }

    #[test]
    fn refused_lines_make_the_command_fail_naming_them() {
        let results = [
            json!({"line": 1, "status": "committed", "id": "evt_1"}),
            json!({"line": 3, "status": "refused", "code": "unknown_event_type", "detail": "no"}),
            json!({"line": 4, "status": "duplicate", "id": "evt_1"}),
        ];
        let (text, failure) = summary(&results);
        assert_eq!(text, "1 committed, 1 duplicate, 1 refused.\n");
        assert_eq!(failure.unwrap().0, "1 of 3 events refused (line 3); the others were published");
        assert!(summary(&results[..1]).1.is_none());
        assert_eq!(row(&results[1]), ["3", "refused", "unknown_event_type: no"]);
    }
}
