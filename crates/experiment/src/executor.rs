//! The executor: runs jobs in parallel, stores each record the moment it finishes, and reports
//! progress through a callback.
//!
//! Runs are independent and each result depends only on its configuration, seed and run index,
//! so the thread count, the grouping and the order of completion change nothing but timing;
//! outputs are collected in job order. Runs that share a configuration and differ only in their
//! run index go through one thread as a pool ([`aesgd_core::run::run_group`], bit-identical to
//! stepping each alone): [`GROUP_SIZE`] of them are stepped at once, and a run that ends leaves
//! its lane to the next. A point's runs are cut into one pool for each worker thread (fewer
//! when a pool would not fill its lanes, more when a pool would exceed [`pool_limit`]), and
//! each run's record is stored and reported the moment it ends. Runs of several neurons
//! ([`aesgd_core::run::run_neurons`]) have no lanes, so each is a pool of its own. The
//! executor never prints: a front end turns the callback into a progress bar.

use crate::cache::RunCache;
use crate::error::ExperimentError;
use crate::key::Recording;
use crate::plan::{Job, Plan};
use crate::record::Record;
use aesgd_core::RunConfig;
use aesgd_core::engine::IterateState;
use aesgd_core::metrics::IterateMetrics;
use aesgd_core::run::{Interrupt, Interrupted, Observer};
use aesgd_core::trajectory::TrajectoryRecorder;
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Runs one seed of a configuration, recording its trajectory as asked, and flattens the result.
pub fn run_one(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_index: u64,
) -> Result<Record, ExperimentError> {
    let started = Instant::now();
    if config.neurons > 1 {
        let result = aesgd_core::run::run_neurons(config, seed, run_index)?;
        return Ok(Record::from_neurons_run(config, recording, &result, started.elapsed().as_secs_f64()));
    }
    let (result, snapshots) = match recording.recorder() {
        Some(mut recorder) => {
            let result = aesgd_core::run::run_observed(config, seed, run_index, &mut recorder)?;
            (result, recorder.into_snapshots())
        }
        None => (aesgd_core::run(config, seed, run_index)?, Vec::new()),
    };
    Ok(Record::from_run(config, recording, &result, &snapshots, started.elapsed().as_secs_f64()))
}

/// How many runs of one configuration are stepped at once in one thread: the lanes of a pool.
pub use aesgd_core::run::GROUP_SIZE;

/// Runs several seeds of one configuration as one pool ([`aesgd_core::run::run_group`]), each
/// recording its trajectory as asked, and flattens the results in the order of `run_indices`.
/// Each record is the one [`run_one`] gives, but for `wall_seconds`, which is the time from the
/// pool's start to the run's end (several neurons are not pooled: each run's own time).
pub fn run_together(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_indices: &[u64],
) -> Result<Vec<Record>, ExperimentError> {
    run_together_interruptible(config, recording, seed, run_indices, &Interrupt::new())
        .map_err(|_| ExperimentError::Interrupted { finished: 0 })?
}

/// [`run_together`] that stops soon after `interrupt` is requested, with no record for any of
/// its runs (`Err(Interrupted)`).
pub fn run_together_interruptible(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_indices: &[u64],
    interrupt: &Interrupt,
) -> Result<Result<Vec<Record>, ExperimentError>, Interrupted> {
    let mut records: Vec<Option<Result<Record, ExperimentError>>> =
        run_indices.iter().map(|_| None).collect();
    run_each(config, recording, seed, run_indices, interrupt, &mut |position, record| {
        records[position] = Some(record);
        ControlFlow::Continue(())
    })?;
    Ok(records.into_iter().map(|record| record.expect("every run of a finished pool has a record")).collect())
}

