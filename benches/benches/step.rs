//! One SGD step (batch draw included) for both engines, n = 100, across d and b.
//!
//! Steps are taken the way the runner takes them, `Engine::advance` over a run of steps (the
//! reduced engine keeps its state in registers across them and draws each next batch while it
//! finishes a step; the dense engine's default calls `Engine::step` on each batch).
//!
//! Ids are stable (`step/<engine>/d<d>_b<b>`) so that saved baselines compare.
//!
//! Each timed stretch starts from a fresh initialisation and lasts at most `CHUNK` steps: a run
//! left going for millions of steps past convergence drives its decaying coordinates into
//! subnormal numbers, whose arithmetic is many times slower and not what a run of the
//! reproduction spends its time on (runs stop at convergence, long before that).

use aesgd_core::batch::BatchSampler;
use aesgd_core::data::Data;
use aesgd_core::engine::{DenseEngine, Engine, ReducedEngine};
use aesgd_core::run::{DIVERGED_NORM_SQ, draw_init, run_rng};
use aesgd_core::{Activation, RunConfig, Schedule};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: usize = 100;
const CHUNK: u64 = 20_000;

fn bench_engine(c: &mut Criterion, name: &str, dims: &[usize]) {
    let mut group = c.benchmark_group(format!("step/{name}"));
    for &d in dims {
        let data = Data::basis(N, d).expect("valid sizes");
        for b in [1, 10, N / 2, N - 1, N] {
            let config =
                RunConfig { activation: Activation::Relu, n: N, d, batch: b, ..RunConfig::default() };
            let w0 = draw_init(&config, &mut run_rng(0, 0));
            group.bench_function(BenchmarkId::from_parameter(format!("d{d}_b{b}")), |bencher| {
                bencher.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    let mut rng = run_rng(1, 0);
                    while left > 0 {
                        let chunk = left.min(CHUNK);
                        let mut engine: Box<dyn Engine> = match name {
                            "reduced" => {
                                Box::new(ReducedEngine::new(&data, config.activation, config.eta, &w0))
                            }
                            _ => Box::new(DenseEngine::new(&data, config.activation, config.eta, &w0)),
                        };
                        let mut sampler = BatchSampler::new(Schedule::Random, N, b);
                        let start = Instant::now();
                        let taken =
                            engine.advance(&mut sampler, &mut rng, black_box(chunk), DIVERGED_NORM_SQ);
                        total += start.elapsed();
                        assert_eq!(taken, chunk, "the benchmark run diverged");
                        left -= chunk;
                    }
                    total
                });
            });
        }
    }
    group.finish();
}

fn step(c: &mut Criterion) {
    bench_engine(c, "reduced", &[100, 1000, 10_000]);
    bench_engine(c, "dense", &[100, 1000, 10_000]);
}

criterion_group!(benches, step);
criterion_main!(benches);
