//! Where the default project lives, and the move from the data folder of the app's first
//! identifier (`studio.selectra.app`, which ends in `.app` and clashes with macOS bundles).
//!
//! The data folder is named after the identifier, so changing the identifier would leave a
//! user's project behind. On start, if the new folder has no project and the old one has, the old
//! folder is renamed to the new name (one rename: the project, its WAL, and the web view's saved
//! settings move together); if the new folder already exists, the old project is opened where it
//! is. Nobody loses their work, and nothing is copied half-way.

use std::path::{Path, PathBuf};

/// The identifier the app was first released under.
pub const LEGACY_IDENTIFIER: &str = "studio.selectra.app";

/// The project file in a data folder.
pub const PROJECT_FILE: &str = "project.sqlite";

/// The default project, given the app's data folder (`data_dir`, named after the current
/// identifier). Creates the folder when it has to.
pub fn default_project(data_dir: &Path) -> std::io::Result<PathBuf> {
    let project = data_dir.join(PROJECT_FILE);
    if project.exists() {
        return Ok(project);
    }
    if let Some(legacy_dir) = data_dir.parent().map(|p| p.join(LEGACY_IDENTIFIER)).filter(|d| d != data_dir) {
        let legacy = legacy_dir.join(PROJECT_FILE);
        if legacy.is_file() {
            if !data_dir.exists() && std::fs::rename(&legacy_dir, data_dir).is_ok() {
                return Ok(project);
            }
            // The new folder exists already (or the rename failed): open the project in place.
            return Ok(legacy);
        }
    }
    std::fs::create_dir_all(data_dir)?;
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_project_in_the_old_folder_moves_with_everything_beside_it() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join(LEGACY_IDENTIFIER);
        write(&old.join(PROJECT_FILE), "the project");
        write(&old.join("project.sqlite-wal"), "its write-ahead log");
        write(&old.join("webview").join("localstorage"), "keymap");
        let new = root.path().join("studio.selectra.desktop");
        let project = default_project(&new).unwrap();
        assert_eq!(project, new.join(PROJECT_FILE));
        assert_eq!(std::fs::read_to_string(&project).unwrap(), "the project");
        assert_eq!(std::fs::read_to_string(new.join("project.sqlite-wal")).unwrap(), "its write-ahead log");
        assert_eq!(std::fs::read_to_string(new.join("webview").join("localstorage")).unwrap(), "keymap");
        assert!(!old.exists());
        // Later starts find it in the new folder.
        assert_eq!(default_project(&new).unwrap(), project);
    }

    #[test]
    fn with_both_folders_present_the_old_project_is_opened_in_place() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join(LEGACY_IDENTIFIER);
        write(&old.join(PROJECT_FILE), "the project");
        let new = root.path().join("studio.selectra.desktop");
        std::fs::create_dir_all(&new).unwrap();
        assert_eq!(default_project(&new).unwrap(), old.join(PROJECT_FILE));
        assert_eq!(std::fs::read_to_string(old.join(PROJECT_FILE)).unwrap(), "the project");
    }

    #[test]
    fn a_new_project_in_the_new_folder_wins_and_a_fresh_start_creates_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join("studio.selectra.desktop");
        write(&new.join(PROJECT_FILE), "new");
        write(&root.path().join(LEGACY_IDENTIFIER).join(PROJECT_FILE), "old");
        assert_eq!(default_project(&new).unwrap(), new.join(PROJECT_FILE));

        let fresh = tempfile::tempdir().unwrap();
        let dir = fresh.path().join("studio.selectra.desktop");
        assert_eq!(default_project(&dir).unwrap(), dir.join(PROJECT_FILE));
        assert!(dir.is_dir());
    }
}
