//! Independent paths must agree: the Dense and Reduced engines fed the same random stream, and
//! the standard basis against randomly rotated data (the dynamics are rotation invariant, so
//! data coordinates must not change).

mod common;

use aesgd_core::engine::{DenseEngine, Engine, ReducedEngine, UpdateSet};
use aesgd_core::model::batch_gradient;
use aesgd_core::run::{NoObserver, draw_init, run_rng, solve};
use aesgd_core::{Activation, DataSpec, EngineChoice, RunConfig, Schedule, run};
use common::{max_abs, max_abs_diff, random_rotation, rotate, rotated_data};
use rand::Rng;

/// A run of exactly `steps` steps (the tolerance is below anything reachable).
fn fixed_steps(
    activation: Activation,
    n: usize,
    d: usize,
    batch: usize,
    schedule: Schedule,
    steps: u64,
) -> RunConfig {
    RunConfig {
        activation,
        n,
        d,
        batch,
        schedule,
        eta: 0.2,
        max_steps: steps,
        grad_tol: f64::MIN_POSITIVE,
        ..RunConfig::default()
    }
}

/// Relative difference of two states in data coordinates and orthogonal norm.
fn relative_difference(a: &aesgd_core::engine::IterateState, b: &aesgd_core::engine::IterateState) -> f64 {
    let scale = max_abs(&a.u).max(1e-300);
    let perp = (a.perp_sq.unwrap().sqrt() - b.perp_sq.unwrap().sqrt()).abs();
    max_abs_diff(&a.u, &b.u).max(perp) / scale
}

