//! The stationarity measure behind the convergence rule: the largest norm of any batch gradient
//! the schedule can draw. It is zero exactly when the iterate is a fixed point of every step the
//! run can take.
//!
//! - Full batch: `||grad L(w)||`.
//! - Random subsets, with replacement, epochs: any single sample can dominate a batch, and every
//!   batch gradient vanishes exactly when every per-sample gradient does: `max_i ||grad l_i||`.
//! - Cyclic with `b < n`: only the windows `{s, .., s + b - 1} mod n` for `s` a multiple of
//!   `gcd(b, n)` are ever drawn: the largest window gradient. When `b` divides `n` the windows
//!   are fixed blocks, and a block, not a single point, can be a fixed point.
//!
//! On orthonormal data everything is computed in data coordinates, where `grad l_i` has
//! component `u_i (r - 2 + u_i^2)` along `x_i`, `u_i^2 u_j` along `x_j` and `u_i^2 p`
//! orthogonally. Differences of nearly equal sums are avoided (small masses are summed
//! directly), so the measure is accurate to about `eps`, not `sqrt(eps)`, near a minimum.

use crate::config::{Activation, RunConfig, Schedule};
use crate::data::Data;
use crate::model::sample_terms;
use faer::{Col, ColRef, Scale};

/// Which batches a run's schedule can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateSet {
    /// Only the full batch.
    FullBatch,
    /// Batches dominated by any single sample.
    EverySample,
    /// The cyclic windows of size `batch` (`batch < n`).
    CyclicWindows {
        /// The window size `b`.
        batch: usize,
    },
}

