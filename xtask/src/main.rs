//! The aesgd command line: `cargo xtask <command>`.
//!
//! This binary is the edge of the workspace: it turns flags into typed configurations, hands
//! them to the experiment library (aesgd-experiment) and the reports (aesgd-report), shows
//! progress on stderr, prints tables or JSON, and chooses exit codes. It holds no numerics and
//! no experiment logic of its own.

mod bench_cmd;
mod repro_cmd;
mod run_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Reproduce and explore Ghosh, Frei, Ha and Yu (JMLR 2025): SGD batch size and feature
/// selection in a single-neuron autoencoder on orthogonal data.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the single-neuron autoencoder with SGD for one or more batch sizes and seeds, and
    /// print one row a run (or one JSON object a line) and a summary per batch size.
    #[command(after_long_help = run_cmd::COLUMNS_HELP)]
    Run(run_cmd::RunArgs),
    /// Reproduce every claim, figure and open question of the paper from the specs in `repro/`:
    /// verdicts with 95% intervals, figures, CSV of every run, REPORT.md. Exits 1 when a claim
    /// fails (with `--check`: when a verdict differs from the committed one). Finished runs are cached in OUT/cache, so an interrupted reproduction resumes.
    Repro(repro_cmd::ReproArgs),
    /// Run the criterion benchmarks (aesgd-benches), optionally saving or comparing a baseline,
    /// and print a table of times and changes; exits 1 when a regression is flagged.
    Bench(bench_cmd::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_cmd::execute(&args).map(|()| 0),
        Command::Repro(args) => repro_cmd::execute(&args),
        Command::Bench(args) => bench_cmd::execute(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
