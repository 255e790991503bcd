//! Ordinary least squares: coefficients, classical standard errors, Student-t intervals, and a
//! stratified case-resampling bootstrap of the coefficients.
//!
//! What it does:
//! - [`least_squares`] minimises `sum_i (y_i - x_i . b)^2` over `b` for feature vectors `x_i` (the
//!   rows) by a Householder QR factorisation of the design matrix, so the condition number is not
//!   squared as it is in the normal equations. The classical standard error of `b_j` is
//!   `s sqrt([(X^T X)^{-1}]_jj)` with `s^2 = RSS / (rows - columns)`, computed from `R^{-1}`.
//! - [`LinearFit::t_interval`] is the Student-t interval `b_j +- t_{1 - alpha/2, rows - columns} se_j`,
//!   which is exact for independent Gaussian errors of equal variance.
//! - [`bootstrap_coefficients`] resamples rows with replacement within each stratum (so every
//!   stratum, e.g. every point of a sweep, keeps its number of rows), refits, and reports the
//!   percentile interval of each coefficient around the full-data estimate. It assumes neither
//!   Gaussian errors nor equal variances. Resampling `k` rows within a stratum shrinks the
//!   variance of the stratum's mean by `(k - 1) / k`, so with only a few rows per stratum the
//!   intervals are somewhat too narrow; no correction is applied.
//!
//! What it does not do: it adds no intercept (the caller includes a column of ones), has no
//! weights, no regularisation and no column pivoting. A rank-deficient design is an error
//! ([`StatsError::RankDeficient`]) naming the first column that is a linear combination of the
//! columns before it, not a minimum-norm solution. Numerically, a column counts as dependent when
//! the part of it outside the span of the earlier columns is below `1e-10` of its norm.

use crate::error::StatsError;
use crate::interval::{Interval, Method, check_level, sorted_quantile, student_t_quantile};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A column whose part outside the span of the earlier columns is at most this fraction of its
/// norm makes the design rank deficient.
const RANK_TOLERANCE: f64 = 1e-10;

/// How many times [`bootstrap_coefficients`] draws one resample before giving up on a rank-deficient
/// one.
pub const MAX_DRAWS_PER_RESAMPLE: usize = 100;

/// A least-squares fit with classical (homoscedastic) standard errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// The coefficients `b`, one per column, in the columns' order.
    pub coefficients: Vec<f64>,
    /// The classical standard error of each coefficient, `residual_sd sqrt([(X^T X)^{-1}]_jj)`.
    pub standard_errors: Vec<f64>,
    /// The residual standard deviation `sqrt(RSS / (rows - columns))`.
    pub residual_sd: f64,
    /// The number of rows (observations) fitted.
    pub rows: usize,
}

impl LinearFit {
    /// The number of coefficients.
    pub fn columns(&self) -> usize {
        self.coefficients.len()
    }

    /// The residual degrees of freedom, `rows - columns` (at least 1).
    pub fn degrees_of_freedom(&self) -> usize {
        self.rows - self.columns()
    }

    /// The Student-t interval of coefficient `coefficient` at `level`, with `rows - columns`
    /// degrees of freedom.
    pub fn t_interval(&self, coefficient: usize, level: f64) -> Result<Interval, StatsError> {
        let level = check_level(level)?;
        if coefficient >= self.columns() {
            return Err(StatsError::NoSuchCoefficient { index: coefficient, columns: self.columns() });
        }
        let degrees_of_freedom = self.degrees_of_freedom();
        let quantile = student_t_quantile(0.5 + level / 2.0, degrees_of_freedom as f64);
        let half_width = quantile * self.standard_errors[coefficient];
        let estimate = self.coefficients[coefficient];
        Ok(Interval {
            estimate,
            lower: estimate - half_width,
            upper: estimate + half_width,
            level,
            method: Method::LeastSquaresStudentT { degrees_of_freedom },
            n: self.rows,
        })
    }
}

/// Fits `y ~ rows` by ordinary least squares.
///
/// Each row is one observation's feature vector; every row must have the same number of columns,
/// there must be at least `columns + 1` rows, every value must be finite, and the columns must be
/// linearly independent.
pub fn least_squares(rows: &[Vec<f64>], y: &[f64]) -> Result<LinearFit, StatsError> {
    let columns = check_design(rows, y)?;
    let row_count = rows.len();
    let matrix = column_major(rows.iter(), columns);
    let solution = factorise(matrix, y.to_vec(), row_count, columns)?;
    let degrees_of_freedom = (row_count - columns) as f64;
    let residual_sd = (solution.residual_sum_of_squares / degrees_of_freedom).sqrt();
    let standard_errors =
        solution.inverse_gram_diagonal().into_iter().map(|diagonal| residual_sd * diagonal.sqrt()).collect();
    Ok(LinearFit { coefficients: solution.coefficients, standard_errors, residual_sd, rows: row_count })
}

