//! `k` tied neurons, `f_W(x) = W^T sigma(W x)` with `W` in `R^{k x d}` (rows `w_1..w_k`): the
//! loss, its gradient, its exact Hessian (a `kd x kd` matrix, its closed-form trace and its
//! spectrum) and the global minimum value. `k = 1` is the single neuron of [`crate::model`] and
//! [`crate::hessian`].
//!
//! For a sample `x_i` write `z_ij = <w_j, x_i>`, `a_ij = sigma(z_ij)`, `s_ij = sigma'(z_ij)`
//! (1 for the linear activation; 1 where `z_ij > 0` and 0 elsewhere for ReLU, the kink
//! included) and `r_i = x_i - sum_j a_ij w_j` for the residual. Then
//!
//! ```text
//! l_i(W)          = 1/2 ||r_i||^2,                       L(W) = (1/n) sum_i l_i(W)
//! grad_{w_j} l_i  = -a_ij r_i - s_ij <w_j, r_i> x_i
//! ```
//!
//! Differentiating once more (`sigma'' = 0` away from the ReLU kink), block `(j, m)` of the
//! Hessian of `l_i`, the `d x d` derivative of `grad_{w_j} l_i` along `w_m`, is
//!
//! ```text
//! H_i[j, m] = a_ij a_im I + a_ij s_im w_m x_i^T + s_ij a_im x_i w_j^T
//!             + s_ij s_im <w_j, w_m> x_i x_i^T - [j = m] s_ij (r_i x_i^T + x_i r_i^T)
//! ```
//!
//! and `H = (1/n) sum_i H_i`. It is symmetric: block `(m, j)` is the transpose of block
//! `(j, m)`. Its trace needs no matrix (`s_ij^2 = s_ij`):
//!
//! ```text
//! tr H = (1/n) sum_i sum_j [ d a_ij^2 + 2 a_ij s_ij z_ij + s_ij ||w_j||^2 ||x_i||^2
//!                            - 2 s_ij <r_i, x_i> ]
//! ```
//!
//! For `k = 1`, with `u_i = z_i1` and `r = ||w||^2` (so `<r_i, x_i> = ||x_i||^2 - u_i^2` where
//! active), these are the single neuron's `H_i = u_i^2 I + (r - 2) x_i x_i^T + 2 u_i (x_i w^T +
//! w x_i^T)` and `tr H = (1/n) sum_{i active} [(d + 4) u_i^2 + (r - 2) ||x_i||^2]`.
//!
//! **Global minimum.** Every reconstruction `f_W(x_i)` lies in the row space of `W`, a subspace
//! `V` of dimension at most `k`, so `2n L(W) >= sum_i ||x_i - P_V x_i||^2 >= sum_i ||x_i||^2 -
//! (the k largest eigenvalues of X^T X)`, the best rank-`k` reconstruction of the data. On
//! orthonormal data that is `n - k`, so `L* = (n - k) / (2n)` for `1 <= k <= n`, for both
//! activations: it is attained by `k` rows on `k` distinct data points (for ReLU each sample
//! then activates exactly its own neuron, or none) and, for the linear activation, by any `W`
//! with orthonormal rows in the span of `k` data points (`W^T W` is then a projection). For the
//! linear activation on any data the bound is attained (rows an orthonormal basis of the top-`k`
//! eigenspace of `X X^T`); ReLU on other data has no closed form.
//!
//! At `k` rows on `k` distinct data points (ReLU, `sigma'(0) = 0` at the other points' kinks)
//! `tr H = k (d + 3) / n`: each selected sample contributes `d + 2 + 1 - 0` for its own neuron
//! and nothing else contributes. For `k = 1` this is the single neuron's `(d + 4 - 1) / n`.
//!
//! **Global minima on orthonormal data, and their trace.** In data coordinates (no part outside
//! the span) the reconstructions are `U^T sigma(U)`, and `L = L*` exactly when they form a
//! rank-`k` orthogonal projection. For the linear activation that is `U U^T = I`: rows
//! orthonormal, spanning any `k`-dimensional subspace. For ReLU two shapes are known:
//!
//! - `U >= 0` with orthonormal rows. Non-negative orthogonal rows have disjoint supports: the
//!   neurons share some of the points out among themselves, each row a unit vector on its own
//!   points `A_j` (one point each is the case above);
//! - groups of `m` neurons that reconstruct `m` points together, with rows of mixed sign: for
//!   `m = 3`, rows `(1, 1, -1)/sqrt(2)`, `(1, -1, 1)/sqrt(2)`, `(-1, 1, 1)/sqrt(2)` on three
//!   points, where each point activates two neurons whose sum reconstructs it exactly. Small
//!   batches reach these (found in the repro's runs, not foreseen), so `k` neurons on `k` points
//!   need not be one neuron a point.
//!
//! At a minimum of the first shape, with `||w_j|| = ||x_i|| = 1`:
//!
//! - linear: `<r_i, x_i> = 1 - S_i` with `S_i = sum_j z_ij^2`, so sample `i` contributes
//!   `(d + 2 + 2k) S_i - k`, and `sum_i S_i = ||U||_F^2 = k`: `tr H = k (d + 2 + 2k - n) / n`
//!   at every linear minimum;
//! - ReLU: sample `i` in `A_j` activates neuron `j` alone, `<r_i, x_i> = 1 - z_ij^2`, and
//!   contributes `(d + 4) z_ij^2 - 1`; summed, `tr H = (k (d + 4) - |A|) / n` with `|A| = sum_j
//!   |A_j|`.
//!
//! Both are the single neuron's `(d + 4 - |A|)/n` at `k = 1` ([`trace_at_minimum`]). At the
//! mixed group of three above every point is reconstructed exactly (`r_i = 0`) by two active
//! neurons with `z = 1/sqrt(2)` and `||w_j||^2 = 3/2`, so the group contributes `3 (d + 2) + 9`
//! against `3 (d + 3)` for three neurons on three distinct points: it is sharper by `6/n`.
//! [`identified_minimum`] finds the minimum a converged run sits at.
//!
//! These functions work in ambient coordinates on any data and allocate; they are the reference
//! that engines are tested against, not an inner loop. They do not step, choose where to
//! evaluate, or decide what `k` a run may have beyond the shape checks of [`Neurons::new`].

