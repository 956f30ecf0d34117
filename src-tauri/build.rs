//! Builds the web front end (ui/) into ui/dist before Tauri embeds it, so `cargo run` and
//! `cargo test` need no separate step: `npm ci` when ui/node_modules is missing or older than the
//! lockfile, then `vite build`. Needs Node.js 20.19 or newer on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let ui = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("../ui");
    for watched in ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "svelte.config.js", "tsconfig.json"] {
        println!("cargo:rerun-if-changed={}", ui.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SELECTRA_SKIP_UI_BUILD");
    // For packagers that build ui/dist themselves (`tauri build` runs no npm step here).
    if std::env::var_os("SELECTRA_SKIP_UI_BUILD").is_none() {
        build_ui(&ui);
    }
    tauri_build::build();
}

fn build_ui(ui: &Path) {
    let installed = ui.join("node_modules/.package-lock.json");
    let stale = match (modified(&installed), modified(&ui.join("package-lock.json"))) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    };
    if stale {
        npm(ui, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(ui, &["run", "build"]);
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn npm(dir: &Path, args: &[&str]) {
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let status = Command::new(program).args(args).current_dir(dir).status().unwrap_or_else(|e| {
        panic!(
            "cannot run `npm {}` in {} ({e}). The app's UI is built with Node.js 20.19 or newer; install it and try again.",
            args.join(" "),
            dir.display()
        )
    });
    if !status.success() {
        panic!("`npm {}` failed in {} ({status}); its output is above.", args.join(" "), dir.display());
    }
}
