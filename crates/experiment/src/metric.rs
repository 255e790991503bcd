//! The metric registry: one definition per metric that a criterion or figure can name.
//!
//! A [`MetricDefinition`] holds everything known about a metric: its name in specs, what it
//! means, its axis label, whether it is drawn on a log axis, how it is read from a run
//! [`Record`], how it is read from a trajectory point (if it is recorded along the trajectory),
//! and its closed form at a sweep point (where one is derived). Everything else (spec
//! validation, verdicts, figures, the metric table in `repro/README.md`) reads these
//! definitions; nothing else lists metrics. Booleans are 0 or 1; `None` means undefined for
//! that run.
//!
//! Architecture invariant: a degenerate run (diverged, or stopped at a stationary point that is
//! not a minimum; [`OutcomeKind::is_degenerate`]) has no final metrics. Only the metrics about
//! how a run ended (`converged`, `at_global_minimum`, `steps_run`) and about its start
//! (`init_positive`) are defined for it, so it is never counted as a success of a proportion nor
//! averaged into a mean: verdicts say how many runs were left out and why.
//!
//! To add a metric: add a variant to [`Metric`] (its serde name is the spec's word) and its arm
//! in [`Metric::definition`], then regenerate the README table (`AESGD_UPDATE_DOCS=1 cargo test
//! -p aesgd-experiment`).

use crate::record::{Record, TrajectoryPoint};
use crate::vocabulary::OutcomeKind;
use aesgd_core::{Activation, DataSpec, RunConfig, Schedule};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The loss gap below which a converged run counts as at a global minimum.
pub const GLOBAL_MINIMUM_GAP: f64 = 1e-12;

/// A metric a criterion or figure can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The run converged by the stated rule.
    Converged,
    /// Converged, loss gap within [`GLOBAL_MINIMUM_GAP`], limit point identified.
    AtGlobalMinimum,
    /// Final support size.
    Support,
    /// Final support is one.
    SinglePoint,
    /// Effective support.
    EffectiveSupport,
    /// `||u||_inf / ||w||`.
    LinfRatio,
    /// `|cos(w, w_0)|`.
    AlignInit,
    /// `|cos(w, w_gd)|`.
    AlignGdLimit,
    /// `L(w) - L*`.
    LossGap,
    /// Steps taken.
    StepsRun,
    /// Time to sparsity.
    SparseStep,
    /// Rank of the selected point's initial coordinate.
    SelectedRank,
    /// Hessian trace at the limit point.
    HessianTraceLimit,
    /// Largest Hessian eigenvalue at the limit point.
    HessianLambdaMaxLimit,
    /// `n` times the largest eigenvalue at the limit point.
    LambdaMaxTimesN,
    /// Hessian trace at the raw final iterate.
    HessianTraceIterate,
    /// Trace at the limit point minus trace at the raw iterate.
    TraceLimitMinusIterate,
    /// The final support lies inside one cyclic block.
    SupportWithinBlock,
    /// Number of initially positive coordinates.
    InitPositive,
    /// Exactly `k` data points carry weight in `diag(W^T W)`.
    OnKPoints,
    /// Distinct data points selected by the neurons.
    DistinctSelected,
    /// Every ReLU neuron on a data point of its own.
    OnePointANeuron,
    /// Neurons on a point another neuron selects too.
    Collisions,
    /// Neurons with no active sample.
    DeadNeurons,
    /// Data points used by two or more neurons.
    SharedPoints,
}

/// A closed form of a metric at a sweep point, given the point's configuration and runs.
pub type ClosedForm = fn(&RunConfig, &[Record]) -> Option<f64>;

/// Everything known about one metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDefinition {
    /// Its word in specs and outputs.
    pub name: &'static str,
    /// What it is, in one line (the README's metric table).
    pub meaning: &'static str,
    /// Its axis label.
    pub axis_label: &'static str,
    /// Whether figures draw it on a log axis.
    pub log_axis: bool,
    /// Whether it is defined for a degenerate run (it describes how a run ended or started).
    pub of_any_run: bool,
    /// Its value for a finished run.
    pub value: fn(&Record) -> Option<f64>,
    /// Its value at a trajectory point, if it is recorded along the trajectory.
    pub over_steps: Option<fn(&TrajectoryPoint) -> Option<f64>>,
    /// Its closed form at a sweep point, where one is derived, and that form in words.
    pub closed_form: Option<(ClosedForm, &'static str)>,
}

