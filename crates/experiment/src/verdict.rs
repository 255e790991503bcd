//! Criteria to verdicts: one statistic with its 95% interval per criterion and selected sweep
//! point, and the pass rule applied to it.
//!
//! Intervals are Wilson for proportions, Student-t for means and paired differences, and a
//! stratified percentile bootstrap for log-log slopes. A paired difference pairs each run with
//! the run of the same seed at the full-batch sweep point that shares every other configuration
//! field. A log-log slope is judged once for each family of selected sweep points that differ
//! only in its `x` (`n` or `eta`), on every run of the family. A criterion whose statistic is undefined (too
//! few values, a run without the metric, no partner) fails with the reason written down, unless
//! it only reports. This module computes; it does not format or write.

use crate::metric::Metric;
use crate::numbers::parameter;
use crate::plan::{Experiment, Point, Written};
use crate::record::Record;
use crate::spec::{Criterion, PassRule, StatisticRule};
use crate::vocabulary::OutcomeKind;
use crate::vocabulary::{LawTerm, XAxis};
use aesgd_stats::{
    DEFAULT_LEVEL, Interval, bootstrap_coefficients, mean_interval, paired_difference_interval,
    proportion_interval,
};
use std::collections::BTreeMap;

/// The relative rounding allowance of `ci_covers_closed_form`.
pub const CLOSED_FORM_TOLERANCE: f64 = 1e-12;

/// Bootstrap resamples of a log-log slope.
pub const SLOPE_RESAMPLES: usize = 2000;

/// The bootstrap seed of a log-log slope (fixed, so a report is reproducible).
pub const SLOPE_SEED: u64 = 0;
use serde::{Deserialize, Serialize};

/// The result of one criterion at one sweep point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The criterion's name.
    pub criterion: String,
    /// The sweep point in words (see [`group_label`]).
    pub group: String,
    /// "proportion", "mean" or "paired_difference".
    pub statistic: String,
    /// The metric.
    pub metric: String,
    /// The estimate with its interval, method, level and number of seeds.
    pub estimate: Option<Interval>,
    /// Why there is no estimate, if there is none.
    pub undefined: Option<String>,
    /// The pass rule in words.
    pub rule: String,
    /// The metric's closed form at the sweep point, where one is derived (for comparison, and
    /// what `ci_covers_closed_form` checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_form: Option<f64>,
    /// A law's prediction of the mean at a held-out sweep point (what `prediction_within`
    /// checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<f64>,
    /// The runs a statistic over converged pairs left out, counted by reason (`None` when it
    /// used every run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
    /// The verdict (`None` for report-only criteria).
    pub pass: Option<bool>,
}

/// The verdict of one spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// Spec id.
    pub id: String,
    /// "claim", "question" or "figure".
    pub kind: String,
    /// Title.
    pub title: String,
    /// The paper's words or the question.
    pub statement: String,
    /// Notes.
    pub notes: String,
    /// Every criterion at every selected sweep point.
    pub results: Vec<CriterionResult>,
    /// All verdicts pass (`None` when nothing is judged).
    pub pass: Option<bool>,
    /// The figures drawn for it (file names under `figures/`).
    pub figures: Vec<String>,
}

/// The default initialisation scale, left out of group labels.
pub(crate) const DEFAULT_INIT_SCALE: f64 = 0.5;

/// A sweep point in words, e.g. "relu, n=20, d=20, b=19, eta=0.1, random, basis"; the
/// initialisation scale is added when it is not the default 0.5.
pub fn group_label(p: &Point) -> String {
    let c = &p.config;
    label(
        c.activation.name(),
        c.neurons,
        c.n,
        c.d,
        c.batch,
        c.eta,
        c.schedule.name(),
        c.data.name(),
        c.init_scale,
    )
}

/// The sweep point of a run, in the words of [`group_label`].
pub fn record_group_label(r: &Record) -> String {
    label(&r.activation, r.neurons, r.n, r.d, r.batch, r.eta, &r.schedule, &r.data, r.init_scale)
}

#[allow(clippy::too_many_arguments)]
fn label(
    activation: &str,
    neurons: usize,
    n: usize,
    d: usize,
    b: usize,
    eta: f64,
    schedule: &str,
    data: &str,
    s: f64,
) -> String {
    // One neuron's labels are those from before several neurons existed.
    let k = if neurons == 1 { String::new() } else { format!(", k={neurons}") };
    let mut label =
        format!("{activation}{k}, n={n}, d={d}, b={b}, eta={}, {schedule}, {data}", parameter(eta));
    if s != DEFAULT_INIT_SCALE {
        label.push_str(&format!(", s={}", parameter(s)));
    }
    label
}

