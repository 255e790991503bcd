"""The model functions against central finite differences of a loss written here in plain NumPy,
an independent path: nothing below calls aesgd to compute the reference."""

import numpy as np
import pytest

import aesgd


def numpy_loss(w, points, activation):
    """L(w) = (1/n) sum_i 1/2 ||x_i - sigma(<w, x_i>) w||^2, data points as rows."""
    u = points @ w
    s = np.maximum(u, 0.0) if activation == "relu" else u
    residuals = points - np.outer(s, w)
    return 0.5 * np.sum(residuals**2) / points.shape[0]


def away_from_kinks(rng, n, d):
    """Random data and a random w whose data coordinates are all at least 0.05 from 0."""
    while True:
        points = rng.normal(size=(n, d)) / np.sqrt(d)
        w = rng.normal(size=d)
        if np.min(np.abs(points @ w)) > 0.05:
            return w, points


CASES = [(act, n, d, seed) for act in ("relu", "linear") for (n, d) in ((3, 5), (6, 4), (5, 5)) for seed in (1, 2)]


@pytest.mark.parametrize("activation,n,d,seed", CASES)
def test_loss_matches_numpy(activation, n, d, seed):
    w, points = away_from_kinks(np.random.default_rng(seed), n, d)
    expected = numpy_loss(w, points, activation)
    assert aesgd.loss(w, points, activation=activation) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("activation,n,d,seed", CASES)
def test_gradient_matches_central_differences(activation, n, d, seed):
    w, points = away_from_kinks(np.random.default_rng(seed), n, d)
    h = 1e-6
    numeric = np.array(
        [(numpy_loss(w + h * e, points, activation) - numpy_loss(w - h * e, points, activation)) / (2 * h) for e in np.eye(d)]
    )
    analytic = aesgd.gradient(w, points, activation=activation)
    assert analytic.shape == (d,)
    # Central differences err by O(h^2 L''') plus rounding eps * L / h.
    assert np.max(np.abs(analytic - numeric)) <= 1e-7 * max(1.0, np.max(np.abs(numeric)))


@pytest.mark.parametrize("activation,n,d,seed", CASES)
def test_hessian_matches_second_differences(activation, n, d, seed):
    w, points = away_from_kinks(np.random.default_rng(seed), n, d)
    h = 1e-4
    f = lambda v: numpy_loss(v, points, activation)  # noqa: E731
    eye = np.eye(d)
    numeric = np.array(
        [
            [
                (f(w + h * eye[i] + h * eye[j]) - f(w + h * eye[i] - h * eye[j])
                 - f(w - h * eye[i] + h * eye[j]) + f(w - h * eye[i] - h * eye[j])) / (4 * h * h)
                for j in range(d)
            ]
            for i in range(d)
        ]
    )
    analytic = aesgd.hessian(w, points, activation=activation)
    assert analytic.shape == (d, d)
    assert np.allclose(analytic, analytic.T, rtol=0, atol=1e-12)
    # Second differences err by O(h^2) plus rounding eps * L / h^2 (about 1e-8 here).
    scale = max(1.0, np.max(np.abs(numeric)))
    assert np.max(np.abs(analytic - numeric)) <= 1e-5 * scale
    assert aesgd.hessian_trace(w, points, activation=activation) == pytest.approx(np.trace(analytic), rel=1e-10)


def test_default_data_is_the_standard_basis():
    w = np.array([0.3, -0.2, 0.9, 0.1])
    for activation in ("relu", "linear"):
        assert aesgd.loss(w, activation=activation) == aesgd.loss(w, np.eye(4), activation=activation)
        assert np.array_equal(aesgd.gradient(w, activation=activation), aesgd.gradient(w, np.eye(4), activation=activation))


def test_a_global_minimum_has_the_known_loss_and_trace():
    # On orthonormal data a ReLU minimum at one data point has L* = (n-1)/(2n) and
    # tr H = (d + 4 - 1)/n (crates/core/src/hessian.rs).
    n = 5
    w = np.eye(n)[2]
    assert aesgd.loss(w) == pytest.approx((n - 1) / (2 * n), rel=1e-15)
    assert np.max(np.abs(aesgd.gradient(w))) <= 1e-15
    assert aesgd.hessian_trace(w) == pytest.approx((n + 4 - 1) / n, rel=1e-14)
