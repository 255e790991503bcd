//! Committed runs: finished records shipped beside the specs as gzipped tar archives of cache
//! files (`repro/cache/*.tar.gz`, each member `cache/<key>.json` exactly as [`FileCache`] wrote
//! it), so that a reproduction whose longest experiment needs hours of CPU can report from runs
//! computed once.
//!
//! An archive is never trusted:
//! - [`import`] reads each member as the cache reads its own files (checksum, JSON, key), and
//!   only the runs that the plan needs and the cache lacks; a member that fails a check is left
//!   out and its run is computed like any missing one. It returns the records and stores none.
//! - [`verification_sample`] picks imported runs to compute again (one run of each grid point,
//!   the cheapest points first, within a budget of estimated CPU time), and [`disagreement`]
//!   compares each with the committed record in every field but the wall time. A caller stores
//!   the imported records in its cache only when every one agrees: otherwise the code changed
//!   its results without a new cache format, and every run of the archives is suspect.
//!
//! [`pack`] writes an archive of a plan's cached runs, the same bytes for the same records.
//!
//! This module does not decide whether archives are used (its caller does) and never prints.

use crate::atomic::write_atomic;
use crate::cache::{FileCache, Lookup, RunCache, parse_entry};
use crate::error::ExperimentError;
use crate::plan::{Job, Plan};
use crate::record::Record;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How an archive's name ends.
pub const ARCHIVE_SUFFIX: &str = ".tar.gz";

/// The folder of the archives in a spec folder: `SPECS/cache`.
pub fn archive_folder(specs: &Path) -> PathBuf {
    specs.join("cache")
}

/// The largest archive member read, in bytes (a record with its trajectory is some kilobytes);
/// a larger one is unusable, so that a damaged header cannot make the reader allocate.
pub const MAX_MEMBER_BYTES: u64 = 16 << 20;

/// The estimated CPU time ([`crate::cost::estimated_run_nanos`]) that a reproduction spends
/// computing imported runs again, in nanoseconds: 20 s.
pub const VERIFICATION_BUDGET_NANOS: f64 = 2e10;

/// The archives in `folder`, sorted by name; none when the folder does not exist.
pub fn archives_in(folder: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ExperimentError::io("read", folder, e)),
    };
    let mut archives: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.to_str().is_some_and(|s| s.ends_with(ARCHIVE_SUFFIX)))
        .collect();
    archives.sort();
    Ok(archives)
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The archives read.
    pub archives: Vec<PathBuf>,
    /// The records read, in archive order, one per key.
    pub records: Vec<Record>,
    /// Members that the plan needed but that failed their checks: the member and why. Their
    /// runs are computed.
    pub unusable: Vec<(String, String)>,
}

/// The key of an archive member `cache/<key>.json`, if it is one.
fn member_key(path: &Path) -> Option<String> {
    let mut parts = path.components();
    let folder = parts.next()?.as_os_str().to_str()?;
    let name = parts.next()?.as_os_str().to_str()?;
    if folder != "cache" || parts.next().is_some() {
        return None;
    }
    name.strip_suffix(".json").map(String::from)
}

impl Imported {
    /// The keys of the records read.
    pub fn keys(&self) -> BTreeSet<String> {
        self.records.iter().map(|r| r.key.clone()).collect()
    }
}

/// Reads the runs of `archives` whose keys are in `wanted` (the runs a plan needs and the cache
/// lacks), each checked as the cache checks its own files. An archive that cannot be read as a
/// gzipped tar is an error naming it.
pub fn import(archives: &[PathBuf], wanted: &BTreeSet<String>) -> Result<Imported, ExperimentError> {
    let mut imported = Imported { archives: archives.to_vec(), ..Imported::default() };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for archive in archives {
        let broken = |reason: String| ExperimentError::CommittedArchive { path: archive.clone(), reason };
        let file = fs::File::open(archive).map_err(|e| ExperimentError::io("read", archive, e))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
        for member in tar.entries().map_err(|e| broken(e.to_string()))? {
            let mut member = member.map_err(|e| broken(e.to_string()))?;
            let path = member.path().map_err(|e| broken(e.to_string()))?.into_owned();
            let Some(key) = member_key(&path) else { continue };
            if !wanted.contains(&key) || seen.contains(&key) {
                continue;
            }
            let name = format!("{}:{}", archive.display(), path.display());
            let size = member.header().size().map_err(|e| broken(e.to_string()))?;
            if size > MAX_MEMBER_BYTES {
                imported.unusable.push((name, format!("{size} bytes, more than {MAX_MEMBER_BYTES}")));
                continue;
            }
            let mut text = String::with_capacity(size as usize);
            if let Err(e) = member.read_to_string(&mut text) {
                imported.unusable.push((name, format!("unreadable: {e}")));
                continue;
            }
            match parse_entry(&text, &key) {
                Lookup::Found(record) => {
                    seen.insert(key);
                    imported.records.push(*record);
                }
                Lookup::Unusable(reason) => imported.unusable.push((name, reason)),
                Lookup::Missing => {}
            }
        }
    }
    Ok(imported)
}

