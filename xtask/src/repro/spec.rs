//! Experiment specs: one TOML file in `repro/` for each claim, figure and open question.
//!
//! A spec names a sweep (every combination of its lists is one sweep point, run for `seeds`
//! seeds), optional `[quick]` overrides for `--quick`, criteria judged per sweep point, and
//! figures. Unknown keys and out-of-range values are errors that name the file, the key and
//! what is allowed. This module parses and expands; it runs nothing.

use aesgd_core::config::DataSpec;
use aesgd_core::{Activation, RunConfig, Schedule};
use serde::Deserialize;
use std::path::Path;

/// What a spec is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A claim of the paper: criteria give a verdict.
    Claim,
    /// A question the paper leaves open: measured, reported, no verdict needed.
    Question,
    /// A figure of the paper.
    Figure,
}

/// A batch size: a number, or relative to `n` ("n", "n-1", "n/2", "n/4", "n-k", "n/k").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum BatchSize {
    /// An absolute batch size.
    Fixed(usize),
    /// An expression in `n`.
    Relative(String),
}

impl BatchSize {
    fn resolve(&self, n: usize) -> Result<usize, String> {
        let bad = || format!("batch entry {self:?}: use a number or n, n-K, n/K");
        match self {
            Self::Fixed(b) => Ok(*b),
            Self::Relative(text) => {
                let t = text.replace(' ', "");
                if t == "n" {
                    Ok(n)
                } else if let Some(k) = t.strip_prefix("n-") {
                    let k: usize = k.parse().map_err(|_| bad())?;
                    n.checked_sub(k).ok_or_else(bad)
                } else if let Some(k) = t.strip_prefix("n/") {
                    let k: usize = k.parse().map_err(|_| bad())?;
                    n.checked_div(k).map(|b| b.max(1)).ok_or_else(bad)
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// The dimension: a number or "n".
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Dimension {
    /// An absolute dimension.
    Fixed(usize),
    /// "n".
    SameAsN(String),
}

/// The sweep: every combination of the lists is one sweep point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// "linear", "relu".
    pub activation: Vec<String>,
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
    pub schedule: Option<Vec<String>>,
    /// "basis", "orthonormal" or "gaussian" (default "basis").
    #[serde(default)]
    pub data: Option<String>,
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
    /// Convergence tolerance (default 1e-10).
    #[serde(default)]
    pub grad_tol: Option<f64>,
    /// Check interval (default 1000).
    #[serde(default)]
    pub check_every: Option<u64>,
    /// Record every data coordinate along the trajectory (for heatmaps).
    #[serde(default)]
    pub record_coordinates: bool,
}

/// `--quick` overrides: any of these replace the sweep's.
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

/// Which runs a criterion or figure looks at.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// "full" (b = n), "small" (b < n) or "all" (default).
    pub batch: Option<String>,
    /// Only this activation.
    pub activation: Option<String>,
    /// Only batch sizes that divide n (true) or that do not (false).
    pub batch_divides_n: Option<bool>,
}

/// How a criterion turns runs into a statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The fraction of runs whose `metric op value` holds (Wilson interval).
    Proportion,
    /// The mean of `metric` (Student-t interval).
    Mean,
    /// The mean of `metric` minus the same seed's value at the baseline batch (paired t).
    PairedDifference,
}

/// When a criterion passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// Every run satisfies the predicate (proportion 1).
    All,
    /// The interval lies strictly above `threshold`.
    CiAbove,
    /// The interval lies strictly below `threshold`.
    CiBelow,
    /// The interval lies inside `within`.
    CiWithin,
    /// Measured and reported only, no verdict.
    Report,
}

/// One criterion, judged at every selected sweep point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// What it checks, in words.
    pub name: String,
    /// Which runs.
    #[serde(default)]
    pub select: Select,
    /// The statistic.
    pub statistic: Statistic,
    /// The run metric (see `record::metric`).
    pub metric: String,
    /// For proportions: the comparison, one of `==`, `<`, `<=`, `>`, `>=`.
    pub op: Option<String>,
    /// For proportions: the value compared with.
    pub value: Option<f64>,
    /// The pass rule.
    pub pass: Pass,
    /// For `ci_above` and `ci_below`.
    pub threshold: Option<f64>,
    /// For `ci_within`: `[low, high]`.
    pub within: Option<[f64; 2]>,
    /// For paired differences: "full" pairs each run with the same seed at b = n.
    pub baseline: Option<String>,
    /// `--check` tolerance on the estimate against `repro/expected.json` (default 0: only the
    /// verdict is compared).
    #[serde(default)]
    pub tolerance: f64,
}

