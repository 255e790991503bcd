//! A sample's descriptive summary.

use crate::error::{StatsError, check_finite};
use serde::{Deserialize, Serialize};

/// Count, mean, spread and order statistics of a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `count - 1`); `None` for a single value.
    pub sd: Option<f64>,
    /// Standard error of the mean, `sd / sqrt(count)`; `None` for a single value.
    pub se: Option<f64>,
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Summarises a non-empty sample of finite values.
    pub fn of(values: &[f64]) -> Result<Self, StatsError> {
        if values.is_empty() {
            return Err(StatsError::TooFewValues { needed: 1, got: 0 });
        }
        check_finite(values)?;
        let count = values.len();
        let n = count as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd =
            (count >= 2).then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
        Ok(Self {
            count,
            mean,
            sd,
            se: sd.map(|s| s / n.sqrt()),
            median: median(values)?,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// The median of a non-empty sample of finite values.
pub fn median(values: &[f64]) -> Result<f64, StatsError> {
    if values.is_empty() {
        return Err(StatsError::TooFewValues { needed: 1, got: 0 });
    }
    check_finite(values)?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Ok(if sorted.len() % 2 == 1 { sorted[mid] } else { 0.5 * (sorted[mid - 1] + sorted[mid]) })
}
