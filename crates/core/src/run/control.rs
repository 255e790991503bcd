//! The run-control loop, written once for every model: convergence checks every
//! `check_every` steps and at the end of the budget, the step budget, divergence, observers and
//! the bookkeeping behind `sparse_step`.
//!
//! What the loop needs of a model is the [`Problem`] trait: take steps, report the squared norm
//! the divergence and the relative stationarity rules read, the stationarity measure, whether an
//! iterate that passed a stationarity test is a global minimum ([`Standing`]), whether the
//! iterate is dense, and show the iterate to an observer. The rule itself is [`decide`]. Building a model's engine, measuring its iterate and assembling
//! its result are the model's own (see [`super::autoencoder`] for the single neuron); this
//! module knows nothing of data coordinates, metrics or limit points.

use super::observe::Observer;
use super::{DIVERGED_NORM_SQ, Outcome, RELATIVE_MIN_NORM_SQ};
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

    /// Whether the current iterate is a global minimum. Asked only at a check where one of the
    /// stationarity tests of [`decide`] passed, so it may cost as much as measuring the iterate.
    fn standing(&self) -> Standing;

    /// Whether the iterate is spread over more data points than a sparse minimum has (for the
    /// single neuron: a support larger than one). Asked at every check, for `sparse_step`.
    fn is_dense(&self) -> bool;

    /// Shows the current iterate, at `step`, to `observer`: through [`Observer::on_final`]
    /// when `last`, through [`Observer::on_iterate`] otherwise.
    fn show(&self, step: u64, last: bool, observer: &mut dyn Observer);
}

/// What a model says of an iterate that passed a stationarity test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// A global minimum: its loss gap is within the model's tolerance, or, where the minimum
    /// value is not known, nothing shows that it is not one.
    Minimum,
    /// Not a global minimum.
    NotMinimum {
        /// Whether every batch gradient is exactly zero at it (no sample is active, as at
        /// `w = 0` or at a dead ReLU neuron): no step can ever move it, at any scale.
        exact: bool,
    },
}

/// The decision of one check, with `stationarity` the measure of the update in use, `norm_sq`
/// the squared norm of the iterate and `standing` asked for only when a test passes:
///
/// - `Converged` when `stationarity <= grad_tol` and the iterate is a global minimum;
/// - `StationaryNotMinimum` when the iterate is not a global minimum and is a fixed point: either
///   exactly (every batch gradient is zero) or relative to its own scale,
///   `stationarity <= grad_tol * ||w||`, a test made only where `||w||^2 >=`
///   [`RELATIVE_MIN_NORM_SQ`] (below, the measure loses its precision to underflow);
/// - `None` (the run goes on) otherwise. Near `w = 0` the measure is about `2 ||u|| / n` or more
///   (`u` the data coordinates), far above `grad_tol ||w||` unless `w` lies almost entirely
///   outside the data span, so SGD is left to escape the saddle.
///
/// A global minimum converges exactly when the absolute test passes, as it did before the
/// relative test existed: the decision there does not depend on `||w||`.
pub(crate) fn decide(
    step: u64,
    stationarity: f64,
    norm_sq: f64,
    grad_tol: f64,
    standing: impl FnOnce() -> Standing,
) -> Option<Outcome> {
    let absolute = stationarity <= grad_tol;
    let relative = norm_sq >= RELATIVE_MIN_NORM_SQ && stationarity <= grad_tol * norm_sq.sqrt();
    if !(absolute || relative) {
        return None;
    }
    match standing() {
        Standing::Minimum => absolute.then_some(Outcome::Converged { step }),
        Standing::NotMinimum { exact } => {
            (exact || relative).then_some(Outcome::StationaryNotMinimum { step })
        }
    }
}

/// The stopping rule of a run (from a validated config: both counts at least 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The step budget.
    pub(crate) max_steps: u64,
    /// The steps between two convergence checks.
    pub(crate) check_every: u64,
    /// The tolerance of the stationarity tests of [`decide`].
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

/// Runs `problem` until it converges, stops at a stationary point that is not a minimum,
/// diverges or spends `limits.max_steps` (the checks decide by [`decide`]), drawing batches
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
            end = decide(step, stationarity, problem.norm_sq(), grad_tol, || problem.standing());
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

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-10;
    const MIN: Standing = Standing::Minimum;
    const SADDLE: Standing = Standing::NotMinimum { exact: false };
    const STUCK: Standing = Standing::NotMinimum { exact: true };

    fn at(stationarity: f64, norm: f64, standing: Standing) -> Option<Outcome> {
        decide(9, stationarity, norm * norm, TOL, || standing)
    }

    #[test]
    fn a_minimum_converges_exactly_when_the_absolute_test_passes() {
        assert_eq!(at(1e-11, 1.0, MIN), Some(Outcome::Converged { step: 9 }));
        assert_eq!(at(TOL, 1.0 - 1e-12, MIN), Some(Outcome::Converged { step: 9 }));
        // The relative test alone (||w|| > 1) does not converge it; nor does it end the run.
        assert_eq!(at(1.5 * TOL, 2.0, MIN), None);
        assert_eq!(at(1e-9, 1.0, MIN), None);
    }

    #[test]
    fn a_point_that_is_not_a_minimum_ends_only_as_a_fixed_point_relative_to_its_scale() {
        // w ~ 0: tiny in absolute terms, not relative to ||w||: the run goes on.
        assert_eq!(at(2e-13, 1e-12, SADDLE), None);
        assert_eq!(at(1e-24, 1e-12, SADDLE), Some(Outcome::StationaryNotMinimum { step: 9 }));
        assert_eq!(at(1e-11, 1.0, SADDLE), Some(Outcome::StationaryNotMinimum { step: 9 }));
        assert_eq!(at(1e-9, 100.0, SADDLE), Some(Outcome::StationaryNotMinimum { step: 9 }));
        assert_eq!(at(1e-9, 1.0, SADDLE), None);
    }

    #[test]
    fn exact_fixed_points_end_at_any_scale_and_underflow_does_not() {
        // w = 0 and a tiny dead neuron: every gradient is exactly zero.
        assert_eq!(at(0.0, 0.0, STUCK), Some(Outcome::StationaryNotMinimum { step: 9 }));
        assert_eq!(at(0.0, 1e-160, STUCK), Some(Outcome::StationaryNotMinimum { step: 9 }));
        // A measure that underflowed to zero below the relative test's range is not trusted.
        assert_eq!(at(0.0, 1e-160, SADDLE), None);
        assert_eq!(at(0.0, 0.0, SADDLE), None);
        // Where ||w|| is in range, a zero measure is a fixed point.
        assert_eq!(at(0.0, 1e-90, SADDLE), Some(Outcome::StationaryNotMinimum { step: 9 }));
    }

    #[test]
    fn the_standing_is_asked_only_when_a_test_passes() {
        let asked = |stationarity: f64, norm_sq: f64| {
            let mut asked = false;
            decide(0, stationarity, norm_sq, TOL, || {
                asked = true;
                MIN
            });
            asked
        };
        assert!(!asked(1e-3, 1.0));
        assert!(!asked(f64::NAN, 1.0));
        assert!(asked(1e-11, 1.0));
        assert!(asked(0.0, 0.0));
    }
}