/// The distinct points selected; for one neuron its selected point where that sample is
/// active (a ReLU neuron's selected coordinate is positive), as for several.
fn distinct_selected(r: &Record) -> Option<f64> {
    if r.neurons > 1 {
        return r.distinct_selected.map(|k| k as f64);
    }
    let active = r.activation == Activation::Linear.name() || r.selected_sign == Some(1);
    Some(if r.selected.is_some() && active { 1.0 } else { 0.0 })
}

fn flag(b: bool) -> Option<f64> {
    Some(if b { 1.0 } else { 0.0 })
}

fn converged(r: &Record) -> bool {
    r.outcome == OutcomeKind::Converged
}

impl Metric {
    /// Every metric, in the order of the docs.
    pub const ALL: &'static [Self] = &[
        Self::Converged,
        Self::AtGlobalMinimum,
        Self::Support,
        Self::SinglePoint,
        Self::EffectiveSupport,
        Self::LinfRatio,
        Self::AlignInit,
        Self::AlignGdLimit,
        Self::LossGap,
        Self::StepsRun,
        Self::SparseStep,
        Self::SelectedRank,
        Self::HessianTraceLimit,
        Self::HessianLambdaMaxLimit,
        Self::LambdaMaxTimesN,
        Self::HessianTraceIterate,
        Self::TraceLimitMinusIterate,
        Self::SupportWithinBlock,
        Self::InitPositive,
        Self::OnKPoints,
        Self::DistinctSelected,
        Self::OnePointANeuron,
        Self::Collisions,
        Self::DeadNeurons,
        Self::SharedPoints,
    ];

    /// The metric's one definition.
    pub fn definition(self) -> MetricDefinition {
        let plain = |name, meaning, axis_label, value| MetricDefinition {
            name,
            meaning,
            axis_label,
            log_axis: false,
            of_any_run: false,
            value,
            over_steps: None,
            closed_form: None,
        };
        match self {
            Self::Converged => MetricDefinition {
                of_any_run: true,
                ..plain(
                    "converged",
                    "1 when the run converged (to a global minimum) by the stated rule, else 0",
                    "converged",
                    |r| flag(converged(r)),
                )
            },
            Self::AtGlobalMinimum => MetricDefinition {
                of_any_run: true,
                ..plain(
                    "at_global_minimum",
                    "1 when converged with loss gap <= 1e-12 and an identified limit point, else 0",
                    "at global minimum",
                    |r| {
                        flag(
                            converged(r)
                                && r.loss_gap.is_some_and(|g| g <= GLOBAL_MINIMUM_GAP)
                                && r.limit_support.is_some(),
                        )
                    },
                )
            },
            Self::Support => MetricDefinition {
                over_steps: Some(|p| Some(p.support as f64)),
                ..plain(
                    "support",
                    "number of data coordinates with |u_i| > threshold * max_j |u_j|",
                    "support size",
                    |r| Some(r.support as f64),
                )
            },
            Self::SinglePoint => plain(
                "single_point",
                "1 when the final support is one data point, else 0",
                "single point",
                |r| flag(r.support == 1),
            ),
            Self::EffectiveSupport => {
                plain("effective_support", "(sum u_i^2)^2 / sum u_i^4", "effective support", |r| {
                    Some(r.effective_support)
                })
            }
            Self::LinfRatio => MetricDefinition {
                over_steps: Some(|p| Some(p.linf_ratio)),
                ..plain("linf_ratio", "max_i |u_i| / ||w||", "max|u_i| / ||w||", |r| r.linf_ratio)
            },
            Self::AlignInit => MetricDefinition {
                over_steps: Some(|p| Some(p.align_init)),
                closed_form: Some((
                    expected_alignment,
                    "E over w_0: b = n, E |P_A w_0| / |w_0| (a Beta law, exact); b < n, E |u_k(0)| / |w_0| if the selected k followed the share law P(k) = u_k(0)^2 / sum (a reference curve: q-selection rejects that law, alpha is about 1.25)",
                )),
                ..plain("align_init", "|cos(w, w_0)|", "|cos(w, w0)|", |r| Some(r.align_init))
            },
            Self::AlignGdLimit => MetricDefinition {
                closed_form: Some((
                    |c, _| {
                        let predicted = c.neurons == 1 || c.activation == Activation::Linear;
                        let orthonormal = matches!(c.data, DataSpec::Basis | DataSpec::Orthonormal);
                        (c.batch == c.n && predicted && orthonormal).then_some(1.0)
                    },
                    "1 at full batch on orthonormal data (the run converges to the predicted limit; k neurons: linear only)",
                )),
                ..plain(
                    "align_gd_limit",
                    "|cos(w, w_gd)|, w_gd the predicted full-batch limit (orthonormal data)",
                    "|cos(w, w_gd)|",
                    |r| r.align_gd_limit,
                )
            },
            Self::LossGap => plain("loss_gap", "L(w) - L*", "loss gap", |r| r.loss_gap),
            Self::StepsRun => MetricDefinition {
                log_axis: true,
                of_any_run: true,
                ..plain("steps_run", "steps taken", "steps run", |r| Some(r.steps_run as f64))
            },
            Self::SparseStep => MetricDefinition {
                log_axis: true,
                ..plain(
                    "sparse_step",
                    "step from which the run stayed at one data point (k neurons: at k data points in diag(W^T W)), to within check_every",
                    "steps until sparse",
                    |r| r.sparse_step.map(|s| s as f64),
                )
            },
            Self::SelectedRank => plain(
                "selected_rank",
                "rank of the selected point's initial coordinate (1 = largest u_0,i for ReLU, |u_0,i| for linear)",
                "selected rank",
                |r| r.selected_rank.map(|k| k as f64),
            ),
            Self::HessianTraceLimit => MetricDefinition {
                closed_form: Some((
                    trace_at_limit,
                    "(d + 4 - |A|)/n: |A| = n (linear), 1 (ReLU, b < n), #{u_0,i > 0} (ReLU, b = n); k neurons: k (d + 2 + 2k - n)/n (linear), k (d + 3)/n (ReLU, b < n), (k (d + 4) - |A|)/n at each run's kept points |A| (ReLU, b = n)",
                )),
                ..plain(
                    "hessian_trace_limit",
                    "tr H at the identified limit point (k ReLU neurons: converged runs only)",
                    "Hessian trace at the limit point",
                    |r| r.hessian_trace_limit.filter(|_| limit_is_a_minimum(r)),
                )
            },
            Self::HessianLambdaMaxLimit => MetricDefinition {
                closed_form: Some((
                    |c, _| {
                        let proven = c.neurons == 1 || (c.activation == Activation::Relu && c.batch < c.n);
                        proven.then(|| 4.0 / c.n as f64)
                    },
                    "4/n at every global minimum of one neuron, and at k neurons on k distinct points",
                )),
                ..plain(
                    "hessian_lambda_max_limit",
                    "largest Hessian eigenvalue at the identified limit point (k ReLU neurons: converged runs only)",
                    "hessian lambda max limit",
                    |r| r.hessian_lambda_max_limit.filter(|_| limit_is_a_minimum(r)),
                )
            },
            Self::LambdaMaxTimesN => plain(
                "lambda_max_times_n",
                "n times the largest Hessian eigenvalue at the limit point (4 at every minimum of one neuron)",
                "lambda max times n",
                |r| r.hessian_lambda_max_limit.filter(|_| limit_is_a_minimum(r)).map(|l| l * r.n as f64),
            ),
            Self::HessianTraceIterate => plain(
                "hessian_trace_iterate",
                "tr H at the raw final iterate",
                "Hessian trace at the final iterate",
                |r| Some(r.hessian_trace_iterate),
            ),
            Self::TraceLimitMinusIterate => plain(
                "trace_limit_minus_iterate",
                "hessian_trace_limit - hessian_trace_iterate",
                "trace limit minus iterate",
                |r| {
                    r.hessian_trace_limit
                        .filter(|_| limit_is_a_minimum(r))
                        .map(|t| t - r.hessian_trace_iterate)
                },
            ),
            // The final support is not empty and lies inside one block {kb, .., kb + b - 1} of
            // the cyclic order (meaningful when b divides n).
            Self::SupportWithinBlock => plain(
                "support_within_block",
                "1 when the final support is not empty and inside one cyclic block {kb, .., kb + b - 1}",
                "support within block",
                |r| {
                    flag(
                        r.support_indices
                            .first()
                            .is_some_and(|&f| r.support_indices.iter().all(|&i| i / r.batch == f / r.batch)),
                    )
                },
            ),
            Self::InitPositive => MetricDefinition {
                of_any_run: true,
                ..plain(
                    "init_positive",
                    "number of initially positive data coordinates u_0,i > 0",
                    "init positive",
                    |r| Some(r.init_positive as f64),
                )
            },
            Self::OnKPoints => plain(
                "on_k_points",
                "1 when exactly k data points carry weight in diag(W^T W), whatever the rows' shape (ReLU: k neurons on k distinct points, or a mixed-sign group reconstructing k points together, which distinct_selected tells apart; linear: W on a coordinate subspace; single_point for k = 1), else 0",
                "on k data points",
                |r| flag(r.support == r.neurons),
            ),
            Self::DistinctSelected => MetricDefinition {
                of_any_run: true,
                ..plain(
                    "distinct_selected",
                    "distinct data points selected (a neuron selects its one support point where that sample is active); undefined after a divergence",
                    "distinct points selected",
                    |r| (r.outcome != OutcomeKind::Diverged).then(|| distinct_selected(r)).flatten(),
                )
            },
            Self::OnePointANeuron => plain(
                "one_point_a_neuron",
                "1 when the k neurons select k distinct data points, one each (single_point for one neuron; undefined for several linear neurons, whose rows rotate inside their subspace), else 0",
                "one point a neuron",
                |r| match (r.neurons, r.activation == Activation::Linear.name()) {
                    (1, _) => flag(r.support == 1),
                    (_, true) => None,
                    (k, false) => flag(distinct_selected(r) == Some(k as f64)),
                },
            ),
            Self::Collisions => MetricDefinition {
                of_any_run: true,
                ..plain(
                    "collisions",
                    "neurons selecting a point another neuron selects too (0 for one neuron); undefined after a divergence",
                    "collisions",
                    |r| {
                        let count = if r.neurons == 1 { Some(0) } else { r.collisions };
                        (r.outcome != OutcomeKind::Diverged).then_some(count? as f64)
                    },
                )
            },
            Self::DeadNeurons => MetricDefinition {
                of_any_run: true,
                ..plain(
                    "dead_neurons",
                    "neurons with no active sample, several neurons only (one dead neuron ends as stationary_not_minimum); undefined after a divergence",
                    "dead neurons",
                    |r| (r.outcome != OutcomeKind::Diverged).then_some(r.dead_neurons? as f64),
                )
            },
            Self::SharedPoints => plain(
                "shared_points",
                "data points in the support of two or more neurons at an active coordinate (0: the neurons share the points out; 0 for one neuron)",
                "shared data points",
                |r| Some(if r.neurons == 1 { 0.0 } else { r.shared_points? as f64 }),
            ),
        }
    }

    /// The metric's word in specs and outputs.
    pub fn name(self) -> &'static str {
        self.definition().name
    }

    /// Its value for a run; `None` where undefined, and for a degenerate run unless the metric
    /// describes how a run ended or started.
    pub fn value(self, record: &Record) -> Option<f64> {
        let definition = self.definition();
        if record.outcome.is_degenerate() && !definition.of_any_run {
            return None;
        }
        (definition.value)(record)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The expected alignment with `w_0` at the end of a run, over the initialisation
/// ([`crate::theory`]), for orthonormal data: full batch exactly; a batch that ends at a single
/// point under the share law. Schedules that need not end at a single point (epoch, cyclic
/// blocks) and data that is not orthonormal have none.
fn expected_alignment(c: &RunConfig, _runs: &[Record]) -> Option<f64> {
    let orthonormal = matches!(c.data, DataSpec::Basis | DataSpec::Orthonormal);
    if !orthonormal || c.neurons > 1 {
        return None;
    }
    if c.batch == c.n {
        return Some(crate::theory::expected_full_batch_alignment(c.activation, c.n, c.d));
    }
    let single_point = match c.schedule {
        Schedule::Random | Schedule::Replacement => true,
        Schedule::Cyclic => c.batch == 1 || !c.n.is_multiple_of(c.batch),
        Schedule::Epoch => false,
    };
    single_point.then(|| crate::theory::expected_share_law_alignment(c.activation, c.n, c.d))
}

/// Whether a run's identified limit point is a global minimum to be measured. For one neuron,
/// and for the linear activation, the identified point is a minimum by construction (the
/// renormalised support, the polar factor). For several ReLU neurons it is the final `U` with its
/// decayed coordinates set to zero, which is a minimum only when the run converged: at the step
/// budget a point may still be shared by two neurons, each active on it.
fn limit_is_a_minimum(r: &Record) -> bool {
    r.neurons == 1 || r.activation != Activation::Relu.name() || r.outcome == OutcomeKind::Converged
}

/// The closed-form trace at the limit point: `(d + 4 - |A|)/n` with `|A|` the active samples at
/// the minimum (see aesgd-core's `hessian` module). ReLU full batch keeps the initially positive
/// coordinates, so there it is the mean of the per-run forms. For `k` neurons the forms of
/// `aesgd_core::neurons::trace_at_minimum`, at full-batch ReLU with each run's kept points.
fn trace_at_limit(c: &RunConfig, runs: &[Record]) -> Option<f64> {
    if c.neurons > 1 {
        // The k-neuron limit is identified on orthonormal data only.
        if !matches!(c.data, DataSpec::Basis | DataSpec::Orthonormal) {
            return None;
        }
        let form = |kept| aesgd_core::neurons::trace_at_minimum(c.activation, c.neurons, c.n, c.d, kept);
        return match (c.activation, c.batch == c.n) {
            (Activation::Linear, _) => Some(form(c.n)),
            (Activation::Relu, false) => Some(form(c.neurons)),
            (Activation::Relu, true) => {
                let forms: Vec<f64> = runs
                    .iter()
                    .filter(|r| limit_is_a_minimum(r))
                    .filter_map(|r| r.limit_support.map(form))
                    .collect();
                (!forms.is_empty()).then(|| forms.iter().sum::<f64>() / forms.len() as f64)
            }
        };
    }
    let (n, d) = (c.n as f64, c.d as f64);
    match (c.activation, c.batch == c.n) {
        (Activation::Linear, _) => Some((d + 4.0 - n) / n),
        (Activation::Relu, false) => Some((d + 3.0) / n),
        (Activation::Relu, true) => {
            let forms: Vec<f64> = runs.iter().map(|r| (d + 4.0 - r.init_positive as f64) / n).collect();
            (!forms.is_empty()).then(|| forms.iter().sum::<f64>() / forms.len() as f64)
        }
    }
}

/// The metric table of the docs, generated from the definitions.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| metric | meaning | along the trajectory | closed form |\n|---|---|---|---|\n");
    // A bar inside a cell would end it.
    let cell = |text: &str| text.replace('|', "\\|");
    for m in Metric::ALL {
        let d = m.definition();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            d.name,
            cell(d.meaning),
            if d.over_steps.is_some() { "yes" } else { "" },
            d.closed_form.map_or(String::new(), |(_, text)| cell(text))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::hand_made;

    #[test]
    fn every_metric_has_one_definition_whose_name_is_its_spec_word() {
        assert_eq!(Metric::ALL.len(), 25);
        let mut names = std::collections::HashSet::new();
        for &m in Metric::ALL {
            let word = serde_json::to_value(m).unwrap();
            assert_eq!(word.as_str(), Some(m.name()), "{m:?}");
            assert!(names.insert(m.name()), "{} twice", m.name());
        }
    }

    #[test]
    fn every_metric_reads_a_hand_made_record() {
        // A ReLU run at n = 4, b = 2 that selected point 2 with support {2}: u = (0, 0, 1, 0).
        let r = hand_made();
        let expect = [
            (Metric::Converged, Some(1.0)),
            (Metric::AtGlobalMinimum, Some(1.0)),
            (Metric::Support, Some(1.0)),
            (Metric::SinglePoint, Some(1.0)),
            (Metric::EffectiveSupport, Some(1.0)),
            (Metric::LinfRatio, Some(1.0)),
            (Metric::AlignInit, Some(0.25)),
            (Metric::AlignGdLimit, Some(0.5)),
            (Metric::LossGap, Some(1e-13)),
            (Metric::StepsRun, Some(5000.0)),
            (Metric::SparseStep, Some(3000.0)),
            (Metric::SelectedRank, Some(2.0)),
            (Metric::HessianTraceLimit, Some(1.75)),
            (Metric::HessianLambdaMaxLimit, Some(1.0)),
            (Metric::LambdaMaxTimesN, Some(4.0)),
            (Metric::HessianTraceIterate, Some(1.5)),
            (Metric::TraceLimitMinusIterate, Some(0.25)),
            (Metric::SupportWithinBlock, Some(1.0)),
            (Metric::InitPositive, Some(3.0)),
            (Metric::OnKPoints, Some(1.0)),
            (Metric::DistinctSelected, Some(1.0)),
            (Metric::OnePointANeuron, Some(1.0)),
            (Metric::Collisions, Some(0.0)),
            (Metric::DeadNeurons, None),
            (Metric::SharedPoints, Some(0.0)),
        ];
        assert_eq!(expect.len(), Metric::ALL.len());
        for (m, want) in expect {
            assert_eq!(m.value(&r), want, "{m}");
        }
    }

    #[test]
    fn several_relu_neurons_are_measured_at_their_limit_only_when_converged() {
        let three = Record {
            neurons: 3,
            support: 3,
            distinct_selected: Some(3),
            collisions: Some(0),
            dead_neurons: Some(0),
            ..hand_made()
        };
        let at_budget = Record { outcome: OutcomeKind::MaxSteps, ..three.clone() };
        for m in [Metric::HessianTraceLimit, Metric::HessianLambdaMaxLimit, Metric::TraceLimitMinusIterate] {
            assert!(m.value(&three).is_some(), "{m}");
            assert_eq!(m.value(&at_budget), None, "{m}");
        }
        // The linear limit (a polar factor) is a minimum whatever the run's end.
        let linear = Record { activation: "linear".into(), ..at_budget.clone() };
        assert_eq!(Metric::HessianTraceLimit.value(&linear), Some(1.75));
        // One point a neuron: k distinct points for ReLU, a mixed group is not; no value for
        // several linear neurons.
        assert_eq!(Metric::OnePointANeuron.value(&three), Some(1.0));
        let group = Record { distinct_selected: Some(0), ..three.clone() };
        assert_eq!(
            (Metric::OnePointANeuron.value(&group), Metric::OnKPoints.value(&group)),
            (Some(0.0), Some(1.0))
        );
        assert_eq!(Metric::OnePointANeuron.value(&linear), None);
    }

    #[test]
    fn degenerate_runs_are_not_at_a_global_minimum() {
        let base = hand_made();
        let at = |r: &Record| Metric::AtGlobalMinimum.value(r);
        assert_eq!(at(&Record { outcome: OutcomeKind::MaxSteps, ..base.clone() }), Some(0.0));
        assert_eq!(at(&Record { loss_gap: Some(2e-12), ..base.clone() }), Some(0.0));
        assert_eq!(at(&Record { loss_gap: None, ..base.clone() }), Some(0.0));
        assert_eq!(at(&Record { limit_support: None, ..base.clone() }), Some(0.0));
        // Undefined metrics stay undefined rather than becoming zero.
        let bare = Record { selected_rank: None, sparse_step: None, hessian_trace_limit: None, ..base };
        assert_eq!(Metric::SelectedRank.value(&bare), None);
        assert_eq!(Metric::SparseStep.value(&bare), None);
        assert_eq!(Metric::TraceLimitMinusIterate.value(&bare), None);
    }

    #[test]
    fn degenerate_runs_have_no_final_metrics_but_say_how_they_ended() {
        for outcome in [OutcomeKind::Diverged, OutcomeKind::StationaryNotMinimum] {
            // A dead neuron still has support one (a negative coordinate): it is not a selection.
            let r = Record { outcome, ..hand_made() };
            for &m in Metric::ALL {
                let expected = match (m, outcome) {
                    (Metric::Converged | Metric::AtGlobalMinimum, _) => Some(0.0),
                    (Metric::StepsRun, _) => Some(5000.0),
                    (Metric::InitPositive, _) => Some(3.0),
                    // How the neurons ended, except after a divergence.
                    (Metric::DistinctSelected, OutcomeKind::StationaryNotMinimum) => Some(1.0),
                    (Metric::Collisions, OutcomeKind::StationaryNotMinimum) => Some(0.0),
                    _ => None,
                };
                assert_eq!(m.value(&r), expected, "{m} of a {outcome} run");
            }
        }
        // A run at the step budget keeps its metrics: it is the iterate after max_steps steps.
        let budget = Record { outcome: OutcomeKind::MaxSteps, ..hand_made() };
        assert_eq!(Metric::SinglePoint.value(&budget), Some(1.0));
    }

    #[test]
    fn support_within_block_needs_one_block() {
        let base = hand_made();
        let within = |indices: Vec<usize>, batch| {
            Metric::SupportWithinBlock.value(&Record { support_indices: indices, batch, ..base.clone() })
        };
        assert_eq!(within(vec![2, 3], 2), Some(1.0));
        assert_eq!(within(vec![1, 2], 2), Some(0.0));
        assert_eq!(within(vec![], 2), Some(0.0));
    }

    #[test]
    fn closed_forms_match_the_hessian_module() {
        let r = hand_made();
        let relu = |batch| RunConfig { n: 4, d: 4, batch, ..RunConfig::default() };
        let trace = Metric::HessianTraceLimit.definition().closed_form.unwrap().0;
        // ReLU b < n: one active sample, (d + 3)/n.
        assert_eq!(trace(&relu(2), &[]), Some(7.0 / 4.0));
        // ReLU full batch: three initially positive coordinates in the hand-made run.
        assert_eq!(trace(&relu(4), &[r.clone(), r]), Some(5.0 / 4.0));
        assert_eq!(trace(&relu(4), &[]), None);
        let linear = RunConfig { activation: Activation::Linear, ..relu(2) };
        assert_eq!(trace(&linear, &[]), Some(4.0 / 4.0));
        let lambda = Metric::HessianLambdaMaxLimit.definition().closed_form.unwrap().0;
        assert_eq!(lambda(&relu(2), &[]), Some(1.0));
    }

    /// The README's metric table is this registry's; `AESGD_UPDATE_DOCS=1` rewrites it.
    #[test]
    fn the_readme_metric_table_is_generated_from_the_registry() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../repro/README.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let (begin, end) = ("<!-- metrics:begin -->\n", "<!-- metrics:end -->");
        let start = text.find(begin).expect("begin marker") + begin.len();
        let stop = text.find(end).expect("end marker");
        let table = markdown_table();
        if std::env::var_os("AESGD_UPDATE_DOCS").is_some() {
            let updated = format!("{}{table}{}", &text[..start], &text[stop..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            assert_eq!(&text[start..stop], table, "rerun with AESGD_UPDATE_DOCS=1 to regenerate");
        }
    }
}