/// The pool of [`run_together_interruptible`], handing each run's record (or error), with its
/// position in `run_indices`, to `on_record` the moment the run ends; `Err(Interrupted)` when
/// `interrupt` is requested or `on_record` breaks first.
fn run_each(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_indices: &[u64],
    interrupt: &Interrupt,
    on_record: &mut dyn FnMut(usize, Result<Record, ExperimentError>) -> ControlFlow<()>,
) -> Result<(), Interrupted> {
    if config.neurons > 1 {
        // Several neurons are not pooled: they run one after another, each timed on its own.
        for (position, &run_index) in run_indices.iter().enumerate() {
            let started = Instant::now();
            let result = aesgd_core::run::run_neurons_interruptible(config, seed, run_index, interrupt)?;
            let seconds = started.elapsed().as_secs_f64();
            let record = result
                .map(|result| Record::from_neurons_run(config, recording, &result, seconds))
                .map_err(ExperimentError::from);
            if on_record(position, record).is_break() {
                return Err(Interrupted);
            }
        }
        return Ok(());
    }
    let started = Instant::now();
    // Each run's recorder, if it records, behind a cell: the run writes to it as its observer,
    // and its snapshots are taken out the moment it ends, while the others still run.
    let recorders: Vec<RefCell<Option<TrajectoryRecorder>>> =
        run_indices.iter().map(|_| RefCell::new(recording.recorder())).collect();
    let mut observers: Vec<SharedRecorder<'_>> = recorders.iter().map(SharedRecorder).collect();
    let mut runs: Vec<(u64, &mut dyn Observer)> = run_indices
        .iter()
        .zip(&mut observers)
        .map(|(&k, observer)| (k, observer as &mut dyn Observer))
        .collect();
    aesgd_core::run::run_group_each(config, seed, &mut runs, interrupt, &mut |position, result| {
        let recorder = recorders[position].borrow_mut().take();
        let snapshots = recorder.map(TrajectoryRecorder::into_snapshots).unwrap_or_default();
        let seconds = started.elapsed().as_secs_f64();
        let record = result
            .map(|result| Record::from_run(config, recording, &result, &snapshots, seconds))
            .map_err(ExperimentError::from);
        on_record(position, record)
    })
}

/// A run's observer in a pool: its trajectory recorder, if it records, shared with the code
/// that takes the snapshots out when the run ends; without one it watches nothing.
struct SharedRecorder<'c>(&'c RefCell<Option<TrajectoryRecorder>>);

impl Observer for SharedRecorder<'_> {
    fn on_check(&mut self, step: u64, stationarity: f64) {
        if let Some(recorder) = self.0.borrow_mut().as_mut() {
            recorder.on_check(step, stationarity);
        }
    }

    fn reads_stationarity(&self) -> bool {
        self.0.borrow().as_ref().is_some_and(Observer::reads_stationarity)
    }

    fn next_watch(&self, step: u64) -> Option<u64> {
        self.0.borrow().as_ref().and_then(|recorder| recorder.next_watch(step))
    }

    fn on_iterate(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        if let Some(recorder) = self.0.borrow_mut().as_mut() {
            recorder.on_iterate(step, state, metrics);
        }
    }

    fn on_final(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        if let Some(recorder) = self.0.borrow_mut().as_mut() {
            recorder.on_final(step, state, metrics);
        }
    }
}

/// [`run_each`] as the parallel loops run it: refused at once when `interrupt` is already
/// requested; each record is handed to `on_record` and counted in `finished` as it comes; an
/// interrupt becomes `ExperimentError::Interrupted` with the count so far, and the first error
/// (of a run or of `on_record`) stops the pool and is returned.
fn run_counted(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_indices: &[u64],
    interrupt: &Interrupt,
    finished: &AtomicU64,
    on_record: &mut dyn FnMut(usize, Record) -> Result<(), ExperimentError>,
) -> Result<(), ExperimentError> {
    let interrupted = || ExperimentError::Interrupted { finished: finished.load(Ordering::Relaxed) };
    if interrupt.is_requested() {
        return Err(interrupted());
    }
    let mut failure = None;
    let pool =
        run_each(config, recording, seed, run_indices, interrupt, &mut |position, record| match record
            .and_then(|record| on_record(position, record))
        {
            Ok(()) => {
                finished.fetch_add(1, Ordering::Relaxed);
                ControlFlow::Continue(())
            }
            Err(error) => {
                failure = Some(error);
                ControlFlow::Break(())
            }
        });
    match (failure, pool) {
        (Some(error), _) => Err(error),
        (None, Err(Interrupted)) => Err(interrupted()),
        (None, Ok(())) => Ok(()),
    }
}

/// The most runs in one pool.
pub const MAX_POOL_RUNS: usize = 4 * GROUP_SIZE;

