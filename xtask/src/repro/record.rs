//! The stored result of one run: every metric, a compact trajectory, and the cache key.
//!
//! A record is what the cache holds and what the statistics, the figures and the CSV files are
//! computed from, so a cached reproduction never reruns anything. `FORMAT_VERSION` is part of
//! every cache key: bump it whenever a record's meaning changes.

use aesgd_core::metrics::support_indices;
use aesgd_core::{RunConfig, RunResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the record format and of the code's results; part of every cache key.
pub const FORMAT_VERSION: u32 = 4;

/// One snapshot of the trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Steps taken.
    pub step: u64,
    /// Support size.
    pub support: usize,
    /// `|cos(w, w_0)|`.
    pub align_init: f64,
    /// `||u||_inf / ||w||`.
    pub linf_ratio: f64,
    /// Data coordinates, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coords: Option<Vec<f64>>,
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The cache key.
    pub key: String,
    /// The experiment seed.
    pub seed: u64,
    /// The run index (random stream).
    pub run_index: u64,
    /// "linear" or "relu".
    pub activation: String,
    /// Points.
    pub n: usize,
    /// Dimension.
    pub d: usize,
    /// Batch size.
    pub batch: usize,
    /// Step size.
    pub eta: f64,
    /// Schedule name.
    pub schedule: String,
    /// Data name.
    pub data: String,
    /// Engine used.
    pub engine: String,
    /// Steps taken.
    pub steps_run: u64,
    /// "converged", "max_steps" or "diverged".
    pub outcome: String,
    /// Stationarity at the end.
    pub stationarity: Option<f64>,
    /// Loss gap at the end.
    pub loss_gap: Option<f64>,
    /// `||w||`.
    pub norm: f64,
    /// Support size.
    pub support: usize,
    /// The indices of the support.
    pub support_indices: Vec<usize>,
    /// `||u||_inf / ||w||`.
    pub linf_ratio: f64,
    /// Effective support.
    pub effective_support: f64,
    /// `|cos(w, w_0)|`.
    pub align_init: f64,
    /// `|cos(w, w_gd)|`.
    pub align_gd_limit: Option<f64>,
    /// The selected point.
    pub selected: Option<usize>,
    /// Rank of the selected point's initial coordinate (1 = largest `u_0,i` for ReLU, largest
    /// `|u_0,i|` for linear).
    pub selected_rank: Option<usize>,
    /// Step from which the run stayed at one point.
    pub sparse_step: Option<u64>,
    /// Support of the limit point.
    pub limit_support: Option<usize>,
    /// `tr H` at the limit point.
    pub hessian_trace_limit: Option<f64>,
    /// `lambda_max(H)` at the limit point.
    pub hessian_lambda_max_limit: Option<f64>,
    /// `tr H` at the raw iterate.
    pub hessian_trace_iterate: f64,
    /// Number of initially positive coordinates.
    pub init_positive: usize,
    /// Log-spaced trajectory.
    pub trajectory: Vec<Point>,
    /// Seconds the run took (not part of any result).
    pub wall_seconds: f64,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The cache key of run `run_index` of `config` under experiment seed `seed`.
pub fn key(config: &RunConfig, seed: u64, run_index: u64) -> String {
    let canonical = format!(
        "aesgd-record-v{FORMAT_VERSION}|{}|n={}|d={}|b={}|eta={:?}|{}|{}|s={:?}|T={}|tol={:?}|every={}|thr={:?}|ppd={}|coords={}|{:?}|seed={seed}|run={run_index}",
        config.activation,
        config.n,
        config.d,
        config.batch,
        config.eta,
        config.schedule,
        config.data.name(),
        config.init_scale,
        config.max_steps,
        config.grad_tol,
        config.check_every,
        config.support_threshold,
        config.points_per_decade,
        config.record_coordinates,
        config.engine,
    );
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Builds the record of a finished run.
pub fn from_result(config: &RunConfig, result: &RunResult, wall_seconds: f64) -> Record {
    let m = &result.final_metrics;
    let u0 = &result.init_coords;
    // Rank among the points that can be selected: ReLU only selects an initially positive
    // coordinate, ranked by value; the linear activation selects +-x_k, ranked by magnitude.
    let strength = |x: f64| match config.activation {
        aesgd_core::Activation::Relu => x,
        aesgd_core::Activation::Linear => x.abs(),
    };
    let selected_rank = m.selected.map(|k| 1 + u0.iter().filter(|&&x| strength(x) > strength(u0[k])).count());
    Record {
        key: key(config, result.seed, result.run_index),
        seed: result.seed,
        run_index: result.run_index,
        activation: config.activation.name().into(),
        n: config.n,
        d: config.d,
        batch: config.batch,
        eta: config.eta,
        schedule: config.schedule.name().into(),
        data: config.data.name().into(),
        engine: result.engine.into(),
        steps_run: result.steps_run,
        outcome: result.outcome.name().into(),
        stationarity: finite(result.final_stationarity),
        loss_gap: m.loss_gap.and_then(finite),
        norm: m.norm,
        support: m.support,
        support_indices: support_indices(&result.final_state.u, config.support_threshold),
        linf_ratio: m.linf_ratio,
        effective_support: m.effective_support,
        align_init: m.align_init,
        align_gd_limit: m.align_gd_limit,
        selected: m.selected,
        selected_rank,
        sparse_step: result.sparse_step,
        limit_support: result.limit.as_ref().map(|l| l.support),
        hessian_trace_limit: result.limit.as_ref().map(|l| l.hessian_trace),
        hessian_lambda_max_limit: result.limit.as_ref().and_then(|l| l.hessian_lambda_max),
        hessian_trace_iterate: m.hessian_trace,
        init_positive: u0.iter().filter(|&&x| x > 0.0).count(),
        trajectory: result
            .trajectory
            .iter()
            .map(|s| Point {
                step: s.step,
                support: s.metrics.support,
                align_init: s.metrics.align_init,
                linf_ratio: s.metrics.linf_ratio,
                coords: s.coords.clone(),
            })
            .collect(),
        wall_seconds,
    }
}

/// The metrics a criterion or figure can name.
pub fn metric_names() -> &'static [&'static str] {
    &[
        "converged",
        "at_global_minimum",
        "support",
        "single_point",
        "effective_support",
        "linf_ratio",
        "align_init",
        "align_gd_limit",
        "loss_gap",
        "steps_run",
        "sparse_step",
        "selected_rank",
        "hessian_trace_limit",
        "hessian_lambda_max_limit",
        "lambda_max_times_n",
        "hessian_trace_iterate",
        "trace_limit_minus_iterate",
        "support_within_block",
        "init_positive",
    ]
}

/// The value of a named metric for a run; booleans are 0 or 1; `None` when undefined.
pub fn metric(r: &Record, name: &str) -> Option<f64> {
    let bool01 = |b: bool| Some(if b { 1.0 } else { 0.0 });
    let converged = r.outcome == "converged";
    match name {
        "converged" => bool01(converged),
        "at_global_minimum" => {
            bool01(converged && r.loss_gap.is_some_and(|g| g <= 1e-12) && r.limit_support.is_some())
        }
        "support" => Some(r.support as f64),
        "single_point" => bool01(r.support == 1),
        "effective_support" => Some(r.effective_support),
        "linf_ratio" => Some(r.linf_ratio),
        "align_init" => Some(r.align_init),
        "align_gd_limit" => r.align_gd_limit,
        "loss_gap" => r.loss_gap,
        "steps_run" => Some(r.steps_run as f64),
        "sparse_step" => r.sparse_step.map(|s| s as f64),
        "selected_rank" => r.selected_rank.map(|k| k as f64),
        "hessian_trace_limit" => r.hessian_trace_limit,
        "hessian_lambda_max_limit" => r.hessian_lambda_max_limit,
        "lambda_max_times_n" => r.hessian_lambda_max_limit.map(|l| l * r.n as f64),
        "hessian_trace_iterate" => Some(r.hessian_trace_iterate),
        "trace_limit_minus_iterate" => r.hessian_trace_limit.map(|t| t - r.hessian_trace_iterate),
        // The final support is not empty and lies inside one block {kb, .., kb + b - 1} of the
        // cyclic order (meaningful when b divides n).
        "support_within_block" => bool01(
            r.support_indices
                .first()
                .is_some_and(|&f| r.support_indices.iter().all(|&i| i / r.batch == f / r.batch)),
        ),
        "init_positive" => Some(r.init_positive as f64),
        _ => None,
    }
}
