"""A batch-size sweep from Python: the final support and the Hessian trace against b.

Run it with `python crates/python/examples/batch_sweep.py [out.png]`. It draws the figure with
matplotlib when matplotlib is installed; without it, it prints the table, skips the figure and
says so.
"""

import sys

import numpy as np

import aesgd

n = 20
batches = [1, 2, 5, 10, 15, 19, 20]
result = aesgd.run(activation="relu", n=n, batch=batches, seeds=8)
c = result.columns
converged = c["outcome"] == "converged"

print(f"{'b':>3} {'runs':>4} {'support (mean)':>15} {'single point':>12} {'tr H at limit':>14}")
rows = []
for b in batches:
    at = (c["batch"] == b) & converged
    support = c["support"][at]
    trace = c["hessian_trace_limit"][at]
    rows.append((b, support.mean(), trace.mean()))
    print(f"{b:>3} {at.sum():>4} {support.mean():>15.2f} {np.mean(support == 1):>12.2f} {trace.mean():>14.4f}")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: the figure is skipped (pip install matplotlib to draw it)")
    sys.exit(0)

out = sys.argv[1] if len(sys.argv) > 1 else "batch_sweep.png"
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
b, support, trace = map(np.array, zip(*rows))
left.plot(b, support, "o-")
left.set(xlabel="batch size b", ylabel="final support (mean of 8 seeds)", yscale="log")
right.plot(b, trace, "o-", label="measured")
# Theory: at a minimum with |A| active points tr H = (d + 4 - |A|) / n (d = n here).
right.plot(b, (n + 4 - support) / n, "k--", label="(d + 4 - support) / n")
right.set(xlabel="batch size b", ylabel="Hessian trace at the limit")
right.legend()
fig.tight_layout()
fig.savefig(out, dpi=120)
print(f"wrote {out}")
