//! Criterion benchmarks of one SGD step (batch draw included) for both engines.
//!
//! Group and benchmark ids are stable (`step/<engine>/d<d>_b<b>`) so saved baselines compare.

use aesgd_core::batch::BatchSampler;
use aesgd_core::data::Data;
use aesgd_core::engine::{DenseEngine, Engine, ReducedEngine};
use aesgd_core::run::{draw_init, run_rng};
use aesgd_core::{Activation, RunConfig, Schedule};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn step(c: &mut Criterion) {
    let n = 100;
    for (engine_name, dims) in [("reduced", vec![100usize, 1000, 10_000]), ("dense", vec![100, 1000])] {
        let mut group = c.benchmark_group(format!("step/{engine_name}"));
        for &d in &dims {
            for b in [1, 10, n / 2, n - 1, n] {
                let config =
                    RunConfig { activation: Activation::Relu, n, d, batch: b, ..RunConfig::default() };
                let data = Data::basis(n, d).expect("valid sizes");
                let w0 = draw_init(&config, &mut run_rng(0, 0));
                let mut engine: Box<dyn Engine> = match engine_name {
                    "reduced" => Box::new(ReducedEngine::new(&data, config.activation, config.eta, &w0)),
                    _ => Box::new(DenseEngine::new(&data, config.activation, config.eta, &w0)),
                };
                let mut sampler = BatchSampler::new(Schedule::Random, n, b);
                let mut rng = run_rng(1, 0);
                group.bench_function(BenchmarkId::from_parameter(format!("d{d}_b{b}")), |bencher| {
                    bencher.iter(|| {
                        let batch = sampler.next(&mut rng);
                        engine.step(black_box(&batch));
                    });
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, step);
criterion_main!(benches);
