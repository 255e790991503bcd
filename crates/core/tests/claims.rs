//! The paper's mechanisms at small scale, checked against closed forms derived in the module
//! docs of `model` and `hessian`:
//! - full-batch GD converges to the normalised projection of `w_0` onto its active directions;
//! - `b = 1` and `b = n/2` converge to a single data point (`+-x_k` linear, `x_k` ReLU);
//! - at those limits `lambda_max = 4/n` and `tr H = (d + 4 - |A|) / n`;
//! - a huge step is reported as diverged, not as a panic or a NaN average.

mod common;

use aesgd_core::model::gd_limit_coords;
use aesgd_core::{Activation, DataSpec, Outcome, RunConfig, Schedule, run};
use common::max_abs_diff;

fn config(activation: Activation, n: usize, d: usize, batch: usize) -> RunConfig {
    RunConfig { activation, n, d, batch, eta: 0.2, max_steps: 20_000_000, ..RunConfig::default() }
}

#[test]
fn full_batch_converges_to_the_predicted_projection() {
    for activation in [Activation::Linear, Activation::Relu] {
        for data in [DataSpec::Basis, DataSpec::Orthonormal] {
            for seed in 0..4 {
                let c = RunConfig { data: data.clone(), ..config(activation, 12, 16, 12) };
                let r = run(&c, seed, 0).unwrap();
                assert!(matches!(r.outcome, Outcome::Converged { .. }), "{activation}: {:?}", r.outcome);
                let predicted = gd_limit_coords(activation, &r.init_coords).expect("some active coordinate");
                let limit = r.limit.as_ref().expect("a limit point");
                assert!(max_abs_diff(&limit.u, &predicted) < 1e-9, "{activation} seed {seed}");
                // The raw iterate is within the tolerance of the same point.
                assert!(max_abs_diff(&r.final_state.u, &predicted) < 1e-8);
                let m = &r.final_metrics;
                assert_eq!(r.sparse_step, None);
                assert!(m.align_gd_limit.unwrap() > 1.0 - 1e-12);
                assert!(m.loss_gap.unwrap() < 1e-15);
                let active = predicted.iter().filter(|&&x| x != 0.0).count();
                assert_eq!(limit.support, active);
                let n = 12.0;
                let trace = (16.0 + 4.0 - active as f64) / n;
                assert!(
                    (limit.hessian_trace - trace).abs() < 1e-12,
                    "trace {} vs {trace}",
                    limit.hessian_trace
                );
                assert!((limit.hessian_lambda_max.unwrap() - 4.0 / n).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn small_batches_converge_to_a_single_data_point() {
    let (n, d) = (10usize, 14usize);
    for activation in [Activation::Linear, Activation::Relu] {
        for batch in [1, n / 2] {
            for seed in 0..4 {
                let r = run(&config(activation, n, d, batch), seed, 0).unwrap();
                assert!(
                    matches!(r.outcome, Outcome::Converged { .. }),
                    "{activation} b={batch}: {:?}",
                    r.outcome
                );
                let m = &r.final_metrics;
                let k = m.selected.expect("support one");
                assert_eq!(m.support, 1);
                if activation == Activation::Relu {
                    assert_eq!(m.selected_sign, Some(1), "ReLU selects +x_k");
                    assert!(r.init_coords[k] > 0.0, "ReLU can only select an initially active point");
                }
                assert!((r.final_state.u[k].abs() - 1.0).abs() < 1e-9);
                assert!(m.linf_ratio > 1.0 - 1e-12);
                let sparse = r.sparse_step.expect("a sparse run has a sparsity step");
                assert!(sparse > 0 && sparse <= r.steps_run, "{sparse} of {}", r.steps_run);
                let limit = r.limit.as_ref().unwrap();
                assert_eq!(limit.support, 1);
                let active = if activation == Activation::Relu { 1 } else { n };
                let trace = (d as f64 + 4.0 - active as f64) / n as f64;
                assert!((limit.hessian_trace - trace).abs() < 1e-12);
                assert!((limit.hessian_lambda_max.unwrap() - 4.0 / n as f64).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn every_random_schedule_selects_a_point_with_small_batches() {
    for schedule in [Schedule::Replacement, Schedule::Epoch] {
        for seed in 0..3 {
            let c = RunConfig { schedule, ..config(Activation::Relu, 8, 8, 2) };
            let r = run(&c, seed, 0).unwrap();
            assert!(matches!(r.outcome, Outcome::Converged { .. }), "{schedule}: {:?}", r.outcome);
            assert_eq!(r.final_metrics.support, 1, "{schedule}");
        }
    }
}

/// Cyclic batches are fixed blocks when `b` divides `n`: members of a block are always rescaled
/// together, so the run converges to a minimum supported inside one block (a fixed point of
/// every window), not necessarily a single point. When the windows overlap (`b` does not divide
/// `n`), a single data point is selected.
#[test]
fn cyclic_schedule_selects_a_block_or_a_point() {
    for seed in 0..4 {
        let c = RunConfig { schedule: Schedule::Cyclic, ..config(Activation::Relu, 8, 8, 2) };
        let r = run(&c, seed, 0).unwrap();
        assert!(matches!(r.outcome, Outcome::Converged { .. }), "{:?}", r.outcome);
        let support: Vec<usize> = (0..8).filter(|&i| r.final_state.u[i] > 1e-6).collect();
        assert!(!support.is_empty() && support.len() <= 2, "{support:?}");
        assert_eq!(support[0] / 2, support[support.len() - 1] / 2, "support {support:?} spans two blocks");

        let c = RunConfig { schedule: Schedule::Cyclic, ..config(Activation::Relu, 7, 7, 2) };
        let r = run(&c, seed, 0).unwrap();
        assert!(matches!(r.outcome, Outcome::Converged { .. }), "{:?}", r.outcome);
        assert_eq!(r.final_metrics.support, 1);
    }
}

/// ReLU at an SGD limit: the decayed coordinates are tiny but positive, so the raw iterate counts
/// them as active and its trace is smaller than at the limit point, where they are zero.
#[test]
fn relu_trace_at_raw_iterate_differs_from_limit() {
    let (n, d) = (10usize, 10usize);
    let r = run(&config(Activation::Relu, n, d, 1), 0, 0).unwrap();
    let positive = r.final_state.u.iter().filter(|&&x| x > 0.0).count();
    assert!(positive > 1, "some decayed coordinates stay positive");
    let limit = r.limit.unwrap();
    let at_limit = (d as f64 + 3.0) / n as f64;
    let at_iterate = (d as f64 + 4.0 - positive as f64) / n as f64;
    assert!((limit.hessian_trace - at_limit).abs() < 1e-12);
    assert!((r.final_metrics.hessian_trace - at_iterate).abs() < 1e-8);
}

#[test]
fn a_huge_step_is_reported_as_diverged() {
    for activation in [Activation::Linear, Activation::Relu] {
        for batch in [1, 5, 10] {
            if activation == Activation::Relu && batch == 10 {
                continue; // See the next test.
            }
            let c = RunConfig { eta: 1e3, ..config(activation, 10, 10, batch) };
            let r = run(&c, 1, 0).unwrap();
            assert!(
                matches!(r.outcome, Outcome::Diverged { step } if step >= 1),
                "{activation} b={batch}: {:?}",
                r.outcome
            );
            assert!(r.limit.is_none());
        }
    }
}

/// Huge full-batch ReLU steps flip the coordinates negative within a few steps: the neuron is dead, every
/// gradient is zero, and the run stops at a stationary point that is not a minimum, reported as
/// such, not as converged. The loss gap says so: `((1 - 0)^2 + 0) / (2n) = 1 / (2n)`, and no
/// limit point is identified.
#[test]
fn a_huge_full_batch_relu_step_kills_the_neuron() {
    let c = RunConfig { eta: 1e3, check_every: 1, ..config(Activation::Relu, 10, 10, 10) };
    let r = run(&c, 1, 0).unwrap();
    assert!(matches!(r.outcome, Outcome::StationaryNotMinimum { step } if step <= 3), "{:?}", r.outcome);
    assert_eq!(r.outcome.name(), "stationary_not_minimum");
    assert!(r.final_state.u.iter().all(|&x| x <= 0.0));
    assert_eq!(r.final_metrics.loss_gap, Some(1.0 / 20.0));
    assert!(r.limit.is_none());
}

/// Nearly orthogonal Gaussian data runs on the dense engine; the orthonormal closed forms (loss
/// minimum, limit point) are not claimed there.
#[test]
fn gaussian_data_runs_on_the_dense_engine() {
    let c = RunConfig { data: DataSpec::Gaussian, max_steps: 20_000, ..config(Activation::Relu, 5, 200, 1) };
    let r = run(&c, 0, 0).unwrap();
    assert_eq!(r.engine, "dense");
    assert!(r.limit.is_none() && r.final_metrics.loss_gap.is_none());
    assert!(r.final_metrics.norm.is_finite());
    let again = run(&c, 0, 0).unwrap();
    assert_eq!(r.final_state, again.final_state);
}
