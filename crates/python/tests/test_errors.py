"""Refused arguments raise ValueError naming the argument, its value and what is allowed,
before any run starts."""

import numpy as np
import pytest

import aesgd

BAD_RUNS = [
    ({"n": 0}, "invalid n 0"),
    ({"n": -3}, "invalid n -3"),
    ({"n": 2.5}, "invalid n 2.5"),
    ({"d": 0}, "invalid d 0"),
    ({"batch": 0}, "invalid batch 0"),
    ({"batch": [1, 21]}, "invalid batch 21: must be in 1..=20"),
    ({"batch": []}, "invalid batch []"),
    ({"batch": "ten"}, "invalid batch 'ten'"),
    ({"eta": 0.0}, "invalid eta 0"),
    ({"eta": float("nan")}, "invalid eta NaN"),
    ({"eta": "fast"}, "invalid eta 'fast'"),
    ({"seeds": 0}, "invalid seeds 0: must be at least 1"),
    ({"seed": -1}, "invalid seed -1"),
    ({"activation": "tanh"}, "invalid activation 'tanh': must be one of \"linear\", \"relu\""),
    ({"schedule": "sorted"}, "invalid schedule 'sorted'"),
    ({"data": "sphere"}, "invalid data 'sphere'"),
    ({"engine": "gpu"}, "invalid engine 'gpu'"),
    ({"engine": "reduced", "data": "gaussian"}, "invalid engine"),
    ({"max_steps": 0}, "invalid max_steps 0"),
    ({"tol": -1.0}, "invalid tol -1"),
    ({"check_every": 0}, "invalid check_every 0"),
    ({"init_scale": -1.0}, "invalid init_scale -1"),
    ({"n": 100000, "d": 100000, "engine": "dense"}, "invalid"),
    ({"data": np.zeros((3, 3))}, "invalid data: point (row) 0 is zero"),
    ({"data": np.array([[1.0, 0.0], [0.0, np.nan]])}, "invalid data: nan at point (row) 1, coordinate 1"),
    ({"data": np.zeros((0, 3))}, "invalid data: an array of shape (0, 3)"),
    ({"data": np.eye(3), "n": 4}, "invalid n 4"),
    ({"data": np.ones(3)}, "invalid data"),
    ({"progress": 3}, "invalid progress 3"),
    ({"neurons": 0}, "invalid neurons 0: must be in 1..=20"),
    ({"neurons": 21}, "invalid neurons 21: must be in 1..=20"),
    ({"neurons": 1.5}, "invalid neurons 1.5"),
]


@pytest.mark.parametrize("arguments,message", BAD_RUNS)
def test_bad_run_arguments_raise_value_error(arguments, message):
    with pytest.raises(ValueError) as error:
        aesgd.run(**arguments)
    assert str(error.value).startswith(message), str(error.value)


def test_messages_are_the_command_lines_with_python_names():
    # The CLI says `invalid --tol -1: must be ...`; Python names the argument `tol`.
    with pytest.raises(ValueError, match=r"^invalid tol -1: must be a finite number > 0"):
        aesgd.run(tol=-1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: aesgd.loss(np.array([]), activation="relu"),
        lambda: aesgd.loss(np.array([1.0, np.nan])),
        lambda: aesgd.loss(np.ones((2, 2))),
        lambda: aesgd.gradient(np.ones(3), np.ones((2, 4))),
        lambda: aesgd.hessian(np.ones(2), activation="sigmoid"),
        lambda: aesgd.hessian_trace(np.ones(2), np.array([[1.0, 0.0], [np.inf, 1.0]])),
        lambda: aesgd.trajectory(batch=0),
        # Refused before the d x d basis (80 GB) or Hessian is allocated.
        lambda: aesgd.loss(np.zeros(100_000)),
        lambda: aesgd.hessian(np.zeros(20_000)),
        # n x n Gram matrix of 100_000 points: 80 GB.
        lambda: aesgd.loss(np.ones(1), np.ones((100_000, 1))),
    ],
)
def test_bad_model_arguments_raise_value_error(call):
    with pytest.raises(ValueError, match=r"^invalid (w|data|activation|batch)"):
        call()
