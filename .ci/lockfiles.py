"""Checks that crates/python/Cargo.lock (the Python package is its own Cargo workspace) uses
the versions of the workspace's lockfile for every crate they share, so that the package computes
with the same code as the command line."""

import sys, tomllib
def versions(path):
    with open(path, "rb") as f:
        lock = tomllib.load(f)
    out = {}
    for p in lock["package"]:
        out.setdefault(p["name"], set()).add(p["version"])
    return out
root, python = versions("Cargo.lock"), versions("crates/python/Cargo.lock")
drift = {n: (sorted(root[n]), sorted(python[n])) for n in root.keys() & python.keys() if not root[n] <= python[n] and not n.startswith("aesgd")}
for n, (a, b) in sorted(drift.items()):
    print(f"{n}: workspace {', '.join(a)}, Python package {', '.join(b)}")
if drift:
    sys.exit("crates/python/Cargo.lock uses other versions of crates the workspace shares: "
             "run `cargo update --manifest-path crates/python/Cargo.toml -p NAME --precise VERSION`")
print(f"the Python package's lockfile agrees with the workspace's on {len(root.keys() & python.keys())} shared crates")
