//! The run-control loop, written once for every model: convergence checks every
//! `check_every` steps and at the end of the budget, the step budget, divergence, observers and
//! the bookkeeping behind `sparse_step`.
//!
//! What the loop needs of a model is the [`Problem`] trait: take steps, report the squared norm
//! the divergence rule reads, the stationarity measure, whether the iterate is dense, and show
//! the iterate to an observer. Building a model's engine, measuring its iterate and assembling
//! its result are the model's own (see [`super::autoencoder`] for the single neuron); this
//! module knows nothing of data coordinates, metrics or limit points.

use super::observe::Observer;
use super::{DIVERGED_NORM_SQ, Outcome};
use crate::batch::BatchSampler;
use crate::engine::past_bound;
use rand::rngs::ChaCha8Rng;

/// A model in the middle of a run, as the run-control loop sees it.
pub(crate) trait Problem {
    /// Up to `steps` SGD steps, each on a batch drawn from `sampler` with `rng`, stopping
    /// early after the first step whose [`Problem::norm_sq`] is [`past_bound`] `stop_above`.
    /// Returns the number of steps taken.
    fn advance(
        &mut self,
        sampler: &mut BatchSampler,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64;

    /// The squared norm of the iterate, the quantity of the divergence rule; in O(1).
    fn norm_sq(&self) -> f64;

    /// The stationarity measure of the update in use, compared with `grad_tol` at every check.
    fn stationarity(&self) -> f64;

    /// Whether the iterate is spread over more data points than a sparse minimum has (for the
    /// single neuron: a support larger than one). Asked at every check, for `sparse_step`.
    fn is_dense(&self) -> bool;

    /// Shows the current iterate, at `step`, to `observer`: through [`Observer::on_final`]
    /// when `last`, through [`Observer::on_iterate`] otherwise.
    fn show(&self, step: u64, last: bool, observer: &mut dyn Observer);
}

/// The stopping rule of a run (from a validated config: both counts at least 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The step budget.
    pub(crate) max_steps: u64,
    /// The steps between two convergence checks.
    pub(crate) check_every: u64,
    /// The run has converged at the first check whose stationarity is at most this.
    pub(crate) grad_tol: f64,
}

/// How a run ended, as far as run control knows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ending {
    /// The outcome.
    pub(crate) outcome: Outcome,
    /// The steps taken.
    pub(crate) steps_run: u64,
    /// The stationarity measure at the last check (NaN after a divergence).
    pub(crate) stationarity: f64,
    /// The last check at which the iterate was dense, if any.
    last_dense_check: Option<u64>,
    check_every: u64,
}

impl Ending {
    /// `RunResult::sparse_step` of a run whose final iterate is `sparse` or not: the first check
    /// after the last dense one (0 if none was dense), capped at the last step.
    pub(crate) fn sparse_step(&self, sparse: bool) -> Option<u64> {
        sparse.then(|| {
            self.last_dense_check.map_or(0, |s| s.saturating_add(self.check_every).min(self.steps_run))
        })
    }
}

/// Runs `problem` until it converges, diverges or spends `limits.max_steps`, drawing batches
/// from `sampler` with `rng`, and reports to `observer` (see [`Observer`] for what it is shown).
///
/// Between two stops (a check, a watched step, the budget) the steps are taken in one call of
/// [`Problem::advance`], so that an engine keeps its state in registers across them; with an
/// observer that watches no iterate, the only stops are the checks and the budget.
pub(crate) fn control<P: Problem + ?Sized>(
    problem: &mut P,
    sampler: &mut BatchSampler,
    rng: &mut ChaCha8Rng,
    limits: Limits,
    observer: &mut dyn Observer,
) -> Ending {
    let Limits { max_steps, check_every, grad_tol } = limits;
    let watching = observer.next_watch(0).is_some();
    // The next step to show the observer (`u64::MAX`: none), and the next multiple of
    // `check_every` (a counter, not a division on every step).
    let mut next_watch = if watching { 0 } else { u64::MAX };
    let mut next_check = 0u64;
    let mut step = 0u64;
    let mut stationarity = f64::NAN;
    let mut last_dense_check: Option<u64> = None;
    let outcome = loop {
        let mut end = None;
        if step == next_check || step == max_steps {
            if step == next_check {
                next_check = next_check.saturating_add(check_every);
            }
            if problem.is_dense() {
                last_dense_check = Some(step);
            }
            stationarity = problem.stationarity();
            observer.on_check(step, stationarity);
            if stationarity <= grad_tol {
                end = Some(Outcome::Converged { step });
            }
        }
        if end.is_none() && step >= max_steps {
            end = Some(Outcome::MaxSteps);
        }
        if watching && (step == next_watch || end.is_some()) {
            problem.show(step, end.is_some(), observer);
            let after = step.saturating_add(1);
            next_watch = observer.next_watch(after).map_or(u64::MAX, |s| s.max(after));
        }
        if let Some(outcome) = end {
            break outcome;
        }
        // Every step up to the next stop in one call; the engine stops early if the iterate
        // diverges.
        let until = next_watch.min(next_check).min(max_steps);
        step += problem.advance(sampler, rng, until - step, DIVERGED_NORM_SQ);
        if past_bound(problem.norm_sq(), DIVERGED_NORM_SQ) {
            stationarity = f64::NAN;
            if watching {
                problem.show(step, true, observer);
            }
            break Outcome::Diverged { step };
        }
    };
    Ending { outcome, steps_run: step, stationarity, last_dense_check, check_every }
}
