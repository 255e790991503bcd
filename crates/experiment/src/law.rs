//! Log-linear laws across sweep points: `ln y = c_0 + sum_k c_k ln t_k`, where `y` is a run
//! metric and the terms `t_k` are fields of the configuration (`n`, `eta`, `b`, `n - b`).
//!
//! A law is fitted once for each family of selected sweep points that share every field but
//! `n`, `b` and `eta` (activation, schedule, data, the dimension as the spec wrote it,
//! initialisation scale), by least squares on every run of the family's training points (those
//! of the criterion's fit sweeps). Its coefficients get percentile-bootstrap intervals that
//! resample runs within each training point. The fitted law gives the geometric mean
//! `exp(c . x)`; the mean it predicts is that times Duan's smearing factor, the mean of
//! `exp(residual)` over the training runs (for log-normal scatter of variance `s^2` it tends to
//! `exp(s^2 / 2)`), because the figures and the held-out check compare means. The family's
//! other selected points are held out: the fit never sees them.
//!
//! This module fits and predicts; [`crate::verdict`] judges the held-out points and the report
//! draws the law beside the data. It does not format or write.

use crate::error::ExperimentError;
use crate::metric::Metric;
use crate::numbers::parameter;
use crate::plan::{Point, Written};
use crate::record::Record;
use crate::spec::{Criterion, Select, StatisticRule};
use crate::sweep::Dimension;
use crate::vocabulary::LawTerm;
use aesgd_core::RunConfig;
use aesgd_stats::{DEFAULT_LEVEL, Interval, bootstrap_coefficients, least_squares};
use std::path::Path;

/// Bootstrap resamples of a law's coefficients.
pub const LAW_RESAMPLES: usize = 2000;

/// The bootstrap seed of a law (fixed, so a report is reproducible).
pub const LAW_SEED: u64 = 0;

/// The selected sweep points of one law family.
#[derive(Debug, Clone, PartialEq)]
pub struct LawFamily {
    /// What the points share (see [`family_label`]).
    pub label: String,
    /// Indices of the points the law is fitted on (in a fit sweep).
    pub training: Vec<usize>,
    /// Indices of the points held out (in no fit sweep).
    pub held_out: Vec<usize>,
}

/// A law fitted to one family.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLaw {
    /// The terms, in the order of `coefficients[1..]`.
    pub terms: Vec<LawTerm>,
    /// The intercept, then one coefficient a term.
    pub coefficients: Vec<f64>,
    /// Duan's smearing factor: the mean of `exp(residual)` over the training runs.
    pub smearing: f64,
    /// The residual standard deviation of `ln metric`.
    pub residual_sd: f64,
    /// The training runs.
    pub runs: usize,
    /// The training points.
    pub points: usize,
}

impl FittedLaw {
    /// The predicted mean of the metric at a configuration; `None` where a term is not positive
    /// (`n - b` at full batch).
    pub fn predict_mean(&self, config: &RunConfig) -> Option<f64> {
        let x = regressors(&self.terms, config)?;
        let log_mean: f64 = x.iter().zip(&self.coefficients).map(|(a, c)| a * c).sum();
        Some(log_mean.exp() * self.smearing)
    }
}

/// The name of coefficient `index` (0 is the intercept) of a law with these terms.
pub fn coefficient_name(terms: &[LawTerm], index: usize) -> String {
    match index {
        0 => "intercept".to_string(),
        k => format!("exponent of {}", terms[k - 1]),
    }
}

/// The regressors of a configuration: 1, then `ln term` for each term; `None` where a term is
/// not positive.
fn regressors(terms: &[LawTerm], config: &RunConfig) -> Option<Vec<f64>> {
    let mut row = vec![1.0];
    for t in terms {
        row.push(t.value(config)?.ln());
    }
    Some(row)
}

/// What the points of one family share: every field but `n`, `b` and `eta` (the dimension as
/// `d = n` or its value, as `written` by one sweep that has the point; the number of neurons
/// where it is not 1).
pub fn family_label(p: &Point, written: &Written) -> String {
    let c = &p.config;
    let d = match written.dimension {
        Dimension::N => "d=n".to_string(),
        Dimension::Fixed(d) => format!("d={d}"),
    };
    let mut label = format!("{}, {d}, {}, {}", c.activation.name(), c.schedule.name(), c.data.name());
    if c.neurons != 1 {
        label.push_str(&format!(", k={}", c.neurons));
    }
    if c.init_scale != crate::verdict::DEFAULT_INIT_SCALE {
        label.push_str(&format!(", s={}", parameter(c.init_scale)));
    }
    label
}

