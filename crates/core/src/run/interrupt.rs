//! Stopping runs from outside: a flag that a front end raises (on Ctrl-C, say) and the
//! run-control loop reads between stretches of steps.
//!
//! An interrupted run has no result: it is not an outcome, and nothing of it may be recorded
//! or cached. The flag is read at every stop of the run-control loop and at least every
//! [`POLL_STEPS`] steps, so a run stops within a few milliseconds of the request. Reading it
//! changes nothing a finished run computes: stretches of steps are cut where the flag is read,
//! and the engines take the same steps however their stretches are cut.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// The longest stretch of steps between two readings of an [`Interrupt`]: about a millisecond
/// of a reduced step, tens of milliseconds of a dense one at large `d`.
pub const POLL_STEPS: u64 = 1 << 16;

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
