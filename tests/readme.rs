//! The README's quick start, extracted from README.md and run exactly as
//! written: it must end with a verified signed delivery.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hookline::dev::moto::free_port;
use hookline_tests::hookline_binary;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first `bash` block under `## Quick start`.
fn quick_start(readme: &str) -> String {
    let section = readme.split("\n## Quick start\n").nth(1).expect("README has a Quick start section");
    let block = section.split("```bash\n").nth(1).expect("a bash block in the Quick start");
    block.split("\n```").next().expect("the block ends").to_owned()
}

#[test]
fn the_quick_start_block_is_the_first_screen() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let before = readme.split("\n## Quick start\n").next().unwrap();
    assert!(!before.contains("make bench") && !before.contains("make soak"), "bench and soak come last");
    let block = quick_start(&readme);
    assert!(block.contains("make dev") && block.contains("jq -r"), "{block}");
}

#[tokio::test]
async fn the_readme_quick_start_ends_with_a_verified_delivery() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let script = quick_start(&readme);
    let scratch = std::env::temp_dir().join(format!("hookline-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("bin")).unwrap();
    // `cargo run --bin hookline -- ARGS` is the binary this test run built
    // (a second cargo would wait on this one's lock).
    let shim = scratch.join("bin/cargo");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nwhile [ \"$1\" != \"--\" ]; do shift; done\nshift\nexec '{}' \"$@\"\n",
            hookline_binary().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", scratch.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let mut child = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repo())
        .env("PATH", path)
        .env("CARGO", &shim)
        .env("HOOKLINE_STATE_DIR", scratch.join("state"))
        .env("HOOKLINE_DATA_DIR", scratch.join("data"))
        .env("HOOKLINE_PORT", free_port().unwrap().to_string())
        .env("RECEIVER_PORT", free_port().unwrap().to_string())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("HOOKLINE_ADMIN_KEY")
        .env_remove("HOOKLINE_API_KEY")
        .env_remove("HOOKLINE_API_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("bash runs");
    let pgid = child.id().expect("running") as i32;
    let out = tokio::time::timeout(Duration::from_secs(300), async {
        let status = child.wait().await;
        let mut stdout = String::new();
        let mut stderr = String::new();
        use tokio::io::AsyncReadExt;
        child.stdout.take().unwrap().read_to_string(&mut stdout).await.unwrap();
        child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
        (status, stdout, stderr)
    })
    .await;
    // `make dev` is still running in the background: stop the whole group.
    // SAFETY: kill(2) on the process group this test created.
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
    }
    let (status, stdout, stderr) = out.expect("the quick start finished within 5 minutes");
    assert!(status.unwrap().success(), "the quick start failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("verified bill.paid dlv_"), "no verified delivery:\n{stdout}\n{stderr}");
    assert!(stdout.contains("delivered"), "the delivery list shows it delivered:\n{stdout}");
    let _ = std::fs::remove_dir_all(&scratch);
}
