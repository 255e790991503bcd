//! Observers watch a run without changing it: the trajectory recorder's snapshots are the
//! iterates at the log-spaced steps, recomputed here by stepping the engine independently; a
//! run's result is the same with or without observers; a pair of observers shows each member
//! what it sees alone; an observer that watches nothing is shown nothing.

use aesgd_core::batch::BatchSampler;
use aesgd_core::engine::{DenseEngine, Engine, IterateState, ReducedEngine};
use aesgd_core::metrics::{IterateMetrics, MetricContext, iterate_metrics};
use aesgd_core::model::{gd_limit_coords, minimum_loss};
use aesgd_core::run::{NoObserver, Observer, build_data, draw_init, run_observed, run_rng};
use aesgd_core::trajectory::{LogSchedule, Snapshot, TrajectoryRecorder};
use aesgd_core::{Activation, DataSpec, EngineChoice, Outcome, RunConfig, Schedule, run};

/// A run of the reduced engine that neither converges nor diverges in its budget.
fn unconverging(max_steps: u64) -> RunConfig {
    RunConfig {
        n: 10,
        d: 14,
        batch: 3,
        eta: 0.2,
        engine: EngineChoice::Reduced,
        max_steps,
        grad_tol: f64::MIN_POSITIVE,
        check_every: 500,
        ..RunConfig::default()
    }
}

/// Runs that end every way: at the budget (on and off the grid), converged, diverged; both
/// engines, several schedules and both activations.
fn cases() -> Vec<RunConfig> {
    vec![
        unconverging(30_000),
        // Cyclic windows: an observer that does not read the measure lets a check stop at the
        // first window above the tolerance; the result must not change. One run converges,
        // one spends its budget.
        RunConfig {
            n: 10,
            d: 10,
            batch: 9,
            schedule: Schedule::Cyclic,
            check_every: 400,
            ..RunConfig::default()
        },
        RunConfig { schedule: Schedule::Cyclic, batch: 7, ..unconverging(30_000) },
        // 1000 is a grid step: the final snapshot must not be recorded twice.
        unconverging(1000),
        RunConfig {
            activation: Activation::Linear,
            n: 8,
            d: 12,
            batch: 5,
            data: DataSpec::Orthonormal,
            schedule: Schedule::Epoch,
            engine: EngineChoice::Dense,
            check_every: 300,
            ..RunConfig::default()
        },
        RunConfig {
            n: 6,
            d: 6,
            batch: 2,
            schedule: Schedule::Replacement,
            check_every: 700,
            ..RunConfig::default()
        },
        // A huge full-batch step: the run diverges within a few steps (a linear neuron cannot
        // die instead, as a ReLU one may).
        RunConfig {
            activation: Activation::Linear,
            n: 5,
            d: 5,
            batch: 5,
            eta: 40.0,
            engine: EngineChoice::Reduced,
            ..RunConfig::default()
        },
    ]
}

/// Metrics compared exactly: the `Debug` form of an `f64` is the shortest decimal that reads
/// back to the same number (and keeps the sign of zero), so equal strings mean equal numbers.
fn exact(m: &IterateMetrics) -> String {
    format!("{m:?}")
}

/// The snapshots a recorder of `per_decade` points a decade must hold for run `index` of
/// `seed` of `config`, whose final step is `steps_run`: the engine stepped one batch at a time
/// from the run's random stream, measured at 0, at every step of the log grid below
/// `steps_run`, and at `steps_run`.
fn restepped(
    config: &RunConfig,
    seed: u64,
    index: u64,
    steps_run: u64,
    per_decade: u32,
    coords: bool,
) -> Vec<Snapshot> {
    let mut rng = run_rng(seed, index);
    let data = build_data(config, &mut rng).unwrap();
    let w0 = draw_init(config, &mut rng);
    // The engine the run picks: `Auto` is the reduced engine on orthonormal data.
    let reduced = match config.engine {
        EngineChoice::Auto => data.is_orthonormal(),
        choice => choice == EngineChoice::Reduced,
    };
    let mut engine: Box<dyn Engine + '_> = if reduced {
        Box::new(ReducedEngine::new(&data, config.activation, config.eta, &w0))
    } else {
        Box::new(DenseEngine::new(&data, config.activation, config.eta, &w0))
    };
    let gd_limit = gd_limit_coords(config.activation, &data.coords(&w0)).filter(|_| data.is_orthonormal());
    let ctx = MetricContext {
        activation: config.activation,
        d: data.d(),
        norms_sq: data.norms_sq(),
        orthonormal: data.is_orthonormal(),
        loss_min: minimum_loss(&data, config.activation),
        init_norm: w0.iter().map(|x| x * x).sum::<f64>().sqrt(),
        gd_limit: gd_limit.as_deref(),
        support_threshold: config.support_threshold,
    };
    let mut wanted = vec![0u64];
    let grid = LogSchedule::new(per_decade);
    while let Some(&last) = wanted.last().filter(|&&s| s < steps_run) {
        wanted.push(grid.next_after(last).min(steps_run));
    }
    let mut sampler = BatchSampler::new(config.schedule, config.n, config.batch);
    let mut step = 0;
    let mut snapshots = Vec::new();
    for target in wanted {
        while step < target {
            engine.step(&sampler.next(&mut rng));
            step += 1;
        }
        let state = engine.state();
        let metrics = iterate_metrics(&state, &ctx);
        snapshots.push(Snapshot { step, metrics, coords: coords.then_some(state.u) });
    }
    snapshots
}

