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
    /// The activation of the neurons.
    pub activation: Activation,
    /// The number of tied neurons `k` in `1..=n` ([`crate::neurons`]); 1 is the paper's
    /// single-neuron model, run by [`crate::run::run`], and more are run by
    /// [`crate::run::run_neurons`].
    pub neurons: usize,
    /// Number of data points.
    pub n: usize,
    /// Ambient dimension.
    pub d: usize,
    /// The data set. For `Matrix`, `n` and `d` must match its shape.
    pub data: DataSpec,
    /// Initialisation scale `s`: `w_0 ~ N(0, (s^2 / d) I_d)`, every row for several neurons.
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
            neurons: 1,
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

/// The most memory one run may need by [`RunConfig::memory_estimate`]: 4 GiB. A larger
/// configuration is refused by [`RunConfig::validate`] before anything is allocated.
pub const MAX_RUN_BYTES: u64 = 4 << 30;

/// The memory a run needs, estimated from its sizes alone, in bytes (8 a number).
///
/// An upper bound of the peak: parts that are freed before others are allocated are added.
/// What an observer records (a trajectory) is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The `d x n` data matrix, with the copies made while it is built: one for the basis,
    /// Gaussian data and a user matrix (the run's copy), three for random orthonormal data (the
    /// Gaussian draw, its QR factors, the thin Q).
    pub data_bytes: u128,
    /// The `n x n` work: the Gram matrix `X^T X` of the orthonormality test (all data but the
    /// basis), the Gram matrix and its eigensolver work for `L*` and the stationary gap (the
    /// linear activation on Gaussian data or a user matrix), and the `(n + 1) x (n + 1)`
    /// Hessian block and its eigensolver work at the limit point (data that may be orthonormal).
    pub square_bytes: u128,
    /// Vectors of length `n` or `d`: the engine's state and scratch, data coordinates, the
    /// batch sampler, metrics (`16 (n + d)` numbers a neuron).
    pub vector_bytes: u128,
    /// For several neurons, the `kd x kd` Hessian and its eigensolver work, formed only up to
    /// [`crate::run::MAX_HESSIAN_SIDE`] (zero for one neuron, whose Hessian is in
    /// `square_bytes`).
    pub hessian_bytes: u128,
}

impl MemoryEstimate {
    /// The estimate of the peak, in bytes.
    pub fn total(&self) -> u128 {
        self.data_bytes
            .saturating_add(self.square_bytes)
            .saturating_add(self.vector_bytes)
            .saturating_add(self.hessian_bytes)
    }
}

/// A number of bytes in binary units with one decimal, e.g. `74.5 GiB`.
pub fn bytes_text(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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
    /// Checks every field; the first problem found is returned. Last, the sizes: a run whose
    /// [`memory_estimate`](Self::memory_estimate) exceeds [`MAX_RUN_BYTES`] is refused, so a
    /// validated config never fails in an allocation.
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
        crate::neurons::check_neuron_count(self.neurons, self.n)?;
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
        self.check_memory()
    }

    /// The memory this run needs, from `n`, `d`, `k`, the data and the activation (see
    /// [`MemoryEstimate`]); computed without overflow for any sizes.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        const WORD: u128 = 8;
        let (n, d) = (self.n as u128, self.d as u128);
        let copies: u128 = match self.data {
            DataSpec::Orthonormal => 3,
            DataSpec::Basis | DataSpec::Gaussian | DataSpec::Matrix(_) => 1,
        };
        let gram_test = u128::from(!matches!(self.data, DataSpec::Basis));
        let gram_minimum = match (self.activation, &self.data) {
            (Activation::Linear, DataSpec::Gaussian | DataSpec::Matrix(_)) => 2,
            _ => 0,
        };
        let spectrum = u128::from(!matches!(self.data, DataSpec::Gaussian));
        let square = n.saturating_mul(n).saturating_mul(gram_test + gram_minimum);
        let block = (n + 1).saturating_mul(n + 1).saturating_mul(2 * spectrum);
        let k = self.neurons.max(1) as u128;
        let side = k.saturating_mul(d);
        let hessian = if k > 1 && side <= crate::run::MAX_HESSIAN_SIDE as u128 {
            side.saturating_mul(side).saturating_mul(2)
        } else {
            0
        };
        MemoryEstimate {
            data_bytes: d.saturating_mul(n).saturating_mul(copies).saturating_mul(WORD),
            square_bytes: square.saturating_add(block).saturating_mul(WORD),
            vector_bytes: (n + d).saturating_mul(16 * WORD).saturating_mul(k),
            hessian_bytes: hessian.saturating_mul(WORD),
        }
    }

    /// Refuses a run whose [`memory_estimate`](Self::memory_estimate) exceeds
    /// [`MAX_RUN_BYTES`], naming the size that drives it: `n` when the `n x n` work dominates,
    /// otherwise the larger of `d` and `n` (the data matrix grows with both).
    fn check_memory(&self) -> Result<(), ConfigError> {
        let estimate = self.memory_estimate();
        let total = estimate.total();
        if total <= u128::from(MAX_RUN_BYTES) {
            return Ok(());
        }
        let (field, value) = if estimate.square_bytes > estimate.data_bytes || self.n >= self.d {
            ("n", self.n)
        } else {
            ("d", self.d)
        };
        Err(ConfigError::new(
            field,
            value,
            format!(
                "a run of n = {} points in d = {} dimensions ({} data) needs about {} of memory \
                 (d x n data {}, n x n work {}, vectors {}), above the limit of {} a run; reduce n or d",
                self.n,
                self.d,
                self.data.name(),
                bytes_text(total),
                bytes_text(estimate.data_bytes),
                bytes_text(estimate.square_bytes),
                bytes_text(estimate.vector_bytes),
                bytes_text(u128::from(MAX_RUN_BYTES)),
            ),
        ))
    }

    /// Whether this run is full-batch gradient descent (`b = n`, drawn without replacement).
    ///
    /// With replacement, `b = n` still draws duplicates and is stochastic.
    pub fn is_full_batch(&self) -> bool {
        self.batch == self.n && self.schedule != Schedule::Replacement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_written_in_binary_units() {
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(u128::from(MAX_RUN_BYTES)), "4.0 GiB");
        assert_eq!(bytes_text(80_000_000_000), "74.5 GiB");
        assert_eq!(bytes_text(u128::MAX), format!("{:.1} ZiB", u128::MAX as f64 / 1024f64.powi(7)));
    }
}
