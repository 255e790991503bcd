//! A whole reproduction, as every front end runs it: specs to plan, cache, executor, verdicts,
//! figures and the output folder.
//!
//! Flow: the specs are loaded and expanded into a plan; runs already in the cache are reused;
//! with `committed`, runs the cache lacks are read from the archives beside the specs, checked,
//! and a sample of them computed again before they are cached; the rest run in parallel, each
//! cached the moment it finishes, so an interrupted reproduction resumes; then verdicts, figures and reports are computed from the cached records alone, in a
//! fixed order, so they do not depend on thread count. Everything that can be refused (options,
//! specs, the output folder's lock) is refused before any run starts.
//!
//! This module drives the experiment library and the writers of this crate; it never prints. A
//! front end (`cargo xtask repro`, the Python package) passes [`ReproductionEvents`] to show
//! progress, and turns the returned [`Reproduction`] into its own output and exit code.

use crate::claims::{differences, read_expectation};
use crate::error::ReportError;
use crate::plots::draw;
use crate::provenance::Provenance;
use crate::write::{Outputs, write_all};
use aesgd_core::run::Interrupt;
use aesgd_experiment::committed::{
    Imported, VERIFICATION_BUDGET_NANOS, archive_folder, archives_in, disagreement, import,
    verification_sample,
};
use aesgd_experiment::executor::{run_jobs, thread_pool};
use aesgd_experiment::lock::OutputLock;
use aesgd_experiment::plan::Job;
use aesgd_experiment::verdict::judge_experiment;
use aesgd_experiment::{
    ClaimResult, ExperimentError, FileCache, MemoryCache, Plan, Record, RunCache, Spec, load_specs,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to reproduce and where: the options of `cargo xtask repro` (and `aesgd.repro`).
#[derive(Debug, Clone)]
pub struct ReproductionOptions {
    /// The folder of experiment specs.
    pub specs: PathBuf,
    /// The output folder (its `cache/` holds the finished runs).
    pub out: PathBuf,
    /// The small sizes and few seeds of each spec's `[quick]` table.
    pub quick: bool,
    /// Only these experiment ids (empty: all).
    pub only: Vec<String>,
    /// Worker threads (checked: `1..=4 x cores`).
    pub threads: usize,
    /// Clear the selected runs from the cache first, so that they are computed again.
    pub fresh: bool,
    /// Only slice `k` of `n` of the runs: fill the cache and write no report.
    pub shard: Option<(u64, u64)>,
    /// The code revision for the provenance (`run.json`).
    pub revision: String,
    /// Read the runs the cache lacks from the committed archives in `SPECS/cache` first
    /// ([`aesgd_experiment::committed`]), each checked, and a sample of them computed again.
    /// Not with `quick` (a check that everything works computes every run) nor with `fresh`
    /// (which computes the selected runs).
    pub committed: bool,
}

/// What a reproduction tells its front end as it goes. Every method has a default that does
/// nothing. The methods are called from worker threads, hence `Sync`.
pub trait ReproductionEvents: Sync {
    /// `--fresh` cleared this many cached runs of the selection.
    fn cleared(&self, _runs: usize) {}
    /// Committed runs were read (`imported`); `sample` of them are computed again to check
    /// them before they are cached.
    fn committed(&self, _imported: &Imported, _sample: usize) {}
    /// The plan is made: `todo` are the runs to compute; `unusable` cached runs were torn,
    /// edited or failed their checksum and are computed again.
    fn planned(&self, _plan: &Plan, _todo: &[&Job], _unusable: usize) {}
    /// A run finished and is cached.
    fn run_done(&self, _job: &Job) {}
    /// Every run is done (or cached); the report is next.
    fn runs_finished(&self) {}
}

/// Events that nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl ReproductionEvents for NoEvents {}

/// How a reproduction ended.
#[derive(Debug)]
pub enum Reproduction {
    /// A shard: its runs are cached, no report was written.
    Shard {
        /// The slice, `k` of `n`.
        shard: (u64, u64),
        /// The runs of the slice.
        runs: usize,
        /// Where they are cached.
        cache: PathBuf,
    },
    /// The report was written.
    Report(Box<ReportWritten>),
}

/// A written report.
#[derive(Debug)]
pub struct ReportWritten {
    /// Every experiment's verdicts, in spec order.
    pub claims: Vec<ClaimResult>,
    /// The specs judged, in the same order.
    pub specs: Vec<Spec>,
    /// Files of an earlier report in the output folder that this one does not produce, removed.
    pub removed: Vec<String>,
    /// The runs of the reproduction.
    pub runs: usize,
    /// The runs computed now (the rest came from the cache).
    pub computed: usize,
}

impl ReportWritten {
    /// The ids of the claims that do not reproduce.
    pub fn failed(&self) -> Vec<&str> {
        self.claims.iter().filter(|c| c.pass == Some(false)).map(|c| c.id.as_str()).collect()
    }
}

/// Runs a reproduction: checks the options and specs, takes the output folder's lock, computes
/// the runs the cache lacks (each cached as it finishes) and, unless it is a shard, writes the
/// report.
///
/// A requested `interrupt` stops the runs within moments (`ExperimentError::Interrupted`); the
/// runs that finished stay cached and the next reproduction resumes from them.
pub fn reproduce(
    options: &ReproductionOptions,
    events: &dyn ReproductionEvents,
    interrupt: &Interrupt,
) -> Result<Reproduction, ReportError> {
    let started = Instant::now();
    let pool = thread_pool(options.threads)?;
    let specs = load_specs(&options.specs, &options.only)?;
    let mut plan = Plan::new(specs, options.quick)?;
    let _lock = OutputLock::acquire(&options.out)?;
    let cache = FileCache::in_output(&options.out);
    if let Some((k, n)) = options.shard {
        plan.keep_shard(k, n);
    }
    if options.fresh {
        events.cleared(plan.clear_runs(&cache)?);
    }
    let (mut todo, mut unusable) = plan.missing_runs(&cache);
    let mut committed = CommittedUse::default();
    if options.committed && !options.quick && !options.fresh && !todo.is_empty() {
        committed = use_committed(&options.specs, &pool, &plan, &todo, &cache, events, interrupt)?;
        if committed.imported > 0 {
            // Only the runs that were missing can have been filled.
            (todo, unusable) = plan.missing_of(&todo, &cache);
        }
    }
    events.planned(&plan, &todo, unusable);
    let outcome = run_jobs(&pool, &plan, &todo, &cache, &|job: &Job| events.run_done(job), interrupt);
    events.runs_finished();
    outcome?;
    if let Some(shard) = options.shard {
        return Ok(Reproduction::Shard { shard, runs: plan.jobs.len(), cache: cache.folder().to_path_buf() });
    }
    let computed = todo.len();
    let written = report(options, &plan, &cache, started, computed, committed)?;
    Ok(Reproduction::Report(Box::new(written)))
}

/// How many runs came from committed archives, and how many of those were computed again.
#[derive(Debug, Default, Clone, Copy)]
struct CommittedUse {
    imported: usize,
    recomputed: usize,
}

/// Reads the runs of `todo` from the committed archives of the spec folder, computes a sample
/// of them again, and caches them only when every one agrees with its committed record.
fn use_committed(
    specs: &Path,
    pool: &rayon::ThreadPool,
    plan: &Plan,
    todo: &[&Job],
    cache: &FileCache,
    events: &dyn ReproductionEvents,
    interrupt: &Interrupt,
) -> Result<CommittedUse, ReportError> {
    let archives = archives_in(&archive_folder(specs))?;
    if archives.is_empty() {
        return Ok(CommittedUse::default());
    }
    let imported = import(&archives, plan, todo)?;
    if imported.records.is_empty() && imported.unusable.is_empty() {
        // The archives hold none of the runs to do: nothing to say.
        return Ok(CommittedUse::default());
    }
    let sample = verification_sample(plan, &imported.keys_by_archive(), VERIFICATION_BUDGET_NANOS);
    events.committed(&imported, sample.len());
    let computed = MemoryCache::new();
    run_jobs(pool, plan, &sample, &computed, &|_| {}, interrupt)?;
    let committed: BTreeMap<&str, &Record> = imported.records.iter().map(|r| (r.key.as_str(), r)).collect();
    for job in &sample {
        let computed = computed
            .lookup(&job.key)
            .record()
            .ok_or_else(|| ExperimentError::MissingRun { key: job.key.clone() })?;
        if let Some(difference) = disagreement(committed[job.key.as_str()], &computed) {
            let experiment = plan.experiments[job.experiment].spec.id.clone();
            return Err(ExperimentError::CommittedRunDiffers {
                key: job.key.clone(),
                experiment,
                difference,
            }
            .into());
        }
    }
    for record in &imported.records {
        cache.store(record)?;
    }
    Ok(CommittedUse { imported: imported.records.len(), recomputed: sample.len() })
}

/// Verdicts, figures and reports from the cached records.
fn report(
    options: &ReproductionOptions,
    plan: &Plan,
    cache: &dyn RunCache,
    started: Instant,
    computed: usize,
    committed: CommittedUse,
) -> Result<ReportWritten, ReportError> {
    let records = plan.records(cache)?;
    let mut claims = Vec::new();
    let mut figures = Vec::new();
    let mut all_records: Vec<(String, Vec<Record>)> = Vec::new();
    for (ex, runs) in plan.experiments.iter().zip(records) {
        for f in &ex.spec.figures {
            figures.push((f.id.clone(), draw(f, &ex.spec.criteria, &ex.points, &runs)?));
        }
        claims.push(judge_experiment(ex, &runs));
        all_records.push((ex.spec.id.clone(), runs.into_iter().flatten().collect()));
    }
    let provenance = Provenance::new(
        options.revision.clone(),
        options.quick,
        options.threads,
        started.elapsed().as_secs_f64(),
        plan.jobs.len(),
        computed,
    )
    .with_committed(committed.imported, committed.recomputed);
    let outputs =
        Outputs { claims: &claims, figures: &figures, records: &all_records, provenance: &provenance };
    let removed = write_all(&options.out, &outputs)?;
    Ok(ReportWritten {
        claims,
        specs: plan.experiments.iter().map(|e| e.spec.clone()).collect(),
        removed,
        runs: plan.jobs.len(),
        computed,
    })
}

/// The expectation file `--check` compares with: `expected.json` (full) or
/// `expected-quick.json` (quick) in the spec folder.
pub fn expectation_path(specs: &Path, quick: bool) -> PathBuf {
    specs.join(if quick { "expected-quick.json" } else { "expected.json" })
}

/// The differences between a written report's verdicts (and estimates, within each criterion's
/// tolerance) and the committed expectation; empty when they match.
pub fn check(specs: &Path, quick: bool, written: &ReportWritten) -> Result<Vec<String>, ReportError> {
    let expected = read_expectation(&expectation_path(specs, quick))?;
    let spec_list: Vec<&Spec> = written.specs.iter().collect();
    Ok(differences(&expected, &written.claims, &spec_list).iter().map(ToString::to_string).collect())
}

/// The code revision of the git work tree that holds `folder` (the spec folder), with
/// `+uncommitted` when the code (not the committed results in `repro/results`) was edited;
/// `unknown` outside git.
pub fn git_revision(folder: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(folder)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // The committed results themselves (`repro/results`, rewritten by regenerating them) do not
    // count as an edit.
    let dirty = git(&["status", "--porcelain", "--", ":/", ":(exclude,top)repro/results"])
        .is_some_and(|s| !s.is_empty());
    if dirty { format!("{revision}+uncommitted") } else { revision }
}