/// The pass rule in words.
pub fn rule_text(c: &Criterion) -> String {
    let predicate = match &c.statistic {
        StatisticRule::Proportion { comparison, value } => format!("{} {comparison} {value}", c.metric),
        StatisticRule::Mean => c.metric.to_string(),
        StatisticRule::PairedDifference { converged_only: false } => c.metric.to_string(),
        StatisticRule::PairedDifference { converged_only: true } => {
            format!("{} (the pairs in which both runs converged)", c.metric)
        }
        StatisticRule::LogLogSlope { x } => format!("the slope of ln {} against ln {x}", c.metric),
        StatisticRule::SelectionExponent => "the selection exponent alpha".to_string(),
        StatisticRule::LogLinearLaw { terms, .. } => {
            let terms: Vec<String> = terms.iter().map(|t| format!("c_{t} ln {t}")).collect();
            format!("the law ln {} = c_0 + {}", c.metric, terms.join(" + "))
        }
    };
    match c.pass {
        PassRule::All => format!("every run has {predicate}"),
        PassRule::CiAbove(t) => format!("95% interval of {predicate} above {t}"),
        PassRule::CiBelow(t) => format!("95% interval of {predicate} below {t}"),
        PassRule::CiWithin(lo, hi) => format!("95% interval of {predicate} inside [{lo}, {hi}]"),
        PassRule::CiCoversClosedForm => format!("95% interval of {predicate} contains its closed form"),
        PassRule::CiContains(v) => format!("95% interval of {predicate} contains {v}"),
        PassRule::PredictionWithin(t) => {
            format!(
                "{predicate}, fitted on the fit sweeps, predicts each held-out mean within {}%",
                t * 100.0
            )
        }
        PassRule::Report => format!("{predicate}: reported, no verdict"),
    }
}

/// The verdict of a pass rule on an interval; `every_run` says whether every run satisfied a
/// proportion's predicate, and `reference` is the metric's closed form at the sweep point, or a
/// law's prediction there (a rule that needs it fails without it).
pub fn judge(pass: PassRule, interval: &Interval, every_run: bool, reference: Option<f64>) -> Option<bool> {
    let closed_form = reference;
    match pass {
        // The closed form is compared within rounding: a mean of values that equal it up to the
        // last bits (linear full batch keeps w_0, |cos| = 1) must not fail by an ulp.
        PassRule::CiCoversClosedForm => Some(closed_form.is_some_and(|v| {
            let slack = CLOSED_FORM_TOLERANCE * v.abs().max(1.0);
            interval.lower - slack <= v && v <= interval.upper + slack
        })),
        PassRule::CiContains(v) => Some(interval.contains(v)),
        PassRule::PredictionWithin(t) => {
            Some(reference.is_some_and(|p| (p - interval.estimate).abs() <= t * interval.estimate.abs()))
        }
        PassRule::All => Some(every_run),
        PassRule::CiAbove(t) => Some(interval.lower > t),
        PassRule::CiBelow(t) => Some(interval.upper < t),
        PassRule::CiWithin(lo, hi) => Some(lo <= interval.lower && interval.upper <= hi),
        PassRule::Report => None,
    }
}

/// The values of `metric` over runs, or why some run has none: degenerate runs are counted by
/// outcome, so the reason says which runs were left out.
pub(crate) fn values(metric: Metric, runs: &[Record]) -> Result<Vec<f64>, String> {
    let values: Vec<f64> = runs.iter().filter_map(|r| metric.value(r)).collect();
    if values.len() < runs.len() {
        let left_out =
            |o: OutcomeKind| runs.iter().filter(|r| r.outcome == o && metric.value(r).is_none()).count();
        let mut why: Vec<String> = OutcomeKind::ALL
            .iter()
            .filter(|o| o.is_degenerate())
            .map(|&o| (o, left_out(o)))
            .filter(|&(_, count)| count > 0)
            .map(|(o, count)| format!("{count} {o}"))
            .collect();
        let degenerate: usize =
            OutcomeKind::ALL.iter().filter(|o| o.is_degenerate()).map(|&o| left_out(o)).sum();
        let others = runs.len() - values.len() - degenerate;
        if others > 0 {
            why.push(format!("{others} without it"));
        }
        return Err(format!(
            "{} of {} runs have no {metric}: {}",
            runs.len() - values.len(),
            runs.len(),
            why.join(", ")
        ));
    }
    Ok(values)
}

/// The seed pairs of a paired difference: the metric of each run and of its full-batch
/// partner, for the runs that pair (both values defined and, with `converged_only`, both runs
/// converged), and the outcomes that kept the others out, counted.
fn pairs(
    metric: Metric,
    runs: &[Record],
    base: &[Record],
    converged_only: bool,
) -> (Vec<f64>, Vec<f64>, BTreeMap<String, usize>) {
    let (mut first, mut second, mut left_out) = (Vec::new(), Vec::new(), BTreeMap::new());
    for r in runs {
        let partner = base.iter().find(|b| b.run_index == r.run_index && b.seed == r.seed);
        let unconverged = [Some(r), partner]
            .into_iter()
            .flatten()
            .find(|run| run.outcome != OutcomeKind::Converged)
            .map(|run| (run.outcome, std::ptr::eq(run, r)));
        if converged_only && let Some((outcome, own)) = unconverged {
            let whose = if own { "that ended" } else { "whose full-batch partner ended" };
            *left_out.entry(format!("{whose} {outcome}")).or_default() += 1;
            continue;
        }
        if let (Some(x), Some(y)) = (metric.value(r), partner.and_then(|b| metric.value(b))) {
            first.push(x);
            second.push(y);
        } else {
            *left_out.entry(format!("without {metric} on both sides")).or_default() += 1;
        }
    }
    (first, second, left_out)
}

