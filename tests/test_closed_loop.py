"""Tests of closed_loop, its metrics, the do-mpc baseline, plots and the mpc CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from iclcontrol.mpc import (
    DoMPCController,
    MPCSettings,
    SurrogateMPC,
    closed_loop,
    closed_loop_cost,
    steps_to_region,
    summarize,
)
from plants.cstr import CSTR

JSON_KEYS = {
    "median_solve_ms",
    "p95_solve_ms",
    "max_solve_ms",
    "median_iterations",
    "steps_to_region",
    "final_state",
    "closed_loop_cost",
    "fallbacks",
}


@pytest.fixture(scope="module")
def model(tiny_iclrnn_two_moves):
    return tiny_iclrnn_two_moves


def test_steps_to_region_and_cost_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "CA": [1.0, 0.05, 0.5, 0.0, 0.01],
            "T": [10.0, 1.0, 0.0, 0.0, -1.0],
            "CA0": [1.0, -1.0, 0.0, 2.0, np.nan],
            "Q": [1e5, 0.0, 0.0, 0.0, np.nan],
        }
    )
    frame["in_setpoint_region"] = CSTR.in_setpoint_region(frame[["CA", "T"]])
    # inside at k=1, leaves at k=2 (CA=0.5), inside from k=3 on
    assert steps_to_region(frame) == 3
    # states k=1..4, inputs k=0..3: 1000*(0.05^2+0.5^2+0+0.01^2) + (1+0+0+1)
    # + (1+1+0+4) + 3e-10*1e10
    expected = 1000 * (0.0025 + 0.25 + 0.0001) + 2.0 + 6.0 + 3.0
    assert closed_loop_cost(frame) == pytest.approx(expected, rel=1e-12)
    frame.loc[4, "in_setpoint_region"] = False
    assert steps_to_region(frame) is None


def test_do_mpc_baseline_reaches_setpoint_region() -> None:
    """First-principles NMPC (exact model): in the region well within 30 steps."""
    plant = CSTR()
    ctl = DoMPCController(plant, MPCSettings())
    frame = closed_loop(plant, ctl, [1.5, -70.0], 25)
    m = summarize(frame, plant)
    assert m["fallbacks"] == 0
    assert m["steps_to_region"] is not None and m["steps_to_region"] <= 20
    # the reference Lyapunov constraint holds on the plant up to collocation error
    V = frame["lyapunov"].to_numpy()
    assert np.all(np.diff(V[:10]) <= 1e-3 * V[:9] + 1e-6)


def test_short_surrogate_closed_loop(model) -> None:
    plant = CSTR()
    ctl = SurrogateMPC(model, plant, MPCSettings())
    seen = []
    frame = closed_loop(
        plant,
        ctl,
        [-1.5, 70.0],
        4,
        noise=(0.0, 0.1),
        callback=lambda k, r: seen.append(k),
    )
    assert seen == [0, 1, 2, 3]
    assert len(frame) == 5 and frame["k"].tolist() == [0, 1, 2, 3, 4]
    for col in ("t", "CA", "T", "CA0", "Q", "solve_ms", "iterations", "fallback"):
        assert col in frame
    u = frame[["CA0", "Q"]].to_numpy()[:-1]
    assert np.all(u >= plant.input_lower - 1e-9) and np.all(
        u <= plant.input_upper + 1e-9
    )
    # the plant state really follows the applied inputs
    x1 = plant.step(np.array([-1.5, 70.0]), u[0])[0]
    np.testing.assert_allclose(frame.loc[1, ["CA", "T"]].to_numpy(float), x1)
    m = summarize(frame, plant)
    assert JSON_KEYS <= set(m)
    assert m["fallbacks"] == int(frame["fallback"].iloc[:-1].sum())
    assert m["max_solve_ms"] >= m["p95_solve_ms"] >= m["median_solve_ms"] > 0


def test_closed_loop_rejects_bad_steps(model) -> None:
    from iclcontrol.exceptions import ConfigError

    with pytest.raises(ConfigError):
        closed_loop(CSTR(), SurrogateMPC(model, CSTR()), [0.0, 0.0], 0)


def test_plots_write_files(tmp_path, model) -> None:
    from iclcontrol.mpc.plots import (
        plot_phase_plane,
        plot_solve_times,
        plot_time_series,
    )

    plant = CSTR()
    frame = closed_loop(plant, SurrogateMPC(model, plant), [0.5, -20.0], 3)
    plot_time_series({"a": frame}, path=tmp_path / "ts.png")
    plot_phase_plane({"a": frame}, path=tmp_path / "pp.png")
    plot_solve_times({"a": frame["solve_ms"].dropna()}, path=tmp_path / "st.png")
    for name in ("ts.png", "pp.png", "st.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_cli_mpc_json_with_negative_x0(tmp_path, model, capsys) -> None:
    from iclcontrol.cli import main

    model.save(tmp_path / "model")
    code = main(
        [
            "mpc",
            "--model",
            str(tmp_path / "model"),
            "--plant",
            "cstr",
            "--x0=-1.5,70",
            "--steps",
            "3",
            "--out",
            str(tmp_path / "out"),
            "--json",
        ]
    )
    assert code == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    payload = json.loads(last)
    assert JSON_KEYS <= set(payload)
    assert (tmp_path / "out" / "closed_loop.csv").exists()
    frame = pd.read_csv(tmp_path / "out" / "closed_loop.csv")
    assert frame.loc[0, "CA"] == -1.5 and frame.loc[0, "T"] == 70.0
    np.testing.assert_allclose(payload["final_state"], frame[["CA", "T"]].iloc[-1])


def test_cli_mpc_bad_x0_is_a_user_error(tmp_path, model, capsys) -> None:
    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    code = main(["mpc", "--model", str(tmp_path / "m"), "--x0=1.5", "--steps", "2"])
    assert code == 2
    assert "--x0" in capsys.readouterr().err


def test_ipopt_on_smoothed_relu_closed_loop_has_no_failures(model) -> None:
    """IPOPT (exact Hessian of the softplus-smoothed ICLRNN) never fails in a loop.

    On the exact ReLU network IPOPT can cycle at a kink until its iteration limit
    (one failure in this loop with this model when measured); on the smoothed
    network every solve must converge, and the closed loop must match gn_sqp's.
    """
    plant = CSTR()
    ref = closed_loop(
        plant, SurrogateMPC(model, plant, MPCSettings()), [1.5, -70.0], 15
    )
    ctl = SurrogateMPC(model, plant, MPCSettings(solver="ipopt"))  # default: smoothed
    assert ctl.solver.relu_smoothing == pytest.approx(1e-3)
    frame = closed_loop(plant, ctl, [1.5, -70.0], 15)
    solved = frame.iloc[:-1]
    assert solved["success"].all(), solved["status"].tolist()
    assert not solved["fallback"].any()
    assert set(solved["status"]) <= {"Solve_Succeeded", "Solved_To_Acceptable_Level"}
    assert (solved["iterations"] < 5 * ctl.settings.max_iter).all()
    cost, ref_cost = closed_loop_cost(frame), closed_loop_cost(ref)
    assert abs(cost - ref_cost) <= 0.1 * ref_cost


class _Constant:
    """A controller that always applies the same input."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=float)

    def reset(self, x0=None):
        pass

    def step(self, x):
        from iclcontrol.mpc.controller import StepResult

        return StepResult(self.u.copy(), True, "constant", 0, 0.0, 0.0)


