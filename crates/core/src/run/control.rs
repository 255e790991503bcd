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

use super::interrupt::{Interrupt, poll_steps};
use super::observe::Observer;
use super::{DIVERGED_NORM_SQ, Outcome, RELATIVE_MIN_NORM_SQ};
use crate::batch::BatchSampler;
use crate::engine::past_bound;
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;

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

    /// [`Problem::advance`] on each of `lanes`, every one up to `steps` steps with its own
    /// sampler and generator, setting each lane's `taken`: the same steps, bit for bit, as
    /// advancing the lanes one after the other, which is the default. A model overrides it to
    /// interleave the lanes' steps so that their chains of dependent operations overlap (the
    /// runs of a group share their configuration).
    fn advance_group(lanes: &mut [Lane<'_, Self>], steps: u64, stop_above: f64)
    where
        Self: Sized,
    {
        for lane in lanes {
            lane.taken = lane.problem.advance(lane.sampler, lane.rng, steps, stop_above);
        }
    }

    /// About how many floating-point operations one step takes, for how often an interrupt is
    /// read (see [`super::interrupt::POLL_WORK`]).
    fn step_work(&self) -> u64;

    /// The squared norm of the iterate, the quantity of the divergence rule; in O(1).
    fn norm_sq(&self) -> f64;

    /// The stationarity measure of the update in use, compared with `grad_tol` at every check.
    fn stationarity(&self) -> f64;

    /// [`Problem::stationarity`] at a check that only needs the measure if it is at most
    /// `floor`: the exact measure when it is at most `floor`, otherwise any value above `floor`
    /// that does not exceed it (a model may stop computing once it knows). The default is the
    /// exact measure.
    fn stationarity_unless_above(&self, floor: f64) -> f64 {
        let _ = floor;
        self.stationarity()
    }

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
    let relative = relative_tolerance(norm_sq, grad_tol).is_some_and(|tol| stationarity <= tol);
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

/// The tolerance of [`decide`]'s relative test, `grad_tol ||w||`, where the test is made: at a
/// squared norm `norm_sq` of at least [`RELATIVE_MIN_NORM_SQ`] (never at NaN).
fn relative_tolerance(norm_sq: f64, grad_tol: f64) -> Option<f64> {
    (norm_sq >= RELATIVE_MIN_NORM_SQ).then(|| grad_tol * norm_sq.sqrt())
}

/// The largest stationarity measure at which [`decide`] may end a run whose iterate has squared
/// norm `norm_sq`: above it both of its tests fail, whatever the measure is.
fn deciding_floor(norm_sq: f64, grad_tol: f64) -> f64 {
    relative_tolerance(norm_sq, grad_tol).map_or(grad_tol, |tol| grad_tol.max(tol))
}

/// The stopping rule of a run (from a validated config: both counts at least 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits<'i> {
    /// The step budget.
    pub(crate) max_steps: u64,
    /// The steps between two convergence checks.
    pub(crate) check_every: u64,
    /// The tolerance of the stationarity tests of [`decide`].
    pub(crate) grad_tol: f64,
    /// A request to stop from outside, read at every stop and every
    /// [`POLL_WORK`](super::interrupt::POLL_WORK) operations of steps.
    pub(crate) interrupt: Option<&'i Interrupt>,
}

impl Limits<'_> {
    fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(Interrupt::is_requested)
    }
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

/// The run-control state of one run between two stops: where it is, its next check and its
/// observer's next watched step, and what its checks found so far. [`control`] and
/// [`control_pool`] drive it the same way, so a run stops, checks and shows its iterate at the
/// same steps whether it is stepped alone or in a group.
struct Controller<'i> {
    limits: Limits<'i>,
    watching: bool,
    /// Whether the observer reads the measure at every check ([`Observer::reads_stationarity`]).
    exact_checks: bool,
    /// The next step to show the observer (`u64::MAX`: none).
    next_watch: u64,
    /// The next multiple of `check_every` (a counter, not a division on every step).
    next_check: u64,
    step: u64,
    stationarity: f64,
    last_dense_check: Option<u64>,
    /// The steps between two readings of the interrupt (`u64::MAX` without one).
    poll_steps: u64,
}

