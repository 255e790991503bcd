//! Committed runs: finished records shipped beside the specs as gzipped tar archives of cache
//! files (`repro/cache/*.tar.gz`, each member `cache/<key>.json` exactly as [`FileCache`] wrote
//! it), so that a reproduction whose longest experiment needs hours of CPU can report from runs
//! computed once.
//!
//! An archive is never trusted:
//! - [`import`] reads each member as the cache reads its own files (checksum, JSON, key), checks
//!   that the record is that of the run it is filed under, and reads only the runs that the plan
//!   needs and the cache lacks, within size limits; a member that fails a check is left
//!   out and its run is computed like any missing one. It returns the records and stores none.
//! - [`verification_sample`] picks imported runs to compute again (one run of the cheapest grid
//!   point of each experiment, then of the other points, the cheapest first, within a budget of
//!   estimated CPU time), and [`disagreement`]
//!   compares each with the committed record in every field but the wall time. A caller stores
//!   the imported records in its cache only when every one agrees: otherwise the code changed
//!   its results without a new cache format, and every run of the archives is suspect.
//!
//! [`pack`] writes an archive of a plan's cached runs, the same bytes for the same records.
//!
//! This module does not decide whether archives are used (its caller does) and never prints.

use crate::atomic::write_atomic;
use crate::cache::{FileCache, Lookup, parse_entry};
use crate::error::ExperimentError;
use crate::plan::{Job, Plan};
use crate::record::Record;
use aesgd_core::RunConfig;
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
    /// For each record, the index in `archives` of the archive it was read from.
    pub sources: Vec<usize>,
    /// Members that the plan needed but that failed their checks: the member and why. Their
    /// runs are computed.
    pub unusable: Vec<(String, String)>,
}

impl Imported {
    /// The keys of the records read.
    pub fn keys(&self) -> BTreeSet<String> {
        self.records.iter().map(|r| r.key.clone()).collect()
    }

