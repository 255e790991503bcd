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
//! state; deciding when to stop, what to record and what to measure belongs to [`crate::run`].

mod dense;
mod reduced;

pub use dense::DenseEngine;
pub use reduced::ReducedEngine;

use crate::batch::Batch;
use crate::config::Activation;

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

/// One SGD engine.
pub trait Engine {
    /// `"dense"` or `"reduced"`.
    fn name(&self) -> &'static str;

    /// One SGD step `w <- w - eta * mean_{i in batch} grad l_i(w)`.
    fn step(&mut self, batch: &Batch<'_>);

    /// `||w||^2` of the current iterate, in O(1).
    fn norm_sq(&self) -> f64;

    /// The stationarity measure of the update in use: `||grad L(w)||` when `full_batch`,
    /// otherwise `max_i ||grad l_i(w)||` (every batch gradient vanishes exactly when every
    /// per-sample gradient does).
    fn stationarity(&self, full_batch: bool) -> f64;

    /// The current iterate's state. Costs O(n) (reduced) or O(n d) (dense).
    fn state(&self) -> IterateState;

    /// The current iterate in ambient coordinates. Costs O(n d).
    fn ambient(&self) -> Vec<f64>;
}

/// The full-gradient norm and the largest per-sample gradient norm on orthonormal data, from
/// data coordinates `u` and the norm `perp` of the part orthogonal to the span.
///
/// In data coordinates, `grad l_i` has component `u_i (r - 2 + u_i^2)` along `x_i`, `u_i^2 u_j`
/// along `x_j`, and `u_i^2 perp` orthogonally. Differences of nearly equal sums are avoided, so
/// the measure stays accurate down to `eps` rather than `sqrt(eps)`.
pub(crate) fn orthonormal_stationarity(activation: Activation, u: &[f64], perp: f64, full_batch: bool) -> f64 {
    let n = u.len() as f64;
    let r: f64 = u.iter().map(|x| x * x).sum::<f64>() + perp * perp;
    if full_batch {
        let s_active: f64 = u.iter().filter(|&&x| activation.is_active(x)).map(|x| x * x).sum();
        let mut total = (s_active * perp / n).powi(2);
        for &ui in u {
            let a = if activation.is_active(ui) { ui * (r - 2.0) } else { 0.0 };
            total += ((a + s_active * ui) / n).powi(2);
        }
        return total.sqrt();
    }
    let Some(top) = (0..u.len()).max_by(|&i, &j| u[i].abs().total_cmp(&u[j].abs())) else {
        return 0.0;
    };
    // r - u_top^2, summed directly rather than subtracted.
    let rest_of_top: f64 = u
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != top)
        .map(|(_, x)| x * x)
        .sum::<f64>()
        + perp * perp;
    let mut worst = 0.0f64;
    for (i, &ui) in u.iter().enumerate() {
        if !activation.is_active(ui) {
            continue;
        }
        let (along, others) = if i == top {
            let m = ui.abs();
            (2.0 * (m - 1.0) * (m + 1.0) + rest_of_top, rest_of_top)
        } else {
            (r - 2.0 + ui * ui, r - ui * ui)
        };
        let norm_sq = (ui * along).powi(2) + ui.powi(4) * others.max(0.0);
        worst = worst.max(norm_sq.sqrt());
    }
    worst
}
