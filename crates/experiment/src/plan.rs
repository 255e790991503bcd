//! From specs to runs: loading a spec folder, expanding sweeps into sweep points, and listing
//! every run of a reproduction once, with its cache key.
//!
//! Expansion order is fixed (activation, n, d, batch, eta, schedule, neurons), and run `k` of a sweep
//! point uses random stream `k` of the spec's seed, so the same spec always gives the same runs.
//! This module runs nothing; [`crate::executor`] does.

use crate::cache::RunCache;
use crate::error::ExperimentError;
use crate::key::{KeyedConfig, Recording, run_key};
use crate::record::Record;
use crate::spec::{Spec, parse};
use crate::sweep::{BatchSize, Dimension};
use crate::vocabulary::{DataKind, ScheduleKind};
use aesgd_core::RunConfig;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The most runs one reproduction (all its experiments together) may have: each finished run
/// is held in memory as a record (about a kilobyte) when the reports are made.
pub const MAX_RUNS: u64 = 1_000_000;

/// One sweep point: a configuration, run for `seeds` seeds.
#[derive(Debug, Clone)]
pub struct Point {
    /// The configuration.
    pub config: RunConfig,
    /// What each run records along its trajectory.
    pub recording: Recording,
    /// The experiment seed.
    pub seed: u64,
    /// The number of runs (streams `0..seeds`).
    pub seeds: u64,
    /// How each sweep that has this point wrote it, in sweep order (never empty): a point
    /// several sweeps share is kept once, and one sweep may write `b = 10` where another writes
    /// `b = n/2`.
    pub written: Vec<Written>,
}

/// How one sweep wrote a sweep point: the batch size and the dimension as rules, which group
/// series and slope families across `n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written {
    /// The index of the sweep.
    pub sweep: usize,
    /// The batch size as the sweep wrote it (`1`, `n/2`, ...).
    pub batch: BatchSize,
    /// The dimension as the sweep wrote it (`"n"` or a number).
    pub dimension: Dimension,
}

impl Point {
    /// How sweep `sweep` wrote this point, if that sweep has it.
    pub fn in_sweep(&self, sweep: usize) -> Option<&Written> {
        self.written.iter().find(|w| w.sweep == sweep)
    }

    /// How the first sweep that has this point wrote it.
    pub fn first_written(&self) -> &Written {
        &self.written[0]
    }

    /// The cache key of run `run_index`.
    pub fn key(&self, run_index: u64) -> String {
        run_key(&self.config, self.recording, self.seed, run_index)
    }

    /// The configuration in its keyed form (every field), for pairing.
    pub fn keyed(&self) -> KeyedConfig {
        KeyedConfig::of(&self.config)
    }
}

/// A list of the sweep, or its quick override, with the key that names it in errors.
fn list<'a, T>(
    quick: bool,
    over: &'a Option<Vec<T>>,
    base: &'a [T],
    name: &str,
    sweep_key: &dyn Fn(&str) -> String,
) -> (&'a [T], String) {
    match over {
        Some(values) if quick => (values, format!("quick.{name}")),
        _ => (base, sweep_key(name)),
    }
}

/// Every sweep point of a spec, in a fixed order: sweep by sweep, and within a sweep by
/// activation, n, d, batch, eta, schedule. A point that an earlier sweep already has (the same
/// configuration, recording and seed, as quick overrides can make) is kept once; the same
/// point with another number of seeds is an error.
pub fn points(spec: &Spec, quick: bool) -> Result<Vec<Point>, ExperimentError> {
    let mut points: Vec<Point> = Vec::new();
    let mut total = 0u128;
    for index in 0..spec.sweeps.len() {
        for point in sweep_points(spec, index, quick)? {
            let same = |p: &Point| {
                p.seed == point.seed && p.recording == point.recording && p.keyed() == point.keyed()
            };
            match points.iter_mut().find(|p| same(p)) {
                Some(earlier) if earlier.seeds == point.seeds => earlier.written.extend(point.written),
                Some(earlier) => {
                    return Err(ExperimentError::spec(
                        &spec.file,
                        crate::spec::sweep_key(spec.sweeps.len(), index, "seeds"),
                        point.seeds,
                        format!(
                            "{} seeds, as an earlier sweep has for the same point ({})",
                            earlier.seeds,
                            crate::verdict::group_label(&point)
                        ),
                    ));
                }
                None => {
                    total += u128::from(point.seeds);
                    points.push(point);
                }
            }
        }
    }
    if total > u128::from(MAX_RUNS) {
        return Err(ExperimentError::TooManyRuns {
            origin: spec.file.display().to_string(),
            what: format!("{} sweep points of {} sweeps", points.len(), spec.sweeps.len()),
            count: total,
            limit: MAX_RUNS,
            advice: "split the sweeps into several specs or use fewer seeds",
        });
    }
    Ok(points)
}

