//! `cargo xtask bench`: run the criterion benchmarks, save or compare a baseline, and print a
//! table of times and changes with regressions flagged.
//!
//! The decision statistic is the change in the fastest sample's time per iteration against the
//! baseline's: contention on a shared machine only ever adds time, so the fastest of a
//! benchmark's 100 samples moves much less between identical runs than their mean. Measured on
//! the 2-core machine of `benches/README.md` (the same code measured twice): the mean moved
//! between -32% and +58% (22 of 74 benchmarks flagged at 5%), the fastest sample between -24%
//! and +42% with a standard deviation of 10% and 4 of 74 above +10%. A benchmark whose
//! fastest sample is more than `REGRESSION_THRESHOLD` (10%) slower is measured once more, and
//! only if the second measurement is also that much slower does it count as a regression.

use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The smallest relative slowdown of the fastest sample that counts as a regression (twice).
const REGRESSION_THRESHOLD: f64 = 0.10;

/// Flags of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Save the results as this criterion baseline (e.g. `main`).
    #[arg(long)]
    save: Option<String>,
    /// Compare with this saved baseline and flag regressions (exit 1 if any).
    #[arg(long)]
    baseline: Option<String>,
    /// Only this benchmark file: step, sampling, hessian, experiment or group.
    #[arg(long)]
    bench: Option<String>,
    /// Only benchmarks whose id matches this regular expression (criterion's filter).
    #[arg(long)]
    filter: Option<String>,
    /// Shorter warm-up and measurement (0.5 s and 2 s) for a quick look.
    #[arg(long)]
    quick: bool,
}

#[derive(Deserialize)]
struct Bound {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Bound,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
}

#[derive(Deserialize)]
struct BenchmarkId {
    full_id: String,
}

/// Criterion's raw measurements of one benchmark: sample `k` ran `iters[k]` iterations in
/// `times[k]` nanoseconds.
#[derive(Deserialize)]
struct Samples {
    iters: Vec<f64>,
    times: Vec<f64>,
}

impl Samples {
    /// The fastest sample's time per iteration.
    fn fastest(&self) -> Option<f64> {
        self.times.iter().zip(&self.iters).map(|(t, i)| t / i).min_by(f64::total_cmp)
    }
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Every `new/benchmark.json` below `dir`.
fn find_results(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").exists() {
                out.push(path);
            } else {
                find_results(&path, out);
            }
        }
    }
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} us", ns / 1e3)
    } else {
        format!("{ns:.2} ns")
    }
}

/// One benchmark's result in this invocation.
struct Row {
    id: String,
    mean: Estimate,
    /// Criterion's estimate of the change in mean time against the baseline.
    mean_change: Option<Estimate>,
    /// The fastest sample's time per iteration.
    fastest: Option<f64>,
    /// The relative change of the fastest sample against the baseline's fastest sample.
    fastest_change: Option<f64>,
}

/// Runs `cargo bench` on the selected benchmarks (`filter` is criterion's regular expression).
fn run_criterion(args: &BenchArgs, filter: Option<&str>) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["bench", "-p", "aesgd-benches"]);
    match &args.bench {
        Some(bench) => command.args(["--bench", bench]),
        None => command.arg("--benches"),
    };
    command.arg("--");
    if let Some(filter) = filter {
        command.arg(filter);
    }
    if let Some(name) = &args.save {
        command.args(["--save-baseline", name]);
    }
    if let Some(name) = &args.baseline {
        command.args(["--baseline", name]);
    }
    if args.quick {
        command.args(["--warm-up-time", "0.5", "--measurement-time", "2"]);
    }
    let status = command.status().map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo bench failed ({status})")) }
}

