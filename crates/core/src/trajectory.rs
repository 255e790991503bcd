//! Log-spaced recording steps, so a trajectory of `T` steps keeps O(log T) snapshots.
//!
//! The recorded steps are `0` and the distinct integers `round(10^(k / per_decade))`, `k >= 0`;
//! the runner adds the last step. This module only computes steps; it stores nothing.

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
