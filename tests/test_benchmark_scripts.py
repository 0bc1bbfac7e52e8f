"""Benchmark scripts print what a script reading them expects (no heavy work here)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weather_forecast_value_prints_one_json_object_on_stdout(monkeypatch, capsys):
    """Several sigmas: stdout is exactly one JSON line holding every sigma's run;
    the per-sigma progress goes to stderr (it used to be JSON lines on stdout)."""
    script = _load_script("weather_forecast_value")
    index = pd.date_range("2020-06-01", periods=48, freq="1h", tz="Etc/GMT+5")
    base = SimpleNamespace(frame=pd.DataFrame(index=index))
    calls = []

    def fake_operate(data, **kwargs):
        calls.append(kwargs.get("future_covariates"))
        costs = {"perfect": 1.0, "persistence": 3.0, "forecast": 2.0}
        return {
            "gap_closed_by": {"forecast": 0.5, "persistence": 0.0, "perfect": 1.0},
            "gap_closed_interval": {"forecast": [0.4, 0.6]},
            "costs": costs,
        }

    monkeypatch.setattr(script, "prepare", lambda site: (base, {}))
    monkeypatch.setattr(
        script, "daily_clearness", lambda data: pd.Series(0.5, index=index)
    )
    monkeypatch.setattr(script, "with_forecast", lambda data, sigma: data)
    monkeypatch.setattr(script, "run_operate", fake_operate)
    monkeypatch.setattr(
        sys, "argv", ["weather_forecast_value.py", "--sigmas", "none,0,0.1"]
    )
    assert script.main() == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1, captured.out
    report = json.loads(lines[0])
    assert list(report["runs"]) == ["none", "0", "0.1"]
    assert report["runs"]["0.1"]["gap_closed_by"]["forecast"] == 0.5
    assert calls == [None, ("forecast_clearness",), ("forecast_clearness",)]
    # progress: a start and an end line per sigma, on stderr
    progress = captured.err.strip().splitlines()
    assert len(progress) == 6
    assert "sigma=0.1 (3/3)" in progress[-1] and "50.0%" in progress[-1]


def test_bench_solar_help_names_the_file_it_writes(monkeypatch, capsys):
    """``--out``'s help named solar_bench.json; the script writes bench_solar.json."""
    script = _load_script("bench_solar")
    monkeypatch.setattr(sys, "argv", ["bench_solar.py", "--help"])
    try:
        script.main()
    except SystemExit as done:
        assert done.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "folder for bench_solar.json and the dispatch traces" in text
    assert script.RESULT_FILE == "bench_solar.json"


def test_bench_paths_compares_two_code_trees_and_their_results(tmp_path):
    """bench_paths runs a snippet alternately on two PYTHONPATHs, keeps each side's
    fastest run and flags results that differ (here two fake packages)."""
    script = _load_script("bench_paths")
    for name, digest in (("ref", "a"), ("new", "b")):
        package = tmp_path / name / "fakepkg"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f"DIGEST = {digest!r}\n")
    code = (
        "import json, fakepkg\n"
        "print(json.dumps({'seconds': 2.0 if fakepkg.DIGEST == 'a' else 0.5,"
        " 'digest': fakepkg.DIGEST, 'calls': 3}))"
    )
    out = script.compare(code, str(tmp_path / "ref"), str(tmp_path / "new"), 2)
    assert out["ref_s"] == 2.0 and out["new_s"] == 0.5 and out["speedup"] == 4.0
    assert out["same_results"] is False
    assert out["calls_ref"] == out["calls_new"] == 3
    same = script.compare(code, str(tmp_path / "ref"), str(tmp_path / "ref"), 1)
    assert same["same_results"] is True and same["speedup"] == 1.0
