//! Run control: build the problem from a config and a seed, run SGD to a stated end, measure.
//!
//! Randomness: every run owns one `ChaCha8Rng`, seeded with the experiment seed and using the
//! run index as its stream, and draws from it in a fixed order: the data (random orthonormal
//! only), then `w_0` (`d` normals), then the batches. A run's result therefore depends only on
//! its configuration, seed and index, never on threads or on other runs.
//!
//! Convergence rule: every `check_every` steps (and at the last step) the runner evaluates the
//! stationarity of the update in use, the largest norm of a batch gradient the schedule can draw
//! (full batch: `||grad L||`; random batches: `max_i ||grad l_i||`; cyclic: the largest window
//! gradient; see [`UpdateSet`]); the run has converged at the first check where it is at most
//! `grad_tol`, i.e. the iterate is numerically a fixed point of every step it could take. The loss gap alone is not a stopping rule: the global minima
//! form a manifold and mini-batch SGD keeps drifting along it towards a single data point long
//! after the loss is minimal. A run whose `||w||^2` becomes non-finite or exceeds
//! [`DIVERGED_NORM_SQ`] stops as `Diverged` at that step.
//!
//! Observers watch the run without steering it (argmin's solver/observer split).

use crate::batch::BatchSampler;
use crate::config::{DataSpec, EngineChoice, RunConfig};
use crate::data::Data;
use crate::engine::{DenseEngine, Engine, IterateState, ReducedEngine, UpdateSet, past_bound};
use crate::error::ConfigError;
use crate::metrics::{IterateMetrics, LimitPoint, MetricContext, iterate_metrics, limit_point, support_size};
use crate::model::{gd_limit_coords, minimum_loss};
use crate::trajectory::LogSchedule;
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

/// One recorded point of a trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The number of steps taken.
    pub step: u64,
    /// The iterate's metrics.
    pub metrics: IterateMetrics,
    /// The data coordinates, when the config asks to record them.
    pub coords: Option<Vec<f64>>,
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
    /// Log-spaced snapshots, the first at step 0 and the last at `steps_run`.
    pub trajectory: Vec<Snapshot>,
}

/// Watches a run; every method has an empty default.
pub trait Observer {
    /// Called at every convergence check with the step and the stationarity measure.
    fn on_check(&mut self, _step: u64, _stationarity: f64) {}
}

/// An observer that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}

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

/// Runs SGD on given data from a given `w0`, drawing batches from `rng`. The returned result has
/// seed and run index 0; [`run_observed`] fills them in.
pub fn solve(
    config: &RunConfig,
    data: &Data,
    w0: &[f64],
    rng: &mut ChaCha8Rng,
    observer: &mut dyn Observer,
) -> Result<RunResult, ConfigError> {
    config.validate()?;
    if data.n() != config.n || data.d() != config.d {
        return Err(ConfigError::new(
            "data",
            format!("{} points in R^{}", data.n(), data.d()),
            format!("must match n = {} and d = {}", config.n, config.d),
        ));
    }
    if w0.len() != data.d() || w0.iter().any(|x| !x.is_finite()) {
        return Err(ConfigError::new(
            "init",
            format!("a vector of length {}", w0.len()),
            format!("must be {} finite numbers", data.d()),
        ));
    }
    let mut engine: Box<dyn Engine + '_> = match config.engine {
        EngineChoice::Dense => Box::new(DenseEngine::new(data, config.activation, config.eta, w0)),
        EngineChoice::Auto if !data.is_orthonormal() => {
            Box::new(DenseEngine::new(data, config.activation, config.eta, w0))
        }
        EngineChoice::Reduced if !data.is_orthonormal() => {
            return Err(ConfigError::new(
                "engine",
                "reduced",
                format!(
                    "needs orthonormal data; this data has max |X^T X - I| = {:.3e} > {:.3e} (use dense or auto)",
                    data.orthonormality_error(),
                    data.orthonormality_tolerance()
                ),
            ));
        }
        EngineChoice::Auto | EngineChoice::Reduced => {
            Box::new(ReducedEngine::new(data, config.activation, config.eta, w0))
        }
    };

    let init_coords = data.coords(w0);
    let gd_limit =
        if data.is_orthonormal() { gd_limit_coords(config.activation, &init_coords) } else { None };
    let ctx = MetricContext {
        activation: config.activation,
        d: data.d(),
        norms_sq: data.norms_sq(),
        orthonormal: data.is_orthonormal(),
        loss_min: minimum_loss(data, config.activation),
        init_norm: w0.iter().map(|x| x * x).sum::<f64>().sqrt(),
        gd_limit: gd_limit.as_deref(),
        support_threshold: config.support_threshold,
    };
    let snapshot = |engine: &dyn Engine, step: u64| {
        let state = engine.state();
        let metrics = iterate_metrics(&state, &ctx);
        Snapshot { step, metrics, coords: config.record_coordinates.then_some(state.u) }
    };

    let updates = UpdateSet::of(config);
    let grid = LogSchedule::new(config.points_per_decade);
    let mut sampler = BatchSampler::new(config.schedule, config.n, config.batch);
    let mut trajectory = Vec::new();
    let mut next_record = 0u64;
    // The next multiple of `check_every` (a counter, not a division on every step).
    let mut next_check = 0u64;
    let mut step = 0u64;
    let mut stationarity = f64::NAN;
    let mut last_dense_check: Option<u64> = None;
    let outcome = loop {
        if step == next_record {
            trajectory.push(snapshot(engine.as_ref(), step));
            next_record = grid.next_after(step);
        }
        if step == next_check || step == config.max_steps {
            if step == next_check {
                next_check = next_check.saturating_add(config.check_every);
            }
            if support_size(&engine.state().u, config.support_threshold) > 1 {
                last_dense_check = Some(step);
            }
            stationarity = engine.stationarity(updates);
            observer.on_check(step, stationarity);
            if stationarity <= config.grad_tol {
                break Outcome::Converged { step };
            }
        }
        if step >= config.max_steps {
            break Outcome::MaxSteps;
        }
        // Every step up to the next record, check or end, in one call: the engine keeps its
        // state in registers across them and stops early if the iterate diverges.
        let until = next_record.min(next_check).min(config.max_steps);
        step += engine.advance(&mut sampler, rng, until - step, DIVERGED_NORM_SQ);
        if past_bound(engine.norm_sq(), DIVERGED_NORM_SQ) {
            stationarity = f64::NAN;
            break Outcome::Diverged { step };
        }
    };
    if trajectory.last().is_none_or(|s| s.step != step) {
        trajectory.push(snapshot(engine.as_ref(), step));
    }
    let final_state = engine.state();
    let final_metrics = iterate_metrics(&final_state, &ctx);
    let sparse_step = (final_metrics.support == 1)
        .then(|| last_dense_check.map_or(0, |s| (s + config.check_every).min(step)));
    let limit = match outcome {
        Outcome::Diverged { .. } => None,
        _ => limit_point(&final_state.u, &ctx),
    };
    Ok(RunResult {
        seed: 0,
        run_index: 0,
        engine: engine.name(),
        outcome,
        steps_run: step,
        final_stationarity: stationarity,
        sparse_step,
        final_state,
        final_metrics,
        limit,
        init_coords,
        gd_limit,
        trajectory,
    })
}