use crate::batch::Batch;
use crate::config::Activation;
use crate::data::Data;
use crate::error::ConfigError;
use crate::model::EIGENVALUE_MERGE;
pub(crate) use crate::model::dot;
use faer::Side;

mod engine;
mod hessian;
mod limit;
mod metrics;
mod stationarity;

pub use engine::{DenseNeurons, NeuronsEngine, ReducedNeurons};
pub use hessian::{hessian, hessian_eigenvalues, hessian_trace};
pub use limit::{LinearLimit, identified_minimum, linear_gd_limit, trace_at_minimum};
pub use metrics::NeuronsMetrics;
pub use stationarity::{ambient_stationarity, orthonormal_stationarity};

/// The weights of `k` tied neurons, `W` in `R^{k x d}` stored row by row (row `j` is
/// `w_j`): checked once, so that every function here can rely on the shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Neurons {
    k: usize,
    d: usize,
    w: Vec<f64>,
}

impl Neurons {
    /// `k` rows of length `d` from `w` (row-major, `k d` entries). An error, naming the field,
    /// when `k` is 0, when `w` has another length, or when an entry is not finite.
    pub fn new(k: usize, d: usize, w: Vec<f64>) -> Result<Self, ConfigError> {
        if k == 0 {
            return Err(ConfigError::new("neurons", k, "must be at least 1"));
        }
        if k.checked_mul(d) != Some(w.len()) {
            return Err(ConfigError::new(
                "weights",
                format!("{} numbers", w.len()),
                format!("must be k x d = {k} x {d} numbers, row by row"),
            ));
        }
        if let Some(bad) = w.iter().position(|x| !x.is_finite()) {
            return Err(ConfigError::new("weights", format!("entry {bad} = {}", w[bad]), "must be finite"));
        }
        Ok(Self { k, d, w })
    }

    /// The number of neurons.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The dimension of each row.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Row `j`, `w_j`.
    pub fn row(&self, j: usize) -> &[f64] {
        &self.w[j * self.d..(j + 1) * self.d]
    }

    /// Every entry, row by row.
    pub fn as_slice(&self) -> &[f64] {
        &self.w
    }
}

