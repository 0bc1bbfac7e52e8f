"""Tests of the main job (iclcontrol.report / ``iclcontrol run``) on a tiny budget."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from iclcontrol.report import run_report

    out = tmp_path_factory.mktemp("run")
    messages: list[str] = []
    metrics = run_report(
        out=out, budget_s=3.0, hidden=8, steps=3, baseline=True, log=messages.append
    )
    return out, metrics, messages


def test_report_files_and_metrics(run_dir) -> None:
    out, metrics, messages = run_dir
    for name in (
        "report.md",
        "metrics.json",
        "config.json",
        "phase_plane.png",
        "solve_times.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert (out / "model").is_dir()
    on_disk = json.loads((out / "metrics.json").read_text())
    runs = on_disk["iclrnn_lmpc"]["runs"]
    assert set(runs) == {"x0=1.5,-70", "x0=-1.5,70"}
    for r in runs.values():
        assert r["steps"] == 3
        assert {"median_solve_ms", "steps_to_region", "fallbacks"} <= set(r)
    # the ratio is computed from the two medians written next to it
    ratio = (
        on_disk["iclrnn_lmpc"]["median_solve_ms"]
        / on_disk["dompc_nmpc"]["median_solve_ms"]
    )
    assert on_disk["ratio_iclrnn_to_dompc"] == pytest.approx(ratio)
    assert metrics["ratio_iclrnn_to_dompc"] == pytest.approx(ratio)
    assert on_disk["convexity"]["convex"] is False  # tracking cost + Lyapunov
    # train_seconds is the budgeted training loop (as in `iclcontrol train`), not
    # the whole fit with data preparation and certificate
    import iclcontrol

    saved = iclcontrol.load(out / "model").fit_info_
    model_m = on_disk["model"]
    assert model_m["train_seconds"] == pytest.approx(saved["train_seconds"])
    assert (
        model_m["epochs"]
        == saved["epochs"]
        == len(iclcontrol.load(out / "model").history_)
    )
    assert model_m["train_seconds"] <= model_m["fit_seconds"]
    # 3 steps cannot reach the setpoint region from either reference state (the
    # reference controllers need 12-14): said in words, not 'after never steps'
    reached = [m for m in messages if "setpoint region" in m]
    assert len(reached) == 2
    assert all("setpoint region not reached in 3 steps" in m for m in reached)
    assert not any("never" in m for m in messages)
    # nor 'never' in the report's table (3 steps say nothing about later ones)
    table = (out / "report.md").read_text()
    assert "| never |" not in table and "| not in 3 steps |" in table
    # progress was reported step by step
    assert any(m.startswith("[1/4]") for m in messages)
    assert any(m.startswith("[4/4]") for m in messages)


def test_report_markdown_links_existing_plots(run_dir) -> None:
    out, _, _ = run_dir
    text = (out / "report.md").read_text()
    assert "| ICLRNN LMPC |" in text and "| do-mpc NMPC |" in text
    import re

    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 4
    for link in links:
        assert (out / link).exists(), link


def test_report_states_the_whole_certificate(run_dir) -> None:
    """The certificate's reason is written out whole (it was cut at 400 characters
    of JSON, mid-word) next to its Lipschitz bound, both as in metrics.json."""
    out, _, _ = run_dir
    text = (out / "report.md").read_text()
    cert = json.loads((out / "metrics.json").read_text())["model"]["certificate"]
    verdict = "yes" if cert["convex"] else "no"
    assert f"convex: {verdict} ({cert['convexity_reason']})" in text
    assert f"{cert['lipschitz_upper']:.3g} (scaled units)" in text
    assert '{"kind"' not in text  # no raw JSON
    # the cost ratio is stated with the two costs it divides (metrics.json)
    m = json.loads((out / "metrics.json").read_text())
    lm, base = m["iclrnn_lmpc"]["closed_loop_cost"], m["dompc_nmpc"]["closed_loop_cost"]
    stated = f"ICLRNN {lm:.4g}, do-mpc {base:.4g} (ICLRNN / do-mpc {lm / base:.3f})"
    assert stated in text
    # each plot has a caption naming what it shows
    assert "States and inputs from (CA, T) = (1.5, -70):" in text
    assert "States and inputs from (CA, T) = (-1.5, 70):" in text


def test_report_describes_the_problem_it_was_given(tmp_path) -> None:
    """``iclcontrol run --horizon 1 --no-lyapunov`` wrote 'horizon 2 moves', 'soft
    constraint V(x_pred) <= V(x_now)' and 'cstr_dataset(moves=2)' regardless."""
    from iclcontrol.mpc.settings import MPCSettings
    from iclcontrol.report import run_report

    run_report(
        out=tmp_path,
        budget_s=1.0,
        hidden=4,
        steps=2,
        settings=MPCSettings(horizon=1, lyapunov=False),
        baseline=False,
        log=lambda _: None,
    )
    text = (tmp_path / "report.md").read_text()
    assert "`cstr_dataset(moves=1)`" in text
    assert "horizon 1 move (one network evaluation over the whole horizon)" in text
    assert "no Lyapunov constraint" in text
    assert "V(x_pred) <= V(x_now)" not in text
    assert "moves=2" not in text and "horizon 2" not in text
    # the reference weights (1000, 1) on (CA, T) and (1, 3e-10) on (CA0, Q)
    assert "cost 1 T^2 + 1000 CA^2" in text and "1 u1^2 + 3e-10 u2^2" in text
    assert "do-mpc NMPC" not in text  # baseline off


