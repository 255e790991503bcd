"""aesgd.repro runs the same experiment library as `cargo xtask repro`: its quick claims equal
the committed repro/expected-quick.json, and it writes the same files."""

import json
import pathlib

import pytest

import aesgd

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPECS = ROOT / "repro"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    if not (SPECS / "expected-quick.json").is_file():
        pytest.skip(f"the aesgd repository's specs are not here (looked in {SPECS})")
    out = tmp_path_factory.mktemp("repro-quick")
    seen = []
    result = aesgd.repro(specs=SPECS, out=out, quick=True, check=True, progress=lambda d, t: seen.append((d, t)))
    return result, out, seen


def test_quick_claims_equal_the_committed_expectation(quick):
    result, out, _ = quick
    expected = json.loads((SPECS / "expected-quick.json").read_text())
    assert [c.raw for c in result.claims] == expected["claims"]
    assert result.differences == []
    # The failures are exactly the committed ones (the quick run's 8 seeds cannot hold the
    # time-to-sparsity law to 15%, and expected-quick.json records that).
    assert result.failed == [c["id"] for c in expected["claims"] if c["pass"] is False]
    # The claims file written is the committed one, byte for byte.
    assert (out / "claims.json").read_text() == (SPECS / "expected-quick.json").read_text()
    assert (out / "REPORT.md").is_file() and any((out / "figures").glob("*.svg"))


def test_claims_are_python_objects_with_intervals_and_seeds(quick):
    result, _, _ = quick
    claim = result["claim1-convergence"]
    assert claim.kind == "claim" and claim.verdict == "pass"
    judged = [r for r in claim.results if r.estimate is not None]
    assert judged
    for r in judged:
        assert r.lower <= r.estimate <= r.upper
        assert r.seeds >= 1 and r.level == 0.95


def test_a_second_reproduction_reads_every_run_from_the_cache(quick):
    result, out, seen = quick
    assert result.computed == result.runs > 0
    assert seen and seen[-1] == (result.runs, result.runs)
    again = aesgd.repro(specs=SPECS, out=out, quick=True)
    assert again.computed == 0
    assert [c.raw for c in again.claims] == [c.raw for c in result.claims]


def test_bad_arguments_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"^invalid only no-such-claim: known experiments are claim1-convergence, "):
        aesgd.repro(specs=SPECS, out=tmp_path / "x", only=["no-such-claim"])
    with pytest.raises(ValueError, match=r"^invalid jobs 0"):
        aesgd.repro(specs=SPECS, out=tmp_path / "y", jobs=0)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_load_spec_reads_a_spec_and_names_errors(tmp_path):
    spec = aesgd.load_spec(SPECS / "claim1-convergence.toml")
    assert spec["id"] == "claim1-convergence" and spec["kind"] == "claim"
    assert spec["points"] and {"config", "seed", "seeds", "recording"} <= spec["points"][0].keys()
    assert len(spec["quick_points"]) <= len(spec["points"])
    bad = tmp_path / "bad.toml"
    bad.write_text((SPECS / "claim1-convergence.toml").read_text().replace("seeds = 32", "seeds = 32\nwidth = 3", 1))
    with pytest.raises(ValueError, match=r"sweep\[0\]\.width"):
        aesgd.load_spec(bad)
    with pytest.raises(FileNotFoundError):
        aesgd.load_spec(tmp_path / "missing.toml")
