//! `cargo xtask run`: a grid of batch sizes times seeds, run in parallel.
//!
//! Run `k` of every batch size uses random stream `k` of `--seed`, so different batch sizes see
//! the same data and the same `w_0` seed by seed (paired comparisons). Results are printed in a
//! fixed order whatever the thread count.

use aesgd_core::config::DataSpec;
use aesgd_core::run::Interrupt;
use aesgd_core::{Activation, ConfigError, EngineChoice, RunConfig, Schedule};
use aesgd_experiment::{ExperimentError, Record, Recording, executor};
use aesgd_report::run_table::run_table;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

/// The table's columns, shown by `cargo xtask run --help`.
pub const COLUMNS_HELP: &str = "\
Columns (u_i = <w, x_i> are the data coordinates of the final iterate w):
  outcome   converged (stationarity <= --tol at a check, at a global minimum: loss gap <= 1/(4n)
            on orthonormal data), stationary_not_minimum (at a check, not a global minimum and a
            fixed point: no sample active, e.g. w = 0 or a dead ReLU neuron, or stationarity
            <= --tol * ||w||), max_steps, or diverged (||w|| > 1e10 or NaN)
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
Near w = 0 it is below --tol but not below --tol * ||w||: the run goes on and escapes the saddle.
The summary counts each outcome, and a single data point (K neurons: K data points) only among
converged runs.
Huge and non-finite numbers print as 1.000e300, inf, NaN; a missing value as -.
--json prints every field of every run, one JSON object a line.

