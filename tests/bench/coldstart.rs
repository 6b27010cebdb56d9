//! Cold starts and binary sizes of the stack's Lambda functions.
//!
//! A cold start is timed from just before the function's binary is spawned to
//! the moment it first asks a stub Lambda Runtime API for an invocation
//! (`GET /2018-06-01/runtime/invocation/next`): by then it has read its
//! configuration and built its SDK clients. The stub never answers, so the
//! binary sits waiting until it is killed.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The Lambda functions of the stack: (function name, binary name).
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("admin-api", "admin-api"),
    ("inbound-receipt", "inbound-receipt"),
    ("inbound-process", "inbound-process"),
    ("outbox-fanout", "outbox-fanout"),
    ("delivery-attempt", "delivery-attempt"),
    ("scheduled-summary", "scheduled-summary"),
    ("prune", "prune"),
    ("endpoint-health", "endpoint-health"),
];

/// The request line prefix of a runtime asking for its next invocation.
const NEXT_INVOCATION: &[u8] = b"GET /2018-06-01/runtime/invocation/next";

/// How long one start may take before it counts as a failure.
const RUN_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a waiting run checks whether its binary has died.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// What the Lambda service sets on every function (bar the Runtime API address and the function name).
const LAMBDA_ENV: &[(&str, &str)] = &[
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "bench"),
    ("AWS_SECRET_ACCESS_KEY", "bench"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// The Hookline configuration every function requires; nothing is contacted before the first invocation.
const HOOKLINE_ENV: &[(&str, &str)] = &[
    ("HOOKLINE_API_KEYS_TABLE", "bench-api-keys"),
    ("HOOKLINE_ENDPOINTS_TABLE", "bench-endpoints"),
    ("HOOKLINE_EVENT_TYPES_TABLE", "bench-event-types"),
    ("HOOKLINE_EVENTS_TABLE", "bench-events"),
    ("HOOKLINE_IDEMPOTENCY_TABLE", "bench-idempotency"),
    ("HOOKLINE_DELIVERIES_TABLE", "bench-deliveries"),
    ("HOOKLINE_SOURCES_TABLE", "bench-sources"),
    ("HOOKLINE_INBOUND_TABLE", "bench-inbound"),
    ("HOOKLINE_INBOUND_DEDUPE_TABLE", "bench-inbound-dedupe"),
    ("HOOKLINE_DELIVERY_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/bench-delivery"),
    ("HOOKLINE_INBOUND_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/bench-inbound"),
    ("HOOKLINE_DATA_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-data-key"),
    ("HOOKLINE_ADMIN_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-admin-key"),
];

/// Median milliseconds from exec to the binary's first `GET /2018-06-01/runtime/invocation/next` against a stub
/// Lambda Runtime API, over `runs` starts, per function.
///
/// Each binary runs with a cleared environment holding only the Lambda and Hookline variables, so
/// settings of the calling shell (`AWS_PROFILE`, `RUST_LOG`, ...) cannot skew it. A start that takes
/// over 5 s, or a binary that exits without asking for an invocation, is an error naming the function.
pub fn cold_starts(bin_dir: &Path, runs: usize) -> io::Result<BTreeMap<String, f64>> {
    if runs == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "cold starts: runs must be at least 1"));
    }
    let stub = StubRuntime::start()?;
    let mut medians = BTreeMap::new();
    for &(function, binary) in FUNCTIONS {
        let binary = bin_dir.join(binary);
        let mut samples = (0..runs)
            .map(|_| cold_start(&stub, function, &binary).map(|took| took.as_secs_f64() * 1000.0))
            .collect::<io::Result<Vec<f64>>>()?;
        medians.insert(function.to_owned(), median(&mut samples).expect("runs is at least 1"));
    }
    Ok(medians)
}

/// Size in bytes of each function's release binary in `bin_dir`.
pub fn bootstrap_sizes(bin_dir: &Path) -> io::Result<BTreeMap<String, u64>> {
    FUNCTIONS
        .iter()
        .map(|&(function, binary)| {
            let path = bin_dir.join(binary);
            let meta = path.metadata().map_err(|e| named(function, e, &format!("cannot stat {}", path.display())))?;
            Ok((function.to_owned(), meta.len()))
        })
        .collect()
}

/// What the bench reports for the arm64 bootstraps when `make package` has not been run.
pub const ARM64_NOT_BUILT: &str = "not built: run make package";

