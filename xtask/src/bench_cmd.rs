//! `cargo xtask bench`: run the criterion benchmarks, save or compare a baseline, and print a
//! table of times and changes with regressions flagged.
//!
//! A change is flagged as a regression when the whole 95% confidence interval of the relative
//! change in mean time, as criterion estimates it against the baseline, lies above
//! +`REGRESSION_THRESHOLD` (5%): criterion's own noise threshold (1%) is below the run-to-run
//! noise of a shared 2-core machine.

use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The smallest relative slowdown, at the lower end of its interval, that counts as a
/// regression.
const REGRESSION_THRESHOLD: f64 = 0.05;

/// Flags of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Save the results as this criterion baseline (e.g. `main`).
    #[arg(long)]
    save: Option<String>,
    /// Compare with this saved baseline and flag regressions (exit 1 if any).
    #[arg(long)]
    baseline: Option<String>,
    /// Only this benchmark file: step, sampling, hessian or experiment.
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

/// Runs the benchmarks and prints the table; returns the exit code.
pub fn execute(args: &BenchArgs) -> Result<u8, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["bench", "-p", "aesgd-benches"]);
    match &args.bench {
        Some(bench) => command.args(["--bench", bench]),
        None => command.arg("--benches"),
    };
    command.arg("--");
    if let Some(filter) = &args.filter {
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
    // Only results written by this invocation are reported: `target/criterion` also holds
    // those of earlier runs of other benchmarks, with their own, older comparisons.
    let started = std::time::SystemTime::now();
    let status = command.status().map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if !status.success() {
        return Err(format!("cargo bench failed ({status})"));
    }
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
        let change = args
            .baseline
            .as_ref()
            .and_then(|_| read::<Estimates>(&new.with_file_name("change").join("estimates.json")));
        rows.push((id.full_id, est, change));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    println!("{:<44} {:>12} {:>26} {:>22}", "benchmark", "mean", "95% CI", "change vs baseline");
    let mut regressions = 0;
    for (id, est, change) in &rows {
        let m = &est.mean;
        let change_text = change.as_ref().map_or(String::from("-"), |c| {
            let ci = &c.mean.confidence_interval;
            let flag = if ci.lower_bound > REGRESSION_THRESHOLD {
                regressions += 1;
                "  REGRESSION"
            } else if ci.upper_bound < -REGRESSION_THRESHOLD {
                "  faster"
            } else {
                ""
            };
            format!(
                "{:+.1}% [{:+.1}, {:+.1}]{flag}",
                100.0 * c.mean.point_estimate,
                100.0 * ci.lower_bound,
                100.0 * ci.upper_bound
            )
        });
        println!(
            "{id:<44} {:>12} {:>26} {change_text:>22}",
            human(m.point_estimate),
            format!(
                "[{}, {}]",
                human(m.confidence_interval.lower_bound),
                human(m.confidence_interval.upper_bound)
            ),
        );
    }
    if args.baseline.is_some() {
        println!(
            "{regressions} regression(s): a change counts when its whole 95% interval is above +{:.0}%",
            100.0 * REGRESSION_THRESHOLD
        );
    }
    Ok(u8::from(regressions > 0))
}
