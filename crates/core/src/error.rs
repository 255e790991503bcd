//! The one error type of the core: a rejected configuration or data set.
//!
//! Every error names the field, the value that was given and what is allowed, so that a front
//! end (CLI flag, TOML key) can show it to the user unchanged. The core never panics on user
//! input; it returns this error instead.

use std::fmt;

/// A configuration value or a data set that the core cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration field at fault, e.g. `batch`.
    pub field: &'static str,
    /// The value that was given, as text.
    pub value: String,
    /// What would have been accepted.
    pub allowed: String,
}

impl ConfigError {
    /// Builds an error for `field` holding `value`, where `allowed` describes the valid range.
    pub fn new(field: &'static str, value: impl fmt::Display, allowed: impl Into<String>) -> Self {
        Self { field, value: value.to_string(), allowed: allowed.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} = {}: {}", self.field, self.value, self.allowed)
    }
}

impl std::error::Error for ConfigError {}