impl UpdateSet {
    /// The batches the config's schedule can draw.
    pub fn of(config: &RunConfig) -> Self {
        if config.is_full_batch() {
            Self::FullBatch
        } else if config.schedule == Schedule::Cyclic {
            Self::CyclicWindows { batch: config.batch }
        } else {
            Self::EverySample
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The start of every cyclic window of size `b` over `n` points.
pub(crate) fn window_starts(n: usize, b: usize) -> impl Iterator<Item = usize> {
    (0..n).step_by(gcd(n, b).max(1))
}

/// The stationarity measure on orthonormal data from data coordinates `u` and the norm `perp`
/// of the part orthogonal to the span.
pub(crate) fn orthonormal_stationarity(
    activation: Activation,
    u: &[f64],
    perp: f64,
    updates: UpdateSet,
) -> f64 {
    let n = u.len();
    match updates {
        UpdateSet::FullBatch => window_norm(activation, u, perp, 0, n),
        UpdateSet::CyclicWindows { batch } => {
            window_starts(n, batch).map(|s| window_norm(activation, u, perp, s, batch)).fold(0.0, f64::max)
        }
        UpdateSet::EverySample => every_sample(activation, u, perp),
    }
}

/// The norm of the mean gradient over the window `{start, .., start + len - 1} mod n`, in O(n).
fn window_norm(activation: Activation, u: &[f64], perp: f64, start: usize, len: usize) -> f64 {
    let n = u.len();
    let inside = |j: usize| (j + n - start) % n < len;
    // S_W (active mass inside) and r - S_W (everything else), both summed directly.
    let mut s_window = 0.0;
    let mut rest = perp * perp;
    for (j, &x) in u.iter().enumerate() {
        if inside(j) && activation.is_active(x) {
            s_window += x * x;
        } else {
            rest += x * x;
        }
    }
    // Active members: u_i (r - 2 + S_W) = u_i (2 (S_W - 1) + (r - S_W)); others: S_W u_j.
    let along = 2.0 * (s_window - 1.0) + rest;
    let mut total = (s_window * perp).powi(2);
    for (j, &x) in u.iter().enumerate() {
        let g = if inside(j) && activation.is_active(x) { x * along } else { s_window * x };
        total += g * g;
    }
    total.sqrt() / len as f64
}

/// [`orthonormal_stationarity`] where only whether it exceeds `floor` matters unless it does
/// not: the exact measure when it is at most `floor`, otherwise a lower bound of it above
/// `floor`. The cyclic windows are taken in the same order as there, and the first of them
/// whose running maximum passes `floor` ends the search; the other update sets cost O(n) and
/// are computed in full.
pub(crate) fn orthonormal_stationarity_unless_above(
    activation: Activation,
    u: &[f64],
    perp: f64,
    updates: UpdateSet,
    floor: f64,
) -> f64 {
    let UpdateSet::CyclicWindows { batch } = updates else {
        return orthonormal_stationarity(activation, u, perp, updates);
    };
    let mut largest = 0.0f64;
    for start in window_starts(u.len(), batch) {
        largest = largest.max(window_norm(activation, u, perp, start, batch));
        if largest > floor {
            break;
        }
    }
    largest
}

/// `max_i ||grad l_i||` in O(n).
fn every_sample(activation: Activation, u: &[f64], perp: f64) -> f64 {
    let r: f64 = u.iter().map(|x| x * x).sum::<f64>() + perp * perp;
    let Some(top) = (0..u.len()).max_by(|&i, &j| u[i].abs().total_cmp(&u[j].abs())) else {
        return 0.0;
    };
    // r - u_top^2, summed directly rather than subtracted.
    let rest_of_top: f64 =
        u.iter().enumerate().filter(|&(j, _)| j != top).map(|(_, x)| x * x).sum::<f64>() + perp * perp;
    // The largest squared norm, then its root: a correctly rounded square root is
    // monotone, so this is the largest root, with one root taken instead of n.
    let mut worst_sq = 0.0f64;
    for (i, &ui) in u.iter().enumerate() {
        if !activation.is_active(ui) {
            continue;
        }
        // For every i but the largest, r - u_i^2 >= u_top^2 has no cancellation.
        let others = if i == top { rest_of_top } else { r - ui * ui };
        let along = 2.0 * (ui * ui - 1.0) + others;
        let norm_sq = (ui * along).powi(2) + ui.powi(4) * others.max(0.0);
        worst_sq = worst_sq.max(norm_sq);
    }
    worst_sq.sqrt()
}

/// The stationarity measure on any data, from the ambient iterate `w`. Costs O(n d) (per
/// sample, full batch) or O(n b d / gcd(b, n)) (cyclic windows).
pub(crate) fn ambient_stationarity(
    data: &Data,
    activation: Activation,
    w: &[f64],
    updates: UpdateSet,
) -> f64 {
    let n = data.n();
    let x = data.matrix();
    let w = ColRef::from_slice(w);
    let r = w.squared_norm_l2();
    let u: Col<f64> = x.transpose() * w;
    let terms: Vec<_> = (0..n).map(|i| sample_terms(activation, u[i], r, data.norms_sq()[i])).collect();
    let window = |start: usize, len: usize| {
        let mut g = Col::<f64>::zeros(data.d());
        let mut s = 0.0;
        for k in 0..len {
            let i = (start + k) % n;
            g += Scale(terms[i].a) * x.col(i);
            s += terms[i].s;
        }
        g += Scale(s) * w;
        g.norm_l2() / len as f64
    };
    match updates {
        UpdateSet::FullBatch => window(0, n),
        UpdateSet::CyclicWindows { batch } => {
            window_starts(n, batch).map(|s| window(s, batch)).fold(0.0, f64::max)
        }
        UpdateSet::EverySample => (0..n).map(|i| window(i, 1)).fold(0.0, f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn the_measure_unless_above_a_floor_is_exact_below_it_and_a_bound_above() {
        // Iterates near and far from a minimum, every update set; floors from zero to above the
        // measure: at or below the floor the exact bits, above it a value in (floor, measure].
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 12;
        for trial in 0..200 {
            let spread = [1.0, 1e-3, 1e-9][trial % 3];
            let mut u: Vec<f64> = (0..n).map(|_| spread * (rng.random::<f64>() - 0.5)).collect();
            u[trial % n] = 1.0 + spread * rng.random::<f64>();
            let perp = if trial % 2 == 0 { 0.0 } else { spread * rng.random::<f64>() };
            for activation in [Activation::Linear, Activation::Relu] {
                for updates in [
                    UpdateSet::FullBatch,
                    UpdateSet::EverySample,
                    UpdateSet::CyclicWindows { batch: 5 },
                    UpdateSet::CyclicWindows { batch: 11 },
                    UpdateSet::CyclicWindows { batch: 4 },
                ] {
                    let exact = orthonormal_stationarity(activation, &u, perp, updates);
                    for floor in [0.0, exact * 0.01, exact * 0.5, exact, exact * 2.0, f64::INFINITY] {
                        let bounded =
                            orthonormal_stationarity_unless_above(activation, &u, perp, updates, floor);
                        let case = format!("{activation} {updates:?} trial {trial} floor {floor:e}");
                        if exact <= floor {
                            assert_eq!(bounded.to_bits(), exact.to_bits(), "{case}");
                        } else {
                            assert!(bounded > floor && bounded <= exact, "{case}: {bounded:e} of {exact:e}");
                        }
                    }
                }
            }
        }
    }
}
