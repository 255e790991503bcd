//! `k` tied neurons ([`aesgd_core::neurons`]): the gradient and the Hessian against finite
//! differences, the closed-form trace against the matrix, `k = 1` against the single neuron,
//! the global minimum value attained where the module docs say and never undercut, and every
//! malformed input refused with the field named.
//!
//! Tolerances are those of `derivatives.rs`: a central difference with step `h = 1e-5` errs by
//! about `1e-10` for O(1) derivatives, so `1e-7` relative leaves a margin that a wrong term (off
//! by O(1)) cannot hide in; identities that hold exactly in real arithmetic get `C eps` times
//! the size of the terms summed.

mod common;

use aesgd_core::Activation;
use aesgd_core::batch::BatchSampler;
use aesgd_core::data::Data;
use aesgd_core::engine::UpdateSet;
use aesgd_core::neurons::{
    DenseNeurons, Neurons, NeuronsEngine, NeuronsMetrics, ReducedNeurons, batch_gradient, check_neuron_count,
    draw_init, full_gradient, hessian, hessian_eigenvalues, hessian_trace, linear_gd_limit, loss,
    minimum_loss,
};
use aesgd_core::run::run_rng;
use aesgd_core::{DataSpec, RunConfig, Schedule};
use common::{gaussian_data, max_abs, max_abs_diff, random_rotation, rng, rotated_data};
use rand::RngExt;

const H: f64 = 1e-5;
const ACTIVATIONS: [Activation; 2] = [Activation::Linear, Activation::Relu];

/// Random weights of `k` rows in `R^d`, entries uniform in `[-1.2, 1.2]`.
fn weights(k: usize, d: usize, seed: u64) -> Neurons {
    let mut g = rng(seed);
    Neurons::new(k, d, (0..k * d).map(|_| g.random_range(-1.2..1.2)).collect()).unwrap()
}

/// Whether every pre-activation `<w_j, x_i>` is at least 0.05 away from the ReLU kink.
fn away_from_kink(data: &Data, w: &Neurons) -> bool {
    (0..w.k()).all(|j| data.coords(w.row(j)).iter().all(|z| z.abs() > 0.05))
}

fn moved(w: &Neurons, entry: usize, by: f64) -> Neurons {
    let mut values = w.as_slice().to_vec();
    values[entry] += by;
    Neurons::new(w.k(), w.d(), values).unwrap()
}

/// Problems away from the kink: Gaussian data (n, d) and k rows, over seeds.
fn problems() -> impl Iterator<Item = (Data, Neurons, usize)> {
    let shapes = [(3, 4, 1), (3, 4, 2), (4, 3, 3), (5, 6, 2), (2, 5, 4)];
    shapes.into_iter().flat_map(|(n, d, k)| {
        (0..40u64)
            .map(move |seed| (gaussian_data(n, d, seed), weights(k, d, 1000 + seed), k))
            .filter(|(data, w, _)| away_from_kink(data, w))
            .take(6)
    })
}

