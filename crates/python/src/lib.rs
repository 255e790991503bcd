//! `aesgd._native`: the Rust side of the `aesgd` Python package.
//!
//! This module only translates: Python arguments into the workspace's typed configurations
//! (checked by the same `validate` as the command line, so errors carry the same text), and
//! results back into Python values. It computes nothing of its own. Records cross the boundary
//! as the JSON lines `cargo xtask run --json` prints (serde_json with exact float round trips),
//! so the Python values are bit-identical to the command line's; the Pythonic surface (keyword
//! arguments, defaults, result objects, docstrings) is `python/aesgd/__init__.py`.
//!
//! Long work runs with the GIL released, on a worker thread, while the calling thread wakes
//! every 100 ms to report progress and to check for Ctrl-C. Rust never panics into Python: every
//! refused argument is a `ValueError`.

use aesgd_core::config::{DataSpec, MAX_RUN_BYTES, bytes_text};
use aesgd_core::data::Data;
use aesgd_core::run::Interrupt;
use aesgd_core::{Activation, ConfigError, EngineChoice, RunConfig, Schedule};
use aesgd_experiment::plan::Job;
use aesgd_experiment::vocabulary::{ActivationKind, DataKind, ScheduleKind, allowed};
use aesgd_experiment::{ExperimentError, Plan, Recording, executor};
use aesgd_report::reproduce::git_revision;
use aesgd_report::{ReportError, Reproduction, ReproductionEvents, ReproductionOptions, reproduce};
use faer::Mat;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The Python argument that sets a core configuration field.
fn argument_of(field: &str) -> &str {
    match field {
        "grad_tol" => "tol",
        other => other,
    }
}

/// A refused configuration as the `ValueError` Python sees, in the command line's words with
/// the Python argument's name.
fn config_error(error: &ConfigError) -> PyErr {
    PyValueError::new_err(format!("invalid {} {}: {}", argument_of(error.field), error.value, error.allowed))
}

fn experiment_error(error: ExperimentError) -> PyErr {
    match error {
        ExperimentError::Config(c) => config_error(&c),
        ExperimentError::UnknownExperiment { id, known } => {
            PyValueError::new_err(format!("invalid only {id}: known experiments are {known}"))
        }
        ExperimentError::Argument { name, value, allowed } => {
            PyValueError::new_err(format!("invalid {name} {value}: {allowed}"))
        }
        other => PyValueError::new_err(other.to_string()),
    }
}

/// One of the words of a vocabulary enum, or a `ValueError` naming the argument.
fn word<T: Copy + std::fmt::Display>(argument: &str, text: &str, all: &[T]) -> PyResult<T> {
    all.iter().copied().find(|w| w.to_string() == text).ok_or_else(|| {
        PyValueError::new_err(format!("invalid {argument} {text:?}: must be one of {}", allowed(all)))
    })
}

fn activation(text: &str) -> PyResult<Activation> {
    word("activation", text, ActivationKind::ALL).map(Into::into)
}

fn engine(text: &str) -> PyResult<EngineChoice> {
    match text {
        "auto" => Ok(EngineChoice::Auto),
        "dense" => Ok(EngineChoice::Dense),
        "reduced" => Ok(EngineChoice::Reduced),
        _ => Err(PyValueError::new_err(format!(
            "invalid engine {text:?}: must be one of \"auto\", \"dense\", \"reduced\""
        ))),
    }
}

/// A `(n, d)` NumPy array of data points (one a row) as the core's `d x n` data matrix.
fn points_matrix(points: &PyReadonlyArray2<'_, f64>) -> Mat<f64> {
    let a = points.as_array();
    let (n, d) = a.dim();
    Mat::from_fn(d, n, |i, j| a[(j, i)])
}

/// The data of a model function: the given points, or the standard basis of `R^d`.
fn model_data(points: Option<PyReadonlyArray2<'_, f64>>, d: usize) -> PyResult<Data> {
    let data = match points {
        Some(p) => {
            let (_, cols) = p.as_array().dim();
            if cols != d {
                return Err(PyValueError::new_err(format!(
                    "invalid data: its points have {cols} coordinates but w has {d}; data is an (n, d) array, one data point a row"
                )));
            }
            Data::from_matrix(points_matrix(&p))
        }
        None => Data::basis(d, d),
    };
    data.map_err(|e| config_error(&e))
}

fn point(w: &PyReadonlyArray1<'_, f64>) -> PyResult<Vec<f64>> {
    let w: Vec<f64> = w.as_array().iter().copied().collect();
    if w.is_empty() {
        return Err(PyValueError::new_err("invalid w: an empty array; w needs at least one coordinate"));
    }
    if let Some((i, v)) = w.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "invalid w: {v} at index {i}; every entry must be finite"
        )));
    }
    Ok(w)
}

