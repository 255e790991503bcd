//! `cargo xtask repro`: flags, paths, progress bars and exit codes around the experiment library.
//!
//! Flow: the specs are loaded and expanded into a plan; runs already in the cache are reused;
//! the rest run in parallel, each cached the moment it finishes, so an interrupted reproduction
//! resumes; then verdicts, figures and reports are computed from the cached records alone, in a
//! fixed order, so they do not depend on thread count.

use aesgd_experiment::executor::{available_cores, run_jobs, thread_pool};
use aesgd_experiment::lock::OutputLock;
use aesgd_experiment::plan::Job;
use aesgd_experiment::verdict::judge_experiment;
use aesgd_experiment::{FileCache, Plan, Record, RunCache, load_specs};
use aesgd_report::claims::{differences, read_expectation};
use aesgd_report::markdown::summary_table;
use aesgd_report::plots::draw;
use aesgd_report::{Outputs, Provenance, write_all};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Flags of `cargo xtask repro`.
#[derive(Args, Debug)]
pub struct ReproArgs {
    /// `merge`: combine the caches of several output folders (e.g. from `--shard` jobs).
    #[command(subcommand)]
    command: Option<ReproCommand>,
    /// Small sizes and few seeds: a check that everything works (CI runs this).
    #[arg(long)]
    quick: bool,
    /// Only these experiment ids (file stems in the spec folder).
    #[arg(long, num_args = 1..)]
    only: Vec<String>,
    /// Output folder.
    #[arg(long, default_value = "target/repro")]
    out: PathBuf,
    /// Worker threads, 1 to four a core (default: all cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Delete the cached runs that this invocation selects (with --only, --quick and --shard:
    /// only those) and compute them again; other cached runs stay.
    #[arg(long)]
    fresh: bool,
    /// Compare the verdicts (and estimates, within each criterion's tolerance) with the committed
    /// `expected.json` (full) or `expected-quick.json` (--quick) in the spec folder.
    #[arg(long)]
    check: bool,
    /// Run only slice K of N disjoint slices of all runs (`--shard 2/8`), fill the cache and stop;
    /// combine the folders with `repro merge` and rerun without `--shard` to report. A shard
    /// writes no report, so it cannot be checked (`--check`).
    #[arg(long, conflicts_with = "check")]
    shard: Option<String>,
    /// The folder of experiment specs.
    #[arg(long, default_value = "repro")]
    specs: PathBuf,
}

#[derive(Subcommand, Debug)]
enum ReproCommand {
    /// Copy every cached run of the given output folders into `--out`.
    Merge {
        /// Output folders of shard jobs.
        #[arg(required = true)]
        folders: Vec<PathBuf>,
        /// The folder to merge into.
        #[arg(long, default_value = "target/repro")]
        out: PathBuf,
    },
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("invalid --shard {text}: use K/N with 1 <= K <= N");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.parse().map_err(|_| bad())?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n { Err(bad()) } else { Ok((k, n)) }
}

/// The code revision, with `+uncommitted` when the code (not the committed results) was edited.
fn git_revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
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

/// An experiment-library error in the terms of this command's flags.
fn explain(error: aesgd_experiment::ExperimentError) -> String {
    use aesgd_experiment::ExperimentError::{Argument, UnknownExperiment};
    match error {
        UnknownExperiment { id, known } => format!("invalid --only {id}: known experiments are {known}"),
        Argument { name, value, allowed } => format!("invalid --{name} {value}: {allowed}"),
        other => other.to_string(),
    }
}

/// Runs `cargo xtask repro`; returns the process exit code.
pub fn execute(args: &ReproArgs) -> Result<u8, String> {
    if let Some(ReproCommand::Merge { folders, out }) = &args.command {
        let _lock = OutputLock::acquire(out).map_err(explain)?;
        let target = FileCache::in_output(out);
        let mut total = 0;
        for folder in folders {
            total += target.merge_from(&FileCache::in_output(folder)).map_err(|e| e.to_string())?;
        }
        println!("merged {total} cached runs into {}", target.folder().display());
        return Ok(0);
    }
    let started = Instant::now();
    // Everything that can be refused is refused before any work: flags, specs, the folder.
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let threads = args.jobs.unwrap_or_else(available_cores);
    let pool = thread_pool(threads).map_err(explain)?;
    let specs = load_specs(&args.specs, &args.only).map_err(explain)?;
    let mut plan = Plan::new(specs, args.quick).map_err(explain)?;
    let _lock = OutputLock::acquire(&args.out).map_err(explain)?;
    let cache = FileCache::in_output(&args.out);
    if let Some((k, n)) = shard {
        plan.keep_shard(k, n);
    }
    if args.fresh {
        let cleared = plan.clear_runs(&cache).map_err(explain)?;
        eprintln!("--fresh: cleared {cleared} cached run(s) of this selection; other cached runs are kept");
    }
    let (todo, unusable) = plan.missing_runs(&cache);
    eprintln!(
        "{} experiment(s), {} run(s), {} cached, {} to run{}",
        plan.experiments.len(),
        plan.jobs.len(),
        plan.jobs.len() - todo.len(),
        todo.len(),
        if args.quick { " (quick)" } else { "" }
    );
    if unusable > 0 {
        eprintln!(
            "{unusable} cached run(s) were unusable (torn, edited or not matching their checksum) and are computed again"
        );
    }
    let bars = progress_bars(&plan, &todo);
    let outcome = run_jobs(&pool, &plan, &todo, &cache, &|job: &Job| {
        if let Some(bar) = bars.get(&job.experiment) {
            bar.inc(1);
        }
    });
    for bar in bars.values() {
        bar.finish();
    }
    outcome.map_err(|e| e.to_string())?;
    if let Some((k, n)) = shard {
        println!(
            "shard {k}/{n}: {} runs cached in {}; merge shard folders with `cargo xtask repro merge`",
            plan.jobs.len(),
            cache.folder().display()
        );
        return Ok(0);
    }
    report(args, &plan, &cache, threads, started, todo.len())
}

