"""aesgd: single-neuron autoencoders trained by SGD, from Python.

The engines, model functions and metrics of the aesgd Rust workspace (the reference
implementation of Ghosh, Frei, Ha and Yu, *The Effect of SGD Batch Size on Autoencoder
Learning*, JMLR 2025), with NumPy arrays in and out. A run's values are bit-identical to
``cargo xtask run --json`` for the same configuration.

Example::

    import aesgd
    result = aesgd.run(activation="relu", n=20, batch=[1, 10, 20], seeds=8)
    print(result.columns["support"])   # 1 for b < n, > 1 at full batch
    w = result.records()[0]

Conventions: ``n`` data points ``x_1..x_n`` in ``R^d``; the model is ``f_w(x) = sigma(<w, x>) w``
with loss ``L(w) = (1/n) sum_i 1/2 ||x_i - f_w(x_i)||^2``; ``w_0 ~ N(0, init_scale^2 / d I)``. Data
arrays are ``(n, d)``: one data point a row.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native

__all__ = [
    "RunResult",
    "Trajectory",
    "run",
    "trajectory",
    "loss",
    "gradient",
    "hessian",
    "hessian_trace",
    "default_batches",
    "Claim",
    "CriterionResult",
    "Reproduction",
    "repro",
    "load_spec",
]

ACTIVATIONS = ("linear", "relu")
SCHEDULES = ("random", "replacement", "epoch", "cyclic")
DATA_SETS = ("basis", "orthonormal", "gaussian")
ENGINES = ("auto", "dense", "reduced")

# The record fields whose values are integers when present; optional ones become float
# columns with NaN where a run has no value.
_FLOAT_WORDS = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf}

Progress = Callable[[int, int], Any]


def _integer(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as a Python int of at least ``minimum``, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"invalid {name} {value!r}: must be an integer >= {minimum}")
    value = int(value)
    if value < minimum or value >= 2**64:
        raise ValueError(f"invalid {name} {value}: must be an integer in {minimum}..2^64")
    return value


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"invalid {name} {value!r}: must be a number")
    return float(value)


def _word(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        words = ", ".join(f'"{w}"' for w in allowed)
        raise ValueError(f"invalid {name} {value!r}: must be one of {words}")
    return value


def _array(name: str, value: Any, ndim: int, shape_words: str) -> np.ndarray:
    """``value`` as a contiguous float64 array of ``ndim`` dimensions, or a ValueError naming ``name``."""
    try:
        array = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"invalid {name}: not an array of numbers ({error})") from None
    if array.ndim != ndim:
        raise ValueError(f"invalid {name}: an array of shape {array.shape}; must be {shape_words}")
    return array


def _points(name: str, value: Any) -> np.ndarray:
    """A data set given as an array: ``(n, d)`` float64, one data point a row, at least one of
    each, every entry finite and no point zero (errors name the point by its row)."""
    points = _array(name, value, 2, "(n, d), one data point a row")
    if points.shape[0] == 0 or points.shape[1] == 0:
        raise ValueError(f"invalid {name}: an array of shape {points.shape}; needs at least one point and one coordinate")
    bad = np.argwhere(~np.isfinite(points))
    if len(bad):
        i, j = bad[0]
        raise ValueError(f"invalid {name}: {points[i, j]} at point (row) {i}, coordinate {j}; every entry must be finite")
    zero = np.flatnonzero(~points.any(axis=1))
    if len(zero):
        raise ValueError(f"invalid {name}: point (row) {zero[0]} is zero; no data point may be zero")
    return points


def _vector(name: str, value: Any) -> np.ndarray:
    return _array(name, value, 1, "one-dimensional")


def default_batches(n: int) -> List[int]:
    """The batch sizes ``run`` uses when none are given: 1, n/4, n/2, n-1 and n (as the CLI)."""
    n = max(_integer("n", n, 1), 1)
    return sorted({b for b in (1, n // 4, n // 2, n - 1, n) if b >= 1})


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return _FLOAT_WORDS[value]
    return float(value)


def _decode(line: str) -> Dict[str, Any]:
    """A record as the CLI's JSON line gives it, with the words NaN/inf/-inf read as floats."""
    record = json.loads(line)
    for key, value in record.items():
        if isinstance(value, str) and value in _FLOAT_WORDS and key not in ("outcome",):
            record[key] = _FLOAT_WORDS[value]
    # The final coordinates of several neurons can hold non-finite numbers after a divergence.
    if isinstance(record.get("final_coords"), list):
        record["final_coords"] = [_float(v) for v in record["final_coords"]]
    return record


