//! The run cache: finished records by key, behind the small [`RunCache`] trait.
//!
//! [`FileCache`] keeps one JSON file a record, named by its key, written atomically, so a
//! reproduction killed at any moment resumes with every finished run. Each file holds the
//! record and the SHA-256 of the record's JSON; a file whose digest does not match (edited by
//! hand, or damaged) is [`Lookup::Unusable`] and its run is redone, like a torn or foreign
//! file. [`MemoryCache`] keeps records in memory (tests, notebooks). A cache only stores and
//! returns records; what to run and when belongs to [`crate::executor`].

use crate::atomic::write_atomic;
use crate::error::ExperimentError;
use crate::record::Record;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a cache holds under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// An intact record with this key.
    Found(Box<Record>),
    /// Nothing.
    Missing,
    /// Something that is not an intact record with this key (torn or edited); it is rerun.
    Unusable(String),
}

impl Lookup {
    /// The record, if found.
    pub fn record(self) -> Option<Record> {
        match self {
            Self::Found(r) => Some(*r),
            Self::Missing | Self::Unusable(_) => None,
        }
    }
}

/// A store of finished runs.
pub trait RunCache: Sync {
    /// What the cache holds under `key`.
    fn lookup(&self, key: &str) -> Lookup;
    /// Stores a record under its key, replacing any earlier one.
    fn store(&self, record: &Record) -> Result<(), ExperimentError>;
    /// Removes what is stored under `key`, if anything; says whether there was something.
    fn remove(&self, key: &str) -> Result<bool, ExperimentError>;
}

/// A cache file: the record's JSON text and its digest.
#[derive(Serialize, Deserialize)]
struct Entry {
    /// The SHA-256 of `record`, in hex.
    sha256: String,
    /// The record as JSON text, digested exactly as stored.
    record: String,
}

fn digest(text: &str) -> String {
    crate::key::hex(&Sha256::digest(text.as_bytes()))
}

/// The record in the text of a cache file, if it is an intact record of `key`: valid JSON, a
/// matching checksum and the right key ([`Lookup::Unusable`] with the reason otherwise). Every
/// reader of cache files (the cache, committed archives) checks through this one function.
pub(crate) fn parse_entry(text: &str, key: &str) -> Lookup {
    let entry = match serde_json::from_str::<Entry>(text) {
        Ok(entry) => entry,
        Err(e) => return Lookup::Unusable(format!("not a cache entry: {e}")),
    };
    if digest(&entry.record) != entry.sha256 {
        return Lookup::Unusable("its checksum does not match its record (edited or damaged)".into());
    }
    match serde_json::from_str::<Record>(&entry.record) {
        Ok(r) if r.key == key => Lookup::Found(Box::new(r)),
        Ok(r) => Lookup::Unusable(format!("holds the record of key {}", r.key)),
        Err(e) => Lookup::Unusable(format!("not a record: {e}")),
    }
}

/// One JSON file a record in a folder.
#[derive(Debug, Clone)]
pub struct FileCache {
    folder: PathBuf,
}

