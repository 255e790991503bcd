//! Committed archives through the whole reproduction: a run read from an archive gives the
//! report that computing it gives; a member that fails its checksum is left out and computed;
//! a stale archive (an intact record that the code no longer computes) stops the reproduction
//! before anything of it is cached; a file that is no archive is an error naming it.

use aesgd_core::run::Interrupt;
use aesgd_experiment::committed::{Imported, archive_folder, pack};
use aesgd_experiment::{ExperimentError, FileCache, Lookup, Plan, RunCache, load_specs};
use aesgd_report::{ReportError, Reproduction, ReproductionEvents, ReproductionOptions, reproduce};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const SPEC: &str = r#"id = "small"
kind = "claim"
title = "t"
statement = "s"
[sweep]
activation = ["relu", "linear"]
n = [4]
batch = [1, "n"]
eta = [0.1]
seeds = 3
max_steps = 100000
[[criterion]]
name = "c"
statistic = "mean"
metric = "align_init"
pass = "ci_within"
within = [0, 1]
"#;

fn folder(name: &str) -> PathBuf {
    let f = std::env::temp_dir().join(format!("aesgd-committed-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&f);
    fs::create_dir_all(&f).unwrap();
    f
}

/// What the reproduction said about committed runs: (imported, left out, recomputed).
type Told = Option<(usize, usize, usize)>;

#[derive(Default)]
struct Seen(Mutex<Told>);

impl ReproductionEvents for Seen {
    fn committed(&self, imported: &Imported, sample: usize) {
        *self.0.lock().unwrap() = Some((imported.records.len(), imported.unusable.len(), sample));
    }
}

fn options(specs: &Path, out: &Path, committed: bool) -> ReproductionOptions {
    ReproductionOptions {
        specs: specs.to_path_buf(),
        out: out.to_path_buf(),
        quick: false,
        only: Vec::new(),
        threads: 2,
        fresh: false,
        shard: None,
        revision: "test".into(),
        committed,
    }
}

fn run(specs: &Path, out: &Path, committed: bool) -> (Result<Reproduction, ReportError>, Told) {
    let seen = Seen::default();
    let result = reproduce(&options(specs, out, committed), &seen, &Interrupt::new());
    (result, seen.0.into_inner().unwrap())
}

fn computed(result: Result<Reproduction, ReportError>) -> usize {
    match result {
        Ok(Reproduction::Report(written)) => written.computed,
        Ok(Reproduction::Shard { .. }) => panic!("a shard"),
        Err(e) => panic!("{e}"),
    }
}

/// A gzipped tar of every file of `cache` as `cache/<name>`, as `tar -czf` would write it.
fn archive_of(cache: &Path, path: &Path) {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gzip);
    builder.append_dir_all("cache", cache).unwrap();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, builder.into_inner().unwrap().finish().unwrap()).unwrap();
}

fn specs_folder(root: &Path) -> PathBuf {
    let specs = root.join("specs");
    fs::create_dir_all(&specs).unwrap();
    fs::write(specs.join("small.toml"), SPEC).unwrap();
    specs
}

/// A fresh folder with the spec folder and every run computed into `computed/`: (the folder,
/// the spec folder, the cache of the computed runs).
fn computed_folder(name: &str) -> (PathBuf, PathBuf, FileCache) {
    let root = folder(name);
    let specs = specs_folder(&root);
    assert_eq!(computed(run(&specs, &root.join("computed"), false).0), 12);
    let cache = FileCache::in_output(&root.join("computed"));
    (root, specs, cache)
}

fn plan(specs: &Path) -> Plan {
    Plan::new(load_specs(specs, &[]).unwrap(), false).unwrap()
}