/// For a paired difference over converged pairs, which runs were left out and why, or `None`
/// when none was.
fn left_out_note(c: &Criterion, runs: &[Record], baseline: Option<&[Record]>) -> Option<String> {
    let (StatisticRule::PairedDifference { converged_only: true }, Some(base)) = (&c.statistic, baseline)
    else {
        return None;
    };
    let (first, _, why) = pairs(c.metric, runs, base, true);
    let reasons: Vec<String> = why.iter().map(|(reason, count)| format!("{count} {reason}")).collect();
    (first.len() < runs.len()).then(|| {
        format!("{} of {} runs left out: {}", runs.len() - first.len(), runs.len(), reasons.join(", "))
    })
}

/// The statistic of one criterion on the runs of one sweep point: its interval and, for
/// proportions, whether every run satisfied the predicate; `Err` says why it is undefined.
pub fn statistic(
    c: &Criterion,
    point: &Point,
    runs: &[Record],
    baseline: Option<&[Record]>,
) -> Result<(Interval, bool), String> {
    match &c.statistic {
        &StatisticRule::Proportion { comparison, value } => {
            let hits =
                runs.iter().filter(|r| c.metric.value(r).is_some_and(|x| comparison.holds(x, value))).count();
            let interval = proportion_interval(hits as u64, runs.len() as u64, DEFAULT_LEVEL);
            interval.map(|i| (i, hits == runs.len())).map_err(|e| e.to_string())
        }
        StatisticRule::Mean => mean_interval(&values(c.metric, runs)?, DEFAULT_LEVEL)
            .map(|i| (i, false))
            .map_err(|e| e.to_string()),
        &StatisticRule::PairedDifference { converged_only } => {
            let base = baseline.ok_or("no full-batch sweep point to pair with")?;
            let (first, second, _) = pairs(c.metric, runs, base, converged_only);
            if !converged_only && first.len() < runs.len() {
                return Err(format!("only {} of {} runs could be paired", first.len(), runs.len()));
            }
            paired_difference_interval(&first, &second, DEFAULT_LEVEL)
                .map(|i| (i, false))
                .map_err(|e| e.to_string())
        }
        StatisticRule::LogLogSlope { .. } => Err("a slope is judged across sweep points, not at one".into()),
        StatisticRule::LogLinearLaw { .. } => Err("a law is judged across sweep points, not at one".into()),
        StatisticRule::SelectionExponent => {
            values(c.metric, runs)?;
            let observations = crate::selection::observations(point, runs)?;
            aesgd_stats::fit_power_law(&observations)
                .map(|fit| (fit.interval, false))
                .map_err(|e| e.to_string())
        }
    }
}

/// The metric's closed form at a sweep point, if it has one there and the criterion's
/// statistic is its mean (a proportion or a paired difference is another quantity).
fn closed_form_at(c: &Criterion, point: &Point, runs: &[Record]) -> Option<f64> {
    if c.statistic != StatisticRule::Mean {
        return None;
    }
    c.metric.definition().closed_form.and_then(|(form, _)| form(&point.config, runs))
}

/// What the sweep points of one slope family share: every field but `x` (the batch size as
/// `written` by one sweep that has the point when `x = n`, so `b = n/2` follows `n`; the
/// dimension as `d = n` or its value).
fn family_label(x: XAxis, p: &Point, written: &Written) -> String {
    let c = &p.config;
    match x {
        XAxis::N => {
            let d = match written.dimension {
                crate::sweep::Dimension::N => "d=n".to_string(),
                crate::sweep::Dimension::Fixed(d) => format!("d={d}"),
            };
            let k = if c.neurons == 1 { String::new() } else { format!(", k={}", c.neurons) };
            let mut label = format!(
                "{}{k}, {d}, b={}, eta={}, {}, {}",
                c.activation.name(),
                written.batch,
                parameter(c.eta),
                c.schedule.name(),
                c.data.name()
            );
            if c.init_scale != DEFAULT_INIT_SCALE {
                label.push_str(&format!(", s={}", parameter(c.init_scale)));
            }
            label
        }
        XAxis::Eta | XAxis::Batch => {
            let label = group_label(p);
            let eta = format!(", eta={},", parameter(c.eta));
            label.replacen(&eta, ",", 1)
        }
    }
}

