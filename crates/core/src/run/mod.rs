//! Run control: build the problem from a config and a seed, run SGD to a stated end, measure.
//!
//! Randomness: every run owns one `ChaCha8Rng`, seeded with the experiment seed and using the
//! run index as its stream, and draws from it in a fixed order: the data (random orthonormal
//! only), then `w_0` (`d` normals), then the batches. A run's result therefore depends only on
//! its configuration, seed and index, never on threads, on other runs or on its observer.
//!
//! Convergence rule: every `check_every` steps (and at the last step) the runner evaluates the
//! stationarity `g` of the update in use, the largest norm of a batch gradient the schedule can
//! draw (full batch: `||grad L||`; random batches: `max_i ||grad l_i||`; cyclic: the largest
//! window gradient; see [`UpdateSet`](crate::engine::UpdateSet)). At that check the run
//!
//! - has **converged** (`Converged`) when `g <= grad_tol` and the iterate is a global minimum;
//! - ends at a **stationary point that is not a minimum** (`StationaryNotMinimum`) when the
//!   iterate is not a global minimum and is a fixed point of every step it could take: exactly
//!   (no sample is active, `sigma(<w, x_i>) = 0` for every `i`, so every batch gradient is zero:
//!   `w = 0`, a dead ReLU neuron), or relative to its own scale, `g <= grad_tol * ||w||`
//!   (tested where `||w|| >= 1e-100`, [`RELATIVE_MIN_NORM_SQ`]; below, `g` underflows);
//! - otherwise goes on.
//!
//! An iterate is a global minimum when its loss gap is at most half the smallest gap of a
//! stationary point that is not one ([`model::stationary_gap`](crate::model::stationary_gap)):
//! `1/(4n)` on orthonormal data, where every non-minimal stationary point has gap exactly
//! `1/(2n)` and a converged iterate about `7 n g^2` at most (derived in [`crate::model`]);
//! `(lambda_1 - lambda') / (4n)` for the linear activation on other data. Where `L*` is not
//! known (ReLU on non-orthonormal data) an iterate counts as a minimum unless no sample is
//! active, which is never a minimum on any data.
//!
//! So `w ~ 0` (a tiny `init_scale`) is not a stopping point: `g` is small there in absolute terms
//! but about `2 ||u|| / n` or more, with `u` the data coordinates, far above `grad_tol ||w||`,
//! and SGD escapes the saddle. A global minimum (`||w|| = 1`) converges at the same check as
//! under the absolute test alone. The loss gap alone is not a stopping rule: the global minima
//! form a manifold and mini-batch SGD keeps drifting along it towards a single data point long
//! after the loss is minimal. A run whose `||w||^2` becomes non-finite or exceeds
//! [`DIVERGED_NORM_SQ`] stops as `Diverged` at that step.
//!
//! The split is argmin's: the engine steps, the run-control loop (the private `control`
//! module, written once for every model) decides when to check and when to stop, and
//! [`Observer`]s watch without steering; the single-neuron specifics (engine choice, metric
//! context, limit point) are the private `autoencoder` module. Recording a trajectory is an
//! observer, [`crate::trajectory::TrajectoryRecorder`]; a [`RunResult`] holds no trajectory.

mod autoencoder;
mod control;
mod interrupt;
mod neurons;
mod observe;

pub use interrupt::{Interrupt, Interrupted, POLL_WORK, poll_steps};
pub use neurons::{MAX_HESSIAN_SIDE, NeuronsLimit, NeuronsRunResult, run_neurons, run_neurons_interruptible};
pub use observe::{NoObserver, Observer};

use crate::batch::BatchSampler;
use crate::config::{DataSpec, RunConfig};
use crate::data::Data;
use crate::engine::IterateState;
use crate::error::ConfigError;
use crate::metrics::{IterateMetrics, LimitPoint};
use autoencoder::Autoencoder;
use control::{Limits, Member, control, control_pool};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::ops::ControlFlow;

/// A run whose squared norm exceeds this (a norm of 1e10, where every minimum has norm 1) has
/// diverged.
pub const DIVERGED_NORM_SQ: f64 = 1e20;

