//! The `hookline` binary's arguments as a user meets them: every mistake is
//! one `hookline: …` line on stderr and a non-zero exit, every command has
//! `--help`, and API answers come out as tables or JSON. No emulator needed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::mpsc;

/// Runs the binary with no stack configured: no emulator, no `HOOKLINE_*`
/// variables, no instance metadata lookups.
fn hookline(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookline"));
    cmd.args(args).env_remove("AWS_ENDPOINT_URL").env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, _) in std::env::vars() {
        if name.starts_with("HOOKLINE_") {
            cmd.env_remove(name);
        }
    }
    // No state file of a `hookline dev` the developer runs.
    cmd.env("HOOKLINE_STATE_DIR", "/nonexistent-hookline-state");
    cmd.output().expect("the hookline binary runs")
}

/// The single stderr line of a failed run, asserting there is exactly one.
fn one_line_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected a failure, got {:?} with stdout {}", out.status, stdout(out));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got {stderr:?}");
    assert!(lines[0].starts_with("hookline: "), "{stderr:?}");
    lines[0].to_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Answers one HTTP request with `status` and `body`; the request's text
/// (head and body) comes back on the channel.
fn one_shot_server(status: &'static str, body: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            request.push_str(&line);
        }
        let mut content = vec![0; length];
        reader.read_exact(&mut content).ok();
        request.push_str(&String::from_utf8_lossy(&content));
        let mut stream = stream;
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(reply.as_bytes()).ok();
        tx.send(request).ok();
    });
    (url, rx)
}

#[test]
fn an_unknown_flag_is_one_line_naming_it() {
    let out = hookline(&["prune", "--dayz", "3"]);
    let line = one_line_error(&out);
    assert!(line.contains("--dayz") && line.contains("hookline prune --help"), "{line}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_impossible_summary_date_is_refused() {
    let line = one_line_error(&hookline(&["daily-summary", "--date", "2026-13-45"]));
    assert!(line.contains("2026-13-45") && line.contains("--date"), "{line}");
}

#[test]
fn a_vague_since_is_refused() {
    let line = one_line_error(&hookline(&["replay-inbound", "--source", "crm", "--since", "yesterday-ish"]));
    assert!(line.contains("yesterday-ish") && line.contains("--since"), "{line}");
}

#[test]
fn pruning_zero_days_is_refused() {
    let line = one_line_error(&hookline(&["prune", "--days", "0"]));
    assert!(line.contains("--days") && line.contains("'0'"), "{line}");
}

#[test]
fn bad_event_json_is_refused_before_any_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let out =
        hookline(&["events", "publish", "--type", "bill.paid", "--data", "{nope", "--api-url", &url, "--api-key", "k"]);
    let line = one_line_error(&out);
    assert!(line.contains("--data") && line.contains("not valid JSON"), "{line}");
    assert!(listener.accept().is_err(), "a request was sent");
}

#[test]
fn a_bad_line_in_an_events_file_is_named_before_any_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let file = std::env::temp_dir().join(format!("hookline-bad-{}.jsonl", std::process::id()));
    std::fs::write(&file, "{\"type\": \"bill.paid\", \"data\": {}}\n\n[\"not\", \"an object\"]\n").unwrap();
    let out = hookline(&["events", "publish", "--file", file.to_str().unwrap(), "--api-url", &url, "--api-key", "k"]);
    std::fs::remove_file(&file).ok();
    let line = one_line_error(&out);
    assert!(line.contains("line 3 is not a JSON object") && line.contains("nothing was published"), "{line}");
    assert!(listener.accept().is_err(), "a request was sent");
}

#[test]
fn event_data_that_is_not_an_object_is_refused() {
    let line = one_line_error(&hookline(&["events", "publish", "--type", "bill.paid", "--data", "[1, 2]"]));
    assert!(line.contains("JSON object"), "{line}");
}

