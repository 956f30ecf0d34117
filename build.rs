//! Records the commit the core is built from (`SELECTRA_COMMIT`), so that `selectra --version`
//! and the app's About name the same build. Packagers building outside a git checkout can set
//! SELECTRA_COMMIT themselves; otherwise it is "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SELECTRA_COMMIT");
    let commit = std::env::var("SELECTRA_COMMIT").ok().filter(|c| !c.is_empty()).or_else(git_commit).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SELECTRA_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, every ref (a directory is scanned whole, so a branch
    // whose ref was packed when this first ran, and is a loose file after the next commit, is
    // still seen), and packed-refs where it exists (a missing file would make cargo rerun this
    // script on every build).
    let git = Path::new(".git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if git.join("refs").is_dir() {
            println!("cargo:rerun-if-changed=.git/refs");
        }
        if git.join("packed-refs").is_file() {
            println!("cargo:rerun-if-changed=.git/packed-refs");
        }
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
}

fn git_commit() -> Option<String> {
    let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}
