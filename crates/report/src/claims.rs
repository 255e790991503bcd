//! `claims.json` and the `--check` comparison with a committed expectation.

use crate::error::ReportError;
use crate::text::verdict_word;
use aesgd_experiment::{ClaimResult, Spec};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The content of `claims.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimsFile {
    /// "quick" or "full".
    pub mode: String,
    /// Every experiment's verdict.
    pub claims: Vec<ClaimResult>,
}

/// Reads an expectation file (a trusted `claims.json`).
pub fn read_expectation(path: &Path) -> Result<ClaimsFile, ReportError> {
    let hint = "copy a trusted claims.json there";
    let text = std::fs::read_to_string(path).map_err(|e| ReportError::Expectation {
        path: path.to_path_buf(),
        hint,
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Expectation {
        path: path.to_path_buf(),
        hint,
        message: e.to_string(),
    })
}

/// Differences between fresh verdicts and an expectation: a verdict that changed, a criterion
/// or experiment that is new, an estimate that moved more than its criterion's tolerance.
pub fn differences(expected: &ClaimsFile, claims: &[ClaimResult], specs: &[&Spec]) -> Vec<String> {
    let mut differences = Vec::new();
    for c in claims {
        let Some(old) = expected.claims.iter().find(|o| o.id == c.id) else {
            differences.push(format!("{}: not in the expectation", c.id));
            continue;
        };
        if old.pass != c.pass {
            differences.push(format!(
                "{}: verdict {} was {}",
                c.id,
                verdict_word(c.pass),
                verdict_word(old.pass)
            ));
        }
        let spec = specs.iter().find(|s| s.id == c.id);
        for r in &c.results {
            let tolerance = spec
                .and_then(|s| s.criteria.iter().find(|k| k.name == r.criterion))
                .map_or(0.0, |k| k.tolerance);
            let Some(o) = old.results.iter().find(|o| o.criterion == r.criterion && o.group == r.group)
            else {
                differences.push(format!("{}: {} at {} is new", c.id, r.criterion, r.group));
                continue;
            };
            if o.pass != r.pass {
                differences.push(format!(
                    "{}: {} at {}: {} was {}",
                    c.id,
                    r.criterion,
                    r.group,
                    verdict_word(r.pass),
                    verdict_word(o.pass)
                ));
            }
            if tolerance > 0.0
                && let (Some(a), Some(b)) = (&r.estimate, &o.estimate)
                && (a.estimate - b.estimate).abs() > tolerance
            {
                differences.push(format!(
                    "{}: {} at {}: estimate {} moved from {} (tolerance {tolerance})",
                    c.id, r.criterion, r.group, a.estimate, b.estimate
                ));
            }
        }
    }
    differences
}
