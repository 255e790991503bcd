//! aesgd-stats: summaries and confidence intervals over seeds.
//!
//! This crate is a placeholder created with the workspace; its contents (sample summaries,
//! Student-t, Wilson and bootstrap intervals, serializable results) are specified by their own
//! issue. It depends on nothing in the workspace and nothing depends on it yet.
