//! Files that appear complete or not at all: written under a temporary name in the target folder,
//! flushed to disk, then renamed over the target.

use std::path::Path;

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The folder a new file at `path` goes into ("." for a bare file name).
pub(crate) fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A temporary file next to `path`, to be finished with [`persist`].
pub(crate) fn temp_for(path: &Path) -> Result<NamedTempFile> {
    let dir = parent(path);
    NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))
}

/// Syncs `tmp` and renames it to `path`. Temporary files are created private (0600); an output
/// file is for sharing, so it gets the usual 0644 first. Both go through the temporary path, not
/// the handle: a writer may have replaced the file created there (safetensors writes a file of
/// its own and renames it over the path it is given, which left fine-tuned models 0600 and
/// unsynced).
pub(crate) fn persist(tmp: NamedTempFile, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(|e| Error::io(path, e))?;
    }
    sync(tmp.path())?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Flushes the file at `path` to disk (one another writer made, such as safetensors).
pub(crate) fn sync(path: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = temp_for(path)?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    persist(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that replaces the temporary file with one of its own (as safetensors does) still
    /// gets its file published whole, with the output's permissions.
    #[test]
    fn a_file_replaced_under_the_temporary_name_is_published_shareable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let tmp = temp_for(&path).unwrap();
        let other = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        std::fs::write(other.path(), b"the writer's own file").unwrap();
        other.persist(tmp.path()).unwrap();
        persist(tmp, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"the writer's own file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }
}
