"""aesgd.run gives values bit-identical to `cargo xtask run --json` for the same configuration.

Both sides serialize the same Rust `Record`, so what this tests is the path from arguments to a
configuration: the names, defaults and conversions of every argument, and the decoding of the
JSON (integers stay integers, NaN and infinities arrive as floats). A data array (`data=`) has
no command-line counterpart; `test_model.py` checks the model on arrays.

The command line is built and run from the repository this package sits in; where cargo or the
repository is missing (an installed package far from its source) the test is skipped and says
so. `.ci/run` runs it from the repository, so there it always runs."""

import json
import math
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import aesgd

ROOT = pathlib.Path(__file__).resolve().parents[3]

CONFIGS = [
    {"activation": "relu", "n": 12, "batch": [1, 6, 11, 12], "seeds": 3, "seed": 7},
    {"activation": "linear", "n": 8, "d": 11, "batch": [1, 8], "seeds": 2, "data": "orthonormal"},
    {"activation": "relu", "n": 6, "d": 30, "batch": [2, 6], "seeds": 2, "data": "gaussian", "max_steps": 20000},
    {"activation": "relu", "n": 10, "batch": [3], "seeds": 2, "schedule": "cyclic", "eta": 0.2},
    {"activation": "relu", "n": 10, "batch": [4], "seeds": 2, "schedule": "replacement", "engine": "dense"},
    {"activation": "relu", "n": 10, "batch": [5], "seeds": 2, "schedule": "epoch", "tol": 1e-8, "check_every": 100},
    # Runs that end other ways: the budget, a divergence.
    {"activation": "relu", "n": 10, "batch": [1], "seeds": 2, "max_steps": 777},
    {"activation": "linear", "n": 5, "batch": [5], "seeds": 1, "eta": 50.0, "init_scale": 3.0},
    # Several neurons: their own fields, U included, and the single neuron's that become null.
    {"activation": "relu", "n": 8, "d": 12, "batch": [1, 4, 8], "seeds": 2, "neurons": 3, "data": "orthonormal"},
    {"activation": "linear", "n": 6, "batch": [2, 6], "seeds": 2, "neurons": 2},
]

FLAGS = {"max_steps": "--steps", "check_every": "--check-every", "init_scale": "--init-scale"}


def cli_records(config):
    if shutil.which("cargo") is None or not (ROOT / "xtask").is_dir():
        pytest.skip(f"cargo or the aesgd repository (looked in {ROOT}) is not here")
    argv = ["cargo", "xtask", "run", "--json"]
    for key, value in config.items():
        flag = FLAGS.get(key, "--" + key)
        argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    out = subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def same(a, b):
    """Equal values, NaN equal to the CLI's word "NaN" and infinities to "inf"/"-inf"."""
    if isinstance(b, str) and b in ("NaN", "inf", "-inf"):
        return isinstance(a, float) and (math.isnan(a) if b == "NaN" else a == float(b))
    # Same type as well as value: an integer field must not arrive as a float.
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_run_is_bit_identical_to_the_command_line(config):
    expected = cli_records(config)
    got = aesgd.run(**config).records()
    assert len(got) == len(expected) > 0
    for g, e in zip(got, expected):
        assert g.keys() == e.keys()
        for key in e:
            if key == "wall_seconds":
                continue
            assert same(g[key], e[key]), (key, g[key], e[key])


def test_several_neurons_have_their_fields_and_one_neuron_has_them_null():
    several = aesgd.run(n=8, batch=[1], seeds=2, neurons=3)
    assert several.columns["neurons"].tolist() == [3, 3]
    for record in several.records():
        assert len(record["final_coords"]) == 3 * 8
        assert record["selected"] is None and record["linf_ratio"] is None
    one = aesgd.run(n=8, batch=[1], seeds=1).records()[0]
    assert one["neurons"] == 1 and one["selected_points"] is None and "final_coords" not in one


def test_the_outcomes_cover_every_ending():
    outcomes = {o for c in CONFIGS for o in aesgd.run(**c).columns["outcome"]}
    assert {"converged", "max_steps", "diverged"} <= outcomes, outcomes


def test_columns_hold_each_field_over_runs():
    result = aesgd.run(n=10, batch=[1, 10], seeds=3)
    records = result.records()
    assert len(result) == 6
    for key, column in result.columns.items():
        assert len(column) == 6, key
        for value, record in zip(column, records):
            if key == "support_indices":
                assert list(value) == record[key]
            elif record[key] is None:
                assert np.isnan(value), key
            else:
                assert value == record[key], key
    assert result.columns["support"].dtype == np.int64
    assert result.columns["loss_gap"].dtype == np.float64
    assert list(result.columns["batch"]) == [1, 1, 1, 10, 10, 10]


def test_a_trajectory_ends_at_the_run_of_the_same_seed():
    t = aesgd.trajectory(n=10, batch=1, seed=3, run_index=1)
    r = aesgd.run(n=10, batch=1, seeds=2, seed=3).records()[1]
    for key in ("steps_run", "outcome", "selected", "norm", "align_init", "support_indices"):
        assert t.record[key] == r[key], key
    assert t.steps[0] == 0 and t.steps[-1] == r["steps_run"]
    assert np.all(np.diff(t.steps) > 0)
    # The last snapshot is the final iterate: one coordinate at 1 (a unit data point).
    assert t.coords.shape == (len(t.steps), 10)
    assert abs(t.coords[-1, r["selected"]]) == pytest.approx(1.0, abs=1e-8)


def test_progress_is_reported_and_ends_at_the_total():
    seen = []
    aesgd.run(n=10, batch=[1, 5, 10], seeds=4, progress=lambda done, total: seen.append((done, total)))
    assert seen, "progress was never called"
    assert seen[-1] == (12, 12)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_the_largest_seeds_are_kept_exactly():
    seed = 2**64 - 1
    result = aesgd.run(n=6, batch=[1], seeds=1, seed=seed)
    assert result.columns["seed"].dtype == np.uint64 and int(result.columns["seed"][0]) == seed
    expected = cli_records({"n": 6, "batch": [1], "seeds": 1, "seed": seed})
    assert result.records()[0]["seed"] == expected[0]["seed"] == seed


def test_to_pandas_gives_the_columns_or_says_what_is_missing():
    result = aesgd.run(n=6, batch=[1, 6], seeds=2)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="to_pandas needs pandas"):
            result.to_pandas()
        return
    frame = result.to_pandas()
    assert list(frame.columns) == list(result.columns)
    assert frame["support"].tolist() == result.columns["support"].tolist()
    assert frame["outcome"].tolist() == result.columns["outcome"].tolist()


def test_non_finite_final_coordinates_are_read_as_floats():
    record = aesgd._decode('{"outcome": "diverged", "final_coords": [1.5, "NaN", "inf", "-inf"]}')
    values = record["final_coords"]
    assert values[0] == 1.5 and math.isnan(values[1]) and values[2] == math.inf and values[3] == -math.inf
    assert record["outcome"] == "diverged"
