//! The on-disk run cache: one JSON record a file, named by its key.
//!
//! Invariant: a file in the cache is always a complete record. Writes go to a temporary file in
//! the same folder, then a rename, so a kill at any moment leaves either the old state or the
//! new file, never a torn one; an unreadable file is treated as missing and rerun.

use super::record::Record;
use std::fs;
use std::path::{Path, PathBuf};

/// The cache folder inside an output folder.
pub fn dir(out: &Path) -> PathBuf {
    out.join("cache")
}

fn path(cache: &Path, key: &str) -> PathBuf {
    cache.join(format!("{key}.json"))
}

/// Reads a cached record, if present and intact.
pub fn load(cache: &Path, key: &str) -> Option<Record> {
    let text = fs::read_to_string(path(cache, key)).ok()?;
    serde_json::from_str::<Record>(&text).ok().filter(|r| r.key == key)
}

/// Writes `bytes` to `target` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), String> {
    let parent = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temporary = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    fs::write(&temporary, bytes).map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    fs::rename(&temporary, target).map_err(|e| format!("cannot move {} into place: {e}", target.display()))
}

/// Stores a record.
pub fn store(cache: &Path, record: &Record) -> Result<(), String> {
    let json = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    write_atomic(&path(cache, &record.key), &json)
}

/// Copies every intact record of `from` into `into` (for `repro merge`); returns how many.
pub fn merge(from: &Path, into: &Path) -> Result<usize, String> {
    let source = dir(from);
    let entries = fs::read_dir(&source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let target = dir(into);
    let mut copied = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(|n| n.strip_suffix(".json")) else { continue };
        if let Some(record) = load(&source, key) {
            store(&target, &record)?;
            copied += 1;
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::record::from_result;
    use aesgd_core::RunConfig;

    #[test]
    fn records_round_trip_and_torn_files_are_ignored() {
        let folder = std::env::temp_dir().join(format!("aesgd-cache-test-{}", std::process::id()));
        let cache = dir(&folder);
        let config = RunConfig { n: 4, d: 4, batch: 2, max_steps: 5000, ..RunConfig::default() };
        let result = aesgd_core::run(&config, 1, 2).unwrap();
        let record = from_result(&config, &result, 0.5);
        store(&cache, &record).unwrap();
        assert_eq!(load(&cache, &record.key), Some(record.clone()));
        // A torn write (truncated JSON) reads as missing, so the run is redone.
        fs::write(path(&cache, &record.key), b"{\"key\": \"trunc").unwrap();
        assert_eq!(load(&cache, &record.key), None);
        // No temporary files are left behind by a completed write.
        store(&cache, &record).unwrap();
        let leftovers = fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(leftovers, 0);
        let other = folder.join("merged");
        assert_eq!(merge(&folder, &other).unwrap(), 1);
        assert_eq!(load(&dir(&other), &record.key), Some(record));
        fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn keys_depend_on_every_setting_and_the_stream() {
        let base = RunConfig::default();
        let k = crate::repro::record::key(&base, 0, 0);
        assert_ne!(k, crate::repro::record::key(&base, 0, 1));
        assert_ne!(k, crate::repro::record::key(&base, 1, 0));
        assert_ne!(k, crate::repro::record::key(&RunConfig { eta: 0.2, ..base.clone() }, 0, 0));
        assert_ne!(k, crate::repro::record::key(&RunConfig { grad_tol: 1e-9, ..base.clone() }, 0, 0));
        assert_eq!(k, crate::repro::record::key(&base.clone(), 0, 0));
    }
}
