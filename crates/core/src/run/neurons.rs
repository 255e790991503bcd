//! Runs of `k` tied neurons ([`crate::neurons`]) through the shared run-control loop: the
//! engine (dense, or reduced on orthonormal data), the convergence rule's questions, and the
//! result.
//!
//! The rule is the single neuron's ([`super::control::decide`]) with `k`-neuron answers: the
//! stationarity measure is the largest Frobenius norm of a batch gradient the schedule can draw;
//! an iterate that passes a stationarity test is a global minimum when its loss gap is at most
//! half the smallest gap of a stationary point that is not one
//! ([`crate::neurons::minimum_loss_and_stationary_gap`]: `1/(4n)` on orthonormal data), and
//! never when every neuron is dead (then every gradient is exactly zero). An iterate is dense,
//! for `sparse_step`, when more than `k` data points carry weight in `diag(W^T W)` read in data
//! coordinates (above `support_threshold^2` times the largest entry, the entries being squares): `k` neurons on `k` distinct
//! points for ReLU, `W` on a coordinate subspace for the linear activation, are not.
//!
//! What is not here yet: observers (a `k`-neuron run shows no iterate, so trajectories are not
//! recorded), the Hessian at an identified limit point, and the front ends (issue 15).

use super::control::{Ending, Limits, Problem, Standing, control};
use super::observe::{NoObserver, Observer};
use super::{Outcome, build_data, run_rng};
use crate::batch::BatchSampler;
use crate::config::{EngineChoice, RunConfig};
use crate::data::Data;
use crate::engine::UpdateSet;
use crate::error::ConfigError;
use crate::metrics::support_size;
use crate::model::dot;
use crate::neurons::{
    DenseNeurons, LinearLimit, Neurons, NeuronsEngine, NeuronsMetrics, ReducedNeurons, draw_init,
    hessian_eigenvalues, hessian_trace, linear_gd_limit, loss, minimum_loss_and_stationary_gap,
};
use rand::rngs::ChaCha8Rng;

/// The largest `k d` for which a run's result includes the Hessian's largest eigenvalue (the
/// `kd x kd` matrix is 32 MiB there).
pub const MAX_HESSIAN_SIDE: usize = 2048;

/// Everything a run of `k` neurons produced.
#[derive(Debug, Clone)]
pub struct NeuronsRunResult {
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
    /// The stationarity measure at the last check (NaN after a divergence).
    pub final_stationarity: f64,
    /// When the run ended with at most `k` points in `diag(W^T W)`: the first check after the
    /// last dense one (0 if none was), to within `check_every` steps.
    pub sparse_step: Option<u64>,
    /// The initial weights `W_0`.
    pub init: Neurons,
    /// The final weights.
    pub weights: Neurons,
    /// The final data coordinates `U = W X`, `k x n`, row by row.
    pub coords: Vec<f64>,
    /// What `U` says: supports, selections, collisions, dead neurons, `diag(W^T W)`.
    pub metrics: NeuronsMetrics,
    /// `L(W) - L*`, where `L*` is known.
    pub loss_gap: Option<f64>,
    /// `|<W, W_0>_F| / (||W||_F ||W_0||_F)`: how much of the start the end keeps.
    pub align_init: f64,
    /// For the linear activation on orthonormal data: the predicted full-batch limit of `U^T U`
    /// and, where `w_0` lies in the span, of `U` ([`crate::neurons::linear_gd_limit`]).
    pub linear_limit: Option<LinearLimit>,
    /// `tr H` at the final iterate, in closed form.
    pub hessian_trace: f64,
    /// The largest eigenvalue of `H` at the final iterate (`None` when the eigenvalues fail or
    /// `k d` exceeds [`MAX_HESSIAN_SIDE`]).
    pub hessian_lambda_max: Option<f64>,
}

/// The engine of a run: an enum rather than a trait object, as in the single-neuron model.
enum AnyEngine<'a> {
    Dense(DenseNeurons<'a>),
    Reduced(ReducedNeurons<'a>),
}

impl<'a> AnyEngine<'a> {
    fn get(&self) -> &(dyn NeuronsEngine + 'a) {
        match self {
            Self::Dense(engine) => engine,
            Self::Reduced(engine) => engine,
        }
    }

    fn get_mut(&mut self) -> &mut (dyn NeuronsEngine + 'a) {
        match self {
            Self::Dense(engine) => engine,
            Self::Reduced(engine) => engine,
        }
    }
}

/// One run of `k` neurons in the middle of its steps.
struct NeuronsProblem<'a> {
    engine: AnyEngine<'a>,
    config: &'a RunConfig,
    data: &'a Data,
    k: usize,
    updates: UpdateSet,
    loss_min: Option<f64>,
    minimum_gap_tol: Option<f64>,
}

