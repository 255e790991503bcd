"""Ctrl-C (KeyboardInterrupt) stops long work within moments, and a reproduction keeps the
runs that finished in its cache. SIGINT is sent to this process, as a terminal's Ctrl-C is."""

import faulthandler
import os
import pathlib
import signal
import threading

import pytest

import aesgd

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def watchdog():
    """An interrupt that does not work would leave these runs going for days: fail the whole
    session with a traceback after two minutes instead of hanging."""
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def ctrl_c_after():
    timers = []

    def start(seconds):
        timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
        timers.append(timer)
        timer.start()

    yield start
    # A timer that has not fired must not interrupt a later test.
    for timer in timers:
        timer.cancel()


# Runs that would take about 10^15 steps (days): only the interrupt can end them.
ENDLESS = dict(n=50, batch=49, seeds=2, tol=1e-300, max_steps=10**15, check_every=10**12)


def test_ctrl_c_stops_a_long_run(ctrl_c_after):
    ctrl_c_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        aesgd.run(**ENDLESS)


def test_ctrl_c_stops_a_trajectory(ctrl_c_after):
    ctrl_c_after(0.3)
    kwargs = {k: v for k, v in ENDLESS.items() if k != "seeds"}
    with pytest.raises(KeyboardInterrupt):
        aesgd.trajectory(**kwargs)


def test_an_exception_in_the_progress_callback_stops_the_runs():
    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop()

    with pytest.raises(Stop):
        aesgd.run(progress=progress, **ENDLESS)


def test_an_interrupted_reproduction_keeps_its_finished_runs(tmp_path):
    specs = ROOT / "repro"
    if not (specs / "expected-quick.json").is_file():
        pytest.skip(f"the aesgd repository's specs are not here (looked in {specs})")
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        aesgd.repro(specs=specs, out=tmp_path, quick=True, jobs=1, progress=progress)
    cached = len(list((tmp_path / "cache").glob("*.json")))
    assert cached >= 5
    # The next reproduction computes only what is missing, and its claims are the expected ones.
    result = aesgd.repro(specs=specs, out=tmp_path, quick=True, check=True)
    # It was stopped before the end, and what it had finished was kept.
    assert cached < result.runs
    assert result.computed == result.runs - cached
    assert result.differences == []
