//! Trajectories: log-spaced recording steps, so a run of `T` steps keeps O(log T) snapshots,
//! and the observer that records them.
//!
//! The recorded steps are `0`, the distinct integers `round(10^(k / per_decade))`, `k >= 0`,
//! that the run reaches, and the run's final step. [`LogSchedule`] computes the steps;
//! [`TrajectoryRecorder`] is a [`run::Observer`](crate::run::Observer) that asks the runner
//! to stop at them and keeps a [`Snapshot`] of each. Recording is not part of a run's config
//! or result: a run without a recorder computes nothing for it, and a run's result is the same
//! with or without one.

use crate::engine::IterateState;
use crate::metrics::IterateMetrics;
use crate::run::Observer;

/// One recorded point of a trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The number of steps taken.
    pub step: u64,
    /// The iterate's metrics.
    pub metrics: IterateMetrics,
    /// The data coordinates, when the recorder was asked to keep them.
    pub coords: Option<Vec<f64>>,
}

/// Records a run's iterate at the steps of a [`LogSchedule`] and at its final step: watch one
/// run with it (through [`crate::run::run_observed`]), then read its snapshots.
///
/// The snapshots are in increasing order of step, the first at step 0 and the last at the
/// run's `steps_run`.
#[derive(Debug, Clone)]
pub struct TrajectoryRecorder {
    grid: LogSchedule,
    record_coordinates: bool,
    snapshots: Vec<Snapshot>,
}

impl TrajectoryRecorder {
    /// A recorder of `points_per_decade` snapshots a decade (0 is taken as 1, the sparsest
    /// grid), keeping each snapshot's data coordinates when `record_coordinates` (heatmaps
    /// need them).
    pub fn new(points_per_decade: u32, record_coordinates: bool) -> Self {
        Self { grid: LogSchedule::new(points_per_decade), record_coordinates, snapshots: Vec::new() }
    }

    /// The snapshots recorded so far.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The snapshots, by value.
    pub fn into_snapshots(self) -> Vec<Snapshot> {
        self.snapshots
    }
}

impl Observer for TrajectoryRecorder {
    fn reads_stationarity(&self) -> bool {
        false
    }

    fn next_watch(&self, step: u64) -> Option<u64> {
        Some(if step == 0 { 0 } else { self.grid.next_after(step - 1) })
    }

    fn on_iterate(&mut self, step: u64, state: &IterateState, metrics: &IterateMetrics) {
        let coords = self.record_coordinates.then(|| state.u.clone());
        self.snapshots.push(Snapshot { step, metrics: metrics.clone(), coords });
    }
}

/// A log-spaced grid of steps with `per_decade` points in each decade.
#[derive(Debug, Clone, Copy)]
pub struct LogSchedule {
    per_decade: u32,
}

impl LogSchedule {
    /// A grid with `per_decade >= 1` points a decade.
    pub fn new(per_decade: u32) -> Self {
        Self { per_decade: per_decade.max(1) }
    }

    /// The smallest step of the grid strictly after `step`.
    pub fn next_after(&self, step: u64) -> u64 {
        let per = f64::from(self.per_decade);
        let mut k = if step == 0 { 0.0 } else { ((step as f64).log10() * per).floor() };
        loop {
            let candidate = 10f64.powf(k / per).round();
            if candidate > step as f64 {
                // Past 2^53 the grid is coarser than an integer step; stay strictly increasing.
                return (candidate as u64).max(step + 1);
            }
            k += 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_increasing_and_logarithmic() {
        let grid = LogSchedule::new(10);
        let mut step = 0;
        let mut count = 0;
        while step < 100_000_000 {
            let next = grid.next_after(step);
            assert!(next > step);
            step = next;
            count += 1;
        }
        // Eight decades at ten points each, plus the small integers where points coincide.
        assert!(count <= 81, "{count} snapshots for 1e8 steps");
        assert_eq!(grid.next_after(0), 1);
        assert_eq!(grid.next_after(10), 13);
    }
}
