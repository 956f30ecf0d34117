//! The committed TypeScript bindings must be exactly what the Rust types generate: a DTO changed
//! without regenerating them fails here. `UPDATE_BINDINGS=1` rewrites the file instead.

use std::path::PathBuf;

#[test]
fn typescript_bindings_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
    let generated = selectra_studio::typescript();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write bindings.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: regenerate it with `UPDATE_BINDINGS=1 cargo test -p selectra-studio --test bindings` and commit it",
        path.display()
    );
}

/// Tauri runs a plain `fn` command on the main (UI) thread, so a command that waits on SQLite or
/// a model would freeze the window. Every command is `async` (its work on a blocking worker),
/// except the two that only read in-memory state: the app's info and a task's cancel flag.
#[test]
fn no_command_runs_on_the_ui_thread() {
    const IN_MEMORY: &[&str] = &["app_info", "cancel_task"];
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/commands.rs");
    let source = std::fs::read_to_string(&path).expect("commands.rs");
    let mut commands = 0;
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[tauri::command]" {
            continue;
        }
        let signature = lines.by_ref().map(str::trim).find(|l| l.starts_with("pub ")).expect("a command's signature");
        let name = signature.split('(').next().unwrap().rsplit(' ').next().unwrap();
        commands += 1;
        assert!(
            signature.starts_with("pub async fn") || IN_MEMORY.contains(&name),
            "command {name} is a plain fn: it would run on the UI thread ({signature})"
        );
    }
    assert!(commands >= 20, "found only {commands} commands in {}", path.display());
}