/// Rows i.i.d. `N(0, (s^2 / d) I_d)` with `s = init_scale`, drawn row by row from `rng`: for
/// `k = 1` exactly the numbers of [`crate::run::draw_init`]. An error, before anything is
/// allocated, when `k d` does not fit in memory's index range or `k` is 0.
pub fn draw_init<R: rand::Rng + ?Sized>(
    k: usize,
    d: usize,
    init_scale: f64,
    rng: &mut R,
) -> Result<Neurons, ConfigError> {
    let Some(size) = k.checked_mul(d).filter(|&size| size <= isize::MAX as usize / 8) else {
        return Err(ConfigError::new(
            "neurons",
            k,
            format!("must give k x d entries that fit in memory (d = {d})"),
        ));
    };
    let sd = init_scale / (d as f64).sqrt();
    let normal = rand_distr::StandardNormal;
    let w = (0..size)
        .map(|_| sd * <rand_distr::StandardNormal as rand_distr::Distribution<f64>>::sample(&normal, rng))
        .collect();
    Neurons::new(k, d, w)
}

/// Refuses `k` neurons for `n` data points unless `1 <= k <= n`: with orthonormal data more
/// neurons than points cannot all select one (and `L*` above is `(n - k)/(2n)` only there).
pub fn check_neuron_count(k: usize, n: usize) -> Result<(), ConfigError> {
    if k == 0 || k > n {
        return Err(ConfigError::new(
            "neurons",
            k,
            format!("must be in 1..={n} (at most one neuron a data point)"),
        ));
    }
    Ok(())
}

/// What a sample needs: `z_ij`, `a_ij`, `s_ij` for every neuron and the residual `r_i`.
pub(crate) struct SampleState {
    pub(crate) z: Vec<f64>,
    pub(crate) a: Vec<f64>,
    pub(crate) s: Vec<f64>,
    pub(crate) residual: Vec<f64>,
}

pub(crate) fn sample_state(activation: Activation, weights: &Neurons, x: &[f64]) -> SampleState {
    let z: Vec<f64> = (0..weights.k).map(|j| dot(weights.row(j), x)).collect();
    let a: Vec<f64> = z.iter().map(|&z| activation.value(z)).collect();
    let s: Vec<f64> = z.iter().map(|&z| activation.derivative(z)).collect();
    let mut residual = x.to_vec();
    for (j, &aj) in a.iter().enumerate() {
        for (r, &w) in residual.iter_mut().zip(weights.row(j)) {
            *r -= aj * w;
        }
    }
    SampleState { z, a, s, residual }
}

/// Checks that the weights fit the data.
pub(crate) fn fits(data: &Data, weights: &Neurons) -> Result<(), ConfigError> {
    if weights.d != data.d() {
        return Err(ConfigError::new(
            "weights",
            format!("rows of length {}", weights.d),
            format!("must have the data's dimension d = {}", data.d()),
        ));
    }
    Ok(())
}

/// `L(W)`, the mean of the per-sample losses.
pub fn loss(data: &Data, activation: Activation, weights: &Neurons) -> Result<f64, ConfigError> {
    fits(data, weights)?;
    let total: f64 = (0..data.n())
        .map(|i| {
            let r = sample_state(activation, weights, data.point(i)).residual;
            0.5 * dot(&r, &r)
        })
        .sum();
    Ok(total / data.n() as f64)
}

/// The mean gradient over the samples listed in `batch` (a sample listed twice counts twice),
/// row by row like the weights.
pub fn batch_gradient(
    data: &Data,
    activation: Activation,
    weights: &Neurons,
    batch: &[usize],
) -> Result<Vec<f64>, ConfigError> {
    fits(data, weights)?;
    if let Some(&bad) = batch.iter().find(|&&i| i >= data.n()) {
        return Err(ConfigError::new(
            "batch",
            bad,
            format!("must index one of the {} data points", data.n()),
        ));
    }
    let mut g = vec![0.0; weights.w.len()];
    for &i in batch {
        accumulate_gradient(data, activation, weights, i, 1.0, &mut g);
    }
    let scale = 1.0 / batch.len().max(1) as f64;
    g.iter_mut().for_each(|gc| *gc *= scale);
    Ok(g)
}

/// Adds `count` times `grad l_i(W)` to `g`.
fn accumulate_gradient(
    data: &Data,
    activation: Activation,
    weights: &Neurons,
    i: usize,
    count: f64,
    g: &mut [f64],
) {
    let d = weights.d;
    let x = data.point(i);
    let st = sample_state(activation, weights, x);
    for j in 0..weights.k {
        let along_x = st.s[j] * dot(weights.row(j), &st.residual);
        for ((gc, &rc), &xc) in g[j * d..(j + 1) * d].iter_mut().zip(&st.residual).zip(x) {
            *gc -= count * (st.a[j] * rc + along_x * xc);
        }
    }
}

