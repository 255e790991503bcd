//! The run record: the single flattening of a run's result.
//!
//! A [`Record`] is what the cache holds, what `cargo xtask run --json` prints (one a line), and
//! what statistics, figures and CSV files are computed from, so a cached reproduction never
//! reruns anything. [`FORMAT_VERSION`] is part of every cache key: bump it whenever a record's
//! meaning changes. This module runs nothing and stores nothing.
//!
//! A run of several neurons fills the same record ([`Record::from_neurons_run`]): the fields
//! that describe one neuron's `u` are read from the `k` neurons' `U = W X` as each field's doc
//! says, or are null; the fields only several neurons have (`selected_points` and the rest)
//! are null in one neuron's record (and missing from records written before they existed,
//! which read as null), and one neuron's cache key is what it was before, so its cache entries
//! stay valid.

use crate::key::{Recording, run_key};
use crate::vocabulary::OutcomeKind;
use aesgd_core::metrics::support_indices;
use aesgd_core::run::NeuronsRunResult;
use aesgd_core::trajectory::Snapshot;
use aesgd_core::{Activation, Outcome, RunConfig, RunResult};
use serde::{Deserialize, Serialize};

/// The version of the record format and of the code's results; part of every cache key.
pub const FORMAT_VERSION: u32 = 7;

/// One recorded point of a run's trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// Steps taken.
    pub step: u64,
    /// Support size.
    pub support: usize,
    /// `|cos(w, w_0)|`.
    #[serde(with = "crate::numbers::float")]
    pub align_init: f64,
    /// `||u||_inf / ||w||`.
    #[serde(with = "crate::numbers::float")]
    pub linf_ratio: f64,
    /// Data coordinates, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::numbers::optional_list")]
    pub coords: Option<Vec<f64>>,
}

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The cache key (see [`crate::key`]).
    pub key: String,
    /// The experiment seed.
    pub seed: u64,
    /// The run index (random stream).
    pub run_index: u64,
    /// "linear" or "relu".
    pub activation: String,
    /// The number of tied neurons `k` (1 in records written before several neurons existed).
    #[serde(default = "one_neuron")]
    pub neurons: usize,
    /// Number of data points.
    pub n: usize,
    /// Dimension.
    pub d: usize,
    /// Batch size.
    pub batch: usize,
    /// Step size.
    #[serde(with = "crate::numbers::float")]
    pub eta: f64,
    /// Schedule name.
    pub schedule: String,
    /// Data name.
    pub data: String,
    /// Initialisation scale.
    #[serde(with = "crate::numbers::float")]
    pub init_scale: f64,
    /// Engine used.
    pub engine: String,
    /// Steps taken.
    pub steps_run: u64,
    /// How the run ended.
    pub outcome: OutcomeKind,
    /// The step at which the run converged, stopped at a stationary point that is not a
    /// minimum, or diverged; `None` at `max_steps`.
    pub outcome_step: Option<u64>,
    /// Stationarity at the end (`None` when the run diverged).
    #[serde(with = "crate::numbers::optional")]
    pub stationarity: Option<f64>,
    /// Loss gap at the end (`None` when `L*` is unknown).
    #[serde(with = "crate::numbers::optional")]
    pub loss_gap: Option<f64>,
    /// `||w||` (several neurons: `||W||_F`).
    #[serde(with = "crate::numbers::float")]
    pub norm: f64,
    /// Support size (several neurons: the data points that carry weight in `diag(W^T W)`, above
    /// `support_threshold^2` times the largest entry).
    pub support: usize,
    /// The indices of the support.
    pub support_indices: Vec<usize>,
    /// `||u||_inf / ||w||` (null for several neurons).
    #[serde(with = "crate::numbers::optional")]
    pub linf_ratio: Option<f64>,
    /// Effective support (several neurons: `(sum_i p_i)^2 / sum_i p_i^2` of `p = diag(W^T W)`,
    /// which is one neuron's `(sum u_i^2)^2 / sum u_i^4`).
    #[serde(with = "crate::numbers::float")]
    pub effective_support: f64,
    /// `|cos(w, w_0)|` (several neurons: `|<W, W_0>_F| / (||W||_F ||W_0||_F)`).
    #[serde(with = "crate::numbers::float")]
    pub align_init: f64,
    /// `|cos(w, w_gd)|` (several neurons, linear: `U^T U` against its predicted limit `B B^T`,
    /// `sqrt(<U^T U, B B^T>_F / (||U^T U||_F ||B B^T||_F))`; null for ReLU).
    #[serde(with = "crate::numbers::optional")]
    pub align_gd_limit: Option<f64>,
    /// The selected point, when the support is one (null for several neurons: see
    /// `selected_points`).
    pub selected: Option<usize>,
    /// The sign of the selected coordinate (null for several neurons).
    pub selected_sign: Option<i8>,
    /// Rank of the selected point's initial coordinate (1 = largest `u_0,i` for ReLU, largest
    /// `|u_0,i|` for linear; null for several neurons).
    pub selected_rank: Option<usize>,
    /// Step from which the run stayed at one point (several neurons: at `k` points or fewer in
    /// `diag(W^T W)`).
    pub sparse_step: Option<u64>,
    /// Support of the limit point (several neurons: of the identified minimum's `diag(W^T W)`).
    pub limit_support: Option<usize>,
    /// `tr H` at the limit point.
    #[serde(with = "crate::numbers::optional")]
    pub hessian_trace_limit: Option<f64>,
    /// `lambda_max(H)` at the limit point.
    #[serde(with = "crate::numbers::optional")]
    pub hessian_lambda_max_limit: Option<f64>,
    /// `tr H` at the raw iterate.
    #[serde(with = "crate::numbers::float")]
    pub hessian_trace_iterate: f64,
    /// Number of initially positive coordinates (several neurons: positive entries of `U_0`).
    pub init_positive: usize,
    /// Several neurons only (null for one): the selected points sorted, one a neuron, when every neuron's
    /// support is one at an active sample (null otherwise).
    #[serde(default)]
    pub selected_points: Option<Vec<usize>>,
    /// Several neurons only: the number of distinct points selected.
    #[serde(default)]
    pub distinct_selected: Option<usize>,
    /// Several neurons only: neurons that select a point another neuron selects too.
    #[serde(default)]
    pub collisions: Option<usize>,
    /// Several neurons only: neurons with no active sample.
    #[serde(default)]
    pub dead_neurons: Option<usize>,
    /// Several neurons only: data points in the support of two or more neurons at an active
    /// coordinate (0 when the neurons share the points out among themselves).
    #[serde(default)]
    pub shared_points: Option<usize>,
    /// Several neurons only: the final `U = W X`, `k x n`, row by row.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::numbers::optional_list")]
    pub final_coords: Option<Vec<f64>>,
    /// Log-spaced trajectory (empty when not recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trajectory: Vec<TrajectoryPoint>,
    /// Seconds the run took (not part of any result).
    #[serde(with = "crate::numbers::float")]
    pub wall_seconds: f64,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn one_neuron() -> usize {
    1
}

