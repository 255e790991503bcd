//! aesgd-stats: honest numbers over seeds.
//!
//! Every estimate this project reports comes from here, with its interval, the interval's method
//! and level, and the number of values behind it:
//! - [`Summary`]: count, mean, standard deviation, standard error, median, min, max;
//! - [`mean_interval`] (Student-t), [`proportion_interval`] (Wilson score),
//!   [`bootstrap_interval`] (seeded percentile bootstrap of any statistic),
//!   [`paired_difference_interval`] (Student-t on seed-by-seed differences).
//!
//! Invariants: no function returns NaN. Too few values for an interval is
//! [`StatsError::TooFewValues`], a non-finite input is [`StatsError::NonFinite`] naming its
//! position, and a level outside `(0, 1)` is [`StatsError::InvalidLevel`]. Quantiles come from
//! statrs. This crate knows nothing of runs, files or plots.

mod error;
mod interval;
mod summary;

pub use error::StatsError;
pub use interval::{
    DEFAULT_LEVEL, Interval, Method, bootstrap_interval, mean_interval, normal_quantile,
    paired_difference_interval, proportion_interval, student_t_quantile,
};
pub use summary::{Summary, median};
