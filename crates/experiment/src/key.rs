//! Cache keys: a digest of the serialized full run configuration, the trajectory recording,
//! the seed, the run index and the format version.
//!
//! Architecture invariant: every field of [`RunConfig`] is in the key. [`KeyedConfig::of`]
//! destructures the config without `..`, so a new field fails to compile until it is keyed; a
//! user-supplied data matrix is keyed by a digest of its shape and entries. This module knows
//! nothing of files.

use crate::record::FORMAT_VERSION;
use aesgd_core::trajectory::TrajectoryRecorder;
use aesgd_core::{DataSpec, RunConfig};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Trajectory snapshots per decade of steps, for every recorded run.
pub const POINTS_PER_DECADE: u32 = 10;

/// What a run records along its trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recording {
    /// Nothing: only the final result.
    Off,
    /// Log-spaced snapshots of the trajectory metrics.
    Metrics,
    /// Log-spaced snapshots with every data coordinate (heatmaps, landscapes).
    Coordinates,
}

impl Recording {
    /// The observer that records it, if any.
    pub fn recorder(self) -> Option<TrajectoryRecorder> {
        match self {
            Self::Off => None,
            Self::Metrics => Some(TrajectoryRecorder::new(POINTS_PER_DECADE, false)),
            Self::Coordinates => Some(TrajectoryRecorder::new(POINTS_PER_DECADE, true)),
        }
    }
}

/// The data set as keyed: its name, or the digest of a user matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum KeyedData {
    Basis,
    Orthonormal,
    Gaussian,
    Matrix { rows: usize, cols: usize, sha256: String },
}

/// Every field of a run configuration, in a serializable form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyedConfig {
    activation: &'static str,
    /// Left out for one neuron, so that one neuron's keys are those from before several
    /// neurons existed.
    #[serde(skip_serializing_if = "is_one")]
    neurons: usize,
    n: usize,
    d: usize,
    data: KeyedData,
    init_scale: f64,
    batch: usize,
    eta: f64,
    schedule: &'static str,
    engine: &'static str,
    max_steps: u64,
    grad_tol: f64,
    check_every: u64,
    support_threshold: f64,
}

fn is_one(k: &usize) -> bool {
    *k == 1
}

/// Bytes as lower-case hex digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl KeyedConfig {
    /// The keyed form of `config`: every field.
    pub fn of(config: &RunConfig) -> Self {
        // No `..`: a field added to RunConfig must be added here, or this fails to compile.
        let RunConfig {
            activation,
            neurons,
            n,
            d,
            data,
            init_scale,
            batch,
            eta,
            schedule,
            engine,
            max_steps,
            grad_tol,
            check_every,
            support_threshold,
        } = config;
        let data = match data {
            DataSpec::Basis => KeyedData::Basis,
            DataSpec::Orthonormal => KeyedData::Orthonormal,
            DataSpec::Gaussian => KeyedData::Gaussian,
            DataSpec::Matrix(x) => {
                let mut digest = Sha256::new();
                for j in 0..x.ncols() {
                    for i in 0..x.nrows() {
                        digest.update(x[(i, j)].to_bits().to_le_bytes());
                    }
                }
                KeyedData::Matrix { rows: x.nrows(), cols: x.ncols(), sha256: hex(&digest.finalize()) }
            }
        };
        Self {
            activation: activation.name(),
            neurons: *neurons,
            n: *n,
            d: *d,
            data,
            init_scale: *init_scale,
            batch: *batch,
            eta: *eta,
            schedule: schedule.name(),
            engine: match engine {
                aesgd_core::EngineChoice::Auto => "auto",
                aesgd_core::EngineChoice::Dense => "dense",
                aesgd_core::EngineChoice::Reduced => "reduced",
            },
            max_steps: *max_steps,
            grad_tol: *grad_tol,
            check_every: *check_every,
            support_threshold: *support_threshold,
        }
    }

    /// The same configuration at full batch (`b = n`) with no step budget, for pairing: a run
    /// is paired with the full-batch run of the same model, data and seed whatever the budgets
    /// (a spec may give full batch its own, `max_steps_full_batch`). Compare it with
    /// [`Self::without_budget`] of the candidates.
    pub fn at_full_batch(&self) -> Self {
        Self { batch: self.n, ..self.without_budget() }
    }

    /// The same configuration with the step budget left out (set to 0), for pairing.
    pub fn without_budget(&self) -> Self {
        Self { max_steps: 0, ..self.clone() }
    }

    /// Whether the batch size is `n`.
    pub fn is_full_batch(&self) -> bool {
        self.batch == self.n
    }
}

#[derive(Serialize)]
struct KeyedRun<'a> {
    format: u32,
    config: &'a KeyedConfig,
    recording: Recording,
    seed: u64,
    run_index: u64,
}