def test_x0_is_validated_before_the_loop() -> None:
    from iclcontrol.exceptions import DataError, IclControlWarning

    plant = CSTR()
    ctl = _Constant([0.0, 0.0])
    # absolute concentration 1.9537 - 3 < 0: not a state of the reactor
    with pytest.raises(DataError, match=r"CA=-3 < -1.9537"):
        closed_loop(plant, ctl, [-3.0, 150.0], 2)
    with pytest.raises(DataError, match="NaN"):
        closed_loop(plant, ctl, [np.nan, 0.0], 2)
    # V = 1060*1.9^2 - 2*22*1.9*150 + 0.52*150^2 = 3826.6 - 12540 + 11700 = 2986.6
    with pytest.warns(IclControlWarning, match=r"V\(x0\)=2987 > 372"):
        closed_loop(plant, ctl, [-1.9, 150.0], 1)


def test_plant_divergence_stops_the_loop_naming_the_step() -> None:
    import warnings

    from iclcontrol.exceptions import IclControlWarning, SimulationError

    plant = CSTR()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow noise
        warnings.simplefilter("ignore", IclControlWarning)
        with pytest.raises(SimulationError, match=r"diverged at step 1 of 5") as err:
            closed_loop(plant, _Constant([3.5, 5e5]), [3.0, 1000.0], 5)
    frame = err.value.frame
    assert len(frame) == 2 and frame.loc[0, "CA"] == 3.0
    # the simulator's own diagnosis (explicit Euler unstable there) is kept
    assert "method='cvodes'" in str(err.value)
    assert not np.isfinite(frame.loc[1, "CA"])


