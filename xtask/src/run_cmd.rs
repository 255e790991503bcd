//! `cargo xtask run`: a grid of batch sizes times seeds, run in parallel.
//!
//! Run `k` of every batch size uses random stream `k` of `--seed`, so different batch sizes see
//! the same data and the same `w_0` seed by seed (paired comparisons). Results are printed in a
//! fixed order whatever the thread count.

use aesgd_core::config::DataSpec;
use aesgd_core::{Activation, ConfigError, EngineChoice, Outcome, RunConfig, RunResult, Schedule};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// The table's columns, shown by `cargo xtask run --help`.
pub const COLUMNS_HELP: &str = "\
Columns (u_i = <w, x_i> are the data coordinates of the final iterate w):
  outcome   converged (stationarity <= --tol at a check), max_steps, or diverged (||w|| > 1e10 or NaN)
  steps     steps taken
  loss_gap  L(w) - L*, with L* = (n-1)/(2n) on orthonormal data
  support   number of |u_i| > support-threshold * max_j |u_j|; eff_sup = (sum u^2)^2 / sum u^4
  linf      max |u_i| / ||w||;  cos_w0 = |cos(w, w_0)|;  cos_gd = |cos(w, predicted full-batch limit)|
  sel       the selected data point when the support is one
  trH_lim   Hessian trace at the identified limit point (small coordinates zeroed, renormalised)
  trH_it    Hessian trace at the raw final iterate (differs for ReLU: tiny positive coordinates
            still count as active there)

Stationarity is the largest norm of a batch gradient the schedule can draw: ||grad L|| for full
batch, max_i ||grad l_i|| for random batches, the largest window gradient for cyclic batches.
--json prints every field of every run, one JSON object a line.

