//! Metrics of an iterate and of the minimum a run converged to, in data coordinates.
//!
//! Definitions (with `u_i = <w, x_i>`, `A` the active samples):
//! - loss gap `L(w) - L*`; on orthonormal data computed as
//!   `((1 - S_A)^2 + S_A (||w||^2 - S_A)) / (2n)`, `S_A = sum_A u_i^2`, which has no cancellation;
//! - support: the number of `i` with `|u_i| > threshold * max_j |u_j|` (zero for `u = 0`);
//! - `||u||_inf / ||w||`, effective support `(sum u_i^2)^2 / sum u_i^4`;
//! - `|cos(w, w_0)|` and `|cos(w, w_gd)|` with `w_gd` the predicted full-batch limit;
//! - the selected data point, when the support is one;
//! - the Hessian trace (closed form) at the iterate, and at the identified limit point the trace
//!   and the largest eigenvalue.
//!
//! The limit point is the minimum the run converges to: coordinates below the support threshold
//! (and, for ReLU, non-positive ones) set to zero, the orthogonal part dropped, renormalised to
//! unit norm, the norm of every global minimum. The Hessian there differs from the one at the raw
//! iterate for ReLU, whose tiny positive coordinates still count as active (PAPER.md).
//! Non-finite states give non-finite metrics; nothing here panics.

use crate::config::Activation;
use crate::engine::IterateState;
use crate::hessian::{reduced_spectrum, trace_from_coords};

/// What the metrics need to know besides the iterate.
#[derive(Debug, Clone, Copy)]
pub struct MetricContext<'a> {
    /// The activation.
    pub activation: Activation,
    /// Ambient dimension.
    pub d: usize,
    /// `||x_i||^2` for every point.
    pub norms_sq: &'a [f64],
    /// Whether the data is orthonormal.
    pub orthonormal: bool,
    /// `L*`, where known.
    pub loss_min: Option<f64>,
    /// `||w_0||`.
    pub init_norm: f64,
    /// The predicted full-batch limit in data coordinates (unit norm), where defined.
    pub gd_limit: Option<&'a [f64]>,
    /// The relative support threshold.
    pub support_threshold: f64,
}

/// The metrics of one iterate.
#[derive(Debug, Clone, PartialEq)]
pub struct IterateMetrics {
    /// `L(w)`.
    pub loss: f64,
    /// `L(w) - L*`, where `L*` is known.
    pub loss_gap: Option<f64>,
    /// `||w||`.
    pub norm: f64,
    /// Number of data coordinates above the relative threshold.
    pub support: usize,
    /// `||u||_inf / ||w||`.
    pub linf_ratio: f64,
    /// `(sum u_i^2)^2 / sum u_i^4`.
    pub effective_support: f64,
    /// `|cos(w, w_0)|`.
    pub align_init: f64,
    /// `|cos(w, w_gd)|`, where the full-batch limit is defined.
    pub align_gd_limit: Option<f64>,
    /// The index of the largest coordinate, when the support is one.
    pub selected: Option<usize>,
    /// The sign of the selected coordinate (`+1` or `-1`), when the support is one.
    pub selected_sign: Option<i8>,
    /// `tr H(w)` at the iterate itself.
    pub hessian_trace: f64,
}

/// Support size, index and magnitude of the largest coordinate.
fn support_of(u: &[f64], threshold: f64) -> (usize, Option<usize>, f64) {
    let top = (0..u.len()).max_by(|&i, &j| u[i].abs().total_cmp(&u[j].abs()));
    let largest = top.map_or(0.0, |i| u[i].abs());
    if largest.is_nan() || largest == 0.0 {
        return (0, top, largest);
    }
    let cut = threshold * largest;
    (u.iter().filter(|x| x.abs() > cut).count(), top, largest)
}

/// The number of coordinates above `threshold` times the largest (zero for `u = 0`).
pub fn support_size(u: &[f64], threshold: f64) -> usize {
    support_of(u, threshold).0
}

