//! aesgd-core: the single-neuron weight-tied autoencoder of Ghosh, Frei, Ha and Yu (JMLR 2025),
//! trained by SGD at every batch size, with its exact Hessian and the metrics of the paper.
//!
//! Layout, in the order data flows:
//! - [`config`]: the typed configuration of a run and its validation;
//! - [`data`]: the data sets (standard basis, random orthonormal, user matrix);
//! - [`model`]: loss and gradients, the closed-form minimum and full-batch limit;
//! - [`hessian`]: the exact Hessian, its closed-form trace and its spectrum;
//! - [`batch`]: the four batch schedules;
//! - [`engine`]: the `Dense` and `Reduced` SGD engines behind one trait;
//! - [`metrics`]: metrics of an iterate and of the identified limit point;
//! - [`trajectory`]: the log-spaced recording grid;
//! - [`run`](mod@run): run control (seeding, convergence rule, divergence, observers).
//!
//! The core knows nothing of files, terminals or plots, and has no serialization: the front
//! ends (`xtask`) own those. Every user-facing input error is a [`ConfigError`]; nothing here
//! panics on user input.

pub mod batch;
pub mod config;
pub mod data;
pub mod engine;
pub mod error;
pub mod hessian;
pub mod metrics;
pub mod model;
pub mod run;
pub mod trajectory;

pub use config::{Activation, DataSpec, EngineChoice, RunConfig, Schedule};
pub use error::ConfigError;
pub use run::{Outcome, RunResult, run};