impl<'i> Controller<'i> {
    fn new<P: Problem + ?Sized>(limits: Limits<'i>, problem: &P, observer: &dyn Observer) -> Self {
        let watching = observer.next_watch(0).is_some();
        Self {
            exact_checks: observer.reads_stationarity(),
            poll_steps: if limits.interrupt.is_some() { poll_steps(problem.step_work()) } else { u64::MAX },
            limits,
            watching,
            next_watch: if watching { 0 } else { u64::MAX },
            next_check: 0,
            step: 0,
            stationarity: f64::NAN,
            last_dense_check: None,
        }
    }

    /// What happens at the current step: the convergence check if one is due (or the budget is
    /// spent), the end of the budget, and showing the iterate if the observer asked for this
    /// step or the run ends here. Returns the outcome when the run ends at this step. At a step
    /// that is none of these stops it does nothing.
    fn at_stop<P: Problem + ?Sized>(&mut self, problem: &P, observer: &mut dyn Observer) -> Option<Outcome> {
        let Limits { max_steps, check_every, grad_tol, .. } = self.limits;
        let step = self.step;
        let mut end = None;
        if step == self.next_check || step == max_steps {
            if step == self.next_check {
                self.next_check = self.next_check.saturating_add(check_every);
            }
            if problem.is_dense() {
                self.last_dense_check = Some(step);
            }
            let norm_sq = problem.norm_sq();
            // The measure is reported at the run's last check and shown to an observer that
            // reads it; otherwise only the decision needs it, and above the floor every value
            // decides the same (`decide`'s tests fail). The last check is either the end of
            // the budget or one whose test passes, where the measure is at most the floor and
            // so exact.
            let floor = deciding_floor(norm_sq, grad_tol);
            self.stationarity = if self.exact_checks || step == max_steps {
                problem.stationarity()
            } else {
                problem.stationarity_unless_above(floor)
            };
            observer.on_check(step, self.stationarity);
            end = decide(step, self.stationarity, norm_sq, grad_tol, || problem.standing());
        }
        if end.is_none() && step >= max_steps {
            end = Some(Outcome::MaxSteps);
        }
        if self.watching && (step == self.next_watch || end.is_some()) {
            problem.show(step, end.is_some(), observer);
            let after = step.saturating_add(1);
            self.next_watch = observer.next_watch(after).map_or(u64::MAX, |s| s.max(after));
        }
        end
    }

    /// The next stop after the current step: a watched step, a check or the end of the budget,
    /// or the next reading of the interrupt, if there is one.
    fn next_stop(&self) -> u64 {
        let stop = self.next_watch.min(self.next_check).min(self.limits.max_steps);
        stop.min(self.step.saturating_add(self.poll_steps))
    }

    /// Books `taken` steps of [`Problem::advance`]; returns `Diverged` when the iterate is past
    /// the divergence bound (the final iterate is then shown to a watching observer).
    fn advanced<P: Problem + ?Sized>(
        &mut self,
        taken: u64,
        problem: &P,
        observer: &mut dyn Observer,
    ) -> Option<Outcome> {
        self.step += taken;
        if !past_bound(problem.norm_sq(), DIVERGED_NORM_SQ) {
            return None;
        }
        self.stationarity = f64::NAN;
        if self.watching {
            problem.show(self.step, true, observer);
        }
        Some(Outcome::Diverged { step: self.step })
    }

    fn ending(&self, outcome: Outcome) -> Ending {
        Ending {
            outcome,
            steps_run: self.step,
            stationarity: self.stationarity,
            last_dense_check: self.last_dense_check,
            check_every: self.limits.check_every,
        }
    }
}

/// Runs `problem` until it converges, stops at a stationary point that is not a minimum,
/// diverges or spends `limits.max_steps` (the checks decide by [`decide`]), drawing batches
/// from `sampler` with `rng`, and reports to `observer` (see [`Observer`] for what it is shown).
///
/// Between two stops (a check, a watched step, the budget) the steps are taken in one call of
/// [`Problem::advance`], so that an engine keeps its state in registers across them; with an
/// observer that watches no iterate, the only stops are the checks and the budget (and, with an
/// interrupt, every [`POLL_WORK`](super::interrupt::POLL_WORK) operations of steps). Returns `None`, with the run unfinished, when the
/// interrupt is requested.
pub(crate) fn control<P: Problem + ?Sized>(
    problem: &mut P,
    sampler: &mut BatchSampler,
    rng: &mut ChaCha8Rng,
    limits: Limits<'_>,
    observer: &mut dyn Observer,
) -> Option<Ending> {
    let mut run = Controller::new(limits, problem, observer);
    let outcome = loop {
        if let Some(outcome) = run.at_stop(problem, observer) {
            break outcome;
        }
        if limits.interrupted() {
            return None;
        }
        // Every step up to the next stop in one call; the engine stops early if the iterate
        // diverges.
        let taken = problem.advance(sampler, rng, run.next_stop() - run.step, DIVERGED_NORM_SQ);
        if let Some(outcome) = run.advanced(taken, problem, observer) {
            break outcome;
        }
    };
    Some(run.ending(outcome))
}

