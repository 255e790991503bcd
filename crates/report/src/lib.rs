//! aesgd-report: what a reproduction writes and shows.
//!
//! - [`plots`]: figure specs mapped to aesgd-figures plots, drawn from run records;
//! - [`claims`]: `claims.json` and the comparison with a committed expectation;
//! - [`markdown`]: `claims.md`, `REPORT.md` and the terminal summary;
//! - [`csv`](mod@csv): one row a run;
//! - [`run_table`]: the table of `cargo xtask run`;
//! - [`write`]: the output folder, every file written atomically;
//! - [`provenance`], [`text`]: where a reproduction ran; numbers and verdicts as text.
//!
//! This crate formats and writes what the experiment library computed; it runs nothing and
//! judges nothing, and it never prints.

pub mod claims;
pub mod csv;
pub mod error;
pub mod markdown;
pub mod plots;
pub mod provenance;
pub mod reproduce;
pub mod run_table;
pub mod text;
pub mod write;

pub use error::ReportError;
pub use provenance::Provenance;
pub use reproduce::{Reproduction, ReproductionEvents, ReproductionOptions, reproduce};
pub use write::{Outputs, write_all};
