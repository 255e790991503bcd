//! Drawing one batch under each schedule (`sample/<schedule>/n<n>_b<b>`).

use aesgd_core::Schedule;
use aesgd_core::batch::BatchSampler;
use aesgd_core::run::run_rng;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn sampling(c: &mut Criterion) {
    for schedule in [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic] {
        let mut group = c.benchmark_group(format!("sample/{schedule}"));
        for n in [100usize, 10_000] {
            for b in [1, 10, n / 2, n - 1] {
                let mut sampler = BatchSampler::new(schedule, n, b);
                let mut rng = run_rng(2, 0);
                group.bench_function(BenchmarkId::from_parameter(format!("n{n}_b{b}")), |bencher| {
                    bencher.iter(|| black_box(sampler.next(&mut rng).size));
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, sampling);
criterion_main!(benches);
