//! The single-neuron weight-tied autoencoder `f_w(x) = sigma(<w, x>) w`, its loss and gradients.
//!
//! Everything here is written in terms of three scalars per sample: `u_i = <w, x_i>`,
//! `r = ||w||^2` and `c_i = ||x_i||^2`. With `sigma_i = sigma(u_i)` and `sigma'_i = sigma'(u_i)`:
//!
//! ```text
//! l_i(w)      = 1/2 (c_i - 2 sigma_i u_i + sigma_i^2 r)
//! grad l_i(w) = a_i x_i + s_i w,   a_i = sigma_i sigma'_i r - sigma'_i u_i - sigma_i,   s_i = sigma_i^2
//! L(w)        = (1/n) sum_i l_i(w)
//! ```
//!
//! For the linear and the ReLU activation (where active) `a_i = u_i (r - 2)`. On orthonormal data
//! the gradient's component along `x_j` is therefore proportional to `u_j`: every update only
//! rescales data coordinates, which is what the `Reduced` engine exploits.
//!
//! Global minima on orthonormal data (both activations): `L* = (n - 1) / (2n)`, attained exactly at
//! the unit vectors of the data span (for ReLU, those with no negative data coordinate). Full-batch
//! gradient descent multiplies every active coordinate by the same factor, so its limit is the
//! normalised projection of `w_0` onto the active data directions ([`gd_limit_coords`]).
//!
//! Stationary points that are not minima (what the convergence rule of [`crate::run`](mod@crate::run)
//! must not mistake for one). Write `S = sum_{i active} u_i^2` for the active mass, `p` for the
//! part of `w` orthogonal to the data span and `R = r - S`. On orthonormal data `n grad L` has
//! component `u_j (r - 2 + S)` along an active `x_j`, `S u_j` along an inactive one and `S p`
//! orthogonally, and the loss gap is `((1 - S)^2 + S R) / (2n)`. So a stationary point either
//! has `S = 0` (no active sample: every per-sample gradient is exactly zero and the gap is
//! `1/(2n)`), or `p = 0`, every inactive coordinate zero and `r - 2 + S = 2 S - 2 = 0`: a global
//! minimum. The gap at a stationary point is `0` or exactly `1/(2n)` ([`stationary_gap`]). The
//! fixed points of a schedule's steps are stationary points of `L`, since the full gradient is
//! the mean of the batch gradients the schedule draws. Near them the two cases stay apart: with
//! `e = n ||grad L||`, either `S <= 1 - 1/sqrt 2` and the gap is at least `1/(4n)` whatever the
//! gradient, or `S^2 R <= e^2` and `S (2 (S - 1) + R)^2 <= e^2` bound the gap by about `7 e^2 / n`
//! (for small `e`), i.e. `7 n ||grad L||^2`. With the linear activation on any data the
//! stationary points are `w = 0`, the null space of `X X^T` (gap `lambda_1 / (2n)`) and the unit
//! eigenvectors of `X X^T` (gap `(lambda_1 - lambda_k) / (2n)`). An iterate with no active
//! sample (`sigma(u_i) = 0` for every `i`: `w = 0`, a dead ReLU neuron) is never a minimum, on any
//! data: moving along any `x_j` lowers the loss at second order.
//!
//! These functions work in ambient coordinates on any data; they are the reference the engines
//! are tested against. They allocate, and are not meant for the inner loop.

use crate::config::Activation;
use crate::data::Data;

/// The per-sample scalars of the loss and of its gradient `a x_i + s w`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleTerms {
    /// `l_i(w)`.
    pub loss: f64,
    /// The coefficient of `x_i` in the gradient.
    pub a: f64,
    /// The coefficient of `w` in the gradient, `sigma(u_i)^2`.
    pub s: f64,
}

/// The per-sample terms from `u = <w, x_i>`, `r = ||w||^2` and `c = ||x_i||^2`.
#[inline]
pub fn sample_terms(activation: Activation, u: f64, r: f64, c: f64) -> SampleTerms {
    let sigma = activation.value(u);
    let slope = activation.derivative(u);
    SampleTerms {
        loss: 0.5 * (c - 2.0 * sigma * u + sigma * sigma * r),
        a: sigma * slope * r - slope * u - sigma,
        s: sigma * sigma,
    }
}

/// `<a, b>`, summed in index order.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `||x||`, also where the sum of squares would underflow or overflow (an `init_scale` of
/// `1e-300`): outside `[1e-250, 1e250]` it is computed scaled by the largest entry. Inside, it
/// is the plain `sqrt(sum x_i^2)`, bit for bit.
pub fn stable_norm(x: &[f64]) -> f64 {
    let sum = dot(x, x);
    if (1e-250..=1e250).contains(&sum) {
        return sum.sqrt();
    }
    let largest = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if largest == 0.0 || !largest.is_finite() {
        return sum.sqrt();
    }
    largest * x.iter().map(|v| (v / largest).powi(2)).sum::<f64>().sqrt()
}