/// The relative stationarity test `g <= grad_tol ||w||` of the convergence rule is made only
/// where `||w||^2` is at least this (`||w|| >= 1e-100`): below, the squares inside the measure
/// underflow and `g` can read zero where SGD still moves the iterate.
pub const RELATIVE_MIN_NORM_SQ: f64 = 1e-200;

/// How a run ended (the rule is in the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The stationarity measure was at most `grad_tol` at this step, at a global minimum.
    Converged {
        /// The step of the first passing check.
        step: u64,
    },
    /// At this step the iterate was a fixed point of every step (exactly, or to within
    /// `grad_tol` relative to `||w||`) but not a global minimum: `w = 0`, a dead ReLU neuron, a
    /// saddle.
    StationaryNotMinimum {
        /// The step of the check.
        step: u64,
    },
    /// The step budget ran out first.
    MaxSteps,
    /// `||w||` became non-finite or too large at this step.
    Diverged {
        /// The first step after which the iterate was unusable.
        step: u64,
    },
}

impl Outcome {
    /// `"converged"`, `"stationary_not_minimum"`, `"max_steps"` or `"diverged"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Converged { .. } => "converged",
            Self::StationaryNotMinimum { .. } => "stationary_not_minimum",
            Self::MaxSteps => "max_steps",
            Self::Diverged { .. } => "diverged",
        }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The experiment seed.
    pub seed: u64,
    /// The run index (the random stream).
    pub run_index: u64,
    /// `"dense"` or `"reduced"`.
    pub engine: &'static str,
    /// How the run ended.
    pub outcome: Outcome,
    /// Steps taken.
    pub steps_run: u64,
    /// The stationarity measure at the end.
    pub final_stationarity: f64,
    /// When the run ended with support one: the first convergence check after the last check
    /// at which the support was larger (0 if it never was), i.e. the step from which the run
    /// stayed at a single data point, to within `check_every` steps. `None` otherwise.
    pub sparse_step: Option<u64>,
    /// The final iterate's state.
    pub final_state: IterateState,
    /// The final iterate's metrics.
    pub final_metrics: IterateMetrics,
    /// The identified limit point, on orthonormal data when one is found (never after a
    /// divergence or at a stationary point that is not a minimum).
    pub limit: Option<LimitPoint>,
    /// The initial data coordinates `<w_0, x_i>`.
    pub init_coords: Vec<f64>,
    /// The predicted full-batch limit in data coordinates, where defined.
    pub gd_limit: Option<Vec<f64>>,
}

/// Refuses a configuration of several neurons in the single neuron's entry points ([`run`],
/// [`run_group`], [`solve`], [`initial_coordinates`]): those are run by [`run_neurons`].
fn single_neuron(config: &RunConfig) -> Result<(), ConfigError> {
    if config.neurons == 1 {
        return Ok(());
    }
    Err(ConfigError::new(
        "neurons",
        config.neurons,
        "is run by run_neurons; this entry point runs one neuron (neurons = 1)",
    ))
}

/// The random stream of run `run_index` of the experiment seeded `seed`.
pub fn run_rng(seed: u64, run_index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(run_index);
    rng
}

/// Builds the data set of a config, drawing from `rng` for random orthonormal data.
pub fn build_data(config: &RunConfig, rng: &mut ChaCha8Rng) -> Result<Data, ConfigError> {
    match &config.data {
        DataSpec::Basis => Data::basis(config.n, config.d),
        DataSpec::Orthonormal => Data::random_orthonormal(config.n, config.d, rng),
        DataSpec::Gaussian => Data::gaussian(config.n, config.d, rng),
        DataSpec::Matrix(x) => Data::from_matrix(x.as_ref().clone()),
    }
}

/// Draws `w_0 ~ N(0, (s^2 / d) I_d)`.
pub fn draw_init(config: &RunConfig, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let sd = config.init_scale / (config.d as f64).sqrt();
    (0..config.d).map(|_| sd * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)).collect()
}

