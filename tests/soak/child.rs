//! `hookline dev` as a child process, SIGKILLed and restarted by the soak.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// How to run `hookline dev`, and the running child.
pub struct DevProcess {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// stdout and stderr of every run, appended.
    pub log: PathBuf,
    /// The API root, e.g. `http://127.0.0.1:41234`.
    pub api: String,
    child: Option<Child>,
}

impl DevProcess {
    pub fn new(binary: PathBuf, args: Vec<String>, env: Vec<(String, String)>, log: PathBuf, api: String) -> Self {
        Self { binary, args, env, log, api, child: None }
    }

    /// Starts the child and waits until its API answers; returns how long that took.
    pub async fn start(&mut self) -> Result<Duration, String> {
        let started = Instant::now();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(&self.binary);
        command
            .args(&self.args)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to end
        // the child if the soak dies first, so no platform outlives it.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().map_err(|e| e.to_string())?;
        let health = format!("{}/health", self.api);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("hookline dev exited ({status}); see {}", self.log.display()));
            }
            if http.get(&health).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(180) {
                let _ = child.kill().await;
                return Err(format!("hookline dev did not answer within 180 s; see {}", self.log.display()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.child = Some(child);
        Ok(started.elapsed())
    }

    /// True when no child is running (a restart failed).
    pub fn is_down(&self) -> bool {
        self.child.is_none()
    }

    /// SIGKILL, as a crashed or recycled instance: no shutdown code runs.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}
