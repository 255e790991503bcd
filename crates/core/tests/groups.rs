//! Grouped runs ([`run_group`]) are bit-identical to runs stepped alone ([`run_observed`]):
//! the same results (outcome, steps, final state and metrics, limit) and the same calls to
//! every observer, trajectory snapshots included, for every schedule, both activations, both
//! engines, groups of 1 to 12 runs (more runs than lanes: a run that ends leaves its lane to
//! the next), and runs that stop at different steps (converging at different checks, reaching
//! a stationary point that is not a minimum, diverging between two checks, spending the budget)
//! inside one group.

use aesgd_core::engine::IterateState;
use aesgd_core::metrics::IterateMetrics;
use aesgd_core::run::{GROUP_SIZE, Observer, run_group, run_observed};
use aesgd_core::trajectory::TrajectoryRecorder;
use aesgd_core::{Activation, DataSpec, EngineChoice, Outcome, RunConfig, RunResult, Schedule};

/// What an observer asks to see.
#[derive(Debug, Clone, Copy)]
enum Watch {
    /// Nothing: only the checks.
    Nothing,
    /// The log-spaced grid of a [`TrajectoryRecorder`] with coordinates.
    Trajectory,
    /// Every `period`-th step from `offset` on: watch steps that differ from run to run.
    Every { period: u64, offset: u64 },
}

/// An observer that writes down every call it receives, exactly (floats by their bits), and
/// records a trajectory alongside when it watches the log grid.
struct Log {
    watch: Watch,
    recorder: TrajectoryRecorder,
    events: Vec<String>,
}

impl Log {
    fn new(watch: Watch) -> Self {
        Self { watch, recorder: TrajectoryRecorder::new(4, true), events: Vec::new() }
    }

    fn seen(&mut self, kind: &str, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        let bits: Vec<u64> = state.u.iter().map(|x| x.to_bits()).collect();
        self.events.push(format!(
            "{kind} {step} u={bits:?} norm={} loss={} {metrics:?}",
            state.norm_sq.to_bits(),
            state.loss.to_bits()
        ));
    }
}

impl Observer for Log {
    fn on_check(&mut self, step: u64, stationarity: f64) {
        self.events.push(format!("check {step} {}", stationarity.to_bits()));
    }

    fn next_watch(&self, step: u64) -> Option<u64> {
        match self.watch {
            Watch::Nothing => None,
            Watch::Trajectory => self.recorder.next_watch(step),
            Watch::Every { period, offset } => {
                Some(if step <= offset { offset } else { offset + (step - offset).div_ceil(period) * period })
            }
        }
    }

    fn on_iterate(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        self.seen("iterate", step, state, metrics);
        if matches!(self.watch, Watch::Trajectory) {
            self.recorder.on_iterate(step, state, metrics);
        }
    }

    fn on_final(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        self.seen("final", step, state, metrics);
        if matches!(self.watch, Watch::Trajectory) {
            self.recorder.on_final(step, state, metrics);
        }
    }
}

/// The observer of the `k`-th member of a group: the three kinds in turn, the periodic ones
/// with periods and offsets that differ between members.
fn watch_of(k: usize) -> Watch {
    match k % 3 {
        0 => Watch::Trajectory,
        1 => Watch::Nothing,
        _ => Watch::Every { period: 97 + 13 * k as u64, offset: 5 * k as u64 },
    }
}

/// A result, exactly: `Debug` writes every float so that it reads back to the same bits.
fn exact(result: &RunResult) -> String {
    format!("{result:?}")
}

/// Runs `indices` as one group and each alone, with the observers of [`watch_of`], and checks
/// that results, observer calls and trajectories agree exactly. Returns the outcomes.
fn check_group(config: &RunConfig, seed: u64, indices: &[u64]) -> Vec<Outcome> {
    let mut grouped: Vec<Log> = (0..indices.len()).map(|k| Log::new(watch_of(k))).collect();
    let mut runs: Vec<(u64, &mut dyn Observer)> =
        indices.iter().zip(&mut grouped).map(|(&i, log)| (i, log as &mut dyn Observer)).collect();
    let results = run_group(config, seed, &mut runs);
    drop(runs);
    assert_eq!(results.len(), indices.len());
    let mut outcomes = Vec::new();
    for (k, ((&index, result), log)) in indices.iter().zip(&results).zip(&grouped).enumerate() {
        let case = format!("{config:?}, seed {seed}, run {index} (member {k} of {})", indices.len());
        let mut alone = Log::new(watch_of(k));
        let expected = run_observed(config, seed, index, &mut alone).expect("a valid run");
        let result = result.as_ref().expect("a valid grouped run");
        assert_eq!(exact(result), exact(&expected), "result of {case}");
        assert_eq!(result.run_index, index, "{case}");
        assert_eq!(log.events.len(), alone.events.len(), "number of observer calls of {case}");
        for (got, want) in log.events.iter().zip(&alone.events) {
            assert_eq!(got, want, "observer call of {case}");
        }
        assert_eq!(log.recorder.snapshots(), alone.recorder.snapshots(), "snapshots of {case}");
        if matches!(watch_of(k), Watch::Trajectory) {
            let last = log.recorder.snapshots().last().expect("a final snapshot");
            assert_eq!(last.step, result.steps_run, "{case}");
        }
        outcomes.push(result.outcome);
    }
    outcomes
}