impl FileCache {
    /// The cache in `folder` (created on the first store).
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self { folder: folder.into() }
    }

    /// The cache folder of an output folder: `OUT/cache`.
    pub fn in_output(out: &Path) -> Self {
        Self::new(out.join("cache"))
    }

    /// Its folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The file that holds (or would hold) the record of `key`.
    pub fn file(&self, key: &str) -> PathBuf {
        self.folder.join(format!("{key}.json"))
    }

    /// The keys of every file in the folder that looks like a record.
    pub fn keys(&self) -> Result<Vec<String>, ExperimentError> {
        let entries = match fs::read_dir(&self.folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ExperimentError::io("read", &self.folder, e)),
        };
        let mut keys: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(String::from))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Copies every intact record of `from` into this cache; returns how many.
    pub fn merge_from(&self, from: &FileCache) -> Result<usize, ExperimentError> {
        if !from.folder.is_dir() {
            return Err(ExperimentError::io(
                "read",
                &from.folder,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no cache folder there"),
            ));
        }
        let mut copied = 0;
        for key in from.keys()? {
            if let Lookup::Found(record) = from.lookup(&key) {
                self.store(&record)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}

impl RunCache for FileCache {
    fn lookup(&self, key: &str) -> Lookup {
        match fs::read_to_string(self.file(key)) {
            Ok(text) => parse_entry(&text, key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Lookup::Missing,
            Err(e) => Lookup::Unusable(format!("unreadable: {e}")),
        }
    }

    fn store(&self, record: &Record) -> Result<(), ExperimentError> {
        let json = |what: String, e| ExperimentError::Json { what, source: e };
        let text = serde_json::to_string(record).map_err(|e| json(format!("record {}", record.key), e))?;
        let entry = Entry { sha256: digest(&text), record: text };
        let bytes = serde_json::to_vec(&entry).map_err(|e| json(format!("cache entry {}", record.key), e))?;
        write_atomic(&self.file(&record.key), &bytes)
    }

    fn remove(&self, key: &str) -> Result<bool, ExperimentError> {
        let path = self.file(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(ExperimentError::io("remove", path, e)),
        }
    }
}

/// Records in memory.
#[derive(Debug, Default)]
pub struct MemoryCache {
    records: Mutex<BTreeMap<String, Record>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of records held.
    pub fn len(&self) -> usize {
        self.records.lock().map_or(0, |r| r.len())
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RunCache for MemoryCache {
    fn lookup(&self, key: &str) -> Lookup {
        match self.records.lock() {
            Ok(records) => records.get(key).cloned().map_or(Lookup::Missing, |r| Lookup::Found(Box::new(r))),
            Err(_) => Lookup::Unusable("the cache's lock was poisoned".into()),
        }
    }

    fn store(&self, record: &Record) -> Result<(), ExperimentError> {
        if let Ok(mut records) = self.records.lock() {
            records.insert(record.key.clone(), record.clone());
        }
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<bool, ExperimentError> {
        Ok(self.records.lock().is_ok_and(|mut records| records.remove(key).is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::hand_made;

    fn temporary_folder(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("aesgd-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder
    }

    #[test]
    fn records_round_trip_and_torn_or_foreign_files_are_unusable() {
        let folder = temporary_folder("round-trip");
        let cache = FileCache::in_output(&folder);
        let record = hand_made();
        assert_eq!(cache.lookup(&record.key), Lookup::Missing);
        cache.store(&record).unwrap();
        assert_eq!(cache.lookup(&record.key), Lookup::Found(Box::new(record.clone())));
        // A torn write (truncated JSON) is unusable, so the run is redone.
        fs::write(cache.file(&record.key), b"{\"key\": \"trunc").unwrap();
        assert!(matches!(cache.lookup(&record.key), Lookup::Unusable(_)));
        // A record filed under another key is unusable too.
        cache.store(&record).unwrap();
        fs::copy(cache.file(&record.key), cache.file("other")).unwrap();
        assert!(matches!(cache.lookup("other"), Lookup::Unusable(why) if why.contains("key k")));
        // An edited record (valid JSON, support changed) fails its checksum.
        let edited = fs::read_to_string(cache.file(&record.key))
            .unwrap()
            .replace("\\\"support\\\":1,", "\\\"support\\\":10,");
        assert_ne!(
            edited,
            fs::read_to_string(cache.file(&record.key)).unwrap(),
            "the edit must change the file"
        );
        fs::write(cache.file(&record.key), edited).unwrap();
        assert!(matches!(cache.lookup(&record.key), Lookup::Unusable(why) if why.contains("checksum")));
        assert!(cache.remove(&record.key).unwrap());
        assert_eq!(cache.lookup(&record.key), Lookup::Missing);
        assert!(!cache.remove(&record.key).unwrap());
        // A completed write leaves no temporary file behind.
        cache.store(&record).unwrap();
        let leftovers = fs::read_dir(cache.folder())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(leftovers, 0);
        let merged = FileCache::new(folder.join("merged"));
        assert_eq!(merged.merge_from(&cache).unwrap(), 1);
        assert_eq!(merged.lookup(&record.key), Lookup::Found(Box::new(record)));
        assert!(merged.merge_from(&FileCache::new(folder.join("absent"))).is_err());
        fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn the_memory_cache_behaves_like_the_file_cache() {
        let cache = MemoryCache::new();
        let record = hand_made();
        assert_eq!(cache.lookup(&record.key), Lookup::Missing);
        cache.store(&record).unwrap();
        assert_eq!(cache.lookup(&record.key), Lookup::Found(Box::new(record.clone())));
        assert_eq!(cache.len(), 1);
        assert!(cache.remove(&record.key).unwrap());
        assert!(cache.is_empty());
    }
}