#[test]
fn the_gradient_matches_finite_differences_of_the_loss() {
    let mut checked = 0;
    for (data, w, _) in problems() {
        for act in ACTIVATIONS {
            let g = full_gradient(&data, act, &w).unwrap();
            let fd: Vec<f64> = (0..w.as_slice().len())
                .map(|e| {
                    let up = loss(&data, act, &moved(&w, e, H)).unwrap();
                    let down = loss(&data, act, &moved(&w, e, -H)).unwrap();
                    (up - down) / (2.0 * H)
                })
                .collect();
            assert!(max_abs_diff(&g, &fd) < 1e-7 * (1.0 + max_abs(&g)), "k = {}: {g:?} vs {fd:?}", w.k());
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} problems away from the kink");
}

#[test]
fn the_hessian_matches_finite_differences_of_the_gradient_and_its_trace_the_closed_form() {
    let mut checked = 0;
    for (data, w, _) in problems() {
        for act in ACTIVATIONS {
            let h = hessian(&data, act, &w).unwrap();
            let size = w.as_slice().len();
            let mut worst: f64 = 0.0;
            for e in 0..size {
                let up = full_gradient(&data, act, &moved(&w, e, H)).unwrap();
                let down = full_gradient(&data, act, &moved(&w, e, -H)).unwrap();
                for row in 0..size {
                    worst = worst.max((h[(row, e)] - (up[row] - down[row]) / (2.0 * H)).abs());
                    assert_eq!(h[(row, e)], h[(e, row)], "symmetric");
                }
            }
            let scale = 1.0 + (0..size).map(|e| h[(e, e)].abs()).fold(0.0, f64::max);
            assert!(worst < 1e-7 * scale, "k = {}, {act:?}: worst {worst}", w.k());
            let trace: f64 = (0..size).map(|e| h[(e, e)]).sum();
            let closed = hessian_trace(&data, act, &w).unwrap();
            assert!(
                (trace - closed).abs() < 64.0 * f64::EPSILON * size as f64 * scale,
                "{trace} vs {closed}"
            );
            // The eigenvalues sum to the trace and bound every Rayleigh quotient.
            let values = hessian_eigenvalues(&data, act, &w).unwrap();
            let sum: f64 = values.iter().sum();
            assert!((sum - trace).abs() < 1e-10 * size as f64 * scale, "{sum} vs {trace}");
            let (low, high) = (values[0], values[size - 1]);
            for e in 0..size {
                assert!(low - 1e-12 * scale <= h[(e, e)] && h[(e, e)] <= high + 1e-12 * scale);
            }
            checked += 1;
        }
    }
    assert!(checked >= 40);
}

#[test]
fn one_neuron_is_the_single_neuron_model() {
    for seed in 0..10 {
        let data = gaussian_data(4, 6, seed);
        let w = weights(1, 6, 50 + seed);
        let single = w.as_slice();
        for act in ACTIVATIONS {
            let tol = 64.0 * f64::EPSILON;
            let l = loss(&data, act, &w).unwrap();
            let reference = aesgd_core::model::loss(&data, act, single);
            assert!((l - reference).abs() < tol * (1.0 + reference.abs()), "{l} vs {reference}");
            let g = full_gradient(&data, act, &w).unwrap();
            let reference = aesgd_core::model::full_gradient(&data, act, single);
            assert!(max_abs_diff(&g, &reference) < tol * (1.0 + max_abs(&reference)));
            let batch = [2, 0, 2];
            let g = batch_gradient(&data, act, &w, &batch).unwrap();
            let reference = aesgd_core::model::batch_gradient(&data, act, single, &batch);
            assert!(max_abs_diff(&g, &reference) < tol * (1.0 + max_abs(&reference)));
            let h = hessian(&data, act, &w).unwrap();
            let reference = aesgd_core::hessian::hessian(&data, act, single);
            for row in 0..6 {
                for col in 0..6 {
                    assert!((h[(row, col)] - reference[(row, col)]).abs() < tol * 16.0);
                }
            }
            let t = hessian_trace(&data, act, &w).unwrap();
            let reference = aesgd_core::hessian::hessian_trace(&data, act, single);
            assert!((t - reference).abs() < tol * 16.0 * (1.0 + reference.abs()), "{t} vs {reference}");
        }
    }
}

/// Rows on the data points `points` (rows of `x^T`), in that order.
fn on_points(data: &Data, points: &[usize]) -> Neurons {
    let values = points.iter().flat_map(|&i| data.point(i).to_vec()).collect();
    Neurons::new(points.len(), data.d(), values).unwrap()
}

#[test]
fn k_rows_on_k_distinct_points_attain_the_minimum_and_nothing_goes_below_it() {
    let (n, d) = (6, 9);
    let q = random_rotation(d, 4);
    for (data, exact_zeros) in [(Data::basis(n, d).unwrap(), true), (rotated_data(&q, n), false)] {
        for k in 1..=n {
            let star = (n - k) as f64 / (2 * n) as f64;
            let points: Vec<usize> = (0..k).map(|j| (5 * j + 1) % n).collect();
            let mut sorted = points.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), k);
            for act in ACTIVATIONS {
                assert_eq!(minimum_loss(&data, act, k).unwrap(), Some(star));
                let at = on_points(&data, &points);
                let l = loss(&data, act, &at).unwrap();
                assert!((l - star).abs() < 64.0 * f64::EPSILON, "k = {k}: {l} vs {star}");
                // A minimum: no gradient, and the Hessian's trace is k (d + 3) / n for ReLU.
                let g = full_gradient(&data, act, &at).unwrap();
                assert!(max_abs(&g) < 64.0 * f64::EPSILON, "{g:?}");
                // On the standard basis the other points' pre-activations are exactly 0, where
                // sigma'(0) = 0 by convention; rotated, rounding leaves some at +-1e-17, on
                // either side of the kink, where the ReLU Hessian jumps.
                if act == Activation::Relu && exact_zeros {
                    let t = hessian_trace(&data, act, &at).unwrap();
                    let expected = (k * (d + 3)) as f64 / n as f64;
                    assert!(
                        (t - expected).abs() < 1e-12 * expected,
                        "k = {k}, points {points:?}: {t} vs {expected}"
                    );
                }
                // Random weights of every scale never go below L*.
                for seed in 0..30 {
                    let mut w = weights(k, d, 7 * seed + k as u64);
                    let scale = [0.1, 0.5, 1.0, 2.0][seed as usize % 4];
                    w = Neurons::new(k, d, w.as_slice().iter().map(|x| x * scale).collect()).unwrap();
                    assert!(loss(&data, act, &w).unwrap() >= star - 1e-15, "k = {k}, seed {seed}");
                }
            }
        }
    }
}