#[test]
fn runs_read_from_an_archive_give_the_report_that_computing_them_gives() {
    let root = folder("same");
    let specs = specs_folder(&root);
    let (result, seen) = run(&specs, &root.join("computed"), true);
    assert_eq!((computed(result), seen), (12, None), "no archive yet: every run is computed");
    // Packing twice gives the same bytes: the archive changes only when a record does.
    let archive = archive_folder(&specs).join("small.tar.gz");
    let cache = FileCache::in_output(&root.join("computed"));
    assert_eq!(pack(&plan(&specs), &cache, &archive, &|_| true).unwrap(), 12);
    let first = fs::read(&archive).unwrap();
    // The same records in files of other times (copies are new files) give the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let copy = FileCache::new(root.join("copy"));
    fs::create_dir_all(copy.folder()).unwrap();
    for key in cache.keys().unwrap() {
        fs::copy(cache.file(&key), copy.file(&key)).unwrap();
    }
    let again = root.join("again.tar.gz");
    pack(&plan(&specs), &copy, &again, &|_| true).unwrap();
    assert_eq!(fs::read(&again).unwrap(), first);
    // A selection packs only the runs of its points, and a selection of none is refused.
    let some = root.join("some.tar.gz");
    let batches: BTreeSet<usize> =
        plan(&specs).experiments[0].points.iter().map(|p| p.config.batch).collect();
    let first_batch = *batches.first().unwrap();
    let selected = pack(&plan(&specs), &cache, &some, &|c| c.batch == first_batch).unwrap();
    assert!(selected > 0 && selected < 12, "{selected} of 12");
    assert!(pack(&plan(&specs), &cache, &root.join("none.tar.gz"), &|_| false).is_err());
    assert!(!root.join("none.tar.gz").exists());

    let (result, seen) = run(&specs, &root.join("read"), true);
    // All 12 read, none left out; one run of each of the 4 grid points (tiny runs, well within
    // the budget) computed again.
    assert_eq!((computed(result), seen), (0, Some((12, 0, 4))));
    for name in ["claims.json", "REPORT.md", "runs/small.csv"] {
        let (a, b) = (
            fs::read_to_string(root.join("computed").join(name)),
            fs::read_to_string(root.join("read").join(name)),
        );
        if name == "runs/small.csv" {
            // The wall time is the one column that differs between the two.
            let strip =
                |t: String| t.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect::<Vec<_>>();
            assert_eq!(strip(a.unwrap()), strip(b.unwrap()));
        } else {
            assert_eq!(a.unwrap(), b.unwrap(), "{name}");
        }
    }
    // Without committed runs every run is computed, and so do --fresh and --quick (this spec has
    // no quick table, so its quick runs are its full runs, all in the archive).
    let (result, seen) = run(&specs, &root.join("without"), false);
    assert_eq!((computed(result), seen), (12, None));
    let fresh = ReproductionOptions { fresh: true, ..options(&specs, &root.join("read"), true) };
    let quick = ReproductionOptions { quick: true, ..options(&specs, &root.join("quick"), true) };
    for options in [fresh, quick] {
        let seen = Seen::default();
        let result = reproduce(&options, &seen, &Interrupt::new());
        assert_eq!((computed(result), seen.0.into_inner().unwrap()), (12, None));
    }
    // An archive that holds none of the runs to do is read, and nothing is said of it.
    fs::write(specs.join("small.toml"), SPEC.replace("eta = [0.1]", "eta = [0.2]")).unwrap();
    let (result, seen) = run(&specs, &root.join("other"), true);
    assert_eq!((computed(result), seen), (12, None));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_member_that_fails_its_checksum_is_left_out_and_its_run_computed() {
    let (root, specs, cache) = computed_folder("damaged");
    let key = plan(&specs).jobs[5].key.clone();
    let file = cache.file(&key);
    let text = fs::read_to_string(&file).unwrap();
    let sha = text.split('"').nth(3).unwrap().to_string();
    assert_eq!(sha.len(), 64, "{text}");
    fs::write(&file, text.replace(&sha, &"0".repeat(64))).unwrap();
    archive_of(cache.folder(), &archive_folder(&specs).join("small.tar.gz"));

    let (result, seen) = run(&specs, &root.join("read"), true);
    assert_eq!(seen, Some((11, 1, 4)));
    assert_eq!(computed(result), 1, "the damaged run is computed");
    let read = FileCache::in_output(&root.join("read"));
    assert!(matches!(read.lookup(&key), Lookup::Found(_)));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_record_of_another_run_and_an_oversized_member_are_left_out() {
    let (root, specs, cache) = computed_folder("relabelled");
    let plan = plan(&specs);
    // Job 1's record filed under job 0's key, with a checksum that matches.
    let (zero, one) = (&plan.jobs[0], &plan.jobs[1]);
    let mut other = cache.lookup(&one.key).record().unwrap();
    other.key = zero.key.clone();
    cache.store(&other).unwrap();
    // Job 2's file longer than any record may be.
    let big = aesgd_experiment::committed::MAX_MEMBER_BYTES as usize + 1;
    fs::write(cache.file(&plan.jobs[2].key), " ".repeat(big)).unwrap();
    let archive = archive_folder(&specs).join("small.tar.gz");
    archive_of(cache.folder(), &archive);
    let todo: Vec<_> = plan.jobs.iter().collect();
    let imported = aesgd_experiment::committed::import(&[archive], &plan, &todo).unwrap();
    assert_eq!(imported.records.len(), 10);
    let reasons: Vec<&str> = imported.unusable.iter().map(|(_, why)| why.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("it is the record of another run: ")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("more than ")), "{reasons:?}");
    // Through the reproduction: both runs are computed, and the report is the computed one.
    let (result, seen) = run(&specs, &root.join("read"), true);
    assert_eq!((computed(result), seen), (2, Some((10, 2, 4))));
    let claims = |out: &str| fs::read_to_string(root.join(out).join("claims.json")).unwrap();
    assert_eq!(claims("read"), claims("computed"));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_stale_archive_stops_the_reproduction_and_nothing_of_it_is_cached() {
    let (root, specs, cache) = computed_folder("stale");
    // An intact record (its checksum matches) that the code does not compute: run index 0 of
    // the first point, the one the sample computes again, ends one step later than it did.
    let plan = plan(&specs);
    let job = plan.jobs.iter().find(|j| j.point == 0 && j.run_index == 0).unwrap();
    let mut record = cache.lookup(&job.key).record().unwrap();
    record.steps_run += 1;
    cache.store(&record).unwrap();
    archive_of(cache.folder(), &archive_folder(&specs).join("small.tar.gz"));

    let out = root.join("read");
    let (result, seen) = run(&specs, &out, true);
    assert_eq!(seen, Some((12, 0, 4)));
    match result {
        Err(ReportError::Experiment(ExperimentError::CommittedRunDiffers {
            key,
            experiment,
            difference,
        })) => {
            assert_eq!((key.as_str(), experiment.as_str()), (job.key.as_str(), "small"));
            let expected =
                format!("steps_run: committed {}, computed {}", record.steps_run, record.steps_run - 1);
            assert_eq!(difference, expected);
        }
        other => panic!("expected a stale archive, got {other:?}"),
    }
    assert_eq!(FileCache::in_output(&out).keys().unwrap(), Vec::<String>::new(), "nothing cached");
    // Without committed runs the same folders reproduce.
    assert_eq!(computed(run(&specs, &out, false).0), 12);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_file_that_is_no_archive_is_an_error_naming_it() {
    let root = folder("broken");
    let specs = specs_folder(&root);
    let archive = archive_folder(&specs).join("small.tar.gz");
    fs::create_dir_all(archive.parent().unwrap()).unwrap();
    fs::write(&archive, "version https://git-lfs.github.com/spec/v1\n").unwrap();
    match run(&specs, &root.join("read"), true).0 {
        Err(ReportError::Experiment(ExperimentError::CommittedArchive { path, .. })) => {
            assert_eq!(path, archive)
        }
        other => panic!("expected an unreadable archive, got {other:?}"),
    }
    fs::remove_dir_all(&root).unwrap();
}