/// The most runs of `config` one pool may hold. A pool builds every run's data and engine when
/// it starts, so it holds no more than [`MAX_POOL_RUNS`], and no more than [`GROUP_SIZE`] runs of
/// the largest size a run may have ([`aesgd_core::config::MAX_RUN_BYTES`]) could take: a pool
/// never needs more memory than a group of [`GROUP_SIZE`] runs could before pools existed.
/// Runs of several neurons have no lanes (a pool's runs go one after the other), so each is a
/// pool of its own, free to go to any thread.
pub fn pool_limit(config: &RunConfig) -> usize {
    if config.neurons > 1 {
        return 1;
    }
    let per_run = config.memory_estimate().total().max(1);
    let by_memory = GROUP_SIZE as u128 * u128::from(aesgd_core::config::MAX_RUN_BYTES) / per_run;
    usize::try_from(by_memory).unwrap_or(usize::MAX).clamp(GROUP_SIZE, MAX_POOL_RUNS)
}

/// `jobs` cut into pools of consecutive jobs of one sweep point, each point's jobs by
/// [`split_evenly`] with the point's [`pool_limit`] (`limit_of`).
fn pools<'a>(jobs: &[&'a Job], threads: usize, limit_of: &dyn Fn(&Job) -> usize) -> Vec<Vec<&'a Job>> {
    let mut points: Vec<Vec<&Job>> = Vec::new();
    for &job in jobs {
        match points.last_mut() {
            Some(p) if (p[0].experiment, p[0].point) == (job.experiment, job.point) => p.push(job),
            _ => points.push(vec![job]),
        }
    }
    points
        .into_iter()
        .flat_map(|point| {
            let limit = limit_of(point[0]);
            split_evenly(point, threads, limit)
        })
        .collect()
}

/// `items` in consecutive parts whose sizes differ by at most one, the larger first: as many as
/// there are `threads`, but no more than one for every [`GROUP_SIZE`] items (so that a pool
/// fills its lanes), at least one, and enough that none holds more than `limit`.
fn split_evenly<T>(items: Vec<T>, threads: usize, limit: usize) -> Vec<Vec<T>> {
    let parts = (items.len() / GROUP_SIZE).clamp(1, threads.max(1)).max(items.len().div_ceil(limit.max(1)));
    let (size, larger) = (items.len() / parts, items.len() % parts);
    let mut items = items.into_iter();
    (0..parts).map(|p| items.by_ref().take(size + usize::from(p < larger)).collect()).collect()
}

/// The cores this machine offers (1 if unknown).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most worker threads a pool may have: four a core. Runs are compute-bound, so more
/// threads than cores only add memory; far more would take minutes to start.
pub fn max_threads() -> usize {
    4 * available_cores()
}

/// A pool of `threads` worker threads, `1..=max_threads()`.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, ExperimentError> {
    if threads == 0 || threads > max_threads() {
        return Err(ExperimentError::Argument {
            name: "jobs",
            value: threads.to_string(),
            allowed: format!(
                "worker threads must be in 1..={} (four for each of the {} cores here)",
                max_threads(),
                available_cores()
            ),
        });
    }
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| {
        ExperimentError::io(
            "start worker threads for",
            format!("{threads} threads"),
            std::io::Error::other(e),
        )
    })
}

/// Runs `todo` (jobs of `plan`) on `pool`, in pools of runs of one point ([`pools`]), storing
/// each record in `cache` as soon as its run ends and calling `on_done` with the job. The pools
/// are taken by the free threads in the order of their estimated work ([`crate::cost`]), the
/// largest first; the order changes nothing but timing. Stops at the first error, and soon
/// after `interrupt` is requested (`ExperimentError::Interrupted`); finished runs stay cached.
pub fn run_jobs(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    todo: &[&Job],
    cache: &dyn RunCache,
    on_done: &(dyn Fn(&Job) + Sync),
    interrupt: &Interrupt,
) -> Result<(), ExperimentError> {
    let grouped = pools(todo, pool.current_num_threads(), &|job| pool_limit(&plan.point_of(job).config));
    // The most expensive pools first, each handed to the next free thread, so that the longest
    // runs do not start last and leave the other threads idle at the end.
    let costs: Vec<f64> = grouped
        .iter()
        .map(|group| group.len() as f64 * crate::cost::estimated_run_nanos(&plan.point_of(group[0]).config))
        .collect();
    let order = crate::cost::largest_first(&costs);
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let finished = AtomicU64::new(0);
    let run_pool = |group: &[&Job]| {
        let point = plan.point_of(group[0]);
        let indices: Vec<u64> = group.iter().map(|j| j.run_index).collect();
        let mut store = |position: usize, record: Record| {
            cache.store(&record)?;
            on_done(group[position]);
            Ok(())
        };
        run_counted(&point.config, point.recording, point.seed, &indices, interrupt, &finished, &mut store)
    };
    let outcomes = pool.broadcast(|_| -> Result<(), ExperimentError> {
        while !stop.load(Ordering::Relaxed) {
            let Some(&g) = order.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
            if let Err(error) = run_pool(&grouped[g]) {
                stop.store(true, Ordering::Relaxed);
                return Err(error);
            }
        }
        Ok(())
    });
    // The first error of a run or of the cache, before an interrupt that it may have caused.
    let mut errors: Vec<ExperimentError> = outcomes.into_iter().filter_map(Result::err).collect();
    match errors.iter().position(|e| !matches!(e, ExperimentError::Interrupted { .. })) {
        Some(i) => Err(errors.swap_remove(i)),
        None => errors.pop().map_or(Ok(()), Err),
    }
}

