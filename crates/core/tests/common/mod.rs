//! Helpers shared by the integration tests.
#![allow(dead_code)]

use aesgd_core::data::{Data, gaussian_matrix};
use faer::Mat;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// A deterministic rng for test set-up.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A random orthogonal `d x d` matrix (Q of a Gaussian matrix).
pub fn random_rotation(d: usize, seed: u64) -> Mat<f64> {
    gaussian_matrix(d, d, &mut rng(seed)).qr().compute_Q()
}

/// The first `n` columns of `q` as a data set.
pub fn rotated_data(q: &Mat<f64>, n: usize) -> Data {
    let d = q.nrows();
    Data::from_matrix(Mat::from_fn(d, n, |i, j| q[(i, j)])).expect("valid data")
}

/// `q w`.
pub fn rotate(q: &Mat<f64>, w: &[f64]) -> Vec<f64> {
    (0..q.nrows()).map(|i| (0..q.ncols()).map(|j| q[(i, j)] * w[j]).sum()).collect()
}

/// A Gaussian (not orthonormal) data set.
pub fn gaussian_data(n: usize, d: usize, seed: u64) -> Data {
    Data::from_matrix(gaussian_matrix(d, n, &mut rng(seed))).expect("valid data")
}

/// `max_i |a_i - b_i|`.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// `max_i |a_i|`.
pub fn max_abs(a: &[f64]) -> f64 {
    a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}