#[test]
fn dense_and_reduced_follow_the_same_iterates() {
    let schedules = [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic];
    for activation in [Activation::Linear, Activation::Relu] {
        for data in [DataSpec::Basis, DataSpec::Orthonormal] {
            for (n, d) in [(10, 10), (10, 16)] {
                for batch in [1, 3, 5, 7, 9, 10] {
                    for schedule in schedules {
                        let base = RunConfig {
                            data: data.clone(),
                            ..fixed_steps(activation, n, d, batch, schedule, 10_000)
                        };
                        let dense =
                            run(&RunConfig { engine: EngineChoice::Dense, ..base.clone() }, 7, batch as u64)
                                .unwrap();
                        let reduced = run(
                            &RunConfig { engine: EngineChoice::Reduced, ..base.clone() },
                            7,
                            batch as u64,
                        )
                        .unwrap();
                        assert_eq!((dense.engine, reduced.engine), ("dense", "reduced"));
                        assert_eq!(dense.steps_run, 10_000);
                        assert_eq!(reduced.steps_run, 10_000);
                        let diff = relative_difference(&dense.final_state, &reduced.final_state);
                        assert!(
                            diff < 1e-10,
                            "{activation} {} n={n} d={d} b={batch} {schedule}: relative difference {diff:e}",
                            base.data.name()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn basis_and_rotated_data_agree_in_data_coordinates() {
    let (n, d) = (8usize, 12usize);
    let q = random_rotation(d, 99);
    let basis = aesgd_core::data::Data::basis(n, d).unwrap();
    let rotated = rotated_data(&q, n);
    for activation in [Activation::Linear, Activation::Relu] {
        for batch in [1, 4, 8] {
            for engine in [EngineChoice::Dense, EngineChoice::Reduced] {
                let config =
                    RunConfig { engine, ..fixed_steps(activation, n, d, batch, Schedule::Random, 10_000) };
                let mut init_rng = run_rng(5, batch as u64);
                let w0 = draw_init(&config, &mut init_rng);
                let a = solve(&config, &basis, &w0, &mut run_rng(1, 0), &mut NoObserver).unwrap();
                let b =
                    solve(&config, &rotated, &rotate(&q, &w0), &mut run_rng(1, 0), &mut NoObserver).unwrap();
                let diff = relative_difference(&a.final_state, &b.final_state);
                assert!(diff < 1e-10, "{activation} b={batch} {engine:?}: relative difference {diff:e}");
                assert_eq!(a.final_metrics.support, b.final_metrics.support);
            }
        }
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|g| g * g).sum::<f64>().sqrt()
}

/// Both engines' stationarity measures equal the largest batch-gradient norm computed
/// explicitly in ambient coordinates over the batches each schedule can draw, including next to
/// minima where a naive formula would lose half the digits.
#[test]
fn stationarity_matches_explicit_gradients() {
    let (n, d) = (6usize, 8usize);
    let q = random_rotation(d, 3);
    let data = rotated_data(&q, n);
    let gaussian = common::gaussian_data(n, d, 4);
    let points: Vec<Vec<f64>> = vec![
        vec![0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.1, 0.0],
        vec![1.0, 1e-9, 2e-9, 0.0, 0.0, 0.0, 3e-9, 0.0],
        vec![1.0 + 1e-12, 0.0, 1e-13, 0.0, 0.0, 0.0, 0.0, 0.0],
        vec![0.6, 0.8 + 1e-12, 1e-12, 0.0, 0.0, 0.0, 1e-13, 0.0],
    ];
    // Explicit window lists: every sample; all; the cyclic windows for b = 2 (blocks) and b = 4
    // (gcd 2: starts 0, 2, 4, wrapping around).
    let singles: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let cases: Vec<(UpdateSet, Vec<Vec<usize>>)> = vec![
        (UpdateSet::EverySample, singles),
        (UpdateSet::FullBatch, vec![(0..n).collect()]),
        (UpdateSet::CyclicWindows { batch: 2 }, vec![vec![0, 1], vec![2, 3], vec![4, 5]]),
        (UpdateSet::CyclicWindows { batch: 4 }, vec![vec![0, 1, 2, 3], vec![2, 3, 4, 5], vec![4, 5, 0, 1]]),
    ];
    for activation in [Activation::Linear, Activation::Relu] {
        for local in &points {
            let w = rotate(&q, local);
            let reduced = ReducedEngine::new(&data, activation, 0.1, &w);
            let dense = DenseEngine::new(&data, activation, 0.1, &w);
            let dense_general = DenseEngine::new(&gaussian, activation, 0.1, &w);
            for (updates, windows) in &cases {
                let explicit = |data: &aesgd_core::data::Data| {
                    windows.iter().map(|b| norm(&batch_gradient(data, activation, &w, b))).fold(0.0, f64::max)
                };
                let expected = explicit(&data);
                // Both sides carry rounding of order eps * d from the rotation.
                let tol = 1e-14 + 1e-12 * expected;
                for (name, measured) in
                    [("reduced", reduced.stationarity(*updates)), ("dense", dense.stationarity(*updates))]
                {
                    assert!(
                        (measured - expected).abs() < tol,
                        "{name} {activation} {updates:?} {local:?}: {measured:e} vs {expected:e}"
                    );
                }
                let expected = explicit(&gaussian);
                let measured = dense_general.stationarity(*updates);
                assert!((measured - expected).abs() < 1e-12 * (1.0 + expected), "general data {updates:?}");
            }
        }
    }
}

/// The reduced engine's O(1) `norm_sq` is kept incrementally; it must stay within a derived
/// bound of the norm recomputed from its coordinates, on every step and for every update route
/// (batch side, complement side, repeated draws). The bound: each update rounds a few times
/// (say 4 eps relative), errors accumulate over at most 1024 steps between folds, and the folding
/// rules bound their amplification by (4 / (1/4))^2 = 256. Without those rules the linear
/// activation with b > n/2 drifts by about 1e-8 within 1000 steps.
#[test]
fn reduced_norm_stays_consistent_with_its_coordinates() {
    let bound = 4.0 * f64::EPSILON * 1024.0 * 256.0;
    let (n, d) = (10usize, 12usize);
    let data = aesgd_core::data::Data::basis(n, d).unwrap();
    for activation in [Activation::Linear, Activation::Relu] {
        for (batch, schedule) in [(3, Schedule::Random), (7, Schedule::Random), (7, Schedule::Replacement)] {
            let config = fixed_steps(activation, n, d, batch, schedule, 1);
            let w0 = draw_init(&config, &mut run_rng(3, batch as u64));
            let mut engine = ReducedEngine::new(&data, activation, config.eta, &w0);
            let mut sampler = aesgd_core::batch::BatchSampler::new(schedule, n, batch);
            let mut rng = run_rng(4, 0);
            let mut worst: f64 = 0.0;
            for _ in 0..5000 {
                engine.step(&sampler.next(&mut rng));
                let exact = engine.state().norm_sq;
                worst = worst.max((engine.norm_sq() - exact).abs() / exact);
            }
            assert!(worst < bound, "{activation} b={batch} {schedule}: relative drift {worst:e} > {bound:e}");
        }
    }
}

/// `Engine::advance` (the runner's path, which the reduced engine overrides to keep its state
/// in registers) must take exactly the steps of a loop of `Engine::step`, bit for bit and with
/// the same random draws, for every schedule, activation and side of the batch, through folds
/// and through the O(n) fallback of large steps; and it must stop right after the first step
/// whose squared norm exceeds the bound, leaving the sampler to hand out the batches that follow.
#[test]
fn advance_takes_the_same_steps_as_single_steps_bit_for_bit() {
    let (n, d) = (10usize, 12usize);
    let data = aesgd_core::data::Data::basis(n, d).unwrap();
    let schedules = [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic];
    let bits = |s: &aesgd_core::engine::IterateState| -> Vec<u64> {
        s.u.iter().chain([&s.norm_sq]).map(|x| x.to_bits()).collect()
    };
    for activation in [Activation::Linear, Activation::Relu] {
        for schedule in schedules {
            // b = 9 leaves one index out of each batch: its own loop under Random.
            for batch in [1, 3, 7, 9, 10] {
                // eta = 2.5 takes the fallback on some steps (a factor below zero).
                for eta in [0.2, 2.5] {
                    let w0 =
                        draw_init(&fixed_steps(activation, n, d, batch, schedule, 1), &mut run_rng(5, 0));
                    let engines = |which: usize| -> Box<dyn Engine + '_> {
                        if which == 0 {
                            Box::new(ReducedEngine::new(&data, activation, eta, &w0))
                        } else {
                            Box::new(DenseEngine::new(&data, activation, eta, &w0))
                        }
                    };
                    for which in 0..2 {
                        let case = format!("{activation} {schedule} b={batch} eta={eta} engine {which}");
                        // Reference: single steps, recording every squared norm.
                        let mut single = engines(which);
                        let mut sampler = aesgd_core::batch::BatchSampler::new(schedule, n, batch);
                        let mut rng = run_rng(6, 0);
                        let mut norms = Vec::new();
                        let mut states = Vec::new();
                        for _ in 0..3000 {
                            single.step(&sampler.next(&mut rng));
                            norms.push(single.norm_sq());
                            states.push(bits(&single.state()));
                        }
                        // Runs of advance, in uneven chunks, with no early stop.
                        let mut chunked = engines(which);
                        let mut sampler = aesgd_core::batch::BatchSampler::new(schedule, n, batch);
                        let mut chunk_rng = run_rng(6, 0);
                        // A diverging iterate (NaN) stops a run of steps even without a bound.
                        let nan_step =
                            norms.iter().position(|r| r.is_nan()).map_or(u64::MAX, |i| i as u64 + 1);
                        let mut done = 0u64;
                        for chunk in [1u64, 7, 1000, 1, 1991] {
                            let taken = chunked.advance(&mut sampler, &mut chunk_rng, chunk, f64::INFINITY);
                            assert_eq!(taken, chunk.min(nan_step - done), "{case}: steps taken");
                            done += taken;
                            assert_eq!(bits(&chunked.state()), states[done as usize - 1], "{case} at {done}");
                            if done == nan_step {
                                break;
                            }
                        }
                        if nan_step == u64::MAX {
                            assert_eq!(rng.next_u64(), chunk_rng.next_u64(), "{case}: different draws");
                        }
                        // An early stop: the bound is the median norm of the first 300 steps, or
                        // -1 (stop after one step) when no later norm exceeds it (an iterate that
                        // large steps sent to zero).
                        let mut early: Vec<f64> = norms[..300].to_vec();
                        early.sort_by(f64::total_cmp);
                        let exceeds = |bound: f64| norms.iter().position(|&r| r.is_nan() || r > bound);
                        let (bound, first) = match exceeds(early[150]) {
                            Some(index) => (early[150], index + 1),
                            None => (-1.0, 1),
                        };
                        let mut stopped = engines(which);
                        let mut sampler = aesgd_core::batch::BatchSampler::new(schedule, n, batch);
                        let mut stop_rng = run_rng(6, 0);
                        let taken = stopped.advance(&mut sampler, &mut stop_rng, 3000, bound);
                        assert_eq!(taken as usize, first, "{case}: stop step");
                        assert_eq!(bits(&stopped.state()), states[first - 1], "{case}: state at the stop");
                        // The steps after the stop take the batches that follow (numbers drawn
                        // ahead of the stop are kept for them).
                        let after_stop = states.iter().enumerate().skip(first).take(5);
                        for (later, state) in after_stop.take_while(|&(k, _)| (k as u64) < nan_step) {
                            stopped.step(&sampler.next(&mut stop_rng));
                            assert_eq!(&bits(&stopped.state()), state, "{case}: step {later} after the stop");
                        }
                    }
                }
            }
        }
    }
}
