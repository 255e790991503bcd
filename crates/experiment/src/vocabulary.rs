//! The words of a spec, as typed enums: activation, schedule, data, statistic, comparison, pass
//! rule, figure kind, horizontal axis, batch selection.
//!
//! Each enum is the one definition of its word: serde reads it from TOML (an unknown word is an
//! error that lists the allowed ones), and `name` gives the word back for outputs. Enums that
//! name a core type convert into it. This module does not validate combinations; `spec` does.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            /// Every value, in the order of the docs.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word in a spec and in outputs.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad`, not `write_str`: a table's width and alignment apply to the word.
                f.pad(self.name())
            }
        }
    };
}

words! {
    /// The neuron's activation.
    ActivationKind {
        /// `sigma(z) = z`.
        Linear => "linear",
        /// `sigma(z) = max(z, 0)`.
        Relu => "relu",
    }
}

words! {
    /// How batches are drawn.
    ScheduleKind {
        /// A fresh random subset each step.
        Random => "random",
        /// `b` independent draws.
        Replacement => "replacement",
        /// Reshuffle every epoch.
        Epoch => "epoch",
        /// The fixed order.
        Cyclic => "cyclic",
    }
}

words! {
    /// The data set of a sweep.
    DataKind {
        /// The standard basis.
        Basis => "basis",
        /// A random orthonormal set, drawn per run.
        Orthonormal => "orthonormal",
        /// Independent Gaussian vectors, nearly orthogonal when `d >> n`.
        Gaussian => "gaussian",
    }
}

words! {
    /// How a run ended (the words of [`aesgd_core::Outcome::name`]).
    OutcomeKind {
        /// Converged to a global minimum by the stated rule.
        Converged => "converged",
        /// A fixed point of every step that is not a global minimum (`w = 0`, a dead neuron).
        StationaryNotMinimum => "stationary_not_minimum",
        /// The step budget ran out first.
        MaxSteps => "max_steps",
        /// The iterate became non-finite or too large.
        Diverged => "diverged",
    }
}

impl OutcomeKind {
    /// Whether a run that ended this way has no meaningful final metrics: a diverged run, or
    /// one stuck at a stationary point that is not a minimum. Such runs are never counted as
    /// successes or averaged into an estimate.
    pub fn is_degenerate(self) -> bool {
        matches!(self, Self::Diverged | Self::StationaryNotMinimum)
    }
}

impl From<aesgd_core::Outcome> for OutcomeKind {
    fn from(o: aesgd_core::Outcome) -> Self {
        use aesgd_core::Outcome;
        match o {
            Outcome::Converged { .. } => Self::Converged,
            Outcome::StationaryNotMinimum { .. } => Self::StationaryNotMinimum,
            Outcome::MaxSteps => Self::MaxSteps,
            Outcome::Diverged { .. } => Self::Diverged,
        }
    }
}

words! {
    /// What a spec is for.
    Kind {
        /// A claim of the paper: criteria give a verdict.
        Claim => "claim",
        /// A question the paper leaves open: measured and reported.
        Question => "question",
        /// A figure of the paper.
        Figure => "figure",
    }
}

words! {
    /// How a criterion turns runs into a statistic.
    Statistic {
        /// The fraction of runs whose `metric op value` holds (Wilson interval).
        Proportion => "proportion",
        /// The mean of the metric (Student-t interval).
        Mean => "mean",
        /// The mean difference to the same seed at the full-batch baseline (paired t).
        PairedDifference => "paired_difference",
        /// The slope of log(metric) against log(x) over sweep points that differ only in `x`,
        /// fitted by least squares on every run (stratified bootstrap interval).
        LogLogSlope => "log_log_slope",
        /// The exponent alpha of the selection law P(k) = u_k(0)^alpha / sum_j u_j(0)^alpha over
        /// the eligible initial coordinates, by maximum likelihood (profile-likelihood interval).
        SelectionExponent => "selection_exponent",
        /// A log-linear law `ln metric = c_0 + sum_k c_k ln term_k` fitted on the runs of the
        /// criterion's fit sweeps (stratified bootstrap intervals), judged by its prediction of
        /// the mean at the selected points of the other sweeps (held out).
        LogLinearLaw => "log_linear_law",
    }
}

