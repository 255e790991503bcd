//! Runs `g` runs of n = d = 100, ReLU, random batches of size `b` for `steps` steps each
//! (`--tol 1e-300`: none converges), as one group (`run_group`) or, with `alone`, one after
//! the other (`run`), and prints the run-steps per second. For instruction counts per run-step
//! under callgrind (benches/README.md, "Session 5: grouped runs"):
//!
//! ```sh
//! cargo run --release -p aesgd-benches --example group_steps -- <g> <b> <steps> [alone]
//! ```

use aesgd_core::run::{NoObserver, Observer, run, run_group};
use aesgd_core::{Activation, RunConfig};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |k: usize, default: u64| args.get(k).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (g, b, steps) = (number(0, 4) as usize, number(1, 99) as usize, number(2, 1_000_000));
    let alone = args.get(3).is_some_and(|a| a == "alone");
    let config = RunConfig {
        activation: Activation::Relu,
        n: 100,
        d: 100,
        batch: b,
        max_steps: steps,
        grad_tol: 1e-300,
        ..RunConfig::default()
    };
    let start = Instant::now();
    let taken: u64 = if alone {
        (0..g as u64).map(|i| run(&config, 1, i).map_or(0, |r| r.steps_run)).sum()
    } else {
        let mut observers = vec![NoObserver; g];
        let mut runs: Vec<(u64, &mut dyn Observer)> =
            observers.iter_mut().enumerate().map(|(i, o)| (i as u64, o as &mut dyn Observer)).collect();
        run_group(&config, 1, &mut runs).iter().map(|r| r.as_ref().map_or(0, |r| r.steps_run)).sum()
    };
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "g {g} b {b} steps {steps} alone {alone}: {taken} run-steps in {seconds:.3} s, {:.3e} run-steps/s, {:.2} ns a run-step",
        taken as f64 / seconds,
        seconds * 1e9 / taken as f64
    );
}
