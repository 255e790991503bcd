//! The table of `cargo xtask run`: one row a run and a summary per batch size.
//!
//! Numbers of moderate size are printed as before (fixed precision); huge and non-finite ones
//! compactly ([`crate::text::short`]: `1.000e300`, `inf`, `NaN`), and a missing value as `-`, so
//! that no column holds a 300-digit number. The summary counts every outcome separately and a
//! single data point only among converged runs: a run that stopped elsewhere has not selected
//! anything.

use crate::text::short;
use aesgd_core::RunConfig;
use aesgd_experiment::Record;
use aesgd_experiment::numbers::parameter;
use aesgd_experiment::vocabulary::OutcomeKind;
use std::fmt::Write as _;

/// `x` with `precision` decimals when it is finite and below `1e6` in magnitude, compactly
/// otherwise.
fn number(x: f64, precision: usize) -> String {
    if x.is_finite() && x.abs() < 1e6 { format!("{x:.precision$}") } else { short(x) }
}

fn optional(x: Option<f64>, precision: usize) -> String {
    x.map_or_else(|| "-".into(), |v| number(v, precision))
}

/// The selected point, or for several neurons the selected points joined by `+` (`-` when
/// there is none).
fn selected(r: &Record) -> String {
    let points = if r.neurons > 1 { r.selected_points.clone() } else { r.selected.map(|k| vec![k]) };
    points.map_or_else(|| "-".into(), |p| p.iter().map(usize::to_string).collect::<Vec<_>>().join("+"))
}

/// `lo..hi` over the defined finite values, `-` when there is none, and how many were not.
fn range(values: &[Option<f64>], precision: usize) -> String {
    let finite: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let undefined = values.len() - finite.len();
    let mut text = if finite.is_empty() {
        "-".to_string()
    } else {
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{}..{}", number(lo, precision), number(hi, precision))
    };
    if undefined > 0 && !finite.is_empty() {
        let _ = write!(text, " ({undefined} undefined)");
    }
    text
}

/// The table of a grid of runs of `base` at several batch sizes.
pub fn run_table(base: &RunConfig, records: &[Record]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} autoencoder, n = {}, d = {}, eta = {}, schedule = {}, data = {}, init scale = {}",
        base.activation,
        base.n,
        base.d,
        parameter(base.eta),
        base.schedule,
        base.data.name(),
        parameter(base.init_scale)
    );
    let width = records.iter().map(|r| r.outcome.name().len()).fold(10, usize::max);
    let _ = writeln!(
        out,
        "{:>5} {:>4} {:>width$} {:>11} {:>9} {:>7} {:>7} {:>6} {:>7} {:>7} {:>5} {:>8} {:>8} {:>7}",
        "batch",
        "seed",
        "outcome",
        "steps",
        "loss_gap",
        "support",
        "eff_sup",
        "linf",
        "cos_w0",
        "cos_gd",
        "sel",
        "trH_lim",
        "trH_it",
        "secs"
    );
    for r in records {
        let _ = writeln!(
            out,
            "{:>5} {:>4} {:>width$} {:>11} {:>9} {:>7} {:>7} {:>6} {:>7} {:>7} {:>5} {:>8} {:>8} {:>7}",
            r.batch,
            r.run_index,
            r.outcome,
            r.steps_run,
            r.loss_gap.map_or_else(|| "-".into(), |v| format!("{v:.1e}")),
            r.support,
            number(r.effective_support, 2),
            optional(r.linf_ratio, 3),
            number(r.align_init, 3),
            optional(r.align_gd_limit, 3),
            selected(r),
            optional(r.hessian_trace_limit, 4),
            number(r.hessian_trace_iterate, 4),
            number(r.wall_seconds, 2),
        );
    }
    out.push('\n');
    out.push_str(
        "# summary per batch size (counts over seeds; a single data point, or k for k neurons, among \
         converged runs; ranges are min..max over seeds)\n",
    );
    let mut batches: Vec<usize> = records.iter().map(|r| r.batch).collect();
    batches.dedup();
    for b in batches {
        let rows: Vec<&Record> = records.iter().filter(|r| r.batch == b).collect();
        let _ = writeln!(out, "batch {b:>4}: {}", summary(&rows));
    }
    out
}

