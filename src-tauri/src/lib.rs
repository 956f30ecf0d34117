//! Selectra Studio's desktop shell: Tauri 2 commands over the `selectra` core. Commands are thin
//! adapters (`commands.rs`) that take the app's arguments (`args.rs`) and return the core's wire
//! (`selectra::api::wire`, with the app's own errors and progress in `dto.rs`); their TypeScript
//! is generated (`bindings.rs`), and `state.rs` holds the open project, loaded models and task cancel flags.

mod args;
mod bindings;
mod commands;
mod data_dir;
mod dto;
mod state;

pub use bindings::typescript;

use tauri::Manager;

/// Registers every command of the table in `bindings.rs`, so the handlers and the generated
/// TypeScript list the same commands.
macro_rules! handler {
    ($( $name:ident ( $( $arg:ident : $ty:ty ),* ) -> $ret:ty ; )*) => {
        tauri::generate_handler![$( commands::$name ),*]
    };
}

/// Opens the window. The project database is `SELECTRA_STUDIO_PROJECT` when set, else
/// `project.sqlite` in the app's data folder (created on first start; a project in the first
/// release's folder is moved there, see `data_dir`).
pub fn run() {
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let project = match std::env::var_os("SELECTRA_STUDIO_PROJECT") {
                Some(path) => std::path::PathBuf::from(path),
                None => data_dir::default_project(&app.path().app_data_dir()?)?,
            };
            let state = state::AppState::new(&project).map_err(|e| format!("cannot open the project {}: {e}", project.display()))?;
            app.manage(state);
            Ok(())
        })
        .invoke_handler(bindings::commands!(handler))
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Selectra Studio could not start: {e}");
            std::process::exit(1);
        });
}
