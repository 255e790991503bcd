//! Expected values over the random initialisation that figures draw beside measured means.
//!
//! With `w_0 ~ N(0, (s^2/d) I_d)` and orthonormal data, the data coordinates `u_i = <w_0, x_i>`
//! and the rest of `w_0` are independent Gaussians of one variance, so every ratio below is a
//! ratio of chi-square variables and has a Beta law; the scale `s` cancels.
//!
//! **Full batch.** GD keeps the direction of the projection of `w_0` onto the `m` data
//! directions it is active on (`m = n` for linear; `m = #{u_i > 0}`, Binomial(n, 1/2), for
//! ReLU), so `|cos(w, w_0)| = sqrt(R)` with `R = S_m / S_d ~ Beta(m/2, (d - m)/2)` (`R = 1` when
//! `m = d`), and `E sqrt(R) = G(m, d) = Gamma((m+1)/2) Gamma(d/2) / (Gamma(m/2) Gamma((d+1)/2))`.
//!
//! **A single selected point.** A run that ends at `x_k` has `|cos(w, w_0)| = |u_k| / ||w_0||
//! = sqrt(u_k^2 / S_m) sqrt(S_m / S_d)`. Under the *share law* (`P(select k) = u_k^2 / S_m` over
//! the `m` eligible coordinates) the first factor's expectation is
//! `E sum_k (u_k^2/S_m)^(3/2) = m E[Beta(1/2, (m-1)/2)^(3/2)] = m Gamma(m/2) / (sqrt(pi) Gamma((m+3)/2))`,
//! independent of the second (the shares are Dirichlet and independent of `S_m`). The share law
//! is a hypothesis: `q-selection` fits the exponent and this curve is the alpha = 2 member.
//!
//! A ReLU run with no positive coordinate (`m = 0`, probability `2^-n`) is dead, has no metric
//! and is left out of every mean; the expectations are conditioned on `m >= 1` likewise. This
//! module computes numbers; it knows nothing of runs or figures.

use aesgd_core::Activation;
use statrs::function::gamma::ln_gamma;

/// `E sqrt(Beta(m/2, (d-m)/2))`: the expected norm share of `m` of `d` Gaussian coordinates
/// (`1` when `m = d`, `0` when `m = 0`).
pub fn expected_norm_share(m: usize, d: usize) -> f64 {
    if m == 0 {
        return 0.0;
    }
    if m >= d {
        return 1.0;
    }
    let (m, d) = (m as f64, d as f64);
    (ln_gamma((m + 1.0) / 2.0) + ln_gamma(d / 2.0) - ln_gamma(m / 2.0) - ln_gamma((d + 1.0) / 2.0)).exp()
}

/// `m E[Beta(1/2, (m-1)/2)^(3/2)]`: the expected share of the selected one of `m` coordinates
/// under the share law (`1` for `m = 1`).
pub fn expected_selected_share(m: usize) -> f64 {
    let m = m as f64;
    m * (ln_gamma(m / 2.0) - 0.5 * std::f64::consts::PI.ln() - ln_gamma((m + 3.0) / 2.0)).exp()
}

/// `E[f(m)]` over the number of eligible coordinates: `m = n` for linear, Binomial(n, 1/2)
/// conditioned on `m >= 1` for ReLU.
fn over_eligible(activation: Activation, n: usize, f: impl Fn(usize) -> f64) -> f64 {
    match activation {
        Activation::Linear => f(n),
        Activation::Relu => {
            // ln C(n, m) 2^-n, summed in order of m; the m = 0 term is left out and the rest
            // renormalised.
            let ln_half = 0.5f64.ln() * n as f64;
            let ln_n1 = ln_gamma(n as f64 + 1.0);
            let weight = |m: usize| {
                (ln_n1 - ln_gamma(m as f64 + 1.0) - ln_gamma((n - m) as f64 + 1.0) + ln_half).exp()
            };
            let total: f64 = (1..=n).map(weight).sum();
            (1..=n).map(|m| weight(m) * f(m)).sum::<f64>() / total
        }
    }
}

