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
/// file is for sharing, so it gets the usual 0644 first.
pub(crate) fn persist(tmp: NamedTempFile, path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| Error::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = temp_for(path)?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    persist(tmp, path)
}