/// The initial data coordinates `<w_0, x_i>` of run `run_index` of the experiment seeded
/// `seed`: the same data and `w_0` that [`run`] draws (its [`RunResult::init_coords`]), without
/// running. Analyses of how the start decides the end (which point is selected) read them.
pub fn initial_coordinates(config: &RunConfig, seed: u64, run_index: u64) -> Result<Vec<f64>, ConfigError> {
    config.validate()?;
    single_neuron(config)?;
    let mut rng = run_rng(seed, run_index);
    let data = build_data(config, &mut rng)?;
    let w0 = draw_init(config, &mut rng);
    Ok(data.coords(&w0))
}

/// Runs one seed of a config.
pub fn run(config: &RunConfig, seed: u64, run_index: u64) -> Result<RunResult, ConfigError> {
    run_observed(config, seed, run_index, &mut NoObserver)
}

/// Runs one seed of a config, reporting to `observer`.
pub fn run_observed(
    config: &RunConfig,
    seed: u64,
    run_index: u64,
    observer: &mut dyn Observer,
) -> Result<RunResult, ConfigError> {
    config.validate()?;
    single_neuron(config)?;
    let mut rng = run_rng(seed, run_index);
    let data = build_data(config, &mut rng)?;
    let w0 = draw_init(config, &mut rng);
    let mut result = solve(config, &data, &w0, &mut rng, observer)?;
    result.seed = seed;
    result.run_index = run_index;
    Ok(result)
}

/// The number of runs [`run_group`] steps at once (see `benches/README.md`, "Session 7: packed
/// runs at b = n - 1"): the lanes of its pool.
///
/// It is the number of runs the reduced engine packs into one vector register at `b = n - 1`
/// under the Random schedule (four, with AVX2). Other runs in the lanes are advanced one after
/// the other, stretch by stretch, which costs nothing over running them alone.
pub const GROUP_SIZE: usize = crate::engine::PACKED_LANES;

/// Runs run index `runs[i].0` of the experiment seeded `seed` for every `i`, each reported to
/// its own observer `runs[i].1`, and returns their results in the same order.
///
/// Each result, and every call each observer receives, is exactly that of
/// [`run_observed`]`(config, seed, runs[i].0, runs[i].1)`: the runs share only their
/// configuration, and the grouping changes the order in which their instructions are issued,
/// nothing they compute. The runs go through a pool of [`GROUP_SIZE`] lanes: they enter in
/// order, and a run that finishes (converges, diverges, spends its budget) leaves its lane to
/// the next, so runs of very different lengths keep the lanes full. With the reduced engine at
/// `b = n - 1` under the Random schedule, the runs in the lanes take their steps in the places
/// of one vector register where the processor has AVX2; all other runs take each stretch of
/// steps one after the other. A run whose data or initial point is refused gets its error and
/// the others run; an invalid configuration gives every run its error. Any number of runs is
/// accepted; an empty slice gives an empty result. Every run's data and engine are built before
/// the first step, so the memory grows with the number of runs: callers bound it (the
/// experiment executor's `pool_limit`).
pub fn run_group(
    config: &RunConfig,
    seed: u64,
    runs: &mut [(u64, &mut dyn Observer)],
) -> Vec<Result<RunResult, ConfigError>> {
    match run_group_interruptible(config, seed, runs, &Interrupt::new()) {
        Ok(results) => results,
        // Nobody holds the interrupt, so nobody can request it.
        Err(Interrupted) => unreachable!("a group without an interrupt was interrupted"),
    }
}

/// [`run_group`] that stops, with no result for any run, soon after `interrupt` is requested
/// (see [`Interrupt`]); the results of a group that finishes are those of [`run_group`].
pub fn run_group_interruptible(
    config: &RunConfig,
    seed: u64,
    runs: &mut [(u64, &mut dyn Observer)],
    interrupt: &Interrupt,
) -> Result<Vec<Result<RunResult, ConfigError>>, Interrupted> {
    let mut results: Vec<Option<Result<RunResult, ConfigError>>> = runs.iter().map(|_| None).collect();
    run_group_each(config, seed, runs, interrupt, &mut |position, result| {
        results[position] = Some(result);
        ControlFlow::Continue(())
    })?;
    Ok(results
        .into_iter()
        .map(|result| result.expect("every run of a finished group has a result"))
        .collect())
}

