//! The convergence rule at stationary points that are not minima (module docs of `run`): a run
//! never converges at `w = 0`, at a dead ReLU neuron or at a saddle; it escapes `w ~ 0`; and a
//! true minimum converges at exactly the step of the absolute test alone.

mod common;

use aesgd_core::data::Data;
use aesgd_core::model::{gd_limit_coords, stable_norm};
use aesgd_core::run::{NoObserver, Observer, run_observed, run_rng, solve};
use aesgd_core::{Activation, DataSpec, EngineChoice, Outcome, RunConfig, RunResult, Schedule, run};
use common::max_abs_diff;
use faer::Mat;
use std::sync::Arc;

fn config(activation: Activation, n: usize, d: usize, batch: usize) -> RunConfig {
    RunConfig { activation, n, d, batch, eta: 0.2, max_steps: 20_000_000, ..RunConfig::default() }
}

/// Runs `config` on `data` from `w0`.
fn solved(config: &RunConfig, data: &Data, w0: &[f64]) -> RunResult {
    solve(config, data, w0, &mut run_rng(0, 0), &mut NoObserver).unwrap()
}

fn assert_stationary_at_zero(r: &RunResult, case: &str) {
    assert_eq!(r.outcome, Outcome::StationaryNotMinimum { step: 0 }, "{case}");
    assert_eq!(r.outcome.name(), "stationary_not_minimum");
    assert_eq!(r.steps_run, 0, "{case}");
    assert!(r.limit.is_none(), "{case}: a limit point at a point that is not a minimum");
}

/// With `init_scale = 1e-12` every gradient is below `grad_tol = 1e-10` at step 0, which the
/// absolute test alone took for convergence. The iterate is far from a fixed point relative to
/// its scale, so SGD now escapes the saddle and converges at a global minimum (or, for a ReLU
/// initialisation with no positive coordinate, stops at once as a dead neuron).
#[test]
fn a_tiny_initialisation_escapes_the_saddle_and_converges_at_a_minimum() {
    let (n, d) = (6usize, 8usize);
    let mut dead = 0;
    for activation in [Activation::Linear, Activation::Relu] {
        for batch in [1, 3, n] {
            for (data, engine) in
                [(DataSpec::Basis, EngineChoice::Auto), (DataSpec::Orthonormal, EngineChoice::Dense)]
            {
                for seed in 0..3 {
                    let c = RunConfig {
                        init_scale: 1e-12,
                        data: data.clone(),
                        engine,
                        ..config(activation, n, d, batch)
                    };
                    let r = run(&c, seed, 0).unwrap();
                    let case = format!("{activation} b={batch} {} seed {seed}: {:?}", data.name(), r.outcome);
                    if !r.init_coords.iter().any(|&u| activation.is_active(u)) {
                        assert_stationary_at_zero(&r, &case);
                        dead += 1;
                        continue;
                    }
                    let Outcome::Converged { step } = r.outcome else { panic!("{case}") };
                    assert!(step > 0 && r.steps_run == step, "{case}");
                    let m = &r.final_metrics;
                    assert!(m.loss_gap.unwrap() < 1e-15, "{case}: gap {:?}", m.loss_gap);
                    assert!((m.norm - 1.0).abs() < 1e-9, "{case}");
                    let limit = r.limit.as_ref().expect("a limit point");
                    if batch == n {
                        // Full batch only rescales coordinates: the limit is still the projection.
                        let predicted = gd_limit_coords(activation, &r.init_coords).unwrap();
                        assert!(max_abs_diff(&limit.u, &predicted) < 1e-9, "{case}");
                    } else {
                        assert_eq!(m.support, 1, "{case}");
                    }
                }
            }
        }
    }
    assert!(dead <= 2, "{dead} dead initialisations: the test no longer tests escaping");
}