Several neurons (--neurons K, K tied rows w_1..w_K, f(x) = W^T sigma(W x), L* = (n-K)/(2n)):
  support   data points carrying weight in diag(W^T W) (above support-threshold^2 x the largest):
            K for K neurons on K distinct points or a mixed-sign group on K points (ReLU; sel
            and distinct_selected tell them apart), or W on a coordinate subspace (linear)
  eff_sup   of diag(W^T W);  cos_w0 = |<W, W_0>_F| / (|W|_F |W_0|_F);  cos_gd (linear only) =
            sqrt(<U^T U, B B^T>_F / (|U^T U|_F |B B^T|_F)), B B^T the predicted full-batch limit
  sel       the selected points joined by +, when every neuron's support is one active point
  trH_lim   at the identified minimum (ReLU: U with each row's coordinates at or below the
            threshold set to 0, null when a row keeps no positive one; linear: the polar factor
            of U = W X); null after divergence or at a stationary point that is not a minimum
  linf      null; --json also gives neurons, selected_points (sorted, one a neuron, null unless
            every neuron selects one), distinct_selected, collisions, dead_neurons, shared_points
            and final_coords (U, K x n row by row); selected, selected_sign, selected_rank and
            linf_ratio are null. For one neuron (neurons 1) those fields are null and
            final_coords is left out: its selected point is selected.

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
    /// Nearly orthogonal data: independent N(0, I/d) columns, drawn per seed (dense engine).
    Gaussian,
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
    /// Activation of the neuron(s).
    #[arg(long, value_enum, default_value = "relu")]
    activation: ActivationArg,
    /// Number of tied neurons K in 1..=n (1 is the paper's single neuron; see below).
    #[arg(long, default_value_t = 1)]
    neurons: usize,
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
    /// Converged when the stationarity of the update in use is at most this (||grad L|| for
    /// full batch, max_i ||grad l_i|| otherwise) at a global minimum; a point that is not one
    /// ends the run as stationary_not_minimum when exactly stationary or at most this times ||w||.
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
            neurons: self.neurons,
            n: self.n,
            d: self.d.unwrap_or(self.n),
            data: match self.data {
                DataArg::Basis => DataSpec::Basis,
                DataArg::Orthonormal => DataSpec::Orthonormal,
                DataArg::Gaussian => DataSpec::Gaussian,
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

/// Runs the grid and prints it.
pub fn execute(args: &RunArgs) -> Result<(), String> {
    let (base, records) = run_grid(args)?;
    if args.json {
        for r in &records {
            println!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
        }
    } else {
        print!("{}", run_table(&base, &records));
    }
    Ok(())
}

/// Validates the flags and runs every (batch size, seed) pair on the current rayon pool, in a
/// fixed output order, with a progress bar on stderr.
fn run_grid(args: &RunArgs) -> Result<(RunConfig, Vec<Record>), String> {
    let base = args.base_config();
    let mut configs = Vec::new();
    for b in args.batches() {
        let config = RunConfig { batch: b, ..base.clone() };
        config.validate().map_err(|e| explain(&e))?;
        configs.push(config);
    }
    let bar = ProgressBar::new((configs.len() as u64).saturating_mul(args.seeds)).with_style(
        ProgressStyle::with_template("{spinner} runs {pos}/{len} [{elapsed_precise}, eta {eta}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let records = executor::run_grid(
        &configs,
        args.seed,
        args.seeds,
        Recording::Off,
        &|| bar.inc(1),
        &Interrupt::new(),
    );
    bar.finish_and_clear();
    let records = records.map_err(|e| match e {
        ExperimentError::Config(c) => explain(&c),
        ExperimentError::Argument { name, value, allowed } => format!("invalid --{name} {value}: {allowed}"),
        other => other.to_string(),
    })?;
    Ok((base, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aesgd_experiment::vocabulary::OutcomeKind;
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

    #[test]
    fn gaussian_data_runs_from_the_command_line_as_in_specs() {
        let (base, records) = run_grid(&parse(&[
            "--n", "4", "--d", "16", "--data", "gaussian", "--batch", "1,4", "--seeds", "2", "--steps",
            "2000",
        ]))
        .unwrap();
        assert_eq!(base.data.name(), "gaussian");
        assert_eq!(records.len(), 4);
        assert!(records.iter().all(|r| r.data == "gaussian" && r.engine == "dense"));
    }

    #[test]
    fn errors_name_the_flag() {
        let message = run_grid(&parse(&["--n", "5", "--batch", "6"])).unwrap_err();
        assert!(message.contains("--batch 6") && message.contains("1..=5"), "{message}");
        let message = run_grid(&parse(&["--seeds", "0"])).unwrap_err();
        assert_eq!(message, "invalid --seeds 0: must be at least 1");
        let message = run_grid(&parse(&["--steps", "0"])).unwrap_err();
        assert!(message.contains("--steps 0"), "{message}");
        let message = run_grid(&parse(&["--tol", "-1"])).unwrap_err();
        assert!(message.contains("--tol -1"), "{message}");
        let message = run_grid(&parse(&["--n", "30", "--d", "10"])).unwrap_err();
        assert!(message.contains("--n 30") && message.contains("n <= d"), "{message}");
        for k in ["0", "6"] {
            let message = run_grid(&parse(&["--n", "5", "--neurons", k])).unwrap_err();
            assert!(message.contains(&format!("--neurons {k}")) && message.contains("1..=5"), "{message}");
        }
    }

    #[test]
    fn several_neurons_run_from_the_command_line_as_the_library_runs_them() {
        let flags = ["--n", "6", "--neurons", "2", "--batch", "1,6", "--seeds", "2", "--steps", "200000"];
        let (base, records) = run_grid(&parse(&flags)).unwrap();
        assert_eq!(base.neurons, 2);
        assert_eq!(records.len(), 4);
        for r in &records {
            assert_eq!(r.neurons, 2);
            let config = RunConfig { batch: r.batch, ..base.clone() };
            let again = executor::run_one(&config, Recording::Off, 0, r.run_index).unwrap();
            assert_eq!(Record { wall_seconds: 0.0, ..again }, Record { wall_seconds: 0.0, ..r.clone() });
            assert_eq!(r.final_coords.as_ref().map(Vec::len), Some(12));
            // Every field the help promises has a value in the JSON line; at b = 1 each of the
            // two neurons selects its own point.
            let line = serde_json::to_value(r).unwrap();
            // (Full batch may end at the budget, slowly giving up a shared point.)
            assert_ne!(r.outcome, OutcomeKind::Diverged, "{line}");
            for field in ["neurons", "distinct_selected", "collisions", "dead_neurons", "shared_points"] {
                assert!(!line[field].is_null(), "{field} is null in {line}");
            }
            if r.batch == 1 {
                assert_eq!(r.outcome, OutcomeKind::Converged, "{line}");
                assert_eq!(line["selected_points"].as_array().map(Vec::len), Some(2), "{line}");
                assert_eq!(line["distinct_selected"], 2, "{line}");
            }
        }
        // One neuron's JSON line has them as null, and no final_coords.
        let (_, one) =
            run_grid(&parse(&["--n", "4", "--batch", "2", "--seeds", "1", "--steps", "1000"])).unwrap();
        let line = serde_json::to_value(&one[0]).unwrap();
        assert_eq!(line["neurons"], 1);
        assert!(line["selected_points"].is_null() && line["dead_neurons"].is_null(), "{line}");
        assert!(line.get("final_coords").is_none(), "{line}");
    }
}
