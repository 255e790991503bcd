//! SGD engines: one interface, two implementations.
//!
//! - [`DenseEngine`] keeps `w` in ambient coordinates and works for any data; a step costs
//!   O(b d).
//! - [`ReducedEngine`] is for orthonormal data only. It keeps `w` in data coordinates plus the
//!   part orthogonal to the data span (which SGD only ever rescales), behind lazily applied
//!   scales, so a step costs O(min(b, n - b)) and does not depend on `d`.
//!
//! Both consume batches from the same [`crate::batch::BatchSampler`], so fed the same random
//! stream they follow the same trajectory up to rounding. Engines only step and report their
//! state; deciding when to stop and what to measure belongs to [`crate::run`](mod@crate::run),
//! what to record to its observers.

mod dense;
mod reduced;
mod stationarity;

pub use dense::DenseEngine;
pub use reduced::ReducedEngine;
pub(crate) use reduced::{GroupMember, PACKED_LANES, advance_group};
pub use stationarity::UpdateSet;
pub(crate) use stationarity::window_starts;

use crate::batch::{Batch, BatchSampler, Lookahead};
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;

/// Where an iterate stands, in the quantities every metric is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct IterateState {
    /// Data coordinates `u_i = <w, x_i>`.
    pub u: Vec<f64>,
    /// `||w||^2`.
    pub norm_sq: f64,
    /// `||w - P w||^2`, the squared norm of the part orthogonal to the data span (orthonormal
    /// data only).
    pub perp_sq: Option<f64>,
    /// `<w, w_0>`.
    pub dot_init: f64,
    /// `L(w)`.
    pub loss: f64,
}

/// Whether a run of steps stops at an iterate with squared norm `norm_sq`: NaN, or above
/// `bound`. The one rule of [`Engine::advance`] and of the runner's divergence check.
#[inline]
pub fn past_bound(norm_sq: f64, bound: f64) -> bool {
    norm_sq.is_nan() || norm_sq > bound
}

/// [`past_bound`] as the decision of a step in [`BatchSampler::run`]: end the run after it, or
/// go on.
#[inline]
fn stop_if_past(norm_sq: f64, bound: f64) -> ControlFlow<()> {
    if past_bound(norm_sq, bound) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
}

/// One SGD engine.
pub trait Engine {
    /// `"dense"` or `"reduced"`.
    fn name(&self) -> &'static str;

    /// One SGD step `w <- w - eta * mean_{i in batch} grad l_i(w)`.
    fn step(&mut self, batch: &Batch<'_>);

    /// Up to `steps` steps, each on a batch drawn from `sampler` with `rng`, stopping early
    /// after the first step whose [`Engine::norm_sq`] is [`past_bound`] `stop_above`. Returns
    /// the number of steps taken.
    ///
    /// The same as calling [`Engine::step`] on [`BatchSampler::next`] in a loop, bit for bit
    /// and with the same batches (that is the default, through the sampler's crate-private run
    /// of steps); an engine overrides it to keep its state in registers from one step to the
    /// next, and to draw the next batch while it finishes a step (after a run that stopped early
    /// the sampler may then hold the next batch's numbers; the batches are the same).
    fn advance(
        &mut self,
        sampler: &mut BatchSampler,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64 {
        let step = |batch: Batch<'_>, _: &mut Lookahead<'_, ChaCha8Rng>| {
            self.step(&batch);
            stop_if_past(self.norm_sq(), stop_above)
        };
        sampler.run(rng, steps, step).0
    }

    /// `||w||^2` of the current iterate, in O(1).
    fn norm_sq(&self) -> f64;

    /// The stationarity measure of the update in use: the largest norm of a batch gradient the
    /// schedule can draw (see [`UpdateSet`]). Zero exactly at a fixed point of every step.
    fn stationarity(&self, updates: UpdateSet) -> f64;

    /// [`Engine::stationarity`] for a check whose decision is all that matters unless the
    /// measure is at most `floor`: the exact measure when it is at most `floor`, otherwise any
    /// value above `floor` that does not exceed it. The default is the exact measure.
    fn stationarity_unless_above(&self, updates: UpdateSet, floor: f64) -> f64 {
        let _ = floor;
        self.stationarity(updates)
    }

    /// The data coordinates `u_i = <w, x_i>` of the current iterate: [`Engine::state`]'s `u`
    /// alone, without the loss and the norms. Costs O(n) (reduced) or O(n d) (dense).
    fn coords(&self) -> Vec<f64>;

    /// The current iterate's state. Costs O(n) (reduced) or O(n d) (dense).
    fn state(&self) -> IterateState;

    /// The current iterate in ambient coordinates. Costs O(n d).
    fn ambient(&self) -> Vec<f64>;
}