#[test]
fn recorder_snapshots_are_the_iterates_at_the_log_grid_bit_for_bit() {
    let mut outcomes = Vec::new();
    for config in cases() {
        for (per_decade, coords) in [(10, false), (10, true), (3, true)] {
            let (seed, index) = (3, 1);
            let mut recorder = TrajectoryRecorder::new(per_decade, coords);
            let r = run_observed(&config, seed, index, &mut recorder).unwrap();
            outcomes.push(r.outcome.name());
            let got = recorder.snapshots();
            let expected = restepped(&config, seed, index, r.steps_run, per_decade, coords);
            let case = format!("{config:?} per_decade={per_decade} coords={coords}");
            let steps = |s: &[Snapshot]| s.iter().map(|p| p.step).collect::<Vec<_>>();
            assert_eq!(steps(got), steps(&expected), "{case}: steps");
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(exact(&g.metrics), exact(&e.metrics), "{case}: metrics at step {}", g.step);
                assert_eq!(format!("{:?}", g.coords), format!("{:?}", e.coords), "{case}: step {}", g.step);
            }
            // The last snapshot is the final iterate.
            assert_eq!(exact(&got.last().unwrap().metrics), exact(&r.final_metrics), "{case}");
        }
    }
    // Every way a run can end was covered.
    for outcome in ["max_steps", "converged", "diverged"] {
        assert!(outcomes.contains(&outcome), "no run ended {outcome}: {outcomes:?}");
    }
}

#[test]
fn a_snapshot_is_the_final_iterate_of_the_run_cut_at_its_step() {
    // A run is deterministic in its prefix: cutting the budget at a recorded step ends it at
    // that snapshot's iterate.
    let config = unconverging(20_000);
    let mut recorder = TrajectoryRecorder::new(10, true);
    run_observed(&config, 8, 0, &mut recorder).unwrap();
    assert!(recorder.snapshots().len() > 30);
    for snapshot in &recorder.snapshots()[1..] {
        let cut = run(&RunConfig { max_steps: snapshot.step, ..config.clone() }, 8, 0).unwrap();
        assert_eq!(cut.outcome, Outcome::MaxSteps);
        assert_eq!(exact(&cut.final_metrics), exact(&snapshot.metrics), "step {}", snapshot.step);
        assert_eq!(snapshot.coords.as_deref(), Some(&cut.final_state.u[..]), "step {}", snapshot.step);
    }
}

/// Everything an observer is told, in order.
#[derive(Debug, Default)]
struct Log {
    /// Watch every `every` steps (`None`: watch nothing).
    every: Option<u64>,
    checks: Vec<u64>,
    iterates: Vec<u64>,
    finals: Vec<u64>,
    /// The states shown, to compare with the run's.
    last_state: Option<IterateState>,
}

impl Log {
    fn every(every: u64) -> Self {
        Self { every: Some(every), ..Self::default() }
    }
}

impl Observer for Log {
    fn on_check(&mut self, step: u64, _stationarity: f64) {
        self.checks.push(step);
    }

    fn next_watch(&self, step: u64) -> Option<u64> {
        self.every.map(|k| step.div_ceil(k) * k)
    }

    fn on_iterate(&mut self, step: u64, state: &IterateState, _metrics: &IterateMetrics) {
        self.iterates.push(step);
        self.last_state = Some(state.clone());
    }

    fn on_final(&mut self, step: u64, state: &IterateState, _metrics: &IterateMetrics) {
        self.finals.push(step);
        self.last_state = Some(state.clone());
    }
}

