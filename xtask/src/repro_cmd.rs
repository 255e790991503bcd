//! `cargo xtask repro`: flags, progress bars, printing and exit codes around
//! [`aesgd_report::reproduce`], which does the work (the same function the Python package's
//! `aesgd.repro` calls).

use aesgd_experiment::committed::{self, ARCHIVE_SUFFIX, Imported, archive_folder};
use aesgd_experiment::executor::available_cores;
use aesgd_experiment::lock::OutputLock;
use aesgd_experiment::plan::Job;
use aesgd_experiment::{FileCache, Plan, load_specs};
use aesgd_report::markdown::summary_table;
use aesgd_report::reproduce::{ReportWritten, check, expectation_path, git_revision};
use aesgd_report::{Reproduction, ReproductionEvents, ReproductionOptions, reproduce};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

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
    /// only those) and compute them again, without reading committed runs; other cached runs
    /// stay.
    #[arg(long)]
    fresh: bool,
    /// Compare the verdicts (and estimates, within each criterion's tolerance) with the committed
    /// `expected.json` (full) or `expected-quick.json` (--quick) in the spec folder. The exit code
    /// is then the comparison's: 1 when anything moved, 0 when every verdict is as committed,
    /// failed ones included (they are still listed), so a known failure is not a regression.
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
    /// Compute every run: do not read the runs the cache lacks from the committed archives in
    /// SPECS/cache (by default they are read, each checked by its SHA-256, its key and its run,
    /// and a sample of them, one run of the cheapest grid point of each experiment and of each
    /// archive, and of other points up to about 20 s of CPU, is computed again and must agree).
    /// `--quick` and `--fresh` never read them.
    #[arg(long)]
    no_committed: bool,
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
    /// Write every full-size run of the given experiments from the cache of `--out` to
    /// SPECS/cache/ID.tar.gz, the committed archive a reproduction reads first (the same bytes
    /// for the same runs). Every run must be cached: run `cargo xtask repro --only ID` first.
    /// With `--where`, only the runs of the grid points that match every condition, into
    /// SPECS/cache/NAME.tar.gz (`--name`); a run two experiments share is read by both.
    Pack {
        /// Experiment ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Pack only the grid points whose FIELD is VALUE, e.g. `--where n=100 --where batch=99`;
        /// FIELD is one of n, d, batch, neurons, eta, activation, schedule (repeat for several).
        #[arg(long = "where", value_name = "FIELD=VALUE", value_parser = parse_condition)]
        conditions: Vec<Condition>,
        /// The archive's name (default: the experiment id); required with `--where`.
        #[arg(long)]
        name: Option<String>,
        /// The output folder whose cache holds the runs.
        #[arg(long, default_value = "target/repro")]
        out: PathBuf,
        /// The folder of experiment specs.
        #[arg(long, default_value = "repro")]
        specs: PathBuf,
    },
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("invalid --shard {text}: use K/N with 1 <= K <= N");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.parse().map_err(|_| bad())?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n { Err(bad()) } else { Ok((k, n)) }
}

/// An experiment-library error in the terms of this command's flags.
fn explain(error: aesgd_experiment::ExperimentError) -> String {
    use aesgd_experiment::ExperimentError::{
        Argument, CommittedArchive, CommittedRunDiffers, UnknownExperiment,
    };
    match error {
        UnknownExperiment { id, known } => format!("invalid --only {id}: known experiments are {known}"),
        Argument { name, value, allowed } => format!("invalid --{name} {value}: {allowed}"),
        committed @ (CommittedArchive { .. } | CommittedRunDiffers { .. }) => {
            format!("{committed} (--no-committed computes every run)")
        }
        other => other.to_string(),
    }
}

/// Progress bars, one an experiment with runs to do, made when the plan is known, and above
/// them one for all the work, each run weighed by its estimated cost, whose ETA is the one to
/// read (the experiments' bars count runs, which differ in length by orders of magnitude).
struct Bars {
    quick: bool,
    bars: Mutex<BTreeMap<usize, ProgressBar>>,
    work: Mutex<Option<WorkBar>>,
}

/// The bar of all the work, in estimated microseconds, and the weight of a run of each point.
struct WorkBar {
    bar: ProgressBar,
    weights: BTreeMap<(usize, usize), u64>,
}

impl ReproductionEvents for Bars {
    fn cleared(&self, runs: usize) {
        eprintln!("--fresh: cleared {runs} cached run(s) of this selection; other cached runs are kept");
    }