/// One figure drawn from the spec's runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// File name (without `.svg`).
    pub id: String,
    /// The figure type (see `plots`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Title.
    pub title: String,
    /// The metric drawn, where the type takes one.
    pub metric: Option<String>,
    /// The horizontal parameter, where the type takes one: "batch", "n" or "eta".
    pub x: Option<String>,
    /// Which runs.
    #[serde(default)]
    pub select: Select,
    /// The run index to draw, for single-run figures (default 0).
    pub run: Option<u64>,
}

/// A whole spec file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Unique id, also the file stem.
    pub id: String,
    /// Claim, question or figure.
    pub kind: Kind,
    /// Short title.
    pub title: String,
    /// The paper's statement (claims) or the question.
    pub statement: String,
    /// Anything a reader should know about the convention or the result.
    #[serde(default)]
    pub notes: String,
    /// The sweep.
    pub sweep: Sweep,
    /// Overrides for `--quick`.
    #[serde(default)]
    pub quick: Quick,
    /// Criteria.
    #[serde(default, rename = "criterion")]
    pub criteria: Vec<Criterion>,
    /// Figures.
    #[serde(default, rename = "figure")]
    pub figures: Vec<FigureSpec>,
}

/// One sweep point: a configuration, run for `seeds` seeds.
#[derive(Debug, Clone)]
pub struct Point {
    /// The configuration.
    pub config: RunConfig,
    /// The experiment seed.
    pub seed: u64,
    /// The number of runs (streams `0..seeds`).
    pub seeds: u64,
    /// The batch size as the spec wrote it ("1", "n/2", ...), to group series across `n`.
    pub batch_label: String,
}

fn err(file: &Path, key: &str, value: impl std::fmt::Display, allowed: &str) -> String {
    format!("{}: invalid {key} = {value}: {allowed}", file.display())
}

/// Parses and validates a spec file's text.
pub fn parse(file: &Path, text: &str) -> Result<Spec, String> {
    let spec: Spec = toml::from_str(text).map_err(|e| format!("{}: {e}", file.display()))?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if spec.id != stem {
        return Err(err(file, "id", &spec.id, &format!("must equal the file name {stem:?}")));
    }
    for c in &spec.criteria {
        let key = |k: &str| format!("criterion \"{}\".{k}", c.name);
        if super::record::metric_names().iter().all(|m| *m != c.metric) {
            return Err(err(
                file,
                &key("metric"),
                &c.metric,
                &format!("one of {}", super::record::metric_names().join(", ")),
            ));
        }
        if c.statistic == Statistic::Proportion {
            match c.op.as_deref() {
                Some("==" | "<" | "<=" | ">" | ">=") => {}
                other => {
                    return Err(err(
                        file,
                        &key("op"),
                        format!("{other:?}"),
                        "one of ==, <, <=, >, >= (needed by proportion)",
                    ));
                }
            }
            if !c.value.is_some_and(f64::is_finite) {
                return Err(err(
                    file,
                    &key("value"),
                    format!("{:?}", c.value),
                    "a finite number (needed by proportion)",
                ));
            }
        }
        if c.statistic == Statistic::PairedDifference && c.baseline.as_deref() != Some("full") {
            return Err(err(
                file,
                &key("baseline"),
                format!("{:?}", c.baseline),
                "\"full\" (needed by paired_difference)",
            ));
        }
        match c.pass {
            Pass::CiAbove | Pass::CiBelow if !c.threshold.is_some_and(f64::is_finite) => {
                return Err(err(
                    file,
                    &key("threshold"),
                    format!("{:?}", c.threshold),
                    "a finite number (needed by ci_above/ci_below)",
                ));
            }
            Pass::CiWithin if c.within.is_none_or(|[lo, hi]| lo.is_nan() || hi.is_nan() || lo > hi) => {
                return Err(err(
                    file,
                    &key("within"),
                    format!("{:?}", c.within),
                    "[low, high] with low <= high",
                ));
            }
            Pass::All if c.statistic != Statistic::Proportion => {
                return Err(err(file, &key("pass"), "all", "only for statistic = proportion"));
            }
            _ => {}
        }
        check_select(file, &key("select"), &c.select)?;
    }
    for f in &spec.figures {
        if super::plots::FIGURE_TYPES.iter().all(|t| *t != f.kind) {
            return Err(err(
                file,
                &format!("figure \"{}\".type", f.id),
                &f.kind,
                &format!("one of {}", super::plots::FIGURE_TYPES.join(", ")),
            ));
        }
        check_select(file, &format!("figure \"{}\".select", f.id), &f.select)?;
    }
    // Expanding validates every sweep value through the core's own checks.
    expand(file, &spec, false)?;
    expand(file, &spec, true)?;
    Ok(spec)
}

