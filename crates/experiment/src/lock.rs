//! An exclusive lock on an output folder, so that two reproductions never write one folder.
//!
//! The lock is an advisory file lock (`flock`, through the standard library) on `OUT/.lock`,
//! held until the [`OutputLock`] is dropped; the operating system releases it when the process
//! ends, however it ends, so a killed reproduction never leaves the folder locked. The file
//! names its holder (process id and start time) so the second process can say who holds it.
//! Taking the lock also proves the folder writable before any work starts, and, since no one
//! else can be writing there, it removes the temporary files that a killed writer left behind
//! (see [`crate::atomic`]).

use crate::error::ExperimentError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The lock file's name inside an output folder.
pub const LOCK_FILE: &str = ".lock";

/// A held lock on an output folder.
#[derive(Debug)]
pub struct OutputLock {
    /// The open lock file; the lock lasts as long as it is open.
    _file: File,
    path: PathBuf,
}

impl OutputLock {
    /// Takes the lock on `folder` (created if missing), or fails at once naming the holder.
    pub fn acquire(folder: &Path) -> Result<Self, ExperimentError> {
        std::fs::create_dir_all(folder)
            .map_err(|e| ExperimentError::io("create the output folder", folder, e))?;
        let path = folder.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| ExperimentError::io("open the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(ExperimentError::Locked {
                    folder: folder.to_path_buf(),
                    holder: if holder.is_empty() { "an unknown process".into() } else { holder.to_string() },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(ExperimentError::io("lock", &path, e)),
        }
        let since = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let holder = format!("process {} (started at unix time {since})\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.as_bytes()))
            .map_err(|e| ExperimentError::io("write", &path, e))?;
        remove_temporaries(folder)?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes the temporary files of interrupted atomic writes in `folder` and its subfolders.
fn remove_temporaries(folder: &Path) -> Result<(), ExperimentError> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_temporaries(&path)?;
        } else if crate::atomic::is_temporary(&path) {
            std::fs::remove_file(&path).map_err(|e| ExperimentError::io("remove the leftover", &path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_folder_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let folder = std::env::temp_dir().join(format!("aesgd-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let first = OutputLock::acquire(&folder).unwrap();
        let error = OutputLock::acquire(&folder).unwrap_err().to_string();
        assert!(error.contains(&folder.display().to_string()), "{error}");
        assert!(error.contains(&format!("process {}", std::process::id())), "{error}");
        drop(first);
        // A temporary file left by a killed writer is removed by the next holder.
        std::fs::create_dir_all(folder.join("cache")).unwrap();
        let leftover = folder.join("cache").join(".k.json.123.7.tmp");
        std::fs::write(&leftover, b"{\"trunc").unwrap();
        std::fs::write(folder.join("cache").join("k.json"), b"{}").unwrap();
        let again = OutputLock::acquire(&folder).unwrap();
        assert!(again.path().ends_with(LOCK_FILE));
        assert!(!leftover.exists());
        assert!(folder.join("cache").join("k.json").exists());
        drop(again);
        std::fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn an_unwritable_folder_fails_before_any_work() {
        // A folder below a regular file cannot be created.
        let file = std::env::temp_dir().join(format!("aesgd-lock-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let error = OutputLock::acquire(&file.join("out")).unwrap_err().to_string();
        assert!(error.starts_with("cannot create the output folder"), "{error}");
        std::fs::remove_file(&file).unwrap();
    }
}