/// Each arm64 bootstrap's size from `make package` (`build_dir/<LogicalId>/bootstrap`, ids by
/// binary name), keyed like [`bootstrap_sizes`]; `Err` is the line to report instead.
pub fn arm64_bootstrap_sizes(
    build_dir: &Path,
    logical_ids: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, u64>, String> {
    if !build_dir.is_dir() {
        return Err(ARM64_NOT_BUILT.to_owned());
    }
    FUNCTIONS
        .iter()
        .map(|&(function, binary)| {
            let id = logical_ids.get(binary).ok_or_else(|| format!("{function}: no function builds {binary}"))?;
            let path = build_dir.join(id).join("bootstrap");
            let meta = path
                .metadata()
                .map_err(|e| format!("{function}: cannot stat {} ({e}): run make package", path.display()))?;
            Ok((function.to_owned(), meta.len()))
        })
        .collect()
}

/// The median of `samples` (the mean of the two middle values when their count is even); `None` when empty.
fn median(samples: &mut [f64]) -> Option<f64> {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    match samples.len() {
        0 => None,
        n if n % 2 == 1 => Some(samples[mid]),
        _ => Some((samples[mid - 1] + samples[mid]) / 2.0),
    }
}

/// One start of `binary` as `function`: the time from just before spawning it to its first request
/// for an invocation. The child is killed and reaped whatever happens.
fn cold_start(stub: &StubRuntime, function: &str, binary: &Path) -> io::Result<Duration> {
    stub.forget_requests();
    let runtime_api = stub.addr().to_string();
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .envs(LAMBDA_ENV.iter().chain(HOOKLINE_ENV).copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| named(function, e, &format!("cannot start {}", binary.display())))?;
    let waited = wait_for_next(stub, &mut child, started, function);
    let reaped = kill_and_reap(&mut child).map_err(|e| named(function, e, "cannot kill and reap the binary"));
    let took = waited?;
    reaped?;
    Ok(took)
}

/// Waits (at most `RUN_TIMEOUT` after `started`) for the stub to see a request for an invocation.
fn wait_for_next(stub: &StubRuntime, child: &mut Child, started: Instant, function: &str) -> io::Result<Duration> {
    let deadline = started + RUN_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let message = format!("no request for an invocation within {} s", RUN_TIMEOUT.as_secs());
            return Err(named(function, io::ErrorKind::TimedOut.into(), &message));
        }
        match stub.requests.recv_timeout(left.min(POLL_INTERVAL)) {
            // Anything earlier comes from a previous run's binary.
            Ok(at) if at >= started => return Ok(at - started),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait()? {
                    let message = format!("exited ({status}) without asking for an invocation");
                    return Err(named(function, io::ErrorKind::UnexpectedEof.into(), &message));
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other("the stub Lambda Runtime API stopped"));
            }
        }
    }
}

fn kill_and_reap(child: &mut Child) -> io::Result<()> {
    // Fails only when the child has already exited; reaping it is all that is left then.
    let _ = child.kill();
    child.wait().map(drop)
}

/// `error` with the function (and what was being done) in front of its message.
fn named(function: &str, error: io::Error, doing: &str) -> io::Error {
    io::Error::new(error.kind(), format!("{function}: {doing}: {error}"))
}

/// A Lambda Runtime API that notes when a runtime first asks for an invocation and never answers.
///
/// Each connection gets a thread that reads the request line, sends the time it arrived on
/// `requests` when it asks for the next invocation, and then holds the connection open (reading and
/// discarding) until the client goes away.
struct StubRuntime {
    addr: SocketAddr,
    requests: Receiver<Instant>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl StubRuntime {
    fn start() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let (sender, requests) = mpsc::channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = thread::Builder::new().name("stub-runtime-api".into()).spawn({
            let stopping = Arc::clone(&stopping);
            move || accept(&listener, &sender, &stopping)
        })?;
        Ok(Self { addr, requests, stopping, acceptor: Some(acceptor) })
    }

    /// Where the stub listens, as `AWS_LAMBDA_RUNTIME_API` wants it (`127.0.0.1:<port>`).
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops requests noted so far, so the next wait sees only the next run's.
    fn forget_requests(&self) {
        while self.requests.try_recv().is_ok() {}
    }
}

impl Drop for StubRuntime {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor with a connection of our own; if that fails, leave the thread be rather than hang.
        if TcpStream::connect(self.addr).is_ok() {
            if let Some(acceptor) = self.acceptor.take() {
                let _ = acceptor.join();
            }
        }
    }
}

fn accept(listener: &TcpListener, requests: &Sender<Instant>, stopping: &AtomicBool) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let requests = requests.clone();
        // Without a thread the connection is simply dropped and the run times out.
        let _ = thread::Builder::new().name("stub-runtime-conn".into()).spawn(move || serve(stream, &requests));
    }
}

