//! The data set: `n` points in `R^d`, stored as the columns of a `d x n` faer matrix.
//!
//! Invariants: every entry is finite and no column is zero. Orthonormality is detected once, at
//! construction, with a tolerance scaled to the problem (`8 eps max(n, d)` on every entry of
//! `X^T X - I`), and decides which engine may run. This module does not know about models or
//! optimisers.
//!
//! Sizes are checked before anything is allocated: a `d x n` matrix (and the `n x n` Gram matrix
//! of the orthonormality test) whose size in bytes does not fit the address space is a
//! [`ConfigError`], never an overflow or a panic. How much memory a run may take is
//! [`RunConfig::validate`](crate::RunConfig::validate)'s decision.

use crate::error::ConfigError;
use faer::{Col, Mat};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A data set with its cached column norms and orthonormality flag.
#[derive(Debug, Clone)]
pub struct Data {
    x: Mat<f64>,
    norms_sq: Vec<f64>,
    orthonormal: bool,
}

impl Data {
    /// The standard basis `x_i = e_i` of `R^d`, `i < n`.
    pub fn basis(n: usize, d: usize) -> Result<Self, ConfigError> {
        check_orthonormal_shape(n, d)?;
        Ok(Self::from_trusted(Mat::from_fn(d, n, |i, j| if i == j { 1.0 } else { 0.0 }), true))
    }

    /// A random orthonormal set: the thin Q factor of a `d x n` matrix of standard normals.
    pub fn random_orthonormal<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Result<Self, ConfigError> {
        check_orthonormal_shape(n, d)?;
        let g = gaussian_matrix(d, n, rng);
        let q = g.qr().compute_thin_Q();
        let data = Self::from_matrix(q)?;
        if !data.orthonormal {
            // A Householder Q is orthonormal to working precision; this guards the tolerance.
            return Err(ConfigError::new(
                "data",
                "QR of a Gaussian matrix",
                "was not orthonormal to working precision (please report this)",
            ));
        }
        Ok(data)
    }

    /// Independent `N(0, I_d / d)` columns: nearly orthogonal when `d >> n`.
    pub fn gaussian<R: Rng + ?Sized>(n: usize, d: usize, rng: &mut R) -> Result<Self, ConfigError> {
        if n == 0 || d == 0 {
            return Err(ConfigError::new("n", n, "n and d must be at least 1"));
        }
        check_size(n, d)?;
        let scale = 1.0 / (d as f64).sqrt();
        let mut g = gaussian_matrix(d, n, rng);
        for j in 0..n {
            for i in 0..d {
                g[(i, j)] *= scale;
            }
        }
        Self::from_matrix(g)
    }

    /// A user-supplied `d x n` matrix, one data point a column.
    pub fn from_matrix(x: Mat<f64>) -> Result<Self, ConfigError> {
        if x.ncols() == 0 || x.nrows() == 0 {
            return Err(ConfigError::new(
                "data",
                format!("a {} x {} matrix", x.nrows(), x.ncols()),
                "needs at least one row and one column",
            ));
        }
        check_size(x.ncols(), x.nrows())?;
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                let v = x[(i, j)];
                if !v.is_finite() {
                    return Err(ConfigError::new(
                        "data",
                        format!("{v} at row {i}, column {j}"),
                        "every entry must be finite",
                    ));
                }
            }
        }
        let data = Self::from_trusted(x, false);
        if let Some(j) = data.norms_sq.iter().position(|&c| c == 0.0) {
            return Err(ConfigError::new("data", format!("column {j} is zero"), "no data point may be zero"));
        }
        let orthonormal = data.orthonormality_error() <= data.orthonormality_tolerance();
        Ok(Self { orthonormal, ..data })
    }

    fn from_trusted(x: Mat<f64>, orthonormal: bool) -> Self {
        let norms_sq = (0..x.ncols()).map(|j| x.col(j).squared_norm_l2()).collect();
        Self { x, norms_sq, orthonormal }
    }

    /// Number of data points `n`.
    pub fn n(&self) -> usize {
        self.x.ncols()
    }

    /// Ambient dimension `d`.
    pub fn d(&self) -> usize {
        self.x.nrows()
    }

    /// The data matrix `X` (`d x n`).
    pub fn matrix(&self) -> &Mat<f64> {
        &self.x
    }

    /// The data point `x_i` as a slice of length `d`.
    pub fn point(&self, i: usize) -> &[f64] {
        self.x.col_as_slice(i)
    }

    /// `||x_i||^2` for every point.
    pub fn norms_sq(&self) -> &[f64] {
        &self.norms_sq
    }

    /// Whether `X^T X = I` to working precision.
    pub fn is_orthonormal(&self) -> bool {
        self.orthonormal
    }

    /// `max |X^T X - I|` over all entries.
    pub fn orthonormality_error(&self) -> f64 {
        let gram = self.x.transpose() * &self.x;
        let mut worst = 0.0f64;
        for j in 0..gram.ncols() {
            for i in 0..gram.nrows() {
                let target = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((gram[(i, j)] - target).abs());
            }
        }
        worst
    }

    /// The tolerance below which [`Self::orthonormality_error`] counts as orthonormal.
    pub fn orthonormality_tolerance(&self) -> f64 {
        8.0 * f64::EPSILON * self.n().max(self.d()) as f64
    }

    /// Data coordinates `u_i = <w, x_i>` of an ambient vector `w`.
    pub fn coords(&self, w: &[f64]) -> Vec<f64> {
        let w = faer::ColRef::from_slice(w);
        let u: Col<f64> = self.x.transpose() * w;
        u.iter().copied().collect()
    }

    /// The ambient vector `sum_i u_i x_i`.
    pub fn combine(&self, u: &[f64]) -> Vec<f64> {
        let u = faer::ColRef::from_slice(u);
        let w: Col<f64> = &self.x * u;
        w.iter().copied().collect()
    }
}

fn check_orthonormal_shape(n: usize, d: usize) -> Result<(), ConfigError> {
    if n == 0 || d == 0 {
        return Err(ConfigError::new("n", n, "n and d must be at least 1"));
    }
    if n > d {
        return Err(ConfigError::new("n", n, format!("orthonormal data needs n <= d = {d}")));
    }
    check_size(n, d)
}

/// Whether `rows x cols` numbers of 8 bytes fit the address space (checked multiplication).
fn fits(rows: usize, cols: usize) -> bool {
    rows.checked_mul(cols)
        .and_then(|count| count.checked_mul(8))
        .is_some_and(|bytes| isize::try_from(bytes).is_ok())
}

/// Refuses sizes whose `d x n` data matrix or `n x n` Gram matrix cannot even be addressed,
/// naming the larger of `d` and `n` (or `n` for the Gram matrix).
fn check_size(n: usize, d: usize) -> Result<(), ConfigError> {
    if !fits(d, n) {
        let (field, value) = if d > n { ("d", d) } else { ("n", n) };
        return Err(ConfigError::new(
            field,
            value,
            format!("a d x n = {d} x {n} matrix of 8-byte numbers does not fit in memory"),
        ));
    }
    if !fits(n, n) {
        return Err(ConfigError::new(
            "n",
            n,
            format!("the n x n = {n} x {n} Gram matrix does not fit in memory"),
        ));
    }
    Ok(())
}

/// A `rows x cols` matrix of independent standard normals, filled column by column.
pub fn gaussian_matrix<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Mat<f64> {
    let mut m = Mat::zeros(rows, cols);
    for j in 0..cols {
        for i in 0..rows {
            m[(i, j)] = StandardNormal.sample(rng);
        }
    }
    m
}