def _column(values: List[Any]) -> np.ndarray:
    """One record field over runs as a NumPy array: int64 for integers that are always present,
    float64 for numbers (NaN where a run has none), str for words, object for lists."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return np.array(values, dtype=object)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present) and len(present) == len(values):
        # Seeds are unsigned 64-bit: beyond int64 the column is uint64.
        return np.array(values, dtype=np.uint64 if max(values) > 2**63 - 1 else np.int64)
    if all(isinstance(v, (int, float)) or v is None for v in values):
        return np.array([_float(v) for v in values], dtype=np.float64)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    column = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        column[i] = v
    return column


class RunResult:
    """The runs of a grid, in order: batch size by batch size, seed by seed.

    Attributes:
        columns: a dict of NumPy arrays, one per field of the CLI's JSON record (``cargo xtask
            run --help`` explains them). Integer fields that every run has are int64; optional
            numbers (``loss_gap``, ``selected``, ``sparse_step``, ...) are float64 with NaN where
            a run has no value; words are str arrays; ``support_indices`` holds one int array a
            run.
    """

    def __init__(self, records: List[Dict[str, Any]]):
        self._records = records
        fields = list(records[0].keys()) if records else []
        columns: Dict[str, np.ndarray] = {}
        for field in fields:
            if field == "trajectory":
                continue
            values = [r.get(field) for r in records]
            if field == "support_indices":
                column = np.empty(len(values), dtype=object)
                for i, v in enumerate(values):
                    column[i] = np.array(v, dtype=np.int64)
                columns[field] = column
            else:
                columns[field] = _column(values)
        self.columns = columns

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        batches = sorted({r["batch"] for r in self._records})
        return f"RunResult({len(self)} runs, batch sizes {batches})"

    def records(self) -> List[Dict[str, Any]]:
        """Every run as a dict: the fields of one line of ``cargo xtask run --json``."""
        return [dict(r) for r in self._records]

    def to_pandas(self):
        """The columns as a pandas DataFrame (needs pandas, which aesgd does not depend on)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame({k: list(v) if v.dtype == object else v for k, v in self.columns.items()})


class Trajectory:
    """One run's log-spaced snapshots.

    Attributes:
        steps: int64 array of the snapshot steps (0, a log grid of 10 points a decade, the final step).
        coords: float64 array of shape ``(len(steps), n)``: the data coordinates ``u_i = <w, x_i>``.
        support, align_init, linf_ratio: the trajectory metrics at each snapshot.
        record: the run's final record (a dict, as one line of ``cargo xtask run --json``).
    """

    def __init__(self, record: Dict[str, Any]):
        points = record.pop("trajectory")
        self.record = record
        self.steps = np.array([p["step"] for p in points], dtype=np.int64)
        self.coords = np.array([[_float(v) for v in p["coords"]] for p in points], dtype=np.float64)
        self.support = np.array([p["support"] for p in points], dtype=np.int64)
        self.align_init = np.array([_float(p["align_init"]) for p in points], dtype=np.float64)
        self.linf_ratio = np.array([_float(p["linf_ratio"]) for p in points], dtype=np.float64)

    def __repr__(self) -> str:
        return f"Trajectory({len(self.steps)} snapshots to step {self.record['steps_run']}, outcome {self.record['outcome']})"


def _arguments(
    activation, n, d, data, init_scale, eta, schedule, engine, max_steps, tol, check_every, support_threshold, neurons=1
):
    points = None
    if isinstance(data, str):
        data_word = _word("data", data, DATA_SETS)
        n = 20 if n is None else _integer("n", n, 1)
        d = None if d is None else _integer("d", d, 1)
    else:
        points = _points("data", data)
        data_word = "basis"
        rows, cols = points.shape
        if n is not None and _integer("n", n, 1) != rows:
            raise ValueError(f"invalid n {n}: the data array has {rows} points (rows)")
        if d is not None and _integer("d", d, 1) != cols:
            raise ValueError(f"invalid d {d}: the data array's points have {cols} coordinates")
        n, d = rows, cols
    arguments = {
        "activation": _word("activation", activation, ACTIVATIONS),
        "neurons": _integer("neurons", neurons),
        "n": n,
        "d": d,
        "data": data_word,
        "init_scale": _real("init_scale", init_scale),
        "eta": _real("eta", eta),
        "schedule": _word("schedule", schedule, SCHEDULES),
        "engine": _word("engine", engine, ENGINES),
        "max_steps": _integer("max_steps", max_steps),
        "tol": _real("tol", tol),
        "check_every": _integer("check_every", check_every),
        "support_threshold": _real("support_threshold", support_threshold),
    }
    return arguments, points


