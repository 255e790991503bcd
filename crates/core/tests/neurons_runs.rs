//! Runs of `k` neurons ([`run_neurons`]) to their end: small batches put ReLU neurons on `k`
//! distinct data points at a global minimum, full-batch linear descent ends at the predicted
//! projection, the dense and reduced engines end alike, one neuron ends as the single-neuron
//! run does, and bad input is refused before any step.

use aesgd_core::neurons::trace_at_minimum;
use aesgd_core::run::{run, run_neurons};
use aesgd_core::{Activation, DataSpec, EngineChoice, Outcome, RunConfig};

/// `c` with `k` neurons.
fn with(c: &RunConfig, k: usize) -> RunConfig {
    RunConfig { neurons: k, ..c.clone() }
}

fn config(activation: Activation, n: usize, d: usize, batch: usize) -> RunConfig {
    RunConfig { activation, n, d, batch, max_steps: 5_000_000, ..RunConfig::default() }
}

#[test]
fn small_batches_put_relu_neurons_on_distinct_points_at_a_minimum() {
    for (k, batch) in [(2, 1), (3, 1), (3, 5)] {
        let c = config(Activation::Relu, 10, 10, batch);
        let mut converged = 0;
        for seed in 0..6 {
            let r = run_neurons(&with(&c, k), seed, 0).unwrap();
            let case = format!("k = {k}, b = {batch}, seed {seed}: {:?}", r.metrics);
            match r.outcome {
                Outcome::Converged { .. } => {
                    let gap = r.loss_gap.unwrap();
                    assert!(gap.abs() < 1e-8, "{case}: gap {gap}");
                    let points = r.metrics.selected_points.clone().expect(&case);
                    assert_eq!(points.len(), k, "{case}");
                    assert_eq!(
                        (r.metrics.distinct_selected, r.metrics.collisions, r.metrics.dead_neurons),
                        (k, 0, 0)
                    );
                    assert!(r.sparse_step.is_some_and(|s| s <= r.steps_run), "{case}");
                    assert!(r.final_stationarity <= c.grad_tol, "{case}");
                    // At k neurons on k distinct points H = (1/n) blockdiag(I + 3 x_p x_p^T)
                    // (other samples are inactive), so lambda_max = 4/n as for one neuron.
                    let top = r.hessian_lambda_max.expect("kd is small");
                    assert!((top - 4.0 / c.n as f64).abs() < 1e-6, "{case}: lambda_max {top}");
                    // The identified minimum: the k selected points, with tr H = k (d + 3)/n and
                    // the same top eigenvalue. Its rows are the iterate's, unit to within the
                    // convergence (|g| <= 1e-10 puts |w_j| - 1 at about 1e-10, and tr H moves by
                    // about (d + 4) times that): 1e-8.
                    let limit = r.limit.as_ref().expect(&case);
                    assert_eq!(limit.support, k, "{case}");
                    let want = trace_at_minimum(Activation::Relu, k, c.n, c.d, k);
                    assert!((limit.hessian_trace - want).abs() < 1e-8, "{case}: {}", limit.hessian_trace);
                    assert!((want - (k * (c.d + 3)) as f64 / c.n as f64).abs() < 1e-15);
                    let top = limit.hessian_lambda_max.expect("kd is small");
                    assert!((top - 4.0 / c.n as f64).abs() < 1e-8, "{case}: limit lambda_max {top}");
                    converged += 1;
                }
                // A neuron that starts with no active sample never moves, and the others cannot
                // reconstruct more than their own points: never counted as a minimum.
                Outcome::StationaryNotMinimum { .. } => {
                    assert!(r.metrics.dead_neurons > 0 || r.metrics.collisions > 0, "{case}");
                    assert!(r.loss_gap.unwrap() > 1.0 / (4.0 * c.n as f64), "{case}");
                }
                other => panic!("{case}: {other:?}"),
            }
        }
        println!("k = {k}, b = {batch}: {converged} of 6 converged");
        assert!(converged >= 3, "k = {k}, b = {batch}: {converged} of 6 converged");
    }
}

#[test]
fn full_batch_linear_descent_ends_at_the_predicted_projection() {
    for (d, k) in [(8, 2), (14, 3)] {
        let c = RunConfig { data: DataSpec::Orthonormal, ..config(Activation::Linear, 8, d, 8) };
        for seed in 0..3 {
            let r = run_neurons(&with(&c, k), seed, 1).unwrap();
            assert!(matches!(r.outcome, Outcome::Converged { .. }), "{:?}", r.outcome);
            let limit = r.linear_limit.as_ref().expect("a full-rank start");
            let n = c.n;
            for i in 0..n {
                let (got, want) = (r.metrics.projection_diagonal[i], limit.projection[i * n + i]);
                assert!((got - want).abs() < 1e-6, "d = {d}, k = {k}, point {i}: {got} vs {want}");
            }
            // Dense: generically every point keeps some weight.
            assert!(r.sparse_step.is_none(), "{:?}", r.metrics.projection_diagonal);
            // U^T U at the predicted projection, and the identified minimum (the polar factor
            // of U) has the linear minimum's trace k (d + 2 + 2k - n)/n and all n points.
            let align = r.align_gd_limit.expect("a predicted limit");
            assert!((align - 1.0).abs() < 1e-6, "d = {d}, k = {k}: {align}");
            let limit = r.limit.as_ref().expect("a converged run on orthonormal data");
            assert_eq!(limit.support, n);
            let want = trace_at_minimum(Activation::Linear, k, n, d, n);
            assert!((limit.hessian_trace - want).abs() < 1e-9, "{} vs {want}", limit.hessian_trace);
            assert!((r.hessian_trace - want).abs() < 1e-5, "raw iterate {} vs {want}", r.hessian_trace);
        }
    }
}

