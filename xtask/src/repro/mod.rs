//! `cargo xtask repro`: every claim, figure and open question of the paper from the specs in
//! `repro/`, with verdicts, figures and a report.
//!
//! Flow: specs are parsed and expanded into runs; runs already in the cache are reused; the rest
//! run in parallel (rayon) and each is cached the moment it finishes (atomic writes), so an
//! interrupted reproduction resumes; then statistics, verdicts, figures and reports are computed
//! from the cached records alone, in a fixed order, so they do not depend on thread count.

mod cache;
mod plots;
mod record;
mod report;
mod spec;
mod verdict;

use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use record::Record;
use spec::{Point, Spec};
use std::collections::{BTreeMap, HashSet};
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
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Ignore and delete the cache first.
    #[arg(long)]
    fresh: bool,
    /// Compare the verdicts (and estimates, within each criterion's tolerance) with the committed
    /// `expected.json` (full) or `expected-quick.json` (--quick) in the spec folder.
    #[arg(long)]
    check: bool,
    /// Run only slice K of N disjoint slices of all runs (`--shard 2/8`), fill the cache and stop;
    /// combine the folders with `repro merge` and rerun without `--shard` to report.
    #[arg(long)]
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

/// A spec with its sweep points and, after running, its records.
struct Experiment {
    spec: Spec,
    points: Vec<Point>,
}

/// One run to do: which experiment and point it belongs to, its stream and cache key.
struct Job {
    experiment: usize,
    point: usize,
    run_index: u64,
    key: String,
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("invalid --shard {text}: use K/N with 1 <= K <= N");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.parse().map_err(|_| bad())?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n { Err(bad()) } else { Ok((k, n)) }
}

fn load_specs(folder: &Path, only: &[String]) -> Result<Vec<Spec>, String> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| format!("cannot read spec folder {}: {e}", folder.display()))?;
    let mut files: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    files.sort();
    let mut specs = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        specs.push(spec::parse(file, &text)?);
    }
    let mut figure_ids = HashSet::new();
    for s in &specs {
        for f in &s.figures {
            if !figure_ids.insert(f.id.clone()) {
                return Err(format!("figure id {} is used twice", f.id));
            }
        }
    }
    if !only.is_empty() {
        let known: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        if let Some(missing) = only.iter().find(|id| !known.contains(&id.as_str())) {
            return Err(format!("invalid --only {missing}: known experiments are {}", known.join(", ")));
        }
        specs.retain(|s| only.contains(&s.id));
    }
    if specs.is_empty() {
        return Err(format!("no experiment specs (*.toml) in {}", folder.display()));
    }
    Ok(specs)
}