/// The log-log slope of one family of sweep points (`members` index `points`): least squares of
/// `ln metric` on `ln x` over every run, with a bootstrap interval that resamples runs within
/// each sweep point.
fn slope_statistic(
    c: &Criterion,
    x: XAxis,
    points: &[Point],
    runs: &[Vec<Record>],
    members: &[usize],
) -> Result<Interval, String> {
    let (mut rows, mut y, mut strata) = (Vec::new(), Vec::new(), Vec::new());
    for (stratum, &i) in members.iter().enumerate() {
        let at = x.value(&points[i].config);
        for v in values(c.metric, &runs[i]).map_err(|why| format!("{}: {why}", group_label(&points[i])))? {
            if v <= 0.0 {
                return Err(format!(
                    "{}: a run has {} = {v}, which has no logarithm",
                    group_label(&points[i]),
                    c.metric
                ));
            }
            rows.push(vec![1.0, at.ln()]);
            y.push(v.ln());
            strata.push(stratum);
        }
    }
    let mut xs: Vec<f64> = members.iter().map(|&i| x.value(&points[i].config)).collect();
    xs.dedup();
    if xs.len() < 2 {
        return Err(format!("one value of {x} only; a slope needs two"));
    }
    let intervals = bootstrap_coefficients(&rows, &y, &strata, SLOPE_RESAMPLES, SLOPE_SEED, DEFAULT_LEVEL)
        .map_err(|e| e.to_string())?;
    Ok(intervals[1].clone())
}

/// Judges a log-log slope criterion: one result for each family of selected sweep points that
/// differ only in `x`, in the order of their first point.
fn evaluate_slopes(c: &Criterion, x: XAxis, points: &[Point], runs: &[Vec<Record>]) -> Vec<CriterionResult> {
    let mut families: Vec<(String, Vec<usize>)> = Vec::new();
    // A point that two sweeps write differently (b = 10 and b = n/2) joins both families.
    for (i, p) in points.iter().enumerate().filter(|(_, p)| c.select.selects(&p.config)) {
        for written in &p.written {
            let label = family_label(x, p, written);
            match families.iter_mut().find(|(l, _)| *l == label) {
                Some((_, members)) if !members.contains(&i) => members.push(i),
                Some(_) => {}
                None => families.push((label, vec![i])),
            }
        }
    }
    families
        .into_iter()
        .map(|(label, mut members)| {
            members.sort_by(|&a, &b| x.value(&points[a].config).total_cmp(&x.value(&points[b].config)));
            let values: Vec<String> =
                members.iter().map(|&i| parameter(x.value(&points[i].config))).collect();
            let (estimate, undefined, pass) =
                judged(c, slope_statistic(c, x, points, runs, &members).map(|i| (i, false)), None);
            CriterionResult {
                criterion: c.name.clone(),
                group: format!("{label}, {x} in {{{}}}", values.join(", ")),
                statistic: c.statistic.kind().name().into(),
                metric: c.metric.name().into(),
                estimate,
                undefined,
                rule: rule_text(c),
                closed_form: None,
                predicted: None,
                left_out: None,
                pass,
            }
        })
        .collect()
}

/// Judges a log-linear law criterion, family by family: one report-only row a coefficient
/// (bootstrap interval), then one row a held-out point (the measured mean with its Student-t
/// interval, beside the law's prediction). A family whose law cannot be fitted gets one failing
/// row that says why.
fn evaluate_law(
    c: &Criterion,
    terms: &[LawTerm],
    points: &[Point],
    runs: &[Vec<Record>],
) -> Vec<CriterionResult> {
    let fail = (c.pass != PassRule::Report).then_some(false);
    let row = |group: String| CriterionResult {
        criterion: c.name.clone(),
        group,
        statistic: c.statistic.kind().name().into(),
        metric: c.metric.name().into(),
        estimate: None,
        undefined: None,
        rule: rule_text(c),
        closed_form: None,
        predicted: None,
        left_out: None,
        pass: None,
    };
    let mut results = Vec::new();
    for (family, law) in crate::law::fitted(c, points, runs) {
        let intervals = law.and_then(|law| {
            Ok((crate::law::coefficient_intervals(c.metric, terms, points, runs, &family.training)?, law))
        });
        let law = match intervals {
            Ok((intervals, law)) => {
                for (k, interval) in intervals.into_iter().enumerate() {
                    let name = crate::law::coefficient_name(terms, k);
                    results.push(CriterionResult {
                        estimate: Some(interval),
                        ..row(format!("{}: {name}", family.label))
                    });
                }
                law
            }
            Err(why) => {
                results.push(CriterionResult {
                    undefined: Some(why),
                    pass: fail,
                    ..row(format!("{}: the law", family.label))
                });
                continue;
            }
        };
        for &i in &family.held_out {
            let predicted = law.predict_mean(&points[i].config);
            let measured = values(c.metric, &runs[i])
                .and_then(|v| mean_interval(&v, DEFAULT_LEVEL).map_err(|e| e.to_string()))
                .map(|iv| (iv, false));
            let (estimate, undefined, pass) = judged(c, measured, predicted);
            results.push(CriterionResult {
                estimate,
                undefined,
                predicted,
                pass,
                ..row(format!("{}, held out", group_label(&points[i])))
            });
        }
    }
    results
}

