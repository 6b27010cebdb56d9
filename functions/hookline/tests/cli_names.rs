//! Flag and variable names as a user meets them: each flag's variable has its
//! name, the old names still work for a release with a note on stderr, `--help`
//! says where every value comes from, and a missing API key says how to get
//! one. No emulator: the AWS endpoint refuses connections, and the error
//! names the stack the command went looking for.

use std::process::{Command, Output};

/// Runs the binary with only `vars` set of the `HOOKLINE_*` variables, no
/// state file, and an AWS endpoint that refuses connections at once.
fn hookline(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookline"));
    for (name, _) in std::env::vars() {
        if name.starts_with("HOOKLINE_") || name.starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .env("HOOKLINE_STATE_DIR", "/nonexistent-hookline-state")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "hookline")
        .env("AWS_SECRET_ACCESS_KEY", "hookline")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .envs(vars.iter().copied());
    cmd.output().expect("the hookline binary runs")
}

/// A failed run's stderr: the notes, then the one-line reason.
fn failure(out: &Output) -> (Vec<String>, String) {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(1));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stderr).lines().map(str::to_owned).collect();
    let reason = lines.pop().expect("a reason on stderr");
    assert!(reason.starts_with("hookline: "), "{reason}");
    (lines, reason)
}

const LOOKED_FOR_LOCAL_FOO: &str = "no queue foo-DeliveryQueue at http://127.0.0.1:1";

#[test]
fn the_local_stack_is_named_by_local_stack_or_hookline_local_stack() {
    for (args, vars) in [
        (&["prune", "--days", "3", "--local-stack", "foo"][..], &[][..]),
        (&["prune", "--days", "3"][..], &[("HOOKLINE_LOCAL_STACK", "foo")][..]),
    ] {
        let (notes, reason) = failure(&hookline(args, vars));
        assert!(notes.is_empty(), "{notes:?}");
        assert!(reason.contains(LOOKED_FOR_LOCAL_FOO), "{reason}");
        assert!(reason.ends_with("is `hookline dev --local-stack foo` running?"), "{reason}");
    }
}

#[test]
fn the_old_local_stack_names_still_work_with_a_note() {
    let (notes, reason) = failure(&hookline(&["prune", "--days", "3", "--stack-name", "foo"], &[]));
    assert!(reason.contains(LOOKED_FOR_LOCAL_FOO), "{reason}");
    assert_eq!(notes, ["hookline: note: --stack-name is now --local-stack; the old name works until the next release"]);

    let (notes, reason) = failure(&hookline(&["prune", "--days", "3"], &[("HOOKLINE_STACK", "foo")]));
    assert!(reason.contains(LOOKED_FOR_LOCAL_FOO), "{reason}");
    assert_eq!(
        notes,
        ["hookline: note: HOOKLINE_STACK is now HOOKLINE_LOCAL_STACK; the old name works until the next release"]
    );
}

#[test]
fn a_new_name_wins_over_an_old_one() {
    let vars = [("HOOKLINE_STACK", "old"), ("HOOKLINE_LOCAL_STACK", "foo")];
    let (notes, reason) = failure(&hookline(&["prune", "--days", "3"], &vars));
    assert!(notes.is_empty() && reason.contains(LOOKED_FOR_LOCAL_FOO), "{notes:?} {reason}");
}

#[test]
fn a_deployed_stack_is_named_by_deployed_stack_or_its_old_names() {
    let runs = [
        (&["--deployed-stack", "prod", "prune", "--days", "3"][..], &[][..], None),
        (&["prune", "--days", "3"][..], &[("HOOKLINE_DEPLOYED_STACK", "prod")][..], None),
        (&["--stack", "prod", "prune", "--days", "3"][..], &[][..], Some("--stack is now --deployed-stack")),
        (
            &["prune", "--days", "3"][..],
            &[("HOOKLINE_STACK_NAME", "prod")][..],
            Some("HOOKLINE_STACK_NAME is now HOOKLINE_DEPLOYED_STACK"),
        ),
    ];
    for (args, vars, note) in runs {
        let (notes, reason) = failure(&hookline(args, vars));
        assert!(reason.starts_with("hookline: cannot describe stack prod: "), "{args:?} {vars:?}: {reason}");
        match note {
            None => assert!(notes.is_empty(), "{notes:?}"),
            Some(note) => assert!(notes.len() == 1 && notes[0].contains(note), "{notes:?}"),
        }
    }
}