/// At `init_scale = 1e-300` the squares underflow: `||w||^2` and the stationarity measure read
/// zero although SGD still moves the iterate. The relative test is not made there and the run
/// is not stopped; it escapes and converges, and the alignments stay finite.
#[test]
fn an_underflowing_initialisation_is_not_taken_for_a_fixed_point() {
    let (n, d) = (4usize, 4usize);
    for activation in [Activation::Linear, Activation::Relu] {
        for (batch, engine) in [(1, EngineChoice::Auto), (n, EngineChoice::Auto), (n, EngineChoice::Dense)] {
            for seed in 0..2 {
                let c = RunConfig { init_scale: 1e-300, engine, ..config(activation, n, d, batch) };
                let r = run(&c, seed, 0).unwrap();
                let case = format!("{activation} b={batch} {} seed {seed}: {:?}", r.engine, r.outcome);
                if !r.init_coords.iter().any(|&u| activation.is_active(u)) {
                    assert_stationary_at_zero(&r, &case);
                    continue;
                }
                assert!(matches!(r.outcome, Outcome::Converged { step } if step > 0), "{case}");
                let m = &r.final_metrics;
                assert!(m.loss_gap.unwrap() < 1e-15, "{case}");
                assert!((0.0..=1.0 + 1e-12).contains(&m.align_init), "{case}: {}", m.align_init);
                if batch == n {
                    assert!(m.align_gd_limit.unwrap() > 1.0 - 1e-9, "{case}: {:?}", m.align_gd_limit);
                }
            }
        }
    }
}