#[test]
fn the_linear_minimum_on_any_data_is_the_best_rank_k_reconstruction() {
    let (n, d) = (5, 7);
    let data = gaussian_data(n, d, 11);
    let x = data.matrix();
    // The top-k eigenvectors of X X^T as orthonormal rows attain the closed form.
    let xxt = x * x.transpose();
    let eigen = xxt.self_adjoint_eigen(faer::Side::Lower).unwrap();
    for k in 1..=n {
        let star = minimum_loss(&data, Activation::Linear, k).unwrap().unwrap();
        let values: Vec<f64> = (0..k)
            .flat_map(|j| (0..d).map(move |c| (j, c)))
            .map(|(j, c)| eigen.U()[(c, d - 1 - j)])
            .collect();
        let top = Neurons::new(k, d, values).unwrap();
        let l = loss(&data, Activation::Linear, &top).unwrap();
        assert!((l - star).abs() < 1e-12 * (1.0 + star), "k = {k}: {l} vs {star}");
        for seed in 0..30 {
            assert!(loss(&data, Activation::Linear, &weights(k, d, seed)).unwrap() >= star - 1e-12);
        }
    }
    assert_eq!(minimum_loss(&data, Activation::Relu, 2).unwrap(), None);
}

#[test]
fn malformed_weights_and_neuron_counts_are_refused_naming_the_field() {
    let message = |e: aesgd_core::ConfigError| e.to_string();
    assert!(message(Neurons::new(0, 3, vec![]).unwrap_err()).contains("neurons"));
    let e = message(Neurons::new(2, 3, vec![0.0; 5]).unwrap_err());
    assert!(e.contains("weights") && e.contains("5 numbers") && e.contains("2 x 3"), "{e}");
    let e = message(Neurons::new(1, 2, vec![0.0, f64::NAN]).unwrap_err());
    assert!(e.contains("entry 1") && e.contains("finite"), "{e}");
    assert!(Neurons::new(usize::MAX, 2, vec![]).is_err());
    let e = message(check_neuron_count(7, 6).unwrap_err());
    assert!(e.contains("neurons") && e.contains('7') && e.contains("1..=6"), "{e}");
    assert!(check_neuron_count(0, 6).is_err() && check_neuron_count(6, 6).is_ok());
    let data = Data::basis(3, 4).unwrap();
    let e = message(loss(&data, Activation::Relu, &weights(2, 5, 0)).unwrap_err());
    assert!(e.contains("weights") && e.contains("d = 4"), "{e}");
    let e = message(batch_gradient(&data, Activation::Relu, &weights(2, 4, 0), &[0, 3]).unwrap_err());
    assert!(e.contains("batch") && e.contains('3'), "{e}");
    assert!(minimum_loss(&data, Activation::Relu, 4).is_err());
}