/// One bar an experiment with runs to do.
fn progress_bars(plan: &Plan, todo: &[&Job]) -> BTreeMap<usize, ProgressBar> {
    let progress = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{prefix:>28} [{bar:30}] {pos}/{len} runs, {elapsed_precise}, eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
    for j in todo {
        *counts.entry(j.experiment).or_default() += 1;
    }
    counts
        .iter()
        .map(|(&e, &count)| {
            let bar = progress.add(ProgressBar::new(count).with_style(style.clone()));
            bar.set_prefix(plan.experiments[e].spec.id.clone());
            (e, bar)
        })
        .collect()
}

/// Verdicts, figures and reports from the cached records; the exit code.
fn report(
    args: &ReproArgs,
    plan: &Plan,
    cache: &dyn RunCache,
    threads: usize,
    started: Instant,
    computed: usize,
) -> Result<u8, String> {
    let records = plan.records(cache).map_err(|e| e.to_string())?;
    let mut claims = Vec::new();
    let mut figures = Vec::new();
    let mut all_records: Vec<(String, Vec<Record>)> = Vec::new();
    for (ex, runs) in plan.experiments.iter().zip(records) {
        for f in &ex.spec.figures {
            figures.push((f.id.clone(), draw(f, &ex.points, &runs).map_err(|e| e.to_string())?));
        }
        claims.push(judge_experiment(ex, &runs));
        all_records.push((ex.spec.id.clone(), runs.into_iter().flatten().collect()));
    }
    let provenance = Provenance::new(
        git_revision(),
        args.quick,
        threads,
        started.elapsed().as_secs_f64(),
        plan.jobs.len(),
        computed,
    );
    let outputs =
        Outputs { claims: &claims, figures: &figures, records: &all_records, provenance: &provenance };
    let removed = write_all(&args.out, &outputs).map_err(|e| e.to_string())?;
    if !removed.is_empty() {
        let shown: Vec<&str> = removed.iter().take(5).map(String::as_str).collect();
        let more = if removed.len() > shown.len() {
            format!(" and {} more", removed.len() - shown.len())
        } else {
            String::new()
        };
        eprintln!(
            "removed {} file(s) of an earlier report that this one does not produce: {}{more}",
            removed.len(),
            shown.join(", ")
        );
    }
    println!("{}", summary_table(&claims));
    println!("wrote {}", args.out.display());
    let mut code = 0;
    let failed: Vec<&str> = claims.iter().filter(|c| c.pass == Some(false)).map(|c| c.id.as_str()).collect();
    if !failed.is_empty() {
        eprintln!("claims that do not reproduce: {}", failed.join(", "));
        code = 1;
    }
    if args.check {
        code = code.max(check(&args.specs, args.quick, plan, &claims)?);
    }
    Ok(code)
}

fn check(
    specs: &Path,
    quick: bool,
    plan: &Plan,
    claims: &[aesgd_experiment::ClaimResult],
) -> Result<u8, String> {
    let path = specs.join(if quick { "expected-quick.json" } else { "expected.json" });
    let expected = read_expectation(&path).map_err(|e| e.to_string())?;
    let spec_list: Vec<&aesgd_experiment::Spec> = plan.experiments.iter().map(|e| &e.spec).collect();
    let found = differences(&expected, claims, &spec_list);
    if found.is_empty() {
        println!("check: claims match {}", path.display());
        return Ok(0);
    }
    for d in &found {
        eprintln!("check: {d}");
    }
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ReproArgs,
    }

    fn parse(flags: &[&str]) -> Result<ReproArgs, clap::Error> {
        let mut argv = vec!["repro"];
        argv.extend_from_slice(flags);
        Wrapper::try_parse_from(argv).map(|w| w.args)
    }

    #[test]
    fn a_shard_cannot_be_checked() {
        let error = parse(&["--shard", "1/2", "--check"]).expect_err("refused");
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(parse(&["--shard", "1/2"]).is_ok());
    }

    #[test]
    fn shards_and_thread_counts_are_checked_before_any_work() {
        assert_eq!(parse_shard("2/8"), Ok((2, 8)));
        for bad in ["0/2", "3/2", "1/0", "x", "1/2/3"] {
            assert!(parse_shard(bad).unwrap_err().starts_with(&format!("invalid --shard {bad}")), "{bad}");
        }
        let folder = std::env::temp_dir().join(format!("aesgd-repro-jobs-{}", std::process::id()));
        let args = parse(&["--jobs", "0", "--out", folder.to_str().unwrap()]).unwrap();
        let error = execute(&args).unwrap_err();
        assert!(error.starts_with("invalid --jobs 0: worker threads must be in 1..="), "{error}");
        assert!(!folder.exists(), "nothing may be written before the flags are checked");
    }
}