/// Percentile-bootstrap intervals of every least-squares coefficient, resampling rows within
/// strata.
///
/// `strata[i]` labels the stratum of row `i` (any numbers; rows with the same label form one
/// stratum). Each of the `resamples` resamples draws, for every stratum, as many rows as it has,
/// uniformly with replacement from its own rows, using a `ChaCha8Rng` seeded with `seed`, so the
/// result is a function of the inputs and the seed. Each resample is refitted and the interval of
/// coefficient `j` runs between the empirical `alpha/2` and `1 - alpha/2` quantiles of its
/// refitted values; its estimate is the full-data coefficient.
///
/// A resample whose design is rank deficient (for example one that drew a single distinct row in
/// every stratum) is drawn again, up to [`MAX_DRAWS_PER_RESAMPLE`] draws; the intervals are
/// therefore conditional on a full-rank resample. If a resample stays rank deficient the result is
/// [`StatsError::RankDeficientResample`].
pub fn bootstrap_coefficients(
    rows: &[Vec<f64>],
    y: &[f64],
    strata: &[usize],
    resamples: usize,
    seed: u64,
    level: f64,
) -> Result<Vec<Interval>, StatsError> {
    let level = check_level(level)?;
    let full_fit = least_squares(rows, y)?;
    if strata.len() != rows.len() {
        return Err(StatsError::RowCountMismatch { what: "strata", rows: rows.len(), got: strata.len() });
    }
    if resamples < 2 {
        return Err(StatsError::TooFewValues { needed: 2, got: resamples });
    }
    let row_count = rows.len();
    let columns = full_fit.columns();

    // The rows of each stratum, in the order of the strata's labels, so that the stream of draws
    // does not depend on anything but the inputs and the seed.
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (row, &stratum) in strata.iter().enumerate() {
        members.entry(stratum).or_default().push(row);
    }

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut drawn_rows = Vec::with_capacity(row_count);
    let mut refitted: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); columns];
    for resample in 0..resamples {
        let mut attempts = 0;
        let coefficients = loop {
            attempts += 1;
            drawn_rows.clear();
            for stratum_rows in members.values() {
                for _ in 0..stratum_rows.len() {
                    drawn_rows.push(stratum_rows[rng.random_range(0..stratum_rows.len())]);
                }
            }
            let matrix = column_major(drawn_rows.iter().map(|&row| &rows[row]), columns);
            let response = drawn_rows.iter().map(|&row| y[row]).collect();
            match factorise(matrix, response, row_count, columns) {
                Ok(solution) => break solution.coefficients,
                Err(StatsError::RankDeficient { .. }) if attempts < MAX_DRAWS_PER_RESAMPLE => continue,
                Err(StatsError::RankDeficient { .. }) => {
                    return Err(StatsError::RankDeficientResample { resample, attempts });
                }
                Err(other) => return Err(other),
            }
        };
        for (values, coefficient) in refitted.iter_mut().zip(coefficients) {
            values.push(coefficient);
        }
    }

    let alpha = 1.0 - level;
    Ok(refitted
        .into_iter()
        .zip(&full_fit.coefficients)
        .map(|(mut values, &estimate)| {
            values.sort_by(f64::total_cmp);
            Interval {
                estimate,
                lower: sorted_quantile(&values, alpha / 2.0),
                upper: sorted_quantile(&values, 1.0 - alpha / 2.0),
                level,
                method: Method::StratifiedPercentileBootstrap { resamples, seed },
                n: row_count,
            }
        })
        .collect())
}

/// Checks the shape and finiteness of a regression's inputs and returns the number of columns.
fn check_design(rows: &[Vec<f64>], y: &[f64]) -> Result<usize, StatsError> {
    if y.len() != rows.len() {
        return Err(StatsError::RowCountMismatch { what: "y", rows: rows.len(), got: y.len() });
    }
    let columns = rows.first().map_or(0, Vec::len);
    if rows.is_empty() {
        return Err(StatsError::TooFewRows { rows: 0, columns });
    }
    if columns == 0 {
        return Err(StatsError::NoColumns);
    }
    for (row, features) in rows.iter().enumerate() {
        if features.len() != columns {
            return Err(StatsError::RaggedRow { row, expected: columns, got: features.len() });
        }
    }
    if rows.len() < columns + 1 {
        return Err(StatsError::TooFewRows { rows: rows.len(), columns });
    }
    for (row, features) in rows.iter().enumerate() {
        if let Some(column) = features.iter().position(|value| !value.is_finite()) {
            return Err(StatsError::NonFiniteFeature { row, column, value: features[column] });
        }
    }
    if let Some(row) = y.iter().position(|value| !value.is_finite()) {
        return Err(StatsError::NonFiniteResponse { row, value: y[row] });
    }
    Ok(columns)
}

