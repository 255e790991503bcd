//! The exact Hessian of the loss, as a matrix, as a closed-form trace, and as a spectrum.
//!
//! Away from the ReLU kink (`u_i = 0`), differentiating `grad l_i = a_i x_i + s_i w` gives, for an
//! active sample (inactive samples contribute nothing):
//!
//! ```text
//! H_i = u_i^2 I + (r - 2) x_i x_i^T + 2 u_i (x_i w^T + w x_i^T),        H = (1/n) sum_i H_i
//! tr H = (1/n) sum_{i active} [ (d + 4) u_i^2 + (r - 2) ||x_i||^2 ]
//! ```
//!
//! At a global minimum on orthonormal data (`||w|| = 1`, `w` in the span of the active set `A`):
//! `H = (1/n) (I - P_A + 4 w w^T)`, so `lambda_max = 4/n` at every global minimum and
//! `tr H = (d + 4 - |A|) / n`: the more active samples, the flatter. For the linear activation
//! `|A| = n` at every minimum, so all minima share one trace, `(d + 4 - n) / n`.
//!
//! On orthonormal data [`reduced_spectrum`] gives every eigenvalue without forming the `d x d`
//! matrix: in the basis `(x_1..x_n, e, rest)`, with `e` the unit vector along the part of `w`
//! orthogonal to the span, `H` is an `(n+1) x (n+1)` block plus `S_A / n` times the identity on
//! the remaining `d - n - 1` directions. This module does not decide where to evaluate: callers
//! pass the point (the raw iterate or the identified limit point).

use crate::config::Activation;
use crate::data::Data;
use faer::{Mat, Side};

/// The `d x d` Hessian of `L` at the ambient point `w`.
pub fn hessian(data: &Data, activation: Activation, w: &[f64]) -> Mat<f64> {
    let d = data.d();
    let n = data.n() as f64;
    let r: f64 = w.iter().map(|x| x * x).sum();
    let u = data.coords(w);
    let mut h = Mat::<f64>::zeros(d, d);
    for (i, &ui) in u.iter().enumerate() {
        if !activation.is_active(ui) {
            continue;
        }
        let x = data.point(i);
        // The lower triangle only; the upper one is mirrored below so H is exactly symmetric.
        for col in 0..d {
            for row in col..d {
                h[(row, col)] += (r - 2.0) * x[row] * x[col] + 2.0 * ui * (x[row] * w[col] + w[row] * x[col]);
            }
            h[(col, col)] += ui * ui;
        }
    }
    for col in 0..d {
        for row in col..d {
            let value = h[(row, col)] / n;
            h[(row, col)] = value;
            h[(col, row)] = value;
        }
    }
    h
}

/// `tr H` in closed form from the data coordinates `u`, `r = ||w||^2` and the data norms.
/// Costs O(n).
pub fn trace_from_coords(activation: Activation, u: &[f64], r: f64, norms_sq: &[f64], d: usize) -> f64 {
    let total: f64 = u
        .iter()
        .zip(norms_sq)
        .filter(|(ui, _)| activation.is_active(**ui))
        .map(|(&ui, &ci)| (d as f64 + 4.0) * ui * ui + (r - 2.0) * ci)
        .sum();
    total / u.len() as f64
}

/// `tr H` at the ambient point `w` without forming the matrix. Costs O(n d).
pub fn hessian_trace(data: &Data, activation: Activation, w: &[f64]) -> f64 {
    let r: f64 = w.iter().map(|x| x * x).sum();
    trace_from_coords(activation, &data.coords(w), r, data.norms_sq(), data.d())
}

/// Every eigenvalue of a Hessian on orthonormal data, in compressed form.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// The eigenvalues of the block acting on the data span and the direction of `w`'s
    /// orthogonal part, in nondecreasing order.
    pub block: Vec<f64>,
    /// The eigenvalue on the remaining directions, `S_A / n`.
    pub bulk: f64,
    /// How many directions carry `bulk` (`d - block.len()`).
    pub bulk_multiplicity: usize,
}

impl Spectrum {
    /// The largest eigenvalue.
    pub fn max(&self) -> f64 {
        let top = self.block.last().copied().unwrap_or(f64::NEG_INFINITY);
        if self.bulk_multiplicity > 0 { top.max(self.bulk) } else { top }
    }

    /// The sum of all eigenvalues.
    pub fn trace(&self) -> f64 {
        self.block.iter().sum::<f64>() + self.bulk * self.bulk_multiplicity as f64
    }

    /// All `d` eigenvalues in nondecreasing order (allocates `d` values).
    pub fn expanded(&self) -> Vec<f64> {
        let mut all = self.block.clone();
        all.extend(std::iter::repeat_n(self.bulk, self.bulk_multiplicity));
        all.sort_by(f64::total_cmp);
        all
    }
}

/// The Hessian's spectrum at the point with data coordinates `u` and orthogonal part of norm
/// `perp` (orthonormal data in `R^d`, `d >= n`). Costs O(n^3), independent of `d`.
///
/// Returns `None` if faer's eigensolver does not converge (it does for any finite input).
pub fn reduced_spectrum(activation: Activation, u: &[f64], perp: f64, d: usize) -> Option<Spectrum> {
    let n = u.len();
    let extra = usize::from(d > n);
    let m = n + extra;
    // The point in the block's coordinates: (u, perp), or just u when d = n.
    let wt: Vec<f64> = u.iter().copied().chain(std::iter::repeat_n(perp, extra)).collect();
    let r: f64 = wt.iter().map(|x| x * x).sum();
    let mut block = Mat::<f64>::zeros(m, m);
    let mut s_active = 0.0;
    for (i, &ui) in u.iter().enumerate() {
        if !activation.is_active(ui) {
            continue;
        }
        s_active += ui * ui;
        block[(i, i)] += r - 2.0;
        for k in 0..m {
            block[(i, k)] += 2.0 * ui * wt[k];
            block[(k, i)] += 2.0 * ui * wt[k];
        }
    }
    for k in 0..m {
        block[(k, k)] += s_active;
    }
    let scale = 1.0 / n as f64;
    for col in 0..m {
        for row in 0..m {
            block[(row, col)] *= scale;
        }
    }
    let eig = block.self_adjoint_eigenvalues(Side::Lower).ok()?;
    Some(Spectrum { block: eig, bulk: s_active * scale, bulk_multiplicity: d - m })
}
