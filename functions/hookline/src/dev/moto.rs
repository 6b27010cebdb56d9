//! A private `moto_server` on a free loopback port, stopped on exit (and by
//! the kernel if this process dies first).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running emulator, owned by a thread of its own: the kernel stops the
/// emulator when the thread that started it ends (PR_SET_PDEATHSIG), so that
/// thread must live exactly as long as the emulator should.
pub struct Moto {
    pub endpoint: String,
    stop: Option<mpsc::Sender<()>>,
    owner: Option<std::thread::JoinHandle<()>>,
}

/// Finds `moto_server`: `HOOKLINE_MOTO_SERVER`, the project's `.venv`
/// (searched upwards from the working directory), then `PATH`.
pub fn find_moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("HOOKLINE_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let mut dir = std::env::current_dir().ok();
    while let Some(d) = dir {
        let candidate = d.join(".venv/bin/moto_server");
        if candidate.is_file() {
            return candidate;
        }
        dir = d.parent().map(PathBuf::from);
    }
    PathBuf::from("moto_server")
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn answers(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1")
}

/// The wrapper that keeps moto's state in a file (see moto_state.py).
const STATE_SCRIPT: &str = include_str!("moto_state.py");

/// Where a persistent emulator keeps its state, and how often it saves.
#[derive(Debug, Clone)]
pub struct Persistence {
    /// The snapshot file (`emulator.pickle` in the data directory).
    pub file: PathBuf,
    /// The wrapper's own messages (restored, saved, why not).
    pub log: PathBuf,
    /// The most time between a change and its snapshot.
    pub interval: Duration,
}

impl Persistence {
    /// The files of a data directory (created 0700 if missing).
    pub fn in_dir(dir: &Path) -> Result<Self, String> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        Ok(Self { file: dir.join("emulator.pickle"), log: dir.join("emulator.log"), interval: Duration::from_secs(1) })
    }
}

/// The Python beside `moto_server` (the venv's, which has moto).
pub fn venv_python() -> PathBuf {
    match find_moto_server().parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("python"),
        _ => PathBuf::from("python3"),
    }
}

fn spawn(binary: &Path, port: u16, persist: Option<&Persistence>) -> Result<Child, String> {
    let mut command = match persist {
        None => {
            let mut c = Command::new(binary);
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stderr(Stdio::null());
            c
        }
        Some(p) => {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p.log)
                .map_err(|e| format!("cannot open {}: {e}", p.log.display()))?;
            let mut c = Command::new(venv_python());
            c.arg("-c")
                .arg(STATE_SCRIPT)
                .arg(&p.file)
                .args(["127.0.0.1", &port.to_string(), &p.interval.as_secs_f64().to_string()])
                .stderr(log);
            c
        }
    };
    command.stdin(Stdio::null()).stdout(Stdio::null());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to
        // end the emulator when the thread that started it goes away.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
    }
    command.spawn().map_err(|e| {
        format!(
            "cannot start {}: {e} (run `make venv`, or set AWS_ENDPOINT_URL to a running emulator)",
            binary.display()
        )
    })
}

fn wait_until_ready(child: &mut Child, binary: &Path, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answers(addr) {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{} exited early ({status})", binary.display()));
        }
        if Instant::now() > deadline {
            return Err(format!("{} did not answer on port {port} within 60 s", binary.display()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn terminate(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Moto {
    /// Starts the emulator and waits until it answers; with `persist`, it
    /// restores the snapshot first and keeps it up to date.
    pub fn start(persist: Option<Persistence>) -> Result<Self, String> {
        let binary = find_moto_server();
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let owner = std::thread::Builder::new()
            .name("moto".into())
            .spawn(move || {
                let mut child = match spawn(&binary, port, persist.as_ref()) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let ready = wait_until_ready(&mut child, &binary, port).map_err(|e| match &persist {
                    // The wrapper says why it stopped (e.g. another emulator owns the directory).
                    Some(p) => {
                        match std::fs::read_to_string(&p.log).ok().and_then(|l| l.lines().last().map(str::to_owned)) {
                            Some(last) => format!("{e}: {last}"),
                            None => e,
                        }
                    }
                    None => e,
                });
                let failed = ready.is_err();
                let _ = ready_tx.send(ready);
                if !failed {
                    // Until told to stop, or until the owner goes away.
                    let _ = stop_rx.recv();
                }
                terminate(&mut child);
            })
            .map_err(|e| format!("cannot start the emulator's thread: {e}"))?;
        let ready = ready_rx.recv().map_err(|_| "the emulator's thread ended early".to_owned())?;
        let mut moto = Self { endpoint: format!("http://127.0.0.1:{port}"), stop: Some(stop_tx), owner: Some(owner) };
        if let Err(e) = ready {
            moto.stop();
            return Err(e);
        }
        Ok(moto)
    }

    /// Stops the emulator and waits for it (idempotent).
    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
