//! Experiment specs: one TOML file for each claim, figure and open question.
//!
//! A spec names one sweep (`[sweep]`) or several (`[[sweep]]`, a grid made of slices): every
//! combination of a sweep's lists is one sweep point, run for `seeds` seeds. Optional `[quick]`
//! overrides apply to every sweep for quick runs; criteria are judged at every selected sweep
//! point of every sweep, and figures draw them. The file is read into raw serde structs and then checked once into the
//! validated [`Spec`], whose criteria and figures carry exactly the parameters their kind needs,
//! so nothing downstream meets an invalid combination. Every error names the file, the key (as
//! a path such as `sweep.batch[2]`), the value and what is allowed. This module parses and
//! validates; [`crate::plan`] expands sweeps into runs.

use crate::error::ExperimentError;
use crate::metric::Metric;
use crate::sweep::{BatchSize, Dimension};
use crate::vocabulary::{
    ActivationKind, BatchSelect, Comparison, DataKind, FigureKind, Kind, LawTerm, PassKind, ScheduleKind,
    Statistic, XAxis, allowed,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::path::{Path, PathBuf};

/// The longest stretch of a spec's text an error message quotes.
const QUOTE_LIMIT: usize = 80;

/// The sweep: every combination of the lists is one sweep point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Activations.
    pub activation: Vec<ActivationKind>,
    /// Numbers of data points.
    pub n: Vec<usize>,
    /// Dimensions (default `["n"]`).
    #[serde(default)]
    pub d: Option<Vec<Dimension>>,
    /// Batch sizes.
    pub batch: Vec<BatchSize>,
    /// Step sizes.
    pub eta: Vec<f64>,
    /// Schedules (default `["random"]`).
    #[serde(default)]
    pub schedule: Option<Vec<ScheduleKind>>,
    /// The data set (default basis).
    #[serde(default)]
    pub data: Option<DataKind>,
    /// Initialisation scale (default 0.5).
    #[serde(default)]
    pub init_scale: Option<f64>,
    /// Seeds a sweep point.
    pub seeds: u64,
    /// The experiment seed (default 0); run `k` uses its stream `k`.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Step budget.
    pub max_steps: u64,
    /// The step budget of the full-batch points (`b = n`) when it differs from `max_steps`
    /// (default: `max_steps`). `quick.max_steps` overrides both.
    #[serde(default)]
    pub max_steps_full_batch: Option<u64>,
    /// Convergence tolerance (default 1e-10).
    #[serde(default)]
    pub grad_tol: Option<f64>,
    /// Check interval (default 1000).
    #[serde(default)]
    pub check_every: Option<u64>,
    /// Record every data coordinate along the trajectory (for heatmaps and landscapes; one
    /// neuron only).
    #[serde(default)]
    pub record_coordinates: bool,
    /// Numbers of tied neurons `k`, each in `1..=n` (default `[1]`, the paper's model).
    #[serde(default)]
    pub neurons: Option<Vec<usize>>,
}

/// Quick-run overrides: any of these replace the sweep's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quick {
    /// Numbers of data points.
    pub n: Option<Vec<usize>>,
    /// Dimensions.
    pub d: Option<Vec<Dimension>>,
    /// Batch sizes.
    pub batch: Option<Vec<BatchSize>>,
    /// Step sizes.
    pub eta: Option<Vec<f64>>,
    /// Seeds a sweep point.
    pub seeds: Option<u64>,
    /// Step budget.
    pub max_steps: Option<u64>,
}

/// Which sweep points a criterion or figure looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// Full batch, mini-batches or all (default).
    pub batch: Option<BatchSelect>,
    /// Only this activation.
    pub activation: Option<ActivationKind>,
    /// Only batch sizes that divide n (true) or that do not (false).
    pub batch_divides_n: Option<bool>,
    /// Only this schedule.
    pub schedule: Option<ScheduleKind>,
    /// Only this dimension.
    pub d: Option<usize>,
    /// Only this number of neurons.
    pub neurons: Option<usize>,
}

