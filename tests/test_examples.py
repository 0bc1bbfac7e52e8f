"""Every example script runs to completion (slow: they train and solve for real)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
#: What each example's docstring says it writes into its output folder.
WRITES = {
    "cstr_open_loop": ["cstr_open_loop.png"],
    "cstr_mpc": ["cstr_mpc.png"],
    "own_plant_mpc": ["own_plant_mpc.png"],
    "do_mpc_export": ["do_mpc_steps.csv"],
    "casadi_own_problem": ["casadi_plan.csv", "surrogate.casadi"],
    "solar_forecast": [
        "forecast_days.png",
        "error_by_hour.png",
        "skill_by_horizon.png",
        "metrics.json",
        "forecaster/model.json",
        "forecaster/model.safetensors",
    ],
    "solar_plan": ["plan.json", "operate.json", "dispatch.png"],
}


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for name in WRITES[script.stem]:
        assert (tmp_path / name).is_file(), f"{script.name} did not write {name}"
    if script.stem == "cstr_mpc":
        # the summary is a sentence with units, not the raw dict
        assert "median solve" in done.stdout and " ms (p95 " in done.stdout
        assert "{'median_solve_ms'" not in done.stdout
    if script.stem == "solar_forecast":
        assert "loaded forecast identical: True" in done.stdout
    if script.stem == "solar_plan":
        import json

        plan = json.loads((tmp_path / "plan.json").read_text())
        op = json.loads((tmp_path / "operate.json").read_text())
        # the dispatch operates the battery that was sized
        assert op["battery"]["capacity_kwh"] == round(plan["kwh"], 1)
        # the day-ahead forecaster fills the leads beyond the 3-h one
        assert op["forecast_horizon_steps"] == 3
        assert op["forecasters"]["day_ahead"] is not None
        assert op["long_forecast_horizon_steps"] == op["dispatch_horizon_steps"] == 24
    if script.stem == "casadi_own_problem":
        # the user's own Opti problem on the smoothed export solves, and the
        # plan, checked on the exact network, has one row per period in bounds
        import pandas as pd

        assert "IPOPT: Solve_Succeeded" in done.stdout
        assert "saved Function gives the same numbers" in done.stdout
        plan = pd.read_csv(tmp_path / "casadi_plan.csv")
        assert len(plan) == 4
        assert plan["CA0 [kmol/m^3]"].abs().max() <= 3.5 * (1 + 1e-6)
        assert plan["Q [kJ/h]"].abs().max() <= 5e5 * (1 + 1e-6)
    if script.stem == "do_mpc_export":
        # the plant only gets inputs within its limits (IPOPT may end a hair
        # outside: 5e5 * (1 + 1e-8) kJ/h)
        import pandas as pd

        steps = pd.read_csv(tmp_path / "do_mpc_steps.csv")
        assert len(steps) == 5
        assert steps["CA0 [kmol/m^3]"].abs().max() <= 3.5
        assert steps["Q [kJ/h]"].abs().max() <= 5e5


def test_open_loop_example_legend_covers_no_data(tmp_path, monkeypatch):
    """examples/cstr_open_loop.py: the legend of its eight trajectories sat inside
    the CA axes, over the curves; it now lies outside both axes."""
    import runpy

    import matplotlib.pyplot as plt

    script = Path(__file__).parent.parent / "examples" / "cstr_open_loop.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path)])
    plt.close("all")
    runpy.run_path(str(script), run_name="__main__")
    fig = plt.gcf()
    assert (tmp_path / "cstr_open_loop.png").is_file()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + fig.legends
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    assert len(legends[0].get_texts()) == 8
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer))
    plt.close("all")