/// The summary of the runs at one batch size.
fn summary(rows: &[&Record]) -> String {
    let total = rows.len();
    let count = |f: &dyn Fn(&Record) -> bool| rows.iter().filter(|r| f(r)).count();
    let counts: Vec<String> =
        OutcomeKind::ALL.iter().map(|&o| format!("{o} {}/{total}", count(&|r| r.outcome == o))).collect();
    let converged = count(&|r| r.outcome == OutcomeKind::Converged);
    // k data points for k neurons: one for the single neuron.
    let sparse = count(&|r| r.outcome == OutcomeKind::Converged && r.support == r.neurons);
    let neurons = rows.first().map_or(1, |r| r.neurons);
    let points =
        if neurons == 1 { "single data point".to_string() } else { format!("on {neurons} data points") };
    let values = |f: &dyn Fn(&Record) -> Option<f64>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    format!(
        "{}; {points} {sparse} of {converged} converged; support {}; cos(w, w0) {}; trH(limit) {}",
        counts.join(", "),
        range(&values(&|r| Some(r.support as f64)), 0),
        range(&values(&|r| Some(r.align_init)), 3),
        range(&values(&|r| r.hessian_trace_limit), 4),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made ReLU record at n = d = 4 (the struct has no public constructor).
    fn record(batch: usize, outcome: &str, support: usize) -> Record {
        let converged = outcome == "converged";
        Record {
            key: "k".into(),
            seed: 0,
            run_index: 0,
            activation: "relu".into(),
            neurons: 1,
            n: 4,
            d: 4,
            batch,
            eta: 0.1,
            schedule: "random".into(),
            data: "basis".into(),
            init_scale: 0.5,
            engine: "reduced".into(),
            steps_run: 5000,
            outcome: *OutcomeKind::ALL.iter().find(|o| o.name() == outcome).expect("an outcome word"),
            outcome_step: (outcome != "max_steps").then_some(5000),
            stationarity: Some(if converged { 1e-11 } else { 0.0 }),
            loss_gap: Some(if converged { 1e-13 } else { 0.125 }),
            norm: 1.0,
            support,
            support_indices: (0..support).collect(),
            linf_ratio: Some(1.0),
            effective_support: support as f64,
            align_init: 0.25,
            align_gd_limit: Some(0.5),
            selected: (support == 1).then_some(0),
            selected_sign: (support == 1).then_some(1),
            selected_rank: (support == 1).then_some(1),
            sparse_step: (support == 1).then_some(3000),
            limit_support: converged.then_some(support),
            hessian_trace_limit: converged.then_some(1.75),
            hessian_lambda_max_limit: converged.then_some(1.0),
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

    fn base() -> RunConfig {
        RunConfig { n: 4, d: 4, ..RunConfig::default() }
    }

    #[test]
    fn the_summary_counts_outcomes_separately_and_single_points_among_converged_runs() {
        // n = 1-like: half the runs are dead neurons, whose support is also one.
        let records = [
            record(1, "converged", 1),
            record(1, "stationary_not_minimum", 1),
            record(1, "converged", 1),
            record(1, "stationary_not_minimum", 1),
            record(2, "max_steps", 3),
            record(2, "diverged", 1),
            record(2, "converged", 2),
        ];
        let table = run_table(&base(), &records);
        let lines: Vec<&str> = table.lines().collect();
        let summary: Vec<&str> =
            lines.iter().copied().filter(|l| l.starts_with("batch ") && l.contains(": ")).collect();
        assert_eq!(
            summary,
            [
                "batch    1: converged 2/4, stationary_not_minimum 2/4, max_steps 0/4, diverged 0/4; \
                 single data point 2 of 2 converged; support 1..1; cos(w, w0) 0.250..0.250; \
                 trH(limit) 1.7500..1.7500 (2 undefined)",
                "batch    2: converged 1/3, stationary_not_minimum 0/3, max_steps 1/3, diverged 1/3; \
                 single data point 0 of 1 converged; support 1..3; cos(w, w0) 0.250..0.250; \
                 trH(limit) 1.7500..1.7500 (2 undefined)",
            ]
        );
        // The outcome column is wide enough for the longest name.
        let row = lines.iter().find(|l| l.contains("stationary_not_minimum")).unwrap();
        let header = lines[1];
        assert_eq!(row.find("stationary_not_minimum").unwrap() + 22, header.find("outcome").unwrap() + 7);
    }

    #[test]
    fn non_finite_and_huge_values_print_compactly() {
        let mut diverged = record(1, "diverged", 0);
        diverged.effective_support = f64::NAN;
        diverged.linf_ratio = Some(f64::INFINITY);
        diverged.align_init = 1e300;
        diverged.loss_gap = Some(f64::INFINITY);
        diverged.align_gd_limit = Some(f64::NAN);
        diverged.hessian_trace_iterate = -1e300;
        let config = RunConfig { eta: 1e300, init_scale: 1e-300, ..base() };
        let table = run_table(&config, &[diverged]);
        assert!(table.len() < 1000, "{table}");
        assert!(table.starts_with("# relu autoencoder, n = 4, d = 4, eta = 1e300,"), "{table}");
        assert!(table.contains("init scale = 1e-300"), "{table}");
        let row = table.lines().nth(2).unwrap();
        for word in ["NaN", "inf", "1.000e300", "-1.000e300"] {
            assert!(row.split_whitespace().any(|w| w == word), "{word}: {row}");
        }
        // Ranges are compact too, and "-" where no value is defined.
        let summary = table.lines().last().unwrap();
        assert!(summary.ends_with("cos(w, w0) 1.000e300..1.000e300; trH(limit) -"), "{summary}");
        let mut nan = record(1, "diverged", 0);
        nan.align_init = f64::NAN;
        let table = run_table(&base(), &[nan, record(1, "converged", 1)]);
        assert!(table.contains("cos(w, w0) 0.250..0.250 (1 undefined);"), "{table}");
        // Ordinary values keep their fixed precision.
        let ordinary = run_table(&base(), &[record(1, "converged", 1)]);
        assert!(
            ordinary.contains("eta = 0.1, schedule = random, data = basis, init scale = 0.5"),
            "{ordinary}"
        );
        let row = ordinary.lines().nth(2).unwrap();
        assert!(row.contains(" 1.00  1.000   0.250   0.500     0   1.7500   1.5000    0.00"), "{row}");
    }
}