impl Select {
    /// Whether a run configuration is selected.
    pub fn selects(&self, config: &aesgd_core::RunConfig) -> bool {
        let batch_ok = match self.batch {
            Some(BatchSelect::Full) => config.batch == config.n,
            Some(BatchSelect::Small) => config.batch < config.n,
            Some(BatchSelect::All) | None => true,
        };
        let activation_ok =
            self.activation.is_none_or(|a| aesgd_core::Activation::from(a) == config.activation);
        let divides_ok =
            self.batch_divides_n.is_none_or(|want| config.n.is_multiple_of(config.batch) == want);
        let schedule_ok = self.schedule.is_none_or(|s| aesgd_core::Schedule::from(s) == config.schedule);
        let d_ok = self.d.is_none_or(|d| d == config.d);
        let neurons_ok = self.neurons.is_none_or(|k| k == config.neurons);
        batch_ok && activation_ok && divides_ok && schedule_ok && d_ok && neurons_ok
    }
}

/// The statistic of a criterion, with the parameters it needs.
#[derive(Debug, Clone, PartialEq)]
pub enum StatisticRule {
    /// The fraction of runs whose `metric comparison value` holds.
    Proportion {
        /// The comparison.
        comparison: Comparison,
        /// The value compared with (finite).
        value: f64,
    },
    /// The mean of the metric.
    Mean,
    /// The mean of the metric minus the same seed's value at the full-batch sweep point that
    /// shares every other configuration field.
    PairedDifference {
        /// Whether only the pairs whose two runs both converged are compared (spec key
        /// `pairs = "converged"`). The others are left out and counted beside the estimate, so
        /// the answer is stated as the conditional one it is; otherwise every run must pair.
        converged_only: bool,
    },
    /// The slope of `ln metric` against `ln x` across the selected sweep points that share
    /// every other field, fitted on every run.
    LogLogSlope {
        /// The variable across points (`n` or `eta`; with `d = "n"` the dimension follows `n`).
        x: XAxis,
    },
    /// The maximum-likelihood exponent of the selection law at the sweep point (the metric is
    /// the selected point's rank, which every run must have).
    SelectionExponent,
    /// A log-linear law fitted across sweep points (see [`crate::law`]).
    LogLinearLaw {
        /// The regressors' terms, each used as `ln term` (distinct, at least one).
        terms: Vec<LawTerm>,
        /// The sweeps whose selected points train the law (distinct, in range); the selected
        /// points of no such sweep are held out.
        fit_sweeps: Vec<usize>,
    },
}

impl StatisticRule {
    /// The statistic's word.
    pub fn kind(&self) -> Statistic {
        match self {
            Self::Proportion { .. } => Statistic::Proportion,
            Self::Mean => Statistic::Mean,
            Self::PairedDifference { .. } => Statistic::PairedDifference,
            Self::LogLogSlope { .. } => Statistic::LogLogSlope,
            Self::SelectionExponent => Statistic::SelectionExponent,
            Self::LogLinearLaw { .. } => Statistic::LogLinearLaw,
        }
    }
}

/// When a criterion passes, with the parameters it needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PassRule {
    /// Every run satisfies the predicate (proportions only).
    All,
    /// The interval's lower end lies strictly above this.
    CiAbove(f64),
    /// The interval's upper end lies strictly below this.
    CiBelow(f64),
    /// The interval lies inside `[low, high]`.
    CiWithin(f64, f64),
    /// The interval contains the metric's closed form at the sweep point.
    CiCoversClosedForm,
    /// The interval contains this value.
    CiContains(f64),
    /// A law's predicted mean is within this relative error of the measured mean, at every
    /// held-out point (log-linear laws only).
    PredictionWithin(f64),
    /// Measured and reported only.
    Report,
}

/// A validated criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// What it checks, in words.
    pub name: String,
    /// Which sweep points.
    pub select: Select,
    /// The run metric.
    pub metric: Metric,
    /// The statistic.
    pub statistic: StatisticRule,
    /// The pass rule.
    pub pass: PassRule,
    /// `--check` tolerance on the estimate (0: only the verdict is compared).
    pub tolerance: f64,
}

