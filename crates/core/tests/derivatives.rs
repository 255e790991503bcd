//! Gradients and Hessians against finite differences, closed forms against matrices.
//!
//! Finite-difference tolerances follow from the step `h`: a central difference has error
//! `h^2 |f'''| / 6 + eps |f| / h`, about 1e-10 here for O(1) derivatives, so `1e-7` relative to
//! the size of the quantity leaves a margin without hiding a wrong term (a wrong coefficient
//! would be off by O(1)). Exact identities are checked with tolerances of the form
//! `C eps d * scale`.

mod common;

use aesgd_core::Activation;
use aesgd_core::data::Data;
use aesgd_core::hessian::{hessian, hessian_trace, reduced_spectrum};
use aesgd_core::model::{full_gradient, loss, sample_gradient};
use common::{gaussian_data, max_abs, max_abs_diff, random_rotation, rotate, rotated_data};
use faer::Side;
use proptest::prelude::*;

const H: f64 = 1e-5;

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![Just(Activation::Linear), Just(Activation::Relu)]
}

/// A problem: data (Gaussian, so nothing special about orthonormality) and a point `w` whose
/// data coordinates are all at least 0.05 away from the ReLU kink.
fn problem() -> impl Strategy<Value = (Data, Vec<f64>)> {
    (1usize..5, 0usize..4, any::<u64>()).prop_flat_map(|(n, extra, seed)| {
        let d = n + extra;
        let data = gaussian_data(n, d, seed);
        (Just(data), proptest::collection::vec(-1.5f64..1.5, d))
    })
}

fn away_from_kink(data: &Data, w: &[f64]) -> bool {
    data.coords(w).iter().all(|u| u.abs() > 0.05)
}

fn fd_gradient(data: &Data, act: Activation, w: &[f64]) -> Vec<f64> {
    (0..w.len())
        .map(|k| {
            let mut plus = w.to_vec();
            let mut minus = w.to_vec();
            plus[k] += H;
            minus[k] -= H;
            (loss(data, act, &plus) - loss(data, act, &minus)) / (2.0 * H)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn gradient_matches_finite_differences(act in activation(), (data, w) in problem()) {
        prop_assume!(away_from_kink(&data, &w));
        let g = full_gradient(&data, act, &w);
        let fd = fd_gradient(&data, act, &w);
        let tol = 1e-7 * (1.0 + max_abs(&g));
        prop_assert!(max_abs_diff(&g, &fd) < tol, "g = {g:?}, fd = {fd:?}");
    }

    #[test]
    fn sample_gradients_average_to_full_gradient(act in activation(), (data, w) in problem()) {
        let full = full_gradient(&data, act, &w);
        let mut mean = vec![0.0; w.len()];
        for i in 0..data.n() {
            for (m, g) in mean.iter_mut().zip(sample_gradient(&data, act, &w, i)) {
                *m += g / data.n() as f64;
            }
        }
        let tol = 16.0 * f64::EPSILON * data.n() as f64 * (1.0 + max_abs(&full)) * 10.0;
        prop_assert!(max_abs_diff(&full, &mean) < tol);
    }

    #[test]
    fn hessian_matches_finite_differences_of_gradient(act in activation(), (data, w) in problem()) {
        prop_assume!(away_from_kink(&data, &w));
        let hess = hessian(&data, act, &w);
        let d = w.len();
        let mut worst = 0.0f64;
        let mut scale = 1.0f64;
        for k in 0..d {
            let mut plus = w.clone();
            let mut minus = w.clone();
            plus[k] += H;
            minus[k] -= H;
            let gp = full_gradient(&data, act, &plus);
            let gm = full_gradient(&data, act, &minus);
            for row in 0..d {
                let fd = (gp[row] - gm[row]) / (2.0 * H);
                worst = worst.max((fd - hess[(row, k)]).abs());
                scale = scale.max(hess[(row, k)].abs());
            }
        }
        prop_assert!(worst < 1e-7 * scale, "worst difference {worst}");
    }

    #[test]
    fn hessian_is_symmetric_and_trace_is_closed_form(act in activation(), (data, w) in problem()) {
        let hess = hessian(&data, act, &w);
        let d = w.len();
        let mut diag = 0.0;
        let mut scale = 0.0f64;
        for i in 0..d {
            diag += hess[(i, i)];
            for j in 0..d {
                prop_assert_eq!(hess[(i, j)].to_bits(), hess[(j, i)].to_bits(), "H is not exactly symmetric");
                scale = scale.max(hess[(i, j)].abs());
            }
        }
        let closed = hessian_trace(&data, act, &w);
        let tol = 64.0 * f64::EPSILON * (d * data.n()) as f64 * (1.0 + scale);
        prop_assert!((closed - diag).abs() < tol, "closed form {closed} vs diagonal sum {diag}");
    }

    #[test]
    fn reduced_spectrum_matches_full_eigenvalues(
        act in activation(),
        n in 1usize..5,
        extra in 0usize..4,
        seed in any::<u64>(),
        coords in proptest::collection::vec(-1.2f64..1.2, 5),
        perp in 0.0f64..0.8,
    ) {
        let d = n + extra;
        let q = random_rotation(d, seed);
        let data = rotated_data(&q, n);
        // w = sum_i u_i x_i + perp * q_{n}: data coordinates u, orthogonal part of norm perp.
        let u = &coords[..n];
        let perp = if d > n { perp } else { 0.0 };
        let mut local = u.to_vec();
        local.resize(d, 0.0);
        if d > n { local[n] = perp; }
        let w = rotate(&q, &local);
        let full = hessian(&data, act, &w).self_adjoint_eigenvalues(Side::Lower).unwrap();
        let reduced = reduced_spectrum(act, u, perp, d).unwrap();
        let expanded = reduced.expanded();
        let scale = 1.0 + max_abs(&full);
        let tol = 256.0 * f64::EPSILON * d as f64 * scale;
        prop_assert!(max_abs_diff(&full, &expanded) < tol, "full {full:?} vs reduced {expanded:?}");
        prop_assert!((reduced.trace() - hessian_trace(&data, act, &w)).abs() < tol);
    }
}

/// At any global minimum on orthonormal data, `H = (I - P_A + 4 w w^T) / n`: `lambda_max = 4/n`
/// and `tr H = (d + 4 - |A|) / n` (derived in the `hessian` module docs).
#[test]
fn spectrum_at_global_minima_is_closed_form() {
    let (n, d) = (6usize, 9usize);
    let cases: Vec<(Activation, Vec<f64>, usize)> = vec![
        (Activation::Relu, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 1),
        (Activation::Relu, vec![0.6, 0.8, 0.0, 0.0, 0.0, 0.0], 2),
        (Activation::Relu, vec![0.5, 0.5, 0.5, 0.5, 0.0, 0.0], 4),
        (Activation::Linear, vec![0.0, -1.0, 0.0, 0.0, 0.0, 0.0], n),
        (Activation::Linear, vec![0.5, -0.5, 0.5, 0.5, 0.0, 0.0], n),
    ];
    for (act, u, active) in cases {
        let s = reduced_spectrum(act, &u, 0.0, d).unwrap();
        let top = 4.0 / n as f64;
        let trace = (d as f64 + 4.0 - active as f64) / n as f64;
        assert!((s.max() - top).abs() < 1e-14, "{act} {u:?}: lambda_max {}", s.max());
        assert!((s.trace() - trace).abs() < 1e-13, "{act} {u:?}: trace {}", s.trace());
    }
}
