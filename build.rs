//! Records the commit the core is built from (`SELECTRA_COMMIT`), so that `selectra --version`
//! and the app's About name the same build. Packagers building outside a git checkout can set
//! SELECTRA_COMMIT themselves; otherwise it is "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SELECTRA_COMMIT");
    let commit = std::env::var("SELECTRA_COMMIT").ok().filter(|c| !c.is_empty()).or_else(git_commit).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SELECTRA_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, and the branch file it names, where they exist (a
    // missing file would make cargo rerun this script on every build).
    let git = Path::new(".git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(reference) = head.trim().strip_prefix("ref: ") {
                if git.join(reference).is_file() {
                    println!("cargo:rerun-if-changed=.git/{reference}");
                }
            }
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