/// A validated figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File name without `.svg`: letters, digits, `-` and `_` only.
    pub id: String,
    /// The type.
    pub kind: FigureKind,
    /// Title.
    pub title: String,
    /// The metric drawn (default `support`).
    pub metric: Metric,
    /// The horizontal axis (`batch` unless the type is `final_vs`).
    pub x: XAxis,
    /// Which sweep points.
    pub select: Select,
    /// The run index drawn by single-run figures (default 0).
    pub run: u64,
    /// The index of the sweep it draws (default 0, the first): a grid of several sweeps is
    /// judged as a whole, while a figure shows one slice of it.
    pub sweep: usize,
}

/// A validated spec file.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file it was read from.
    pub file: PathBuf,
    /// Unique id, also the file stem.
    pub id: String,
    /// Claim, question or figure.
    pub kind: Kind,
    /// Short title.
    pub title: String,
    /// The paper's statement (claims) or the question.
    pub statement: String,
    /// Anything a reader should know about the convention or the result.
    pub notes: String,
    /// The sweeps (at least one), expanded in order; a sweep point that an earlier sweep
    /// already has is not repeated.
    pub sweeps: Vec<Sweep>,
    /// Overrides for quick runs.
    pub quick: Quick,
    /// Criteria.
    pub criteria: Vec<Criterion>,
    /// Figures.
    pub figures: Vec<Figure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    id: String,
    kind: Kind,
    title: String,
    statement: String,
    #[serde(default)]
    notes: String,
    sweep: Sweeps,
    #[serde(default)]
    quick: Quick,
    #[serde(default, rename = "criterion")]
    criteria: Vec<CriterionFile>,
    #[serde(default, rename = "figure")]
    figures: Vec<FigureFile>,
}

/// `[sweep]` (one table) or `[[sweep]]` (an array of tables), read as a list.
struct Sweeps(Vec<Sweep>);

