//! The one error type of the experiment library.
//!
//! Every variant names what is at fault (a file and key, a path, a cache key) so that a front
//! end can show it unchanged. This module does not print.

use aesgd_core::ConfigError;
use std::path::PathBuf;

/// Anything that stops an experiment from being loaded, run or judged.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The work was interrupted from outside ([`aesgd_core::run::Interrupt`]): the runs that
    /// had finished are cached where there is a cache (a reproduction), the others have no
    /// result.
    #[error("interrupted after {finished} run(s) had finished; the rest have no result")]
    Interrupted {
        /// The runs that finished before the interrupt.
        finished: u64,
    },
    /// A spec value out of range, with the key and what is allowed.
    #[error("{}: invalid {key} = {value}: {allowed}", file.display())]
    Spec {
        /// The spec file.
        file: PathBuf,
        /// The key, e.g. `sweep.batch` or `criterion "c".threshold`.
        key: String,
        /// The value given, as text.
        value: String,
        /// What would be accepted.
        allowed: String,
    },
    /// A spec file that is not valid TOML or does not match the spec format.
    #[error("{}: {message}", file.display())]
    Parse {
        /// The spec file.
        file: PathBuf,
        /// What the parser said, with the key path and position.
        message: String,
    },
    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An argument of the library's callers (not a spec or run field) out of range.
    #[error("invalid {name} = {value}: {allowed}")]
    Argument {
        /// The argument, e.g. `jobs`.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A run configuration the core refuses.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A run that should be in the cache is not.
    #[error("run {key} is missing from the cache")]
    MissingRun {
        /// Its cache key.
        key: String,
    },
    /// An experiment id asked for that no spec has.
    #[error("unknown experiment {id}: known experiments are {known}")]
    UnknownExperiment {
        /// The id asked for.
        id: String,
        /// The ids there are, comma-separated.
        known: String,
    },
    /// A figure id used by two figures.
    #[error("{}: figure id {id} is already used in {}", file.display(), first.display())]
    DuplicateFigure {
        /// The figure id.
        id: String,
        /// The spec that uses it first.
        first: PathBuf,
        /// The spec that uses it again.
        file: PathBuf,
    },
    /// A spec folder without specs.
    #[error("no experiment specs (*.toml) in {}", folder.display())]
    NoSpecs {
        /// The folder.
        folder: PathBuf,
    },
    /// An output folder that another process is writing.
    #[error("the output folder {} is in use by {holder}; wait for it to finish or choose another --out", folder.display())]
    Locked {
        /// The folder.
        folder: PathBuf,
        /// Who holds its lock.
        holder: String,
    },
    /// A sweep too large to run or hold, refused before any work.
    #[error("{origin}: {what} is {count} runs, more than the limit of {limit}: {advice}")]
    TooManyRuns {
        /// Where the runs come from (a spec file, or a grid of flags).
        origin: String,
        /// What was counted.
        what: String,
        /// The count.
        count: u128,
        /// The limit.
        limit: u64,
        /// What to do instead.
        advice: &'static str,
    },
    /// A committed archive of runs that cannot be read as a gzipped tar file.
    #[error("cannot read the committed runs {}: {reason}; delete the archive or reproduce without committed runs", path.display())]
    CommittedArchive {
        /// The archive.
        path: PathBuf,
        /// What the reader said.
        reason: String,
    },
    /// A committed run that differs from the same run computed now: the code changed its
    /// results without a new cache format, so no committed run can be trusted.
    #[error(
        "the committed run {key} ({experiment}) differs from the same run computed now, in {difference}: \
         the committed archives are stale, and none of their runs was cached. \
         Reproduce without committed runs, or pack the archives again from fresh runs"
    )]
    CommittedRunDiffers {
        /// The run's cache key.
        key: String,
        /// The experiment id.
        experiment: String,
        /// The first field that differs, with both values.
        difference: String,
    },
    /// A record that cannot be written as JSON.
    #[error("cannot serialize {what}: {source}")]
    Json {
        /// What was being serialized.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl ExperimentError {
    /// A [`ExperimentError::Spec`] error.
    pub fn spec(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
        value: impl std::fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Self::Spec { file: file.into(), key: key.into(), value: value.to_string(), allowed: allowed.into() }
    }

    /// An [`ExperimentError::Io`] error.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { action, path: path.into(), source }
    }
}