/// One run of a group stepped by [`control_pool`]: its model, its sampler and random stream,
/// and its observer.
pub(crate) struct Member<'o, P> {
    pub(crate) problem: P,
    pub(crate) sampler: BatchSampler,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) observer: &'o mut dyn Observer,
}

/// What [`Problem::advance_group`] steps: one unfinished run of a group, borrowed for one
/// stretch of steps, and the number of steps it took.
pub(crate) struct Lane<'m, P> {
    pub(crate) problem: &'m mut P,
    pub(crate) sampler: &'m mut BatchSampler,
    pub(crate) rng: &'m mut ChaCha8Rng,
    /// Set by [`Problem::advance_group`]: the steps this run took.
    pub(crate) taken: u64,
}

/// A member of a pool in a lane: where it came from, the run and its control state.
struct Running<'o, 'i, P> {
    index: usize,
    member: Member<'o, P>,
    run: Controller<'i>,
}

/// Runs every member of `members` as [`control`] runs it alone, with the same limits, at most
/// `lanes` (at least 1) at a time, and hands each one that ends, with its index in `members`
/// and its ending, to `on_end` as soon as it ends: each member stops, checks, shows its iterate
/// to its observer and ends at exactly the steps, and with exactly the calls, of a run on its
/// own.
///
/// The members enter the lanes in order; when one ends, the next takes its lane at once, so
/// that the lanes stay full until no member is left to enter. The members in the lanes may
/// therefore be at different steps. At each stop every one of them does what its own run does
/// at its current step (a member for which that step is no stop does nothing); then they all
/// advance, through [`Problem::advance_group`], by the same number of steps: the fewest any of
/// them has to its next stop. A member that diverges inside a stretch stops there and leaves
/// after it. Returns `None`, with the members still in the lanes and those not yet entered
/// unfinished (and not handed to `on_end`), when the interrupt is requested or `on_end` breaks.
pub(crate) fn control_pool<'o, P: Problem>(
    members: Vec<Member<'o, P>>,
    lanes: usize,
    limits: Limits<'_>,
    on_end: &mut dyn FnMut(usize, Member<'o, P>, Ending) -> ControlFlow<()>,
) -> Option<()> {
    let lanes = lanes.max(1);
    let mut waiting = members.into_iter().enumerate();
    let enter = |waiting: &mut dyn Iterator<Item = (usize, Member<'o, P>)>| {
        waiting.next().map(|(index, member)| Running {
            run: Controller::new(limits, &member.problem, &*member.observer),
            index,
            member,
        })
    };
    let mut running: Vec<Running<'o, '_, P>> = Vec::with_capacity(lanes);
    running.extend(std::iter::from_fn(|| enter(&mut waiting)).take(lanes));
    // The members that ended in the last stretch (diverged), by their place in `running`.
    let mut ended: Vec<(usize, Outcome)> = Vec::new();
    loop {
        // The stops: a member that ends leaves its lane to the next one to enter, whose first
        // stop (step 0) comes in this same pass, as the newcomer is put at the end.
        let mut place = 0;
        while place < running.len() {
            let outcome = match ended.first() {
                Some(&(at, outcome)) if at == place => {
                    ended.remove(0);
                    Some(outcome)
                }
                _ => {
                    let Running { member, run, .. } = &mut running[place];
                    run.at_stop(&member.problem, &mut *member.observer)
                }
            };
            let Some(outcome) = outcome else {
                place += 1;
                continue;
            };
            // Take the member out, keeping the order of the rest (the diverged ones' places).
            let Running { index, member, run } = running.remove(place);
            for (at, _) in &mut ended {
                *at -= 1;
            }
            if on_end(index, member, run.ending(outcome)).is_break() {
                return None;
            }
            running.extend(enter(&mut waiting));
        }
        debug_assert!(ended.is_empty());
        let Some(stretch) = running.iter().map(|r| r.run.next_stop() - r.run.step).min() else {
            return Some(());
        };
        if limits.interrupted() {
            return None;
        }
        let mut stepped: Vec<Lane<'_, P>> = running
            .iter_mut()
            .map(|r| Lane {
                problem: &mut r.member.problem,
                sampler: &mut r.member.sampler,
                rng: &mut r.member.rng,
                taken: 0,
            })
            .collect();
        P::advance_group(&mut stepped, stretch, DIVERGED_NORM_SQ);
        let taken: Vec<u64> = stepped.iter().map(|lane| lane.taken).collect();
        drop(stepped);
        for (place, (r, taken)) in running.iter_mut().zip(taken).enumerate() {
            if let Some(outcome) = r.run.advanced(taken, &r.member.problem, &mut *r.member.observer) {
                ended.push((place, outcome));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    const TOL: f64 = 1e-10;
    const MIN: Standing = Standing::Minimum;
    const SADDLE: Standing = Standing::NotMinimum { exact: false };
    const STUCK: Standing = Standing::NotMinimum { exact: true };

    fn at(stationarity: f64, norm: f64, standing: Standing) -> Option<Outcome> {
        decide(9, stationarity, norm * norm, TOL, || standing)
    }

    /// A model whose run is written in advance: it diverges after step `diverge_after`, if
    /// given, and is stationary at a minimum from step `minimum_from` on; it writes down every
    /// call run control makes on it.
    /// It also counts, in `started`, the members that have taken a step and not yet ended
    /// (`(now, most)`): how many lanes are in use.
    struct Scripted {
        step: u64,
        diverge_after: Option<u64>,
        minimum_from: u64,
        log: Vec<String>,
        started: Rc<Cell<(usize, usize)>>,
    }

    impl Scripted {
        fn new(diverge_after: Option<u64>, minimum_from: u64, started: &Rc<Cell<(usize, usize)>>) -> Self {
            Self { step: 0, diverge_after, minimum_from, log: Vec::new(), started: started.clone() }
        }
    }

    impl Problem for Scripted {
        fn advance(&mut self, _: &mut BatchSampler, _: &mut ChaCha8Rng, steps: u64, stop_above: f64) -> u64 {
            if self.step == 0 {
                let (now, most) = self.started.get();
                self.started.set((now + 1, most.max(now + 1)));
            }
            let mut taken = 0;
            while taken < steps {
                self.step += 1;
                taken += 1;
                if past_bound(self.norm_sq(), stop_above) {
                    break;
                }
            }
            self.log.push(format!("advance {steps} -> {taken} to {}", self.step));
            taken
        }

        fn step_work(&self) -> u64 {
            1
        }

        fn norm_sq(&self) -> f64 {
            if self.diverge_after.is_some_and(|at| self.step > at) { f64::INFINITY } else { 1.0 }
        }

        fn stationarity(&self) -> f64 {
            if self.step >= self.minimum_from { 0.0 } else { 1.0 }
        }

        fn standing(&self) -> Standing {
            MIN
        }

        fn is_dense(&self) -> bool {
            self.step < self.minimum_from / 2
        }

        fn show(&self, step: u64, _: bool, _: &mut dyn Observer) {
            assert_eq!(step, self.step);
        }
    }

    /// Watches every `period`-th step from `offset` on and writes down its checks.
    struct Watcher {
        period: u64,
        offset: u64,
        checks: Vec<u64>,
    }

    impl Observer for Watcher {
        fn on_check(&mut self, step: u64, _: f64) {
            self.checks.push(step);
        }

        fn next_watch(&self, step: u64) -> Option<u64> {
            Some(if step <= self.offset {
                self.offset
            } else {
                self.offset + (step - self.offset).div_ceil(self.period) * self.period
            })
        }
    }

    #[test]
    fn a_pool_runs_each_member_as_it_runs_alone_whatever_the_lanes_and_the_order_of_endings() {
        // Members that diverge between checks (so that the ones entering after them are at
        // steps the others are not), converge at different checks, or spend the budget.
        let scripts = [
            (Some(7), u64::MAX),
            (None, 900),
            (Some(1234), u64::MAX),
            (None, u64::MAX),
            (Some(3), u64::MAX),
            (None, 250),
            (None, 100),
            (Some(601), u64::MAX),
            (None, 1),
        ];
        let limits = Limits { max_steps: 2000, check_every: 100, grad_tol: 1e-10, interrupt: None };
        let watcher =
            |k: usize| Watcher { period: 37 + 11 * k as u64, offset: 3 * k as u64, checks: Vec::new() };
        let alone: Vec<(String, Vec<String>, Vec<u64>)> = scripts
            .iter()
            .enumerate()
            .map(|(k, &(diverge_after, minimum_from))| {
                let mut problem = Scripted::new(diverge_after, minimum_from, &Rc::default());
                let mut observer = watcher(k);
                let mut sampler = BatchSampler::new(crate::config::Schedule::Random, 2, 1);
                let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
                let ending = control(&mut problem, &mut sampler, &mut rng, limits, &mut observer).unwrap();
                (format!("{ending:?}"), problem.log, observer.checks)
            })
            .collect();
        for lanes in [1, 2, 3, 4, 9, 20] {
            let started = Rc::new(Cell::new((0, 0)));
            let mut observers: Vec<Watcher> = (0..scripts.len()).map(watcher).collect();
            let members: Vec<Member<'_, Scripted>> = scripts
                .iter()
                .zip(&mut observers)
                .map(|(&(diverge_after, minimum_from), observer)| Member {
                    problem: Scripted::new(diverge_after, minimum_from, &started),
                    sampler: BatchSampler::new(crate::config::Schedule::Random, 2, 1),
                    rng: <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0),
                    observer,
                })
                .collect();
            let mut ended: Vec<Option<(String, Vec<String>)>> = vec![None; scripts.len()];
            control_pool(members, lanes, limits, &mut |index, member, ending| {
                assert!(ended[index].is_none(), "member {index} ended twice");
                if !member.problem.log.is_empty() {
                    let (now, most) = started.get();
                    started.set((now - 1, most));
                }
                ended[index] = Some((format!("{ending:?}"), member.problem.log));
                ControlFlow::Continue(())
            })
            .expect("no interrupt");
            for (k, ((ending, log, checks), got)) in alone.iter().zip(&ended).enumerate() {
                let (got_ending, got_log) = got.as_ref().expect("every member ends");
                assert_eq!(got_ending, ending, "member {k}, {lanes} lanes");
                // In a pool the other members' stops cut a member's steps into more stretches:
                // every stretch of its own ends where one of the pool's does, the last included.
                let ends = |log: &[String]| -> Vec<u64> {
                    log.iter().map(|l| l.rsplit(' ').next().unwrap().parse().unwrap()).collect()
                };
                let (own, pooled) = (ends(log), ends(got_log));
                assert!(
                    own.iter().all(|end| pooled.contains(end)),
                    "member {k}, {lanes} lanes: {own:?} {pooled:?}"
                );
                assert_eq!(own.last(), pooled.last(), "member {k}, {lanes} lanes");
                assert_eq!(&observers[k].checks, checks, "checks of member {k}, {lanes} lanes");
            }
            // The lanes are full while members wait, and never more than full.
            assert_eq!(started.get(), (0, lanes.min(scripts.len())), "{lanes} lanes");
        }
    }

    #[test]
    fn a_pool_stops_when_its_caller_says_so() {
        let limits = Limits { max_steps: 500, check_every: 100, grad_tol: 1e-10, interrupt: None };
        let mut observers: Vec<Watcher> =
            (0..5).map(|_| Watcher { period: 1000, offset: 1000, checks: Vec::new() }).collect();
        let members: Vec<Member<'_, Scripted>> = observers
            .iter_mut()
            .map(|observer| Member {
                problem: Scripted::new(None, 100, &Rc::default()),
                sampler: BatchSampler::new(crate::config::Schedule::Random, 2, 1),
                rng: <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0),
                observer,
            })
            .collect();
        let mut ends = 0;
        let done = control_pool(members, 2, limits, &mut |_, _, _| {
            ends += 1;
            if ends == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        assert!(done.is_none());
        assert_eq!(ends, 3);
        // The third ended at step 100 with the fourth beside it, which had made its first check
        // only; the fifth never entered.
        assert_eq!(observers[2].checks, [0, 100]);
        assert_eq!(observers[3].checks, [0]);
        assert!(observers[4].checks.is_empty());
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