    /// The keys of the records read from each archive, in the order of `archives`.
    pub fn keys_by_archive(&self) -> Vec<BTreeSet<String>> {
        let mut keys = vec![BTreeSet::new(); self.archives.len()];
        for (record, &source) in self.records.iter().zip(&self.sources) {
            keys[source].insert(record.key.clone());
        }
        keys
    }
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

/// The most bytes read from one archive, uncompressed: a bound on what a damaged or hostile
/// archive can make the reader hold (the committed one is about 12 MB).
pub const MAX_ARCHIVE_BYTES: u64 = 1 << 30;

/// Reads the runs of `todo` (jobs of `plan`: the runs the cache lacks) from `archives`, each
/// checked as the cache checks its own files and against its job (seed, run index and the
/// configuration fields a record carries). An archive that cannot be read as a gzipped tar, or
/// that holds more than [`MAX_ARCHIVE_BYTES`], is an error naming it.
pub fn import(archives: &[PathBuf], plan: &Plan, todo: &[&Job]) -> Result<Imported, ExperimentError> {
    let wanted: BTreeMap<&str, &Job> = todo.iter().map(|j| (j.key.as_str(), *j)).collect();
    let mut imported = Imported { archives: archives.to_vec(), ..Imported::default() };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // The members left out, by key: one that another archive supplies is not left out.
    let mut left_out: Vec<(String, (String, String))> = Vec::new();
    for (source, archive) in archives.iter().enumerate() {
        let broken = |reason: String| ExperimentError::CommittedArchive { path: archive.clone(), reason };
        let file = fs::File::open(archive).map_err(|e| ExperimentError::io("read", archive, e))?;
        let gzip = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
        let mut tar = tar::Archive::new(gzip.take(MAX_ARCHIVE_BYTES));
        for member in tar.entries().map_err(|e| broken(e.to_string()))? {
            let mut member = member.map_err(|e| broken(e.to_string()))?;
            let path = member.path().map_err(|e| broken(e.to_string()))?.into_owned();
            let Some(key) = member_key(&path) else { continue };
            let Some(&job) = wanted.get(key.as_str()) else { continue };
            if seen.contains(&key) {
                continue;
            }
            let name = format!("{}:{}", archive.display(), path.display());
            // The size that is read (a PAX record may override the header's), and no more.
            let mut text = String::new();
            match (&mut member).take(MAX_MEMBER_BYTES + 1).read_to_string(&mut text) {
                Ok(read) if read as u64 > MAX_MEMBER_BYTES => {
                    left_out.push((key, (name, format!("more than {MAX_MEMBER_BYTES} bytes"))));
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    left_out.push((key, (name, format!("unreadable: {e}"))));
                    continue;
                }
            }
            match parse_entry(&text, &key) {
                Lookup::Found(record) => match identity_mismatch(&record, plan, job) {
                    None => {
                        seen.insert(key);
                        imported.records.push(*record);
                        imported.sources.push(source);
                    }
                    Some(why) => left_out.push((key, (name, why))),
                },
                Lookup::Unusable(reason) => left_out.push((key, (name, reason))),
                Lookup::Missing => {}
            }
        }
    }
    imported.unusable =
        left_out.into_iter().filter(|(key, _)| !seen.contains(key)).map(|(_, member)| member).collect();
    Ok(imported)
}

/// Where a record's own account of its run (seed, run index, configuration fields) differs
/// from the job it is filed under, if it does.
fn identity_mismatch(record: &Record, plan: &Plan, job: &Job) -> Option<String> {
    let point = plan.point_of(job);
    let c = &point.config;
    let fields: [(&str, String, String); 11] = [
        ("seed", record.seed.to_string(), point.seed.to_string()),
        ("run_index", record.run_index.to_string(), job.run_index.to_string()),
        ("activation", record.activation.clone(), c.activation.name().to_string()),
        ("neurons", record.neurons.to_string(), c.neurons.to_string()),
        ("n", record.n.to_string(), c.n.to_string()),
        ("d", record.d.to_string(), c.d.to_string()),
        ("batch", record.batch.to_string(), c.batch.to_string()),
        ("eta", format!("{:?}", record.eta), format!("{:?}", c.eta)),
        ("schedule", record.schedule.clone(), c.schedule.name().to_string()),
        ("data", record.data.clone(), c.data.name().to_string()),
        ("init_scale", format!("{:?}", record.init_scale), format!("{:?}", c.init_scale)),
    ];
    fields.iter().find(|(_, held, expected)| held != expected).map(|(field, held, expected)| {
        format!("it is the record of another run: {field} = {held}, not {expected}")
    })
}

/// The imported runs to compute again, from the keys read from each archive (`by_archive`):
/// of each grid point with imported runs, the one of the lowest run index. The cheapest point
/// of each experiment always, and the cheapest point of each archive that those leave out (so
/// that every archive has a run computed again, whatever its runs cost, and not counted against
/// the budget); then the other points in order of their estimated cost, the cheapest first, as
/// many as fit in `budget_nanos` of estimated CPU time with the experiments' cheapest points. A
/// run is in the sample once.
pub fn verification_sample<'p>(
    plan: &'p Plan,
    by_archive: &[BTreeSet<String>],
    budget_nanos: f64,
) -> Vec<&'p Job> {
    let imported: BTreeSet<&str> = by_archive.iter().flatten().map(String::as_str).collect();
    let mut first_of_point: BTreeMap<(usize, usize), &Job> = BTreeMap::new();
    for job in plan.jobs.iter().filter(|j| imported.contains(j.key.as_str())) {
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
    let mut sample: Vec<&Job> = Vec::new();
    let take = |cost: f64, job: &'p Job, sample: &mut Vec<&'p Job>, spent: &mut f64| {
        if sample.iter().all(|s| s.key != job.key) {
            *spent += cost;
            sample.push(job);
        }
    };
    let mut experiments: BTreeSet<usize> = BTreeSet::new();
    for &(cost, job) in &costed {
        if experiments.insert(job.experiment) {
            take(cost, job, &mut sample, &mut spent);
        }
    }
    // An archive's own run does not count against the budget: the budget is for the points
    // beyond those that must be checked.
    for keys in by_archive {
        let represented = sample.iter().any(|s| keys.contains(&s.key));
        if let Some(&(_, job)) = costed.iter().find(|(_, job)| !represented && keys.contains(&job.key)) {
            take(0.0, job, &mut sample, &mut spent);
        }
    }
    for &(cost, job) in &costed {
        if spent + cost > budget_nanos {
            break;
        }
        take(cost, job, &mut sample, &mut spent);
    }
    sample
}