/// Runs `cargo xtask repro`; returns the process exit code.
pub fn execute(args: &ReproArgs) -> Result<u8, String> {
    if let Some(ReproCommand::Merge { folders, out }) = &args.command {
        let mut total = 0;
        for folder in folders {
            total += cache::merge(folder, out)?;
        }
        println!("merged {total} cached runs into {}", cache::dir(out).display());
        return Ok(0);
    }
    let started = Instant::now();
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let specs = load_specs(&args.specs, &args.only)?;
    let experiments: Vec<Experiment> = specs
        .into_iter()
        .map(|spec| {
            let file = args.specs.join(format!("{}.toml", spec.id));
            let points = spec::expand(&file, &spec, args.quick)?;
            Ok(Experiment { spec, points })
        })
        .collect::<Result<_, String>>()?;

    let cache_dir = cache::dir(&args.out);
    if args.fresh && cache_dir.exists() {
        std::fs::remove_dir_all(&cache_dir)
            .map_err(|e| format!("cannot clear {}: {e}", cache_dir.display()))?;
    }
    let mut jobs = Vec::new();
    let mut seen = HashSet::new();
    for (e, ex) in experiments.iter().enumerate() {
        for (p, point) in ex.points.iter().enumerate() {
            for k in 0..point.seeds {
                let key = record::key(&point.config, point.seed, k);
                if seen.insert(key.clone()) {
                    jobs.push(Job { experiment: e, point: p, run_index: k, key });
                }
            }
        }
    }
    if let Some((k, n)) = shard {
        jobs.retain(|j| u64::from_str_radix(&j.key[..8], 16).unwrap_or(0) % n == k - 1);
    }
    let todo: Vec<&Job> = jobs.iter().filter(|j| cache::load(&cache_dir, &j.key).is_none()).collect();
    eprintln!(
        "{} experiment(s), {} run(s), {} cached, {} to run{}",
        experiments.len(),
        jobs.len(),
        jobs.len() - todo.len(),
        todo.len(),
        if args.quick { " (quick)" } else { "" }
    );
    let threads = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    run_jobs(&pool, &experiments, &todo, &cache_dir)?;
    if let Some((k, n)) = shard {
        println!(
            "shard {k}/{n}: {} runs cached in {}; merge shard folders with `cargo xtask repro merge`",
            jobs.len(),
            cache_dir.display()
        );
        return Ok(0);
    }

    // Everything below is computed from cached records in a fixed order.
    let mut claims = Vec::new();
    let mut figures = Vec::new();
    let mut all_records: Vec<(String, Vec<Record>)> = Vec::new();
    for ex in &experiments {
        let mut runs: Vec<Vec<Record>> = Vec::new();
        for point in &ex.points {
            let mut records = Vec::new();
            for k in 0..point.seeds {
                let key = record::key(&point.config, point.seed, k);
                records.push(
                    cache::load(&cache_dir, &key)
                        .ok_or_else(|| format!("run {key} is missing from the cache"))?,
                );
            }
            runs.push(records);
        }
        let mut names = Vec::new();
        for f in &ex.spec.figures {
            let plot = plots::draw(f, &ex.points, &runs)?;
            names.push(format!("{}.svg", f.id));
            figures.push((f.id.clone(), plot));
        }
        claims.push(verdict::judge_spec(&ex.spec, &ex.points, &runs, names));
        all_records.push((ex.spec.id.clone(), runs.into_iter().flatten().collect()));
    }
    let provenance = report::Provenance::collect(
        args.quick,
        threads,
        started.elapsed().as_secs_f64(),
        jobs.len(),
        todo.len(),
    );
    report::write_all(&args.out, args.quick, &claims, &figures, &all_records, &provenance)?;
    let failed: Vec<&str> = claims.iter().filter(|c| c.pass == Some(false)).map(|c| c.id.as_str()).collect();
    println!("{}", report::summary_table(&claims));
    println!("wrote {}", args.out.display());
    let mut code = 0;
    if !failed.is_empty() {
        eprintln!("claims that do not reproduce: {}", failed.join(", "));
        code = 1;
    }
    if args.check {
        let expected = args.specs.join(if args.quick { "expected-quick.json" } else { "expected.json" });
        let differences =
            report::check(&expected, &claims, &experiments.iter().map(|e| &e.spec).collect::<Vec<_>>())?;
        if differences.is_empty() {
            println!("check: claims match {}", expected.display());
        } else {
            for d in &differences {
                eprintln!("check: {d}");
            }
            code = 1;
        }
    }
    Ok(code)
}

fn run_jobs(
    pool: &rayon::ThreadPool,
    experiments: &[Experiment],
    todo: &[&Job],
    cache_dir: &Path,
) -> Result<(), String> {
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
    let bars: BTreeMap<usize, ProgressBar> = counts
        .iter()
        .map(|(&e, &count)| {
            let bar = progress.add(ProgressBar::new(count).with_style(style.clone()));
            bar.set_prefix(experiments[e].spec.id.clone());
            (e, bar)
        })
        .collect();
    let outcome: Result<(), String> = pool.install(|| {
        todo.par_iter().try_for_each(|job| {
            let point = &experiments[job.experiment].points[job.point];
            let started = Instant::now();
            let result =
                aesgd_core::run(&point.config, point.seed, job.run_index).map_err(|e| e.to_string())?;
            let record = record::from_result(&point.config, &result, started.elapsed().as_secs_f64());
            cache::store(cache_dir, &record)?;
            if let Some(bar) = bars.get(&job.experiment) {
                bar.inc(1);
            }
            Ok(())
        })
    });
    for bar in bars.values() {
        bar.finish();
    }
    outcome
}