#[test]
fn observers_do_not_change_a_run() {
    for config in cases() {
        let plain = format!("{:?}", run(&config, 5, 2).unwrap());
        let mut recorder = TrajectoryRecorder::new(10, true);
        let recorded = format!("{:?}", run_observed(&config, 5, 2, &mut recorder).unwrap());
        assert_eq!(recorded, plain, "with a recorder");
        let mut pair = (TrajectoryRecorder::new(3, false), Log::every(7));
        let watched = format!("{:?}", run_observed(&config, 5, 2, &mut pair).unwrap());
        assert_eq!(watched, plain, "with a pair");
        let quiet = format!("{:?}", run_observed(&config, 5, 2, &mut NoObserver).unwrap());
        assert_eq!(quiet, plain, "with no observer");
    }
}

#[test]
fn a_pair_shows_each_member_what_it_sees_alone() {
    for config in cases() {
        let alone = |observer: &mut dyn Observer| run_observed(&config, 4, 0, observer).unwrap();
        let (mut fine, mut coarse, mut log) =
            (TrajectoryRecorder::new(10, false), TrajectoryRecorder::new(3, true), Log::every(7));
        let r = alone(&mut fine);
        alone(&mut coarse);
        alone(&mut log);
        let mut fine_in_pair = TrajectoryRecorder::new(10, false);
        let mut coarse_in_pair = TrajectoryRecorder::new(3, true);
        let mut log_in_pair = Log::every(7);
        let mut nested = ((&mut fine_in_pair, &mut coarse_in_pair), &mut log_in_pair);
        alone(&mut nested);
        assert_eq!(fine_in_pair.snapshots(), fine.snapshots());
        assert_eq!(coarse_in_pair.snapshots(), coarse.snapshots());
        assert_eq!(
            (&log_in_pair.checks, &log_in_pair.iterates, &log_in_pair.finals),
            (&log.checks, &log.iterates, &log.finals)
        );
        // What the logger is shown alone: step 0, every multiple of 7 before the end, the end
        // once (as the final step), in increasing order; the final state is the run's.
        let end = r.steps_run;
        let multiples: Vec<u64> = (0..end).step_by(7).collect();
        assert_eq!(log.iterates, if end == 0 { Vec::new() } else { multiples });
        assert_eq!(log.finals, vec![end]);
        assert_eq!(log.last_state.as_ref(), Some(&r.final_state));
    }
}

#[test]
fn an_observer_that_watches_nothing_is_shown_nothing() {
    for config in cases() {
        let mut log = Log::default();
        let r = run_observed(&config, 1, 1, &mut log).unwrap();
        assert!(log.iterates.is_empty() && log.finals.is_empty() && log.last_state.is_none());
        // It is still told of every check: each multiple of `check_every` the run reached, and
        // the last step unless the run diverged there (convergence is found at a check, which
        // is a multiple or the end of the budget).
        let every = usize::try_from(config.check_every).unwrap();
        let mut checks: Vec<u64> = match r.outcome {
            Outcome::Diverged { step } => (0..step).step_by(every).collect(),
            _ => (0..=r.steps_run).step_by(every).collect(),
        };
        if !matches!(r.outcome, Outcome::Diverged { .. }) && checks.last() != Some(&r.steps_run) {
            assert_eq!(r.steps_run, config.max_steps, "{:?}", r.outcome);
            checks.push(r.steps_run);
        }
        assert_eq!(log.checks, checks, "{:?}", r.outcome);
    }
}

#[test]
fn a_recorder_of_zero_points_a_decade_records_one() {
    let config = unconverging(5000);
    let mut zero = TrajectoryRecorder::new(0, false);
    let mut one = TrajectoryRecorder::new(1, false);
    run_observed(&config, 0, 0, &mut zero).unwrap();
    run_observed(&config, 0, 0, &mut one).unwrap();
    let steps: Vec<u64> = one.snapshots().iter().map(|s| s.step).collect();
    assert_eq!(steps, [0, 1, 10, 100, 1000, 5000]);
    assert_eq!(zero.into_snapshots(), one.into_snapshots());
}

#[test]
fn initial_coordinates_are_those_the_run_starts_from() {
    // Basis data draws nothing before w_0; random orthonormal data draws its matrix first, so
    // both orders of the stream are covered.
    for data in [DataSpec::Basis, DataSpec::Orthonormal] {
        let config = RunConfig { n: 6, d: 9, batch: 2, data, max_steps: 2_000, ..RunConfig::default() };
        for run_index in [0, 3] {
            let coords = run::initial_coordinates(&config, 11, run_index).unwrap();
            assert_eq!(coords, run(&config, 11, run_index).unwrap().init_coords);
        }
    }
    let bad = RunConfig { n: 6, d: 5, ..RunConfig::default() };
    assert!(run::initial_coordinates(&bad, 0, 0).is_err());
}
