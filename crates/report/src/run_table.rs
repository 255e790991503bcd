//! The table of `cargo xtask run`: one row a run and a summary per batch size.

use aesgd_core::RunConfig;
use aesgd_experiment::Record;
use std::fmt::Write as _;

fn optional(x: Option<f64>, precision: usize) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.precision$}"))
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
        base.eta,
        base.schedule,
        base.data.name(),
        base.init_scale
    );
    let _ = writeln!(
        out,
        "{:>5} {:>4} {:>10} {:>11} {:>9} {:>7} {:>7} {:>6} {:>7} {:>7} {:>5} {:>8} {:>8} {:>7}",
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
            "{:>5} {:>4} {:>10} {:>11} {:>9} {:>7} {:>7.2} {:>6.3} {:>7.3} {:>7} {:>5} {:>8} {:>8.4} {:>7.2}",
            r.batch,
            r.run_index,
            r.outcome,
            r.steps_run,
            r.loss_gap.map_or_else(|| "-".into(), |v| format!("{v:.1e}")),
            r.support,
            r.effective_support,
            r.linf_ratio,
            r.align_init,
            optional(r.align_gd_limit, 3),
            r.selected.map_or_else(|| "-".into(), |k| k.to_string()),
            optional(r.hessian_trace_limit, 4),
            r.hessian_trace_iterate,
            r.wall_seconds,
        );
    }
    out.push('\n');
    out.push_str("# summary per batch size (counts over seeds; ranges are min..max over seeds)\n");
    let mut batches: Vec<usize> = records.iter().map(|r| r.batch).collect();
    batches.dedup();
    for b in batches {
        let rows: Vec<&Record> = records.iter().filter(|r| r.batch == b).collect();
        let total = rows.len();
        let count = |f: &dyn Fn(&Record) -> bool| rows.iter().filter(|r| f(r)).count();
        let range = |f: &dyn Fn(&Record) -> f64, precision: usize| {
            let values: Vec<f64> = rows.iter().map(|r| f(r)).collect();
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.precision$}..{hi:.precision$}")
        };
        let _ = writeln!(
            out,
            "batch {b:>4}: converged {}/{total}, diverged {}/{total}, single data point {}/{total}; support {}; cos(w, w0) {}; trH(limit) {}",
            count(&|r| r.outcome == "converged"),
            count(&|r| r.outcome == "diverged"),
            count(&|r| r.support == 1),
            range(&|r| r.support as f64, 0),
            range(&|r| r.align_init, 3),
            range(&|r| r.hessian_trace_limit.unwrap_or(f64::NAN), 4),
        );
    }
    out
}
