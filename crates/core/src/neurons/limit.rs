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