/// The expected `|cos(w, w_0)|` of full-batch GD's limit on `n` orthonormal points in `R^d`.
pub fn expected_full_batch_alignment(activation: Activation, n: usize, d: usize) -> f64 {
    over_eligible(activation, n, |m| expected_norm_share(m, d))
}

/// The expected `|cos(w, w_0)|` of a run that ends at one data point chosen by the share law.
pub fn expected_share_law_alignment(activation: Activation, n: usize, d: usize) -> f64 {
    over_eligible(activation, n, |m| expected_selected_share(m) * expected_norm_share(m, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// Monte Carlo means of both alignments, drawn the way the model draws `w_0`: the data
    /// coordinates are the first `n` of `d` Gaussians.
    fn simulated(activation: Activation, n: usize, d: usize, samples: usize) -> ((f64, f64), (f64, f64)) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut full, mut share) = (Vec::new(), Vec::new());
        for _ in 0..samples {
            let g: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            let eligible: Vec<f64> = match activation {
                Activation::Linear => g[..n].iter().map(|x| x.abs()).collect(),
                Activation::Relu => g[..n].iter().copied().filter(|&x| x > 0.0).collect(),
            };
            if eligible.is_empty() {
                continue;
            }
            let s_m: f64 = eligible.iter().map(|x| x * x).sum();
            full.push(s_m.sqrt() / norm);
            // The share law's expectation given u: sum_k (u_k^2 / S_m) |u_k| / ||w_0||.
            share.push(eligible.iter().map(|x| x * x / s_m * x).sum::<f64>() / norm);
        }
        let mean_se = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
            (m, (var / v.len() as f64).sqrt())
        };
        (mean_se(&full), mean_se(&share))
    }

    #[test]
    fn expectations_agree_with_monte_carlo_draws_of_the_initialisation() {
        for (activation, n, d) in [
            (Activation::Relu, 10, 10),
            (Activation::Linear, 10, 10),
            (Activation::Relu, 20, 100),
            (Activation::Linear, 20, 100),
            (Activation::Relu, 3, 5),
        ] {
            let ((full, full_se), (share, share_se)) = simulated(activation, n, d, 40_000);
            let want_full = expected_full_batch_alignment(activation, n, d);
            let want_share = expected_share_law_alignment(activation, n, d);
            // Four standard errors, plus rounding for the exact linear d = n case (se 0).
            assert!(
                (full - want_full).abs() <= 4.0 * full_se + 1e-12,
                "{activation} {n} {d}: {full} vs {want_full}"
            );
            assert!(
                (share - want_share).abs() <= 4.0 * share_se,
                "{activation} {n} {d}: {share} vs {want_share}"
            );
        }
    }

    #[test]
    fn edge_cases_and_large_n_limits() {
        assert_eq!(expected_norm_share(0, 5), 0.0);
        assert_eq!(expected_norm_share(5, 5), 1.0);
        assert!((expected_selected_share(1) - 1.0).abs() < 1e-14);
        // Two coordinates: E[(B^(3/2) + (1-B)^(3/2))] with B ~ Beta(1/2, 1/2) (arcsine law),
        // = 2 E[B^(3/2)] = 2 Gamma(2) Gamma(1) / (Gamma(1/2) Gamma(5/2)) = 2 / (pi * 3/4) = 8 / (3 pi).
        assert!((expected_selected_share(2) - 8.0 / (3.0 * std::f64::consts::PI)).abs() < 1e-14);
        // Linear at d = n keeps w_0 exactly.
        assert_eq!(expected_full_batch_alignment(Activation::Linear, 50, 50), 1.0);
        // ReLU full batch tends to sqrt(1/2); the share law falls like 2^(3/2) / sqrt(pi n).
        assert!((expected_full_batch_alignment(Activation::Relu, 2000, 2000) - 0.5f64.sqrt()).abs() < 1e-3);
        let n = 5000;
        let limit = 2f64.powf(1.5) / (std::f64::consts::PI * n as f64).sqrt();
        assert!((expected_share_law_alignment(Activation::Linear, n, n) / limit - 1.0).abs() < 1e-3);
    }
}
