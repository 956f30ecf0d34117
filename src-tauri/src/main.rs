//! Selectra Studio's desktop shell. The Tauri 2 app arrives with the desktop-app issue; until then
//! this binary only points to the `selectra` command line, which serves the same core.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "The Selectra Studio desktop app is not built yet. Use the command line instead:\n  \
         cargo run --release -- inspect --model Recognai/selectra_small \"Un texto en español.\""
    );
    ExitCode::from(2)
}