impl NeuronsProblem<'_> {
    fn metrics(&self) -> NeuronsMetrics {
        NeuronsMetrics::of(
            &self.engine.get().coords(),
            self.k,
            self.config.activation,
            self.config.support_threshold,
        )
    }

    fn loss_gap(&self) -> Option<f64> {
        let l = loss(self.data, self.config.activation, &self.engine.get().weights()).ok()?;
        self.loss_min.map(|star| l - star)
    }
}

impl Problem for NeuronsProblem<'_> {
    fn advance(
        &mut self,
        sampler: &mut BatchSampler,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64 {
        let engine = self.engine.get_mut();
        for step in 1..=steps {
            engine.step(&sampler.next(rng));
            if crate::engine::past_bound(engine.norm_sq(), stop_above) {
                return step;
            }
        }
        steps
    }

    fn step_work(&self) -> u64 {
        let (k, n, b, d) =
            (self.k as u64, self.config.n as u64, self.config.batch as u64, self.config.d as u64);
        match self.engine {
            AnyEngine::Dense(_) => 3 * b * k * d + k * d,
            AnyEngine::Reduced(_) => k * k * (n + b) + k * n,
        }
    }

    fn norm_sq(&self) -> f64 {
        self.engine.get().norm_sq()
    }

    fn stationarity(&self) -> f64 {
        self.engine.get().stationarity(self.updates)
    }

    /// Not a minimum when every neuron is dead (every gradient exactly zero) or when the loss
    /// gap exceeds the tolerance; a minimum otherwise, including where the tolerance is unknown.
    fn standing(&self) -> Standing {
        if self.metrics().dead_neurons == self.k {
            return Standing::NotMinimum { exact: true };
        }
        match (self.loss_gap(), self.minimum_gap_tol) {
            (Some(gap), Some(tol)) if gap > tol || gap.is_nan() => Standing::NotMinimum { exact: false },
            _ => Standing::Minimum,
        }
    }

    fn is_dense(&self) -> bool {
        is_dense(&self.metrics(), self.k, self.config.support_threshold)
    }

    /// A `k`-neuron run shows no iterate: it is only ever run with [`NoObserver`].
    fn show(&self, _: u64, _: bool, _: &mut dyn Observer) {}
}

/// Whether more than `k` data points carry weight in `diag(W^T W)`: entries above
/// `support_threshold^2` times the largest, the cut of a coordinate above `support_threshold`
/// times the largest, as the entries are squares (for `k = 1`, `u_i^2`).
fn is_dense(metrics: &NeuronsMetrics, k: usize, support_threshold: f64) -> bool {
    support_size(&metrics.projection_diagonal, support_threshold * support_threshold) > k
}

/// Runs `k` tied neurons under `config` (its data, schedule, batch, step size, engine choice and
/// stopping rule), seed `seed`, run index `run_index`: the data and `W_0` are drawn from the
/// run's stream as for one neuron, the rows of `W_0` one after the other. An error, before any
/// step, when the configuration is invalid, when `k` is outside `1..=n`, or when the reduced
/// engine is forced onto data that is not orthonormal.
pub fn run_neurons(
    config: &RunConfig,
    k: usize,
    seed: u64,
    run_index: u64,
) -> Result<NeuronsRunResult, ConfigError> {
    config.validate()?;
    crate::neurons::check_neuron_count(k, config.n)?;
    let mut rng = run_rng(seed, run_index);
    let data = build_data(config, &mut rng)?;
    let init = draw_init(k, config.d, config.init_scale, &mut rng)?;
    let engine = match config.engine {
        EngineChoice::Dense => {
            AnyEngine::Dense(DenseNeurons::new(&data, config.activation, config.eta, init.clone())?)
        }
        EngineChoice::Auto if !data.is_orthonormal() => {
            AnyEngine::Dense(DenseNeurons::new(&data, config.activation, config.eta, init.clone())?)
        }
        EngineChoice::Auto | EngineChoice::Reduced => {
            AnyEngine::Reduced(ReducedNeurons::new(&data, config.activation, config.eta, &init)?)
        }
    };
    let (loss_min, stationary_gap) = minimum_loss_and_stationary_gap(&data, config.activation, k)?;
    let mut problem = NeuronsProblem {
        engine,
        config,
        data: &data,
        k,
        updates: UpdateSet::of(config),
        loss_min,
        minimum_gap_tol: stationary_gap.map(|g| g / 2.0),
    };
    let mut sampler = BatchSampler::new(config.schedule, config.n, config.batch);
    let limits = Limits {
        max_steps: config.max_steps,
        check_every: config.check_every,
        grad_tol: config.grad_tol,
        interrupt: None,
    };
    let Some(ending) = control(&mut problem, &mut sampler, &mut rng, limits, &mut NoObserver) else {
        unreachable!("a run without an interrupt was interrupted")
    };
    Ok(finish(&problem, &data, init, ending, seed, run_index))
}