/// The first field in which two records of one run differ, ignoring the wall time (the only
/// field that depends on the machine), as `field: committed VALUE, computed VALUE`; `None`
/// when their JSON texts (the cache's own form, exact for every float) are the same.
pub fn disagreement(committed: &Record, computed: &Record) -> Option<String> {
    let timeless = |record: &Record| Record { wall_seconds: 0.0, ..record.clone() };
    let (a, b) = (timeless(committed), timeless(computed));
    match (serde_json::to_string(&a), serde_json::to_string(&b)) {
        (Ok(x), Ok(y)) if x == y => return None,
        (Ok(_), Ok(_)) => {}
        _ => return Some("a record that cannot be written as JSON".into()),
    }
    if let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(&a), serde_json::to_value(&b))
    {
        for (field, value) in &a {
            let other = b.get(field).unwrap_or(&serde_json::Value::Null);
            // As text, so that -0.0 and 0.0 differ as in the records' JSON.
            let (held, found) = (value.to_string(), other.to_string());
            if held != found {
                return Some(format!("{field}: committed {value}, computed {other}"));
            }
        }
    }
    Some("the records differ".into())
}

/// Writes an archive of every run of `plan` whose configuration `keep` accepts, from `cache` to
/// `path` (atomically): members `cache/<key>.json` in key order, each the cache's file
/// unchanged, with fixed metadata, so that the same records give the same bytes. A run missing
/// from the cache is an error naming it, and so is a selection of no run. Returns the number of
/// runs.
pub fn pack(
    plan: &Plan,
    cache: &FileCache,
    path: &Path,
    keep: &dyn Fn(&RunConfig) -> bool,
) -> Result<usize, ExperimentError> {
    let keys: BTreeSet<&str> =
        plan.jobs.iter().filter(|j| keep(&plan.point_of(j).config)).map(|j| j.key.as_str()).collect();
    if keys.is_empty() {
        return Err(ExperimentError::Argument {
            name: "runs to pack",
            value: "none".into(),
            allowed: "a selection of at least one run of the experiments".into(),
        });
    }
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut builder = tar::Builder::new(gzip);
    let written = |e: std::io::Error| ExperimentError::io("write", path, e);
    for key in &keys {
        // Read once, checked as the cache checks it, and packed unchanged.
        let text = fs::read_to_string(cache.file(key)).unwrap_or_default();
        if !matches!(parse_entry(&text, key), Lookup::Found(_)) {
            return Err(ExperimentError::MissingRun { key: (*key).to_string() });
        }
        let bytes = text.into_bytes();
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
        // Bit for bit: a zero of the other sign is a difference.
        let (plus, minus) = (
            Record { loss_gap: Some(0.0), ..committed.clone() },
            Record { loss_gap: Some(-0.0), ..committed },
        );
        assert_eq!(disagreement(&plus, &minus).as_deref(), Some("loss_gap: committed 0.0, computed -0.0"));
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
            verification_sample(&plan, std::slice::from_ref(&imported), budget)
                .iter()
                .map(|j| (j.point, j.run_index))
                .collect()
        };
        assert_eq!(picked(f64::INFINITY), vec![(0, 1), (1, 1)]);
        assert_eq!(picked(cost(0) + cost(1) / 2.0), vec![(0, 1)]);
        // The cheapest point is computed again whatever the budget.
        assert_eq!(picked(0.0), vec![(0, 1)]);
        assert!(verification_sample(&plan, &[], f64::INFINITY).is_empty());
    }

    #[test]
    fn the_sample_holds_a_run_of_every_archive_whatever_the_budget() {
        // One archive holds the cheap point's runs, the other the dear point's: with no budget
        // the dear point is still computed again, once, because its archive would go unchecked.
        let plan = plan();
        let of_point = |point: usize| -> BTreeSet<String> {
            plan.jobs.iter().filter(|j| j.point == point).map(|j| j.key.clone()).collect()
        };
        let picked = |by_archive: &[BTreeSet<String>]| -> Vec<(usize, u64)> {
            verification_sample(&plan, by_archive, 0.0).iter().map(|j| (j.point, j.run_index)).collect()
        };
        assert_eq!(picked(&[of_point(0), of_point(1)]), vec![(0, 0), (1, 0)]);
        assert_eq!(picked(&[of_point(1), of_point(0)]), vec![(0, 0), (1, 0)]);
        // One archive of both points: its cheapest point stands for it.
        let both: BTreeSet<String> = of_point(0).union(&of_point(1)).cloned().collect();
        assert_eq!(picked(std::slice::from_ref(&both)), vec![(0, 0)]);
        // A run two archives hold is computed once.
        assert_eq!(picked(&[both.clone(), both]), vec![(0, 0)]);
    }

    #[test]
    fn an_archives_own_run_leaves_the_budget_to_the_other_points() {
        // Points b = 1, 2, 19; one archive holds b = 19, the other b = 1 and 2. With a budget of
        // the two cheap points, b = 2 is still checked: b = 19 does not count against it.
        let text = "id = \"w\"\nkind = \"claim\"\ntitle = \"t\"\nstatement = \"s\"\n[sweep]\nactivation = [\"relu\"]\nn = [20]\nbatch = [1, 2, 19]\neta = [0.1]\nseeds = 2\nmax_steps = 100000000";
        let plan =
            Plan::new(vec![crate::spec::parse(Path::new("repro/w.toml"), text).unwrap()], false).unwrap();
        let batch_of = |job: &Job| plan.point_of(job).config.batch;
        let of_batches = |batches: &[usize]| -> BTreeSet<String> {
            plan.jobs.iter().filter(|j| batches.contains(&batch_of(j))).map(|j| j.key.clone()).collect()
        };
        let cost = |batch: usize| {
            let point = plan.experiments[0].points.iter().find(|p| p.config.batch == batch).unwrap();
            crate::cost::estimated_run_nanos(&point.config)
        };
        assert!(cost(19) > cost(1) + cost(2), "b = 19 is the dear point");
        let sample = verification_sample(&plan, &[of_batches(&[19]), of_batches(&[1, 2])], cost(1) + cost(2));
        let mut batches: Vec<usize> = sample.iter().map(|j| batch_of(j)).collect();
        batches.sort_unstable();
        assert_eq!(batches, vec![1, 2, 19]);
    }

    #[test]
    fn the_sample_holds_the_cheapest_point_of_every_experiment_whatever_the_budget() {
        let text = |id: &str, batch: &str| {
            format!(
                "id = \"{id}\"\nkind = \"claim\"\ntitle = \"t\"\nstatement = \"s\"\n[sweep]\nactivation = [\"relu\"]\nn = [20]\nbatch = {batch}\neta = [0.2]\nseeds = 2\nmax_steps = 100000000"
            )
        };
        let specs = [("cheap", "[1, 19]"), ("dear", "[19, 10]")].map(|(id, batch)| {
            crate::spec::parse(Path::new(&format!("repro/{id}.toml")), &text(id, batch)).unwrap()
        });
        let plan = Plan::new(specs.to_vec(), false).unwrap();
        let all: BTreeSet<String> = plan.jobs.iter().map(|j| j.key.clone()).collect();
        let picked: Vec<(usize, usize, u64)> = verification_sample(&plan, std::slice::from_ref(&all), 0.0)
            .iter()
            .map(|j| (j.experiment, j.point, j.run_index))
            .collect();
        // b = 1 of the first and b = 10 of the second (cheaper than its b = 19), run 0 of each.
        assert_eq!(picked, vec![(0, 0, 0), (1, 1, 0)]);
    }
}
