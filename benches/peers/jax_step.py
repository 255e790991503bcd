"""The same SGD step as aesgd's engines and benches/peers/numpy_step.py, as a compiled JAX loop.

Run: python3 benches/peers/jax_step.py   (needs jax: pip install jax; CPU only; not part of CI)

Model and step (as numpy_step.py): n = d = 100, standard-basis data (one matrix shared by all
seeds; or --data orthonormal: a random orthonormal set, QR of a Gaussian d x n matrix, drawn
per seed), ReLU, eta = 0.1, float64, w_0 ~ N(0, 0.25/d I), and a uniformly random batch B of b
distinct indices each step:
    u_B = X_B^T w;  s = sigma(u_B)^2;  a = sigma(u_B) sigma'(u_B) r - sigma'(u_B) u_B - sigma(u_B)
    w <- w - (eta / b) (X_B a + sum(s) w)            (r = <w, w>)
The batch is `jax.random.permutation(key, n)[:b]` (what `jax.random.choice(key, n, (b,),
replace=False)` does too): at n = 100 one sort of 100 random 32-bit keys a step, whatever b, and
XLA's CPU sort dominates the step. --sampler floyd draws the same uniformly random b-subset
with Robert Floyd's algorithm instead (b draws from `jax.random.randint`, two 64-bit words
each, bias below 1e-17, and b mask updates, no sort; for b > n/2 it draws the n - b left out and
steps on all n columns with the others' terms zeroed, the same step). --sampler none takes
consecutive windows of b points mod n (no random draw and no key split; not the SGD of the
paper: it measures what the draw costs).

Compiled with jax.jit: lax.scan over S steps inside jax.vmap over 64 seeds (each seed its own
w_0 and its own key stream, split once a step), the seeds split over --devices host devices
(default 2, one per core, with shard_map: with one device XLA's CPU client ran this loop on
about one core, 7.2e5 against 1.5e6 run-steps/s at b = 10 with --sampler floyd). For each b in
{1, 10, 99} (or --batch) it compiles first (the compile time is printed separately and not
counted), runs the compiled loop once untimed, then times --repeats (default 5) consecutive
runs of S steps each continuing from the last state (`block_until_ready`). S is picked from a
short calibration run so that one repeat takes about --target seconds (default 2), unless
--steps is given. It prints run-steps per second (= seeds x S / seconds) for the median and for
the fastest repeat.

Before timing it prints a one-line sanity check: one compiled step against the NumPy formula,
and after --check-steps steps at b = 1 every seed's iterate has support 1 (|u_i| > 1e-6 max_j
|u_j| for one i only, as aesgd's --support-threshold) while at b = n it stays dense.
"""
import argparse
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=100, help="n = d (default 100)")
    p.add_argument("--batch", default="1,10,99", help="batch sizes, comma-separated")
    p.add_argument("--seeds", type=int, default=64)
    p.add_argument("--devices", type=int, default=2, help="host devices (cores) for the seeds")
    p.add_argument("--data", choices=["basis", "orthonormal"], default="basis")
    p.add_argument("--sampler", choices=["permutation", "floyd", "none"], default="permutation")
    p.add_argument("--steps", type=int, default=0, help="steps a repeat (0: calibrate)")
    p.add_argument("--target", type=float, default=2.0, help="seconds a repeat when calibrating")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--check-steps", type=int, default=500_000, help="steps of the sanity check")
    p.add_argument("--check-seeds", type=int, default=4, help="seeds of the sanity check")
    p.add_argument("--no-check", action="store_true")
    return p.parse_args()


ARGS = parse_args()
# Must be set before jax is imported: one host device per core.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={ARGS.devices}"
).strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, PartitionSpec as P  # noqa: E402

ETA = 0.1
INIT_SCALE = 0.5
SUPPORT_THRESHOLD = 1e-6


def floyd(key, n, k):
    """Robert Floyd's algorithm: a uniformly random k-subset of range(n), k draws, no sort.

    For j = n-k .. n-1: t uniform in [0, j]; take t, or j if t is taken already. Returns the
    taken indices and their mask."""
    js = jnp.arange(n - k, n)
    ts = jax.random.randint(key, (k,), 0, js + 1)
    mask = jnp.zeros(n, bool)
    taken = []
    for i in range(k):
        pick = jnp.where(mask[ts[i]], js[i], ts[i])
        mask = mask.at[pick].set(True)
        taken.append(pick)
    return jnp.stack(taken) if taken else jnp.zeros(0, int), mask