/// The largest difference of two trajectories' data coordinates and ambient weights, relative
/// to the largest entry.
fn relative_gap(a: &dyn NeuronsEngine, b: &dyn NeuronsEngine) -> f64 {
    let (ua, ub) = (a.coords(), b.coords());
    let (wa, wb) = (a.weights(), b.weights());
    let coords = max_abs_diff(&ua, &ub) / max_abs(&ua).max(1e-300);
    let ambient = max_abs_diff(wa.as_slice(), wb.as_slice()) / max_abs(wa.as_slice()).max(1e-300);
    coords.max(ambient)
}

#[test]
fn dense_and_reduced_engines_fed_the_same_stream_agree_after_ten_thousand_steps() {
    // d > n, so that the complement of the data span, which the reduced engine keeps as a
    // k x k map, carries weight; every schedule, both activations, k from 1 to n.
    let (n, d) = (6, 10);
    let schedules = [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic];
    for (case, schedule) in schedules.into_iter().enumerate() {
        for act in ACTIVATIONS {
            for (k, batch) in [(1, 1), (2, 3), (3, 5), (6, 2), (2, 6)] {
                let seed = 100 * case as u64 + 10 * k as u64 + batch as u64;
                let mut g = run_rng(seed, 0);
                let data = Data::random_orthonormal(n, d, &mut g).unwrap();
                let w0 = draw_init(k, d, 1.0, &mut g).unwrap();
                let mut dense = DenseNeurons::new(&data, act, 0.1, w0.clone()).unwrap();
                let mut reduced = ReducedNeurons::new(&data, act, 0.1, &w0).unwrap();
                assert!(relative_gap(&dense, &reduced) < 1e-13);
                let (mut sa, mut sb) =
                    (BatchSampler::new(schedule, n, batch), BatchSampler::new(schedule, n, batch));
                let (mut ra, mut rb) = (run_rng(seed, 1), run_rng(seed, 1));
                for _ in 0..10_000 {
                    dense.step(&sa.next(&mut ra));
                    reduced.step(&sb.next(&mut rb));
                }
                let gap = relative_gap(&dense, &reduced);
                assert!(gap < 1e-10, "{schedule:?}, {act:?}, k = {k}, b = {batch}: {gap:e}");
                // The runs moved: far from where they started, at a loss near a minimum's.
                let l = loss(&data, act, &dense.weights()).unwrap();
                assert!(l < 0.5, "{schedule:?}, {act:?}, k = {k}: L = {l}");
            }
        }
    }
}

#[test]
fn the_reduced_step_for_more_than_eight_neurons_agrees_with_dense() {
    // k up to 8 has a step compiled for its k; larger k takes the generic arm, checked here.
    let (n, d) = (12, 15);
    for act in ACTIVATIONS {
        for (k, batch) in [(9, 4), (12, 12)] {
            let mut g = run_rng(7, k as u64);
            let data = Data::random_orthonormal(n, d, &mut g).unwrap();
            let w0 = draw_init(k, d, 1.0, &mut g).unwrap();
            let mut dense = DenseNeurons::new(&data, act, 0.05, w0.clone()).unwrap();
            let mut reduced = ReducedNeurons::new(&data, act, 0.05, &w0).unwrap();
            let (mut sa, mut sb) = (
                BatchSampler::new(Schedule::Random, n, batch),
                BatchSampler::new(Schedule::Random, n, batch),
            );
            let (mut ra, mut rb) = (run_rng(7, 100), run_rng(7, 100));
            for _ in 0..10_000 {
                dense.step(&sa.next(&mut ra));
                reduced.step(&sb.next(&mut rb));
            }
            let gap = relative_gap(&dense, &reduced);
            assert!(gap < 1e-10, "{act:?}, k = {k}, b = {batch}: {gap:e}");
            let (l0, l) = (loss(&data, act, &w0).unwrap(), loss(&data, act, &dense.weights()).unwrap());
            assert!(l < 0.5 * l0, "{act:?}, k = {k}: the run did not move, L = {l} from {l0}");
        }
    }
}