def run(
    activation: str = "relu",
    n: Optional[int] = None,
    d: Optional[int] = None,
    batch: Union[int, Sequence[int], None] = None,
    eta: float = 0.1,
    seeds: int = 4,
    seed: int = 0,
    schedule: str = "random",
    data: Union[str, "np.ndarray"] = "basis",
    init_scale: float = 0.5,
    engine: str = "auto",
    max_steps: int = 100_000_000,
    tol: float = 1e-10,
    check_every: int = 1000,
    support_threshold: float = 1e-6,
    progress: Optional[Progress] = None,
    neurons: int = 1,
) -> RunResult:
    """Runs seeds ``0..seeds`` of SGD at every batch size, as ``cargo xtask run`` does.

    Run ``k`` of every batch size uses random stream ``k`` of ``seed``, so all batch sizes see the
    same data and the same ``w_0`` seed by seed. The runs use every core, with the GIL released;
    the result does not depend on the thread count.

    Args:
        activation: ``"relu"`` or ``"linear"``.
        n: number of data points (default 20; when ``data`` is an array, its row count, and
            checked if given).
        d: ambient dimension (default ``n``).
        batch: a batch size or a list of them, each in ``1..=n``; ``n`` is full-batch gradient
            descent. Default: 1, n/4, n/2, n-1 and n.
        eta: constant step size.
        seeds: runs per batch size.
        seed: the experiment seed.
        schedule: ``"random"`` (a fresh subset each step), ``"replacement"``, ``"epoch"`` or
            ``"cyclic"``.
        data: ``"basis"``, ``"orthonormal"`` (drawn per seed), ``"gaussian"`` (drawn per seed),
            or an ``(n, d)`` array of data points, one a row.
        init_scale: ``w_0 ~ N(0, init_scale^2 / d I)``.
        engine: ``"auto"``, ``"dense"`` or ``"reduced"`` (orthonormal data only).
        max_steps: the step budget; a run that has not converged by then ends as ``max_steps``.
        tol: the convergence tolerance on the stationarity measure (the CLI's ``--tol``).
        check_every: steps between convergence checks.
        support_threshold: a coordinate counts in the support when ``|u_i| > threshold * max |u_j|``.
        progress: called as ``progress(done, total)`` about every 0.1 s while runs compute
            (``tqdm``: ``bar = tqdm(total=...); progress=lambda d, t: bar.update(d - bar.n)``).
        neurons: the number ``k`` of tied neurons, in ``1..=n`` (the CLI's ``--neurons``); 1 is
            the paper's single neuron. With ``k > 1`` the columns also hold ``selected_points``
            (a sorted list, one point a neuron, or None), ``distinct_selected``, ``collisions``,
            ``dead_neurons``, ``shared_points`` and ``final_coords`` (``U = W X``, ``k x n`` row by
            row, a list a run); ``cargo xtask run --help`` says how the other fields read then.

    Returns:
        A :class:`RunResult`.

    Raises:
        ValueError: an argument is refused; the message names it, its value and what is allowed
            (the CLI's message, with the Python argument's name).

    Example::

        >>> r = aesgd.run(n=10, batch=[1, 10], seeds=2)
        >>> r.columns["support"][:2].tolist()   # b = 1: one data point each
        [1, 1]
    """
    arguments, points = _arguments(
        activation, n, d, data, init_scale, eta, schedule, engine, max_steps, tol, check_every, support_threshold,
        neurons,
    )
    if batch is None:
        batches = default_batches(arguments["n"])
    elif isinstance(batch, str):
        raise ValueError(f"invalid batch {batch!r}: must be an integer or a list of integers")
    elif isinstance(batch, numbers.Integral) and not isinstance(batch, bool):
        batches = [_integer("batch", batch)]
    else:
        try:
            batches = [_integer("batch", b) for b in batch]
        except TypeError:
            raise ValueError(f"invalid batch {batch!r}: must be an integer or a list of integers") from None
        if not batches:
            raise ValueError("invalid batch []: give at least one batch size")
    # The executor says what the least number of seeds is (the command line's message).
    seeds = _integer("seeds", seeds)
    seed = _integer("seed", seed)
    if progress is not None and not callable(progress):
        raise ValueError(f"invalid progress {progress!r}: must be callable as progress(done, total)")
    lines = _native.run_grid(arguments, batches, seeds, seed, points, progress)
    return RunResult([_decode(line) for line in lines])


