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
use aesgd_core::neurons::{
    DenseNeurons, Neurons, NeuronsEngine, ReducedNeurons, batch_gradient, check_neuron_count, draw_init,
    full_gradient, hessian, hessian_eigenvalues, hessian_trace, loss, minimum_loss,
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