fn check_select(file: &Path, key: &str, select: &Select) -> Result<(), String> {
    if let Some(b) = &select.batch
        && !matches!(b.as_str(), "full" | "small" | "all")
    {
        return Err(err(file, &format!("{key}.batch"), b, "\"full\", \"small\" or \"all\""));
    }
    if let Some(a) = &select.activation {
        activation(file, a)?;
    }
    Ok(())
}

fn activation(file: &Path, name: &str) -> Result<Activation, String> {
    match name {
        "linear" => Ok(Activation::Linear),
        "relu" => Ok(Activation::Relu),
        other => Err(err(file, "sweep.activation", other, "\"linear\" or \"relu\"")),
    }
}

fn schedule(file: &Path, name: &str) -> Result<Schedule, String> {
    match name {
        "random" => Ok(Schedule::Random),
        "replacement" => Ok(Schedule::Replacement),
        "epoch" => Ok(Schedule::Epoch),
        "cyclic" => Ok(Schedule::Cyclic),
        other => {
            Err(err(file, "sweep.schedule", other, "\"random\", \"replacement\", \"epoch\" or \"cyclic\""))
        }
    }
}

/// Every sweep point of a spec, in a fixed order (activation, n, d, batch, eta, schedule).
pub fn expand(file: &Path, spec: &Spec, quick: bool) -> Result<Vec<Point>, String> {
    let s = &spec.sweep;
    let q = &spec.quick;
    let ns = if quick { q.n.clone().unwrap_or_else(|| s.n.clone()) } else { s.n.clone() };
    let ds = if quick { q.d.clone().or_else(|| s.d.clone()) } else { s.d.clone() };
    let batches = if quick { q.batch.clone().unwrap_or_else(|| s.batch.clone()) } else { s.batch.clone() };
    let etas = if quick { q.eta.clone().unwrap_or_else(|| s.eta.clone()) } else { s.eta.clone() };
    let seeds = if quick { q.seeds.unwrap_or(s.seeds) } else { s.seeds };
    let max_steps = if quick { q.max_steps.unwrap_or(s.max_steps) } else { s.max_steps };
    let schedules = s.schedule.clone().unwrap_or_else(|| vec!["random".into()]);
    let data = match s.data.as_deref().unwrap_or("basis") {
        "basis" => DataSpec::Basis,
        "orthonormal" => DataSpec::Orthonormal,
        "gaussian" => DataSpec::Gaussian,
        other => return Err(err(file, "sweep.data", other, "\"basis\", \"orthonormal\" or \"gaussian\"")),
    };
    if seeds == 0 {
        return Err(err(file, "sweep.seeds", 0, "at least 1"));
    }
    for (key, list_empty) in [
        ("sweep.activation", s.activation.is_empty()),
        ("sweep.n", ns.is_empty()),
        ("sweep.batch", batches.is_empty()),
        ("sweep.eta", etas.is_empty()),
    ] {
        if list_empty {
            return Err(err(file, key, "[]", "a non-empty list"));
        }
    }
    let mut points = Vec::new();
    for a in &s.activation {
        let activation = activation(file, a)?;
        for &n in &ns {
            let dims: Vec<usize> = match &ds {
                None => vec![n],
                Some(list) => list
                    .iter()
                    .map(|d| match d {
                        Dimension::Fixed(d) => Ok(*d),
                        Dimension::SameAsN(t) if t == "n" => Ok(n),
                        Dimension::SameAsN(t) => Err(err(file, "sweep.d", t, "a number or \"n\"")),
                    })
                    .collect::<Result<_, _>>()?,
            };
            for &d in &dims {
                for b in &batches {
                    let batch = b.resolve(n).map_err(|e| {
                        err(file, "sweep.batch", &e, "see the spec format in repro/README.md")
                    })?;
                    for &eta in &etas {
                        for sch in &schedules {
                            let config = RunConfig {
                                activation,
                                n,
                                d,
                                data: data.clone(),
                                init_scale: s.init_scale.unwrap_or(0.5),
                                batch,
                                eta,
                                schedule: schedule(file, sch)?,
                                max_steps,
                                grad_tol: s.grad_tol.unwrap_or(1e-10),
                                check_every: s.check_every.unwrap_or(1000),
                                record_coordinates: s.record_coordinates,
                                ..RunConfig::default()
                            };
                            config.validate().map_err(|e| {
                                err(file, &format!("sweep.{}", e.field), &e.value, &e.allowed)
                            })?;
                            let batch_label = match b {
                                BatchSize::Fixed(v) => v.to_string(),
                                BatchSize::Relative(t) => t.replace(' ', ""),
                            };
                            points.push(Point { config, seed: s.seed.unwrap_or(0), seeds, batch_label });
                        }
                    }
                }
            }
        }
    }
    Ok(points)
}