    fn committed(&self, imported: &Imported, sample: usize) {
        let folders: std::collections::BTreeSet<String> =
            imported.archives.iter().filter_map(|a| a.parent()).map(|f| f.display().to_string()).collect();
        let folders: Vec<String> = folders.into_iter().collect();
        eprintln!(
            "read {} run(s) from the committed archives in {} (each checked by its SHA-256, its key and its run); \
             computing {sample} of them again to check them",
            imported.records.len(),
            folders.join(", ")
        );
        for (member, reason) in imported.unusable.iter().take(5) {
            eprintln!("  left out {member}: {reason}");
        }
        if imported.unusable.len() > 5 {
            eprintln!("  and {} more left out; their runs are computed", imported.unusable.len() - 5);
        }
    }

    fn planned(&self, plan: &Plan, todo: &[&Job], unusable: usize) {
        eprintln!(
            "{} experiment(s), {} run(s), {} cached, {} to run{}",
            plan.experiments.len(),
            plan.jobs.len(),
            plan.jobs.len() - todo.len(),
            todo.len(),
            if self.quick { " (quick)" } else { "" }
        );
        if unusable > 0 {
            eprintln!(
                "{unusable} cached run(s) were unusable (torn, edited or not matching their checksum) and are computed again"
            );
        }
        let progress = MultiProgress::new();
        *self.work.lock().unwrap_or_else(|e| e.into_inner()) = work_bar(&progress, plan, todo);
        *self.bars.lock().unwrap_or_else(|e| e.into_inner()) = progress_bars(&progress, plan, todo);
    }

    fn run_done(&self, job: &Job) {
        if let Some(work) = self.work.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            work.bar.inc(work.weights.get(&(job.experiment, job.point)).copied().unwrap_or(0));
        }
        if let Some(bar) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).get(&job.experiment) {
            bar.inc(1);
        }
    }

    fn runs_finished(&self) {
        if let Some(work) = self.work.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            work.bar.finish();
        }
        for bar in self.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
            bar.finish();
        }
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
    if let Some(ReproCommand::Pack { ids, conditions, name, out, specs }) = &args.command {
        return pack(ids, conditions, name.as_deref(), out, specs);
    }
    // Everything that can be refused is refused before any work: flags, specs, the folder.
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let options = ReproductionOptions {
        specs: args.specs.clone(),
        out: args.out.clone(),
        quick: args.quick,
        only: args.only.clone(),
        threads: args.jobs.unwrap_or_else(available_cores),
        fresh: args.fresh,
        shard,
        revision: git_revision(&args.specs),
        committed: !args.no_committed,
    };
    let bars = Bars { quick: args.quick, bars: Mutex::default(), work: Mutex::default() };
    let reproduction =
        reproduce(&options, &bars, &aesgd_core::run::Interrupt::new()).map_err(|e| match e {
            aesgd_report::ReportError::Experiment(e) => explain(e),
            other => other.to_string(),
        })?;
    match reproduction {
        Reproduction::Shard { shard: (k, n), runs, cache } => {
            println!(
                "shard {k}/{n}: {runs} runs cached in {}; merge shard folders with `cargo xtask repro merge`",
                cache.display()
            );
            Ok(0)
        }
        Reproduction::Report(written) => finish(args, &written),
    }
}

/// A grid point's field that `cargo xtask repro pack --where` can name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ConditionField {
    N,
    D,
    Batch,
    Neurons,
    Eta,
    Activation,
    Schedule,
}

impl ConditionField {
    /// Every field, with its name on the command line.
    const ALL: [(&'static str, Self); 7] = [
        ("n", Self::N),
        ("d", Self::D),
        ("batch", Self::Batch),
        ("neurons", Self::Neurons),
        ("eta", Self::Eta),
        ("activation", Self::Activation),
        ("schedule", Self::Schedule),
    ];

    /// The field of `config`, as it prints.
    fn of(self, config: &aesgd_core::RunConfig) -> String {
        match self {
            Self::N => config.n.to_string(),
            Self::D => config.d.to_string(),
            Self::Batch => config.batch.to_string(),
            Self::Neurons => config.neurons.to_string(),
            Self::Eta => config.eta.to_string(),
            Self::Activation => config.activation.to_string(),
            Self::Schedule => config.schedule.to_string(),
        }
    }
}

/// A condition of `cargo xtask repro pack --where`: a grid point's field and the value it must
/// have, compared as the field prints.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    field: ConditionField,
    value: String,
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    let allowed = ConditionField::ALL.map(|(name, _)| name).join(", ");
    let (field, value) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid --where {text}: use FIELD=VALUE, FIELD one of {allowed}"))?;
    let (_, field) = ConditionField::ALL
        .into_iter()
        .find(|&(name, _)| name == field.trim())
        .ok_or_else(|| format!("invalid --where field {field:?}: use one of {allowed}"))?;
    Ok(Condition { field, value: value.trim().to_string() })
}

impl Condition {
    fn holds(&self, config: &aesgd_core::RunConfig) -> bool {
        self.field.of(config) == self.value
    }
}