/// The step at which a run ended by its rule, `None` at `max_steps`.
fn outcome_step(outcome: Outcome) -> Option<u64> {
    match outcome {
        Outcome::Converged { step } | Outcome::StationaryNotMinimum { step } | Outcome::Diverged { step } => {
            Some(step)
        }
        Outcome::MaxSteps => None,
    }
}

impl Record {
    /// The record of a finished run of `config` whose trajectory, if recorded with
    /// `recording`, is `snapshots`.
    pub fn from_run(
        config: &RunConfig,
        recording: Recording,
        result: &RunResult,
        snapshots: &[Snapshot],
        wall_seconds: f64,
    ) -> Self {
        let m = &result.final_metrics;
        let u0 = &result.init_coords;
        // Rank among the points that can be selected: ReLU only selects an initially positive
        // coordinate, ranked by value; the linear activation selects +-x_k, ranked by magnitude.
        let strength = |x: f64| match config.activation {
            Activation::Relu => x,
            Activation::Linear => x.abs(),
        };
        let selected_rank =
            m.selected.map(|k| 1 + u0.iter().filter(|&&x| strength(x) > strength(u0[k])).count());
        Self {
            key: run_key(config, recording, result.seed, result.run_index),
            seed: result.seed,
            run_index: result.run_index,
            activation: config.activation.name().into(),
            neurons: 1,
            n: config.n,
            d: config.d,
            batch: config.batch,
            eta: config.eta,
            schedule: config.schedule.name().into(),
            data: config.data.name().into(),
            init_scale: config.init_scale,
            engine: result.engine.into(),
            steps_run: result.steps_run,
            outcome: result.outcome.into(),
            outcome_step: outcome_step(result.outcome),
            stationarity: finite(result.final_stationarity),
            loss_gap: m.loss_gap,
            norm: m.norm,
            support: m.support,
            support_indices: support_indices(&result.final_state.u, config.support_threshold),
            linf_ratio: Some(m.linf_ratio),
            effective_support: m.effective_support,
            align_init: m.align_init,
            align_gd_limit: m.align_gd_limit,
            selected: m.selected,
            selected_sign: m.selected_sign,
            selected_rank,
            sparse_step: result.sparse_step,
            limit_support: result.limit.as_ref().map(|l| l.support),
            hessian_trace_limit: result.limit.as_ref().map(|l| l.hessian_trace),
            hessian_lambda_max_limit: result.limit.as_ref().and_then(|l| l.hessian_lambda_max),
            hessian_trace_iterate: m.hessian_trace,
            init_positive: u0.iter().filter(|&&x| x > 0.0).count(),
            selected_points: None,
            distinct_selected: None,
            collisions: None,
            dead_neurons: None,
            shared_points: None,
            final_coords: None,
            trajectory: snapshots
                .iter()
                .map(|s| TrajectoryPoint {
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
}

impl Record {
    /// The record of a finished run of several neurons (`config.neurons > 1`), read as the
    /// fields' docs say, keyed with `recording`. Several neurons record no trajectory, so its
    /// trajectory is empty whatever `recording` asks (specs refuse to ask).
    pub fn from_neurons_run(
        config: &RunConfig,
        recording: Recording,
        result: &NeuronsRunResult,
        wall_seconds: f64,
    ) -> Self {
        let m = &result.metrics;
        let p = &m.projection_diagonal;
        let threshold = config.support_threshold * config.support_threshold;
        let support_indices = support_indices(p, threshold);
        let (sum, sum_sq) = p.iter().fold((0.0, 0.0), |(s, q), &x| (s + x, q + x * x));
        let norm = result.weights.as_slice().iter().map(|x| x * x).sum::<f64>().sqrt();
        Self {
            key: run_key(config, recording, result.seed, result.run_index),
            seed: result.seed,
            run_index: result.run_index,
            activation: config.activation.name().into(),
            neurons: config.neurons,
            n: config.n,
            d: config.d,
            batch: config.batch,
            eta: config.eta,
            schedule: config.schedule.name().into(),
            data: config.data.name().into(),
            init_scale: config.init_scale,
            engine: result.engine.into(),
            steps_run: result.steps_run,
            outcome: result.outcome.into(),
            outcome_step: outcome_step(result.outcome),
            stationarity: finite(result.final_stationarity),
            loss_gap: result.loss_gap,
            norm,
            support: support_indices.len(),
            support_indices,
            linf_ratio: None,
            effective_support: if sum_sq > 0.0 { sum * sum / sum_sq } else { 0.0 },
            align_init: result.align_init,
            align_gd_limit: result.align_gd_limit,
            selected: None,
            selected_sign: None,
            selected_rank: None,
            sparse_step: result.sparse_step,
            limit_support: result.limit.as_ref().map(|l| l.support),
            hessian_trace_limit: result.limit.as_ref().map(|l| l.hessian_trace),
            hessian_lambda_max_limit: result.limit.as_ref().and_then(|l| l.hessian_lambda_max),
            hessian_trace_iterate: result.hessian_trace,
            init_positive: result.init_coords.iter().filter(|&&x| x > 0.0).count(),
            selected_points: m.selected_points.clone(),
            distinct_selected: Some(m.distinct_selected),
            collisions: Some(m.collisions),
            dead_neurons: Some(m.dead_neurons),
            shared_points: Some(m.shared_points),
            final_coords: Some(result.coords.clone()),
            trajectory: Vec::new(),
            wall_seconds,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-made ReLU record at n = d = 4, b = 2 that selected point 2 (support {2}).
    pub(crate) fn hand_made() -> Record {
        Record {
            key: "k".into(),
            seed: 0,
            run_index: 0,
            activation: "relu".into(),
            neurons: 1,
            n: 4,
            d: 4,
            batch: 2,
            eta: 0.1,
            schedule: "random".into(),
            data: "basis".into(),
            init_scale: 0.5,
            engine: "reduced".into(),
            steps_run: 5000,
            outcome: OutcomeKind::Converged,
            outcome_step: Some(5000),
            stationarity: Some(1e-11),
            loss_gap: Some(1e-13),
            norm: 1.0,
            support: 1,
            support_indices: vec![2],
            linf_ratio: Some(1.0),
            effective_support: 1.0,
            align_init: 0.25,
            align_gd_limit: Some(0.5),
            selected: Some(2),
            selected_sign: Some(1),
            selected_rank: Some(2),
            sparse_step: Some(3000),
            limit_support: Some(1),
            hessian_trace_limit: Some(1.75),
            hessian_lambda_max_limit: Some(1.0),
            hessian_trace_iterate: 1.5,
            init_positive: 3,
            selected_points: None,
            distinct_selected: None,
            collisions: None,
            dead_neurons: None,
            shared_points: None,
            final_coords: None,
            trajectory: Vec::new(),
            wall_seconds: 0.0,
        }
    }

    #[test]
    fn a_real_run_flattens_consistently() {
        let config = RunConfig { n: 6, d: 6, batch: 2, max_steps: 2_000_000, ..RunConfig::default() };
        let result = aesgd_core::run(&config, 3, 1).unwrap();
        let r = Record::from_run(&config, Recording::Off, &result, &[], 0.0);
        assert_eq!((r.seed, r.run_index, r.n, r.batch), (3, 1, 6, 2));
        assert_eq!(r.support_indices.len(), r.support);
        assert_eq!(r.selected.is_some(), r.support == 1);
        if let Some(k) = r.selected {
            assert_eq!(r.support_indices, vec![k]);
            // The rank counts the initial coordinates strictly larger than the selected one's.
            let u0 = &result.init_coords;
            assert_eq!(r.selected_rank, Some(1 + u0.iter().filter(|&&x| x > u0[k]).count()));
        }
        assert_eq!(r.init_positive, result.init_coords.iter().filter(|&&x| x > 0.0).count());
        // The JSON form reads back as the same record.
        let back: Record = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