/// `L(w)`, the mean of the per-sample losses.
pub fn loss(data: &Data, activation: Activation, w: &[f64]) -> f64 {
    let r = dot(w, w);
    let u = data.coords(w);
    let total: f64 =
        u.iter().zip(data.norms_sq()).map(|(&ui, &ci)| sample_terms(activation, ui, r, ci).loss).sum();
    total / data.n() as f64
}

/// The mean gradient over the samples listed in `batch` (a sample listed twice counts twice).
pub fn batch_gradient(data: &Data, activation: Activation, w: &[f64], batch: &[usize]) -> Vec<f64> {
    let r = dot(w, w);
    let mut g = vec![0.0; w.len()];
    for &i in batch {
        let x = data.point(i);
        let t = sample_terms(activation, dot(w, x), r, data.norms_sq()[i]);
        for ((gk, &xk), &wk) in g.iter_mut().zip(x).zip(w) {
            *gk += t.a * xk + t.s * wk;
        }
    }
    let scale = 1.0 / batch.len() as f64;
    g.iter_mut().for_each(|gk| *gk *= scale);
    g
}

/// The gradient of the single-sample loss `l_i`.
pub fn sample_gradient(data: &Data, activation: Activation, w: &[f64], i: usize) -> Vec<f64> {
    batch_gradient(data, activation, w, &[i])
}

/// The full gradient `grad L(w)`.
pub fn full_gradient(data: &Data, activation: Activation, w: &[f64]) -> Vec<f64> {
    let all: Vec<usize> = (0..data.n()).collect();
    batch_gradient(data, activation, w, &all)
}

/// The global minimum value `L*`, where it is known in closed form.
///
/// Orthonormal data, either activation: `(n - 1) / (2n)`. Any data, linear activation:
/// `(sum_i ||x_i||^2 - lambda_max(X^T X)) / (2n)` (the best rank-one reconstruction). ReLU on
/// non-orthonormal data has no closed form: `None`.
pub fn minimum_loss(data: &Data, activation: Activation) -> Option<f64> {
    minimum_loss_and_stationary_gap(data, activation).0
}

/// The eigenvalues of `X^T X` in increasing order, where the linear activation on
/// non-orthonormal data needs them (the only case where [`minimum_loss`] and
/// [`stationary_gap`] are not closed forms in `n`).
fn gram_eigenvalues(data: &Data) -> Option<Vec<f64>> {
    let gram = data.matrix().transpose() * data.matrix();
    gram.self_adjoint_eigenvalues(faer::Side::Lower).ok()
}

/// [`minimum_loss`] and [`stationary_gap`] together, with the eigenvalues of `X^T X` computed
/// once (a run needs both).
pub fn minimum_loss_and_stationary_gap(data: &Data, activation: Activation) -> (Option<f64>, Option<f64>) {
    let n = data.n() as f64;
    if data.is_orthonormal() {
        return (Some((n - 1.0) / (2.0 * n)), Some(1.0 / (2.0 * n)));
    }
    match activation {
        Activation::Relu => (None, None),
        Activation::Linear => {
            let Some(eig) = gram_eigenvalues(data) else { return (None, None) };
            let Some(top) = eig.last().copied() else { return (None, None) };
            let total: f64 = data.norms_sq().iter().sum();
            let below =
                eig.iter().copied().filter(|&l| l < top * (1.0 - EIGENVALUE_MERGE)).fold(0.0, f64::max);
            (Some((total - top) / (2.0 * n)), Some((top - below) / (2.0 * n)))
        }
    }
}

/// Eigenvalues of `X^T X` closer than this, relative to the largest, count as one in
/// [`stationary_gap`]: rounding cannot tell them apart, and an eigenvector of the smaller one is
/// then accepted as a minimum (its gap is below `1e-6 lambda_1 / (2n)`).
pub const EIGENVALUE_MERGE: f64 = 1e-6;

/// The smallest loss gap `L(w) - L*` of a stationary point of `L` that is not a global minimum,
/// where it is known in closed form (derived in the module docs).
///
/// Orthonormal data, either activation: `1 / (2n)` (the stationary points with no active
/// sample). Any other data, linear activation: `(lambda_1 - lambda') / (2n)`, with `lambda_1` the
/// largest eigenvalue of `X^T X` and `lambda'` the largest one below
/// `lambda_1 (1 - EIGENVALUE_MERGE)` (or 0, the gap of `w = 0`, when there is none). ReLU on
/// non-orthonormal data: `None`.
pub fn stationary_gap(data: &Data, activation: Activation) -> Option<f64> {
    minimum_loss_and_stationary_gap(data, activation).1
}

/// The predicted full-batch limit in data coordinates (orthonormal data, PAPER.md claim 2).
///
/// Linear: `u_0 / ||u_0||`. ReLU: the coordinates with `u_0,i > 0`, normalised, the others zero.
/// `None` when no coordinate is active (then gradient descent does not move in the data span).
pub fn gd_limit_coords(activation: Activation, u0: &[f64]) -> Option<Vec<f64>> {
    let kept: Vec<f64> = u0.iter().map(|&u| if activation.is_active(u) { u } else { 0.0 }).collect();
    let norm = stable_norm(&kept);
    (norm > 0.0).then(|| kept.iter().map(|&u| u / norm).collect())
}
