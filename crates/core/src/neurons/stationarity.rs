//! The stationarity measure of `k` neurons, the quantity of the convergence rule: the largest
//! Frobenius norm of any batch gradient the schedule can draw (the windows of
//! [`UpdateSet`]), as for one neuron.
//!
//! On orthonormal data it is computed in data coordinates. For a window `W` of samples, with
//! `c_i = a_i + s_i * (u_i - M a_i)`, `A_W = sum_{i in W} a_i a_i^T` and `P = W_perp W_perp^T`
//! (see [`super::engine`]), the window's mean gradient `G` has
//!
//! ```text
//! G X               = (A_W U - sum_{i in W} c_i e_i^T) / |W|          (k x n)
//! ||G (I - X X^T)||^2 = tr(A_W P A_W) / |W|^2
//! ```
//!
//! and `||G||^2` is the sum of the two, as the columns of `X` are orthonormal. The `k x n`
//! entries are formed one by one and squared, never expanded into differences of large sums,
//! so that the measure is accurate to about `eps` near a minimum, where it is compared with a
//! tolerance like `1e-10`. On other data the window gradients come from the model
//! ([`super::batch_gradient`]).

use super::{Neurons, batch_gradient, dot};
use crate::config::Activation;
use crate::data::Data;
use crate::engine::{UpdateSet, window_starts};
use crate::error::ConfigError;

/// The windows of samples an update set draws: every single sample, the full batch, or the
/// cyclic windows of size `b` starting at multiples of `gcd(n, b)`.
fn windows(n: usize, updates: UpdateSet) -> Vec<Vec<usize>> {
    match updates {
        UpdateSet::FullBatch => vec![(0..n).collect()],
        UpdateSet::EverySample => (0..n).map(|i| vec![i]).collect(),
        UpdateSet::CyclicWindows { batch } => {
            window_starts(n, batch).map(|s| (0..batch).map(|t| (s + t) % n).collect()).collect()
        }
    }
}

/// The measure on orthonormal data from `u` (`k x n`, row by row) and `perp_gram`, the `k x k`
/// Gram matrix `W_perp W_perp^T` of the rows' parts orthogonal to the data span.
pub fn orthonormal_stationarity(
    activation: Activation,
    k: usize,
    u: &[f64],
    perp_gram: &[f64],
    updates: UpdateSet,
) -> f64 {
    let n = u.len().checked_div(k).unwrap_or(0);
    let row = |j: usize| &u[j * n..(j + 1) * n];
    // M = U U^T + P.
    let m: Vec<f64> = (0..k * k).map(|jm| dot(row(jm / k), row(jm % k)) + perp_gram[jm]).collect();
    let column = |i: usize| -> Vec<f64> { (0..k).map(|j| u[j * n + i]).collect() };
    let a_of = |i: usize| -> Vec<f64> { column(i).iter().map(|&z| activation.value(z)).collect() };
    let c_of = |i: usize| -> Vec<f64> {
        let (ui, a) = (column(i), a_of(i));
        (0..k)
            .map(|j| {
                let ma: f64 = (0..k).map(|l| m[j * k + l] * a[l]).sum();
                a[j] + activation.derivative(ui[j]) * (ui[j] - ma)
            })
            .collect()
    };
    let mut worst: f64 = 0.0;
    for window in windows(n, updates) {
        let mut a_window = vec![0.0; k * k];
        for &i in &window {
            let a = a_of(i);
            for j in 0..k {
                for l in 0..k {
                    a_window[j * k + l] += a[j] * a[l];
                }
            }
        }
        // G X, entry by entry, times |W|.
        let mut g = vec![0.0; k * n];
        for j in 0..k {
            for l in 0..k {
                let factor = a_window[j * k + l];
                if factor != 0.0 {
                    for (gm, &um) in g[j * n..(j + 1) * n].iter_mut().zip(row(l)) {
                        *gm += factor * um;
                    }
                }
            }
        }
        for &i in &window {
            for (j, c) in c_of(i).into_iter().enumerate() {
                g[j * n + i] -= c;
            }
        }
        let data_part: f64 = g.iter().map(|x| x * x).sum();
        // tr(A P A) = sum_{j,l} (A P)_{jl} A_{lj}.
        let ap: Vec<f64> = (0..k * k)
            .map(|jl| (0..k).map(|q| a_window[jl / k * k + q] * perp_gram[q * k + jl % k]).sum())
            .collect();
        let perp_part: f64 =
            (0..k * k).map(|jl| ap[jl] * a_window[jl % k * k + jl / k]).sum::<f64>().max(0.0);
        let size = window.len() as f64;
        worst = worst.max((data_part + perp_part).sqrt() / size);
    }
    worst
}

/// The measure on any data from the ambient weights, through the model's window gradients.
/// Costs O(n k d) a window.
pub fn ambient_stationarity(
    data: &Data,
    activation: Activation,
    weights: &Neurons,
    updates: UpdateSet,
) -> Result<f64, ConfigError> {
    let mut worst: f64 = 0.0;
    for window in windows(data.n(), updates) {
        let g = batch_gradient(data, activation, weights, &window)?;
        worst = worst.max(g.iter().map(|x| x * x).sum::<f64>().sqrt());
    }
    Ok(worst)
}