/// A statistic turned into (estimate, why it is undefined, verdict): an undefined statistic,
/// or a closed-form rule where the metric has no closed form, fails the criterion (unless it
/// only reports), with the reason recorded.
fn judged(
    c: &Criterion,
    statistic: Result<(Interval, bool), String>,
    closed_form: Option<f64>,
) -> (Option<Interval>, Option<String>, Option<bool>) {
    match statistic {
        Ok(_) if c.pass == PassRule::CiCoversClosedForm && closed_form.is_none() => {
            (None, Some(format!("{} has no closed form at this sweep point", c.metric)), Some(false))
        }
        Ok((interval, every_run)) => {
            let pass = judge(c.pass, &interval, every_run, closed_form);
            (Some(interval), None, pass)
        }
        Err(why) => (None, Some(why), (c.pass != PassRule::Report).then_some(false)),
    }
}

/// Evaluates one criterion at one sweep point. An undefined statistic fails the criterion
/// (unless it only reports), with the reason recorded.
pub fn evaluate(
    c: &Criterion,
    point: &Point,
    runs: &[Record],
    baseline: Option<&[Record]>,
) -> CriterionResult {
    let closed_form = closed_form_at(c, point, runs);
    let (estimate, undefined, pass) = judged(c, statistic(c, point, runs, baseline), closed_form);
    let left_out = left_out_note(c, runs, baseline);
    CriterionResult {
        criterion: c.name.clone(),
        group: group_label(point),
        statistic: c.statistic.kind().name().into(),
        metric: c.metric.name().into(),
        estimate,
        undefined,
        rule: rule_text(c),
        closed_form,
        predicted: None,
        left_out,
        pass,
    }
}

/// The index of the full-batch partner of `points[i]`: the point at `b = n` that shares every
/// other configuration field but the step budget, and the seed; one written in a sweep of
/// `points[i]` first, where several sweeps hold such a point with different budgets.
pub fn baseline_of(points: &[Point], i: usize) -> Option<usize> {
    let wanted = points[i].keyed().at_full_batch();
    let partners: Vec<usize> = (0..points.len())
        .filter(|&j| points[j].seed == points[i].seed && points[j].keyed().without_budget() == wanted)
        .collect();
    let same_sweep = |j: &&usize| points[**j].written.iter().any(|w| points[i].in_sweep(w.sweep).is_some());
    partners.iter().find(same_sweep).or(partners.first()).copied()
}