def trajectory(
    activation: str = "relu",
    n: Optional[int] = None,
    d: Optional[int] = None,
    batch: int = 1,
    eta: float = 0.1,
    seed: int = 0,
    run_index: int = 0,
    schedule: str = "random",
    data: Union[str, "np.ndarray"] = "basis",
    init_scale: float = 0.5,
    engine: str = "auto",
    max_steps: int = 100_000_000,
    tol: float = 1e-10,
    check_every: int = 1000,
    support_threshold: float = 1e-6,
) -> Trajectory:
    """One run (stream ``run_index`` of ``seed``) with its data coordinates at log-spaced steps.

    The arguments are those of :func:`run`, with one batch size. The run's final record is the
    one :func:`run` gives for that seed.

    Example::

        >>> t = aesgd.trajectory(n=10, batch=1)
        >>> t.coords.shape[1]
        10
    """
    arguments, points = _arguments(
        activation, n, d, data, init_scale, eta, schedule, engine, max_steps, tol, check_every, support_threshold
    )
    line = _native.run_trajectory(arguments, _integer("batch", batch), _integer("seed", seed),
                                  _integer("run_index", run_index), points)
    return Trajectory(_decode(line))


def _model_inputs(w, data, activation):
    w = _vector("w", w)
    points = None if data is None else _points("data", data)
    return w, points, _word("activation", activation, ACTIVATIONS)


def loss(w, data=None, activation: str = "relu") -> float:
    """The loss ``L(w) = (1/n) sum_i 1/2 ||x_i - sigma(<w, x_i>) w||^2``.

    Args:
        w: the weight vector, shape ``(d,)``.
        data: an ``(n, d)`` array of data points, one a row; default the standard basis of ``R^d``.
        activation: ``"relu"`` or ``"linear"``.

    Example::

        >>> aesgd.loss(np.eye(3)[0], activation="relu")   # a global minimum: (n - 1) / (2n)
        0.3333333333333333
    """
    return _native.loss(*_model_inputs(w, data, activation))


def gradient(w, data=None, activation: str = "relu") -> np.ndarray:
    """The gradient of :func:`loss` at ``w`` (shape ``(d,)``); ReLU's derivative at 0 is 0."""
    return _native.gradient(*_model_inputs(w, data, activation))


def hessian(w, data=None, activation: str = "relu") -> np.ndarray:
    """The exact Hessian of :func:`loss` at ``w``, a ``(d, d)`` matrix (away from ReLU kinks)."""
    return _native.hessian(*_model_inputs(w, data, activation))