/// The imported runs to compute again: of each grid point with imported runs, the one of the
/// lowest run index; the points in order of their estimated cost, the cheapest first, as many
/// as fit in `budget_nanos` of estimated CPU time (always at least one when anything was
/// imported).
pub fn verification_sample<'p>(
    plan: &'p Plan,
    imported: &BTreeSet<String>,
    budget_nanos: f64,
) -> Vec<&'p Job> {
    let mut first_of_point: BTreeMap<(usize, usize), &Job> = BTreeMap::new();
    for job in plan.jobs.iter().filter(|j| imported.contains(&j.key)) {
        let slot = first_of_point.entry((job.experiment, job.point)).or_insert(job);
        if job.run_index < slot.run_index {
            *slot = job;
        }
    }
    let mut costed: Vec<(f64, &Job)> = first_of_point
        .into_values()
        .map(|job| (crate::cost::estimated_run_nanos(&plan.point_of(job).config), job))
        .collect();
    costed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut spent = 0.0;
    let mut sample = Vec::new();
    for (cost, job) in costed {
        if !sample.is_empty() && spent + cost > budget_nanos {
            break;
        }
        spent += cost;
        sample.push(job);
    }
    sample
}

/// The first field in which two records of one run differ, ignoring the wall time (the only
/// field that depends on the machine), as `field: committed VALUE, computed VALUE`; `None`
/// when they agree.
pub fn disagreement(committed: &Record, computed: &Record) -> Option<String> {
    let as_value = |record: &Record| {
        let timeless = Record { wall_seconds: 0.0, ..record.clone() };
        serde_json::to_value(timeless).unwrap_or(serde_json::Value::Null)
    };
    let (a, b) = (as_value(committed), as_value(computed));
    if a == b {
        return None;
    }
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (field, value) in a {
            let other = b.get(field).unwrap_or(&serde_json::Value::Null);
            if value != other {
                return Some(format!("{field}: committed {value}, computed {other}"));
            }
        }
    }
    Some("the records differ".into())
}

/// Writes an archive of every run of `plan` from `cache` to `path` (atomically): members
/// `cache/<key>.json` in key order, each the cache's file unchanged, with fixed metadata, so that
/// the same records give the same bytes. A run missing from the cache is an error naming it.
/// Returns the number of runs.
pub fn pack(plan: &Plan, cache: &FileCache, path: &Path) -> Result<usize, ExperimentError> {
    let keys: BTreeSet<&str> = plan.jobs.iter().map(|j| j.key.as_str()).collect();
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut builder = tar::Builder::new(gzip);
    let written = |e: std::io::Error| ExperimentError::io("write", path, e);
    for key in &keys {
        if !matches!(cache.lookup(key), Lookup::Found(_)) {
            return Err(ExperimentError::MissingRun { key: (*key).to_string() });
        }
        let file = cache.file(key);
        let bytes = fs::read(&file).map_err(|e| ExperimentError::io("read", &file, e))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder.append_data(&mut header, format!("cache/{key}.json"), bytes.as_slice()).map_err(written)?;
    }
    let bytes = builder.into_inner().and_then(flate2::write::GzEncoder::finish).map_err(written)?;
    write_atomic(path, &bytes)?;
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::hand_made;

    #[test]
    fn only_cache_files_at_the_top_of_the_cache_folder_are_members() {
        assert_eq!(member_key(Path::new("cache/abc.json")), Some("abc".into()));
        for other in ["abc.json", "cache/abc.txt", "cache/sub/abc.json", "other/abc.json", "cache"] {
            assert_eq!(member_key(Path::new(other)), None, "{other}");
        }
    }

    #[test]
    fn records_that_differ_only_in_wall_time_agree_and_any_other_field_is_named() {
        let committed = hand_made();
        let later = Record { wall_seconds: committed.wall_seconds + 1.0, ..committed.clone() };
        assert_eq!(disagreement(&committed, &later), None);
        let moved = Record { loss_gap: Some(0.5), ..committed.clone() };
        let text = disagreement(&committed, &moved).expect("a different loss gap");
        assert!(text.starts_with("loss_gap: committed "), "{text}");
        assert!(text.ends_with("computed 0.5"), "{text}");
    }

    fn plan() -> Plan {
        let text = "id = \"v\"\nkind = \"claim\"\ntitle = \"t\"\nstatement = \"s\"\n[sweep]\nactivation = [\"relu\"]\nn = [20]\nbatch = [1, 19]\neta = [0.1]\nseeds = 4\nmax_steps = 100000000";
        let spec = crate::spec::parse(Path::new("repro/v.toml"), text).unwrap();
        Plan::new(vec![spec], false).unwrap()
    }

    #[test]
    fn the_sample_takes_the_lowest_run_index_of_the_cheapest_points_within_the_budget() {
        let plan = plan();
        let cost = |point: usize| crate::cost::estimated_run_nanos(&plan.experiments[0].points[point].config);
        assert!(cost(1) > 10.0 * cost(0), "b = 19 is the longer point");
        // Run 0 of b = 1 was not imported: its lowest imported run is 1.
        let imported: BTreeSet<String> =
            plan.jobs.iter().filter(|j| j.run_index > 0).map(|j| j.key.clone()).collect();
        let picked = |budget: f64| -> Vec<(usize, u64)> {
            verification_sample(&plan, &imported, budget).iter().map(|j| (j.point, j.run_index)).collect()
        };
        assert_eq!(picked(f64::INFINITY), vec![(0, 1), (1, 1)]);
        assert_eq!(picked(cost(0) + cost(1) / 2.0), vec![(0, 1)]);
        // The cheapest point is computed again whatever the budget.
        assert_eq!(picked(0.0), vec![(0, 1)]);
        assert!(verification_sample(&plan, &BTreeSet::new(), f64::INFINITY).is_empty());
    }
}
