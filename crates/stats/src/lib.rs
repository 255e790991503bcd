//! aesgd-stats: honest numbers over seeds.
//!
//! Every estimate this project reports comes from here, with its interval, the interval's method
//! and level, and the number of values behind it:
//! - [`Summary`]: count, mean, standard deviation, standard error, median, min, max;
//! - [`mean_interval`] (Student-t), [`proportion_interval`] (Wilson score),
//!   [`bootstrap_interval`] (seeded percentile bootstrap of any statistic),
//!   [`paired_difference_interval`] (Student-t on seed-by-seed differences);
//! - [`least_squares`] (ordinary least squares by Householder QR, classical standard errors,
//!   [`LinearFit::t_interval`]) and [`bootstrap_coefficients`] (stratified case resampling);
//! - [`fit_power_law`] (the exponent of the choice model `P(c) = u_c^alpha / sum_j u_j^alpha` by
//!   maximum likelihood with a profile-likelihood interval), [`likelihood_ratio_test`],
//!   [`largest_wins_mismatches`] and [`calibration_bins`].
//!
//! Invariants: no function returns NaN. Too few values for an interval is
//! [`StatsError::TooFewValues`], a non-finite input is [`StatsError::NonFinite`] naming its
//! position, and a level outside `(0, 1)` is [`StatsError::InvalidLevel`]; degenerate input (a
//! rank-deficient design, a likelihood without a finite maximum) is its own variant saying what is
//! wrong. Quantiles come from statrs. This crate knows nothing of runs, files or plots.

mod choice;
mod error;
mod interval;
mod regression;
mod summary;

pub use choice::{
    CalibrationBin, ChoiceObservation, LikelihoodRatio, LogLikelihoodDerivatives, MAX_ABS_ALPHA, PowerLawFit,
    calibration_bins, fit_power_law, largest_wins_mismatches, likelihood_ratio_test,
    power_law_log_likelihood, power_law_log_likelihood_derivatives,
};
pub use error::StatsError;
pub use interval::{
    DEFAULT_LEVEL, Interval, Method, bootstrap_interval, mean_interval, normal_quantile,
    paired_difference_interval, proportion_interval, student_t_quantile,
};
pub use regression::{LinearFit, MAX_DRAWS_PER_RESAMPLE, bootstrap_coefficients, least_squares};
pub use summary::{Summary, median};
