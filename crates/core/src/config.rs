//! Typed configuration of one run: problem, optimiser, stopping rule, metrics. What to record
//! along the way is an observer's choice (see [`crate::trajectory`]), not part of a run's config.
//!
//! Invariant: a [`RunConfig`] that passed [`RunConfig::validate`] can be run without any further
//! input checks; the runner calls `validate` itself, so an invalid configuration is an error,
//! never a panic. This module does not parse files or flags: front ends build these structs.

use crate::error::ConfigError;
use faer::Mat;
use std::fmt;
use std::sync::Arc;

/// The neuron's activation `sigma`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `sigma(z) = z`.
    Linear,
    /// `sigma(z) = max(z, 0)` with the autodiff convention `sigma'(0) = 0`.
    Relu,
}

impl Activation {
    /// `sigma(z)`.
    #[inline]
    pub fn value(self, z: f64) -> f64 {
        match self {
            Self::Linear => z,
            Self::Relu => z.max(0.0),
        }
    }

    /// `sigma'(z)`, with `sigma'(0) = 0` for ReLU.
    #[inline]
    pub fn derivative(self, z: f64) -> f64 {
        match self {
            Self::Linear => 1.0,
            // Written without a branch: in a batch, signs follow no predictable pattern.
            Self::Relu => f64::from(u8::from(z > 0.0)),
        }
    }

    /// Whether a sample with pre-activation `z` contributes a non-zero gradient.
    #[inline]
    pub fn is_active(self, z: f64) -> bool {
        match self {
            Self::Linear => true,
            Self::Relu => z > 0.0,
        }
    }

    /// The lower-case name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the mini-batch of each step is drawn (PAPER.md, "Optimiser").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// A uniformly random size-`b` subset, drawn afresh each step, without replacement (default).
    Random,
    /// `b` independent uniform draws; a point drawn twice counts twice in the mean.
    Replacement,
    /// Reshuffle at the start of each epoch and take consecutive size-`b` windows; when fewer
    /// than `b` points remain, the epoch ends and they are dropped (every batch has size `b`).
    Epoch,
    /// The fixed order `0, 1, ..., n-1`, consecutive size-`b` windows, wrapping around modulo `n`.
    Cyclic,
}

impl Schedule {
    /// The lower-case name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Replacement => "replacement",
            Self::Epoch => "epoch",
            Self::Cyclic => "cyclic",
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which SGD engine runs the optimisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EngineChoice {
    /// `Reduced` whenever the data is orthonormal, `Dense` otherwise.
    #[default]
    Auto,
    /// Ambient coordinates, any data, O(b d) a step.
    Dense,
    /// Data coordinates, orthonormal data only, O(min(b, n - b)) a step.
    Reduced,
}

/// The data set `x_1..x_n` in `R^d`.
#[derive(Debug, Clone)]
pub enum DataSpec {
    /// The standard basis `x_i = e_i`.
    Basis,
    /// A random orthonormal set: the Q factor of a Gaussian `d x n` matrix, drawn from the run's
    /// random stream.
    Orthonormal,
    /// Nearly orthogonal data: independent `N(0, I_d / d)` columns (unit norm on average,
    /// pairwise inner products of order `1/sqrt(d)`), drawn from the run's random stream.
    Gaussian,
    /// A user-supplied `d x n` matrix whose columns are the data points.
    Matrix(Arc<Mat<f64>>),
}

impl DataSpec {
    /// The name used in outputs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Basis => "basis",
            Self::Orthonormal => "orthonormal",
            Self::Gaussian => "gaussian",
            Self::Matrix(_) => "matrix",
        }
    }
}

/// Everything that defines one run, apart from its seed and run index.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The activation of the neuron.
    pub activation: Activation,
    /// Number of data points.
    pub n: usize,
    /// Ambient dimension.
    pub d: usize,
    /// The data set. For `Matrix`, `n` and `d` must match its shape.
    pub data: DataSpec,
    /// Initialisation scale `s`: `w_0 ~ N(0, (s^2 / d) I_d)`.
    pub init_scale: f64,
    /// Batch size `b` in `1..=n`; `b = n` is full-batch gradient descent.
    pub batch: usize,
    /// Constant step size `eta > 0`.
    pub eta: f64,
    /// How batches are drawn.
    pub schedule: Schedule,
    /// Which engine to use.
    pub engine: EngineChoice,
    /// Stop after this many steps at the latest (at least 1).
    pub max_steps: u64,
    /// Convergence tolerance on the stationarity measure (see [`crate::run`](mod@crate::run)).
    pub grad_tol: f64,
    /// Check convergence every this many steps (at least 1).
    pub check_every: u64,
    /// A data coordinate counts towards the support when `|u_i| > support_threshold * max_j |u_j|`.
    pub support_threshold: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            activation: Activation::Relu,
            n: 20,
            d: 20,
            data: DataSpec::Basis,
            init_scale: 0.5,
            batch: 1,
            eta: 0.1,
            schedule: Schedule::Random,
            engine: EngineChoice::Auto,
            max_steps: 100_000_000,
            grad_tol: 1e-10,
            check_every: 1000,
            support_threshold: 1e-6,
        }
    }
}

/// Checks that `x` is finite and strictly positive.
fn positive(field: &'static str, x: f64) -> Result<(), ConfigError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(field, x, "must be a finite number > 0"))
    }
}

impl RunConfig {
    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.n == 0 {
            return Err(ConfigError::new("n", self.n, "must be at least 1"));
        }
        if u32::try_from(self.n).is_err() {
            return Err(ConfigError::new("n", self.n, format!("must be at most {}", u32::MAX)));
        }
        if self.d == 0 {
            return Err(ConfigError::new("d", self.d, "must be at least 1"));
        }
        match &self.data {
            DataSpec::Basis | DataSpec::Orthonormal if self.n > self.d => {
                return Err(ConfigError::new(
                    "n",
                    self.n,
                    format!("orthonormal data needs n <= d = {}", self.d),
                ));
            }
            DataSpec::Matrix(x) if x.nrows() != self.d || x.ncols() != self.n => {
                return Err(ConfigError::new(
                    "data",
                    format!("a {} x {} matrix", x.nrows(), x.ncols()),
                    format!("must be d x n = {} x {} (one column a data point)", self.d, self.n),
                ));
            }
            _ => {}
        }
        if self.batch == 0 || self.batch > self.n {
            return Err(ConfigError::new(
                "batch",
                self.batch,
                format!("must be in 1..={} (n); batch = n is full-batch gradient descent", self.n),
            ));
        }
        positive("eta", self.eta)?;
        positive("init_scale", self.init_scale)?;
        positive("grad_tol", self.grad_tol)?;
        if !(self.support_threshold.is_finite()
            && self.support_threshold > 0.0
            && self.support_threshold < 1.0)
        {
            return Err(ConfigError::new(
                "support_threshold",
                self.support_threshold,
                "must be a number in (0, 1)",
            ));
        }
        if self.max_steps == 0 {
            return Err(ConfigError::new("max_steps", 0, "must be at least 1"));
        }
        if self.check_every == 0 {
            return Err(ConfigError::new("check_every", 0, "must be at least 1"));
        }
        Ok(())
    }

    /// Whether this run is full-batch gradient descent (`b = n`, drawn without replacement).
    ///
    /// With replacement, `b = n` still draws duplicates and is stochastic.
    pub fn is_full_batch(&self) -> bool {
        self.batch == self.n && self.schedule != Schedule::Replacement
    }
}