/// The cache key of run `run_index` of `config` under experiment seed `seed`: 32 hex digits of
/// the SHA-256 of the serialized configuration, recording, seed, run index and format version.
pub fn run_key(config: &RunConfig, recording: Recording, seed: u64, run_index: u64) -> String {
    let keyed = KeyedConfig::of(config);
    let run = KeyedRun { format: FORMAT_VERSION, config: &keyed, recording, seed, run_index };
    // Serializing plain numbers and strings cannot fail; floats are written so that distinct
    // values give distinct text.
    let text = serde_json::to_string(&run).unwrap_or_default();
    hex(&Sha256::digest(text.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aesgd_core::{Activation, EngineChoice, Schedule};
    use faer::Mat;
    use std::sync::Arc;

    #[test]
    fn the_key_changes_with_every_field_of_the_config() {
        let base = RunConfig::default();
        let key = |c: &RunConfig| run_key(c, Recording::Metrics, 0, 0);
        let k = key(&base);
        let variants: Vec<(&str, RunConfig)> = vec![
            ("activation", RunConfig { activation: Activation::Linear, ..base.clone() }),
            ("n", RunConfig { n: 19, ..base.clone() }),
            ("d", RunConfig { d: 21, ..base.clone() }),
            ("data", RunConfig { data: DataSpec::Orthonormal, ..base.clone() }),
            ("init_scale", RunConfig { init_scale: 0.25, ..base.clone() }),
            ("batch", RunConfig { batch: 2, ..base.clone() }),
            ("eta", RunConfig { eta: 0.2, ..base.clone() }),
            ("schedule", RunConfig { schedule: Schedule::Cyclic, ..base.clone() }),
            ("engine", RunConfig { engine: EngineChoice::Dense, ..base.clone() }),
            ("max_steps", RunConfig { max_steps: 7, ..base.clone() }),
            ("grad_tol", RunConfig { grad_tol: 1e-9, ..base.clone() }),
            ("check_every", RunConfig { check_every: 10, ..base.clone() }),
            ("support_threshold", RunConfig { support_threshold: 1e-5, ..base.clone() }),
        ];
        let mut seen = std::collections::HashSet::from([k.clone()]);
        for (field, config) in &variants {
            assert!(seen.insert(key(config)), "changing {field} left the key unchanged or hit another");
        }
        // The destructuring in KeyedConfig::of lists every field; so does this test.
        assert_eq!(
            variants.len(),
            serde_json::to_value(KeyedConfig::of(&base)).unwrap().as_object().unwrap().len()
        );
        assert_ne!(k, run_key(&base, Recording::Coordinates, 0, 0));
        assert_ne!(k, run_key(&base, Recording::Off, 0, 0));
        assert_ne!(k, run_key(&base, Recording::Metrics, 1, 0));
        assert_ne!(k, run_key(&base, Recording::Metrics, 0, 1));
        assert_eq!(k, key(&base.clone()));
        assert_eq!(k.len(), 32);
    }

    #[test]
    fn a_user_matrix_is_keyed_by_its_content() {
        let matrix = |v: f64| {
            let x = Mat::from_fn(3, 2, |i, j| if i == j { v } else { 0.0 });
            RunConfig { n: 2, d: 3, batch: 1, data: DataSpec::Matrix(Arc::new(x)), ..RunConfig::default() }
        };
        let key = |c: &RunConfig| run_key(c, Recording::Off, 0, 0);
        assert_eq!(key(&matrix(1.0)), key(&matrix(1.0)));
        assert_ne!(key(&matrix(1.0)), key(&matrix(0.5)));
        let transposed = RunConfig {
            n: 3,
            d: 2,
            data: DataSpec::Matrix(Arc::new(Mat::from_fn(2, 3, |i, j| if i == j { 1.0 } else { 0.0 }))),
            ..matrix(1.0)
        };
        assert_ne!(key(&matrix(1.0)), key(&transposed));
    }

    #[test]
    fn pairing_form_differs_only_in_the_batch() {
        let c = RunConfig { batch: 3, ..RunConfig::default() };
        let full = RunConfig { batch: c.n, ..c.clone() };
        assert_eq!(KeyedConfig::of(&c).at_full_batch(), KeyedConfig::of(&full).without_budget());
        let longer = RunConfig { max_steps: 2 * full.max_steps, ..full.clone() };
        assert_eq!(KeyedConfig::of(&c).at_full_batch(), KeyedConfig::of(&longer).without_budget());
        assert_ne!(KeyedConfig::of(&full), KeyedConfig::of(&longer));
        assert!(KeyedConfig::of(&full).is_full_batch());
        assert_ne!(
            KeyedConfig::of(&c).at_full_batch(),
            KeyedConfig::of(&RunConfig { eta: 0.2, ..full }).without_budget()
        );
    }
}