fn serve(stream: TcpStream, requests: &Sender<Instant>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = Vec::new();
    if reader.read_until(b'\n', &mut request_line).is_err() {
        return;
    }
    if request_line.starts_with(NEXT_INVOCATION) {
        let _ = requests.send(Instant::now());
    }
    // Never answer: hold the connection until the client is killed.
    let _ = io::copy(&mut reader, &mut io::sink());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn median_of_an_odd_count_is_the_middle_value() {
        assert_eq!(median(&mut [7.0]), Some(7.0));
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [9.5, 1.0, 4.0, 100.0, 3.0]), Some(4.0));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [2.0, 1.0]), Some(1.5));
        assert_eq!(median(&mut [10.0, 1.0, 4.0, 3.0]), Some(3.5));
        assert_eq!(median(&mut [5.0, 5.0, 1.0, 9.0, 5.0, 6.0]), Some(5.0));
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn stub_notes_a_request_for_the_next_invocation_and_never_answers() {
        let stub = StubRuntime::start().unwrap();
        assert!(stub.addr().ip().is_loopback());
        let before = Instant::now();
        let mut client = TcpStream::connect(stub.addr()).unwrap();
        let request = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: 127.0.0.1\r\n\
                        user-agent: aws-lambda-rust/1\r\n\r\n";
        client.write_all(request).unwrap();
        let at = stub.requests.recv_timeout(Duration::from_secs(5)).expect("the request was noted");
        assert!(at >= before);
        assert!(at <= Instant::now());

        // The connection stays open and unanswered.
        client.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0; 64];
        let err = client.read(&mut buf).expect_err("the stub answered or closed the connection");
        assert!(matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{err:?}");
        assert!(stub.requests.try_recv().is_err(), "one request was noted twice");
    }

    #[test]
    fn stub_ignores_other_requests() {
        let stub = StubRuntime::start().unwrap();
        let mut client = TcpStream::connect(stub.addr()).unwrap();
        client.write_all(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\ncontent-length: 0\r\n\r\n").unwrap();
        drop(client);
        let mut silent = TcpStream::connect(stub.addr()).unwrap();
        silent.write_all(b"GET /2018-06-01/runtime/invocation/nex").unwrap();
        drop(silent);
        assert!(stub.requests.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[test]
    fn stub_notes_each_client_and_forgets_on_request() {
        let stub = StubRuntime::start().unwrap();
        let clients: Vec<TcpStream> = (0..3)
            .map(|_| {
                let mut client = TcpStream::connect(stub.addr()).unwrap();
                client.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n").unwrap();
                client
            })
            .collect();
        for _ in &clients {
            stub.requests.recv_timeout(Duration::from_secs(5)).expect("every client was noted");
        }
        let mut late = TcpStream::connect(stub.addr()).unwrap();
        late.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n").unwrap();
        thread::sleep(Duration::from_millis(200));
        stub.forget_requests();
        assert!(stub.requests.try_recv().is_err());
    }

    #[test]
    fn stub_stops_when_dropped() {
        let stub = StubRuntime::start().unwrap();
        let addr = stub.addr();
        drop(stub);
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
    }

    #[test]
    fn no_runs_is_an_error() {
        let err = cold_starts(Path::new("/nonexistent"), 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_missing_binary_is_an_error_naming_the_function() {
        let err = cold_starts(Path::new("/nonexistent/hookline-bench"), 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().starts_with("admin-api: cannot start /nonexistent/hookline-bench/admin-api"), "{err}");
        let err = bootstrap_sizes(Path::new("/nonexistent/hookline-bench")).unwrap_err();
        assert!(err.to_string().starts_with("admin-api: cannot stat"), "{err}");
    }

    #[test]
    fn arm64_sizes_come_from_the_sam_build_folder() {
        let ids: BTreeMap<String, String> = FUNCTIONS
            .iter()
            .map(|&(_, binary)| (binary.to_owned(), format!("Fn{}", binary.replace('-', ""))))
            .collect();
        let absent = std::env::temp_dir().join(format!("hookline-sam-absent-{}", std::process::id()));
        assert_eq!(arm64_bootstrap_sizes(&absent, &ids).unwrap_err(), ARM64_NOT_BUILT);
        let dir = std::env::temp_dir().join(format!("hookline-sam-build-{}", std::process::id()));
        for &(_, binary) in FUNCTIONS {
            let id = dir.join(&ids[binary]);
            std::fs::create_dir_all(&id).unwrap();
            std::fs::write(id.join("bootstrap"), binary).unwrap();
        }
        let sizes = arm64_bootstrap_sizes(&dir, &ids);
        std::fs::remove_file(dir.join("Fnprune").join("bootstrap")).unwrap();
        let missing = arm64_bootstrap_sizes(&dir, &ids);
        let _ = std::fs::remove_dir_all(&dir);
        let sizes = sizes.unwrap();
        assert_eq!(sizes.len(), FUNCTIONS.len());
        assert!(sizes.iter().all(|(function, &size)| size == function.len() as u64), "{sizes:?}");
        let missing = missing.unwrap_err();
        assert!(missing.starts_with("prune: cannot stat") && missing.ends_with("run make package"), "{missing}");
    }

    /// A directory of stand-in binaries, removed when dropped.
    #[cfg(unix)]
    struct FakeBinDir(std::path::PathBuf);

    /// Held by tests that write and run stand-in binaries: one test's fork while another's script is
    /// still open for writing would fail the exec with ETXTBSY.
    #[cfg(unix)]
    static FAKE_BINARIES: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[cfg(unix)]
    impl FakeBinDir {
        /// Every function's binary is `script` (a bash script).
        fn new(tag: &str, script: &str) -> Self {
            use std::os::unix::fs::PermissionsExt;
            let dir = std::env::temp_dir().join(format!("hookline-coldstart-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for &(_, binary) in FUNCTIONS {
                let path = dir.join(binary);
                std::fs::write(&path, script).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            Self(dir)
        }
    }

    #[cfg(unix)]
    impl Drop for FakeBinDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Asks the Runtime API for an invocation over bash's /dev/tcp (with no PATH: builtins only)
    /// after checking it was given the environment a function needs, then waits for the answer.
    #[cfg(unix)]
    const FAKE_RUNTIME: &str = r#"#!/bin/bash
[ "$AWS_LAMBDA_FUNCTION_NAME" = "${0##*/}" ] || exit 3
[ -n "$HOOKLINE_ADMIN_KEY_SECRET" ] && [ -n "$HOOKLINE_INBOUND_DEDUPE_TABLE" ] || exit 4
[ "$AWS_LAMBDA_FUNCTION_VERSION" = '$LATEST' ] && [ "$AWS_REGION" = us-east-1 ] || exit 5
[ -z "$HOME" ] || exit 6
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API##*:}" || exit 7
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: %s\r\n\r\n' "$AWS_LAMBDA_RUNTIME_API" >&3
read -r -u 3 answer
exit 8
"#;

    #[cfg(unix)]
    #[test]
    fn cold_starts_time_every_function_against_the_stub() {
        if !Path::new("/bin/bash").exists() {
            return;
        }
        let _serial = FAKE_BINARIES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = FakeBinDir::new("ok", FAKE_RUNTIME);
        let medians = cold_starts(&dir.0, 3).unwrap();
        let names: Vec<&str> = medians.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = FUNCTIONS.iter().map(|&(name, _)| name).collect();
        expected.sort_unstable();
        assert_eq!(names, expected);
        for (function, ms) in &medians {
            assert!(*ms > 0.0 && *ms < RUN_TIMEOUT.as_secs_f64() * 1000.0, "{function}: {ms} ms");
        }

        let sizes = bootstrap_sizes(&dir.0).unwrap();
        assert_eq!(sizes.len(), FUNCTIONS.len());
        assert!(sizes.values().all(|&size| size == FAKE_RUNTIME.len() as u64), "{sizes:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_binary_that_exits_early_is_an_error_naming_the_function() {
        if !Path::new("/bin/bash").exists() {
            return;
        }
        let _serial = FAKE_BINARIES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = FakeBinDir::new("exits", "#!/bin/bash\nexit 1\n");
        let started = Instant::now();
        let err = cold_starts(&dir.0, 2).unwrap_err();
        assert!(started.elapsed() < RUN_TIMEOUT, "the run waited out its timeout");
        assert!(err.to_string().starts_with("admin-api: exited"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_binary_that_never_asks_times_out_naming_the_function() {
        if !Path::new("/bin/bash").exists() {
            return;
        }
        let _serial = FAKE_BINARIES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Connects to the Runtime API but never sends a request line.
        let script = r#"#!/bin/bash
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API##*:}"
read -r -u 3 x
"#;
        let dir = FakeBinDir::new("silent", script);
        let started = Instant::now();
        let err = cold_starts(&dir.0, 1).unwrap_err();
        assert!(started.elapsed() >= RUN_TIMEOUT);
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().starts_with("admin-api: no request for an invocation within 5 s"), "{err}");
    }
}
