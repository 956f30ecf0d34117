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