#[test]
fn the_dense_and_reduced_engines_end_alike() {
    for activation in [Activation::Relu, Activation::Linear] {
        let c = RunConfig { data: DataSpec::Orthonormal, ..config(activation, 8, 12, 3) };
        let dense = RunConfig { engine: EngineChoice::Dense, ..c.clone() };
        for seed in 0..3 {
            let (a, b) = (
                run_neurons(&with(&c, 3), seed, 0).unwrap(),
                run_neurons(&with(&dense, 3), seed, 0).unwrap(),
            );
            assert_eq!((a.engine, b.engine), ("reduced", "dense"));
            assert_eq!(a.outcome, b.outcome, "{activation:?}, seed {seed}");
            assert_eq!(a.metrics.selected_points, b.metrics.selected_points);
            let gap = a.coords.iter().zip(&b.coords).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(gap < 1e-9, "{activation:?}, seed {seed}: {gap:e}");
        }
    }
}

#[test]
fn one_neuron_ends_as_the_single_neuron_run_on_any_data() {
    // Gaussian data: the dense engines, the linear activation's L* and stationary gap from the
    // eigenvalues of X^T X, ReLU's unknown L*.
    for activation in [Activation::Linear, Activation::Relu] {
        let c = RunConfig { data: DataSpec::Gaussian, max_steps: 300_000, ..config(activation, 6, 9, 2) };
        for seed in 0..3 {
            let (one, single) = (run_neurons(&with(&c, 1), seed, 0).unwrap(), run(&c, seed, 0).unwrap());
            assert_eq!((one.engine, single.engine), ("dense", "dense"));
            assert_eq!(one.outcome, single.outcome, "{activation:?}, seed {seed}");
            assert_eq!(one.loss_gap.is_some(), single.final_metrics.loss_gap.is_some());
            if let (Some(a), Some(b)) = (one.loss_gap, single.final_metrics.loss_gap) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
            assert!((one.align_init - single.final_metrics.align_init).abs() < 1e-9);
            assert!((one.hessian_trace - single.final_metrics.hessian_trace).abs() < 1e-9);
        }
    }
    // The linear activation's L* and gap for k = 1 are the single neuron's, bit for bit.
    let data = aesgd_core::data::Data::gaussian(5, 7, &mut aesgd_core::run::run_rng(1, 1)).unwrap();
    assert_eq!(
        aesgd_core::neurons::minimum_loss_and_stationary_gap(&data, Activation::Linear, 1).unwrap(),
        aesgd_core::model::minimum_loss_and_stationary_gap(&data, Activation::Linear)
    );
}

#[test]
fn one_neuron_ends_as_the_single_neuron_run() {
    for (activation, batch) in
        [(Activation::Relu, 1), (Activation::Relu, 4), (Activation::Linear, 2), (Activation::Relu, 8)]
    {
        let c = config(activation, 8, 8, batch);
        for seed in 0..4 {
            let (one, single) = (run_neurons(&with(&c, 1), seed, 2).unwrap(), run(&c, seed, 2).unwrap());
            assert_eq!(one.outcome, single.outcome, "{activation:?}, b = {batch}, seed {seed}");
            assert_eq!(one.metrics.selected[0], single.final_metrics.selected);
            assert_eq!(one.sparse_step, single.sparse_step);
            // The identified minimum and the alignment with the predicted limit are the single
            // neuron's.
            assert_eq!(one.limit.as_ref().map(|l| l.support), single.limit.as_ref().map(|l| l.support));
            // Every one of these runs converges on the basis, so both have a limit, and the
            // linear ones an alignment with the predicted full-batch limit.
            let (a, b) = (one.limit.as_ref().expect("a limit"), single.limit.as_ref().expect("a limit"));
            assert!((a.hessian_trace - b.hessian_trace).abs() < 1e-9, "{a:?} vs {b:?}");
            assert_eq!(one.align_gd_limit.is_some(), activation == Activation::Linear);
            if let (Some(a), Some(b)) = (one.align_gd_limit, single.final_metrics.align_gd_limit) {
                assert!((a - b).abs() < 1e-9, "{a} vs {b}");
            }
            let gap =
                one.coords.iter().zip(&single.final_state.u).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(gap < 1e-9, "{gap:e}");
        }
    }
}

#[test]
fn bad_input_is_refused_before_any_step() {
    let c = config(Activation::Relu, 6, 6, 2);
    for (k, wanted) in [(0, "1..=6"), (7, "1..=6")] {
        let e = run_neurons(&with(&c, k), 0, 0).unwrap_err().to_string();
        assert!(e.contains("neurons") && e.contains(wanted), "{e}");
    }
    let forced = RunConfig { engine: EngineChoice::Reduced, data: DataSpec::Gaussian, ..c.clone() };
    assert!(run_neurons(&with(&forced, 2), 0, 0).unwrap_err().to_string().contains("orthonormal"));
    assert!(run_neurons(&with(&RunConfig { batch: 0, ..c.clone() }, 2), 0, 0).is_err());
    // The single neuron's entry points refuse several neurons rather than run one.
    let two = with(&c, 2);
    let e = run(&two, 0, 0).unwrap_err().to_string();
    assert!(e.contains("neurons") && e.contains("run_neurons"), "{e}");
    assert!(aesgd_core::run::initial_coordinates(&two, 0, 0).is_err());
    let results = aesgd_core::run::run_group(&two, 0, &mut [(0, &mut aesgd_core::run::NoObserver)]);
    assert!(results[0].is_err());
}
