//! Every kind of bad input is an error naming the field, the value and what is allowed.

mod common;

use aesgd_core::data::Data;
use aesgd_core::run::{NoObserver, run_rng, solve};
use aesgd_core::{ConfigError, DataSpec, EngineChoice, RunConfig, run};
use faer::Mat;
use std::sync::Arc;

fn rejected(config: &RunConfig) -> ConfigError {
    run(config, 0, 0).expect_err("the config should be rejected")
}

fn assert_names(error: &ConfigError, field: &str, value: &str) {
    assert_eq!(error.field, field, "{error}");
    assert_eq!(error.value, value, "{error}");
    assert!(!error.allowed.is_empty());
    let text = error.to_string();
    assert!(text.contains(field) && text.contains(value), "{text}");
}

#[test]
fn bad_batch_sizes() {
    let e = rejected(&RunConfig { batch: 0, ..RunConfig::default() });
    assert_names(&e, "batch", "0");
    assert!(e.allowed.contains("1..=20"), "{e}");
    assert_names(&rejected(&RunConfig { batch: 21, ..RunConfig::default() }), "batch", "21");
}

#[test]
fn more_points_than_dimensions_for_orthonormal_data() {
    for data in [DataSpec::Basis, DataSpec::Orthonormal] {
        let e = rejected(&RunConfig { n: 30, d: 20, batch: 1, data, ..RunConfig::default() });
        assert_names(&e, "n", "30");
        assert!(e.allowed.contains("n <= d"), "{e}");
    }
    assert!(Data::basis(5, 3).is_err());
    assert!(Data::random_orthonormal(5, 3, &mut common::rng(0)).is_err());
}

#[test]
fn bad_step_sizes_and_scales() {
    for eta in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert_names(&rejected(&RunConfig { eta, ..RunConfig::default() }), "eta", &eta.to_string());
    }
    assert_names(&rejected(&RunConfig { init_scale: 0.0, ..RunConfig::default() }), "init_scale", "0");
    assert_names(&rejected(&RunConfig { grad_tol: -1.0, ..RunConfig::default() }), "grad_tol", "-1");
    assert_names(
        &rejected(&RunConfig { support_threshold: 1.5, ..RunConfig::default() }),
        "support_threshold",
        "1.5",
    );
}

#[test]
fn zero_counts() {
    assert_names(&rejected(&RunConfig { max_steps: 0, ..RunConfig::default() }), "max_steps", "0");
    assert_names(&rejected(&RunConfig { check_every: 0, ..RunConfig::default() }), "check_every", "0");
    assert_names(&rejected(&RunConfig { n: 0, ..RunConfig::default() }), "n", "0");
    assert_names(&rejected(&RunConfig { d: 0, ..RunConfig::default() }), "d", "0");
}

#[test]
fn n_beyond_32_bit_indices() {
    // Batch indices are drawn as 32-bit integers; validation stops before any allocation.
    let n = 1usize << 32;
    let e = rejected(&RunConfig { n, d: n, batch: 1, ..RunConfig::default() });
    assert_names(&e, "n", &n.to_string());
}

#[test]
fn non_orthonormal_data_forced_onto_the_reduced_engine() {
    let x = Arc::new(common::gaussian_data(3, 5, 1).matrix().clone());
    let config = RunConfig { n: 3, d: 5, batch: 1, data: DataSpec::Matrix(x), ..RunConfig::default() };
    let e = rejected(&RunConfig { engine: EngineChoice::Reduced, ..config.clone() });
    assert_names(&e, "engine", "reduced");
    assert!(e.allowed.contains("orthonormal"), "{e}");
    // Auto picks the dense engine for the same data.
    let r = run(&RunConfig { max_steps: 10, ..config }, 0, 0).unwrap();
    assert_eq!(r.engine, "dense");
}

#[test]
fn bad_matrices() {
    let e = rejected(&RunConfig {
        n: 3,
        d: 5,
        batch: 1,
        data: DataSpec::Matrix(Arc::new(Mat::zeros(4, 3))),
        ..RunConfig::default()
    });
    assert_names(&e, "data", "a 4 x 3 matrix");
    let mut x = Mat::<f64>::identity(4, 3);
    x[(2, 1)] = f64::NAN;
    let e = Data::from_matrix(x).unwrap_err();
    assert_eq!(e.field, "data");
    assert!(e.value.contains("NaN") && e.value.contains("row 2, column 1"), "{e}");
    let mut x = Mat::<f64>::identity(4, 3);
    x[(2, 2)] = 0.0;
    assert!(Data::from_matrix(x).unwrap_err().value.contains("column 2 is zero"));
    assert!(Data::from_matrix(Mat::zeros(0, 0)).is_err());
}

#[test]
fn mismatched_data_and_initial_point() {
    let config = RunConfig { n: 3, d: 5, batch: 1, ..RunConfig::default() };
    let data = Data::basis(3, 4).unwrap();
    let e = solve(&config, &data, &[0.1; 4], &mut run_rng(0, 0), &mut NoObserver).unwrap_err();
    assert_eq!(e.field, "data");
    let data = Data::basis(3, 5).unwrap();
    let e = solve(&config, &data, &[0.1; 4], &mut run_rng(0, 0), &mut NoObserver).unwrap_err();
    assert_eq!(e.field, "init");
    let e = solve(&config, &data, &[0.1, 0.1, f64::NAN, 0.1, 0.1], &mut run_rng(0, 0), &mut NoObserver)
        .unwrap_err();
    assert_eq!(e.field, "init");
}