Example: ReLU, n = d = 20, every batch size class, 8 seeds:
  cargo xtask run --activation relu --n 20 --batch 1,5,10,19,20 --seeds 8";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ActivationArg {
    Linear,
    Relu,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScheduleArg {
    /// A fresh uniformly random subset each step, without replacement.
    Random,
    /// b independent uniform draws (duplicates count twice).
    Replacement,
    /// Reshuffle every epoch, consecutive windows, incomplete last window dropped.
    Epoch,
    /// The fixed order 0..n-1, consecutive windows wrapping around.
    Cyclic,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DataArg {
    /// The standard basis e_1..e_n.
    Basis,
    /// A random orthonormal set (QR of a Gaussian d x n matrix), drawn per seed.
    Orthonormal,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EngineArg {
    /// Reduced for orthonormal data, dense otherwise.
    Auto,
    /// Ambient coordinates, O(b d) a step.
    Dense,
    /// Data coordinates, O(min(b, n-b)) a step, orthonormal data only.
    Reduced,
}

/// Flags of `cargo xtask run`.
#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct RunArgs {
    /// Activation of the neuron.
    #[arg(long, value_enum, default_value = "relu")]
    activation: ActivationArg,
    /// Number of data points n.
    #[arg(long, default_value_t = 20)]
    n: usize,
    /// Ambient dimension d (default: n).
    #[arg(long)]
    d: Option<usize>,
    /// Batch sizes, comma-separated, each in 1..=n; b = n is full-batch gradient descent.
    /// Default: 1, n/4, n/2, n-1 and n.
    #[arg(long, value_delimiter = ',')]
    batch: Vec<usize>,
    /// Constant step size eta (the mean gradient over the batch is scaled by eta).
    #[arg(long, default_value_t = 0.1)]
    eta: f64,
    /// Step budget: a run that has not converged by then ends as max_steps.
    #[arg(long, default_value_t = 100_000_000)]
    steps: u64,
    /// Number of seeds (runs) for every batch size.
    #[arg(long, default_value_t = 4)]
    seeds: u64,
    /// Experiment seed; run k uses random stream k of this seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How batches are drawn.
    #[arg(long, value_enum, default_value = "random")]
    schedule: ScheduleArg,
    /// The data set.
    #[arg(long, value_enum, default_value = "basis")]
    data: DataArg,
    /// Initialisation scale s: w_0 ~ N(0, s^2/d I).
    #[arg(long, default_value_t = 0.5)]
    init_scale: f64,
    /// SGD engine.
    #[arg(long, value_enum, default_value = "auto")]
    engine: EngineArg,
    /// Converged when the stationarity of the update in use is at most this: ||grad L|| for
    /// full batch, max_i ||grad l_i|| otherwise.
    #[arg(long, default_value_t = 1e-10)]
    tol: f64,
    /// Check convergence every this many steps.
    #[arg(long, default_value_t = 1000)]
    check_every: u64,
    /// A coordinate counts in the support when |u_i| > this times max_j |u_j|.
    #[arg(long, default_value_t = 1e-6)]
    support_threshold: f64,
    /// Print one JSON object a line, one a run, instead of the table.
    #[arg(long)]
    json: bool,
}

/// The flag that sets a core config field, for error messages.
fn flag_of(field: &str) -> String {
    match field {
        "max_steps" => "--steps".into(),
        "grad_tol" => "--tol".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

fn explain(error: &ConfigError) -> String {
    format!("invalid {} {}: {}", flag_of(error.field), error.value, error.allowed)
}

impl RunArgs {
    fn base_config(&self) -> RunConfig {
        RunConfig {
            activation: match self.activation {
                ActivationArg::Linear => Activation::Linear,
                ActivationArg::Relu => Activation::Relu,
            },
            n: self.n,
            d: self.d.unwrap_or(self.n),
            data: match self.data {
                DataArg::Basis => DataSpec::Basis,
                DataArg::Orthonormal => DataSpec::Orthonormal,
            },
            init_scale: self.init_scale,
            batch: self.n,
            eta: self.eta,
            schedule: match self.schedule {
                ScheduleArg::Random => Schedule::Random,
                ScheduleArg::Replacement => Schedule::Replacement,
                ScheduleArg::Epoch => Schedule::Epoch,
                ScheduleArg::Cyclic => Schedule::Cyclic,
            },
            engine: match self.engine {
                EngineArg::Auto => EngineChoice::Auto,
                EngineArg::Dense => EngineChoice::Dense,
                EngineArg::Reduced => EngineChoice::Reduced,
            },
            max_steps: self.steps,
            grad_tol: self.tol,
            check_every: self.check_every,
            support_threshold: self.support_threshold,
            ..RunConfig::default()
        }
    }

    fn batches(&self) -> Vec<usize> {
        if !self.batch.is_empty() {
            return self.batch.clone();
        }
        let n = self.n.max(1);
        let mut b = vec![1, n / 4, n / 2, n - 1, n];
        b.retain(|&x| x >= 1);
        b.sort_unstable();
        b.dedup();
        b
    }
}

/// One run as a JSON line.
#[derive(Debug, Serialize)]
struct RunRecord {
    seed: u64,
    run_index: u64,
    activation: &'static str,
    n: usize,
    d: usize,
    batch: usize,
    eta: f64,
    schedule: &'static str,
    data: &'static str,
    engine: &'static str,
    steps_run: u64,
    outcome: &'static str,
    outcome_step: Option<u64>,
    stationarity: f64,
    loss_gap: Option<f64>,
    norm: f64,
    support: usize,
    linf_ratio: f64,
    effective_support: f64,
    align_init: f64,
    align_gd_limit: Option<f64>,
    selected: Option<usize>,
    selected_sign: Option<i8>,
    limit_support: Option<usize>,
    hessian_trace_limit: Option<f64>,
    hessian_lambda_max_limit: Option<f64>,
    hessian_trace_iterate: f64,
    wall_seconds: f64,
}

fn record(config: &RunConfig, result: &RunResult, wall_seconds: f64) -> RunRecord {
    let m = &result.final_metrics;
    RunRecord {
        seed: result.seed,
        run_index: result.run_index,
        activation: config.activation.name(),
        n: config.n,
        d: config.d,
        batch: config.batch,
        eta: config.eta,
        schedule: config.schedule.name(),
        data: config.data.name(),
        engine: result.engine,
        steps_run: result.steps_run,
        outcome: result.outcome.name(),
        outcome_step: match result.outcome {
            Outcome::Converged { step } | Outcome::Diverged { step } => Some(step),
            Outcome::MaxSteps => None,
        },
        stationarity: result.final_stationarity,
        loss_gap: m.loss_gap,
        norm: m.norm,
        support: m.support,
        linf_ratio: m.linf_ratio,
        effective_support: m.effective_support,
        align_init: m.align_init,
        align_gd_limit: m.align_gd_limit,
        selected: m.selected,
        selected_sign: m.selected_sign,
        limit_support: result.limit.as_ref().map(|l| l.support),
        hessian_trace_limit: result.limit.as_ref().map(|l| l.hessian_trace),
        hessian_lambda_max_limit: result.limit.as_ref().and_then(|l| l.hessian_lambda_max),
        hessian_trace_iterate: m.hessian_trace,
        wall_seconds,
    }
}

/// Runs the grid and prints it.
pub fn execute(args: &RunArgs) -> Result<(), String> {
    let (base, records) = run_grid(args)?;
    if args.json {
        for r in &records {
            println!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
        }
    } else {
        print_table(&base, &records);
    }
    Ok(())
}

/// Validates the flags and runs every (batch size, seed) pair on the current rayon pool, in a
/// fixed output order.
fn run_grid(args: &RunArgs) -> Result<(RunConfig, Vec<RunRecord>), String> {
    let base = args.base_config();
    let mut configs = Vec::new();
    for b in args.batches() {
        let config = RunConfig { batch: b, ..base.clone() };
        config.validate().map_err(|e| explain(&e))?;
        configs.push(config);
    }
    if args.seeds == 0 {
        return Err("invalid --seeds 0: must be at least 1".into());
    }
    let jobs: Vec<(usize, u64)> =
        (0..configs.len()).flat_map(|c| (0..args.seeds).map(move |k| (c, k))).collect();
    let bar = ProgressBar::new(jobs.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} runs {pos}/{len} [{elapsed_precise}, eta {eta}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let outputs: Vec<Result<RunRecord, String>> = jobs
        .par_iter()
        .map(|&(c, k)| {
            let started = Instant::now();
            let result = aesgd_core::run(&configs[c], args.seed, k).map_err(|e| explain(&e));
            bar.inc(1);
            result.map(|r| record(&configs[c], &r, started.elapsed().as_secs_f64()))
        })
        .collect();
    bar.finish_and_clear();
    let records = outputs.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((base, records))
}

fn fmt_opt(x: Option<f64>, precision: usize) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.precision$}"))
}

fn print_table(base: &RunConfig, records: &[RunRecord]) {
    println!(
        "# {} autoencoder, n = {}, d = {}, eta = {}, schedule = {}, data = {}, init scale = {}",
        base.activation,
        base.n,
        base.d,
        base.eta,
        base.schedule,
        base.data.name(),
        base.init_scale
    );
    println!(
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
        println!(
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
            fmt_opt(r.align_gd_limit, 3),
            r.selected.map_or_else(|| "-".into(), |k| k.to_string()),
            fmt_opt(r.hessian_trace_limit, 4),
            r.hessian_trace_iterate,
            r.wall_seconds,
        );
    }
    println!();
    println!("# summary per batch size (counts over seeds; ranges are min..max over seeds)");
    let mut batches: Vec<usize> = records.iter().map(|r| r.batch).collect();
    batches.dedup();
    for b in batches {
        let rows: Vec<&RunRecord> = records.iter().filter(|r| r.batch == b).collect();
        let total = rows.len();
        let count = |f: &dyn Fn(&RunRecord) -> bool| rows.iter().filter(|r| f(r)).count();
        let range = |f: &dyn Fn(&RunRecord) -> f64, precision: usize| {
            let values: Vec<f64> = rows.iter().map(|r| f(r)).collect();
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.precision$}..{hi:.precision$}")
        };
        println!(
            "batch {b:>4}: converged {}/{total}, diverged {}/{total}, single data point {}/{total}; support {}; cos(w, w0) {}; trH(limit) {}",
            count(&|r| r.outcome == "converged"),
            count(&|r| r.outcome == "diverged"),
            count(&|r| r.support == 1),
            range(&|r| r.support as f64, 0),
            range(&|r| r.align_init, 3),
            range(&|r| r.hessian_trace_limit.unwrap_or(f64::NAN), 4),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RunArgs,
    }

    fn parse(flags: &[&str]) -> RunArgs {
        let mut argv = vec!["run"];
        argv.extend_from_slice(flags);
        Wrapper::try_parse_from(argv).expect("valid flags").args
    }

    /// Every record as JSON without its wall time, the one field allowed to vary.
    fn without_time(records: &[RunRecord]) -> Vec<serde_json::Value> {
        records
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap();
                v.as_object_mut().unwrap().remove("wall_seconds");
                v
            })
            .collect()
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let args = parse(&["--n", "8", "--batch", "1,4,8", "--seeds", "3", "--data", "orthonormal"]);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| run_grid(&args)).unwrap().1
        };
        let one = without_time(&on(1));
        assert_eq!(one.len(), 9);
        assert_eq!(one, without_time(&on(2)));
    }

    #[test]
    fn errors_name_the_flag() {
        let message = run_grid(&parse(&["--n", "5", "--batch", "6"])).unwrap_err();
        assert!(message.contains("--batch 6") && message.contains("1..=5"), "{message}");
        let message = run_grid(&parse(&["--steps", "0"])).unwrap_err();
        assert!(message.contains("--steps 0"), "{message}");
        let message = run_grid(&parse(&["--tol", "-1"])).unwrap_err();
        assert!(message.contains("--tol -1"), "{message}");
        let message = run_grid(&parse(&["--n", "30", "--d", "10"])).unwrap_err();
        assert!(message.contains("--n 30") && message.contains("n <= d"), "{message}");
    }
}