def draw_batch(key, n, b, sampler):
    """The batch: b distinct indices, or (sampler floyd, b > n/2) a mask of n with b set."""
    if sampler == "permutation":
        return jax.random.permutation(key, n)[:b]
    if b <= n // 2:
        return floyd(key, n, b)[0]
    return ~floyd(key, n, n - b)[1]


def sgd_step(x, w, batch, b):
    if batch.dtype == jnp.bool_:  # a mask: all n columns, the others' terms zeroed
        xb, m = x, batch.astype(w.dtype)
    else:
        xb, m = x[:, batch], 1.0  # d x b
    u = xb.T @ w
    r = w @ w
    active = (u > 0).astype(w.dtype) * m
    sigma = u * active
    a = sigma * active * r - active * u - sigma
    s = jnp.sum(sigma * sigma)
    return w - (ETA / b) * (xb @ a + s * w)


def init(seeds, n, data):
    """Data x, and per seed w_0 and the key of its batch stream.

    Basis data is the same for every seed, so x is one d x n matrix shared by all seeds;
    orthonormal data is drawn per seed (as aesgd's --data orthonormal), x is seeds x d x n."""
    keys = jax.random.split(jax.random.key(0), seeds)

    def one(key):
        k_data, k_w, k_stream = jax.random.split(key, 3)
        x, _ = jnp.linalg.qr(jax.random.normal(k_data, (n, n), dtype=jnp.float64))
        w = INIT_SCALE / np.sqrt(n) * jax.random.normal(k_w, (n,), dtype=jnp.float64)
        return x, w, k_stream

    x, w, stream = jax.jit(jax.vmap(one))(keys)
    if data == "basis":
        x = jnp.eye(n, dtype=jnp.float64)
    return x, w, stream


def make_run(n, b, steps, sampler, mesh, shared_x):
    """Compiled: `steps` steps of every seed, returning the final w and key of each."""

    def one_seed(x, w, key):
        def body(carry, _):
            w, key, t = carry
            if sampler == "none":  # consecutive windows 0..b-1, b..2b-1, ... mod n; no draw
                batch = (t * b + jnp.arange(b)) % n
            else:
                key, sub = jax.random.split(key)
                batch = draw_batch(sub, n, b, sampler)
            return (sgd_step(x, w, batch, b), key, t + 1), None

        (w, key, _), _ = jax.lax.scan(body, (w, key, 0), None, length=steps)
        return w, key

    x_axis = None if shared_x else 0
    seeds_fn = jax.vmap(one_seed, in_axes=(x_axis, 0, 0))
    if mesh is not None:
        spec = P("seeds")
        seeds_fn = jax.shard_map(
            seeds_fn,
            mesh=mesh,
            in_specs=(P() if shared_x else spec, spec, spec),
            out_specs=(spec, spec),
        )
    return jax.jit(seeds_fn)


def compile_run(n, b, steps, sampler, mesh, state):
    t0 = time.perf_counter()
    shared_x = state[0].ndim == 2
    compiled = make_run(n, b, steps, sampler, mesh, shared_x).lower(*state).compile()
    return compiled, time.perf_counter() - t0


def timed(compiled, x, w, key):
    t0 = time.perf_counter()
    w, key = compiled(x, w, key)
    jax.block_until_ready((w, key))
    return w, key, time.perf_counter() - t0


def support(x, w):
    x, w = np.asarray(x), np.asarray(w)
    u = np.abs(w @ x if x.ndim == 2 else np.einsum("sdn,sd->sn", x, w))
    return (u > SUPPORT_THRESHOLD * u.max(axis=1, keepdims=True)).sum(axis=1)


def shard(mesh, x, w, keys):
    """Seeds split over the devices; shared data replicated."""
    if mesh is None:
        return x, w, keys
    split = jax.sharding.NamedSharding(mesh, P("seeds"))
    x = jax.device_put(x, jax.sharding.NamedSharding(mesh, P()) if x.ndim == 2 else split)
    return x, jax.device_put(w, split), jax.device_put(keys, split)