words! {
    /// A term of a log-linear law: the law has `ln` of it as a regressor.
    LawTerm {
        /// The number of data points n.
        N => "n",
        /// The step size eta.
        Eta => "eta",
        /// The batch size b.
        Batch => "b",
        /// The points a batch leaves out, n - b (positive only for b < n).
        LeftOut => "n-b",
    }
}

words! {
    /// The comparison of a proportion's predicate.
    Comparison {
        /// Equal.
        Equal => "==",
        /// Less than.
        Less => "<",
        /// Less than or equal.
        LessOrEqual => "<=",
        /// Greater than.
        Greater => ">",
        /// Greater than or equal.
        GreaterOrEqual => ">=",
    }
}

words! {
    /// When a criterion passes.
    PassKind {
        /// Every run satisfies the predicate.
        All => "all",
        /// The interval lies strictly above the threshold.
        CiAbove => "ci_above",
        /// The interval lies strictly below the threshold.
        CiBelow => "ci_below",
        /// The interval lies inside `within`.
        CiWithin => "ci_within",
        /// The interval contains the metric's closed form at the sweep point.
        CiCoversClosedForm => "ci_covers_closed_form",
        /// The interval contains the value `contains`.
        CiContains => "ci_contains",
        /// A law's predicted mean lies within the relative error `threshold` of the measured
        /// mean at every held-out point.
        PredictionWithin => "prediction_within",
        /// Measured and reported, no verdict.
        Report => "report",
    }
}

words! {
    /// The type of a figure.
    FigureKind {
        /// A trajectory metric over log-spaced steps, one band a sweep point.
        LinesOverSteps => "lines_over_steps",
        /// A final metric against the batch size.
        FinalVsBatch => "final_vs_batch",
        /// A final metric against `x` (batch, n or eta).
        FinalVs => "final_vs",
        /// The rank of the selected point's initial coordinate.
        SelectionByRank => "selection_by_rank",
        /// The selection law's predicted probabilities in bins against the observed frequency.
        SelectionCalibration => "selection_calibration",
        /// Every data coordinate of one run over steps.
        Heatmap => "heatmap",
        /// The final `U = W X` of one run of several neurons at each selected sweep point, side
        /// by side.
        FinalCoordinates => "final_coordinates",
        /// The `n = d = 2` loss landscape with trajectories.
        Landscape => "landscape",
    }
}

words! {
    /// The horizontal axis of a `final_vs` figure.
    XAxis {
        /// The batch size.
        Batch => "batch",
        /// The number of data points.
        N => "n",
        /// The step size (log scale).
        Eta => "eta",
    }
}

words! {
    /// Which batch sizes a criterion or figure looks at.
    BatchSelect {
        /// Full batch, `b = n`.
        Full => "full",
        /// Mini-batches, `b < n`.
        Small => "small",
        /// Every batch size.
        All => "all",
    }
}

impl Comparison {
    /// Whether `x op v` holds.
    pub fn holds(self, x: f64, v: f64) -> bool {
        match self {
            Self::Equal => x == v,
            Self::Less => x < v,
            Self::LessOrEqual => x <= v,
            Self::Greater => x > v,
            Self::GreaterOrEqual => x >= v,
        }
    }
}

impl From<ActivationKind> for aesgd_core::Activation {
    fn from(a: ActivationKind) -> Self {
        match a {
            ActivationKind::Linear => Self::Linear,
            ActivationKind::Relu => Self::Relu,
        }
    }
}