/// The point, data and activation of a model function, refused before anything is allocated
/// when the data matrix (the `d x d` basis when no data is given) or, for the Hessian
/// (`hessian_matrix`), the `d x d` result would need more than `MAX_RUN_BYTES`.
fn model_inputs(
    w: &PyReadonlyArray1<'_, f64>,
    data: Option<PyReadonlyArray2<'_, f64>>,
    activation_name: &str,
    hessian_matrix: bool,
) -> PyResult<(Vec<f64>, Data, Activation)> {
    let activation = activation(activation_name)?;
    let d = w.len()?;
    let n = data.as_ref().map_or(d, |p| p.as_array().dim().0);
    let bytes = |rows: usize, cols: usize| (rows as u128) * (cols as u128) * 8;
    // The data matrix, its n x n Gram matrix (the orthonormality test) and the Hessian.
    let needed = bytes(d, n) + bytes(n, n) + if hessian_matrix { bytes(d, d) } else { 0 };
    if needed > u128::from(MAX_RUN_BYTES) {
        return Err(PyValueError::new_err(format!(
            "invalid w: d = {d} with n = {n} data points needs {} in matrices; at most {} is allowed",
            bytes_text(needed),
            bytes_text(u128::from(MAX_RUN_BYTES))
        )));
    }
    let w = point(w)?;
    let data = model_data(data, d)?;
    Ok((w, data, activation))
}

/// The loss `L(w) = (1/n) sum_i 1/2 ||x_i - sigma(<w, x_i>) w||^2`.
#[pyfunction]
#[pyo3(signature = (w, data, activation_name))]
fn loss(
    w: PyReadonlyArray1<'_, f64>,
    data: Option<PyReadonlyArray2<'_, f64>>,
    activation_name: &str,
) -> PyResult<f64> {
    let (w, data, activation) = model_inputs(&w, data, activation_name, false)?;
    Ok(aesgd_core::model::loss(&data, activation, &w))
}

/// The full gradient of the loss.
#[pyfunction]
#[pyo3(signature = (w, data, activation_name))]
fn gradient<'py>(
    py: Python<'py>,
    w: PyReadonlyArray1<'py, f64>,
    data: Option<PyReadonlyArray2<'py, f64>>,
    activation_name: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (w, data, activation) = model_inputs(&w, data, activation_name, false)?;
    Ok(aesgd_core::model::full_gradient(&data, activation, &w).into_pyarray(py))
}

/// The exact `d x d` Hessian of the loss.
#[pyfunction]
#[pyo3(signature = (w, data, activation_name))]
fn hessian<'py>(
    py: Python<'py>,
    w: PyReadonlyArray1<'py, f64>,
    data: Option<PyReadonlyArray2<'py, f64>>,
    activation_name: &str,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (w, data, activation) = model_inputs(&w, data, activation_name, true)?;
    let h = aesgd_core::hessian::hessian(&data, activation, &w);
    Ok(Array2::from_shape_fn((h.nrows(), h.ncols()), |(i, j)| h[(i, j)]).into_pyarray(py))
}

/// The Hessian's trace in closed form, without forming the matrix.
#[pyfunction]
#[pyo3(signature = (w, data, activation_name))]
fn hessian_trace(
    w: PyReadonlyArray1<'_, f64>,
    data: Option<PyReadonlyArray2<'_, f64>>,
    activation_name: &str,
) -> PyResult<f64> {
    let (w, data, activation) = model_inputs(&w, data, activation_name, false)?;
    Ok(aesgd_core::hessian::hessian_trace(&data, activation, &w))
}

/// The arguments of a run, as the Python wrapper passes them (already checked to be
/// non-negative integers where integers are asked for).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct RunArguments {
    activation: String,
    neurons: usize,
    n: usize,
    d: Option<usize>,
    data: String,
    init_scale: f64,
    eta: f64,
    schedule: String,
    engine: String,
    max_steps: u64,
    tol: f64,
    check_every: u64,
    support_threshold: f64,
}

impl RunArguments {
    /// The configuration at batch size `batch`, validated.
    fn config(&self, batch: usize, points: Option<&Arc<Mat<f64>>>) -> PyResult<RunConfig> {
        let data = match points {
            Some(x) => DataSpec::Matrix(Arc::clone(x)),
            None => word("data", &self.data, DataKind::ALL)?.into(),
        };
        let (n, d) = match points {
            Some(x) => (x.ncols(), x.nrows()),
            None => (self.n, self.d.unwrap_or(self.n)),
        };
        let config = RunConfig {
            activation: activation(&self.activation)?,
            neurons: self.neurons,
            n,
            d,
            data,
            init_scale: self.init_scale,
            batch,
            eta: self.eta,
            schedule: word::<ScheduleKind>("schedule", &self.schedule, ScheduleKind::ALL)
                .map(Schedule::from)?,
            engine: engine(&self.engine)?,
            max_steps: self.max_steps,
            grad_tol: self.tol,
            check_every: self.check_every,
            support_threshold: self.support_threshold,
        };
        config.validate().map_err(|e| config_error(&e))?;
        Ok(config)
    }
}