/// The families of the selected points, in the order of their first point: a point is a
/// training point if one of `fit_sweeps` has it, and held out otherwise. A point that two
/// sweeps write with different dimension rules belongs to both families.
pub fn families(select: &Select, fit_sweeps: &[usize], points: &[Point]) -> Vec<LawFamily> {
    let mut families: Vec<LawFamily> = Vec::new();
    for (i, p) in points.iter().enumerate().filter(|(_, p)| select.selects(&p.config)) {
        let training = p.written.iter().any(|w| fit_sweeps.contains(&w.sweep));
        for written in &p.written {
            let label = family_label(p, written);
            let index = match families.iter().position(|f| f.label == label) {
                Some(k) => k,
                None => {
                    families.push(LawFamily { label, training: Vec::new(), held_out: Vec::new() });
                    families.len() - 1
                }
            };
            let family = &mut families[index];
            let list = if training { &mut family.training } else { &mut family.held_out };
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    families
}

/// The least-squares design of a family's training runs: rows, `ln metric` and the stratum
/// (training point) of each run; `Err` says which point lacks the metric or has no logarithm.
struct Design {
    rows: Vec<Vec<f64>>,
    y: Vec<f64>,
    strata: Vec<usize>,
}

fn design(
    metric: Metric,
    terms: &[LawTerm],
    points: &[Point],
    runs: &[Vec<Record>],
    training: &[usize],
) -> Result<Design, String> {
    let label = |i: usize| crate::verdict::group_label(&points[i]);
    let (mut rows, mut y, mut strata) = (Vec::new(), Vec::new(), Vec::new());
    for (stratum, &i) in training.iter().enumerate() {
        let x = regressors(terms, &points[i].config)
            .ok_or_else(|| format!("{}: a term of the law is not positive", label(i)))?;
        for v in crate::verdict::values(metric, &runs[i]).map_err(|why| format!("{}: {why}", label(i)))? {
            if v <= 0.0 {
                return Err(format!("{}: a run has {metric} = {v}, which has no logarithm", label(i)));
            }
            rows.push(x.clone());
            y.push(v.ln());
            strata.push(stratum);
        }
    }
    Ok(Design { rows, y, strata })
}

/// Fits the law to a family's training points.
pub fn fit(
    metric: Metric,
    terms: &[LawTerm],
    points: &[Point],
    runs: &[Vec<Record>],
    training: &[usize],
) -> Result<FittedLaw, String> {
    let d = design(metric, terms, points, runs, training)?;
    let fit = least_squares(&d.rows, &d.y).map_err(|e| e.to_string())?;
    let smearing = d
        .rows
        .iter()
        .zip(&d.y)
        .map(|(x, y)| (y - x.iter().zip(&fit.coefficients).map(|(a, c)| a * c).sum::<f64>()).exp())
        .sum::<f64>()
        / d.y.len() as f64;
    Ok(FittedLaw {
        terms: terms.to_vec(),
        coefficients: fit.coefficients,
        smearing,
        residual_sd: fit.residual_sd,
        runs: d.y.len(),
        points: training.len(),
    })
}

/// Percentile-bootstrap intervals of the coefficients (intercept first), resampling runs within
/// each training point; each interval's estimate is the full fit's coefficient.
pub fn coefficient_intervals(
    metric: Metric,
    terms: &[LawTerm],
    points: &[Point],
    runs: &[Vec<Record>],
    training: &[usize],
) -> Result<Vec<Interval>, String> {
    let d = design(metric, terms, points, runs, training)?;
    bootstrap_coefficients(&d.rows, &d.y, &d.strata, LAW_RESAMPLES, LAW_SEED, DEFAULT_LEVEL)
        .map_err(|e| e.to_string())
}

/// Every family of a law criterion with its fit (or why there is none); empty for any other
/// criterion. The report draws these beside the data.
pub fn fitted(
    c: &Criterion,
    points: &[Point],
    runs: &[Vec<Record>],
) -> Vec<(LawFamily, Result<FittedLaw, String>)> {
    let StatisticRule::LogLinearLaw { terms, fit_sweeps } = &c.statistic else {
        return Vec::new();
    };
    families(&c.select, fit_sweeps, points)
        .into_iter()
        .map(|f| {
            let law = fit(c.metric, terms, points, runs, &f.training);
            (f, law)
        })
        .collect()
}

/// Checks, before any run, that a law criterion can be fitted where it is asked: every selected
/// point has positive terms, and every family has at least as many training points as the law
/// has coefficients (one more than its terms), and, when the pass rule is judged at held-out
/// points (`prediction_within`), every family has one. A design that is still singular (every training
/// point at one `n`, say) is found when fitting, and its row says so. Criteria of other
/// statistics pass.
pub fn check_terms(file: &Path, c: &Criterion, points: &[Point], quick: bool) -> Result<(), ExperimentError> {
    let StatisticRule::LogLinearLaw { terms, fit_sweeps } = &c.statistic else {
        return Ok(());
    };
    let mode = if quick { " (quick runs)" } else { "" };
    let key = |k: &str| format!("criterion \"{}\".{k}", c.name);
    for p in points.iter().filter(|p| c.select.selects(&p.config)) {
        if let Some(t) = terms.iter().find(|t| t.value(&p.config).is_none()) {
            return Err(ExperimentError::spec(
                file,
                key("terms"),
                t,
                format!(
                    "terms that are positive at every selected point; {t} is not at {}{mode} \
                     (select b < n, or leave the term out)",
                    crate::verdict::group_label(p)
                ),
            ));
        }
    }
    for f in families(&c.select, fit_sweeps, points) {
        if f.training.len() <= terms.len() {
            return Err(ExperimentError::spec(
                file,
                key("fit_sweeps"),
                format!("{fit_sweeps:?}"),
                format!(
                    "sweeps with more than {} training points (one more than the terms) for {}{mode}; \
                     they have {}",
                    terms.len(),
                    f.label,
                    f.training.len()
                ),
            ));
        }
        // A rule judged at held-out points passes vacuously for a family that has none.
        if matches!(c.pass, crate::spec::PassRule::PredictionWithin(_)) && f.held_out.is_empty() {
            return Err(ExperimentError::spec(
                file,
                key("fit_sweeps"),
                format!("{fit_sweeps:?}"),
                format!(
                    "fit sweeps that leave at least one point of every family out, as pass = \"prediction_within\" \
                     is judged at held-out points; {}{mode} has none (hold a sweep out, or use pass = \"report\")",
                    f.label
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Recording;
    use crate::record::tests::hand_made;
    use crate::sweep::BatchSize;

    fn point(n: usize, batch: usize, eta: f64, sweep: usize) -> Point {
        let config = RunConfig { n, d: n, batch, eta, ..RunConfig::default() };
        Point {
            config,
            recording: Recording::Metrics,
            seed: 0,
            seeds: 3,
            written: vec![Written { sweep, batch: BatchSize::Fixed(batch), dimension: Dimension::N }],
        }
    }

    /// Runs whose sparse step is `scale` times 0.8, 1 and 1.25 (a symmetric scatter in logs).
    fn runs(scale: f64) -> Vec<Record> {
        [0.8, 1.0, 1.25]
            .iter()
            .enumerate()
            .map(|(k, f)| Record {
                run_index: k as u64,
                sparse_step: Some((scale * f) as u64),
                ..hand_made()
            })
            .collect()
    }

    /// A law `T = 1000 b n^2 / (eta^2 (n - b))`, the random-batch heuristic's form, with scatter.
    fn heuristic(p: &Point) -> f64 {
        let c = &p.config;
        1000.0 * c.batch as f64 * (c.n * c.n) as f64 / (c.eta * c.eta * (c.n - c.batch) as f64)
    }

    #[test]
    fn recovers_the_exponents_of_an_exact_power_law_and_predicts_held_out_means() {
        let mut points = Vec::new();
        for n in [10, 20, 40] {
            for b in [1, 2, n / 2, n - 1] {
                for eta in [0.05, 0.1, 0.2] {
                    points.push(point(n, b, eta, 0));
                }
            }
        }
        points.push(point(30, 7, 0.07, 1));
        let runs: Vec<Vec<Record>> = points.iter().map(|p| runs(heuristic(p))).collect();
        let terms = [LawTerm::N, LawTerm::Eta, LawTerm::Batch, LawTerm::LeftOut];
        let families = families(&Select::default(), &[0], &points);
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].held_out, vec![points.len() - 1]);
        let law = fit(Metric::SparseStep, &terms, &points, &runs, &families[0].training).unwrap();
        // Whole steps round the values down by less than one part in 10^4.
        for (got, want) in law.coefficients[1..].iter().zip([2.0, -2.0, 1.0, -1.0]) {
            assert!((got - want).abs() < 1e-3, "{:?}", law.coefficients);
        }
        assert!((law.coefficients[0] - 1000f64.ln()).abs() < 1e-2);
        // The residuals are ln 0.8, 0 and ln 1.25 at every point: smearing is their exp's mean.
        let smearing = (0.8 + 1.0 + 1.25) / 3.0;
        assert!((law.smearing - smearing).abs() < 1e-3);
        let held = &points[points.len() - 1];
        let measured: f64 =
            runs[points.len() - 1].iter().map(|r| r.sparse_step.unwrap() as f64).sum::<f64>() / 3.0;
        let predicted = law.predict_mean(&held.config).unwrap();
        assert!((predicted / measured - 1.0).abs() < 1e-3, "{predicted} against {measured}");
        // Full batch has no ln(n - b).
        assert_eq!(law.predict_mean(&RunConfig { batch: 30, ..held.config.clone() }), None);
        let intervals =
            coefficient_intervals(Metric::SparseStep, &terms, &points, &runs, &families[0].training).unwrap();
        for (iv, c) in intervals.iter().zip(&law.coefficients) {
            assert_eq!(iv.estimate, *c);
            assert!(iv.lower <= *c && *c <= iv.upper);
        }
    }

    #[test]
    fn families_split_by_activation_and_schedule_but_not_by_n_b_or_eta() {
        let mut points = vec![point(10, 1, 0.1, 0), point(20, 2, 0.2, 0), point(30, 3, 0.1, 1)];
        let mut other = point(10, 1, 0.1, 0);
        other.config.activation = match points[0].config.activation {
            aesgd_core::Activation::Relu => aesgd_core::Activation::Linear,
            aesgd_core::Activation::Linear => aesgd_core::Activation::Relu,
        };
        points.push(other);
        let f = families(&Select::default(), &[0], &points);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].training.clone(), f[0].held_out.clone()), (vec![0, 1], vec![2]));
        assert_eq!((f[1].training.clone(), f[1].held_out.clone()), (vec![3], vec![]));
        // A point that a held-out sweep writes with a fixed dimension trains the d = n family
        // (its first sweep is a fit sweep) and the fixed-d family alike.
        let fixed = Written { sweep: 1, dimension: Dimension::Fixed(10), ..points[0].written[0] };
        points[0].written.push(fixed);
        let f = families(&Select::default(), &[0], &points);
        let labels: Vec<&str> = f.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels.len(), 3, "{labels:?}");
        assert!(labels[1].contains("d=10"), "{labels:?}");
        assert_eq!((f[1].training.clone(), f[1].held_out.clone()), (vec![0], vec![]));
        assert_eq!(f[0].training, vec![0, 1]);
    }

    #[test]
    fn a_term_that_is_not_positive_or_too_few_training_points_are_refused_before_running() {
        let mut points = vec![point(10, 1, 0.1, 0), point(20, 2, 0.2, 0), point(30, 3, 0.1, 0)];
        let criterion = |terms: Vec<LawTerm>| Criterion {
            name: "law".into(),
            select: Select::default(),
            metric: Metric::SparseStep,
            statistic: StatisticRule::LogLinearLaw { terms, fit_sweeps: vec![0] },
            pass: crate::spec::PassRule::Report,
            tolerance: 0.0,
        };
        let file = Path::new("law.toml");
        assert!(check_terms(file, &criterion(vec![LawTerm::N, LawTerm::Eta]), &points, false).is_ok());
        let e = check_terms(file, &criterion(vec![LawTerm::N, LawTerm::Eta, LawTerm::Batch]), &points, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fit_sweeps") && e.contains("they have 3"), "{e}");
        // Judged at held-out points, a law needs one in every family: here all three train it.
        let judged =
            Criterion { pass: crate::spec::PassRule::PredictionWithin(0.15), ..criterion(vec![LawTerm::N]) };
        let e = check_terms(file, &judged, &points, false).unwrap_err().to_string();
        assert!(e.contains("fit_sweeps") && e.contains("prediction_within") && e.contains("has none"), "{e}");
        points.push(point(40, 4, 0.1, 1));
        assert!(check_terms(file, &judged, &points, false).is_ok());
        points.push(point(10, 10, 0.1, 0));
        let e =
            check_terms(file, &criterion(vec![LawTerm::LeftOut]), &points, false).unwrap_err().to_string();
        assert!(e.contains("terms") && e.contains("n-b") && e.contains("b=10"), "{e}");
    }
}