fn finish(
    problem: &NeuronsProblem<'_>,
    data: &Data,
    init: Neurons,
    ending: Ending,
    seed: u64,
    run_index: u64,
) -> NeuronsRunResult {
    let activation = problem.config.activation;
    let engine = problem.engine.get();
    let weights = engine.weights();
    let coords = engine.coords();
    let metrics = problem.metrics();
    let dense = is_dense(&metrics, problem.k, problem.config.support_threshold);
    let (w, w0) = (weights.as_slice(), init.as_slice());
    let align_init = dot(w, w0).abs() / (dot(w, w).sqrt() * dot(w0, w0).sqrt());
    let linear_limit = (activation == crate::config::Activation::Linear && data.is_orthonormal())
        .then(|| {
            let u0: Vec<f64> = (0..init.k()).flat_map(|j| data.coords(init.row(j))).collect();
            linear_gd_limit(&u0, init.k())
        })
        .flatten();
    let hessian_trace = hessian_trace(data, activation, &weights).unwrap_or(f64::NAN);
    // The kd x kd matrix is formed only up to MAX_HESSIAN_SIDE: beyond, its memory and its
    // O((kd)^3) eigensolver would dwarf the run.
    let hessian_lambda_max = (weights.k() * weights.d() <= MAX_HESSIAN_SIDE)
        .then(|| {
            hessian_eigenvalues(data, activation, &weights).ok().and_then(|values| values.last().copied())
        })
        .flatten();
    NeuronsRunResult {
        seed,
        run_index,
        engine: engine.name(),
        outcome: ending.outcome,
        steps_run: ending.steps_run,
        final_stationarity: ending.stationarity,
        sparse_step: ending.sparse_step(!dense),
        init,
        loss_gap: problem.loss_gap(),
        weights,
        coords,
        metrics,
        align_init,
        linear_limit,
        hessian_trace,
        hessian_lambda_max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Activation;
    use crate::run::control::decide;

    /// The problem of `k = rows.len() / d` neurons at `rows` on the standard basis of `R^4`.
    fn at(data: &Data, config: &RunConfig, rows: Vec<f64>) -> Standing {
        let k = rows.len() / data.d();
        let w = Neurons::new(k, data.d(), rows).unwrap();
        let (loss_min, gap) = minimum_loss_and_stationary_gap(data, config.activation, k).unwrap();
        let problem = NeuronsProblem {
            engine: AnyEngine::Reduced(ReducedNeurons::new(data, config.activation, config.eta, &w).unwrap()),
            config,
            data,
            k,
            updates: UpdateSet::EverySample,
            loss_min,
            minimum_gap_tol: gap.map(|g| g / 2.0),
        };
        let g = problem.stationarity();
        assert!(g < 1e-15, "a stationary point: {g:e}");
        let standing = problem.standing();
        // What the rule decides there, at the scale of the iterate.
        let outcome = decide(7, g, problem.norm_sq(), 1e-10, || standing);
        match standing {
            Standing::Minimum => assert_eq!(outcome, Some(Outcome::Converged { step: 7 })),
            Standing::NotMinimum { .. } => {
                assert_eq!(outcome, Some(Outcome::StationaryNotMinimum { step: 7 }))
            }
        }
        standing
    }

    #[test]
    fn stationary_points_that_are_not_minima_are_never_taken_for_one() {
        let data = Data::basis(4, 4).unwrap();
        let relu = RunConfig { activation: Activation::Relu, n: 4, d: 4, ..RunConfig::default() };
        let h = std::f64::consts::FRAC_1_SQRT_2;
        // Two neurons on points 0 and 2: a global minimum.
        assert_eq!(at(&data, &relu, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]), Standing::Minimum);
        // Two neurons sharing point 0, each at 1/sqrt(2): the point is reconstructed, one fewer
        // than a minimum's (gap 1/(2n)).
        let shared = at(&data, &relu, vec![h, 0.0, 0.0, 0.0, h, 0.0, 0.0, 0.0]);
        assert_eq!(shared, Standing::NotMinimum { exact: false });
        // One neuron on point 1, the other dead (every coordinate negative): gap 1/(2n).
        let dead = at(&data, &relu, vec![0.0, 1.0, 0.0, 0.0, -0.3, -0.2, -0.1, -0.4]);
        assert_eq!(dead, Standing::NotMinimum { exact: false });
        // Every neuron dead: no step moves anything.
        let all_dead = at(&data, &relu, vec![-1.0, 0.0, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0]);
        assert_eq!(all_dead, Standing::NotMinimum { exact: true });
        // Linear: two neurons spanning one direction (rank one) against two spanning a plane,
        // rotated inside it (both minima).
        let linear = RunConfig { activation: Activation::Linear, ..relu };
        assert_eq!(
            at(&data, &linear, vec![h, 0.0, 0.0, 0.0, h, 0.0, 0.0, 0.0]),
            Standing::NotMinimum { exact: false }
        );
        assert_eq!(at(&data, &linear, vec![h, h, 0.0, 0.0, h, -h, 0.0, 0.0]), Standing::Minimum);
    }
}
