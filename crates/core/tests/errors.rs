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