#[test]
fn one_neuron_starts_from_the_single_neuron_draw_and_steps_as_its_engine_does() {
    let config = RunConfig { n: 5, d: 8, batch: 2, data: DataSpec::Orthonormal, ..RunConfig::default() };
    // Two generators of one stream, each past the data.
    let (mut g, mut h) = (run_rng(3, 4), run_rng(3, 4));
    let data = aesgd_core::run::build_data(&config, &mut g).unwrap();
    assert_eq!(aesgd_core::run::build_data(&config, &mut h).unwrap().matrix(), data.matrix());
    let single = aesgd_core::run::draw_init(&config, &mut g);
    let rows = draw_init(1, config.d, config.init_scale, &mut h).unwrap();
    assert_eq!(rows.as_slice(), single.as_slice(), "the same numbers, bit for bit");
    // The single neuron's dense engine and the k-neuron one, fed the same batches.
    let mut engine = aesgd_core::engine::DenseEngine::new(&data, config.activation, config.eta, &single);
    let mut neurons = DenseNeurons::new(&data, config.activation, config.eta, rows).unwrap();
    let (mut sa, mut sb) =
        (BatchSampler::new(config.schedule, 5, 2), BatchSampler::new(config.schedule, 5, 2));
    for _ in 0..2000 {
        aesgd_core::engine::Engine::step(&mut engine, &sa.next(&mut g));
        neurons.step(&sb.next(&mut h));
    }
    let w = aesgd_core::engine::Engine::ambient(&engine);
    assert!(max_abs_diff(&w, neurons.weights().as_slice()) < 1e-12, "{w:?}");
}

#[test]
fn the_reduced_engine_refuses_data_that_is_not_orthonormal() {
    let data = gaussian_data(3, 5, 1);
    let e = ReducedNeurons::new(&data, Activation::Relu, 0.1, &weights(2, 5, 0)).unwrap_err().to_string();
    assert!(e.contains("engine") && e.contains("orthonormal"), "{e}");
    assert!(DenseNeurons::new(&data, Activation::Relu, 0.1, weights(2, 4, 0)).is_err());
    assert!(draw_init(usize::MAX, 3, 1.0, &mut rng(0)).is_err());
}

/// `max` over the windows of an update set of the model's window gradient norm, by brute force.
fn brute_stationarity(data: &Data, act: Activation, w: &Neurons, updates: UpdateSet) -> f64 {
    let n = data.n();
    let windows: Vec<Vec<usize>> = match updates {
        UpdateSet::FullBatch => vec![(0..n).collect()],
        UpdateSet::EverySample => (0..n).map(|i| vec![i]).collect(),
        // The cyclic schedule's windows start at the multiples of gcd(n, b).
        UpdateSet::CyclicWindows { batch } => {
            let gcd = (1..=batch).rev().find(|&g| n.is_multiple_of(g) && batch.is_multiple_of(g)).unwrap();
            (0..n).step_by(gcd).map(|s| (0..batch).map(|t| (s + t) % n).collect()).collect()
        }
    };
    windows
        .iter()
        .map(|window| batch_gradient(data, act, w, window).unwrap().iter().map(|x| x * x).sum::<f64>().sqrt())
        .fold(0.0, f64::max)
}

#[test]
fn the_stationarity_measure_of_both_engines_is_the_largest_window_gradient() {
    let (n, d) = (6, 9);
    let sets = [
        UpdateSet::FullBatch,
        UpdateSet::EverySample,
        UpdateSet::CyclicWindows { batch: 2 },
        UpdateSet::CyclicWindows { batch: 4 },
    ];
    for act in ACTIVATIONS {
        for k in [1, 2, 4] {
            let mut g = run_rng(k as u64, 2);
            let data = Data::random_orthonormal(n, d, &mut g).unwrap();
            let w0 = draw_init(k, d, 1.0, &mut g).unwrap();
            let mut dense = DenseNeurons::new(&data, act, 0.1, w0.clone()).unwrap();
            let mut reduced = ReducedNeurons::new(&data, act, 0.1, &w0).unwrap();
            let (mut sa, mut sb) =
                (BatchSampler::new(Schedule::Random, n, 2), BatchSampler::new(Schedule::Random, n, 2));
            let (mut ra, mut rb) = (run_rng(9, 9), run_rng(9, 9));
            for steps in [0, 30, 3000] {
                for _ in 0..steps {
                    dense.step(&sa.next(&mut ra));
                    reduced.step(&sb.next(&mut rb));
                }
                for updates in sets {
                    let brute = brute_stationarity(&data, act, &dense.weights(), updates);
                    for engine in [&dense as &dyn NeuronsEngine, &reduced] {
                        let got = engine.stationarity(updates);
                        assert!(
                            (got - brute).abs() <= 1e-9 * brute + 1e-14,
                            "{act:?}, k = {k}, {steps} steps, {updates:?}, {}: {got:e} vs {brute:e}",
                            engine.name()
                        );
                    }
                }
            }
        }
    }
    // On other data the dense engine reads the model's gradients.
    let data = gaussian_data(4, 5, 3);
    let w = weights(2, 5, 8);
    let dense = DenseNeurons::new(&data, Activation::Relu, 0.1, w.clone()).unwrap();
    let brute = brute_stationarity(&data, Activation::Relu, &w, UpdateSet::EverySample);
    assert_eq!(dense.stationarity(UpdateSet::EverySample), brute);
}

