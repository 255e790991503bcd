//! The executor: runs jobs in parallel, stores each record the moment it finishes, and reports
//! progress through a callback.
//!
//! Runs are independent and each result depends only on its configuration, seed and run index,
//! so the thread count, the grouping and the order of completion change nothing but timing;
//! outputs are collected in job order. Runs that share a configuration and differ only in their
//! run index are stepped together, up to [`GROUP_SIZE`] in one thread
//! ([`aesgd_core::run::run_group`], bit-identical to stepping each alone), so that their
//! dependency chains overlap. The executor never prints: a front end turns the callback into a
//! progress bar.

use crate::cache::RunCache;
use crate::error::ExperimentError;
use crate::key::Recording;
use crate::plan::{Job, Plan};
use crate::record::Record;
use aesgd_core::RunConfig;
use aesgd_core::run::{Interrupt, Interrupted, NoObserver, Observer};
use aesgd_core::trajectory::TrajectoryRecorder;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Runs one seed of a configuration, recording its trajectory as asked, and flattens the result.
pub fn run_one(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_index: u64,
) -> Result<Record, ExperimentError> {
    let started = Instant::now();
    let (result, snapshots) = match recording.recorder() {
        Some(mut recorder) => {
            let result = aesgd_core::run::run_observed(config, seed, run_index, &mut recorder)?;
            (result, recorder.into_snapshots())
        }
        None => (aesgd_core::run(config, seed, run_index)?, Vec::new()),
    };
    Ok(Record::from_run(config, recording, &result, &snapshots, started.elapsed().as_secs_f64()))
}

/// How many runs of one configuration are stepped together in one thread.
pub use aesgd_core::run::GROUP_SIZE;

/// Runs several seeds of one configuration together ([`aesgd_core::run::run_group`]), each
/// recording its trajectory as asked, and flattens the results in the order of `run_indices`.
/// Each record is the one [`run_one`] gives, but for `wall_seconds`, which is the group's.
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
    let started = Instant::now();
    let mut recorders: Vec<Option<TrajectoryRecorder>> =
        run_indices.iter().map(|_| recording.recorder()).collect();
    let mut silent: Vec<NoObserver> = run_indices.iter().map(|_| NoObserver).collect();
    let mut runs: Vec<(u64, &mut dyn Observer)> = run_indices
        .iter()
        .zip(recorders.iter_mut().zip(silent.iter_mut()))
        .map(|(&k, (recorder, none))| match recorder {
            Some(r) => (k, r as &mut dyn Observer),
            None => (k, none as &mut dyn Observer),
        })
        .collect();
    let results = aesgd_core::run::run_group_interruptible(config, seed, &mut runs, interrupt)?;
    drop(runs);
    let seconds = started.elapsed().as_secs_f64();
    Ok(results
        .into_iter()
        .zip(recorders)
        .map(|(result, recorder)| {
            let snapshots = recorder.map(TrajectoryRecorder::into_snapshots).unwrap_or_default();
            Ok(Record::from_run(config, recording, &result?, &snapshots, seconds))
        })
        .collect())
}

/// [`run_together_interruptible`] as the parallel loops run it: refused at once when `interrupt`
/// is already requested, and counted in `finished` when it completes; an interrupt becomes
/// `ExperimentError::Interrupted` with the count so far.
fn run_counted(
    config: &RunConfig,
    recording: Recording,
    seed: u64,
    run_indices: &[u64],
    interrupt: &Interrupt,
    finished: &AtomicU64,
) -> Result<Vec<Record>, ExperimentError> {
    let interrupted = || ExperimentError::Interrupted { finished: finished.load(Ordering::Relaxed) };
    if interrupt.is_requested() {
        return Err(interrupted());
    }
    let records = run_together_interruptible(config, recording, seed, run_indices, interrupt)
        .map_err(|_| interrupted())??;
    finished.fetch_add(records.len() as u64, Ordering::Relaxed);
    Ok(records)
}

/// `jobs` cut into groups of at most `size` consecutive jobs of one sweep point.
fn groups<'a>(jobs: &[&'a Job], size: usize) -> Vec<Vec<&'a Job>> {
    let mut groups: Vec<Vec<&Job>> = Vec::new();
    for &job in jobs {
        match groups.last_mut() {
            Some(g) if g.len() < size && (g[0].experiment, g[0].point) == (job.experiment, job.point) => {
                g.push(job)
            }
            _ => groups.push(vec![job]),
        }
    }
    groups
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

/// Runs `todo` (jobs of `plan`) on `pool`, storing each record in `cache` as soon as it is
/// done and calling `on_done` with the job. Stops at the first error, and soon after
/// `interrupt` is requested (`ExperimentError::Interrupted`); finished runs stay cached.
pub fn run_jobs(
    pool: &rayon::ThreadPool,
    plan: &Plan,
    todo: &[&Job],
    cache: &dyn RunCache,
    on_done: &(dyn Fn(&Job) + Sync),
    interrupt: &Interrupt,
) -> Result<(), ExperimentError> {
    let grouped = groups(todo, GROUP_SIZE);
    let finished = AtomicU64::new(0);
    pool.install(|| {
        grouped.par_iter().try_for_each(|group| {
            let point = plan.point_of(group[0]);
            let indices: Vec<u64> = group.iter().map(|j| j.run_index).collect();
            let records =
                run_counted(&point.config, point.recording, point.seed, &indices, interrupt, &finished)?;
            for (job, record) in group.iter().zip(&records) {
                cache.store(record)?;
                on_done(job);
            }
            Ok(())
        })
    })
}

/// The most runs [`run_grid`] takes: it holds every record until it returns.
pub const MAX_GRID_RUNS: u64 = 100_000;

/// Runs seeds `0..seeds` of every configuration (stream `k` of `seed` for run `k`, so every
/// configuration sees the same data and `w_0` seed by seed) on the current rayon pool, and
/// returns the records in order: configuration by configuration, seed by seed. Consecutive
/// seeds of a configuration are run together in groups of [`GROUP_SIZE`] ([`run_together`]),
/// which changes nothing but their timing. Stops soon after `interrupt` is requested
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
    // Each configuration's seeds in groups of `GROUP_SIZE` consecutive run indices.
    let group = GROUP_SIZE as u64;
    let jobs: Vec<(usize, Vec<u64>)> = (0..configs.len())
        .flat_map(|c| {
            (0..seeds.div_ceil(group)).map(move |g| (c, (g * group..seeds.min((g + 1) * group)).collect()))
        })
        .collect();
    let finished = AtomicU64::new(0);
    let runs: Vec<Vec<Record>> = jobs
        .par_iter()
        .map(|(c, indices)| {
            let records = run_counted(&configs[*c], recording, seed, indices, interrupt, &finished)?;
            for _ in &records {
                on_done();
            }
            Ok(records)
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
    fn jobs_group_by_sweep_point_in_order() {
        let job = |point, run_index| Job { experiment: 0, point, run_index, key: String::new() };
        let jobs: Vec<Job> = (0..5).map(|k| job(0, k)).chain([job(1, 0), job(0, 99)]).collect();
        let refs: Vec<&Job> = jobs.iter().collect();
        for (size, expected) in [(1, vec![1; 7]), (3, vec![3, 2, 1, 1]), (8, vec![5, 1, 1])] {
            let grouped = groups(&refs, size);
            assert_eq!(grouped.iter().map(Vec::len).collect::<Vec<_>>(), expected, "size {size}");
            assert_eq!(grouped.into_iter().flatten().collect::<Vec<_>>(), refs);
        }
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