impl<'de> Deserialize<'de> for Sweeps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SweepsVisitor;
        impl<'de> Visitor<'de> for SweepsVisitor {
            type Value = Sweeps;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [sweep] table or [[sweep]] tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Sweeps, A::Error> {
                Sweep::deserialize(de::value::MapAccessDeserializer::new(map)).map(|s| Sweeps(vec![s]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Sweeps, A::Error> {
                let sweeps = Vec::<Sweep>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                if sweeps.is_empty() {
                    return Err(de::Error::invalid_length(0, &"at least one sweep"));
                }
                Ok(Sweeps(sweeps))
            }
        }
        deserializer.deserialize_any(SweepsVisitor)
    }
}

/// The key of `field` of sweep `index` in errors: `sweep.field` when the spec has one sweep,
/// `sweep[index].field` when it has several.
pub(crate) fn sweep_key(sweeps: usize, index: usize, field: &str) -> String {
    if sweeps == 1 { format!("sweep.{field}") } else { format!("sweep[{index}].{field}") }
}

/// Which seed pairs a paired difference compares (default: all, each run must pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Pairs {
    /// Only pairs whose two runs converged.
    #[serde(rename = "converged")]
    Converged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Baseline {
    #[serde(rename = "full")]
    Full,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CriterionFile {
    name: String,
    #[serde(default)]
    select: Select,
    statistic: Statistic,
    metric: Metric,
    op: Option<Comparison>,
    value: Option<f64>,
    pass: PassKind,
    threshold: Option<f64>,
    within: Option<[f64; 2]>,
    baseline: Option<Baseline>,
    pairs: Option<Pairs>,
    x: Option<XAxis>,
    contains: Option<f64>,
    terms: Option<Vec<LawTerm>>,
    fit_sweeps: Option<Vec<usize>>,
    #[serde(default)]
    tolerance: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FigureFile {
    id: String,
    #[serde(rename = "type")]
    kind: FigureKind,
    title: String,
    metric: Option<Metric>,
    x: Option<XAxis>,
    #[serde(default)]
    select: Select,
    run: Option<u64>,
    sweep: Option<usize>,
}

/// `text` cut to [`QUOTE_LIMIT`] characters, so an error on a huge line stays readable.
fn quoted(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTE_LIMIT).collect();
    if text.chars().nth(QUOTE_LIMIT).is_some() {
        out.push_str("...");
    }
    out
}

/// Line and column (1-based) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A TOML or format error as `line L, column C: key: message`, quoting at most a short stretch.
fn parse_error(file: &Path, text: &str, path: &str, error: &toml::de::Error) -> ExperimentError {
    let at = error.span().map(|s| position(text, s.start));
    let message = quoted(error.message().trim());
    let mut out = String::new();
    if let Some((line, column)) = at {
        out.push_str(&format!("line {line}, column {column}: "));
    }
    if !path.is_empty() && path != "." {
        out.push_str(&format!("{path}: "));
    }
    out.push_str(&message);
    ExperimentError::Parse { file: file.to_path_buf(), message: out }
}

/// Whether a figure id is a plain file stem (no path, no dots), so it cannot write outside the
/// figures folder.
fn is_plain_stem(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses and validates a spec file's text; `file` names it in errors and its stem must equal
/// the spec's id.
pub fn parse(file: &Path, text: &str) -> Result<Spec, ExperimentError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| parse_error(file, text, "", &e))?;
    let raw: SpecFile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        parse_error(file, text, &path, &e.into_inner())
    })?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if raw.id != stem {
        return Err(ExperimentError::spec(
            file,
            "id",
            quoted(&raw.id),
            format!("must equal the file name {stem:?}"),
        ));
    }
    let sweep_count = raw.sweep.0.len();
    let criteria =
        raw.criteria.into_iter().map(|c| criterion(file, sweep_count, c)).collect::<Result<Vec<_>, _>>()?;
    let figures = raw
        .figures
        .into_iter()
        .map(|f| figure(file, &raw.sweep.0, &raw.quick, f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids = std::collections::HashSet::new();
    for f in &figures {
        if !ids.insert(f.id.as_str()) {
            return Err(ExperimentError::spec(
                file,
                format!("figure \"{}\".id", f.id),
                &f.id,
                "figure ids must be unique",
            ));
        }
    }
    let spec = Spec {
        file: file.to_path_buf(),
        id: raw.id,
        kind: raw.kind,
        title: raw.title,
        statement: raw.statement,
        notes: raw.notes,
        sweeps: raw.sweep.0,
        quick: raw.quick,
        criteria,
        figures,
    };
    // Expanding validates every sweep value through the core's own checks, full and quick.
    for quick in [false, true] {
        let points = crate::plan::points(&spec, quick)?;
        for c in &spec.criteria {
            crate::law::check_terms(&spec.file, c, &points, quick)?;
        }
    }
    Ok(spec)
}

/// Checks a law's terms (distinct, at least one) and fit sweeps (distinct, in range, at least one).
fn law_parameters(
    file: &Path,
    key: &dyn Fn(&str) -> String,
    sweep_count: usize,
    terms: &[LawTerm],
    fit_sweeps: &[usize],
) -> Result<(), ExperimentError> {
    if terms.is_empty() {
        return Err(ExperimentError::spec(
            file,
            key("terms"),
            "[]",
            format!("at least one of {}", allowed(LawTerm::ALL)),
        ));
    }
    for (i, t) in terms.iter().enumerate() {
        if terms[..i].contains(t) {
            return Err(ExperimentError::spec(file, key(&format!("terms[{i}]")), t, "each term once"));
        }
    }
    if fit_sweeps.is_empty() {
        return Err(ExperimentError::spec(file, key("fit_sweeps"), "[]", "at least one sweep index"));
    }
    for (i, &s) in fit_sweeps.iter().enumerate() {
        if s >= sweep_count {
            return Err(ExperimentError::spec(
                file,
                key(&format!("fit_sweeps[{i}]")),
                s,
                format!("a sweep index below {sweep_count}, the number of sweeps"),
            ));
        }
        if fit_sweeps[..i].contains(&s) {
            return Err(ExperimentError::spec(file, key(&format!("fit_sweeps[{i}]")), s, "each sweep once"));
        }
    }
    Ok(())
}

fn criterion(file: &Path, sweep_count: usize, c: CriterionFile) -> Result<Criterion, ExperimentError> {
    let key = |k: &str| format!("criterion \"{}\".{k}", quoted(&c.name));
    let needs = |k: &str, what: &str, by: &str| {
        ExperimentError::spec(file, key(k), "(missing)", format!("{what} (needed by {by})"))
    };
    let statistic = match c.statistic {
        Statistic::Proportion => {
            let comparison = c
                .op
                .ok_or_else(|| needs("op", &format!("one of {}", allowed(Comparison::ALL)), "proportion"))?;
            let value = c.value.ok_or_else(|| needs("value", "a finite number", "proportion"))?;
            if !value.is_finite() {
                return Err(ExperimentError::spec(file, key("value"), value, "a finite number"));
            }
            StatisticRule::Proportion { comparison, value }
        }
        Statistic::Mean => StatisticRule::Mean,
        Statistic::PairedDifference => {
            c.baseline.ok_or_else(|| needs("baseline", "\"full\"", "paired_difference"))?;
            StatisticRule::PairedDifference { converged_only: c.pairs == Some(Pairs::Converged) }
        }
        Statistic::LogLogSlope => {
            let x = c.x.ok_or_else(|| needs("x", "\"n\" or \"eta\"", "log_log_slope"))?;
            if x == XAxis::Batch {
                return Err(ExperimentError::spec(file, key("x"), x, "\"n\" or \"eta\""));
            }
            StatisticRule::LogLogSlope { x }
        }
        Statistic::SelectionExponent => {
            if c.metric != Metric::SelectedRank {
                return Err(ExperimentError::spec(
                    file,
                    key("metric"),
                    c.metric,
                    "\"selected_rank\" (the selection law needs runs that selected a point)",
                ));
            }
            StatisticRule::SelectionExponent
        }
        Statistic::LogLinearLaw => {
            let terms = c.terms.clone().ok_or_else(|| {
                needs("terms", &format!("a list of {}", allowed(LawTerm::ALL)), "log_linear_law")
            })?;
            let fit_sweeps = c.fit_sweeps.clone().ok_or_else(|| {
                needs("fit_sweeps", "a list of sweep indices (0 is the first sweep)", "log_linear_law")
            })?;
            law_parameters(file, &key, sweep_count, &terms, &fit_sweeps)?;
            StatisticRule::LogLinearLaw { terms, fit_sweeps }
        }
    };
    let law_only = [("terms", c.terms.is_some()), ("fit_sweeps", c.fit_sweeps.is_some())];
    if c.statistic != Statistic::LogLinearLaw
        && let Some((name, _)) = law_only.iter().find(|(_, given)| *given)
    {
        return Err(ExperimentError::spec(
            file,
            key(name),
            "[..]",
            "only for statistic = \"log_linear_law\"",
        ));
    }
    let is_law = c.statistic == Statistic::LogLinearLaw;
    if is_law && !matches!(c.pass, PassKind::PredictionWithin | PassKind::Report) {
        return Err(ExperimentError::spec(
            file,
            key("pass"),
            c.pass,
            "\"prediction_within\" or \"report\" (a law is judged by its held-out predictions)",
        ));
    }
    if c.statistic != Statistic::LogLogSlope
        && let Some(x) = c.x
    {
        return Err(ExperimentError::spec(file, key("x"), x, "only for statistic = \"log_log_slope\""));
    }
    if c.statistic != Statistic::Proportion {
        if let Some(op) = c.op {
            return Err(ExperimentError::spec(file, key("op"), op, "only for statistic = \"proportion\""));
        }
        if let Some(v) = c.value {
            return Err(ExperimentError::spec(file, key("value"), v, "only for statistic = \"proportion\""));
        }
    }
    if c.statistic != Statistic::PairedDifference {
        let given = [("pairs", c.pairs.map(|_| "converged")), ("baseline", c.baseline.map(|_| "full"))];
        if let Some((name, Some(value))) = given.into_iter().find(|(_, v)| v.is_some()) {
            return Err(ExperimentError::spec(
                file,
                key(name),
                value,
                "only for statistic = \"paired_difference\"",
            ));
        }
    }
    let finite = |k: &str, x: Option<f64>, by: &str| -> Result<f64, ExperimentError> {
        let x = x.ok_or_else(|| needs(k, "a finite number", by))?;
        if x.is_finite() { Ok(x) } else { Err(ExperimentError::spec(file, key(k), x, "a finite number")) }
    };
    let pass = match c.pass {
        PassKind::All => {
            if c.statistic != Statistic::Proportion {
                return Err(ExperimentError::spec(
                    file,
                    key("pass"),
                    "all",
                    "only for statistic = \"proportion\"",
                ));
            }
            PassRule::All
        }
        PassKind::CiAbove => PassRule::CiAbove(finite("threshold", c.threshold, "ci_above")?),
        PassKind::CiBelow => PassRule::CiBelow(finite("threshold", c.threshold, "ci_below")?),
        PassKind::CiWithin => {
            let [low, high] = c.within.ok_or_else(|| needs("within", "[low, high]", "ci_within"))?;
            if !(low.is_finite() && high.is_finite() && low <= high) {
                return Err(ExperimentError::spec(
                    file,
                    key("within"),
                    format!("[{low}, {high}]"),
                    "[low, high] with finite low <= high",
                ));
            }
            PassRule::CiWithin(low, high)
        }
        PassKind::CiCoversClosedForm => {
            if c.statistic != Statistic::Mean {
                return Err(ExperimentError::spec(
                    file,
                    key("pass"),
                    "ci_covers_closed_form",
                    "only for statistic = \"mean\"",
                ));
            }
            if c.metric.definition().closed_form.is_none() {
                let with: Vec<Metric> =
                    Metric::ALL.iter().copied().filter(|m| m.definition().closed_form.is_some()).collect();
                return Err(ExperimentError::spec(
                    file,
                    key("metric"),
                    c.metric,
                    format!(
                        "one of {} (pass = \"ci_covers_closed_form\" needs a closed form)",
                        allowed(&with)
                    ),
                ));
            }
            PassRule::CiCoversClosedForm
        }
        PassKind::CiContains => PassRule::CiContains(finite("contains", c.contains, "ci_contains")?),
        PassKind::PredictionWithin => {
            if !is_law {
                return Err(ExperimentError::spec(
                    file,
                    key("pass"),
                    "prediction_within",
                    "only for statistic = \"log_linear_law\"",
                ));
            }
            let t = finite("threshold", c.threshold, "prediction_within")?;
            if t <= 0.0 {
                return Err(ExperimentError::spec(
                    file,
                    key("threshold"),
                    t,
                    "a relative error above 0 (0.15 allows 15%)",
                ));
            }
            PassRule::PredictionWithin(t)
        }
        PassKind::Report => PassRule::Report,
    };
    if c.pass != PassKind::CiContains
        && let Some(v) = c.contains
    {
        return Err(ExperimentError::spec(file, key("contains"), v, "only for pass = \"ci_contains\""));
    }
    if !matches!(c.pass, PassKind::CiAbove | PassKind::CiBelow | PassKind::PredictionWithin)
        && let Some(t) = c.threshold
    {
        return Err(ExperimentError::spec(
            file,
            key("threshold"),
            t,
            "only for pass = \"ci_above\", \"ci_below\" or \"prediction_within\"",
        ));
    }
    if c.pass != PassKind::CiWithin && c.within.is_some() {
        return Err(ExperimentError::spec(file, key("within"), "[..]", "only for pass = \"ci_within\""));
    }
    if !(c.tolerance.is_finite() && c.tolerance >= 0.0) {
        return Err(ExperimentError::spec(file, key("tolerance"), c.tolerance, "a finite number >= 0"));
    }
    Ok(Criterion {
        name: c.name,
        select: c.select,
        metric: c.metric,
        statistic,
        pass,
        tolerance: c.tolerance,
    })
}

fn figure(file: &Path, sweeps: &[Sweep], quick: &Quick, f: FigureFile) -> Result<Figure, ExperimentError> {
    let key = |k: &str| format!("figure \"{}\".{k}", quoted(&f.id));
    if !is_plain_stem(&f.id) {
        return Err(ExperimentError::spec(
            file,
            key("id"),
            quoted(&f.id),
            "letters, digits, '-' and '_' only (it names figures/<id>.svg)",
        ));
    }
    let takes_metric =
        matches!(f.kind, FigureKind::LinesOverSteps | FigureKind::FinalVsBatch | FigureKind::FinalVs);
    if !takes_metric && let Some(m) = f.metric {
        return Err(ExperimentError::spec(
            file,
            key("metric"),
            m,
            format!("not used by type = \"{}\"", f.kind),
        ));
    }
    let metric = f.metric.unwrap_or(Metric::Support);
    if f.kind == FigureKind::LinesOverSteps && metric.definition().over_steps.is_none() {
        let over_steps: Vec<Metric> =
            Metric::ALL.iter().copied().filter(|m| m.definition().over_steps.is_some()).collect();
        return Err(ExperimentError::spec(
            file,
            key("metric"),
            metric,
            format!("one of {} (recorded along the trajectory)", allowed(&over_steps)),
        ));
    }
    let x = match (f.kind, f.x) {
        (FigureKind::FinalVs, x) => x.unwrap_or(XAxis::Batch),
        (_, None | Some(XAxis::Batch)) => XAxis::Batch,
        (kind, Some(x)) => {
            return Err(ExperimentError::spec(
                file,
                key("x"),
                x,
                format!("only type = \"final_vs\" takes x (this is \"{kind}\")"),
            ));
        }
    };
    let single_run =
        matches!(f.kind, FigureKind::Heatmap | FigureKind::Landscape | FigureKind::FinalCoordinates);
    if !single_run && let Some(r) = f.run {
        return Err(ExperimentError::spec(file, key("run"), r, format!("not used by type = \"{}\"", f.kind)));
    }
    let run = f.run.unwrap_or(0);
    if single_run {
        // The sweep the figure draws; an index out of range is refused below.
        let i = f.sweep.unwrap_or(0).min(sweeps.len() - 1);
        if f.kind != FigureKind::FinalCoordinates && !sweeps[i].record_coordinates {
            return Err(ExperimentError::spec(
                file,
                sweep_key(sweeps.len(), i, "record_coordinates"),
                "false",
                format!("must be true for figure \"{}\" of type \"{}\"", f.id, f.kind),
            ));
        }
        if f.kind == FigureKind::FinalCoordinates {
            // The figure draws the rows of U: it needs a point with several neurons to draw.
            let neurons = sweeps[i].neurons.clone().unwrap_or_else(|| vec![1]);
            let drawn = |k: usize| k > 1 && f.select.neurons.is_none_or(|s| s == k);
            if !neurons.iter().any(|&k| drawn(k)) {
                let (field, value) = match f.select.neurons {
                    Some(s) => (key("select.neurons"), s.to_string()),
                    None => (sweep_key(sweeps.len(), i, "neurons"), format!("{neurons:?}")),
                };
                return Err(ExperimentError::spec(
                    file,
                    field,
                    value,
                    format!(
                        "figure \"{}\" of type \"{}\" draws several neurons: the sweep needs a \
                         number of neurons above 1 that the figure selects",
                        f.id, f.kind
                    ),
                ));
            }
        }
        let seeds = sweeps[i].seeds.min(quick.seeds.unwrap_or(sweeps[i].seeds));
        if run >= seeds {
            return Err(ExperimentError::spec(
                file,
                key("run"),
                run,
                format!("a run index below the number of seeds ({seeds}, quick runs included)"),
            ));
        }
    }
    let sweep = f.sweep.unwrap_or(0);
    if sweep >= sweeps.len() {
        return Err(ExperimentError::spec(
            file,
            key("sweep"),
            sweep,
            format!("the index of one of the spec's {} sweep(s), from 0", sweeps.len()),
        ));
    }
    Ok(Figure { id: f.id, kind: f.kind, title: f.title, metric, x, select: f.select, run, sweep })
}