#[test]
fn at_a_minimum_the_measure_is_zero_to_rounding() {
    let (n, d) = (5, 8);
    let q = random_rotation(d, 2);
    for data in [Data::basis(n, d).unwrap(), rotated_data(&q, n)] {
        for k in [1, 2, 5] {
            let at = on_points(&data, &(0..k).map(|j| (3 * j + 1) % n).collect::<Vec<_>>());
            for act in ACTIVATIONS {
                let dense = DenseNeurons::new(&data, act, 0.1, at.clone()).unwrap();
                let reduced = ReducedNeurons::new(&data, act, 0.1, &at).unwrap();
                for updates in
                    [UpdateSet::FullBatch, UpdateSet::EverySample, UpdateSet::CyclicWindows { batch: 3 }]
                {
                    for engine in [&dense as &dyn NeuronsEngine, &reduced] {
                        let g = engine.stationarity(updates);
                        assert!(g < 1e-14, "{act:?}, k = {k}, {updates:?}, {}: {g:e}", engine.name());
                    }
                }
            }
        }
    }
}

#[test]
fn metrics_name_supports_selections_collisions_and_dead_neurons() {
    // n = 5, k = 4: neurons on points 3 and 3 (a collision), one on 0 and 2 (support 2), one
    // with every coordinate negative (dead for ReLU).
    let u = [
        0.0, 0.0, 0.0, 0.9, 1e-9, //
        0.0, 0.0, 0.0, 0.4, 0.0, //
        0.7, 0.0, -0.6, 0.0, 0.0, //
        -0.1, -0.2, -0.3, -0.4, -0.5,
    ];
    let relu = NeuronsMetrics::of(&u, 4, Activation::Relu, 1e-6);
    assert_eq!(relu.supports, [1, 1, 2, 5]);
    assert_eq!(relu.selected, [Some(3), Some(3), None, None]);
    assert_eq!((relu.selected_points.clone(), relu.distinct_selected, relu.collisions), (None, 1, 1));
    assert_eq!(relu.dead_neurons, 1);
    let expected: Vec<f64> = (0..5).map(|i| (0..4).map(|j| u[j * 5 + i] * u[j * 5 + i]).sum()).collect();
    assert_eq!(relu.projection_diagonal, expected);
    let linear = NeuronsMetrics::of(&u, 4, Activation::Linear, 1e-6);
    assert_eq!(linear.dead_neurons, 0);
    // Three neurons on three distinct points: every neuron selects, sorted.
    let u = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    let m = NeuronsMetrics::of(&u, 3, Activation::Relu, 1e-6);
    assert_eq!(
        (m.selected_points, m.distinct_selected, m.collisions, m.dead_neurons),
        (Some(vec![0, 2, 3]), 3, 0, 0)
    );
    // A dead neuron with one negative coordinate selects nothing; for the linear one it does.
    let u = [-0.5, 0.0, 0.0];
    assert_eq!(NeuronsMetrics::of(&u, 1, Activation::Relu, 1e-6).selected, [None]);
    assert_eq!(NeuronsMetrics::of(&u, 1, Activation::Linear, 1e-6).selected, [Some(0)]);
}