/// The most runs [`run_grid`] takes: it holds every record until it returns.
pub const MAX_GRID_RUNS: u64 = 100_000;

/// Runs seeds `0..seeds` of every configuration (stream `k` of `seed` for run `k`, so every
/// configuration sees the same data and `w_0` seed by seed) on the current rayon pool, and
/// returns the records in order: configuration by configuration, seed by seed. Consecutive
/// seeds of a configuration are run as pools, one for each thread of the pool ([`pools`]),
/// which changes nothing but their timing; `on_done` is called as each run ends. Stops soon after `interrupt` is requested
/// (`ExperimentError::Interrupted`, no records).
pub fn run_grid(
    configs: &[RunConfig],
    seed: u64,
    seeds: u64,
    recording: Recording,
    on_done: &(dyn Fn() + Sync),
    interrupt: &Interrupt,
) -> Result<Vec<Record>, ExperimentError> {
    if seeds == 0 {
        return Err(ExperimentError::Argument {
            name: "seeds",
            value: "0".into(),
            allowed: "must be at least 1".into(),
        });
    }
    for config in configs {
        config.validate()?;
    }
    let runs = configs.len() as u128 * u128::from(seeds);
    if runs > u128::from(MAX_GRID_RUNS) {
        return Err(ExperimentError::TooManyRuns {
            origin: "this grid".into(),
            what: format!("{} configurations x {seeds} seeds", configs.len()),
            count: runs,
            limit: MAX_GRID_RUNS,
            advice: "use fewer seeds, or a spec with `cargo xtask repro`, which caches each run as it finishes",
        });
    }
    // Each configuration's seeds in pools of consecutive run indices, one for each thread.
    let threads = rayon::current_num_threads();
    let jobs: Vec<(usize, Vec<u64>)> = (0..configs.len())
        .flat_map(|c| {
            let limit = pool_limit(&configs[c]);
            split_evenly((0..seeds).collect(), threads, limit).into_iter().map(move |part| (c, part))
        })
        .collect();
    let finished = AtomicU64::new(0);
    let runs: Vec<Vec<Record>> = jobs
        .par_iter()
        .map(|(c, indices)| {
            let mut records: Vec<Option<Record>> = indices.iter().map(|_| None).collect();
            let mut keep = |position: usize, record: Record| {
                records[position] = Some(record);
                on_done();
                Ok(())
            };
            run_counted(&configs[*c], recording, seed, indices, interrupt, &finished, &mut keep)?;
            Ok(records
                .into_iter()
                .map(|record| record.expect("every run of a finished pool has a record"))
                .collect())
        })
        .collect::<Result<_, ExperimentError>>()?;
    Ok(runs.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Every record as JSON without its wall time, the one field allowed to vary.
    fn without_time(records: &[Record]) -> Vec<serde_json::Value> {
        records
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap();
                v.as_object_mut().unwrap().remove("wall_seconds");
                v
            })
            .collect()
    }

    #[test]
    fn grid_results_do_not_depend_on_thread_count_and_progress_counts_every_run() {
        let base = RunConfig { n: 8, d: 8, data: aesgd_core::DataSpec::Orthonormal, ..RunConfig::default() };
        let configs: Vec<RunConfig> =
            [1, 4, 8].iter().map(|&b| RunConfig { batch: b, ..base.clone() }).collect();
        let on = |threads: usize| {
            let done = AtomicUsize::new(0);
            let records = thread_pool(threads)
                .unwrap()
                .install(|| {
                    run_grid(
                        &configs,
                        0,
                        3,
                        Recording::Off,
                        &|| {
                            done.fetch_add(1, Ordering::Relaxed);
                        },
                        &Interrupt::new(),
                    )
                })
                .unwrap();
            assert_eq!(done.load(Ordering::Relaxed), 9);
            records
        };
        let one = on(1);
        assert_eq!(one.len(), 9);
        assert_eq!((one[4].batch, one[4].run_index), (4, 1));
        assert_eq!(without_time(&one), without_time(&on(2)));
    }

    #[test]
    fn runs_stepped_together_are_the_runs_stepped_alone() {
        // Every schedule's kind of stop: converged, max_steps, diverged; trajectories recorded.
        let configs = [
            RunConfig { n: 6, d: 6, batch: 2, max_steps: 400_000, ..RunConfig::default() },
            RunConfig { n: 6, d: 6, batch: 5, max_steps: 3000, ..RunConfig::default() },
            RunConfig { n: 6, d: 6, batch: 3, eta: 40.0, ..RunConfig::default() },
        ];
        for config in &configs {
            for recording in [Recording::Off, Recording::Metrics, Recording::Coordinates] {
                let indices: Vec<u64> = (0..(GROUP_SIZE as u64 + 1)).collect();
                let together = run_together(config, recording, 7, &indices).unwrap();
                let alone: Vec<Record> =
                    indices.iter().map(|&k| run_one(config, recording, 7, k).unwrap()).collect();
                assert_eq!(without_time(&together), without_time(&alone));
            }
        }
    }

    #[test]
    fn an_interrupt_stops_a_grid_and_returns_no_records() {
        // Requested before the start: nothing runs.
        let done = AtomicUsize::new(0);
        let interrupt = Interrupt::new();
        interrupt.request();
        let error = run_grid(
            &[RunConfig::default()],
            0,
            4,
            Recording::Off,
            &|| {
                done.fetch_add(1, Ordering::Relaxed);
            },
            &interrupt,
        )
        .unwrap_err();
        assert!(matches!(error, ExperimentError::Interrupted { finished: 0 }), "{error}");
        assert_eq!(done.load(Ordering::Relaxed), 0);
        // Requested while a run that would take about 10^10 steps is going: it stops there.
        let endless = RunConfig {
            n: 50,
            d: 50,
            batch: 49,
            max_steps: u64::MAX / 2,
            grad_tol: 1e-300,
            ..RunConfig::default()
        };
        let interrupt = Interrupt::new();
        let result = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                interrupt.request();
            });
            run_grid(&[endless], 0, 1, Recording::Off, &|| {}, &interrupt)
        });
        assert!(matches!(result, Err(ExperimentError::Interrupted { finished: 0 })), "{result:?}");
    }

    #[test]
    fn jobs_pool_by_sweep_point_in_order_one_pool_a_thread_each_filling_its_lanes() {
        let job = |point, run_index| Job { experiment: 0, point, run_index, key: String::new() };
        // Points of 32, 9, 5 and 1 jobs, the first point again at the end.
        let jobs: Vec<Job> = (0..32)
            .map(|k| job(0, k))
            .chain((0..9).map(|k| job(1, k)))
            .chain((0..5).map(|k| job(2, k)))
            .chain([job(3, 0), job(0, 99)])
            .collect();
        let refs: Vec<&Job> = jobs.iter().collect();
        for (threads, limit, expected) in [
            (1, 16, vec![16, 16, 9, 5, 1, 1]),
            (1, 100, vec![32, 9, 5, 1, 1]),
            (2, 16, vec![16, 16, 5, 4, 5, 1, 1]),
            (3, 16, vec![11, 11, 10, 5, 4, 5, 1, 1]),
            (16, 16, vec![4, 4, 4, 4, 4, 4, 4, 4, 5, 4, 5, 1, 1]),
            // A limit below the lanes' worth splits further.
            (1, 4, vec![4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 2, 1, 1]),
        ] {
            let pooled = pools(&refs, threads, &|_| limit);
            assert_eq!(
                pooled.iter().map(Vec::len).collect::<Vec<_>>(),
                expected,
                "{threads} threads, limit {limit}"
            );
            assert_eq!(pooled.into_iter().flatten().collect::<Vec<_>>(), refs);
        }
    }

    #[test]
    fn a_pool_of_large_runs_holds_no_more_than_a_group_of_the_largest_runs_could() {
        let small = RunConfig::default();
        assert_eq!(pool_limit(&small), MAX_POOL_RUNS);
        assert_eq!(pool_limit(&RunConfig { neurons: 2, ..RunConfig::default() }), 1);
        // About 2.2 GiB a run (n = d = 10 000 basis data and the Hessian block at the limit).
        let large = RunConfig { n: 10_000, d: 10_000, ..RunConfig::default() };
        large.validate().unwrap();
        let per_run = large.memory_estimate().total();
        let limit = pool_limit(&large);
        assert!((GROUP_SIZE..MAX_POOL_RUNS).contains(&limit), "{limit}");
        assert!(
            limit as u128 * per_run <= GROUP_SIZE as u128 * u128::from(aesgd_core::config::MAX_RUN_BYTES)
        );
        assert!(
            (limit as u128 + 1) * per_run
                > GROUP_SIZE as u128 * u128::from(aesgd_core::config::MAX_RUN_BYTES)
        );
        // At the largest size a run may have, a pool is a group.
        let largest = RunConfig { n: 13_000, d: 13_000, ..RunConfig::default() };
        largest.validate().unwrap();
        assert!(largest.memory_estimate().total() > 3 << 30);
        assert_eq!(pool_limit(&largest), GROUP_SIZE);
    }

    #[test]
    fn a_pool_hands_over_each_record_as_its_run_ends_and_stops_at_an_interrupt_or_an_error() {
        // Runs 1 and 2 diverge at step 4, runs 0 and 3 stop at a dead neuron at step 500.
        let config = RunConfig {
            n: 10,
            d: 12,
            batch: 9,
            eta: 1.5,
            init_scale: 5.0,
            data: aesgd_core::DataSpec::Orthonormal,
            check_every: 500,
            ..RunConfig::default()
        };
        let alone: Vec<Record> =
            (0..4).map(|k| run_one(&config, Recording::Metrics, 3, k).unwrap()).collect();
        assert_eq!(
            alone.iter().map(|r| r.outcome.name()).collect::<Vec<_>>(),
            ["stationary_not_minimum", "diverged", "diverged", "stationary_not_minimum"]
        );
        // An interrupt requested when the first record comes: that record is kept and counted.
        let interrupt = Interrupt::new();
        let finished = AtomicU64::new(0);
        let mut got = Vec::new();
        let result =
            run_counted(&config, Recording::Metrics, 3, &[0, 1, 2, 3], &interrupt, &finished, &mut |p, r| {
                got.push((p, r));
                interrupt.request();
                Ok(())
            });
        assert!(matches!(result, Err(ExperimentError::Interrupted { finished: 1 })), "{result:?}");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
        assert_eq!(without_time(&[got.remove(0).1]), without_time(&alone[1..2]));
        // An error from the caller stops the pool and is returned.
        let finished = AtomicU64::new(0);
        let mut calls = 0;
        let result = run_counted(
            &config,
            Recording::Off,
            3,
            &[0, 1, 2, 3],
            &Interrupt::new(),
            &finished,
            &mut |_, _| {
                calls += 1;
                Err(ExperimentError::Interrupted { finished: 99 })
            },
        );
        assert!(matches!(result, Err(ExperimentError::Interrupted { finished: 99 })), "{result:?}");
        assert_eq!((calls, finished.load(Ordering::Relaxed)), (1, 0));
    }

    #[test]
    fn thread_counts_are_bounded() {
        assert!(
            thread_pool(0)
                .unwrap_err()
                .to_string()
                .starts_with("invalid jobs = 0: worker threads must be in 1..=")
        );
        assert!(thread_pool(max_threads() + 1).is_err());
        assert_eq!(thread_pool(1).unwrap().current_num_threads(), 1);
    }

    #[test]
    fn a_refused_configuration_runs_nothing() {
        let bad = RunConfig { batch: 30, ..RunConfig::default() };
        let done = AtomicUsize::new(0);
        let error = run_grid(
            &[RunConfig::default(), bad],
            0,
            2,
            Recording::Off,
            &|| {
                done.fetch_add(1, Ordering::Relaxed);
            },
            &Interrupt::new(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("invalid batch = 30"), "{error}");
        let huge = run_grid(
            &[RunConfig::default()],
            0,
            10_000_000,
            Recording::Off,
            &|| {
                done.fetch_add(1, Ordering::Relaxed);
            },
            &Interrupt::new(),
        )
        .unwrap_err();
        assert!(huge.to_string().contains("1 configurations x 10000000 seeds"), "{huge}");
        assert_eq!(done.load(Ordering::Relaxed), 0);
    }
}
