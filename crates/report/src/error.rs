//! The error type of the reports.

use aesgd_experiment::ExperimentError;
use std::path::PathBuf;

/// Why a report, a figure or a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A figure that cannot be drawn from its runs.
    #[error("figure {id}: {message}")]
    Figure {
        /// The figure id.
        id: String,
        /// What is missing.
        message: String,
    },
    /// Writing or reading failed.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// An expectation file that cannot be read.
    #[error("cannot read {} ({hint}): {message}", path.display())]
    Expectation {
        /// The file.
        path: PathBuf,
        /// What to do about it.
        hint: &'static str,
        /// The cause.
        message: String,
    },
}

impl ReportError {
    /// A [`ReportError::Figure`] error.
    pub fn figure(id: &str, message: impl Into<String>) -> Self {
        Self::Figure { id: id.to_string(), message: message.into() }
    }
}