#[test]
fn full_batch_linear_descent_ends_at_the_predicted_projection_and_in_the_span_at_the_polar_factor() {
    let n = 6;
    for (d, k) in [(6, 2), (6, 3), (11, 2), (11, 4)] {
        let mut g = run_rng(d as u64, k as u64);
        let data = Data::random_orthonormal(n, d, &mut g).unwrap();
        let w0 = draw_init(k, d, 1.0, &mut g).unwrap();
        let mut engine = DenseNeurons::new(&data, Activation::Linear, 0.5, w0).unwrap();
        let limit = linear_gd_limit(&engine.coords(), k).expect("full rank");
        let mut sampler = BatchSampler::new(Schedule::Random, n, n);
        for _ in 0..20_000 {
            engine.step(&sampler.next(&mut g));
        }
        let u = engine.coords();
        let utu: Vec<f64> =
            (0..n * n).map(|e| (0..k).map(|j| u[j * n + e / n] * u[j * n + e % n]).sum()).collect();
        assert!(max_abs_diff(&utu, &limit.projection) < 1e-9, "d = {d}, k = {k}");
        let diagonal = NeuronsMetrics::of(&u, k, Activation::Linear, 1e-6).projection_diagonal;
        let predicted: Vec<f64> = (0..n).map(|i| limit.projection[i * n + i]).collect();
        assert!(max_abs_diff(&diagonal, &predicted) < 1e-9);
        assert!((predicted.iter().sum::<f64>() - k as f64).abs() < 1e-12, "a rank-k projection");
        let gap = max_abs_diff(&u, &limit.polar);
        if d == n {
            assert!(gap < 1e-9, "in the span the limit is the polar factor: {gap:e}");
        } else {
            // Outside it the rows rotate within the subspace: not the polar factor.
            assert!(gap > 1e-6, "d = {d}, k = {k}: {gap:e}");
        }
    }
    assert!(linear_gd_limit(&[1.0, 2.0, 2.0, 4.0], 2).is_none(), "rank one");
}

/// Ambient rows from data coordinates `u` (`k x n`).
fn from_coords(data: &Data, u: &[f64], k: usize) -> Neurons {
    let n = data.n();
    let values = (0..k).flat_map(|j| data.combine(&u[j * n..(j + 1) * n])).collect();
    Neurons::new(k, data.d(), values).unwrap()
}

#[test]
fn every_minimum_of_the_module_docs_attains_l_star_with_the_closed_form_trace() {
    // Random minima: ReLU rows that share out random groups of points (positive unit rows with
    // disjoint supports) on the standard basis, where the other coordinates are exactly zero
    // (on rotated data rounding puts half of them on the active side of the kink); linear rows
    // orthonormal in a random k-dimensional subspace of the span of rotated data. The loss is
    // L* and the trace k (d + 4) - |A| or k (d + 2 + 2k - n), over n.
    use aesgd_core::neurons::{identified_minimum, trace_at_minimum};
    let (n, d) = (7, 10);
    let basis = Data::basis(n, d).unwrap();
    let data = rotated_data(&random_rotation(d, 11), n);
    for k in 1..=4 {
        let star = (n - k) as f64 / (2 * n) as f64;
        for seed in 0..10u64 {
            let mut g = rng(500 + seed);
            // ReLU: point i goes to neuron owner[i] or to none; every neuron gets one at least.
            let mut owner: Vec<Option<usize>> = (0..n).map(|i| (i < k).then_some(i)).collect();
            for slot in owner.iter_mut().skip(k) {
                *slot = g.random_bool(0.6).then(|| g.random_range(0..k));
            }
            let mut u = vec![0.0f64; k * n];
            for (i, o) in owner.iter().enumerate() {
                if let Some(j) = *o {
                    u[j * n + i] = g.random_range(0.2..1.0);
                }
            }
            for j in 0..k {
                let norm = (0..n).map(|i| u[j * n + i].powi(2)).sum::<f64>().sqrt();
                (0..n).for_each(|i| u[j * n + i] /= norm);
            }
            let kept = owner.iter().flatten().count();
            let w = from_coords(&basis, &u, k);
            let l = loss(&basis, Activation::Relu, &w).unwrap();
            assert!((l - star).abs() < 1e-14, "ReLU k = {k}: L = {l}, L* = {star}");
            let want = trace_at_minimum(Activation::Relu, k, n, d, kept);
            let trace = hessian_trace(&basis, Activation::Relu, &w).unwrap();
            assert!((trace - want).abs() < 1e-12, "ReLU k = {k}, |A| = {kept}: {trace} vs {want}");
            // The identified minimum of this point is the point itself.
            let found = identified_minimum(&u, k, Activation::Relu, 1e-6).expect("a minimum");
            assert!(max_abs_diff(&found, &u) < 1e-15);
            // Linear: k orthonormal rows in the span, the polar factor of a random k x n matrix.
            let random: Vec<f64> = (0..k * n).map(|_| g.random_range(-1.0..1.0)).collect();
            let rows = identified_minimum(&random, k, Activation::Linear, 1e-6).expect("full rank");
            let w = from_coords(&data, &rows, k);
            let l = loss(&data, Activation::Linear, &w).unwrap();
            assert!((l - star).abs() < 1e-13, "linear k = {k}: L = {l}, L* = {star}");
            let want = trace_at_minimum(Activation::Linear, k, n, d, n);
            let trace = hessian_trace(&data, Activation::Linear, &w).unwrap();
            assert!((trace - want).abs() < 1e-12, "linear k = {k}: {trace} vs {want}");
        }
    }
}

