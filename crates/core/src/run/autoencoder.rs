//! The single-neuron autoencoder as a [`Problem`]: its engine (dense or reduced), the context
//! its metrics are measured in, and the [`RunResult`] it turns a run's [`Ending`] into.
//!
//! This module holds everything of a run that is specific to `f_w(x) = sigma(<w, x>) w`;
//! when to check, stop and show the iterate is decided by [`mod@super::control`].

use super::control::{Ending, Lane, Problem, Standing};
use super::observe::Observer;
use super::{Outcome, RunResult};
use crate::batch::BatchSampler;
use crate::config::{EngineChoice, RunConfig};
use crate::data::Data;
use crate::engine::{DenseEngine, Engine, GroupMember, ReducedEngine, UpdateSet, advance_group};
use crate::error::ConfigError;
use crate::metrics::{MetricContext, iterate_metrics, limit_point, support_size};
use crate::model::{gd_limit_coords, minimum_loss_and_stationary_gap, stable_norm};
use rand::rngs::ChaCha8Rng;

/// One run of the single-neuron autoencoder: the engine at its current iterate and what its
/// metrics need besides the iterate.
pub(crate) struct Autoencoder<'a> {
    engine: AnyEngine<'a>,
    data: &'a Data,
    config: &'a RunConfig,
    updates: UpdateSet,
    init_coords: Vec<f64>,
    init_norm: f64,
    gd_limit: Option<Vec<f64>>,
    loss_min: Option<f64>,
    /// An iterate with a loss gap at most this is a global minimum: half the smallest gap of a
    /// stationary point that is not one ([`stationary_gap`](crate::model::stationary_gap)), where that is known.
    minimum_gap_tol: Option<f64>,
}

/// The engine of a run: an enum rather than a trait object, so that grouped runs
/// ([`Problem::advance_group`]) can reach their reduced engines as such.
enum AnyEngine<'a> {
    Dense(DenseEngine<'a>),
    Reduced(ReducedEngine<'a>),
}

impl<'a> AnyEngine<'a> {
    fn get(&self) -> &(dyn Engine + 'a) {
        match self {
            Self::Dense(engine) => engine,
            Self::Reduced(engine) => engine,
        }
    }

    fn get_mut(&mut self) -> &mut (dyn Engine + 'a) {
        match self {
            Self::Dense(engine) => engine,
            Self::Reduced(engine) => engine,
        }
    }
}

impl<'a> Autoencoder<'a> {
    /// Starts at `w0` on `data` under a validated `config`; an error when `data` or `w0` do not
    /// fit the config, or when the config forces the reduced engine onto data that is not
    /// orthonormal.
    pub(crate) fn new(config: &'a RunConfig, data: &'a Data, w0: &[f64]) -> Result<Self, ConfigError> {
        if data.n() != config.n || data.d() != config.d {
            return Err(ConfigError::new(
                "data",
                format!("{} points in R^{}", data.n(), data.d()),
                format!("must match n = {} and d = {}", config.n, config.d),
            ));
        }
        if w0.len() != data.d() || w0.iter().any(|x| !x.is_finite()) {
            return Err(ConfigError::new(
                "init",
                format!("a vector of length {}", w0.len()),
                format!("must be {} finite numbers", data.d()),
            ));
        }
        let engine = match config.engine {
            EngineChoice::Dense => {
                AnyEngine::Dense(DenseEngine::new(data, config.activation, config.eta, w0))
            }
            EngineChoice::Auto if !data.is_orthonormal() => {
                AnyEngine::Dense(DenseEngine::new(data, config.activation, config.eta, w0))
            }
            EngineChoice::Reduced if !data.is_orthonormal() => {
                return Err(ConfigError::new(
                    "engine",
                    "reduced",
                    format!(
                        "needs orthonormal data; this data has max |X^T X - I| = {:.3e} > {:.3e} (use dense or auto)",
                        data.orthonormality_error(),
                        data.orthonormality_tolerance()
                    ),
                ));
            }
            EngineChoice::Auto | EngineChoice::Reduced => {
                AnyEngine::Reduced(ReducedEngine::new(data, config.activation, config.eta, w0))
            }
        };
        let init_coords = data.coords(w0);
        let gd_limit =
            if data.is_orthonormal() { gd_limit_coords(config.activation, &init_coords) } else { None };
        let (loss_min, stationary_gap) = minimum_loss_and_stationary_gap(data, config.activation);
        Ok(Self {
            engine,
            data,
            config,
            updates: UpdateSet::of(config),
            init_coords,
            init_norm: stable_norm(w0),
            gd_limit,
            loss_min,
            minimum_gap_tol: stationary_gap.map(|g| g / 2.0),
        })
    }

    /// What the metrics need besides the iterate.
    fn context(&self) -> MetricContext<'_> {
        MetricContext {
            activation: self.config.activation,
            d: self.data.d(),
            norms_sq: self.data.norms_sq(),
            orthonormal: self.data.is_orthonormal(),
            loss_min: self.loss_min,
            init_norm: self.init_norm,
            gd_limit: self.gd_limit.as_deref(),
            support_threshold: self.config.support_threshold,
        }
    }

    /// The result of a run that ended as `ending`: the final iterate measured, its limit point
    /// identified (unless it diverged or stopped at a stationary point that is not a minimum). Seed and run index are 0; the caller fills them in.
    pub(crate) fn finish(self, ending: Ending) -> RunResult {
        let final_state = self.engine.get().state();
        let ctx = self.context();
        let final_metrics = iterate_metrics(&final_state, &ctx);
        let limit = match ending.outcome {
            Outcome::Diverged { .. } | Outcome::StationaryNotMinimum { .. } => None,
            _ => limit_point(&final_state.u, &ctx),
        };
        RunResult {
            seed: 0,
            run_index: 0,
            engine: self.engine.get().name(),
            outcome: ending.outcome,
            steps_run: ending.steps_run,
            final_stationarity: ending.stationarity,
            sparse_step: ending.sparse_step(final_metrics.support == 1),
            final_state,
            final_metrics,
            limit,
            init_coords: self.init_coords,
            gd_limit: self.gd_limit,
        }
    }
}

