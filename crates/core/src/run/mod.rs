//! Run control: build the problem from a config and a seed, run SGD to a stated end, measure.
//!
//! Randomness: every run owns one `ChaCha8Rng`, seeded with the experiment seed and using the
//! run index as its stream, and draws from it in a fixed order: the data (random orthonormal
//! only), then `w_0` (`d` normals), then the batches. A run's result therefore depends only on
//! its configuration, seed and index, never on threads, on other runs or on its observer.
//!
//! Convergence rule: every `check_every` steps (and at the last step) the runner evaluates the
//! stationarity of the update in use, the largest norm of a batch gradient the schedule can draw
//! (full batch: `||grad L||`; random batches: `max_i ||grad l_i||`; cyclic: the largest window
//! gradient; see [`UpdateSet`](crate::engine::UpdateSet)); the run has converged at the first check where it is at most
//! `grad_tol`, i.e. the iterate is numerically a fixed point of every step it could take. The
//! loss gap alone is not a stopping rule: the global minima form a manifold and mini-batch SGD
//! keeps drifting along it towards a single data point long after the loss is minimal. A run
//! whose `||w||^2` becomes non-finite or exceeds [`DIVERGED_NORM_SQ`] stops as `Diverged` at
//! that step.
//!
//! The split is argmin's: the engine steps, the run-control loop (the private `control`
//! module, written once for every model) decides when to check and when to stop, and
//! [`Observer`]s watch without steering; the single-neuron specifics (engine choice, metric
//! context, limit point) are the private `autoencoder` module. Recording a trajectory is an
//! observer, [`crate::trajectory::TrajectoryRecorder`]; a [`RunResult`] holds no trajectory.

mod autoencoder;
mod control;
mod observe;

pub use observe::{NoObserver, Observer};

use crate::batch::BatchSampler;
use crate::config::{DataSpec, RunConfig};
use crate::data::Data;
use crate::engine::IterateState;
use crate::error::ConfigError;
use crate::metrics::{IterateMetrics, LimitPoint};
use autoencoder::Autoencoder;
use control::{Limits, control};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A run whose squared norm exceeds this (a norm of 1e10, where every minimum has norm 1) has
/// diverged.
pub const DIVERGED_NORM_SQ: f64 = 1e20;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The stationarity measure was at most `grad_tol` at this step.
    Converged {
        /// The step of the first passing check.
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
    /// `"converged"`, `"max_steps"` or `"diverged"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Converged { .. } => "converged",
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
    /// The identified limit point, on orthonormal data when one is found.
    pub limit: Option<LimitPoint>,
    /// The initial data coordinates `<w_0, x_i>`.
    pub init_coords: Vec<f64>,
    /// The predicted full-batch limit in data coordinates, where defined.
    pub gd_limit: Option<Vec<f64>>,
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
    let mut rng = run_rng(seed, run_index);
    let data = build_data(config, &mut rng)?;
    let w0 = draw_init(config, &mut rng);
    let mut result = solve(config, &data, &w0, &mut rng, observer)?;
    result.seed = seed;
    result.run_index = run_index;
    Ok(result)
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
    let mut problem = Autoencoder::new(config, data, w0)?;
    let mut sampler = BatchSampler::new(config.schedule, config.n, config.batch);
    let limits =
        Limits { max_steps: config.max_steps, check_every: config.check_every, grad_tol: config.grad_tol };
    let ending = control(&mut problem, &mut sampler, rng, limits, observer);
    Ok(problem.finish(ending))
}