/// `cargo xtask repro pack`: one archive an experiment, or one archive of the grid points of
/// the experiments that match `conditions`.
fn pack(
    ids: &[String],
    conditions: &[Condition],
    name: Option<&str>,
    out: &std::path::Path,
    specs: &std::path::Path,
) -> Result<u8, String> {
    let cache = FileCache::in_output(out);
    let plan_of = |ids: &[String]| {
        load_specs(specs, ids).and_then(|specs| Plan::new(specs, false)).map_err(|e| e.to_string())
    };
    let archive = |name: &str| archive_folder(specs).join(format!("{name}{ARCHIVE_SUFFIX}"));
    if conditions.is_empty() && name.is_none() {
        for id in ids {
            let path = archive(id);
            let runs = committed::pack(&plan_of(std::slice::from_ref(id))?, &cache, &path, &|_| true)
                .map_err(|e| e.to_string())?;
            println!("packed {runs} runs of {id} into {}", path.display());
        }
        return Ok(0);
    }
    let name = name.ok_or("--where needs --name, the archive's name")?;
    let path = archive(name);
    let keep = |config: &aesgd_core::RunConfig| conditions.iter().all(|c| c.holds(config));
    let runs = committed::pack(&plan_of(ids)?, &cache, &path, &keep).map_err(|e| e.to_string())?;
    println!("packed {runs} runs of {} into {}", ids.join(", "), path.display());
    Ok(0)
}

/// The bar of all the work to do, when there is any: each run weighs its estimated
/// microseconds ([`aesgd_experiment::cost`]), so that the ETA does not treat a run of 1e9 steps
/// as one of 1e5.
fn work_bar(progress: &MultiProgress, plan: &Plan, todo: &[&Job]) -> Option<WorkBar> {
    let mut weights = BTreeMap::new();
    let mut total = 0u64;
    for job in todo {
        let weight = *weights.entry((job.experiment, job.point)).or_insert_with(|| {
            let nanos = aesgd_experiment::cost::estimated_run_nanos(&plan.point_of(job).config);
            (nanos / 1e3).clamp(1.0, 1e15) as u64
        });
        total = total.saturating_add(weight);
    }
    if todo.is_empty() {
        return None;
    }
    let style = ProgressStyle::with_template(
        "{prefix:>28} [{bar:30}] {percent:>3}% of the estimated work, {elapsed_precise}, eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = progress.add(ProgressBar::new(total).with_style(style));
    bar.set_prefix("all");
    Some(WorkBar { bar, weights })
}

/// One bar an experiment with runs to do.
fn progress_bars(progress: &MultiProgress, plan: &Plan, todo: &[&Job]) -> BTreeMap<usize, ProgressBar> {
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

/// Prints the summary of a written report and decides the exit code.
fn finish(args: &ReproArgs, written: &ReportWritten) -> Result<u8, String> {
    let removed = &written.removed;
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
    println!("{}", summary_table(&written.claims));
    println!("wrote {}", args.out.display());
    let mut code = 0;
    let failed = written.failed();
    if !failed.is_empty() {
        eprintln!("claims that do not reproduce: {}", failed.join(", "));
        code = 1;
    }
    if args.check {
        // The comparison decides: a committed failure that is still a failure is no regression.
        code = 0;
        let found = check(&args.specs, args.quick, written).map_err(|e| e.to_string())?;
        let path = expectation_path(&args.specs, args.quick);
        if found.is_empty() {
            println!("check: claims match {}", path.display());
        } else {
            for d in &found {
                eprintln!("check: {d}");
            }
            code = 1;
        }
    }
    Ok(code)
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
    fn pack_conditions_name_a_known_field_and_select_by_its_printed_value() {
        let condition = parse_condition("batch = 99").unwrap();
        assert_eq!(condition, Condition { field: ConditionField::Batch, value: "99".into() });
        let config = aesgd_core::RunConfig { n: 100, batch: 99, ..aesgd_core::RunConfig::default() };
        assert!(condition.holds(&config));
        assert!(!condition.holds(&aesgd_core::RunConfig { batch: 98, ..config.clone() }));
        assert!(parse_condition("activation=relu").unwrap().holds(&config));
        assert!(parse_condition("eta=0.1").unwrap().holds(&config));
        let unknown = parse_condition("m=100").unwrap_err();
        assert!(unknown.contains("\"m\"") && unknown.contains("n, d, batch"), "{unknown}");
        assert!(parse_condition("n100").unwrap_err().contains("FIELD=VALUE"));
        // A selection needs the archive's name.
        let args = parse(&["pack", "claim1-convergence", "--where", "n=100"]).unwrap();
        assert_eq!(execute(&args).unwrap_err(), "--where needs --name, the archive's name");
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