/// Judges every criterion of an experiment on its runs (`runs[i]` belongs to `points[i]`).
pub fn judge_experiment(experiment: &Experiment, runs: &[Vec<Record>]) -> ClaimResult {
    let spec = &experiment.spec;
    let points = &experiment.points;
    let mut results = Vec::new();
    for c in &spec.criteria {
        if let StatisticRule::LogLogSlope { x } = c.statistic {
            results.extend(evaluate_slopes(c, x, points, runs));
            continue;
        }
        if let StatisticRule::LogLinearLaw { terms, .. } = &c.statistic {
            results.extend(evaluate_law(c, terms, points, runs));
            continue;
        }
        for (i, point) in points.iter().enumerate() {
            if !c.select.selects(&point.config) {
                continue;
            }
            let baseline = baseline_of(points, i).map(|j| runs[j].as_slice());
            results.push(evaluate(c, point, &runs[i], baseline));
        }
    }
    let verdicts: Vec<bool> = results.iter().filter_map(|r| r.pass).collect();
    ClaimResult {
        id: spec.id.clone(),
        kind: spec.kind.name().into(),
        title: spec.title.clone(),
        statement: spec.statement.clone(),
        notes: spec.notes.clone(),
        pass: (!verdicts.is_empty()).then(|| verdicts.iter().all(|&p| p)),
        results,
        figures: spec.figures.iter().map(|f| format!("{}.svg", f.id)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Recording;
    use crate::record::tests::hand_made;
    use crate::spec::Select;
    use crate::sweep::BatchSize;
    use crate::vocabulary::Comparison;
    use aesgd_core::RunConfig;
    use aesgd_stats::Method;

    fn interval(lower: f64, upper: f64) -> Interval {
        Interval {
            estimate: (lower + upper) / 2.0,
            lower,
            upper,
            level: 0.95,
            method: Method::StudentT,
            n: 8,
        }
    }

    fn criterion(statistic: StatisticRule, pass: PassRule) -> Criterion {
        Criterion {
            name: "c".into(),
            select: Select::default(),
            metric: Metric::Support,
            statistic,
            pass,
            tolerance: 0.0,
        }
    }

    fn point(batch: usize, eta: f64) -> Point {
        let config = RunConfig { n: 4, d: 4, batch, eta, ..RunConfig::default() };
        Point {
            config,
            recording: Recording::Metrics,
            seed: 0,
            seeds: 2,
            written: vec![Written {
                sweep: 0,
                batch: BatchSize::Fixed(batch),
                dimension: crate::sweep::Dimension::N,
            }],
        }
    }

    fn runs(supports: &[usize]) -> Vec<Record> {
        supports
            .iter()
            .enumerate()
            .map(|(k, &support)| Record { run_index: k as u64, support, ..hand_made() })
            .collect()
    }

    #[test]
    fn interval_rules_are_strict_at_the_threshold_and_closed_inside() {
        // An interval whose end lies on the threshold does not pass ci_above / ci_below.
        assert_eq!(judge(PassRule::CiAbove(1.0), &interval(1.0, 2.0), false, None), Some(false));
        assert_eq!(judge(PassRule::CiAbove(1.0), &interval(1.0 + 1e-12, 2.0), false, None), Some(true));
        assert_eq!(judge(PassRule::CiBelow(2.0), &interval(1.0, 2.0), false, None), Some(false));
        assert_eq!(judge(PassRule::CiBelow(2.0), &interval(1.0, 2.0 - 1e-12), false, None), Some(true));
        // ci_within includes its ends.
        assert_eq!(judge(PassRule::CiWithin(1.0, 2.0), &interval(1.0, 2.0), false, None), Some(true));
        assert_eq!(judge(PassRule::CiWithin(1.0, 2.0), &interval(0.999, 2.0), false, None), Some(false));
        assert_eq!(judge(PassRule::CiWithin(1.0, 2.0), &interval(1.0, 2.001), false, None), Some(false));
        assert_eq!(judge(PassRule::All, &interval(0.0, 1.0), true, None), Some(true));
        assert_eq!(judge(PassRule::All, &interval(0.0, 1.0), false, None), Some(false));
        assert_eq!(judge(PassRule::Report, &interval(0.0, 1.0), true, None), None);
    }

    #[test]
    fn a_closed_form_rule_passes_when_the_interval_contains_it_and_fails_without_one() {
        assert_eq!(judge(PassRule::CiCoversClosedForm, &interval(1.0, 2.0), false, Some(1.5)), Some(true));
        assert_eq!(judge(PassRule::CiCoversClosedForm, &interval(1.0, 2.0), false, Some(2.0)), Some(true));
        assert_eq!(judge(PassRule::CiCoversClosedForm, &interval(1.0, 2.0), false, Some(2.5)), Some(false));
        assert_eq!(judge(PassRule::CiCoversClosedForm, &interval(1.0, 2.0), false, None), Some(false));
        // Rounding of a mean of exact ones does not fail the rule; a real miss does.
        let rounded = interval(1.0 - 4e-16, 1.0 - 2e-16);
        assert_eq!(judge(PassRule::CiCoversClosedForm, &rounded, false, Some(1.0)), Some(true));
        let missed = interval(1.0 - 2e-9, 1.0 - 1e-9);
        assert_eq!(judge(PassRule::CiCoversClosedForm, &missed, false, Some(1.0)), Some(false));
        // align_init at full batch on the basis: linear keeps w_0 (closed form 1).
        let c = Criterion {
            metric: Metric::AlignInit,
            ..criterion(StatisticRule::Mean, PassRule::CiCoversClosedForm)
        };
        let p = Point {
            config: RunConfig { activation: aesgd_core::Activation::Linear, ..point(4, 0.1).config },
            ..point(4, 0.1)
        };
        let ones: Vec<Record> =
            (0..3).map(|k| Record { run_index: k, align_init: 1.0, ..hand_made() }).collect();
        let result = evaluate(&c, &p, &ones, None);
        assert_eq!(result.pass, Some(true), "{result:?}");
        assert_eq!(result.rule, "95% interval of align_init contains its closed form");
        assert_eq!(result.closed_form, Some(1.0));
        // A paired difference of a metric with a closed form is another quantity: no form beside it.
        let paired = Criterion {
            statistic: StatisticRule::PairedDifference { converged_only: false },
            pass: PassRule::Report,
            ..c.clone()
        };
        assert_eq!(evaluate(&paired, &p, &ones, Some(&ones)).closed_form, None);
        let off: Vec<Record> = (0..3)
            .map(|k| Record { run_index: k, align_init: 0.9 + 0.01 * k as f64, ..hand_made() })
            .collect();
        assert_eq!(evaluate(&c, &p, &off, None).pass, Some(false));
        // Gaussian data has no closed form: the rule fails and says why.
        let gaussian = Point {
            config: RunConfig { data: aesgd_core::DataSpec::Gaussian, ..p.config.clone() },
            ..p.clone()
        };
        let result = evaluate(&c, &gaussian, &ones, None);
        assert_eq!(result.pass, Some(false));
        assert_eq!(result.undefined.as_deref(), Some("align_init has no closed form at this sweep point"));
    }

    #[test]
    fn log_log_slopes_are_fitted_per_family_across_n() {
        // align_init = 2 n^(-1/2) (1 + e) with a small seeded spread e, at n in {4, 8, 16, 32} for
        // b = 1, and flat at b = n: two families, each judged once on all its runs.
        let mut points = Vec::new();
        let mut runs = Vec::new();
        for (batch, slope) in [(BatchSize::Fixed(1), -0.5), (BatchSize::N, 0.0)] {
            for n in [4usize, 8, 16, 32] {
                let b = batch.resolve(n).unwrap();
                let config = RunConfig { n, d: n, batch: b, ..RunConfig::default() };
                points.push(Point {
                    config,
                    recording: Recording::Metrics,
                    seed: 0,
                    seeds: 6,
                    written: vec![Written { sweep: 0, batch, dimension: crate::sweep::Dimension::N }],
                });
                runs.push(
                    (0..6u64)
                        .map(|k| {
                            let e = 0.05 * ((k as f64 * 2.3 + n as f64).sin());
                            Record {
                                run_index: k,
                                n,
                                d: n,
                                batch: b,
                                align_init: 2.0 * (n as f64).powf(slope) * (1.0 + e),
                                ..hand_made()
                            }
                        })
                        .collect::<Vec<_>>(),
                );
            }
        }
        let c = Criterion {
            metric: Metric::AlignInit,
            ..criterion(StatisticRule::LogLogSlope { x: XAxis::N }, PassRule::CiBelow(0.0))
        };
        let results = evaluate_slopes(&c, XAxis::N, &points, &runs);
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].group, "relu, d=n, b=1, eta=0.1, random, basis, n in {4, 8, 16, 32}");
        assert_eq!(results[1].group, "relu, d=n, b=n, eta=0.1, random, basis, n in {4, 8, 16, 32}");
        let falling = results[0].estimate.clone().unwrap();
        assert!(falling.contains(-0.5) && falling.upper < -0.4 && falling.n == 24, "{falling:?}");
        assert_eq!(results[0].pass, Some(true));
        let flat = results[1].estimate.clone().unwrap();
        assert!(flat.contains(0.0) && flat.width() < 0.1, "{flat:?}");
        assert_eq!(results[1].pass, Some(false));
        assert_eq!(results[0].rule, "95% interval of the slope of ln align_init against ln n below 0");
        // A fixed dimension is one family whatever n it meets, d = n included.
        let fixed = |n: usize| Point {
            config: RunConfig { n, d: 16, batch: 1, ..RunConfig::default() },
            written: vec![Written { dimension: crate::sweep::Dimension::Fixed(16), ..points[0].written[0] }],
            ..points[0].clone()
        };
        let label = |p: &Point| family_label(XAxis::N, p, &p.written[0]);
        assert_eq!(label(&fixed(8)), label(&fixed(16)));
        assert_eq!(label(&fixed(16)), "relu, d=16, b=1, eta=0.1, random, basis");
        // Across eta the family keeps n and d and drops eta.
        assert_eq!(
            family_label(XAxis::Eta, &points[0], &points[0].written[0]),
            "relu, n=4, d=4, b=1, random, basis"
        );
        // A run without the metric makes its family's slope undefined, with the reason.
        let mut broken = runs.clone();
        broken[2][0].outcome = OutcomeKind::Diverged;
        let results = evaluate_slopes(&c, XAxis::N, &points, &broken);
        assert_eq!(results[0].pass, Some(false));
        assert!(
            results[0].undefined.as_deref().unwrap().contains("1 of 6 runs have no align_init: 1 diverged"),
            "{results:?}"
        );
        assert_eq!(results[1].pass, Some(false), "the flat family still fails its own rule");
    }

    #[test]
    fn a_proportion_passes_all_only_when_every_run_holds() {
        let c =
            criterion(StatisticRule::Proportion { comparison: Comparison::Equal, value: 1.0 }, PassRule::All);
        let p = point(2, 0.1);
        let good = evaluate(&c, &p, &runs(&[1, 1, 1]), None);
        assert_eq!(good.pass, Some(true));
        assert_eq!(good.estimate.as_ref().map(|i| (i.estimate, i.n)), Some((1.0, 3)));
        let bad = evaluate(&c, &p, &runs(&[1, 2, 1]), None);
        assert_eq!(bad.pass, Some(false));
        assert_eq!(bad.rule, "every run has support == 1");
    }

    #[test]
    fn an_empty_or_undefined_statistic_fails_with_its_reason_unless_it_reports() {
        let p = point(2, 0.1);
        let proportion =
            criterion(StatisticRule::Proportion { comparison: Comparison::Equal, value: 1.0 }, PassRule::All);
        let empty = evaluate(&proportion, &p, &[], None);
        assert_eq!((empty.pass, empty.estimate.is_none()), (Some(false), true));
        assert!(empty.undefined.is_some());
        // One value has no Student-t interval.
        let mean = criterion(StatisticRule::Mean, PassRule::CiAbove(0.0));
        let single = evaluate(&mean, &p, &runs(&[1]), None);
        assert_eq!(single.pass, Some(false));
        assert!(single.undefined.is_some());
        // A run without the metric makes the mean undefined rather than averaging the rest.
        let rank = Criterion { metric: Metric::SelectedRank, ..mean.clone() };
        let mut some = runs(&[1, 1, 1]);
        some[1].selected_rank = None;
        let missing = evaluate(&rank, &p, &some, None);
        assert_eq!(missing.undefined.as_deref(), Some("1 of 3 runs have no selected_rank: 1 without it"));
        assert_eq!(missing.pass, Some(false));
        let report = Criterion { pass: PassRule::Report, ..rank };
        assert_eq!(evaluate(&report, &p, &some, None).pass, None);
    }

    #[test]
    fn degenerate_runs_are_never_averaged_nor_counted_as_successes() {
        let p = point(2, 0.1);
        let mut some = runs(&[1, 1, 1, 1]);
        some[1].outcome = OutcomeKind::Diverged;
        some[2].outcome = OutcomeKind::StationaryNotMinimum;
        let mean = criterion(StatisticRule::Mean, PassRule::CiWithin(0.0, 2.0));
        let result = evaluate(&mean, &p, &some, None);
        assert_eq!(result.pass, Some(false));
        assert_eq!(
            result.undefined.as_deref(),
            Some("2 of 4 runs have no support: 1 stationary_not_minimum, 1 diverged")
        );
        // Both have support one, yet neither selected a point.
        let single = Criterion {
            metric: Metric::SinglePoint,
            ..criterion(
                StatisticRule::Proportion { comparison: Comparison::Equal, value: 1.0 },
                PassRule::All,
            )
        };
        let result = evaluate(&single, &p, &some, None);
        assert_eq!(result.pass, Some(false));
        assert_eq!(result.estimate.map(|i| i.estimate), Some(0.5));
    }

    #[test]
    fn pairing_uses_every_field_but_the_batch_and_pairs_by_seed() {
        let points = vec![point(2, 0.1), point(4, 0.2), point(4, 0.1), point(1, 0.2)];
        assert_eq!(baseline_of(&points, 0), Some(2));
        assert_eq!(baseline_of(&points, 3), Some(1));
        assert_eq!(baseline_of(&points, 2), Some(2));
        let other_scale =
            Point { config: RunConfig { init_scale: 0.25, ..points[0].config.clone() }, ..points[0].clone() };
        assert_eq!(baseline_of(&[other_scale, points[2].clone()], 0), None);
        let c = criterion(StatisticRule::PairedDifference { converged_only: false }, PassRule::CiAbove(0.0));
        // Differences 1 - 3, 2 - 3, 3 - 3 seed by seed; the baseline's order does not matter.
        let mut base = runs(&[3, 3, 3]);
        base.reverse();
        base[0].support = 5; // run 2's partner
        let result = evaluate(&c, &points[0], &runs(&[1, 2, 3]), Some(&base));
        let i = result.estimate.unwrap();
        assert!((i.estimate - (-2.0 - 1.0 - 2.0) / 3.0).abs() < 1e-12, "{}", i.estimate);
        assert_eq!(i.n, 3);
        let unpaired = evaluate(&c, &points[0], &runs(&[1, 2, 3, 4]), Some(&base));
        assert_eq!(unpaired.undefined.as_deref(), Some("only 3 of 4 runs could be paired"));
        let alone = evaluate(&c, &points[0], &runs(&[1, 2]), None);
        assert_eq!(alone.undefined.as_deref(), Some("no full-batch sweep point to pair with"));
        assert_eq!(result.left_out, None);
    }

    #[test]
    fn converged_pairs_leave_the_others_out_and_count_them_by_reason() {
        let points = [point(2, 0.1), point(4, 0.1)];
        let c = criterion(StatisticRule::PairedDifference { converged_only: true }, PassRule::CiAbove(0.0));
        let (mut mine, mut base) = (runs(&[1, 2, 3, 4, 5]), runs(&[0, 0, 0, 0, 0]));
        base[1].outcome = OutcomeKind::MaxSteps;
        base[3].outcome = OutcomeKind::MaxSteps;
        mine[4].outcome = OutcomeKind::Diverged;
        let result = evaluate(&c, &points[0], &mine, Some(&base));
        // Runs 0 and 2 pair: differences 1 and 3.
        let i = result.estimate.unwrap();
        assert_eq!((i.n, i.estimate), (2, 2.0));
        assert_eq!(
            result.left_out.as_deref(),
            Some("3 of 5 runs left out: 1 that ended diverged, 2 whose full-batch partner ended max_steps")
        );
        assert!(result.rule.contains("the pairs in which both runs converged"), "{}", result.rule);
        // Without the option the same runs are refused as a whole.
        let strict = Criterion { statistic: StatisticRule::PairedDifference { converged_only: false }, ..c };
        let strict = evaluate(&strict, &points[0], &mine, Some(&base));
        assert!(strict.estimate.is_none() && strict.left_out.is_none(), "{strict:?}");
    }

    #[test]
    fn group_labels_name_a_non_default_scale() {
        let p = point(2, 0.1);
        assert_eq!(group_label(&p), "relu, n=4, d=4, b=2, eta=0.1, random, basis");
        let record = Record { n: 4, d: 4, batch: 2, ..hand_made() };
        assert_eq!(record_group_label(&record), group_label(&p));
        let scaled = Point { config: RunConfig { init_scale: 1e-12, ..p.config.clone() }, ..p.clone() };
        assert_eq!(group_label(&scaled), "relu, n=4, d=4, b=2, eta=0.1, random, basis, s=1e-12");
        let three = Point { config: RunConfig { neurons: 3, ..p.config.clone() }, ..p.clone() };
        assert_eq!(group_label(&three), "relu, k=3, n=4, d=4, b=2, eta=0.1, random, basis");
        assert_eq!(record_group_label(&Record { neurons: 3, ..record }), group_label(&three));
    }
}
