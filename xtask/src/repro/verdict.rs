//! Criteria to verdicts: one statistic with its interval per criterion and selected sweep point.
//!
//! Intervals are 95%: Wilson for proportions, Student-t for means and paired differences (each
//! run paired with the same seed at `b = n`). A criterion without enough values for an interval
//! fails with the reason written down, unless it only reports.

use super::record::{Record, metric};
use super::spec::{Criterion, Pass, Point, Spec, Statistic, selected};
use aesgd_stats::{DEFAULT_LEVEL, Interval, mean_interval, paired_difference_interval, proportion_interval};
use serde::{Deserialize, Serialize};

/// The result of one criterion at one sweep point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// The criterion's name.
    pub criterion: String,
    /// The sweep point, e.g. "relu, n=20, d=20, b=19, eta=0.1, random".
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

/// A sweep point in words.
pub fn group_label(p: &Point) -> String {
    let c = &p.config;
    format!(
        "{}, n={}, d={}, b={}, eta={}, {}, {}",
        c.activation,
        c.n,
        c.d,
        c.batch,
        c.eta,
        c.schedule,
        c.data.name()
    )
}

fn rule_text(c: &Criterion) -> String {
    let predicate = match (c.op.as_deref(), c.value) {
        (Some(op), Some(v)) => format!("{} {op} {v}", c.metric),
        _ => c.metric.clone(),
    };
    match c.pass {
        Pass::All => format!("every run has {predicate}"),
        Pass::CiAbove => format!("95% interval of {predicate} above {}", c.threshold.unwrap_or(f64::NAN)),
        Pass::CiBelow => format!("95% interval of {predicate} below {}", c.threshold.unwrap_or(f64::NAN)),
        Pass::CiWithin => {
            let [lo, hi] = c.within.unwrap_or([f64::NAN; 2]);
            format!("95% interval of {predicate} inside [{lo}, {hi}]")
        }
        Pass::Report => format!("{predicate}: reported, no verdict"),
    }
}

fn holds(op: &str, x: f64, v: f64) -> bool {
    match op {
        "==" => x == v,
        "<" => x < v,
        "<=" => x <= v,
        ">" => x > v,
        ">=" => x >= v,
        _ => false,
    }
}

fn judge(c: &Criterion, interval: &Interval, successes_all: bool) -> Option<bool> {
    match c.pass {
        Pass::All => Some(successes_all),
        Pass::CiAbove => Some(interval.lower > c.threshold.unwrap_or(f64::INFINITY)),
        Pass::CiBelow => Some(interval.upper < c.threshold.unwrap_or(f64::NEG_INFINITY)),
        Pass::CiWithin => {
            let [lo, hi] = c.within.unwrap_or([f64::INFINITY, f64::NEG_INFINITY]);
            Some(lo <= interval.lower && interval.upper <= hi)
        }
        Pass::Report => None,
    }
}

/// The statistic of one criterion at one sweep point: its interval and, for proportions,
/// whether every run satisfied the predicate; `Err` says why it is undefined.
fn statistic(
    c: &Criterion,
    runs: &[Record],
    baseline: Option<&[Record]>,
) -> Result<(Interval, bool), String> {
    match c.statistic {
        Statistic::Proportion => {
            let op = c.op.as_deref().unwrap_or("==");
            let value = c.value.unwrap_or(f64::NAN);
            let hits =
                runs.iter().filter(|r| metric(r, &c.metric).is_some_and(|x| holds(op, x, value))).count();
            let interval = proportion_interval(hits as u64, runs.len() as u64, DEFAULT_LEVEL);
            interval.map(|i| (i, hits == runs.len())).map_err(|e| e.to_string())
        }
        Statistic::Mean => {
            let values: Vec<f64> = runs.iter().filter_map(|r| metric(r, &c.metric)).collect();
            if values.len() < runs.len() {
                let missing = runs.len() - values.len();
                return Err(format!("{missing} of {} runs have no {}", runs.len(), c.metric));
            }
            mean_interval(&values, DEFAULT_LEVEL).map(|i| (i, false)).map_err(|e| e.to_string())
        }
        Statistic::PairedDifference => {
            let base = baseline.ok_or("no full-batch sweep point to pair with")?;
            let mut first = Vec::new();
            let mut second = Vec::new();
            for r in runs {
                let partner = base.iter().find(|b| b.run_index == r.run_index);
                if let (Some(x), Some(y)) = (metric(r, &c.metric), partner.and_then(|b| metric(b, &c.metric)))
                {
                    first.push(x);
                    second.push(y);
                }
            }
            if first.len() < runs.len() {
                return Err(format!("only {} of {} runs could be paired", first.len(), runs.len()));
            }
            paired_difference_interval(&first, &second, DEFAULT_LEVEL)
                .map(|i| (i, false))
                .map_err(|e| e.to_string())
        }
    }
}

/// Evaluates one criterion at one sweep point. An undefined statistic fails the criterion
/// (unless it only reports), with the reason recorded.
fn evaluate(c: &Criterion, point: &Point, runs: &[Record], baseline: Option<&[Record]>) -> CriterionResult {
    let (estimate, undefined, pass) = match statistic(c, runs, baseline) {
        Ok((interval, every_run)) => {
            let pass = judge(c, &interval, every_run);
            (Some(interval), None, pass)
        }
        Err(why) => (None, Some(why), (c.pass != Pass::Report).then_some(false)),
    };
    CriterionResult {
        criterion: c.name.clone(),
        group: group_label(point),
        statistic: format!("{:?}", c.statistic)
            .to_lowercase()
            .replace("paireddifference", "paired_difference"),
        metric: c.metric.clone(),
        estimate,
        undefined,
        rule: rule_text(c),
        pass,
    }
}

/// Judges every criterion of a spec on its runs (`runs[i]` belongs to `points[i]`).
pub fn judge_spec(spec: &Spec, points: &[Point], runs: &[Vec<Record>], figures: Vec<String>) -> ClaimResult {
    let mut results = Vec::new();
    for c in &spec.criteria {
        for (i, point) in points.iter().enumerate() {
            if !selected(&c.select, &point.config) {
                continue;
            }
            let baseline = points.iter().position(|q| {
                let (a, b) = (&q.config, &point.config);
                q.config.batch == q.config.n
                    && a.activation == b.activation
                    && a.n == b.n
                    && a.d == b.d
                    && a.eta == b.eta
                    && a.schedule == b.schedule
            });
            results.push(evaluate(c, point, &runs[i], baseline.map(|j| runs[j].as_slice())));
        }
    }
    let verdicts: Vec<bool> = results.iter().filter_map(|r| r.pass).collect();
    ClaimResult {
        id: spec.id.clone(),
        kind: format!("{:?}", spec.kind).to_lowercase(),
        title: spec.title.clone(),
        statement: spec.statement.clone(),
        notes: spec.notes.clone(),
        pass: (!verdicts.is_empty()).then(|| verdicts.iter().all(|&p| p)),
        results,
        figures,
    }
}
