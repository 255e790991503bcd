//! End to end: one run to convergence, and a sweep of 16 runs on 1 and on 2 threads
//! (`experiment/...`; the sweep ratio is the parallel speed-up).

use aesgd_core::{Activation, RunConfig, run};
use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;
use std::hint::black_box;

fn config() -> RunConfig {
    RunConfig { activation: Activation::Relu, n: 20, d: 20, batch: 5, ..RunConfig::default() }
}

fn experiment(c: &mut Criterion) {
    let mut group = c.benchmark_group("experiment");
    group.sample_size(10);
    group.bench_function("run_relu_n20_b5", |b| b.iter(|| black_box(run(&config(), 0, 0).expect("valid"))));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("threads");
        group.bench_function(format!("sweep16_threads{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    (0..16u64)
                        .into_par_iter()
                        .map(|k| run(&config(), 0, k).expect("valid").steps_run)
                        .sum::<u64>()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, experiment);
criterion_main!(benches);