/// The indices counted by [`support_size`], in increasing order.
pub fn support_indices(u: &[f64], threshold: f64) -> Vec<usize> {
    let (count, _, largest) = support_of(u, threshold);
    if count == 0 {
        return Vec::new();
    }
    (0..u.len()).filter(|&i| u[i].abs() > threshold * largest).collect()
}

/// Computes every metric of an iterate.
pub fn iterate_metrics(state: &IterateState, ctx: &MetricContext<'_>) -> IterateMetrics {
    let u = &state.u;
    let n = u.len() as f64;
    let r = state.norm_sq;
    let norm = r.sqrt();
    let (support, top, largest) = support_of(u, ctx.support_threshold);
    let sum2: f64 = u.iter().map(|x| x * x).sum();
    let sum4: f64 = u.iter().map(|x| x.powi(4)).sum();
    let loss_gap = match (ctx.orthonormal, state.perp_sq) {
        (true, Some(perp_sq)) => {
            let s_active: f64 = u.iter().filter(|&&x| ctx.activation.is_active(x)).map(|x| x * x).sum();
            let rest: f64 =
                u.iter().filter(|&&x| !ctx.activation.is_active(x)).map(|x| x * x).sum::<f64>() + perp_sq;
            Some(((1.0 - s_active).powi(2) + s_active * rest) / (2.0 * n))
        }
        _ => ctx.loss_min.map(|m| state.loss - m),
    };
    let selected = if support == 1 { top } else { None };
    IterateMetrics {
        loss: state.loss,
        loss_gap,
        norm,
        support,
        linf_ratio: if norm > 0.0 { largest / norm } else { 0.0 },
        effective_support: if sum4 > 0.0 { sum2 * sum2 / sum4 } else { 0.0 },
        align_init: (state.dot_init / (norm * ctx.init_norm)).abs(),
        align_gd_limit: ctx.gd_limit.map(|g| (u.iter().zip(g).map(|(a, b)| a * b).sum::<f64>() / norm).abs()),
        selected,
        selected_sign: selected.map(|k| if u[k] < 0.0 { -1 } else { 1 }),
        hessian_trace: trace_from_coords(ctx.activation, u, r, ctx.norms_sq, ctx.d),
    }
}

/// The minimum a run converged to, with the Hessian there.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitPoint {
    /// Its data coordinates (unit norm; it lies in the data span).
    pub u: Vec<f64>,
    /// Its number of non-zero coordinates.
    pub support: usize,
    /// `tr H` at the limit point.
    pub hessian_trace: f64,
    /// The largest Hessian eigenvalue at the limit point (`None` if the eigensolver failed).
    pub hessian_lambda_max: Option<f64>,
}

/// Identifies the limit point from the final data coordinates (orthonormal data only).
///
/// Returns `None` for non-orthonormal data, non-finite coordinates, or when no coordinate
/// survives (the run did not reach a global minimum).
pub fn limit_point(u: &[f64], ctx: &MetricContext<'_>) -> Option<LimitPoint> {
    if !ctx.orthonormal || u.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let (_, _, largest) = support_of(u, ctx.support_threshold);
    let cut = ctx.support_threshold * largest;
    let kept: Vec<f64> =
        u.iter().map(|&x| if x.abs() > cut && ctx.activation.is_active(x) { x } else { 0.0 }).collect();
    let norm = kept.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        return None;
    }
    let lim: Vec<f64> = kept.iter().map(|x| x / norm).collect();
    let hessian_trace = trace_from_coords(ctx.activation, &lim, 1.0, ctx.norms_sq, ctx.d);
    let hessian_lambda_max = reduced_spectrum(ctx.activation, &lim, 0.0, ctx.d).map(|s| s.max());
    Some(LimitPoint {
        support: lim.iter().filter(|&&x| x != 0.0).count(),
        u: lim,
        hessian_trace,
        hessian_lambda_max,
    })
}
