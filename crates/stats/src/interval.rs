//! Confidence intervals with their method and level recorded beside them.
//!
//! - Mean: `mean +- t_{1 - alpha/2, n - 1} s / sqrt(n)` (Student-t), `n >= 2`.
//! - Proportion: the Wilson score interval
//!   `(p + z^2/2n +- z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)`, `n >= 1`; it stays inside
//!   `[0, 1]` and is informative at 0 and `n` successes.
//! - Any statistic: the percentile bootstrap, `resamples` resamples drawn with a `ChaCha8Rng`
//!   seeded by the caller, the interval between the empirical `alpha/2` and `1 - alpha/2`
//!   quantiles (linear interpolation between order statistics), `n >= 2`.
//! - Paired difference: the Student-t interval of the seed-by-seed differences `a_i - b_i`.
//!
//! The intervals of least-squares coefficients and of the power-law exponent are made by the
//! `regression` and `choice` modules, with their own [`Method`]s.

use crate::error::{StatsError, check_finite};
use crate::summary::Summary;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The project's default confidence level.
pub const DEFAULT_LEVEL: f64 = 0.95;

/// How an interval was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    /// Student-t interval of a mean.
    StudentT,
    /// Wilson score interval of a proportion.
    Wilson,
    /// Percentile bootstrap.
    PercentileBootstrap {
        /// Number of resamples.
        resamples: usize,
        /// The seed of the resampling stream.
        seed: u64,
    },
    /// Student-t interval of paired differences.
    PairedStudentT,
    /// Student-t interval of a least-squares coefficient from its classical standard error.
    LeastSquaresStudentT {
        /// Rows minus columns.
        degrees_of_freedom: usize,
    },
    /// Percentile bootstrap that resamples rows with replacement within each stratum.
    StratifiedPercentileBootstrap {
        /// Number of resamples.
        resamples: usize,
        /// The seed of the resampling stream.
        seed: u64,
    },
    /// Profile-likelihood interval: the parameters whose likelihood-ratio statistic is below the
    /// chi-square (1 degree of freedom) quantile of the level.
    ProfileLikelihood,
}

/// An estimate with its confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The point estimate.
    pub estimate: f64,
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// How it was computed.
    pub method: Method,
    /// Number of values (seeds, trials or pairs) behind it.
    pub n: usize,
}

impl Interval {
    /// Whether `x` lies in `[lower, upper]`.
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }

    /// `upper - lower`.
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }
}

pub(crate) fn check_level(level: f64) -> Result<f64, StatsError> {
    if level > 0.0 && level < 1.0 { Ok(level) } else { Err(StatsError::InvalidLevel(level)) }
}

/// The `p`-quantile of Student's t with `df` degrees of freedom.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    // Parameters are valid for df > 0, which every caller guarantees.
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// The `p`-quantile of the standard normal.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::new(0.0, 1.0).map_or(f64::NAN, |z| z.inverse_cdf(p))
}

/// Student-t interval of the mean of `values`.
pub fn mean_interval(values: &[f64], level: f64) -> Result<Interval, StatsError> {
    t_interval(values, level, Method::StudentT)
}

fn t_interval(values: &[f64], level: f64, method: Method) -> Result<Interval, StatsError> {
    let level = check_level(level)?;
    if values.len() < 2 {
        return Err(StatsError::TooFewValues { needed: 2, got: values.len() });
    }
    let s = Summary::of(values)?;
    let se = s.se.unwrap_or(0.0);
    let half = student_t_quantile(0.5 + level / 2.0, (s.count - 1) as f64) * se;
    Ok(Interval { estimate: s.mean, lower: s.mean - half, upper: s.mean + half, level, method, n: s.count })
}

/// Wilson score interval of a proportion `successes / trials`.
pub fn proportion_interval(successes: u64, trials: u64, level: f64) -> Result<Interval, StatsError> {
    let level = check_level(level)?;
    if trials == 0 {
        return Err(StatsError::TooFewValues { needed: 1, got: 0 });
    }
    if successes > trials {
        return Err(StatsError::InvalidCount { successes, trials });
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z = normal_quantile(0.5 + level / 2.0);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Ok(Interval {
        estimate: p,
        // At 0 and n successes the formula gives exactly 0 and 1 up to rounding; clamp it away.
        lower: if successes == 0 { 0.0 } else { (center - half).max(0.0) },
        upper: if successes == trials { 1.0 } else { (center + half).min(1.0) },
        level,
        method: Method::Wilson,
        n: trials as usize,
    })
}

/// The `p`-quantile of sorted values, interpolating linearly between order statistics.
pub(crate) fn sorted_quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

/// Percentile-bootstrap interval of `statistic` over `values`, resampled with a seeded stream.
///
/// The statistic must return a finite value on every resample; a non-finite one is reported as
/// [`StatsError::NonFinite`] with the resample's index.
pub fn bootstrap_interval(
    values: &[f64],
    statistic: impl Fn(&[f64]) -> f64,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<Interval, StatsError> {
    let level = check_level(level)?;
    if values.len() < 2 {
        return Err(StatsError::TooFewValues { needed: 2, got: values.len() });
    }
    if resamples < 2 {
        return Err(StatsError::TooFewValues { needed: 2, got: resamples });
    }
    check_finite(values)?;
    let estimate = statistic(values);
    if !estimate.is_finite() {
        return Err(StatsError::NonFinite { index: 0, value: estimate });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut resample = vec![0.0; values.len()];
    let mut stats = Vec::with_capacity(resamples);
    for index in 0..resamples {
        for slot in resample.iter_mut() {
            *slot = values[rng.random_range(0..values.len())];
        }
        let value = statistic(&resample);
        if !value.is_finite() {
            return Err(StatsError::NonFinite { index, value });
        }
        stats.push(value);
    }
    stats.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    Ok(Interval {
        estimate,
        lower: sorted_quantile(&stats, alpha / 2.0),
        upper: sorted_quantile(&stats, 1.0 - alpha / 2.0),
        level,
        method: Method::PercentileBootstrap { resamples, seed },
        n: values.len(),
    })
}

/// Student-t interval of the mean of the paired differences `first_i - second_i`.
pub fn paired_difference_interval(first: &[f64], second: &[f64], level: f64) -> Result<Interval, StatsError> {
    if first.len() != second.len() {
        return Err(StatsError::LengthMismatch { first: first.len(), second: second.len() });
    }
    check_finite(first)?;
    check_finite(second)?;
    let differences: Vec<f64> = first.iter().zip(second).map(|(a, b)| a - b).collect();
    t_interval(&differences, level, Method::PairedStudentT)
}
