//! Atomic file writes: a temporary file in the target's folder, then a rename.
//!
//! A kill at any moment leaves either the old file or the complete new one, never a torn one.
//! This is the only way the experiment library and the reports write files.

use crate::error::ExperimentError;
use std::fs;
use std::path::Path;

/// The ending of temporary files (which also start with a dot).
const TEMPORARY_ENDING: &str = ".tmp";

/// Whether `path` names a temporary file of [`write_atomic`].
pub fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.ends_with(TEMPORARY_ENDING))
}

/// Writes `bytes` to `target` atomically, creating its folder if needed.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| ExperimentError::io("create", parent, e))?;
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    // The thread id as well as the process id: two threads may write one name at once.
    let thread =
        format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let temporary = parent.join(format!(".{name}.{}.{thread}{TEMPORARY_ENDING}", std::process::id()));
    fs::write(&temporary, bytes).map_err(|e| ExperimentError::io("write", &temporary, e))?;
    fs::rename(&temporary, target).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        ExperimentError::io("move into place", target, e)
    })
}
