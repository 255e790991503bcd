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
//! A run on orthonormal data that neither diverged nor stopped at a stationary point that is
//! not a minimum is identified with the point [`crate::neurons::identified_minimum`] builds from
//! its final iterate, where the Hessian is measured as at the raw iterate. For the linear
//! activation that point is a global minimum by construction; for ReLU it is one when the run
//! converged, while at the step budget a point may still be shared by two neurons, both active
//! on it (consumers measure only converged ReLU runs, as aesgd-experiment's metrics do). What is not here: observers (a `k`-neuron run shows no iterate, so trajectories are
//! not recorded).

use super::control::{Ending, Limits, Problem, Standing, control};
use super::observe::{NoObserver, Observer};
use super::{Interrupt, Interrupted, Outcome, build_data, run_rng};
use crate::batch::BatchSampler;
use crate::config::{EngineChoice, RunConfig};
use crate::data::Data;
use crate::engine::UpdateSet;
use crate::error::ConfigError;
use crate::metrics::support_size;
use crate::model::dot;
use crate::neurons::{
    DenseNeurons, LinearLimit, Neurons, NeuronsEngine, NeuronsMetrics, ReducedNeurons, draw_init,
    hessian_eigenvalues, hessian_trace, identified_minimum, linear_gd_limit, loss,
    minimum_loss_and_stationary_gap,
};
use rand::rngs::ChaCha8Rng;

/// The largest `k d` for which a run's result includes the Hessian's largest eigenvalue (the
/// `kd x kd` matrix is 32 MiB there).
pub const MAX_HESSIAN_SIDE: usize = 2048;

/// The global minimum a converged run of `k` neurons is identified with
/// ([`identified_minimum`]) and its Hessian.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronsLimit {
    /// Its data coordinates, `k x n`, row by row.
    pub coords: Vec<f64>,
    /// The data points that carry weight in its `diag(W^T W)`: `k` at `k` distinct points or on
    /// a coordinate subspace, more where a ReLU neuron keeps several points or linear rows span
    /// a general subspace.
    pub support: usize,
    /// `tr H` there.
    pub hessian_trace: f64,
    /// The largest eigenvalue of `H` there (`None` when the eigenvalues fail or `k d` exceeds
    /// [`MAX_HESSIAN_SIDE`]).
    pub hessian_lambda_max: Option<f64>,
}

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
    /// The initial data coordinates `U_0 = W_0 X`, `k x n`, row by row.
    pub init_coords: Vec<f64>,
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
    /// How close `U^T U` is to the predicted limit `B B^T` of [`Self::linear_limit`]:
    /// `sqrt(<U^T U, B B^T>_F / (||U^T U||_F ||B B^T||_F))`, 1 there; for `k = 1` the single
    /// neuron's `|cos(u, u_gd)|`.
    pub align_gd_limit: Option<f64>,
    /// The identified global minimum, on orthonormal data, unless the run diverged or stopped at
    /// a stationary point that is not a minimum, and when the iterate has the structure of one.
    pub limit: Option<NeuronsLimit>,
    /// `tr H` at the final iterate, in closed form.
    pub hessian_trace: f64,
    /// The largest eigenvalue of `H` at the final iterate (`None` when the eigenvalues fail or
    /// `k d` exceeds [`MAX_HESSIAN_SIDE`]).
    pub hessian_lambda_max: Option<f64>,
}