#[test]
fn help_says_where_each_value_comes_from_and_hides_the_old_flags() {
    for args in [&["prune", "--help"][..], &["endpoints", "list", "--help"], &["dev", "--help"], &["--help"]] {
        let out = hookline(args, &[]);
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Where each value comes from, the first found wins: the flag;"), "{args:?}:\n{help}");
        assert!(help.contains("--stack-name and HOOKLINE_STACK (now --local-stack"), "{args:?}:\n{help}");
        assert!(!help.contains("--stack <") && !help.contains("--stack-name <"), "{args:?}:\n{help}");
    }
    let help = String::from_utf8_lossy(&hookline(&["endpoints", "list", "--help"], &[]).stdout).into_owned();
    assert!(help.contains("the state file of the running `hookline dev` (/nonexistent-hookline-state/dev.json)"));
    let help = String::from_utf8_lossy(&hookline(&["dev", "--help"], &[]).stdout).into_owned();
    assert!(help.contains("its variable (shown as [env: ...]); then the default."), "{help}");
    assert!(help.contains("[env: HOOKLINE_LOCAL_STACK=]") && help.contains("[default: hookline-dev]"), "{help}");
    let help = String::from_utf8_lossy(&hookline(&["prune", "--help"], &[]).stdout).into_owned();
    for shown in ["[env: HOOKLINE_LOCAL_STACK=]", "[env: HOOKLINE_TEMPLATE=]", "[env: HOOKLINE_DEPLOYED_STACK=]"] {
        assert!(help.contains(shown), "{shown}:\n{help}");
    }
    assert!(help.contains("[default: the state file's, else hookline-dev]"), "{help}");
    let help = String::from_utf8_lossy(&hookline(&["stats", "--help"], &[]).stdout).into_owned();
    assert!(help.contains("[env: HOOKLINE_API_KEY]") && help.contains("[env: HOOKLINE_API_URL=]"), "{help}");
}

#[test]
fn without_an_api_key_the_error_says_how_to_get_the_admin_key() {
    let out = hookline(&["endpoints", "list"], &[]);
    let (notes, reason) = failure(&out);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        reason,
        "hookline: no API key: start `hookline dev`, which prints its admin key and stores it in \
         /nonexistent-hookline-state/dev.json for every command (HOOKLINE_ADMIN_KEY sets that key, for \
         `hookline dev` and the CLI alike); or pass --api-key or set HOOKLINE_API_KEY"
    );
}

#[test]
fn the_local_admin_key_is_not_offered_to_another_api() {
    let dir = std::env::temp_dir().join(format!("hookline-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = r#"{"api_url": "http://127.0.0.1:3999", "admin_key": "hk_local", "aws_endpoint_url": "http://127.0.0.1:1",
                    "stack_name": "hookline-dev", "template": "/nowhere/template.yaml", "pid": 1}"#;
    std::fs::write(dir.join("dev.json"), state).unwrap();
    let vars = [("HOOKLINE_STATE_DIR", dir.to_str().unwrap())];
    let out = hookline(&["endpoints", "list", "--api-url", "https://api.example.com"], &vars);
    let (_, reason) = failure(&out);
    assert!(reason.starts_with("hookline: no API key for https://api.example.com: pass --api-key"), "{reason}");
    assert!(reason.contains("is sent only to the local stack at http://127.0.0.1:3999"), "{reason}");
    std::fs::remove_dir_all(&dir).unwrap();
}
