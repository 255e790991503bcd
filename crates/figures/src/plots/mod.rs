//! The plot kinds, one file each.

pub mod bars;
pub mod errorbars;
pub mod heatmap;
pub mod landscape;
pub mod lines;
