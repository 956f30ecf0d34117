//! The UI's own checks, run by the workspace's one test command: svelte-check (TypeScript and
//! Svelte diagnostics, against the generated bindings) and the unit tests (vitest with Tauri's
//! mockIPC). The build script has already installed ui/node_modules with `npm ci`.

use std::path::PathBuf;
use std::process::Command;

fn npm(script: &str) {
    let ui = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let output = Command::new(program)
        .args(["run", "--silent", script])
        .current_dir(&ui)
        .env("CI", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run npm in {} ({e}); install Node.js 20.19 or newer", ui.display()));
    assert!(
        output.status.success(),
        "`npm run {script}` failed in ui/:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn ui_type_checks() {
    npm("check");
}

#[test]
fn ui_unit_tests_pass() {
    npm("test");
}