def hessian_trace(w, data=None, activation: str = "relu") -> float:
    """The trace of :func:`hessian`, in closed form without forming the matrix."""
    return _native.hessian_trace(*_model_inputs(w, data, activation))


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of a claim at one sweep point.

    ``estimate``, ``lower`` and ``upper`` are the statistic and its interval at ``level``
    (``None`` with the reason in ``undefined`` when no run could give one); ``seeds`` is the
    number of runs behind it; ``passed`` is the verdict (``None`` for report-only criteria).
    """

    criterion: str
    group: str
    statistic: str
    metric: str
    estimate: Optional[float]
    lower: Optional[float]
    upper: Optional[float]
    level: Optional[float]
    seeds: Optional[int]
    method: Optional[str]
    undefined: Optional[str]
    rule: str
    passed: Optional[bool]

    @staticmethod
    def _of(raw: Dict[str, Any]) -> "CriterionResult":
        e = raw.get("estimate") or {}
        return CriterionResult(
            criterion=raw["criterion"],
            group=raw["group"],
            statistic=raw["statistic"],
            metric=raw["metric"],
            estimate=None if not e else _float(e["estimate"]),
            lower=None if not e else _float(e["lower"]),
            upper=None if not e else _float(e["upper"]),
            level=e.get("level"),
            seeds=e.get("n"),
            method=(e.get("method") or {}).get("kind"),
            undefined=raw.get("undefined"),
            rule=raw["rule"],
            passed=raw.get("pass"),
        )


@dataclass(frozen=True)
class Claim:
    """The verdict of one spec (claim, figure or question): ``verdict`` is ``"pass"``, ``"fail"``
    or ``"report"`` (nothing judged); ``results`` has every criterion at every sweep point."""

    id: str
    kind: str
    title: str
    statement: str
    verdict: str
    results: List[CriterionResult]
    figures: List[str]
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @staticmethod
    def _of(raw: Dict[str, Any]) -> "Claim":
        verdict = {True: "pass", False: "fail", None: "report"}[raw.get("pass")]
        return Claim(
            id=raw["id"],
            kind=raw["kind"],
            title=raw["title"],
            statement=raw["statement"],
            verdict=verdict,
            results=[CriterionResult._of(r) for r in raw["results"]],
            figures=list(raw["figures"]),
            raw=raw,
        )


@dataclass(frozen=True)
class Reproduction:
    """What :func:`repro` did: the claims, the ids of those that failed, the runs in all and
    those computed now (the rest came from the cache), and, with ``check=True``, the
    differences from the committed expectation (empty when they match)."""

    claims: List[Claim]
    failed: List[str]
    runs: int
    computed: int
    out: str
    differences: Optional[List[str]]

    def __getitem__(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(claim_id)


def repro(
    specs: Union[str, "os.PathLike[str]"] = "repro",
    out: Union[str, "os.PathLike[str]"] = "target/repro",
    quick: bool = False,
    only: Optional[Sequence[str]] = None,
    jobs: Optional[int] = None,
    fresh: bool = False,
    check: bool = False,
    progress: Optional[Progress] = None,
    committed: bool = True,
) -> Reproduction:
    """Runs the reproduction exactly as ``cargo xtask repro`` does, and returns its verdicts.

    It is the same experiment library: the same plan, the same run cache in ``out/cache`` (so an
    interrupted reproduction resumes, and runs cached by the command line are reused), and the
    same files (``REPORT.md``, ``claims.json``, figures, CSVs).

    Args:
        specs: the folder of TOML specs (``repro`` in the repository).
        out: the output folder.
        quick: the small sizes and few seeds of each spec's ``[quick]`` table.
        only: only these experiment ids.
        jobs: worker threads (default: every core); results do not depend on it.
        fresh: compute the selected runs again instead of reading them from the cache.
        check: compare the verdicts with ``expected.json`` / ``expected-quick.json`` in ``specs``.
        progress: called as ``progress(done, total)`` about every 0.1 s with the runs computed.
        committed: read the runs the cache lacks from the archives in ``specs/cache`` first, each
            checked by its SHA-256 and key, and a sample of them computed again (``False``:
            compute every run, as ``quick`` and ``fresh`` always do).

    Example::

        >>> r = aesgd.repro(quick=True, out="target/repro-quick")
        >>> [(c.id, c.verdict) for c in r.claims][:1]
        [('claim1-convergence', 'pass')]
    """
    if only is None:
        only_ids: List[str] = []
    elif isinstance(only, str):
        only_ids = [only]
    else:
        only_ids = [str(x) for x in only]
    threads = None if jobs is None else _integer("jobs", jobs, 0)
    if progress is not None and not callable(progress):
        raise ValueError(f"invalid progress {progress!r}: must be callable as progress(done, total)")
    summary = json.loads(
        _native.repro(
            os.fspath(specs),
            os.fspath(out),
            bool(quick),
            only_ids,
            threads,
            bool(fresh),
            bool(check),
            progress,
            bool(committed),
        )
    )
    return Reproduction(
        claims=[Claim._of(c) for c in summary["claims"]],
        failed=list(summary["failed"]),
        runs=summary["runs"],
        computed=summary["computed"],
        out=os.fspath(out),
        differences=summary["differences"],
    )


def load_spec(path: Union[str, "os.PathLike[str]"]) -> Dict[str, Any]:
    """Reads and checks one spec file as ``cargo xtask repro`` does.

    Returns a dict with its ``id``, ``kind``, ``title``, ``statement``, ``notes``, ``criteria``
    and ``figures`` names, and its sweep ``points`` (and ``quick_points``): each the full run
    configuration, the seed, the number of seeds and what is recorded. A spec with an error
    raises ValueError naming the key (``sweep.batch[2]``) and what is allowed.
    """
    return json.loads(_native.load_spec(os.fspath(path)))