/// The mean gradient over a sampler's batch: each member as often as it was drawn, divided by
/// the batch size `b`.
pub(crate) fn counted_gradient(
    data: &Data,
    activation: Activation,
    weights: &Neurons,
    batch: &Batch<'_>,
) -> Vec<f64> {
    let mut g = vec![0.0; weights.w.len()];
    for (place, &i) in batch.members.iter().enumerate() {
        accumulate_gradient(data, activation, weights, i, f64::from(batch.count(place)), &mut g);
    }
    let scale = 1.0 / batch.size as f64;
    g.iter_mut().for_each(|gc| *gc *= scale);
    g
}

/// The full gradient `grad L(W)`, row by row.
pub fn full_gradient(
    data: &Data,
    activation: Activation,
    weights: &Neurons,
) -> Result<Vec<f64>, ConfigError> {
    let all: Vec<usize> = (0..data.n()).collect();
    batch_gradient(data, activation, weights, &all)
}

/// The global minimum value `L*` of `k` neurons, where it is known in closed form (see the
/// [module docs](self)): `(n - k) / (2n)` on orthonormal data for `1 <= k <= n` (either
/// activation); `(sum_i ||x_i||^2 - the k largest eigenvalues of X^T X) / (2n)` for the linear
/// activation on any data; `None` for ReLU on other data. An error for a `k` outside `1..=n`.
pub fn minimum_loss(data: &Data, activation: Activation, k: usize) -> Result<Option<f64>, ConfigError> {
    Ok(minimum_loss_and_stationary_gap(data, activation, k)?.0)
}

/// `L*` ([`minimum_loss`]) and the smallest loss gap of a stationary point that is not a global
/// minimum, where known; the convergence rule counts an iterate as a minimum when its gap is
/// at most half the latter.
///
/// For the linear activation the stationary points are the `W` whose `W^T W` restricted to the
/// data is an orthogonal projection onto a span of `r <= k` eigenvectors of `X X^T` (and whose
/// part outside the span is orthogonal to it in the sense `U U^T W_perp = 0`): on orthonormal
/// data, where every eigenvalue is 1, the gap is `(k - r) / (2n)`, so the smallest nonzero gap
/// is `1 / (2n)`; on other data it is `(lambda_k - lambda') / (2n)` (swapping the `k`-th
/// eigenvector for the next lower one), with `lambda'` the largest eigenvalue of `X^T X` below
/// `lambda_k (1 - EIGENVALUE_MERGE)`, or 0 when there is none: for `k = 1` the single neuron's
/// [`crate::model::stationary_gap`]. For ReLU on orthonormal data the
/// gap `1 / (2n)` is that of every stationary point built here (a dead neuron, two neurons on
/// one point, several neurons sharing a set of points as a lower-rank projection) and is
/// assumed, not proven, to be the smallest; on other data nothing is known.
pub fn minimum_loss_and_stationary_gap(
    data: &Data,
    activation: Activation,
    k: usize,
) -> Result<(Option<f64>, Option<f64>), ConfigError> {
    let n = data.n();
    check_neuron_count(k, n)?;
    let two_n = (2 * n) as f64;
    if data.is_orthonormal() {
        return Ok((Some((n - k) as f64 / two_n), Some(1.0 / two_n)));
    }
    if activation == Activation::Relu {
        return Ok((None, None));
    }
    let x = data.matrix();
    let gram = x.transpose() * x;
    let mut values = gram.self_adjoint_eigenvalues(Side::Lower).map_err(|e| {
        ConfigError::new("data", format!("{e:?}"), "must give a Gram matrix whose eigenvalues converge")
    })?;
    values.sort_by(|a, b| b.total_cmp(a));
    let top: f64 = values.iter().take(k).sum();
    let total: f64 = data.norms_sq().iter().sum();
    // As for one neuron: eigenvalues within `EIGENVALUE_MERGE` of the k-th count as one (rounding
    // cannot tell them apart), and the next stationary level is the largest one below them, or
    // 0 (a rank-deficient W) when there is none.
    let kth = values[k - 1];
    let below = values.iter().copied().filter(|&l| l < kth * (1.0 - EIGENVALUE_MERGE)).fold(0.0, f64::max);
    Ok((Some((total - top) / two_n), Some((kth - below) / two_n)))
}