/// The given rows as one column-major matrix (column `j` occupies `j * rows .. (j + 1) * rows`).
fn column_major<'a>(selected: impl ExactSizeIterator<Item = &'a Vec<f64>>, columns: usize) -> Vec<f64> {
    let row_count = selected.len();
    let mut matrix = vec![0.0; row_count * columns];
    for (row, features) in selected.enumerate() {
        for (column, &value) in features.iter().enumerate() {
            matrix[column * row_count + row] = value;
        }
    }
    matrix
}

/// The Euclidean norm, scaled by the largest magnitude so that squaring cannot overflow.
fn norm(values: &[f64]) -> f64 {
    let scale = values.iter().fold(0.0_f64, |largest, value| largest.max(value.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    scale * values.iter().map(|value| (value / scale).powi(2)).sum::<f64>().sqrt()
}

/// What the QR factorisation leaves for the fit.
struct Solution {
    /// The least-squares coefficients.
    coefficients: Vec<f64>,
    /// The residual sum of squares.
    residual_sum_of_squares: f64,
    /// The upper-triangular factor `R`, row-major, `columns x columns`.
    upper_triangle: Vec<f64>,
    /// The number of columns.
    columns: usize,
}

impl Solution {
    /// The diagonal of `(X^T X)^{-1} = R^{-1} R^{-T}`: entry `j` is the squared norm of row `j` of
    /// `R^{-1}`.
    fn inverse_gram_diagonal(&self) -> Vec<f64> {
        let p = self.columns;
        let r = |i: usize, j: usize| self.upper_triangle[i * p + j];
        let mut diagonal = vec![0.0; p];
        // Column `k` of `R^{-1}` solves `R z = e_k`; only its first `k + 1` entries are non-zero.
        let mut z = vec![0.0; p];
        for k in 0..p {
            for i in (0..=k).rev() {
                let right_side = if i == k { 1.0 } else { 0.0 };
                let known: f64 = (i + 1..=k).map(|j| r(i, j) * z[j]).sum();
                z[i] = (right_side - known) / r(i, i);
            }
            for i in 0..=k {
                diagonal[i] += z[i] * z[i];
            }
        }
        diagonal
    }
}

/// Solves the least-squares problem of a column-major `rows x columns` matrix and response `y` by
/// Householder QR, reporting the first (numerically) dependent column as rank deficiency.
fn factorise(
    mut matrix: Vec<f64>,
    mut y: Vec<f64>,
    rows: usize,
    columns: usize,
) -> Result<Solution, StatsError> {
    let column_norms: Vec<f64> =
        (0..columns).map(|column| norm(&matrix[column * rows..(column + 1) * rows])).collect();
    let mut diagonal = vec![0.0; columns];
    for k in 0..columns {
        let (done, rest) = matrix.split_at_mut((k + 1) * rows);
        let reflector = &mut done[k * rows + k..];
        // The part of column k below the diagonal is its component outside the span of the
        // columns before it; if that is negligible (or the column is zero), column k depends on
        // them.
        let remaining_norm = norm(reflector);
        if remaining_norm <= RANK_TOLERANCE * column_norms[k] {
            let relative_residual =
                if column_norms[k] == 0.0 { 0.0 } else { remaining_norm / column_norms[k] };
            return Err(StatsError::RankDeficient { column: k, relative_residual });
        }
        // The reflection maps the column to `alpha e_1`; `alpha` takes the sign opposite to the
        // leading entry so that `v = x - alpha e_1` suffers no cancellation.
        let leading = reflector[0];
        let alpha = if leading >= 0.0 { -remaining_norm } else { remaining_norm };
        reflector[0] = leading - alpha;
        let reflector_norm_squared = 2.0 * remaining_norm * (remaining_norm + leading.abs());
        let reflector = &*reflector;
        let apply = |target: &mut [f64]| {
            let projection: f64 = reflector.iter().zip(target.iter()).map(|(v, t)| v * t).sum();
            let factor = 2.0 * projection / reflector_norm_squared;
            for (t, v) in target.iter_mut().zip(reflector) {
                *t -= factor * v;
            }
        };
        for later in 0..columns - k - 1 {
            apply(&mut rest[later * rows + k..(later + 1) * rows]);
        }
        apply(&mut y[k..]);
        diagonal[k] = alpha;
    }

    let mut upper_triangle = vec![0.0; columns * columns];
    for i in 0..columns {
        upper_triangle[i * columns + i] = diagonal[i];
        for j in i + 1..columns {
            upper_triangle[i * columns + j] = matrix[j * rows + i];
        }
    }
    // Back substitution of `R b = (Q^T y)[..columns]`.
    let mut coefficients = vec![0.0; columns];
    for i in (0..columns).rev() {
        let known: f64 = (i + 1..columns).map(|j| upper_triangle[i * columns + j] * coefficients[j]).sum();
        coefficients[i] = (y[i] - known) / upper_triangle[i * columns + i];
    }
    // The residual is the part of `Q^T y` below the first `columns` entries.
    let residual_sum_of_squares = norm(&y[columns..]).powi(2);
    Ok(Solution { coefficients, residual_sum_of_squares, upper_triangle, columns })
}
