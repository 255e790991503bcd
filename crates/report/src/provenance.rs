//! Where and how a reproduction ran (`run.json`): the only output that varies between runs.

use serde::Serialize;

/// The provenance of one reproduction.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The code revision (a front end asks git), with `+uncommitted` when the code was edited.
    pub git_revision: String,
    /// The aesgd version.
    pub aesgd_version: &'static str,
    /// Worker threads.
    pub threads: usize,
    /// Seconds from start to report.
    pub wall_seconds: f64,
    /// "quick" or "full".
    pub mode: &'static str,
    /// Runs in the reproduction.
    pub runs: usize,
    /// Runs computed by this invocation.
    pub runs_computed: usize,
    /// Runs read from the cache (those from committed archives among them).
    pub runs_from_cache: usize,
    /// Runs read from the committed archives of the spec folder by this invocation.
    pub runs_from_committed: usize,
    /// Of those, the runs computed again and found identical.
    pub committed_runs_recomputed: usize,
}

impl Provenance {
    /// The provenance of a reproduction of `runs` runs of which `computed` were computed now.
    pub fn new(
        git_revision: String,
        quick: bool,
        threads: usize,
        wall_seconds: f64,
        runs: usize,
        computed: usize,
    ) -> Self {
        Self {
            git_revision,
            aesgd_version: env!("CARGO_PKG_VERSION"),
            threads,
            wall_seconds,
            mode: if quick { "quick" } else { "full" },
            runs,
            runs_computed: computed,
            runs_from_cache: runs.saturating_sub(computed),
            runs_from_committed: 0,
            committed_runs_recomputed: 0,
        }
    }

    /// This provenance with `imported` runs read from committed archives, `recomputed` of them
    /// computed again.
    pub fn with_committed(self, imported: usize, recomputed: usize) -> Self {
        Self { runs_from_committed: imported, committed_runs_recomputed: recomputed, ..self }
    }
}