/// Runs `work` on a worker thread with the GIL released; every 100 ms the calling thread
/// reports `done` (out of `total`, which the work may set once it knows it) to `progress` when
/// given, and checks for Ctrl-C. On Ctrl-C, or when `progress` raises, `interrupt` is requested,
/// the work stops within moments (it reads the flag, see `aesgd_core::run::Interrupt`), and that
/// exception is raised: `KeyboardInterrupt` for Ctrl-C.
fn detached<T: Send>(
    py: Python<'_>,
    total: &AtomicU64,
    done: &AtomicU64,
    progress: Option<&Bound<'_, PyAny>>,
    interrupt: &Interrupt,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let mut failure: Option<PyErr> = None;
    let mut reported = u64::MAX;
    let result = std::thread::scope(|scope| {
        let worker = scope.spawn(work);
        loop {
            let finished = py.detach(|| {
                let until = std::time::Instant::now() + Duration::from_millis(100);
                while std::time::Instant::now() < until && !worker.is_finished() {
                    std::thread::sleep(Duration::from_millis(2));
                }
                worker.is_finished()
            });
            if failure.is_none() {
                let now = done.load(Ordering::Relaxed);
                let reporting = match progress {
                    Some(callback) if now != reported => {
                        reported = now;
                        callback.call1((now, total.load(Ordering::Relaxed))).map(drop)
                    }
                    _ => Ok(()),
                };
                if let Err(e) = py.check_signals().and(reporting) {
                    interrupt.request();
                    failure = Some(e);
                }
            }
            if finished {
                break;
            }
        }
        worker.join()
    });
    match (failure, result) {
        (Some(e), _) => Err(e),
        (None, Ok(value)) => Ok(value),
        (None, Err(_)) => Err(PyValueError::new_err("internal error: a worker thread panicked")),
    }
}

/// Runs seeds `0..seeds` of every batch size in `batches` and returns every record as a JSON
/// line, configuration by configuration, seed by seed.
#[pyfunction]
#[pyo3(signature = (arguments, batches, seeds, seed, points, progress))]
fn run_grid(
    py: Python<'_>,
    arguments: RunArguments,
    batches: Vec<usize>,
    seeds: u64,
    seed: u64,
    points: Option<PyReadonlyArray2<'_, f64>>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Vec<String>> {
    let points = points.map(|p| Arc::new(points_matrix(&p)));
    let configs: Vec<RunConfig> =
        batches.iter().map(|&b| arguments.config(b, points.as_ref())).collect::<PyResult<_>>()?;
    let total = AtomicU64::new((configs.len() as u64).saturating_mul(seeds));
    let done = AtomicU64::new(0);
    let interrupt = Interrupt::new();
    let records = detached(py, &total, &done, progress.as_ref(), &interrupt, || {
        let on_done = || {
            done.fetch_add(1, Ordering::Relaxed);
        };
        executor::run_grid(&configs, seed, seeds, Recording::Off, &on_done, &interrupt)
    })?
    .map_err(experiment_error)?;
    records
        .iter()
        .map(|r| serde_json::to_string(r).map_err(|e| PyValueError::new_err(e.to_string())))
        .collect()
}

/// One run with its trajectory (log-spaced snapshots with every data coordinate), as a JSON line.
#[pyfunction]
#[pyo3(signature = (arguments, batch, seed, run_index, points))]
fn run_trajectory(
    py: Python<'_>,
    arguments: RunArguments,
    batch: usize,
    seed: u64,
    run_index: u64,
    points: Option<PyReadonlyArray2<'_, f64>>,
) -> PyResult<String> {
    let points = points.map(|p| Arc::new(points_matrix(&p)));
    let config = arguments.config(batch, points.as_ref())?;
    let (done, total) = (AtomicU64::new(0), AtomicU64::new(1));
    let interrupt = Interrupt::new();
    let mut records = detached(py, &total, &done, None, &interrupt, || {
        executor::run_together_interruptible(&config, Recording::Coordinates, seed, &[run_index], &interrupt)
    })?
    .map_err(|_| experiment_error(ExperimentError::Interrupted { finished: 0 }))?
    .map_err(experiment_error)?;
    let record =
        records.pop().ok_or_else(|| PyValueError::new_err("internal error: a run gave no record"))?;
    serde_json::to_string(&record).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Counts the finished runs of a reproduction for the progress callback.
struct Counting<'a> {
    done: &'a AtomicU64,
    total: &'a AtomicU64,
}