/// The engine of a run: an enum rather than a trait object, as in the single-neuron model. The
/// reduced engine, which carries its scratch buffers inline, is boxed to keep the variants alike.
enum AnyEngine<'a> {
    Dense(DenseNeurons<'a>),
    Reduced(Box<ReducedNeurons<'a>>),
}

impl<'a> AnyEngine<'a> {
    fn get(&self) -> &(dyn NeuronsEngine + 'a) {
        match self {
            Self::Dense(engine) => engine,
            Self::Reduced(engine) => engine.as_ref(),
        }
    }

    fn get_mut(&mut self) -> &mut (dyn NeuronsEngine + 'a) {
        match self {
            Self::Dense(engine) => engine,
            Self::Reduced(engine) => engine.as_mut(),
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

/// Runs `k = config.neurons` tied neurons under `config` (its data, schedule, batch, step
/// size, engine choice and stopping rule), seed `seed`, run index `run_index`: the data and
/// `W_0` are drawn from the run's stream as for one neuron, the rows of `W_0` one after the
/// other. An error, before any step, when the configuration is invalid (`k` outside `1..=n`
/// among others) or when the reduced engine is forced onto data that is not orthonormal.
pub fn run_neurons(config: &RunConfig, seed: u64, run_index: u64) -> Result<NeuronsRunResult, ConfigError> {
    match run_neurons_interruptible(config, seed, run_index, &Interrupt::new()) {
        Ok(result) => result,
        // Nobody holds the interrupt, so nobody can request it.
        Err(Interrupted) => unreachable!("a run without an interrupt was interrupted"),
    }
}

/// [`run_neurons`] that stops, with no result, soon after `interrupt` is requested.
pub fn run_neurons_interruptible(
    config: &RunConfig,
    seed: u64,
    run_index: u64,
    interrupt: &Interrupt,
) -> Result<Result<NeuronsRunResult, ConfigError>, Interrupted> {
    match prepare_and_run(config, seed, run_index, interrupt) {
        Ok(Some(result)) => Ok(Ok(result)),
        Ok(None) => Err(Interrupted),
        Err(error) => Ok(Err(error)),
    }
}

fn prepare_and_run(
    config: &RunConfig,
    seed: u64,
    run_index: u64,
    interrupt: &Interrupt,
) -> Result<Option<NeuronsRunResult>, ConfigError> {
    config.validate()?;
    let k = config.neurons;
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
            AnyEngine::Reduced(Box::new(ReducedNeurons::new(&data, config.activation, config.eta, &init)?))
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
        interrupt: Some(interrupt),
    };
    let Some(ending) = control(&mut problem, &mut sampler, &mut rng, limits, &mut NoObserver) else {
        return Ok(None);
    };
    // Measuring the final iterate can take long at large sizes: the interrupt is read first.
    if interrupt.is_requested() {
        return Ok(None);
    }
    Ok(Some(finish(&problem, &data, init, ending, seed, run_index)))
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
    let init_coords: Vec<f64> = (0..init.k()).flat_map(|j| data.coords(init.row(j))).collect();
    let linear_limit = (activation == crate::config::Activation::Linear && data.is_orthonormal())
        .then(|| linear_gd_limit(&init_coords, init.k()))
        .flatten();
    let align_gd_limit =
        linear_limit.as_ref().map(|limit| projection_alignment(&coords, problem.k, &limit.projection));
    let hessian_trace = hessian_trace(data, activation, &weights).unwrap_or(f64::NAN);
    let hessian_lambda_max = largest_eigenvalue(data, activation, &weights);
    // As for one neuron: identified unless the run diverged or stopped at a stationary point
    // that is not a minimum.
    let identifiable =
        !matches!(ending.outcome, Outcome::Diverged { .. } | Outcome::StationaryNotMinimum { .. });
    let limit = (identifiable && data.is_orthonormal())
        .then(|| identified_minimum(&coords, problem.k, activation, problem.config.support_threshold))
        .flatten()
        .and_then(|minimum| {
            // In data coordinates: orthonormal data is the standard basis turned by an orthogonal
            // map, which leaves the Hessian's spectrum and trace alone, and there the other
            // points' coordinates are exactly zero, on the kink, rather than rounded to either
            // side of it (which would count a spurious active sample, -1/n each, in tr H).
            let (n, d) = (data.n(), data.d());
            let basis = Data::basis(n, d).ok()?;
            let rows: Vec<f64> = (0..problem.k)
                .flat_map(|j| {
                    let mut row = minimum[j * n..(j + 1) * n].to_vec();
                    row.resize(d, 0.0);
                    row
                })
                .collect();
            let at = Neurons::new(problem.k, d, rows).ok()?;
            let diagonal =
                NeuronsMetrics::of(&minimum, problem.k, activation, problem.config.support_threshold)
                    .projection_diagonal;
            let threshold = problem.config.support_threshold;
            Some(NeuronsLimit {
                support: support_size(&diagonal, threshold * threshold),
                hessian_trace: crate::neurons::hessian_trace(&basis, activation, &at).ok()?,
                hessian_lambda_max: largest_eigenvalue(&basis, activation, &at),
                coords: minimum,
            })
        });
    NeuronsRunResult {
        seed,
        run_index,
        engine: engine.name(),
        outcome: ending.outcome,
        steps_run: ending.steps_run,
        final_stationarity: ending.stationarity,
        sparse_step: ending.sparse_step(!dense),
        init,
        init_coords,
        loss_gap: problem.loss_gap(),
        weights,
        coords,
        metrics,
        align_init,
        linear_limit,
        align_gd_limit,
        limit,
        hessian_trace,
        hessian_lambda_max,
    }
}

/// The largest eigenvalue of the `kd x kd` Hessian at `weights`, formed only up to
/// [`MAX_HESSIAN_SIDE`]: beyond, its memory and its O((kd)^3) eigensolver would dwarf the run.
fn largest_eigenvalue(data: &Data, activation: crate::config::Activation, weights: &Neurons) -> Option<f64> {
    (weights.k() * weights.d() <= MAX_HESSIAN_SIDE)
        .then(|| {
            hessian_eigenvalues(data, activation, weights).ok().and_then(|values| values.last().copied())
        })
        .flatten()
}

/// `sqrt(<U^T U, P>_F / (||U^T U||_F ||P||_F))` for `u` (`k x n`) and a projection `p`
/// (`n x n`), computed in `k x k` and `k x n` products: `<U^T U, P>_F = tr(U P U^T)` and
/// `||U^T U||_F = ||U U^T||_F`.
fn projection_alignment(u: &[f64], k: usize, p: &[f64]) -> f64 {
    let n = u.len() / k;
    let row = |j: usize| &u[j * n..(j + 1) * n];
    let mut inner = 0.0;
    for j in 0..k {
        for a in 0..n {
            inner += row(j)[a] * dot(&p[a * n..(a + 1) * n], row(j));
        }
    }
    let gram_sq: f64 =
        (0..k).flat_map(|j| (0..k).map(move |m| (j, m))).map(|(j, m)| dot(row(j), row(m)).powi(2)).sum();
    let p_sq = dot(p, p);
    (inner / (gram_sq.sqrt() * p_sq.sqrt())).max(0.0).sqrt()
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
            engine: AnyEngine::Reduced(Box::new(
                ReducedNeurons::new(data, config.activation, config.eta, &w).unwrap(),
            )),
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
