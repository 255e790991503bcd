//! Grouped runs: `g` runs of one configuration stepped together in one thread
//! (`aesgd_core::run::run_group`), n = d = 100, ReLU, random batches, across b.
//!
//! Ids are `group/g<g>/d100_b<b>`, and each iteration is one **run-step** (one step of one
//! run), so the time is comparable with `step/reduced/d100_b<b>` and a speed-up of grouping
//! reads directly as the ratio of `g1` to `g<g>`. Each timed stretch is a group of `g` fresh
//! runs of at most `CHUNK` steps each (`max_steps`, with `grad_tol` so small that no run
//! converges), timed as a whole: the runner's checks every 1000 steps and the set-up of the
//! runs included, as in a real run. The set-up (the data set's orthonormality check, O(n^2 d),
//! about 0.3 ms a run) is why the stretches are long: at 20 000 steps, the length of
//! `step.rs`'s, it doubled the time of a run-step at b = 99; at 10^6 steps it adds about
//! 0.3 ns. Runs this long stay out of the subnormal regime `step.rs` avoids (measured: the same
//! time a run-step at 10^6 and 2 10^7 steps, b = 10 and 99).

use aesgd_core::run::{NoObserver, Observer, run_group};
use aesgd_core::{Activation, RunConfig};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const N: usize = 100;
const CHUNK: u64 = 1_000_000;

fn group(c: &mut Criterion) {
    let mut bench = c.benchmark_group("group");
    for g in [1usize, 2, 4, 8] {
        for b in [1, 10, N / 2, N - 1] {
            bench.throughput(Throughput::Elements(1));
            bench.bench_function(BenchmarkId::new(format!("g{g}"), format!("d100_b{b}")), |bencher| {
                bencher.iter_custom(|iters| {
                    // `iters` run-steps, in groups of `g` runs of up to CHUNK steps each.
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    let mut next_index = 0u64;
                    let mut done = 0u64;
                    while left > 0 {
                        let steps = left.div_ceil(g as u64).min(CHUNK);
                        let config = RunConfig {
                            activation: Activation::Relu,
                            n: N,
                            d: N,
                            batch: b,
                            max_steps: steps,
                            grad_tol: 1e-300,
                            ..RunConfig::default()
                        };
                        let mut observers = vec![NoObserver; g];
                        let mut runs: Vec<(u64, &mut dyn Observer)> = observers
                            .iter_mut()
                            .enumerate()
                            .map(|(k, o)| (next_index + k as u64, o as &mut dyn Observer))
                            .collect();
                        next_index += g as u64;
                        let start = Instant::now();
                        let results = run_group(&config, 1, &mut runs);
                        total += start.elapsed();
                        for result in &results {
                            let result = result.as_ref().expect("a valid benchmark config");
                            assert_eq!(result.steps_run, steps, "a benchmark run stopped early");
                        }
                        done += steps * g as u64;
                        left = left.saturating_sub(steps * g as u64);
                    }
                    // Per run-step: the last group may take up to `g - 1` more than `iters`.
                    total.mul_f64(iters as f64 / done as f64)
                });
            });
        }
    }
    bench.finish();
}

criterion_group!(benches, group);
criterion_main!(benches);
