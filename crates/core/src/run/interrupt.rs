//! Stopping runs from outside: a flag that a front end raises (on Ctrl-C, say) and the
//! run-control loop reads between stretches of steps.
//!
//! An interrupted run has no result: it is not an outcome, and nothing of it may be recorded
//! or cached. The flag is read before a group's runs start, at every stop of the run-control
//! loop, after every stretch of about [`POLL_WORK`] floating-point operations of steps (a few
//! milliseconds, whatever the engine and size), and between the final measurements of a group's
//! runs. What is not cut: drawing one run's data (the QR of a `d x n` matrix for random
//! orthonormal data) and measuring one final iterate (its spectrum, `O(n^3)`), seconds only at
//! `n` in the thousands. Reading the flag changes nothing a finished run computes: stretches of
//! steps are cut where it is read, and the engines take the same steps however their stretches
//! are cut (tested).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// The work between two readings of an [`Interrupt`], in floating-point operations of steps
/// (as a model counts them, e.g. `b d + d` a dense step, `min(b, n - b) + 2` a reduced one):
/// a few milliseconds. A stretch is at least one step.
pub const POLL_WORK: u64 = 1 << 22;

/// The steps between two readings of an [`Interrupt`] for steps of `step_work` operations each.
pub fn poll_steps(step_work: u64) -> u64 {
    (POLL_WORK / step_work.max(1)).max(1)
}

/// A request to stop, shared by the runs it may stop. It starts unset and, once set, stays set.
#[derive(Debug, Default)]
pub struct Interrupt(AtomicBool);

impl Interrupt {
    /// A flag that is not set.
    pub const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Asks every run that reads this flag to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A run (or group of runs) that stopped because its [`Interrupt`] was requested: there is no
/// result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted before it finished")
    }
}

impl std::error::Error for Interrupted {}
