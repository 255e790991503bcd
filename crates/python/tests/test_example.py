"""The example script runs: with matplotlib it writes its figure, without it says it skipped it."""

import importlib.util
import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "batch_sweep.py"


def test_the_example_runs(tmp_path):
    out = tmp_path / "sweep.png"
    done = subprocess.run([sys.executable, str(EXAMPLE), str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "  1 " in done.stdout  # the table's b = 1 row
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed: the figure is skipped" in done.stdout
        assert not out.exists()
    else:
        assert out.stat().st_size > 0