/// Whether a run's configuration is selected.
pub fn selected(select: &Select, config: &RunConfig) -> bool {
    let batch_ok = match select.batch.as_deref() {
        Some("full") => config.batch == config.n,
        Some("small") => config.batch < config.n,
        _ => true,
    };
    let activation_ok = select.activation.as_deref().is_none_or(|a| a == config.activation.name());
    let divides_ok = select.batch_divides_n.is_none_or(|want| (config.n % config.batch == 0) == want);
    batch_ok && activation_ok && divides_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "t"
kind = "claim"
title = "t"
statement = "s"
[sweep]
activation = ["relu"]
n = [6]
batch = [1, "n-1", "n/2", "n"]
eta = [0.1]
seeds = 2
max_steps = 1000
[[criterion]]
name = "c"
statistic = "proportion"
metric = "single_point"
op = "=="
value = 1
pass = "all"
"#;

    fn parse_str(text: &str) -> Result<Spec, String> {
        parse(Path::new("repro/t.toml"), text)
    }

    #[test]
    fn a_good_spec_expands_in_order() {
        let spec = parse_str(GOOD).unwrap();
        let points = expand(Path::new("repro/t.toml"), &spec, false).unwrap();
        let batches: Vec<usize> = points.iter().map(|p| p.config.batch).collect();
        assert_eq!(batches, vec![1, 5, 3, 6]);
    }

    #[test]
    fn errors_name_the_file_the_key_and_what_is_allowed() {
        let cases = [
            (GOOD.replace("seeds = 2", "seeds = 2\nsedes = 3"), "unknown field `sedes`"),
            (GOOD.replace("[0.1]", "[-0.1]"), "invalid sweep.eta = -0.1"),
            (GOOD.replace("\"n/2\"", "\"m/2\""), "invalid sweep.batch"),
            (GOOD.replace("[1, ", "[0, "), "invalid sweep.batch = 0"),
            (GOOD.replace("\"relu\"", "\"tanh\""), "invalid sweep.activation = tanh"),
            (GOOD.replace("single_point", "singel_point"), "criterion \"c\".metric = singel_point"),
            (GOOD.replace("pass = \"all\"", "pass = \"ci_above\""), "threshold"),
            (GOOD.replace("id = \"t\"", "id = \"u\""), "must equal the file name"),
            (GOOD.replace("kind = \"claim\"", "kind = \"claims\""), "unknown variant `claims`"),
        ];
        for (text, needle) in cases {
            let error = parse_str(&text).unwrap_err();
            assert!(error.starts_with("repro/t.toml"), "{error}");
            assert!(error.contains(needle), "expected {needle:?} in: {error}");
        }
    }

    #[test]
    fn every_committed_spec_parses() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../repro");
        let mut count = 0;
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
                count += 1;
            }
        }
        assert!(count >= 10, "{count} specs");
    }
}
