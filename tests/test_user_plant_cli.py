"""A user's own plant on the command line: ``iclcontrol data plant --plant`` ->
``iclcontrol train`` -> ``iclcontrol mpc --plant``, with the plant named as
``path/to/file.py:Class`` or ``module:Class`` (plants.loader.load_plant), and the
errors of a wrong name (exit status 2, one line on stderr).

The plant is a heated tank written in tmp_path with only names, units, bounds,
period and rhs: ``dT/dt = 0.5 Q - 0.1 (T - 293.15)`` [K/h], whose exact step over
T_s = 0.1 h with Q held is ``T_inf + (T - T_inf) exp(-0.1 T_s)``, ``T_inf =
293.15 + 5 Q`` (by hand).
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from iclcontrol.cli import main
from iclcontrol.exceptions import ConfigError
from plants.loader import load_plant

PLANT_FILE = textwrap.dedent(
    """
    import numpy as np
    from plants.base import Plant


    class Tank(Plant):
        state_names, state_units = ("T",), ("K",)
        input_names, input_units = ("Q",), ("kW",)
        sampling_period = 0.1
        input_lower = property(lambda self: np.array([0.0]))
        input_upper = property(lambda self: np.array([10.0]))
        x_steady = property(lambda self: np.array([303.15]))
        u_steady = property(lambda self: np.array([2.0]))

        def rhs(self, x, u, backend=np):
            return 0.5 * u - 0.1 * (x - 293.15)


    class Level(Tank):
        state_names, state_units = ("h",), ("m",)


    class NeedsGain(Tank):
        def __init__(self, gain):
            self.gain = gain


    class NoRhs(Plant):
        state_names, state_units = ("T",), ("K",)


    def helper():
        return None
    """
)


def exact_step(temp: np.ndarray, q: np.ndarray) -> np.ndarray:
    t_inf = 293.15 + 5.0 * q
    return t_inf + (temp - t_inf) * np.exp(-0.1 * 0.1)


@pytest.fixture
def plant_file(tmp_path):
    path = tmp_path / "tankplant.py"
    path.write_text(PLANT_FILE)
    return path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _warnings_but_lyapunov(err: str) -> list[str]:
    """The warning lines of stderr other than the Tank's "defines no
    lyapunov_P" (the Tank has none, so every run says it)."""
    return [
        line
        for line in err.splitlines()
        if "warning" in line and "defines no lyapunov_P" not in line
    ]