impl ReproductionEvents for Counting<'_> {
    fn planned(&self, _plan: &Plan, todo: &[&Job], _unusable: usize) {
        self.total.store(todo.len() as u64, Ordering::Relaxed);
    }

    fn run_done(&self, _job: &Job) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// What `repro` returns to the Python side, as JSON.
#[derive(serde::Serialize)]
struct ReproSummary<'a> {
    claims: &'a [aesgd_experiment::ClaimResult],
    failed: Vec<&'a str>,
    runs: usize,
    computed: usize,
    removed: &'a [String],
    differences: Option<Vec<String>>,
}

/// Runs a reproduction exactly as `cargo xtask repro` does ([`aesgd_report::reproduce`]) and
/// returns its verdicts as a JSON object; with `check`, also the differences from the committed
/// expectation.
#[pyfunction]
#[pyo3(signature = (specs, out, quick, only, jobs, fresh, check, progress, committed))]
#[allow(clippy::too_many_arguments)]
fn repro(
    py: Python<'_>,
    specs: PathBuf,
    out: PathBuf,
    quick: bool,
    only: Vec<String>,
    jobs: Option<usize>,
    fresh: bool,
    check: bool,
    progress: Option<Bound<'_, PyAny>>,
    committed: bool,
) -> PyResult<String> {
    let revision = py.detach(|| git_revision(&specs));
    let options = ReproductionOptions {
        specs,
        out,
        quick,
        only,
        threads: jobs.unwrap_or_else(executor::available_cores),
        fresh,
        shard: None,
        revision,
        committed,
    };
    let done = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    let events = Counting { done: &done, total: &total };
    let interrupt = Interrupt::new();
    let reproduction = detached(py, &total, &done, progress.as_ref(), &interrupt, || {
        reproduce(&options, &events, &interrupt)
    })?
    .map_err(|e| match e {
        ReportError::Experiment(e) => experiment_error(e),
        other => PyValueError::new_err(other.to_string()),
    })?;
    let Reproduction::Report(written) = reproduction else {
        return Err(PyValueError::new_err("internal error: a reproduction without shards wrote no report"));
    };
    let differences = if check {
        Some(
            aesgd_report::reproduce::check(&options.specs, quick, &written)
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        )
    } else {
        None
    };
    let summary = ReproSummary {
        claims: &written.claims,
        failed: written.failed(),
        runs: written.runs,
        computed: written.computed,
        removed: &written.removed,
        differences,
    };
    serde_json::to_string(&summary).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A spec point as Python sees it: the configuration's every field, the seeds and the recording.
#[derive(serde::Serialize)]
struct PointSummary {
    config: aesgd_experiment::key::KeyedConfig,
    seed: u64,
    seeds: u64,
    recording: Recording,
}

/// A spec file, read and checked as `cargo xtask repro` reads it, as a JSON object: its words
/// and its sweep points (full and quick).
#[pyfunction]
fn load_spec(path: PathBuf) -> PyResult<String> {
    // An `io::Error` becomes the matching OSError (FileNotFoundError, PermissionError, ...).
    let text = std::fs::read_to_string(&path).map_err(PyErr::from)?;
    let spec = aesgd_experiment::spec::parse(&path, &text).map_err(experiment_error)?;
    let summarise = |quick: bool| -> PyResult<Vec<PointSummary>> {
        Ok(aesgd_experiment::plan::points(&spec, quick)
            .map_err(experiment_error)?
            .into_iter()
            .map(|p| PointSummary { config: p.keyed(), seed: p.seed, seeds: p.seeds, recording: p.recording })
            .collect())
    };
    let value = serde_json::json!({
        "id": spec.id,
        "kind": spec.kind.name(),
        "title": spec.title,
        "statement": spec.statement,
        "notes": spec.notes,
        "file": spec.file.display().to_string(),
        "criteria": spec.criteria.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "figures": spec.figures.iter().map(|f| f.id.clone()).collect::<Vec<_>>(),
        "points": summarise(false)?,
        "quick_points": summarise(true)?,
    });
    Ok(value.to_string())
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(loss, m)?)?;
    m.add_function(wrap_pyfunction!(gradient, m)?)?;
    m.add_function(wrap_pyfunction!(hessian, m)?)?;
    m.add_function(wrap_pyfunction!(hessian_trace, m)?)?;
    m.add_function(wrap_pyfunction!(run_grid, m)?)?;
    m.add_function(wrap_pyfunction!(run_trajectory, m)?)?;
    m.add_function(wrap_pyfunction!(repro, m)?)?;
    m.add_function(wrap_pyfunction!(load_spec, m)?)?;
    Ok(())
}