def test_report_records_the_bounds_of_both_controllers(run_dir) -> None:
    """metrics.json gives per run of the ICLRNN LMPC and of the do-mpc baseline
    the limits they had (null: unbounded; the CSTR's input box in deviations)."""
    out, _, _ = run_dir
    m = json.loads((out / "metrics.json").read_text())
    for key in ("iclrnn_lmpc", "dompc_nmpc"):
        for run in m[key]["runs"].values():
            b = run["bounds"]
            assert b["outputs"]["CA"] == {"lower": None, "upper": None, "max_excess": 0}
            assert (b["inputs"]["CA0"]["lower"], b["inputs"]["CA0"]["upper"]) == (
                -3.5,
                3.5,
            )
            assert (b["inputs"]["Q"]["lower"], b["inputs"]["Q"]["upper"]) == (
                -5e5,
                5e5,
            )
            assert b["inputs"]["Q"]["max_excess"] == 0  # inputs held in the box


def test_report_with_output_bounds_writes_them_as_json_and_words(tmp_path) -> None:
    """An upper bound on T only: config.json held Infinity for CA (not JSON);
    now null. The runs record it and the excess over it, read from the CSVs."""
    import pandas as pd

    from iclcontrol.mpc.settings import MPCSettings
    from iclcontrol.report import run_report

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in strict JSON")

    run_report(
        out=tmp_path,
        budget_s=1.0,
        hidden=4,
        steps=2,
        settings=MPCSettings(output_upper=(None, 30.0)),
        baseline=False,
        log=lambda _: None,
    )
    config = json.loads(
        (tmp_path / "config.json").read_text(), parse_constant=no_constants
    )
    assert config["mpc"]["output_upper"] == [None, 30.0]
    runs = json.loads((tmp_path / "metrics.json").read_text())["iclrnn_lmpc"]["runs"]
    frame = pd.read_csv(tmp_path / "closed_loop_iclrnn_lmpc_x0_1.5_m70.csv")
    t = runs["x0=1.5,-70"]["bounds"]["outputs"]["T"]
    assert (t["lower"], t["upper"]) == (None, 30.0)
    by_hand = max(float(frame["T"].iloc[1:].max()) - 30.0, 0.0)
    assert t["max_excess"] == pytest.approx(by_hand, abs=1e-12)
    text = (tmp_path / "report.md").read_text()
    assert "soft output bounds T <= 30" in text