def test_cli_data_train_mpc_on_a_plant_file(plant_file, tmp_path, capsys) -> None:
    """Was 'argument --plant: invalid choice' (cstr only) and no way to build a
    dataset for another plant from the command line."""
    spec = f"{plant_file}:Tank"
    data, model, out = tmp_path / "data", tmp_path / "model", tmp_path / "mpc"
    argv = ["data", "plant", "--plant", spec, "--x0-lower", "290"]
    argv += ["--x0-upper", "320", "--grid", "4", "--levels", "3", "--moves", "2"]
    assert main([*argv, "--out", str(data), "--json"]) == 0
    summary = _json(capsys)
    assert summary["n_samples"] == 4 * 3  # 4 initial states x 3 input levels
    assert summary["X_shape"] == [12, 2, 2] and summary["Y_shape"] == [12, 2, 1]
    assert summary["feature_names"] == ["T", "Q"]
    from iclcontrol.data import SequenceDataset

    ds = SequenceDataset.load(data)
    # the grid 290, 300, 310, 320 K, each with Q = 0, 5, 10 kW
    np.testing.assert_array_equal(ds.X[:, 0, 0], np.repeat([290, 300, 310, 320], 3))
    np.testing.assert_array_equal(ds.X[:, 0, 1], np.tile([0.0, 5.0, 10.0], 4))
    np.testing.assert_allclose(
        ds.Y[:, 0, 0], exact_step(ds.X[:, 0, 0], ds.X[:, 0, 1]), atol=1e-6
    )
    train = ["train", "--data", str(data), "--hidden", "4", "--max-epochs", "2"]
    assert main([*train, "--time-budget", "5", "--out", str(model), "--json"]) == 0
    capsys.readouterr()
    mpc = ["mpc", "--model", str(model), "--plant", spec, "--x0=295", "--steps", "3"]
    assert main([*mpc, "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["completed"] is True and result["steps"] == 3
    assert result["run"]["plant"] == spec and result["run"]["plant_method"] == "rk4"
    # defaults for a user's plant: its steady state, unit weights, no Lyapunov
    assert result["tracking"]["state_setpoint"] == [303.15]
    assert result["tracking"]["input_setpoint"] == [2.0]
    assert result["run"]["lyapunov"] is False
    assert "Tank defines no lyapunov_P" in captured.err
    # one record per period, the model's own (no --steps-per-move), no warning
    assert result["run"]["steps_per_move"] == 1 and result["run"]["horizon"] == 2
    assert _warnings_but_lyapunov(captured.err) == []
    frame = pd.read_csv(out / "closed_loop.csv")
    assert len(frame) == 4 and {"T", "Q"} <= set(frame.columns)
    # the loop ran the user's plant: each row is its exact step of the input
    temps, q = frame["T"].to_numpy(), frame["Q"].to_numpy()
    np.testing.assert_allclose(temps[1:], exact_step(temps[:-1], q[:-1]), atol=1e-6)
    assert (out / "time_series.png").is_file()
    assert not (out / "phase_plane.png").exists()  # one state: no phase plane
    # the same class as module:Class from sys.path, text output
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(plant_file.parent))
        assert main([*mpc[:4], "tankplant:Tank", *mpc[5:]]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "steps to the region around the setpoint (303.15)" in last
    # a model of the Tank's layout refused for another plant, before any step
    assert main(["mpc", "--model", str(model), "--plant", "cstr", "--x0=0,0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "MPC of CSTR needs a model whose features" in err[0]
    assert "expected 4 features ['CA', 'T', 'CA0', 'Q']" in err[0]
    level = ["mpc", "--model", str(model), "--plant", f"{plant_file}:Level", "--x0=1"]
    assert main(level) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MPC of Level" in err[0]
    assert "features ['T', 'Q'] (expected ['h', 'Q'])" in err[0]


def test_cli_mpc_takes_the_models_steps_per_move(plant_file, tmp_path, capsys):
    """`iclcontrol data plant --steps-per-move 2` then `iclcontrol mpc` without
    --steps-per-move read the model's two steps per period as two periods (the
    user's-plant default was 1): a 2-move horizon over one trained period. The
    model records 2 now and the MPC takes it (so one move, the trained one); a
    --steps-per-move that contradicts the model is an error naming both."""
    spec = f"{plant_file}:Tank"
    data, model = tmp_path / "data", tmp_path / "model"
    argv = ["data", "plant", "--plant", spec, "--x0-lower", "290", "--x0-upper"]
    argv += ["320", "--grid", "3", "--levels", "2", "--steps-per-move", "2"]
    assert main([*argv, "--out", str(data), "--json"]) == 0
    train = ["train", "--data", str(data), "--hidden", "4", "--max-epochs", "1"]
    assert main([*train, "--time-budget", "5", "--out", str(model), "--json"]) == 0
    capsys.readouterr()
    assert main(["certify", str(model), "--midpoint", "0"]) == 0
    shown = capsys.readouterr().out
    assert "1 sampling period(s) per sequence; 2 step(s) per sampling period" in shown
    mpc = ["mpc", "--model", str(model), "--plant", spec, "--x0=295", "--steps", "2"]
    assert main([*mpc, "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["run"]["steps_per_move"] == 2 and result["run"]["horizon"] == 1
    assert _warnings_but_lyapunov(captured.err) == []
    # the model's value given explicitly: the same run
    assert main([*mpc, "--steps-per-move", "2", "--json"]) == 0
    assert _json(capsys)["run"]["steps_per_move"] == 2
    # a contradicting value: one error line naming both numbers and the fix
    assert main([*mpc, "--steps-per-move", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iclcontrol: error: ")
    assert "--steps-per-move 1 contradicts the model" in err[0]
    assert "2 record(s) per sampling period" in err[0]
    assert "leave --steps-per-move out" in err[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nosuchmodule_xyz:Tank", "no module named 'nosuchmodule_xyz' on sys.path"),
        ("{dir}/missing.py:Tank", "no file {dir}/missing.py"),
        (
            "{file}:Missing",
            "has no Missing; its (non-abstract) Plant subclasses: "
            "Level, NeedsGain, Tank",
        ),
        ("{file}:helper", "helper is not a plants.base.Plant subclass"),
        ("{file}:NeedsGain", "NeedsGain() needs arguments (gain)"),
        ("{file}:NoRhs", "NoRhs is abstract: define input_lower, input_upper, rhs"),
        ("{file}", "expected cstr, module:Class"),
    ],
)
def test_cli_mpc_plant_errors_are_one_line_with_status_2(
    plant_file, tmp_path, capsys, spec, message
) -> None:
    spec = spec.format(file=plant_file, dir=tmp_path)
    message = message.format(dir=tmp_path)
    argv = ["mpc", "--model", str(tmp_path / "none"), "--plant", spec, "--x0=1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iclcontrol: error: --plant")
    assert message in err[0]
    with pytest.raises(ConfigError, match="--plant"):
        load_plant(spec)
    # data plant reports the same error
    assert main(["data", "plant", "--plant", spec, "--out", str(tmp_path / "d")]) == 2
    assert message in capsys.readouterr().err


def test_cli_options_take_one_number_per_state_of_the_users_plant(
    plant_file, tmp_path, capsys
) -> None:
    spec = f"{plant_file}:Tank"
    base = ["mpc", "--model", str(tmp_path / "none"), "--plant", spec]
    assert main([*base, "--x0=1,2"]) == 2
    assert "--x0 must be one number T, got '1,2'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--x0=300", "--setpoint", "300,1"])
    assert exit_info.value.code == 2
    assert "argument --setpoint: expected 1 comma-separated numbers T" in (
        capsys.readouterr().err
    )
    # data plant: no finite state limits on the Tank, so the box is needed
    out = str(tmp_path / "d")
    assert main(["data", "plant", "--plant", spec, "--out", out]) == 2
    assert "--x0-lower is needed: Tank has no finite state limit" in (
        capsys.readouterr().err
    )


OWN_STEP_FILE = textwrap.dedent(
    """
    import numpy as np
    from tankplant import Tank


    class EulerTank(Tank):
        # its own step: 10 explicit Euler steps of 0.01 h (method is not used)
        def step(self, x, u):
            x = np.atleast_2d(np.asarray(x, float))
            u = np.atleast_2d(np.asarray(u, float))
            for _ in range(10):
                x = x + 0.01 * self.rhs(x, u)
            return x
    """
)


def test_cli_mpc_plant_method_on_a_plant_with_its_own_step(
    plant_file, tmp_path, capsys, monkeypatch
):
    """--plant-method set the ``method`` of a plant whose own ``step`` ignores it:
    the loop ran the plant's Euler step while the JSON said "cvodes". Now it is
    an error naming the override, and the JSON's plant_method is null (no
    ``method`` drives the step). The loop's rows are the plant's own Euler step:
    T + 0.01 (0.5 Q - 0.1 (T - 293.15)), ten times (by hand, not the exact step)."""
    monkeypatch.syspath_prepend(str(plant_file.parent))
    (tmp_path / "eulertank.py").write_text(OWN_STEP_FILE)
    spec = f"{tmp_path / 'eulertank.py'}:EulerTank"
    data, model = tmp_path / "data", tmp_path / "model"
    argv = ["data", "plant", "--plant", f"{plant_file}:Tank", "--x0-lower", "290"]
    argv += ["--x0-upper", "320", "--grid", "3", "--levels", "2"]
    assert main([*argv, "--out", str(data), "--json"]) == 0
    train = ["train", "--data", str(data), "--hidden", "4", "--max-epochs", "1"]
    assert main([*train, "--time-budget", "5", "--out", str(model), "--json"]) == 0
    capsys.readouterr()
    mpc = ["mpc", "--model", str(model), "--plant", spec, "--x0=295", "--steps", "2"]
    assert main([*mpc, "--plant-method", "cvodes", "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iclcontrol: error: ")
    assert "EulerTank overrides step with its own integration" in err[0]
    assert main([*mpc, "--out", str(tmp_path / "o"), "--json"]) == 0
    result = _json(capsys)
    assert result["run"]["plant_method"] is None
    frame = pd.read_csv(tmp_path / "o" / "closed_loop.csv")
    temps, q = frame["T"].to_numpy(), frame["Q"].to_numpy()
    expected = temps[:-1].copy()
    for _ in range(10):
        expected = expected + 0.01 * (0.5 * q[:-1] - 0.1 * (expected - 293.15))
    np.testing.assert_allclose(temps[1:], expected, rtol=0, atol=1e-9)


def test_cli_data_plant_steps_per_move_not_dividing_substeps(plant_file, capsys):
    """The Tank's default step takes substeps=10 RK4 steps per period, so 3
    records per period fall between them. The error said only 'n_records=3 must
    divide the 10 internal steps', naming neither the plant's substeps nor a
    value that works: the divisors of 10 and a multiple of 3 (30)."""
    argv = ["data", "plant", "--plant", f"{plant_file}:Tank", "--x0-lower", "290"]
    argv += ["--x0-upper", "320", "--grid", "2", "--steps-per-move", "3"]
    assert main([*argv, "--out", str(plant_file.parent / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iclcontrol: error: ")
    assert "(Tank.substeps, rk4 steps per sampling period)" in err[0]
    assert "(steps_per_move) can be 1, 2, 5, 10" in err[0]
    assert "set Tank.substeps to a multiple of 3 (e.g. 30)" in err[0]


def test_python_and_cli_assume_the_same_steps_per_move_for_an_old_model(
    plant_file, tmp_path, capsys
):
    """A model that records no steps per move (a folder saved before they were
    recorded) of a user's plant: `iclcontrol mpc --plant` read it at 1 step per
    period, MPCSettings() at the CSTR's 10 (silently in both). Both now take the
    plant's rule (1 here, plant_dataset's default; 10 for the CSTR) and say so:
    on stderr and under "warnings" in --json, and as an IclControlWarning
    pointing at the caller's line in Python."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import MPCSettings, SurrogateMPC
    from iclcontrol.train import load
    from plants.cstr import CSTR

    spec = f"{plant_file}:Tank"
    data, model = tmp_path / "data", tmp_path / "model"
    argv = ["data", "plant", "--plant", spec, "--x0-lower", "290", "--x0-upper"]
    argv += ["320", "--grid", "3", "--levels", "2", "--moves", "2"]
    assert main([*argv, "--out", str(data), "--json"]) == 0
    train = ["train", "--data", str(data), "--hidden", "4", "--max-epochs", "1"]
    assert main([*train, "--time-budget", "5", "--out", str(model), "--json"]) == 0
    meta = json.loads((model / "model.json").read_text())
    del meta["training_data"]["moves"], meta["training_data"]["steps_per_move"]
    (model / "model.json").write_text(json.dumps(meta))
    capsys.readouterr()

    mpc = ["mpc", "--model", str(model), "--plant", spec, "--x0=295", "--steps", "1"]
    assert main([*mpc, "--json"]) == 0
    result = _json(capsys)
    tank = load_plant(spec)
    settings = MPCSettings(lyapunov=False, state_weights=(1.0,), input_weights=(0.0,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctl = SurrogateMPC(load(model), tank, settings)
    run = result["run"]
    assert (ctl.settings.steps_per_move, ctl.settings.horizon) == (
        run["steps_per_move"],
        run["horizon"],
    )
    assert run["steps_per_move"] == 1
    said = "1 network step(s) per sampling period are used"
    assert [w for w in result["warnings"] if said in w and "Tank" in w]
    assumed = [w for w in caught if said in str(w.message)]
    assert len(assumed) == 1 and issubclass(assumed[0].category, IclControlWarning)
    assert assumed[0].filename == __file__  # the user's line, not iclcontrol's
    # the rule: the CSTR's data has 10 records per period, any other plant's 1
    from iclcontrol.export import fallback_steps_per_move

    assert fallback_steps_per_move(tank) == 1
    assert fallback_steps_per_move(CSTR()) == fallback_steps_per_move() == 10