const SCHEDULES: [Schedule; 4] = [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic];

/// Random orthonormal data (so each run has its own data set) on which runs of one group end
/// in different ways: with `eta = 2, b = 1` some diverge between two checks and some stop at a
/// dead neuron; with `eta = 1, b = 9` they converge at different checks or spend the budget.
fn mixed(activation: Activation, schedule: Schedule, batch: usize, eta: f64) -> RunConfig {
    RunConfig {
        activation,
        n: 10,
        d: 12,
        batch,
        eta,
        schedule,
        data: DataSpec::Orthonormal,
        init_scale: 1.5,
        max_steps: 20_000,
        check_every: 500,
        ..RunConfig::default()
    }
}

#[test]
fn grouped_runs_are_bit_identical_for_every_schedule_activation_and_route() {
    // b = 1 and 3: the members are touched; b = 9 and 7: the complement (with repeats, under
    // Replacement, the counts); eta from a quiet 0.5 to a diverging 2.
    let indices: Vec<u64> = (0..GROUP_SIZE as u64).map(|k| 3 * k + 1).collect();
    for schedule in SCHEDULES {
        for activation in [Activation::Relu, Activation::Linear] {
            for (batch, eta) in [(1, 2.0), (3, 0.5), (7, 1.5), (9, 1.0)] {
                check_group(&mixed(activation, schedule, batch, eta), 3, &indices);
            }
        }
    }
}

#[test]
fn groups_of_every_size_are_bit_identical() {
    // 1 to 3 leave lanes empty; 5 to 11 refill them as runs end.
    for size in [1usize, 2, 3, 4, 5, 7, 8, 11] {
        let indices: Vec<u64> = (0..size as u64).map(|k| 2 * k + 5).collect();
        for (batch, eta) in [(1, 2.0), (9, 1.0)] {
            check_group(&mixed(Activation::Relu, Schedule::Random, batch, eta), 3, &indices);
        }
    }
}

#[test]
fn runs_of_one_group_stop_at_different_steps_and_the_others_go_on() {
    // Diverged between two checks, stopped at a dead neuron at the first checks: one group.
    let outcomes =
        check_group(&mixed(Activation::Relu, Schedule::Random, 1, 2.0), 3, &[0, 1, 2, 3, 4, 5, 6, 7]);
    assert!(
        outcomes.iter().any(|o| matches!(o, Outcome::Diverged { step } if step % 500 != 0)),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| matches!(o, Outcome::StationaryNotMinimum { .. })), "{outcomes:?}");
    // Converged at different checks, a dead neuron at the first, and the budget.
    let config = RunConfig { max_steps: 17_000, ..mixed(Activation::Relu, Schedule::Random, 9, 1.0) };
    let outcomes = check_group(&config, 3, &[0, 1, 2, 3, 4, 5, 6, 7]);
    let converged: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| if let Outcome::Converged { step } = o { Some(*step) } else { None })
        .collect();
    assert!(converged.len() >= 2 && converged.iter().any(|&s| s != converged[0]), "{outcomes:?}");
    assert!(outcomes.contains(&Outcome::MaxSteps), "{outcomes:?}");
    assert!(outcomes.iter().any(|o| matches!(o, Outcome::StationaryNotMinimum { .. })), "{outcomes:?}");
    // A budget that is not a multiple of the check interval, reached by every run.
    let config = RunConfig { max_steps: 1234, grad_tol: f64::MIN_POSITIVE, ..config };
    assert!(check_group(&config, 9, &[0, 1, 2, 3]).iter().all(|o| *o == Outcome::MaxSteps));
}

#[test]
fn dense_engine_and_gaussian_data_groups_are_bit_identical() {
    for schedule in SCHEDULES {
        let dense = RunConfig { engine: EngineChoice::Dense, ..mixed(Activation::Linear, schedule, 3, 1.5) };
        check_group(&dense, 4, &[0, 1, 2]);
        let gaussian = RunConfig { data: DataSpec::Gaussian, ..mixed(Activation::Relu, schedule, 9, 1.0) };
        check_group(&gaussian, 4, &[0, 1, 2, 3, 4]);
    }
}

#[test]
fn a_group_of_the_same_run_twice_gives_it_twice() {
    check_group(&mixed(Activation::Relu, Schedule::Epoch, 9, 1.0), 2, &[6, 6, 6]);
}

