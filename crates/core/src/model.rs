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

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
    let n = data.n() as f64;
    if data.is_orthonormal() {
        return Some((n - 1.0) / (2.0 * n));
    }
    match activation {
        Activation::Relu => None,
        Activation::Linear => {
            let gram = data.matrix().transpose() * data.matrix();
            let eig = gram.self_adjoint_eigenvalues(faer::Side::Lower).ok()?;
            let top = eig.last().copied()?;
            let total: f64 = data.norms_sq().iter().sum();
            Some((total - top) / (2.0 * n))
        }
    }
}

/// The predicted full-batch limit in data coordinates (orthonormal data, PAPER.md claim 2).
///
/// Linear: `u_0 / ||u_0||`. ReLU: the coordinates with `u_0,i > 0`, normalised, the others zero.
/// `None` when no coordinate is active (then gradient descent does not move in the data span).
pub fn gd_limit_coords(activation: Activation, u0: &[f64]) -> Option<Vec<f64>> {
    let kept: Vec<f64> = u0.iter().map(|&u| if activation.is_active(u) { u } else { 0.0 }).collect();
    let norm = dot(&kept, &kept).sqrt();
    (norm > 0.0).then(|| kept.iter().map(|&u| u / norm).collect())
}