impl Problem for Autoencoder<'_> {
    #[inline]
    fn advance(
        &mut self,
        sampler: &mut BatchSampler,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64 {
        self.engine.get_mut().advance(sampler, rng, steps, stop_above)
    }

    /// The lanes' steps interleaved when every lane has the reduced engine
    /// ([`advance_group`]); one lane after the other otherwise (the dense engine's step is
    /// long enough to keep the processor busy on its own).
    fn advance_group(lanes: &mut [Lane<'_, Self>], steps: u64, stop_above: f64) {
        let count = lanes.len();
        let mut members: Vec<GroupMember<'_, '_>> = Vec::with_capacity(count);
        for lane in lanes.iter_mut() {
            match &mut lane.problem.engine {
                AnyEngine::Reduced(engine) => {
                    members.push(GroupMember {
                        engine,
                        sampler: &mut *lane.sampler,
                        rng: &mut *lane.rng,
                        taken: 0,
                    });
                }
                AnyEngine::Dense(_) => break,
            }
        }
        if members.len() == count {
            advance_group(&mut members, steps, stop_above);
            let taken: Vec<u64> = members.iter().map(|member| member.taken).collect();
            drop(members);
            for (lane, taken) in lanes.iter_mut().zip(taken) {
                lane.taken = taken;
            }
        } else {
            drop(members);
            for lane in lanes {
                lane.taken = lane.problem.advance(lane.sampler, lane.rng, steps, stop_above);
            }
        }
    }

    fn step_work(&self) -> u64 {
        let (n, b, d) = (self.config.n as u64, self.config.batch as u64, self.config.d as u64);
        match self.engine {
            AnyEngine::Dense(_) => b * d + d,
            AnyEngine::Reduced(_) => b.min(n - b) + 2,
        }
    }

    #[inline]
    fn norm_sq(&self) -> f64 {
        self.engine.get().norm_sq()
    }

    fn stationarity(&self) -> f64 {
        self.engine.get().stationarity(self.updates)
    }

    fn stationarity_unless_above(&self, floor: f64) -> f64 {
        self.engine.get().stationarity_unless_above(self.updates, floor)
    }

    /// Not a minimum when no sample is active (exactly stationary, never a minimum on any data)
    /// or when the loss gap exceeds `minimum_gap_tol`; a minimum otherwise, including where
    /// `L*` or the tolerance is unknown (ReLU on non-orthonormal data).
    fn standing(&self) -> Standing {
        let state = self.engine.get().state();
        let activation = self.config.activation;
        if state.u.iter().all(|&u| activation.value(u) == 0.0) {
            return Standing::NotMinimum { exact: true };
        }
        let gap = iterate_metrics(&state, &self.context()).loss_gap;
        match (gap, self.minimum_gap_tol) {
            (Some(gap), Some(tol)) if gap > tol || gap.is_nan() => Standing::NotMinimum { exact: false },
            _ => Standing::Minimum,
        }
    }

    fn is_dense(&self) -> bool {
        support_size(&self.engine.get().coords(), self.config.support_threshold) > 1
    }

    fn show(&self, step: u64, last: bool, observer: &mut dyn Observer) {
        let state = self.engine.get().state();
        let metrics = iterate_metrics(&state, &self.context());
        if last {
            observer.on_final(step, &state, &metrics);
        } else {
            observer.on_iterate(step, &state, &metrics);
        }
    }
}