def sanity(n, mesh):
    """One line: a step against the NumPy formula; support 1 at b = 1 and dense at b = n."""
    x, w0, keys = shard(mesh, *init(ARGS.check_seeds, n, ARGS.data))
    # One step of seed 0 against the NumPy formula of numpy_step.py on the same batch, at b = 10
    # and b = n - 1 (a mask of the n - 1 drawn for --sampler floyd).
    xn, wn = np.asarray(x if x.ndim == 2 else x[0]), np.asarray(w0[0])
    err = 0.0
    for b in (min(10, n), n - 1):
        batch = np.asarray(draw_batch(jax.random.split(keys[0])[1], n, b, ARGS.sampler))
        idx = np.flatnonzero(batch) if batch.dtype == bool else batch
        assert len(set(idx.tolist())) == b
        xb = xn[:, idx]
        u = xb.T @ wn
        act = (u > 0).astype(float)
        sig = u * act
        a = sig * act * (wn @ wn) - act * u - sig
        want = wn - (ETA / b) * (xb @ a + np.sum(sig * sig) * wn)
        one, _ = compile_run(n, b, 1, ARGS.sampler, mesh, (x, w0, keys))[0](x, w0, keys)
        err = max(err, np.max(np.abs(np.asarray(one[0]) - want)))
    parts = [
        f"sanity ({ARGS.check_seeds} seeds): one step vs NumPy (b = 10, n - 1) max |diff| {err:.1e}"
    ]
    ok = err < 1e-15
    steps = ARGS.check_steps
    for b in (1, n):
        w, _ = compile_run(n, b, steps, ARGS.sampler, mesh, (x, w0, keys))[0](x, w0, keys)
        sup = support(x, w)
        norm = np.linalg.norm(np.asarray(w), axis=1)
        parts.append(
            f"b = {b} after {steps} steps: support {sup.min()}-{sup.max()}, "
            f"||w|| {norm.min():.6f}-{norm.max():.6f}"
        )
        ok &= bool(np.all(sup == 1)) if b == 1 else bool(sup.min() > 1)
    print("; ".join(parts) + (" -> OK" if ok else " -> FAILED"), flush=True)
    return ok


def main():
    n, seeds = ARGS.n, ARGS.seeds
    batches = [int(v) for v in ARGS.batch.split(",")]
    if seeds % ARGS.devices or ARGS.check_seeds % ARGS.devices:
        sys.exit("--seeds and --check-seeds must be multiples of --devices")
    devices = jax.devices()[: ARGS.devices]
    mesh = Mesh(np.array(devices), ("seeds",)) if ARGS.devices > 1 else None
    print(
        f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, numpy {np.__version__}, "
        f"{len(devices)} x {devices[0].platform} device(s), {os.cpu_count()} CPUs; "
        f"n = d = {n}, {ARGS.data} data, ReLU, eta = {ETA}, float64, {seeds} seeds, "
        f"batches by {ARGS.sampler}",
        flush=True,
    )
    if ARGS.no_check or ARGS.sampler == "none":
        ok = True
    else:
        ok = sanity(n, mesh)
    x, w0, keys = shard(mesh, *init(seeds, n, ARGS.data))

    for b in batches:
        steps = ARGS.steps
        if steps == 0:
            calib, _ = compile_run(n, b, 2_000, ARGS.sampler, mesh, (x, w0, keys))
            timed(calib, x, w0, keys)
            _, _, t = timed(calib, x, w0, keys)
            steps = max(1_000, int(round(2_000 * ARGS.target / t, -3)))
        compiled, compile_s = compile_run(n, b, steps, ARGS.sampler, mesh, (x, w0, keys))
        w, key, first = timed(compiled, x, w0, keys)
        times = []
        for _ in range(ARGS.repeats):
            w, key, t = timed(compiled, x, w, key)
            times.append(t)
        med, best = statistics.median(times), min(times)
        wn = np.asarray(w)
        subnormal = np.mean((wn != 0) & (np.abs(wn) < np.finfo(np.float64).tiny))
        print(
            f"b = {b:3d}: S = {steps} steps a repeat; compile {compile_s:.2f} s, first run "
            f"{first:.2f} s; repeats {', '.join(f'{t:.3f}' for t in times)} s; "
            f"run-steps/s median {seeds * steps / med:.3e}, best {seeds * steps / best:.3e} "
            f"({med / steps * 1e6 / seeds * 1e3:.1f} ns a run-step at the median; "
            f"subnormal coordinates at the end {subnormal:.0%})",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