#[test]
fn invalid_input_gives_errors_without_stepping() {
    let bad = RunConfig { batch: 0, ..RunConfig::default() };
    let mut logs = [Log::new(Watch::Trajectory), Log::new(Watch::Nothing)];
    let [a, b] = &mut logs;
    let results = run_group(&bad, 0, &mut [(0, a as &mut dyn Observer), (1, b as &mut dyn Observer)]);
    assert_eq!(results.len(), 2);
    for (result, log) in results.iter().zip(&logs) {
        let error = result.as_ref().expect_err("batch 0 is refused");
        assert_eq!(error, &bad.validate().expect_err("batch 0 is refused"));
        assert!(log.events.is_empty());
    }
    // The reduced engine forced onto data that is not orthonormal: the error of a run alone.
    let forced =
        RunConfig { engine: EngineChoice::Reduced, data: DataSpec::Gaussian, ..RunConfig::default() };
    let results = run_group(&forced, 0, &mut [(0, &mut Log::new(Watch::Nothing) as &mut dyn Observer)]);
    let alone = run_observed(&forced, 0, 0, &mut Log::new(Watch::Nothing)).expect_err("refused");
    assert_eq!(results[0].as_ref().expect_err("refused"), &alone);
    assert!(run_group(&RunConfig::default(), 0, &mut []).is_empty());
}

#[test]
fn runs_that_leave_one_out_are_bit_identical_in_the_packed_loop() {
    // b = n - 1 under Random and Cyclic: four runs a vector register (where there is AVX2). eta from a
    // quiet 0.5 to 8, where factors turn negative (the fallback, taken lane by lane), ReLU runs
    // die and linear runs diverge between two checks (a lane stops and the others finish the
    // stretch alone); groups of 4 and 8 packed, 7 with three runs packed beside a lane of
    // padding, 5 with one run left to step alone.
    // The Cyclic schedule's batches leave one index out too, the one after the window.
    for schedule in [Schedule::Random, Schedule::Cyclic] {
        for activation in [Activation::Relu, Activation::Linear] {
            for eta in [0.5, 2.0, 4.0, 8.0] {
                for size in [4u64, 5, 7, 8] {
                    let indices: Vec<u64> = (0..size).map(|k| 3 * k + 2).collect();
                    check_group(&mixed(activation, schedule, 9, eta), 7, &indices);
                }
            }
        }
    }
    let outcomes =
        check_group(&mixed(Activation::Linear, Schedule::Random, 9, 8.0), 7, &[0, 1, 2, 3, 4, 5, 6, 7]);
    assert!(
        outcomes.iter().any(|o| matches!(o, Outcome::Diverged { step } if step % 500 != 0)),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&Outcome::MaxSteps), "{outcomes:?}");
}

#[test]
fn long_packed_runs_through_folds_subnormals_and_zeros_are_bit_identical() {
    // 60 000 steps of n = d = 10 from the standard basis with no convergence: every run folds
    // at least 58 times by count, and the coordinates that SGD leaves decay through the
    // subnormal numbers to exact zeros (of either sign), which the packed `max` and `min` must
    // treat as the scalar ones do.
    for activation in [Activation::Relu, Activation::Linear] {
        let config = RunConfig {
            activation,
            n: 10,
            d: 10,
            batch: 9,
            eta: 0.5,
            max_steps: 60_000,
            grad_tol: f64::MIN_POSITIVE,
            check_every: 7_000,
            ..RunConfig::default()
        };
        assert!(check_group(&config, 11, &[0, 1, 2, 3]).iter().all(|o| *o == Outcome::MaxSteps));
        let alone = run_observed(&config, 11, 0, &mut Log::new(Watch::Nothing)).expect("a valid run");
        if activation == Activation::Relu {
            assert!(alone.final_state.u.contains(&0.0), "{:?}", alone.final_state.u);
        }
    }
}

#[test]
fn a_pool_with_more_runs_than_lanes_refills_them_at_steps_the_others_are_not_at() {
    // b = n - 1, the packed loop: three runs diverge at step 4 or 5, so the runs that take
    // their lanes step beside runs four or five steps ahead, and the rest stop at the first
    // check (a dead neuron); twelve runs, three times the lanes.
    let config = RunConfig { init_scale: 5.0, ..mixed(Activation::Relu, Schedule::Random, 9, 1.5) };
    let indices: Vec<u64> = (0..3 * GROUP_SIZE as u64).collect();
    let outcomes = check_group(&config, 3, &indices);
    let diverged =
        outcomes.iter().filter(|o| matches!(o, Outcome::Diverged { step } if step % 500 != 0)).count();
    assert!(diverged >= 2, "{outcomes:?}");
    // Long runs after short ones: converging at different checks and spending the budget.
    let config = RunConfig { init_scale: 2.5, ..mixed(Activation::Relu, Schedule::Random, 9, 1.0) };
    let outcomes = check_group(&config, 3, &indices);
    assert!(outcomes.contains(&Outcome::MaxSteps), "{outcomes:?}");
    assert!(outcomes.iter().filter(|o| matches!(o, Outcome::Converged { .. })).count() >= 2, "{outcomes:?}");
}
