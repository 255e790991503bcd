//! Observers: what watches a run without steering it.
//!
//! An [`Observer`] is told of every convergence check, and can ask to see the iterate at steps
//! of its choosing: the runner then stops its runs of steps there, computes the iterate's state
//! and metrics, and shows them. An observer that asks for no step costs nothing: the runner
//! computes no state for it and takes its steps in chunks as large as the convergence checks
//! and the budget allow. Two observers watch one run as a pair `(A, B)`, each seeing exactly
//! what it would see alone.
//!
//! Observers cannot end a run or change what it computes: a run's result is the same with any
//! observer. This module defines the protocol; the trajectory recorder, the one observer of the
//! crate that watches iterates, is [`crate::trajectory::TrajectoryRecorder`].

use crate::engine::IterateState;
use crate::metrics::IterateMetrics;

/// Watches a run; every method has a default that does nothing (or, for
/// [`Observer::on_final`], forwards to [`Observer::on_iterate`]).
///
/// The protocol of iterates: an observer watches them when [`Observer::next_watch`]`(0)` is
/// `Some`. A watching observer is shown step 0, every step that `next_watch` names, and the
/// run's final step (through [`Observer::on_final`]), each exactly once and in increasing
/// order; a step that is both requested and final is shown once, as the final one. At a step
/// with a convergence check, [`Observer::on_check`] comes first. An observer that does not
/// watch is shown nothing.
pub trait Observer {
    /// Called at every convergence check with the step and the stationarity measure.
    fn on_check(&mut self, _step: u64, _stationarity: f64) {}

    /// Whether [`Observer::on_check`] reads the measure. When it does not (say `false`), the
    /// runner may pass, at a check that does not end the run, any value above the largest at
    /// which the check could have ended it rather than the measure itself, and stop computing
    /// it once it knows (the measure of a run's last check is exact either way, and so is every
    /// decision). The default is `true`.
    fn reads_stationarity(&self) -> bool {
        true
    }

    /// The first step at or after `step` at which this observer wants to see the iterate, or
    /// `None` when it wants none from `step` on (a watching observer is still shown the final
    /// step). The default is `None` for every step: the observer watches no iterate.
    ///
    /// The answer must depend on `step` only, not on what the observer has been shown: the
    /// runner asks after each step it shows, and a pair asks its members to tell whose step a
    /// shown step is. An answer before `step` is taken as `step` itself.
    fn next_watch(&self, _step: u64) -> Option<u64> {
        None
    }

    /// The iterate at a watched step other than the final one: its state and its metrics.
    fn on_iterate(&mut self, _step: u64, _state: &IterateState, _metrics: &IterateMetrics) {}

    /// The iterate at the run's final step (the step of convergence, of divergence or the end
    /// of the budget). By default it is passed to [`Observer::on_iterate`] like any other.
    fn on_final(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        self.on_iterate(step, state, metrics);
    }
}

/// An observer that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn reads_stationarity(&self) -> bool {
        false
    }
}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn on_check(&mut self, step: u64, stationarity: f64) {
        (**self).on_check(step, stationarity);
    }

    fn reads_stationarity(&self) -> bool {
        (**self).reads_stationarity()
    }

    fn next_watch(&self, step: u64) -> Option<u64> {
        (**self).next_watch(step)
    }

    fn on_iterate(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        (**self).on_iterate(step, state, metrics);
    }

    fn on_final(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        (**self).on_final(step, state, metrics);
    }
}

/// Whether `observer` is to be shown the non-final step `step`: step 0 when it watches at all,
/// any other step when it asked for that one.
fn wants<O: Observer + ?Sized>(observer: &O, step: u64) -> bool {
    observer.next_watch(step).is_some_and(|next| step == 0 || next <= step)
}

/// Two observers of one run. Each member is told of every check and shown exactly the
/// iterates it would be shown alone: the pair asks for the union of their steps and passes a
/// step on only to the members that asked for it (and the final step to every member that
/// watches).
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_check(&mut self, step: u64, stationarity: f64) {
        self.0.on_check(step, stationarity);
        self.1.on_check(step, stationarity);
    }

    fn reads_stationarity(&self) -> bool {
        self.0.reads_stationarity() || self.1.reads_stationarity()
    }

    fn next_watch(&self, step: u64) -> Option<u64> {
        match (self.0.next_watch(step), self.1.next_watch(step)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_iterate(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        if wants(&self.0, step) {
            self.0.on_iterate(step, state, metrics);
        }
        if wants(&self.1, step) {
            self.1.on_iterate(step, state, metrics);
        }
    }

    fn on_final(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        if self.0.next_watch(0).is_some() {
            self.0.on_final(step, state, metrics);
        }
        if self.1.next_watch(0).is_some() {
            self.1.on_final(step, state, metrics);
        }
    }
}