/// A run whose memory estimate exceeds the limit is refused by validation, quickly and before
/// any allocation, naming the size that drives it, the estimate and the limit.
#[test]
fn sizes_beyond_the_memory_limit_are_refused_before_allocating() {
    use aesgd_core::config::{MAX_RUN_BYTES, bytes_text};
    use std::time::{Duration, Instant};
    let limit = bytes_text(u128::from(MAX_RUN_BYTES));
    assert_eq!(limit, "4.0 GiB");
    let cases = [
        // `cargo xtask run --n 100000`: an 80 GB basis matrix.
        (RunConfig { n: 100_000, d: 100_000, ..RunConfig::default() }, "n", "100000"),
        // A spec with d = 1e9 at n = 6: 48 GB.
        (RunConfig { n: 6, d: 1_000_000_000, batch: 1, ..RunConfig::default() }, "d", "1000000000"),
        (
            RunConfig {
                n: 6,
                d: 1_000_000_000,
                batch: 1,
                data: DataSpec::Orthonormal,
                ..RunConfig::default()
            },
            "d",
            "1000000000",
        ),
        (
            RunConfig { n: 6, d: 1_000_000_000, batch: 1, data: DataSpec::Gaussian, ..RunConfig::default() },
            "d",
            "1000000000",
        ),
        // d x n overflows 64 bits: still an estimate, not a panic.
        (RunConfig { n: 20, d: usize::MAX, ..RunConfig::default() }, "d", &usize::MAX.to_string()),
        // The n x n work dominates: the Hessian block at the limit point.
        (RunConfig { n: 20_000, d: 20_000, batch: 1, ..RunConfig::default() }, "n", "20000"),
    ];
    for (config, field, value) in &cases {
        let start = Instant::now();
        let e = config.validate().expect_err("refused");
        assert_names(&e, field, value);
        assert!(e.allowed.contains(&limit) && e.allowed.contains("needs about"), "{e}");
        let e = rejected(config);
        assert_names(&e, field, value);
        assert!(start.elapsed() < Duration::from_secs(1), "{e}");
    }
    let e = cases[0].0.validate().unwrap_err();
    assert!(e.allowed.contains("223.5 GiB") && e.allowed.contains("d x n data 74.5 GiB"), "{e}");
    assert!(e.allowed.contains("n x n work 149.0 GiB"), "{e}");
    // Near the limit, and every ordinary size, passes.
    let near = RunConfig { n: 10_000, d: 10_000, batch: 1, ..RunConfig::default() };
    assert!(near.memory_estimate().total() > u128::from(MAX_RUN_BYTES) / 2);
    near.validate().unwrap();
    RunConfig::default().validate().unwrap();
}

/// The estimate's parts, in numbers of 8 bytes (see `MemoryEstimate`).
#[test]
fn the_memory_estimate_counts_the_data_the_square_work_and_the_vectors() {
    use aesgd_core::Activation;
    let base = RunConfig { n: 20, d: 30, ..RunConfig::default() };
    let m = base.memory_estimate();
    assert_eq!(m.data_bytes, 8 * 30 * 20);
    assert_eq!(m.square_bytes, 8 * 2 * 21 * 21);
    assert_eq!(m.vector_bytes, 8 * 16 * 50);
    assert_eq!(m.total(), m.data_bytes + m.square_bytes + m.vector_bytes);
    let m = RunConfig { data: DataSpec::Orthonormal, ..base.clone() }.memory_estimate();
    assert_eq!((m.data_bytes, m.square_bytes), (8 * 3 * 600, 8 * (400 + 2 * 441)));
    let m = RunConfig { data: DataSpec::Gaussian, ..base.clone() }.memory_estimate();
    assert_eq!((m.data_bytes, m.square_bytes), (8 * 600, 8 * 400));
    let linear = RunConfig { data: DataSpec::Gaussian, activation: Activation::Linear, ..base.clone() };
    assert_eq!(linear.memory_estimate().square_bytes, 8 * 3 * 400);
    let huge = RunConfig { n: usize::MAX, d: usize::MAX, ..base };
    assert_eq!(huge.memory_estimate().total(), u128::MAX);
}

/// The data constructors check `d x n` with checked multiplication before allocating.
#[test]
fn data_sizes_that_overflow_are_errors_not_panics() {
    let big = usize::MAX / 4;
    let e = Data::basis(big, big).unwrap_err();
    assert_names(&e, "n", &big.to_string());
    let e = Data::random_orthonormal(3, usize::MAX, &mut common::rng(0)).unwrap_err();
    assert_names(&e, "d", &usize::MAX.to_string());
    assert!(e.allowed.contains("does not fit"), "{e}");
    let e = Data::gaussian(usize::MAX, 2, &mut common::rng(0)).unwrap_err();
    assert_names(&e, "n", &usize::MAX.to_string());
    // A d x n product that fits 64 bits but not as bytes.
    let e = Data::gaussian(1 << 31, 1 << 31, &mut common::rng(0)).unwrap_err();
    assert_eq!(e.field, "n");
}