impl From<ScheduleKind> for aesgd_core::Schedule {
    fn from(s: ScheduleKind) -> Self {
        match s {
            ScheduleKind::Random => Self::Random,
            ScheduleKind::Replacement => Self::Replacement,
            ScheduleKind::Epoch => Self::Epoch,
            ScheduleKind::Cyclic => Self::Cyclic,
        }
    }
}

impl From<DataKind> for aesgd_core::DataSpec {
    fn from(d: DataKind) -> Self {
        match d {
            DataKind::Basis => Self::Basis,
            DataKind::Orthonormal => Self::Orthonormal,
            DataKind::Gaussian => Self::Gaussian,
        }
    }
}

impl XAxis {
    /// The value of this variable in a run configuration.
    pub fn value(self, config: &aesgd_core::RunConfig) -> f64 {
        match self {
            Self::N => config.n as f64,
            Self::Eta => config.eta,
            Self::Batch => config.batch as f64,
        }
    }
}

impl LawTerm {
    /// The term's value in a run configuration, if it is positive (a logarithm needs it).
    pub fn value(self, config: &aesgd_core::RunConfig) -> Option<f64> {
        let v = match self {
            Self::N => config.n as f64,
            Self::Eta => config.eta,
            Self::Batch => config.batch as f64,
            Self::LeftOut => config.n as f64 - config.batch as f64,
        };
        (v > 0.0).then_some(v)
    }
}

/// The words of a list, quoted and comma-separated, for error messages.
pub fn allowed<T: fmt::Display>(words: &[T]) -> String {
    words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each word reads back as itself from TOML, so `name` and serde cannot disagree.
    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + for<'de> Deserialize<'de>,
    {
        #[derive(Deserialize)]
        struct One<T> {
            v: T,
        }
        for &w in all {
            let parsed: One<T> = toml::from_str(&format!("v = \"{w}\"")).unwrap();
            assert_eq!(parsed.v, w);
        }
    }

    #[test]
    fn every_word_reads_back_as_itself() {
        round_trips(ActivationKind::ALL);
        round_trips(ScheduleKind::ALL);
        round_trips(DataKind::ALL);
        round_trips(Kind::ALL);
        round_trips(OutcomeKind::ALL);
        round_trips(Statistic::ALL);
        round_trips(Comparison::ALL);
        round_trips(PassKind::ALL);
        round_trips(FigureKind::ALL);
        round_trips(XAxis::ALL);
        round_trips(BatchSelect::ALL);
        round_trips(LawTerm::ALL);
    }

    #[test]
    fn comparisons_hold_exactly_at_their_boundaries() {
        use Comparison::*;
        let at = |c: Comparison| (c.holds(1.0, 1.0), c.holds(0.5, 1.0), c.holds(2.0, 1.0));
        assert_eq!(at(Equal), (true, false, false));
        assert_eq!(at(Less), (false, true, false));
        assert_eq!(at(LessOrEqual), (true, true, false));
        assert_eq!(at(Greater), (false, false, true));
        assert_eq!(at(GreaterOrEqual), (true, false, true));
        // NaN satisfies no comparison.
        assert!(Comparison::ALL.iter().all(|c| !c.holds(f64::NAN, 1.0)));
    }

    #[test]
    fn core_names_agree() {
        for &a in ActivationKind::ALL {
            assert_eq!(aesgd_core::Activation::from(a).name(), a.name());
        }
        for &s in ScheduleKind::ALL {
            assert_eq!(aesgd_core::Schedule::from(s).name(), s.name());
        }
        for &d in DataKind::ALL {
            assert_eq!(aesgd_core::DataSpec::from(d).name(), d.name());
        }
        use aesgd_core::Outcome;
        for o in [
            Outcome::Converged { step: 1 },
            Outcome::StationaryNotMinimum { step: 1 },
            Outcome::MaxSteps,
            Outcome::Diverged { step: 1 },
        ] {
            assert_eq!(OutcomeKind::from(o).name(), o.name());
        }
    }
}