#[test]
fn no_stack_configured_says_how_to_pick_one() {
    let out = hookline(&["prune", "--days", "30"]);
    let line = one_line_error(&out);
    assert_eq!(
        line,
        "hookline: no stack to work on: start `hookline dev` (it writes /nonexistent-hookline-state/dev.json), \
         pass --deployed-stack NAME for a deployed stack, or set AWS_ENDPOINT_URL to the local stack's emulator"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_missing_subcommand_lists_the_choices() {
    let line = one_line_error(&hookline(&["deliveries"]));
    assert!(line.contains("list, get, retry"), "{line}");
}

#[test]
fn a_malformed_id_is_refused_before_any_request() {
    let line = one_line_error(&hookline(&["endpoints", "get", "not-an-id"]));
    assert!(line.contains("not-an-id"), "{line}");
}

#[test]
fn api_commands_without_a_key_say_how_to_give_one() {
    let line = one_line_error(&hookline(&["endpoints", "list"]));
    assert!(line.contains("--api-key") && line.contains("HOOKLINE_API_KEY"), "{line}");
}

#[test]
fn help_works_for_every_command() {
    let commands: &[(&[&str], &[&str])] = &[
        (&[], &["--json", "--deployed-stack"]),
        (&["dev"], &["--template", "--local-stack", "--parameter"]),
        (&["retry-outbound"], &["--days", "--endpoint", "--tenant", "--dry-run", "--local-stack", "--template"]),
        (&["replay-inbound"], &["--source", "--failed-only", "--since", "--dry-run"]),
        (&["prune"], &["--days", "--dry-run"]),
        (&["daily-summary"], &["--date", "--force"]),
        (&["endpoints"], &["list", "get", "create", "enable", "disable", "delete", "--api-url", "--api-key"]),
        (&["endpoints", "list"], &["--api-url", "--api-key", "--json"]),
        (&["endpoints", "get"], &["<ID>"]),
        (&["endpoints", "create"], &["--url", "--event-type", "--name"]),
        (&["endpoints", "enable"], &["<ID>"]),
        (&["endpoints", "disable"], &["<ID>", "--reason"]),
        (&["endpoints", "delete"], &["<ID>"]),
        (&["sources"], &["list", "get"]),
        (&["sources", "list"], &["--api-url"]),
        (&["sources", "get"], &["<SLUG>"]),
        (&["events"], &["publish"]),
        (&["events", "publish"], &["--type", "--data", "--idempotency-key", "--file"]),
        (&["deliveries"], &["list", "get", "retry"]),
        (&["deliveries", "list"], &["--endpoint", "--status", "--since"]),
        (&["deliveries", "get"], &["<ID>"]),
        (&["deliveries", "retry"], &["<ID>"]),
        (&["stats"], &["--since", "--api-url", "--api-key"]),
    ];
    for (path, flags) in commands {
        let mut args = path.to_vec();
        args.push("--help");
        let out = hookline(&args);
        let help = stdout(&out);
        assert!(out.status.success(), "{args:?} exited {:?}", out.status);
        for flag in *flags {
            assert!(help.contains(flag), "`hookline {}` does not mention {flag}:\n{help}", args.join(" "));
        }
    }
}

#[test]
fn api_errors_show_the_detail_and_the_code() {
    let (url, requests) =
        one_shot_server("422 Unprocessable Entity", r#"{"code":"insecure_url","detail":"the URL must use https"}"#);
    let out = hookline(&[
        "endpoints",
        "create",
        "--url",
        "http://hooks.example.com/x",
        "--event-type",
        "bill.paid",
        "--api-url",
        &url,
        "--api-key",
        "secret-key",
    ]);
    assert_eq!(one_line_error(&out), "hookline: the URL must use https (insecure_url)");
    let request = requests.recv().unwrap();
    assert!(request.starts_with("POST /v1/endpoints "), "{request}");
    assert!(request.to_ascii_lowercase().contains("authorization: bearer secret-key"), "{request}");
    assert!(request.contains(r#""event_types":["bill.paid"]"#), "{request}");
}

#[test]
fn endpoint_lists_are_tables_for_people_and_json_with_the_flag() {
    const PAGE: &str = r#"{"data":[{"id":"ep_01","name":"billing","status":"active","url":"https://b.example/h","event_types":["bill.paid","lab.*"]}],"next_cursor":null}"#;
    let (url, _) = one_shot_server("200 OK", PAGE);
    let out = hookline(&["endpoints", "list", "--api-url", &url, "--api-key", "k"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("ID ") && header.contains("EVENT TYPES"), "{text}");
    assert!(text.contains("bill.paid, lab.*") && text.contains("1 endpoint"), "{text}");

    let (url, _) = one_shot_server("200 OK", PAGE);
    let out = hookline(&["--json", "endpoints", "list", "--api-url", &url, "--api-key", "k"]);
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(parsed[0]["id"], "ep_01");
}
