//! aesgd-figures: publication figures as deterministic SVG with one shared style.
//!
//! This crate is a placeholder created with the workspace; its plot kinds (lines with bands,
//! error bars, bars, heatmaps, contour landscapes, multi-panel figures) are specified by their own
//! issue. It draws summaries and never runs experiments.