/// The norm behind the alignments: scaled where the squares underflow, plain elsewhere.
#[test]
fn the_stable_norm_survives_underflow_and_is_plain_elsewhere() {
    assert!((stable_norm(&[3e-300, -4e-300]) / 5e-300 - 1.0).abs() < 1e-15);
    assert!((stable_norm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
    let x = [0.3, -0.4, 0.1];
    assert_eq!(stable_norm(&x).to_bits(), x.iter().map(|v| v * v).sum::<f64>().sqrt().to_bits());
    assert_eq!(stable_norm(&[0.0, 0.0]), 0.0);
    assert_eq!(stable_norm(&[]), 0.0);
}

/// `cargo xtask run --activation relu --n 1`: a negative initial coordinate is a dead neuron
/// (gradient exactly zero, loss gap `1/(2n)`), never a converged run; a positive one converges.
#[test]
fn a_dead_relu_neuron_with_one_data_point_is_not_converged() {
    let mut seen = [0, 0];
    for seed in 0..8 {
        let c = config(Activation::Relu, 1, 1, 1);
        let r = run(&c, seed, 0).unwrap();
        if r.init_coords[0] < 0.0 {
            assert_stationary_at_zero(&r, &format!("seed {seed}"));
            assert_eq!(r.final_metrics.loss_gap, Some(0.5));
            seen[0] += 1;
        } else {
            assert!(matches!(r.outcome, Outcome::Converged { .. }), "seed {seed}: {:?}", r.outcome);
            assert_eq!(r.final_metrics.selected, Some(0));
            seen[1] += 1;
        }
    }
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
}

/// Every coordinate negative: dead from step 0 on every schedule, engine and data set, including
/// Gaussian-like data where `L*` is unknown (a dead neuron is never a minimum on any data).
#[test]
fn a_dead_relu_neuron_is_stationary_not_a_minimum() {
    let (n, d) = (4usize, 6usize);
    let basis = Data::basis(n, d).unwrap();
    let rotated = Data::random_orthonormal(n, d, &mut common::rng(3)).unwrap();
    for (data, engine) in
        [(&basis, EngineChoice::Auto), (&basis, EngineChoice::Dense), (&rotated, EngineChoice::Auto)]
    {
        // Minus the sum of the data points, plus a part orthogonal to the span.
        let mut w0 = data.combine(&[-0.3, -0.1, -0.2, -0.4]);
        w0[d - 1] += 0.05 * f64::from(u8::from(data.is_orthonormal()));
        for schedule in [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic] {
            for batch in [1, 2, n] {
                let c = RunConfig {
                    data: DataSpec::Basis,
                    engine,
                    schedule,
                    check_every: 7,
                    ..config(Activation::Relu, n, d, batch)
                };
                let r = solved(&c, data, &w0);
                let case = format!("{schedule} b={batch} {}", r.engine);
                assert_stationary_at_zero(&r, &case);
                assert!((r.final_metrics.loss_gap.unwrap() - 1.0 / (2.0 * n as f64)).abs() < 1e-15, "{case}");
            }
        }
    }
    // Non-orthonormal data: L* is unknown for ReLU, the dead neuron is still recognised.
    let x = Mat::from_fn(3, 3, |i, j| if i <= j { 1.0 } else { 0.0 });
    let data = Data::from_matrix(x.clone()).unwrap();
    assert!(!data.is_orthonormal());
    let c = RunConfig { data: DataSpec::Matrix(Arc::new(x)), ..config(Activation::Relu, 3, 3, 1) };
    let r = solved(&c, &data, &[-1.0, -1.0, -1.0]);
    assert_eq!(r.engine, "dense");
    assert_eq!(r.final_metrics.loss_gap, None);
    assert_stationary_at_zero(&r, "upper triangular data");
}

/// `w = 0` is an exact fixed point of every step (every gradient is zero) and not a minimum:
/// the run ends there at once as `stationary_not_minimum`, never as converged. So does a
/// linear neuron with no component in the data span.
#[test]
fn the_rule_never_converges_at_w_zero() {
    let (n, d) = (4usize, 6usize);
    for activation in [Activation::Linear, Activation::Relu] {
        for batch in [1, 2, n] {
            for engine in [EngineChoice::Auto, EngineChoice::Dense] {
                let c = RunConfig { engine, ..config(activation, n, d, batch) };
                let case = format!("{activation} b={batch} {engine:?}");
                let data = Data::basis(n, d).unwrap();
                assert_stationary_at_zero(&solved(&c, &data, &[0.0; 6]), &case);
                let rotated = Data::random_orthonormal(n, d, &mut common::rng(1)).unwrap();
                assert_stationary_at_zero(&solved(&c, &rotated, &[0.0; 6]), &case);
                if activation == Activation::Linear {
                    // Outside the data span: <w, x_i> = 0 for every i.
                    let w0 = [0.0, 0.0, 0.0, 0.0, 0.6, -0.8];
                    let r = solved(&c, &data, &w0);
                    assert_stationary_at_zero(&r, &case);
                    assert_eq!(r.final_metrics.loss_gap, Some(1.0 / (2.0 * n as f64)));
                }
            }
        }
    }
}

/// Linear activation on orthogonal, not orthonormal data `X = diag(2, 1)`: `X X^T` has
/// eigenvalues 4 and 1, `e_1` is the minimum and `e_2` a saddle with loss gap
/// `(4 - 1) / (2n) = 0.75`, where every gradient is exactly zero. The saddle ends the run, the
/// minimum converges at once, and a start near the saddle escapes it to the minimum.
#[test]
fn a_saddle_on_other_data_is_not_a_minimum() {
    let x = Mat::from_fn(2, 2, |i, j| if i == j { [2.0, 1.0][i] } else { 0.0 });
    let data = Data::from_matrix(x.clone()).unwrap();
    assert!(!data.is_orthonormal());
    for batch in [1, 2] {
        let c = RunConfig {
            data: DataSpec::Matrix(Arc::new(x.clone())),
            eta: 0.05,
            ..config(Activation::Linear, 2, 2, batch)
        };
        let r = solved(&c, &data, &[0.0, 1.0]);
        assert_stationary_at_zero(&r, &format!("b={batch} at the saddle"));
        assert!((r.final_metrics.loss_gap.unwrap() - 0.75).abs() < 1e-15);
        let r = solved(&c, &data, &[1.0, 0.0]);
        assert_eq!(r.outcome, Outcome::Converged { step: 0 }, "b={batch} at the minimum");
        if batch == 2 {
            let r = solved(&c, &data, &[1e-3, 1.0]);
            assert!(matches!(r.outcome, Outcome::Converged { step } if step > 0), "{:?}", r.outcome);
            assert!(r.final_metrics.loss_gap.unwrap() < 1e-15);
            assert!((r.final_state.u[0].abs() - 2.0).abs() < 1e-9, "{:?}", r.final_state.u);
        }
    }
}

/// The steps at which these runs converged before the relative test and the minimum test
/// existed (measured with the absolute test alone, `check_every = 1`): unchanged.
#[test]
fn a_true_minimum_converges_at_the_same_step_as_before() {
    use Activation::{Linear, Relu};
    use Schedule::{Cyclic, Epoch, Random, Replacement};
    let pinned = [
        (Linear, Random, 1, DataSpec::Basis, EngineChoice::Auto, 3330),
        (Linear, Random, 1, DataSpec::Orthonormal, EngineChoice::Dense, 4070),
        (Linear, Random, 3, DataSpec::Basis, EngineChoice::Auto, 16738),
        (Linear, Random, 3, DataSpec::Orthonormal, EngineChoice::Dense, 14010),
        (Linear, Random, 6, DataSpec::Basis, EngineChoice::Auto, 593),
        (Linear, Random, 6, DataSpec::Orthonormal, EngineChoice::Dense, 616),
        (Linear, Random, 6, DataSpec::Gaussian, EngineChoice::Auto, 891),
        (Linear, Cyclic, 2, DataSpec::Basis, EngineChoice::Auto, 6943),
        (Linear, Cyclic, 2, DataSpec::Orthonormal, EngineChoice::Dense, 7161),
        (Linear, Cyclic, 4, DataSpec::Basis, EngineChoice::Auto, 27158),
        (Linear, Cyclic, 4, DataSpec::Orthonormal, EngineChoice::Dense, 27459),
        (Linear, Epoch, 2, DataSpec::Basis, EngineChoice::Auto, 9088),
        (Linear, Epoch, 2, DataSpec::Orthonormal, EngineChoice::Dense, 9142),
        (Linear, Replacement, 6, DataSpec::Basis, EngineChoice::Auto, 32257),
        (Linear, Replacement, 6, DataSpec::Orthonormal, EngineChoice::Dense, 30186),
        (Relu, Random, 1, DataSpec::Basis, EngineChoice::Auto, 2600),
        (Relu, Random, 1, DataSpec::Orthonormal, EngineChoice::Dense, 3444),
        (Relu, Random, 3, DataSpec::Basis, EngineChoice::Auto, 13755),
        (Relu, Random, 3, DataSpec::Orthonormal, EngineChoice::Dense, 10657),
        (Relu, Random, 6, DataSpec::Basis, EngineChoice::Auto, 630),
        (Relu, Random, 6, DataSpec::Orthonormal, EngineChoice::Dense, 638),
        (Relu, Random, 6, DataSpec::Gaussian, EngineChoice::Auto, 1044),
        (Relu, Cyclic, 2, DataSpec::Basis, EngineChoice::Auto, 6528),
        (Relu, Cyclic, 2, DataSpec::Orthonormal, EngineChoice::Dense, 6746),
        (Relu, Cyclic, 4, DataSpec::Basis, EngineChoice::Auto, 25241),
        (Relu, Cyclic, 4, DataSpec::Orthonormal, EngineChoice::Dense, 26335),
        (Relu, Epoch, 2, DataSpec::Basis, EngineChoice::Auto, 8315),
        (Relu, Epoch, 2, DataSpec::Orthonormal, EngineChoice::Dense, 8783),
        (Relu, Replacement, 6, DataSpec::Basis, EngineChoice::Auto, 18208),
        (Relu, Replacement, 6, DataSpec::Orthonormal, EngineChoice::Dense, 18190),
    ];
    for (activation, schedule, batch, data, engine, step) in pinned {
        let c = RunConfig {
            schedule,
            data: data.clone(),
            engine,
            max_steps: 200_000,
            check_every: 1,
            ..config(activation, 6, 8, batch)
        };
        let mut checks = FirstPassing::default();
        let r = run_observed(&c, 1, 0, &mut checks).unwrap();
        let case = format!("{activation} {schedule} b={batch} {}", data.name());
        assert_eq!(r.outcome, Outcome::Converged { step }, "{case}");
        // It is the first check at which the absolute test passes.
        assert_eq!(checks.first, Some(step), "{case}");
    }
}

/// The first check whose stationarity is at most the default `grad_tol`.
#[derive(Default)]
struct FirstPassing {
    first: Option<u64>,
}

impl Observer for FirstPassing {
    fn on_check(&mut self, step: u64, stationarity: f64) {
        if self.first.is_none() && stationarity <= RunConfig::default().grad_tol {
            self.first = Some(step);
        }
    }
}
