//! aesgd-experiment: the experiment pipeline every front end reuses.
//!
//! In the order data flows:
//! - [`vocabulary`]: the words of a spec as typed enums;
//! - [`sweep`]: batch sizes and dimensions that depend on `n`;
//! - [`spec`]: a TOML spec read and checked once into a validated [`Spec`];
//! - [`plan`]: specs expanded into sweep points and the distinct runs of a reproduction;
//! - [`key`]: cache keys derived from the full serialized run configuration;
//! - [`executor`]: runs in parallel, progress through a callback, the costliest first by
//!   [`cost`], a rough estimate of a run's work used for nothing else;
//! - [`record`]: the one flattening of a run's result ([`Record`]), with [`numbers`] for
//!   floats that may not be finite;
//! - [`cache`]: finished records behind the [`RunCache`] trait, with a file implementation;
//! - [`committed`]: runs shipped beside the specs as archives of cache files, imported only
//!   after the cache's checks and a sample of them computed again;
//! - [`lock`]: an exclusive lock on an output folder;
//! - [`metric`]: the metric registry, one definition per metric;
//! - [`theory`]: expected values over the initialisation, drawn beside measured means;
//! - [`law`]: log-linear laws across sweep points, fitted on some sweeps and checked on the rest;
//! - [`selection`]: which point a run selected, as an observation of the choice model;
//! - [`verdict`]: criteria judged into verdicts with 95% intervals.
//!
//! Architecture invariants: this crate never prints and has no command-line or progress-bar
//! code; every error is an [`ExperimentError`] naming what is at fault; a run's record depends
//! only on its configuration, recording, seed and run index.

pub mod atomic;
pub mod cache;
pub mod committed;
pub mod cost;
pub mod error;
pub mod executor;
pub mod key;
pub mod law;
pub mod lock;
pub mod metric;
pub mod numbers;
pub mod plan;
pub mod record;
pub mod selection;
pub mod spec;
pub mod sweep;
pub mod theory;
pub mod verdict;
pub mod vocabulary;

pub use cache::{FileCache, Lookup, MemoryCache, RunCache};
pub use error::ExperimentError;
pub use key::Recording;
pub use metric::Metric;
pub use plan::{Experiment, Job, Plan, Point, load_specs};
pub use record::Record;
pub use spec::Spec;
pub use verdict::{ClaimResult, CriterionResult};
