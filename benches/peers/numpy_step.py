"""The same SGD step as aesgd's engines, written the straightforward vectorised NumPy way.

Run: python3 benches/peers/numpy_step.py   (needs numpy: pip install numpy)

One step at n = d = 100, b = 10, ReLU, mean gradient over a random batch without replacement:
    u_B = X_B^T w;  s = sigma(u_B)^2;  a = sigma(u_B) sigma'(u_B) r - sigma'(u_B) u_B - sigma(u_B)
    w <- w - (eta / b) (X_B a + sum(s) w)
Prints the time per step in microseconds: the median of 7 repeats of 20 000 steps, and the
fastest repeat (comparable with the fastest-sample column of `cargo xtask bench`).
"""
import sys
import timeit

import numpy as np


def make(n=100, d=100, b=10, eta=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = np.eye(d, n)
    w = rng.normal(0.0, 0.5 / np.sqrt(d), size=d)
    state = {"w": w}

    def step():
        w = state["w"]
        batch = rng.choice(n, size=b, replace=False)
        xb = x[:, batch]
        u = xb.T @ w
        r = w @ w
        active = (u > 0).astype(float)
        sigma = u * active
        a = sigma * active * r - active * u - sigma
        s = np.sum(sigma * sigma)
        state["w"] = w - (eta / b) * (xb @ a + s * w)

    return step


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    b = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    step = make(n=n, d=n, b=b)
    steps = 20_000
    times = timeit.repeat(step, number=steps, repeat=7)
    median_us = sorted(times)[len(times) // 2] / steps * 1e6
    fastest_us = min(times) / steps * 1e6
    print(
        f"numpy {np.__version__}: n = d = {n}, b = {b}: {median_us:.2f} us per step "
        f"(median of 7 repeats; fastest repeat {fastest_us:.2f} us)"
    )


if __name__ == "__main__":
    main()