def test_noise_is_validated() -> None:
    from iclcontrol.exceptions import ConfigError, DimensionError

    plant = CSTR()
    with pytest.raises(DimensionError, match="one half-width per state"):
        closed_loop(plant, _Constant([0, 0]), [0.1, 1.0], 2, noise=[0.01, 1, 3])
    with pytest.raises(ConfigError, match=">= 0"):
        closed_loop(plant, _Constant([0, 0]), [0.1, 1.0], 2, noise=[-0.01, -1])
    frame = closed_loop(plant, _Constant([0, 0]), [0.1, 1.0], 2, noise=0.01)
    assert len(frame) == 3


def test_cli_mpc_records_the_run_and_warns_on_failed_solves(
    tmp_path, model, capsys, monkeypatch
) -> None:
    from iclcontrol.cli import main
    from iclcontrol.mpc import solvers

    model.save(tmp_path / "m")

    def failing(self, v0, p, lam0=None):
        return solvers.SolveResult(v0, False, "forced", 1, np.nan, 0.0, 0.1, None)

    monkeypatch.setattr(solvers.GaussNewtonSQP, "solve", failing)
    args = ["mpc", "--model", str(tmp_path / "m"), "--x0=1.5,-70", "--steps", "3"]
    code = main(
        [
            *args,
            "--relu-smoothing",
            "0.01",
            "--prediction",
            "rollout",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    assert code == 0  # a completed run, with failures
    cap = capsys.readouterr()
    assert "note: --relu-smoothing applies to --solver ipopt/sqpmethod only" in cap.err
    assert "warning: 3 of 3 solves failed ({'forced': 3})" in cap.err
    payload = json.loads(cap.out.strip().splitlines()[-1])
    assert payload["failed_solves"] == 3 and payload["fallbacks"] == 3
    assert payload["run"]["model"] == str(tmp_path / "m")
    assert payload["run"]["x0"] == [1.5, -70.0]
    assert payload["run"]["solver"] == "gn_sqp" and payload["run"]["steps"] == 3
    assert payload["run"]["prediction"] == "rollout" and payload["run"]["horizon"] == 2
    # rollout is not convex: the reason comes with the flag
    assert payload["convex"] is False and "rollout" in payload["convexity_reason"]
    assert any("solves failed" in w for w in payload["warnings"])
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["run"] == payload["run"] and metrics["settings"]["horizon"] == 2
    main([*args, "--horizon", "3"])  # text output
    cap = capsys.readouterr()
    assert "failed solves 3 of 3" in cap.out
    assert "trained on 20-step sequences" in cap.err


def test_cli_mpc_checks_out_and_x0_before_any_work(tmp_path, capsys) -> None:
    from iclcontrol.cli import main

    afile = tmp_path / "afile"
    afile.write_text("x")
    # the model does not exist: the --out check comes first, before loading
    code = main(
        ["mpc", "--model", str(tmp_path / "none"), "--x0=1.5,-70", "--out", str(afile)]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "existing file" in err[0]
    code = main(["mpc", "--model", str(tmp_path / "none"), "--x0=-3,150"])
    assert code == 2
    assert "outside the valid states" in capsys.readouterr().err


def test_cli_mpc_divergence_writes_what_was_computed(
    tmp_path, model, capsys, monkeypatch
) -> None:
    from iclcontrol.cli import main
    from iclcontrol.mpc import controller

    model.save(tmp_path / "m")
    monkeypatch.setattr(
        controller.SurrogateMPC, "step", lambda self, x: _Constant([3.5, 5e5]).step(x)
    )
    code = main(
        [
            "mpc",
            "--model",
            str(tmp_path / "m"),
            "--x0=3,1000",
            "--steps",
            "4",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "V(x0)=" in err  # the stability-region warning came first
    assert "diverged at step 1 of 4" in err.strip().splitlines()[-1]
    # the fix is named as a flag, not only as CSTR(method='cvodes')
    assert "--plant-method cvodes" in err.strip().splitlines()[-1]
    frame = pd.read_csv(tmp_path / "o" / "closed_loop.csv")
    assert len(frame) == 2
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["completed"] is False and "diverged" in metrics["error"]


def test_plot_axes_say_deviation_and_units() -> None:
    """The CSTR's columns are deviations (x = CA - CAs, ...): every axis says so,
    with its unit, and the shaded setpoint band is in the legend."""
    import pandas as pd

    from iclcontrol.mpc.plots import plot_phase_plane, plot_time_series

    frame = pd.DataFrame(
        {
            "t": [0.0, 0.005, 0.01],
            "CA": [1.5, 1.4, 1.3],
            "T": [-70.0, -60.0, -50.0],
            "CA0": [-3.5, -3.5, -3.5],
            "Q": [5e5, 5e5, 4e5],
        }
    )
    fig = plot_time_series({"run": frame}, title="from (1.5, -70)")
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == [
        "CA - CAs [kmol/m^3]",
        "T - Ts [K]",
        "CA0 - CA0s [kmol/m^3]",
        "Q - Qs [kJ/h]",
    ]
    assert fig.axes[-1].get_xlabel() == "time [h]"
    assert fig._suptitle.get_text() == "from (1.5, -70)"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["run", "setpoint region"]
    fig = plot_phase_plane({"run": frame})
    assert fig.axes[0].get_xlabel() == "CA - CAs [kmol/m^3]"
    assert fig.axes[0].get_ylabel() == "T - Ts [K]"
    absolute = plot_time_series({"run": frame}, deviation=False)
    assert absolute.axes[1].get_ylabel() == "T [K]"


def test_cli_mpc_summary_says_region_not_reached(tmp_path, model, capsys) -> None:
    """Two steps from (-1.5, 70) cannot reach the setpoint region: the summary
    says so in words (it printed 'steps to region None')."""
    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    code = main(["mpc", "--model", str(tmp_path / "m"), "--x0=-1.5,70", "--steps", "2"])
    assert code == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "steps to the setpoint region not reached" in last
    assert "None" not in last


def test_cli_certify_prints_bounds_with_four_digits(tmp_path, model, capsys) -> None:
    """``iclcontrol certify RUN`` printed 'Lipschitz <= 29.045796947043193'."""
    import re

    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    assert main(["certify", str(tmp_path / "m"), "--midpoint", "0"]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if "Lipschitz <=" in s)
    upper = re.search(r"Lipschitz <= (\S+) ", line).group(1)
    lower = re.search(r"empirical >= (\S+)$", line).group(1)
    for text in (upper, lower):
        digits = text.split("e")[0].replace(".", "").lstrip("0")
        assert len(digits) <= 4, text
    assert float(upper) == pytest.approx(model.certificate_.lipschitz_upper, rel=1e-3)


class _Scripted:
    """A controller replaying given statuses and constraint violations."""

    def __init__(self, statuses, violations):
        self.rows = list(zip(statuses, violations, strict=True))

    def reset(self, x0=None):
        self.k = 0

    def step(self, x):
        from iclcontrol.mpc.controller import StepResult

        status, violation = self.rows[self.k]
        self.k += 1
        return StepResult(
            np.zeros(2), True, status, 1, 0.0, 0.0, max_violation=violation
        )


def test_summary_reports_statuses_and_the_largest_accepted_violation() -> None:
    """A script reading ``mpc --json`` could not see soft-constraint violations
    (every step 'succeeded') nor which statuses the solver ended with."""
    ctl = _Scripted(["converged", "converged_no_decrease", "converged"], [0, 0.5, 0.2])
    m = summarize(closed_loop(CSTR(), ctl, [0.1, 1.0], 3), CSTR())
    assert m["status_counts"] == {"converged": 2, "converged_no_decrease": 1}
    assert m["max_violation"] == 0.5 and m["failed_solves"] == 0
    json.dumps(m)  # plain JSON
    ctl = _Scripted(["a", "b"], [np.nan, np.nan])  # no violation reported at all
    assert summarize(closed_loop(CSTR(), ctl, [0.1, 1.0], 2))["max_violation"] is None


def test_unreachable_soft_bound_shows_in_the_summary(model) -> None:
    """CA >= 5 kmol/m^3 (deviation) is out of reach in one period from CA = 1.5:
    dCA/dt <= F/V (CA0s + 3.5 - CA) = 5 * (7.5 - 3.45) = 20 kmol/(m^3 h), so CA
    rises by at most 0.1 in 0.005 h, and the training data never went above
    CA = 2.1. The soft rows stay violated although every solve succeeds."""
    plant = CSTR()
    ctl = SurrogateMPC(
        model, plant, output_lower=(5.0, -1000.0), horizon=1, lyapunov=False
    )
    m = summarize(closed_loop(plant, ctl, [1.5, -70.0], 2), plant)
    assert m["failed_solves"] == 0 and m["max_violation"] > 0


@pytest.mark.parametrize("soft", [True, False])
def test_do_mpc_baseline_applies_the_state_bounds(soft) -> None:
    """output_lower/output_upper were silently ignored by the baseline, so a
    comparison with a bounded surrogate MPC compared different problems."""
    plant = CSTR()
    free = closed_loop(plant, DoMPCController(plant), [1.5, -70.0], 12)
    assert free["CA"].min() < 0.3  # the unbounded NMPC drives CA well below 0.5
    settings = MPCSettings(output_lower=(0.5, -1000.0), soft_constraints=soft)
    bounded = closed_loop(plant, DoMPCController(plant, settings), [1.5, -70.0], 12)
    assert bounded["success"].iloc[:-1].all()
    # do-mpc reports no constraint violations: unknown (None), not 0 (= all met)
    assert summarize(bounded, plant)["max_violation"] is None
    # on the plant (the NMPC model is exact up to collocation error)
    assert bounded["CA"].min() >= 0.5 - 1e-3


def test_do_mpc_baseline_warns_about_settings_it_ignores() -> None:
    from iclcontrol.exceptions import IclControlWarning

    with pytest.warns(
        IclControlWarning, match="ignores rate_limits, rate_weight"
    ) as rec:
        DoMPCController(CSTR(), MPCSettings(rate_limits=(1.0, 1e5), rate_weight=0.1))
    ours = [str(w.message) for w in rec if issubclass(w.category, IclControlWarning)]
    assert len(ours) == 1
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always", IclControlWarning)
        DoMPCController(CSTR(), MPCSettings())
    assert not [w for w in quiet if issubclass(w.category, IclControlWarning)]


def test_do_mpc_baseline_refuses_bad_measurements_like_the_surrogate_mpc() -> None:
    """Was numpy's matmul error (3 entries) and a silent IPOPT failure with CasADi
    NaN warnings (NaN); now the errors SurrogateMPC.step raises."""
    from iclcontrol.exceptions import DataError, DimensionError

    ctl = DoMPCController(CSTR())
    with pytest.raises(DimensionError, match=r"2 entries \('CA', 'T'\), got 3"):
        ctl.step([1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="NaN"):
        ctl.step([np.nan, 0.0])


def test_time_series_marks_fallback_inputs() -> None:
    """A fallback input (failed solve) looked like any other in the plot."""
    from iclcontrol.mpc.plots import plot_time_series

    frame = pd.DataFrame(
        {
            "t": [0.0, 0.005, 0.01],
            "CA": [1.5, 1.4, 1.3],
            "T": [-70.0, -60.0, -50.0],
            "CA0": [-3.5, 0.0, np.nan],
            "Q": [5e5, 0.0, np.nan],
            "fallback": [False, True, np.nan],
        }
    )
    fig = plot_time_series({"run": frame})
    for ax in fig.axes[2:]:  # the two input axes
        marks = [ln for ln in ax.get_lines() if "fallback" in ln.get_label()]
        assert len(marks) == 1 and marks[0].get_label() == "run: fallback input"
        assert list(marks[0].get_xdata()) == [0.005]
    for ax in fig.axes[:2]:  # states: no fallback marks
        assert not [ln for ln in ax.get_lines() if "fallback" in ln.get_label()]
    # a run without fallbacks draws no marks
    fig = plot_time_series({"run": frame.assign(fallback=[False, False, np.nan])})
    assert not any(
        "fallback" in ln.get_label() for a in fig.axes for ln in a.get_lines()
    )


@pytest.fixture(scope="module")
def one_move_model(tmp_path_factory):
    """A tiny ICLRNN of one-move sequences (10 steps), the default of
    ``iclcontrol data cstr``, saved to a folder."""
    import torch

    from iclcontrol.data import cstr_dataset
    from iclcontrol.train import SurrogateModel

    torch.set_num_threads(1)
    ds = cstr_dataset(moves=1, n_grid=10, random_state=0)
    path = tmp_path_factory.mktemp("one_move") / "model"
    SurrogateModel(
        "iclrnn", hidden=8, layers=1, max_epochs=1, random_state=0, verbose=False
    ).fit(ds).save(path)
    return path


def test_tracking_metrics_by_hand() -> None:
    """Around the user's setpoint (0.5, 10) the state is in the region from k=1;
    around the origin (the published metric) never. Costs by hand."""
    from iclcontrol.mpc import tracking_metrics

    frame = pd.DataFrame(
        {
            "CA": [1.0, 0.55, 0.5, 0.45],
            "T": [10.0, 11.0, 10.0, 9.0],
            "CA0": [1.0, 0.0, 2.0, np.nan],
            "Q": [0.0, 1e5, 0.0, np.nan],
            "solve_ms": 1.0,
            "iterations": 1,
            "success": True,
            "status": "ok",
            "fallback": False,
            "max_violation": 0.0,
        }
    )
    frame["in_setpoint_region"] = CSTR.in_setpoint_region(frame[["CA", "T"]])
    settings = MPCSettings(
        state_setpoint=(0.5, 10.0),
        input_setpoint=(1.0, 0.0),
        state_weights=(100.0, 2.0),
        input_weights=(1.0, 1e-10),
    )
    m = summarize(frame, CSTR(), settings)
    assert m["steps_to_region"] is None  # the reference region, around the origin
    tr = tracking_metrics(frame, CSTR(), settings)
    assert m["tracking"] == tr
    assert tr["steps_to_setpoint_region"] == 1
    # states k=1..3 minus (0.5, 10): (0.05, 1), (0, 0), (-0.05, -1);
    # inputs k=0..2 minus (1, 0): (0, 0), (-1, 1e5), (1, 0)
    expected = 100 * (0.0025 + 0.0025) + 2 * (1 + 1) + (1 + 1) + 1e-10 * 1e10
    assert tr["cost"] == pytest.approx(expected, rel=1e-12)
    assert tr["state_setpoint"] == [0.5, 10.0]
    # the published cost keeps the reference weights and the origin
    reference = 1000 * (0.55**2 + 0.25 + 0.45**2) + 121 + 100 + 81 + 1 + 4 + 3
    assert m["closed_loop_cost"] == pytest.approx(reference, rel=1e-12)


def test_plots_centre_the_setpoint_region_on_the_setpoint() -> None:
    """A user's setpoint (0.5, 10): the band and ellipse were drawn around the
    origin and labelled 'setpoint region'."""
    from iclcontrol.mpc.plots import plot_phase_plane, plot_time_series

    frame = pd.DataFrame(
        {
            "t": [0.0, 0.005],
            "CA": [1.0, 0.6],
            "T": [-5.0, 8.0],
            "CA0": [0.0, np.nan],
            "Q": [0.0, np.nan],
        }
    )
    fig = plot_time_series({"run": frame}, setpoint=(0.5, 10.0))
    for ax, (lo, hi) in zip(fig.axes[:2], [(0.4, 0.6), (7.0, 13.0)], strict=True):
        (band,) = [p for p in ax.patches if p.get_label() == "setpoint region"]
        ys = band.get_path().transformed(band.get_patch_transform()).vertices[:, 1]
        np.testing.assert_allclose([ys.min(), ys.max()], [lo, hi], atol=1e-12)
    fig = plot_phase_plane({"run": frame}, setpoint=(0.5, 10.0))
    (ellipse,) = fig.axes[0].patches
    xy = ellipse.get_xy()
    np.testing.assert_allclose(
        [xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max()],
        [0.4, 0.6, 7.0, 13.0],
        atol=1e-4,
    )


def test_cli_mpc_takes_setpoint_weights_bounds_and_plant_method(
    tmp_path, model, capsys
) -> None:
    """A do-mpc user's settings from the command line: used, reported in --json
    and in metrics.json; the tracking metrics are relative to the setpoint."""
    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    code = main(
        [
            "mpc",
            "--model",
            str(tmp_path / "m"),
            "--x0=0.5,-20",
            "--steps",
            "2",
            "--setpoint=0.2,5",
            "--input-setpoint",
            "0.5,1e4",
            "--state-weights",
            "10,1",
            "--input-weights",
            "0,0",
            "--output-lower=-1,-30",
            "--output-upper",
            "1,30",
            "--plant-method",
            "rk4",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    assert code == 0
    cap = capsys.readouterr()
    payload = json.loads(cap.out.strip().splitlines()[-1])
    run = payload["run"]
    assert run["plant_method"] == "rk4"
    assert run["state_setpoint"] == [0.2, 5.0]
    assert run["input_setpoint"] == [0.5, 1e4]
    assert run["state_weights"] == [10.0, 1.0] and run["input_weights"] == [0.0, 0.0]
    assert run["output_lower"] == [-1.0, -30.0] and run["output_upper"] == [1.0, 30.0]
    settings = json.loads((tmp_path / "o" / "metrics.json").read_text())["settings"]
    assert settings["state_setpoint"] == [0.2, 5.0]
    assert settings["output_upper"] == [1.0, 30.0]
    # the Lyapunov constraint is centred at the origin: the warning names the flag
    assert "--no-lyapunov" in cap.err
    frame = pd.read_csv(tmp_path / "o" / "closed_loop.csv")
    x = frame[["CA", "T"]].to_numpy()
    u = frame[["CA0", "Q"]].to_numpy()[:-1]
    # the plant integrated with RK4, not the default Euler scheme
    rk4 = CSTR(method="rk4").step(x[0], u[0])[0]
    euler = CSTR().step(x[0], u[0])[0]
    np.testing.assert_allclose(x[1], rk4, rtol=1e-12, atol=1e-12)
    assert np.abs(x[1] - euler).max() > 1e-6
    # tracking cost by hand: states k=1..2 against the setpoint, inputs weighted 0
    by_hand = np.sum((x[1:] - [0.2, 5.0]) ** 2 * [10.0, 1.0])
    assert payload["tracking"]["cost"] == pytest.approx(by_hand, rel=1e-12)
    assert payload["closed_loop_cost"] != pytest.approx(by_hand)
    # the CSV says where the state was relative to the setpoint, too (its
    # in_setpoint_region column is the reference region around the origin)
    around = np.sum(((x - [0.2, 5.0]) / [0.1, 3.0]) ** 2, axis=1) <= 1.0
    assert frame["in_region_around_setpoint"].tolist() == around.tolist()


def test_cli_mpc_text_summary_names_the_region_it_measures(
    tmp_path, model, capsys
) -> None:
    """With a setpoint, 'steps to the setpoint region' was about the origin."""
    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    args = ["mpc", "--model", str(tmp_path / "m"), "--x0=0.5,-20", "--steps", "2"]
    assert main([*args, "--setpoint=0.2,5", "--no-lyapunov"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "steps to the region around the setpoint (0.2, 5)" in last
    assert "reference metrics (region around the steady state" in last
    assert main([*args, "--state-weights", "1,1"]) == 0  # own weights, origin
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "cost with these weights" in last and "reference metrics" in last


def test_cli_mpc_checks_the_new_options_before_any_work(tmp_path, capsys) -> None:
    """Bad values fail with the flag named, before the (missing) model is read."""
    from iclcontrol.cli import main

    base = ["mpc", "--model", str(tmp_path / "none"), "--x0=0.5,-20"]
    for extra, message in (
        (["--setpoint", "0.3"], "argument --setpoint: expected 2 comma-separated"),
        (["--state-weights=-1,1"], "argument --state-weights: each of CA,T must be"),
        (["--input-weights", "1,x"], "argument --input-weights: expected a number"),
        (["--plant-method", "bdf"], "argument --plant-method: invalid choice"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([*base, *extra])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    for extra, message in (
        (["--setpoint=-3,0"], "--setpoint -3,0 is not a physically valid state"),
        (
            ["--input-setpoint", "10,0"],
            "--input-setpoint is outside the plant's input bounds (CA0=10 kmol/m^3 "
            "not in [-3.5, 3.5]",
        ),
        (
            ["--output-lower", "1,0", "--output-upper", "0,5"],
            "--output-lower exceeds --output-upper (CA 1 > 0)",
        ),
    ):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]


def test_cli_mpc_default_horizon_fits_a_one_move_model(one_move_model, capsys) -> None:
    """`iclcontrol data cstr` (one move) + `iclcontrol mpc` defaults always warned
    that horizon 2 extrapolates the model; now the horizon defaults to the moves
    the model covers, and an explicit --horizon 2 gets a warning naming the
    command-line fixes."""
    from iclcontrol.cli import main

    args = ["mpc", "--model", str(one_move_model), "--x0=0.5,-20", "--steps", "1"]
    assert main([*args, "--json"]) == 0
    cap = capsys.readouterr()
    payload = json.loads(cap.out.strip().splitlines()[-1])
    assert payload["run"]["horizon"] == 1 and payload["warnings"] == []
    assert "note: horizon 1: the model was trained on 1-move sequences" in cap.err
    assert main([*args, "--horizon", "2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["run"]["horizon"] == 2
    (warning,) = payload["warnings"]
    for fix in (
        "--horizon 1",
        "--prediction rollout",
        "iclcontrol data cstr --moves 2",
    ):
        assert fix in warning
    # rollout runs the model one move at a time: horizon 2 by default, no warning
    assert main([*args, "--prediction", "rollout", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["run"]["horizon"] == 2 and payload["warnings"] == []


@pytest.mark.parametrize("soft", [True, False])
def test_do_mpc_baseline_leaves_a_free_output_unbounded(soft) -> None:
    """CA >= 0.5 with T free (None): do-mpc gets no T bound and the closed loop is
    the one with T >= -1000 K (never active), CA meets its bound on the plant."""
    plant = CSTR()
    runs = [
        closed_loop(
            plant,
            DoMPCController(
                plant, MPCSettings(output_lower=lower, soft_constraints=soft)
            ),
            [1.5, -70.0],
            6,
        )
        for lower in ((0.5, None), (0.5, -1000.0))
    ]
    assert runs[0]["success"].iloc[:-1].all()
    assert runs[0]["CA"].min() >= 0.5 - 1e-3
    np.testing.assert_allclose(
        runs[0][["CA", "T", "CA0", "Q"]].to_numpy(),
        runs[1][["CA", "T", "CA0", "Q"]].to_numpy(),
        rtol=1e-6,
        atol=1e-6,
    )


def test_cli_mpc_output_bounds_with_a_free_entry(tmp_path, model, capsys) -> None:
    """--output-upper=inf,-5 / --output-lower=,-30 bound T only; the JSON writes
    the free entries as null and the run folder's settings load back."""
    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    args = ["mpc", "--model", str(tmp_path / "m"), "--x0=0.5,-20", "--steps", "1"]
    out = tmp_path / "o"
    code = main(
        [
            *args,
            "--output-upper=inf,-5",
            "--output-lower=,-30",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    run = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run"]
    assert run["output_upper"] == [None, -5.0]
    assert run["output_lower"] == [None, -30.0]
    saved = json.loads((out / "metrics.json").read_text())["settings"]
    settings = MPCSettings.from_dict(saved)
    assert settings.output_upper == (np.inf, -5.0)
    assert settings.output_lower == (-np.inf, -30.0)
    # the opposite infinity is a usage error naming the flag
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--output-upper=-inf,5"])
    assert exit_info.value.code == 2
    assert "argument --output-upper: expected a number, an empty entry or inf" in (
        capsys.readouterr().err
    )


def test_cli_mpc_records_and_draws_the_bounds_it_ran_with(
    tmp_path, model, capsys
) -> None:
    """`iclcontrol mpc --json` and metrics.json give lower/upper per output and
    input (null for an unbounded side) and how far the plant went beyond them,
    so that a script can check violations; the plots of --out draw them."""
    from iclcontrol.cli import main

    model.save(tmp_path / "m")
    argv = ["mpc", "--model", str(tmp_path / "m"), "--x0=0.5,-20", "--steps", "3"]
    argv += ["--output-upper=,-15", "--output-lower=-1,-inf"]
    assert main([*argv, "--out", str(tmp_path / "o"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    bounds = payload["bounds"]
    assert bounds["outputs"]["CA"] == {
        "lower": -1.0,
        "upper": None,
        "max_excess": pytest.approx(0.0),
    }
    assert (bounds["outputs"]["T"]["lower"], bounds["outputs"]["T"]["upper"]) == (
        None,
        -15.0,
    )
    # the reference CSTR's input box, deviations [kmol/m^3, kJ/h]
    assert bounds["inputs"]["CA0"]["lower"] == -3.5
    assert bounds["inputs"]["CA0"]["upper"] == 3.5
    assert bounds["inputs"]["Q"]["lower"] == -5e5
    assert bounds["inputs"]["Q"]["upper"] == 5e5
    # the excess by hand from the closed-loop table: T - (-15) after x0
    frame = pd.read_csv(tmp_path / "o" / "closed_loop.csv")
    by_hand = max(float((frame["T"].iloc[1:] + 15.0).max()), 0.0)
    assert bounds["outputs"]["T"]["max_excess"] == pytest.approx(by_hand, abs=1e-12)
    on_disk = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert on_disk["bounds"] == json.loads(json.dumps(bounds))
    assert (tmp_path / "o" / "time_series.png").stat().st_size > 1000
