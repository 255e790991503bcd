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
//! - [`run`](mod@run): run control (seeding, convergence rule, stationary points that are not
//!   minima, divergence, groups of runs stepped together) and the
//!   [`Observer`](run::Observer)s that watch a run;
//! - [`trajectory`]: the log-spaced recording grid and the
//!   [`TrajectoryRecorder`](trajectory::TrajectoryRecorder) observer.
//!
//! The core knows nothing of files, terminals or plots, and has no serialization: the front
//! ends own those. Every user-facing input error is a [`ConfigError`]; nothing here panics on
//! user input, and a validated [`RunConfig`] fits the memory limit
//! ([`config::MAX_RUN_BYTES`], checked from the sizes before anything is allocated).
//!
//! # Adding a model
//!
//! The run-control loop (the private `run::control` module) is written once: it checks
//! convergence every `check_every` steps and at the end of the budget (one rule, stated in the
//! [`run`](mod@run) docs), stops at the budget or
//! at a divergence ([`engine::past_bound`] of [`run::DIVERGED_NORM_SQ`]), stops where
//! observers ask to see the iterate, and keeps the bookkeeping behind `sparse_step`. It sees a
//! model only through the crate-private `run::control::Problem` trait. A new model (such as
//! the `k` tied neurons of PAPER.md, "Extension beyond the paper") provides, inside this
//! crate:
//!
//! - its engine: `Problem::advance` (steps on batches from the shared
//!   [`batch::BatchSampler`], stopping early past the divergence bound) and `Problem::norm_sq`;
//!   `Problem::step_work`, about how many floating-point operations a step takes, which sets
//!   how often a [`run::Interrupt`] is read; optionally `Problem::advance_group`, the steps of
//!   several runs of one configuration interleaved for [`run::run_group`] (the default advances
//!   them one after the other, which is always exact);
//! - its stationarity measure (`Problem::stationarity`) for the convergence rule, and whether
//!   an iterate that passed a stationarity test is a global minimum (`Problem::standing`: the
//!   single neuron reads its loss gap against half the smallest gap of a non-minimal stationary
//!   point, [`model::stationary_gap`]);
//! - its notion of a dense iterate (`Problem::is_dense`, for `sparse_step`);
//! - its view of the iterate for observers (`Problem::show`): today
//!   [`Observer::on_iterate`](run::Observer::on_iterate) takes the single neuron's
//!   [`IterateState`](engine::IterateState) and
//!   [`IterateMetrics`](metrics::IterateMetrics), so a model with another state brings its
//!   own view types there;
//! - its construction from a config, data and initial point, and its result from the loop's
//!   ending (the single neuron's are in the private `run::autoencoder` module: engine choice,
//!   metric context, full-batch limit, limit point, [`RunResult`]).
//!
//! Seeding, data sets and batch schedules are shared as they are.

pub mod batch;
pub mod config;
pub mod data;
pub mod engine;
pub mod error;
pub mod hessian;
pub mod metrics;
pub mod model;
pub mod neurons;
pub mod run;
pub mod trajectory;

pub use config::{Activation, DataSpec, EngineChoice, RunConfig, Schedule};
pub use error::ConfigError;
pub use run::{Outcome, RunResult, run};
