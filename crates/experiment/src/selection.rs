//! Which data point a run selects, as observations of a choice among the eligible initial
//! coordinates, for the power-law selection model of aesgd-stats.
//!
//! A run that ends at one data point `x_k` chose `k` among the coordinates that could be
//! selected: every `i` for the linear activation (weight `|u_i(0)|`; the run ends at `+-x_k`),
//! the initially positive ones for ReLU (weight `u_i(0)`; a coordinate that starts at or below
//! zero stays there). The initial coordinates are not stored in a record: they are drawn again
//! from the run's configuration, seed and run index by the core, which draws exactly what the run
//! drew. This module builds observations; it fits nothing (aesgd-stats does) and draws nothing.

use crate::plan::Point;
use crate::record::Record;
use aesgd_core::Activation;
use aesgd_stats::ChoiceObservation;

/// The choice observation of one run of `point`, or why it has none.
pub fn observation(point: &Point, run: &Record) -> Result<ChoiceObservation, String> {
    let k =
        run.selected.ok_or_else(|| format!("run {} did not end at a single data point", run.run_index))?;
    let coords = aesgd_core::run::initial_coordinates(&point.config, run.seed, run.run_index)
        .map_err(|e| format!("run {}: {e}", run.run_index))?;
    let eligible: Vec<(usize, f64)> = coords
        .iter()
        .enumerate()
        .filter_map(|(i, &u)| match point.config.activation {
            Activation::Linear => (u != 0.0).then_some((i, u.abs())),
            Activation::Relu => (u > 0.0).then_some((i, u)),
        })
        .collect();
    let chosen = eligible.iter().position(|&(i, _)| i == k).ok_or_else(|| {
        format!(
            "run {} selected data point {k}, which was not eligible at the start (u_k(0) = {})",
            run.run_index, coords[k]
        )
    })?;
    Ok(ChoiceObservation { weights: eligible.into_iter().map(|(_, w)| w).collect(), chosen })
}

/// The observations of every run of a sweep point, or the first reason one run has none.
pub fn observations(point: &Point, runs: &[Record]) -> Result<Vec<ChoiceObservation>, String> {
    runs.iter().map(|r| observation(point, r)).collect()
}
