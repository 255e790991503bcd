//! The exact Hessian: the d x d matrix, its eigenvalues (faer), the closed-form trace, and the
//! reduced spectrum on orthonormal data (`hessian/<what>/d<d>` or `n<n>`).

use aesgd_core::Activation;
use aesgd_core::data::Data;
use aesgd_core::hessian::{hessian, hessian_trace, reduced_spectrum};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use faer::Side;
use std::hint::black_box;

fn point(d: usize) -> Vec<f64> {
    (0..d).map(|i| 0.3 + 0.5 * ((i * 7919) % 13) as f64 / 13.0).map(|x| x / (d as f64).sqrt()).collect()
}

fn hessians(c: &mut Criterion) {
    let mut group = c.benchmark_group("hessian");
    for d in [100usize, 500] {
        let data = Data::basis(d / 2, d).expect("valid sizes");
        let w = point(d);
        group.bench_function(BenchmarkId::new("build", format!("d{d}")), |b| {
            b.iter(|| black_box(hessian(&data, Activation::Relu, &w)));
        });
        let h = hessian(&data, Activation::Relu, &w);
        group.bench_function(BenchmarkId::new("eigenvalues", format!("d{d}")), |b| {
            b.iter(|| black_box(h.self_adjoint_eigenvalues(Side::Lower).expect("converges")));
        });
    }
    for d in [100usize, 1000, 10_000] {
        let data = Data::basis(100, d).expect("valid sizes");
        let w = point(d);
        group.bench_function(BenchmarkId::new("trace", format!("d{d}")), |b| {
            b.iter(|| black_box(hessian_trace(&data, Activation::Relu, &w)));
        });
    }
    for n in [20usize, 100] {
        let u = point(n);
        group.bench_function(BenchmarkId::new("reduced_spectrum", format!("n{n}")), |b| {
            b.iter(|| black_box(reduced_spectrum(Activation::Relu, &u, 0.1, 10 * n)));
        });
    }
    group.finish();
}

criterion_group!(benches, hessians);
criterion_main!(benches);