/// [`run_group_interruptible`] that hands each run's result to `on_result`, with the run's
/// position in `runs`, the moment the run finishes (errors first, before any run steps), rather
/// than all at the end: a caller stores and counts finished runs while the others go on.
/// Every run gets exactly one call, in no promised order, unless the interrupt is requested or
/// `on_result` breaks: then the runs not yet finished get none, and the call returns
/// `Err(Interrupted)`.
pub fn run_group_each(
    config: &RunConfig,
    seed: u64,
    runs: &mut [(u64, &mut dyn Observer)],
    interrupt: &Interrupt,
    on_result: &mut dyn FnMut(usize, Result<RunResult, ConfigError>) -> ControlFlow<()>,
) -> Result<(), Interrupted> {
    if let Err(error) = config.validate().and_then(|()| single_neuron(config)) {
        for position in 0..runs.len() {
            if on_result(position, Err(error.clone())).is_break() {
                return Err(Interrupted);
            }
        }
        return Ok(());
    }
    if interrupt.is_requested() {
        return Err(Interrupted);
    }
    // Each run's data, initial point and generator, drawn as `run_observed` draws them.
    let indices: Vec<u64> = runs.iter().map(|&(run_index, _)| run_index).collect();
    let mut rngs: Vec<ChaCha8Rng> = indices.iter().map(|&run_index| run_rng(seed, run_index)).collect();
    let prepared: Vec<Result<(Data, Vec<f64>), ConfigError>> = rngs
        .iter_mut()
        .map(|rng| {
            let data = build_data(config, rng)?;
            let w0 = draw_init(config, rng);
            Ok((data, w0))
        })
        .collect();
    let mut members = Vec::with_capacity(runs.len());
    let mut positions = Vec::with_capacity(runs.len());
    let each = prepared.iter().zip(rngs).zip(runs.iter_mut()).enumerate();
    for (position, ((prepared, rng), (_, observer))) in each {
        let built = prepared.as_ref().map_err(Clone::clone).and_then(|(data, w0)| {
            Ok(Member {
                problem: Autoencoder::new(config, data, w0)?,
                sampler: BatchSampler::new(config.schedule, config.n, config.batch),
                rng,
                observer: &mut **observer,
            })
        });
        match built {
            Ok(member) => {
                members.push(member);
                positions.push(position);
            }
            Err(error) => {
                if on_result(position, Err(error)).is_break() {
                    return Err(Interrupted);
                }
            }
        }
    }
    let limits = Limits {
        max_steps: config.max_steps,
        check_every: config.check_every,
        grad_tol: config.grad_tol,
        interrupt: Some(interrupt),
    };
    let mut on_end = |member: usize, ended: Member<'_, Autoencoder<'_>>, ending| {
        // Measuring a final iterate can take long at large sizes: the interrupt is read first.
        if interrupt.is_requested() {
            return ControlFlow::Break(());
        }
        let mut result = ended.problem.finish(ending);
        result.seed = seed;
        result.run_index = indices[positions[member]];
        on_result(positions[member], Ok(result))
    };
    control_pool(members, GROUP_SIZE, limits, &mut on_end).ok_or(Interrupted)
}

/// Runs SGD on given data from a given `w0`, drawing batches from `rng`, reporting to
/// `observer`. The returned result has seed and run index 0; [`run_observed`] fills them in.
pub fn solve(
    config: &RunConfig,
    data: &Data,
    w0: &[f64],
    rng: &mut ChaCha8Rng,
    observer: &mut dyn Observer,
) -> Result<RunResult, ConfigError> {
    config.validate()?;
    single_neuron(config)?;
    let mut problem = Autoencoder::new(config, data, w0)?;
    let mut sampler = BatchSampler::new(config.schedule, config.n, config.batch);
    let limits = Limits {
        max_steps: config.max_steps,
        check_every: config.check_every,
        grad_tol: config.grad_tol,
        interrupt: None,
    };
    match control(&mut problem, &mut sampler, rng, limits, observer) {
        Some(ending) => Ok(problem.finish(ending)),
        None => unreachable!("a run without an interrupt was interrupted"),
    }
}
