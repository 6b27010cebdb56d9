//! The local stack's state file: `hookline dev` writes where it is (API URL,
//! emulator URL, stack name, template, admin key) so every other command finds
//! it from any directory without flags or variables.
//!
//! The file is `$HOOKLINE_STATE_DIR/dev.json`; the directory defaults to
//! `$XDG_STATE_HOME/hookline`, else `~/.local/state/hookline` (the XDG base
//! directory for state that outlives a process but is not worth backing up).
//! It holds the admin key, so the directory is 0700 and the file 0600.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a running `hookline dev` tells the other commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevState {
    /// The HTTP API, e.g. `http://127.0.0.1:3000`.
    pub api_url: String,
    /// The bootstrap admin API key.
    pub admin_key: String,
    /// The emulator the local stack's resources live in.
    pub aws_endpoint_url: String,
    /// The prefix of every table, queue and secret (`hookline dev --local-stack`).
    pub stack_name: String,
    /// The template the stack was created from, absolute.
    pub template: PathBuf,
    /// The `hookline dev` process.
    pub pid: u32,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The directory of the state file.
pub fn dir() -> PathBuf {
    if let Some(d) = env("HOOKLINE_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = env("XDG_STATE_HOME") {
        return PathBuf::from(d).join("hookline");
    }
    let home = env("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".local/state/hookline")
}

/// The state file's path.
pub fn path() -> PathBuf {
    dir().join("dev.json")
}

/// Writes `state` (0600, through a rename so readers never see half a file).
pub fn write(state: &DevState) -> std::io::Result<PathBuf> {
    write_in(&dir(), state)
}

/// Writes `state` as `dev.json` in `dir`.
pub fn write_in(dir: &Path, state: &DevState) -> std::io::Result<PathBuf> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let target = dir.join("dev.json");
    let partial = dir.join(format!("dev.json.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)?;
    file.write_all(&serde_json::to_vec_pretty(state).expect("state serializes"))?;
    file.sync_all()?;
    std::fs::rename(&partial, &target)?;
    Ok(target)
}

/// The state file, when there is a readable one.
pub fn read() -> Option<DevState> {
    read_in(&dir())
}

/// `dev.json` in `dir`, when readable.
pub fn read_in(dir: &Path) -> Option<DevState> {
    serde_json::from_slice(&std::fs::read(dir.join("dev.json")).ok()?).ok()
}

/// Removes the state file if this process wrote it (a newer `hookline dev`
/// may have replaced it).
pub fn remove_if_written_by(pid: u32) {
    if read().is_some_and(|s| s.pid == pid) {
        let _ = std::fs::remove_file(path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn sample() -> DevState {
        DevState {
            api_url: "http://127.0.0.1:3000".into(),
            admin_key: "k".into(),
            aws_endpoint_url: "http://127.0.0.1:5000".into(),
            stack_name: "hookline-dev".into(),
            template: "/repo/template.yaml".into(),
            pid: 42,
        }
    }

    #[test]
    fn the_state_file_is_readable_by_its_owner_only_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("hookline-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = write_in(&dir, &sample()).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(read_in(&dir), Some(sample()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
