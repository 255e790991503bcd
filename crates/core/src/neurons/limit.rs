//! Where full-batch gradient descent takes `k` linear neurons on orthonormal data.
//!
//! With `b = n`, `h = eta / n` and the step of [`super::engine`] (linear: `a_i = u_i`,
//! `s_i = 1`, so `A_B = U U^T` and `sum_i c_i e_i^T = 2U - M U`):
//!
//! ```text
//! U      <- (I + h (2 I - 2 U U^T - P)) U,        P = W_perp W_perp^T
//! W_perp <- (I - h U U^T) W_perp
//! ```
//!
//! Every step multiplies `U` on the left by a `k x k` matrix, so the row space of `U`, the
//! `k`-dimensional subspace of data coordinates spanned by the right singular vectors `B` of
//! `U_0 = A Sigma B^T`, never changes. At a global minimum `W` has orthonormal rows in the data
//! span (`U U^T = I`, `P = 0`), so the limit is `U = Q B^T` for an orthogonal `Q`, and
//! `U^T U = B B^T`, the projection onto that subspace: its diagonal is `diag(W^T W)` read in
//! data coordinates. When `w_0` lies in the data span (`P = 0`, as for `d = n`), the step is
//! `A (I + 2h (I - Sigma^2)) Sigma B^T`: the singular vectors stay, every singular value goes
//! to 1 (where `sigma <- sigma (1 + 2h (1 - sigma^2))` converges: `h < 1/2` and no huge
//! `sigma_0`), and the limit is exactly `U = A B^T`, the polar factor of `U_0`. With a part outside
//! the span the left factor `Q` drifts while `P` decays, and only the projection is predicted.
//! A rank-deficient `U_0` keeps its rank: it cannot reach a minimum, and nothing is predicted.

/// The predicted full-batch limit of `k` linear neurons from `u0` (`k x n`, row by row).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearLimit {
    /// `B B^T`, `n x n`, row by row: the limit of `U^T U`, for any `d`.
    pub projection: Vec<f64>,
    /// `A B^T`, `k x n`, row by row: the limit of `U` itself when `w_0` lies in the data span.
    pub polar: Vec<f64>,
}

/// The limit of the [module docs](self), or `None` when `U_0` has rank below `k` (its smallest
/// singular value at most `1e-12` times its largest) or its decomposition fails.
pub fn linear_gd_limit(u0: &[f64], k: usize) -> Option<LinearLimit> {
    if k == 0 || !u0.len().is_multiple_of(k) || u0.len() / k < k {
        return None;
    }
    let n = u0.len() / k;
    let u = faer::Mat::<f64>::from_fn(k, n, |j, i| u0[j * n + i]);
    let svd = u.thin_svd().ok()?;
    let singular = svd.S().column_vector();
    let (largest, smallest) =
        (0..k).fold((0.0f64, f64::INFINITY), |(hi, lo), j| (hi.max(singular[j]), lo.min(singular[j])));
    // Also refused: a NaN singular value.
    if smallest.is_nan() || smallest <= 1e-12 * largest {
        return None;
    }
    let (a, b) = (svd.U(), svd.V());
    let projection = b * b.transpose();
    let polar = a * b.transpose();
    Some(LinearLimit {
        projection: (0..n * n).map(|e| projection[(e / n, e % n)]).collect(),
        polar: (0..k * n).map(|e| polar[(e / n, e % n)]).collect(),
    })
}

/// The global minimum that a converged run of `k` neurons on orthonormal data is identified
/// with, in data coordinates (`k x n`, row by row), or `None` when `u` cannot be one.
///
/// The minima are read in data coordinates with no part outside the data span, where the loss
/// is `(n - k)/(2n)` exactly when the reconstructions `U^T sigma(U)` form a rank-`k` orthogonal
/// projection (see the [module](super) docs on `L*`):
///
/// - **linear**: `U` with orthonormal rows (`U U^T = I`), any `k`-dimensional subspace. The
///   identified point is the nearest such `U` in the Frobenius norm, the polar factor
///   `(U U^T)^{-1/2} U = A B^T` of `U = A Sigma B^T` (refused when `U` has rank below `k`);
/// - **ReLU**: no one shape (the module docs list the kinds found). The identified point is `U`
///   with the coordinates at most `support_threshold` times their row's largest `|u_ji|` set to
///   zero: the decayed coordinates, which at the raw iterate still count as active where they
///   are positive; it is refused when a row keeps no positive coordinate (a dead neuron). Rows
///   are not renormalised (a row of a minimum need not have unit norm), so the point is a
///   minimum to within the run's own convergence.
///
/// At `k = 1` these are the single neuron's limit point up to its renormalisation (a single
/// neuron's minimum has no negative coordinate that matters).
pub fn identified_minimum(
    u: &[f64],
    k: usize,
    activation: crate::config::Activation,
    support_threshold: f64,
) -> Option<Vec<f64>> {
    if k == 0 || u.is_empty() || !u.len().is_multiple_of(k) {
        return None;
    }
    let n = u.len() / k;
    match activation {
        crate::config::Activation::Linear => linear_gd_limit(u, k).map(|limit| limit.polar),
        crate::config::Activation::Relu => {
            let mut minimum = vec![0.0; k * n];
            for j in 0..k {
                let row = &u[j * n..(j + 1) * n];
                let kept = crate::metrics::support_indices(row, support_threshold);
                if !kept.iter().any(|&i| row[i] > 0.0) {
                    return None;
                }
                for &i in &kept {
                    minimum[j * n + i] = row[i];
                }
            }
            Some(minimum)
        }
    }
}

/// `tr H` at a global minimum of `k` neurons on orthonormal data of `n` points in `R^d`:
/// `k (d + 2 + 2k - n) / n` at every minimum of the linear activation, and for ReLU
/// `(k (d + 4) - |A|) / n` at a minimum where the neurons share the points out (unit rows
/// with disjoint supports, `|A|` the points they keep; `k (d + 3)/n` at `k` distinct points).
/// For `k = 1` these are the single neuron's `(d + 4 - |A|)/n`. ReLU minima of other shapes
/// (the module docs) have other traces.
pub fn trace_at_minimum(
    activation: crate::config::Activation,
    k: usize,
    n: usize,
    d: usize,
    kept_points: usize,
) -> f64 {
    let (k, n, d) = (k as f64, n as f64, d as f64);
    match activation {
        crate::config::Activation::Linear => k * (d + 2.0 + 2.0 * k - n) / n,
        crate::config::Activation::Relu => (k * (d + 4.0) - kept_points as f64) / n,
    }
}