/// The sweep points of sweep `index` of a spec, in a fixed order (activation, n, d, batch, eta,
/// schedule).
fn sweep_points(spec: &Spec, index: usize, quick: bool) -> Result<Vec<Point>, ExperimentError> {
    let file = &spec.file;
    let s = &spec.sweeps[index];
    let q = &spec.quick;
    let sweep_key = |field: &str| crate::spec::sweep_key(spec.sweeps.len(), index, field);
    let (ns, n_key) = list(quick, &q.n, &s.n, "n", &sweep_key);
    let default_d = [Dimension::N];
    let (ds, d_key) = match (&q.d, &s.d) {
        (Some(d), _) if quick => (d.as_slice(), "quick.d".to_string()),
        (_, Some(d)) => (d.as_slice(), sweep_key("d")),
        _ => (&default_d[..], sweep_key("d")),
    };
    let (batches, batch_key) = list(quick, &q.batch, &s.batch, "batch", &sweep_key);
    let (etas, eta_key) = list(quick, &q.eta, &s.eta, "eta", &sweep_key);
    let default_schedule = [ScheduleKind::Random];
    let schedules = s.schedule.as_deref().unwrap_or(&default_schedule);
    let default_neurons = [1];
    let neuron_counts = s.neurons.as_deref().unwrap_or(&default_neurons);
    let (seeds, seeds_key) = match q.seeds {
        Some(k) if quick => (k, "quick.seeds".to_string()),
        _ => (s.seeds, sweep_key("seeds")),
    };
    let (max_steps, steps_key) = match q.max_steps {
        Some(m) if quick => (m, "quick.max_steps".to_string()),
        _ => (s.max_steps, sweep_key("max_steps")),
    };
    // The full-batch points' own budget, unless quick overrides every budget.
    let (full_batch_steps, full_batch_steps_key) = match s.max_steps_full_batch {
        Some(m) if !(quick && q.max_steps.is_some()) => (m, sweep_key("max_steps_full_batch")),
        _ => (max_steps, steps_key.clone()),
    };
    if seeds == 0 {
        return Err(ExperimentError::spec(file, &seeds_key, 0, "at least 1"));
    }
    // Counted before anything is expanded, so a huge sweep is refused at once.
    let combinations = [
        s.activation.len(),
        ns.len(),
        ds.len(),
        batches.len(),
        etas.len(),
        schedules.len(),
        neuron_counts.len(),
    ]
    .iter()
    .fold(1u128, |product, &len| product * len as u128);
    let runs = combinations * u128::from(seeds);
    if runs > u128::from(MAX_RUNS) {
        return Err(ExperimentError::TooManyRuns {
            origin: file.display().to_string(),
            what: format!("{combinations} sweep points x {seeds} seeds ({seeds_key})"),
            count: runs,
            limit: MAX_RUNS,
            advice: "split the sweep into several specs or use fewer seeds",
        });
    }
    for (key, empty) in [
        (sweep_key("activation"), s.activation.is_empty()),
        (n_key.clone(), ns.is_empty()),
        (d_key.clone(), ds.is_empty()),
        (batch_key.clone(), batches.is_empty()),
        (eta_key.clone(), etas.is_empty()),
        (sweep_key("schedule"), schedules.is_empty()),
        (sweep_key("neurons"), neuron_counts.is_empty()),
    ] {
        if empty {
            return Err(ExperimentError::spec(
                file,
                key,
                "[]",
                "a non-empty list (an empty list gives no runs)",
            ));
        }
    }
    // The key of a core config field, in this spec's terms.
    let key_of = |field: &str, full_batch: bool| match field {
        "n" => n_key.clone(),
        "d" => d_key.clone(),
        "batch" => batch_key.clone(),
        "eta" => eta_key.clone(),
        "max_steps" if full_batch => full_batch_steps_key.clone(),
        "max_steps" => steps_key.clone(),
        other => sweep_key(other),
    };
    if s.record_coordinates && neuron_counts.iter().any(|&k| k > 1) {
        return Err(ExperimentError::spec(
            file,
            sweep_key("record_coordinates"),
            "true",
            "false when the sweep has several neurons (they record no trajectory; a final_coordinates figure draws their end)",
        ));
    }
    let mut points = Vec::new();
    for &activation in &s.activation {
        for &n in ns {
            for &dimension in ds {
                let d = dimension.resolve(n);
                for &batch in batches {
                    let b = batch
                        .resolve(n)
                        .map_err(|why| ExperimentError::spec(file, &batch_key, batch, why))?;
                    for &eta in etas {
                        for (&schedule, &neurons) in
                            schedules.iter().flat_map(|s| neuron_counts.iter().map(move |k| (s, k)))
                        {
                            let config = RunConfig {
                                activation: activation.into(),
                                neurons,
                                n,
                                d,
                                data: s.data.unwrap_or(DataKind::Basis).into(),
                                init_scale: s.init_scale.unwrap_or(0.5),
                                batch: b,
                                eta,
                                schedule: schedule.into(),
                                max_steps: if b == n { full_batch_steps } else { max_steps },
                                grad_tol: s.grad_tol.unwrap_or(1e-10),
                                check_every: s.check_every.unwrap_or(1000),
                                ..RunConfig::default()
                            };
                            config.validate().map_err(|e| {
                                ExperimentError::spec(file, key_of(e.field, b == n), &e.value, &e.allowed)
                            })?;
                            // Several neurons record no trajectory.
                            let recording = match (neurons, s.record_coordinates) {
                                (2.., _) => Recording::Off,
                                (_, true) => Recording::Coordinates,
                                (_, false) => Recording::Metrics,
                            };
                            points.push(Point {
                                config,
                                recording,
                                seed: s.seed.unwrap_or(0),
                                seeds,
                                written: vec![Written { sweep: index, batch, dimension }],
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(points)
}

/// Reads every `*.toml` spec in `folder` (sorted by file name), keeps those in `only` (all when
/// empty), and checks that figure ids are unique across specs.
pub fn load_specs(folder: &Path, only: &[String]) -> Result<Vec<Spec>, ExperimentError> {
    let entries =
        std::fs::read_dir(folder).map_err(|e| ExperimentError::io("read the spec folder", folder, e))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        let extension = path.extension().and_then(|x| x.to_str()).unwrap_or_default();
        if extension == "toml" {
            files.push(path);
        } else if extension.eq_ignore_ascii_case("toml") {
            return Err(ExperimentError::spec(
                &path,
                "file name",
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                "spec files end in lower-case .toml (rename it, or it is not a spec)",
            ));
        }
    }
    files.sort();
    let mut specs = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| ExperimentError::io("read", file, e))?;
        specs.push(parse(file, &text)?);
    }
    let mut figure_files: HashMap<String, PathBuf> = HashMap::new();
    for s in &specs {
        for f in &s.figures {
            if let Some(first) = figure_files.insert(f.id.clone(), s.file.clone()) {
                return Err(ExperimentError::DuplicateFigure {
                    id: f.id.clone(),
                    first,
                    file: s.file.clone(),
                });
            }
        }
    }
    if specs.is_empty() {
        return Err(ExperimentError::NoSpecs { folder: folder.to_path_buf() });
    }
    if !only.is_empty() {
        let known: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        if let Some(missing) = only.iter().find(|id| !known.contains(&id.as_str())) {
            return Err(ExperimentError::UnknownExperiment { id: missing.clone(), known: known.join(", ") });
        }
        specs.retain(|s| only.contains(&s.id));
    }
    Ok(specs)
}

/// A spec with its sweep points.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The spec.
    pub spec: Spec,
    /// Its sweep points.
    pub points: Vec<Point>,
}

/// One run to do: its experiment, sweep point, random stream and cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Index into [`Plan::experiments`].
    pub experiment: usize,
    /// Index into that experiment's points.
    pub point: usize,
    /// The run index (random stream).
    pub run_index: u64,
    /// The cache key.
    pub key: String,
}

/// Every experiment of a reproduction and every distinct run it needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Whether sweeps use their quick overrides.
    pub quick: bool,
    /// The experiments, in spec order.
    pub experiments: Vec<Experiment>,
    /// Every distinct run, each once (experiments may share runs), in a fixed order.
    pub jobs: Vec<Job>,
}

impl Plan {
    /// Expands specs into experiments and jobs.
    pub fn new(specs: Vec<Spec>, quick: bool) -> Result<Self, ExperimentError> {
        let mut experiments = Vec::new();
        let mut runs = 0u64;
        for spec in specs {
            let points = points(&spec, quick)?;
            runs += points.iter().map(|p| p.seeds).sum::<u64>();
            if runs > MAX_RUNS {
                return Err(ExperimentError::TooManyRuns {
                    origin: spec.file.display().to_string(),
                    what: "the experiments up to this one".into(),
                    count: u128::from(runs),
                    limit: MAX_RUNS,
                    advice: "run fewer experiments at once (--only) or use fewer seeds",
                });
            }
            experiments.push(Experiment { points, spec });
        }
        let mut jobs = Vec::new();
        let mut seen = HashSet::new();
        for (e, ex) in experiments.iter().enumerate() {
            for (p, point) in ex.points.iter().enumerate() {
                for run_index in 0..point.seeds {
                    let key = point.key(run_index);
                    if seen.insert(key.clone()) {
                        jobs.push(Job { experiment: e, point: p, run_index, key });
                    }
                }
            }
        }
        Ok(Self { quick, experiments, jobs })
    }

    /// Keeps only slice `k` of `count` disjoint slices of the jobs (`1 <= k <= count`), chosen
    /// by key, so every machine of a job array agrees on the split.
    pub fn keep_shard(&mut self, k: u64, count: u64) {
        self.jobs.retain(|j| u64::from_str_radix(&j.key[..8], 16).unwrap_or(0) % count == k - 1);
    }

    /// The point and configuration of a job.
    pub fn point_of(&self, job: &Job) -> &Point {
        &self.experiments[job.experiment].points[job.point]
    }

    /// Removes the runs of this plan (only these) from `cache`; returns how many were there.
    pub fn clear_runs(&self, cache: &dyn RunCache) -> Result<usize, ExperimentError> {
        let mut cleared = 0;
        for job in &self.jobs {
            if cache.remove(&job.key)? {
                cleared += 1;
            }
        }
        Ok(cleared)
    }

    /// The jobs whose runs `cache` does not hold intact, and how many of those were there but
    /// unusable (torn, edited or foreign files, rerun like missing ones).
    pub fn missing_runs(&self, cache: &dyn RunCache) -> (Vec<&Job>, usize) {
        Self::missing_among(self.jobs.iter(), cache)
    }

    /// [`Plan::missing_runs`] among `jobs` only (jobs of this plan), e.g. those still missing
    /// after some were filled from elsewhere.
    pub fn missing_of<'p>(&self, jobs: &[&'p Job], cache: &dyn RunCache) -> (Vec<&'p Job>, usize) {
        Self::missing_among(jobs.iter().copied(), cache)
    }

    fn missing_among<'p>(jobs: impl Iterator<Item = &'p Job>, cache: &dyn RunCache) -> (Vec<&'p Job>, usize) {
        let mut unusable = 0;
        let todo = jobs
            .filter(|j| match cache.lookup(&j.key) {
                crate::cache::Lookup::Found(_) => false,
                crate::cache::Lookup::Missing => true,
                crate::cache::Lookup::Unusable(_) => {
                    unusable += 1;
                    true
                }
            })
            .collect();
        (todo, unusable)
    }

    /// Every record of every experiment from the cache, as `[experiment][point][run]`; a run
    /// that is not there is an error naming its key.
    pub fn records(&self, cache: &dyn RunCache) -> Result<Vec<Vec<Vec<Record>>>, ExperimentError> {
        self.experiments
            .iter()
            .map(|ex| {
                ex.points
                    .iter()
                    .map(|point| {
                        (0..point.seeds)
                            .map(|k| {
                                let key = point.key(k);
                                cache.lookup(&key).record().ok_or(ExperimentError::MissingRun { key })
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }
}
