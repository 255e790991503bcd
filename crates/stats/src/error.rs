//! Errors of the statistics: explicit, never a NaN.

use std::fmt;

/// Why a summary or an interval could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsError {
    /// The method needs at least `needed` values and got `got`.
    TooFewValues {
        /// The minimum number of values.
        needed: usize,
        /// The number given.
        got: usize,
    },
    /// The value at `index` is not finite.
    NonFinite {
        /// Its position in the input.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// The confidence level is not in `(0, 1)`.
    InvalidLevel(f64),
    /// More successes than trials.
    InvalidCount {
        /// Successes.
        successes: u64,
        /// Trials.
        trials: u64,
    },
    /// Paired samples of different lengths.
    LengthMismatch {
        /// Length of the first sample.
        first: usize,
        /// Length of the second sample.
        second: usize,
    },
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewValues { needed, got } => {
                write!(f, "interval undefined: needs at least {needed} values, got {got}")
            }
            Self::NonFinite { index, value } => write!(f, "value {index} is not finite ({value})"),
            Self::InvalidLevel(level) => write!(f, "confidence level {level} is not in (0, 1)"),
            Self::InvalidCount { successes, trials } => {
                write!(f, "{successes} successes out of {trials} trials")
            }
            Self::LengthMismatch { first, second } => {
                write!(f, "paired samples have lengths {first} and {second}")
            }
        }
    }
}

impl std::error::Error for StatsError {}

/// Checks that every value is finite.
pub(crate) fn check_finite(values: &[f64]) -> Result<(), StatsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite { index, value: values[index] }),
        None => Ok(()),
    }
}