/// The results criterion wrote since `started` (`target/criterion` also holds those of earlier
/// runs of other benchmarks, with their own, older comparisons), sorted by id.
fn collect(args: &BenchArgs, started: std::time::SystemTime) -> Vec<Row> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target").join("criterion");
    let mut results = Vec::new();
    find_results(&root, &mut results);
    let mut rows = Vec::new();
    for new in results {
        let written = std::fs::metadata(new.join("estimates.json")).and_then(|m| m.modified());
        if written.map_or(true, |t| t < started) {
            continue;
        }
        let (Some(id), Some(est)) = (
            read::<BenchmarkId>(&new.join("benchmark.json")),
            read::<Estimates>(&new.join("estimates.json")),
        ) else {
            continue;
        };
        let fastest_in = |dir: &Path| read::<Samples>(&dir.join("sample.json"))?.fastest();
        let fastest = fastest_in(&new);
        let (mean_change, fastest_change) = match &args.baseline {
            Some(baseline) => {
                let change = read::<Estimates>(&new.with_file_name("change").join("estimates.json"));
                let ratio = fastest
                    .zip(fastest_in(&new.with_file_name(baseline)))
                    .map(|(now, before)| now / before - 1.0);
                (change.map(|c| c.mean), ratio)
            }
            None => (None, None),
        };
        rows.push(Row { id: id.full_id, mean: est.mean, mean_change, fastest, fastest_change });
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// `text` with the metacharacters of a regular expression escaped.
fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

fn is_slower(change: Option<f64>) -> bool {
    change.is_some_and(|c| c > REGRESSION_THRESHOLD)
}

/// Runs the benchmarks and prints the table; returns the exit code.
pub fn execute(args: &BenchArgs) -> Result<u8, String> {
    let started = std::time::SystemTime::now();
    run_criterion(args, args.filter.as_deref())?;
    let rows = collect(args, started);
    // Benchmarks that look slower are measured a second time; only a slowdown seen twice counts.
    let suspects: Vec<&str> =
        rows.iter().filter(|r| is_slower(r.fastest_change)).map(|r| r.id.as_str()).collect();
    let mut rechecked = std::collections::BTreeMap::new();
    if !suspects.is_empty() && args.save.is_none() {
        println!("measuring {} benchmark(s) again: {}", suspects.len(), suspects.join(", "));
        let pattern =
            format!("^({})$", suspects.iter().map(|id| regex_escape(id)).collect::<Vec<_>>().join("|"));
        let again = std::time::SystemTime::now();
        run_criterion(args, Some(&pattern))?;
        for row in collect(args, again) {
            rechecked.insert(row.id, row.fastest_change);
        }
    }
    println!(
        "{:<34} {:>11} {:>24} {:>11} {:>22} {:>14}",
        "benchmark", "mean", "95% CI", "fastest", "mean change [95% CI]", "fastest change"
    );
    let mut regressions = 0;
    for row in &rows {
        let mean_change = row.mean_change.as_ref().map_or(String::from("-"), |c| {
            let ci = &c.confidence_interval;
            format!(
                "{:+.1}% [{:+.1}, {:+.1}]",
                100.0 * c.point_estimate,
                100.0 * ci.lower_bound,
                100.0 * ci.upper_bound
            )
        });
        let percent = |c: Option<f64>| c.map_or(String::from("-"), |c| format!("{:+.1}%", 100.0 * c));
        let verdict = match rechecked.get(&row.id) {
            Some(&again) if is_slower(again) => {
                regressions += 1;
                format!("  REGRESSION (again {})", percent(again))
            }
            Some(&again) => format!("  noise (again {})", percent(again)),
            None if row.fastest_change.is_some_and(|c| c < -REGRESSION_THRESHOLD) => "  faster".into(),
            None => String::new(),
        };
        println!(
            "{:<34} {:>11} {:>24} {:>11} {:>22} {:>14}{verdict}",
            row.id,
            human(row.mean.point_estimate),
            format!(
                "[{}, {}]",
                human(row.mean.confidence_interval.lower_bound),
                human(row.mean.confidence_interval.upper_bound)
            ),
            row.fastest.map_or(String::from("-"), human),
            mean_change,
            percent(row.fastest_change),
        );
    }
    if args.baseline.is_some() {
        println!(
            "{regressions} regression(s): the fastest sample more than {:.0}% slower than the baseline's, \
             in two separate measurements",
            100.0 * REGRESSION_THRESHOLD
        );
    }
    Ok(u8::from(regressions > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastest_sample_is_the_smallest_time_per_iteration() {
        let samples = Samples { iters: vec![2.0, 4.0, 8.0], times: vec![10.0, 12.0, 40.0] };
        assert_eq!(samples.fastest(), Some(3.0));
        assert_eq!(Samples { iters: vec![], times: vec![] }.fastest(), None);
    }

    #[test]
    fn ids_are_matched_literally() {
        assert_eq!(regex_escape("step/dense/d100_b10"), "step/dense/d100_b10");
        assert_eq!(regex_escape("a.b(c)|d"), "a\\.b\\(c\\)\\|d");
    }

    #[test]
    fn only_slowdowns_beyond_the_threshold_count() {
        assert!(is_slower(Some(REGRESSION_THRESHOLD + 0.01)));
        assert!(!is_slower(Some(REGRESSION_THRESHOLD - 0.01)));
        assert!(!is_slower(Some(-0.5)));
        assert!(!is_slower(None));
    }
}