#[test]
fn the_identified_minimum_drops_decayed_coordinates_and_refuses_dead_neurons_and_low_rank() {
    use aesgd_core::neurons::identified_minimum;
    let relu = |u: &[f64]| identified_minimum(u, 2, Activation::Relu, 1e-6);
    // Two neurons on points 0 and 2 with decayed leftovers: those set to zero, the rest kept as
    // they are (no renormalisation).
    let found = relu(&[0.9, 1e-9, 0.0, -1e-8, 0.0, 0.0, 0.5, 0.0]).unwrap();
    assert_eq!(found, vec![0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]);
    // A negative coordinate that matters is kept: rows of a minimum may have mixed signs.
    assert_eq!(
        relu(&[0.6, -0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]).unwrap(),
        vec![0.6, -0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]
    );
    // A dead neuron: nothing positive to keep.
    assert_eq!(relu(&[0.0, 1.0, 0.0, 0.0, -0.3, -0.2, -0.1, -0.4]), None);
    // Linear rows of rank one span no plane.
    assert_eq!(identified_minimum(&[1.0, 1.0, 0.0, 2.0, 2.0, 0.0], 2, Activation::Linear, 1e-6), None);
    // Malformed shapes.
    assert_eq!(identified_minimum(&[1.0, 0.0, 0.0], 2, Activation::Relu, 1e-6), None);
    assert_eq!(identified_minimum(&[], 1, Activation::Relu, 1e-6), None);
}

#[test]
fn three_relu_neurons_of_mixed_sign_reconstruct_three_points_at_the_minimum_and_are_sharper() {
    // Rows (1, 1, -1), (1, -1, 1), (-1, 1, 1) over sqrt(2) on points 0, 1, 2 of the basis: each
    // point activates two neurons whose sum reconstructs it, so L = L*; the trace is
    // (3 (d + 2) + 9)/n, 6/n above three neurons on three distinct points (module docs).
    let (n, d) = (7, 10);
    let data = Data::basis(n, d).unwrap();
    let h = std::f64::consts::FRAC_1_SQRT_2;
    let mut rows = vec![0.0; 3 * d];
    for (j, signs) in [[1.0, 1.0, -1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]].iter().enumerate() {
        for (i, s) in signs.iter().enumerate() {
            rows[j * d + i] = s * h;
        }
    }
    let w = Neurons::new(3, d, rows).unwrap();
    let star = (n - 3) as f64 / (2 * n) as f64;
    let l = loss(&data, Activation::Relu, &w).unwrap();
    assert!((l - star).abs() < 1e-15, "L = {l}, L* = {star}");
    let trace = hessian_trace(&data, Activation::Relu, &w).unwrap();
    let want = (3.0 * (d as f64 + 2.0) + 9.0) / n as f64;
    assert!((trace - want).abs() < 1e-13, "{trace} vs {want}");
    let distinct = aesgd_core::neurons::trace_at_minimum(Activation::Relu, 3, n, d, 3);
    assert!((trace - distinct - 6.0 / n as f64).abs() < 1e-13);
    // A stationary point of every batch gradient: the run-control loop would stop there.
    for i in 0..n {
        let g = batch_gradient(&data, Activation::Relu, &w, &[i]).unwrap();
        assert!(max_abs(&g) < 1e-15, "sample {i}: {g:?}");
    }
}
