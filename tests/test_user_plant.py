"""A user's own plant (not the CSTR) through the library: plant interface, closed
loop, baseline, summaries and plots.

The plant is a two-tank level system (2 states, 1 input) in absolute units, with
its setpoint away from the origin; a three-state variant checks that nothing is
sized for the CSTR's 2 x 2.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np
import pytest

from iclcontrol.exceptions import DimensionError, SimulationError
from iclcontrol.mpc import closed_loop
from iclcontrol.mpc.controller import StepResult
from plants.base import Plant


def _example_plant() -> type[Plant]:
    """The two-tank plant of examples/own_plant_mpc.py (one definition for both)."""
    path = Path(__file__).parents[1] / "examples" / "own_plant_mpc.py"
    spec = importlib.util.spec_from_file_location("own_plant_mpc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TwoTanks


class TwoTanks(_example_plant()):
    """The example's two tanks (pump flow q into tank 1, which drains into tank 2;
    ``dh1/dt = (q - c1 sqrt(h1)) / A``, ``dh2/dt = (c1 sqrt(h1) - c2 sqrt(h2)) / A``,
    steady state for q: ``h = (q/c)^2``) with a ``step`` the user wrote (RK4 by
    hand) instead of the library's default one.
    """

    def step(self, x: Any, u: Any) -> np.ndarray:
        xb, ub = self.check_batch(x, u)
        h = self.sampling_period / self.substeps
        for _ in range(self.substeps):  # RK4
            k1 = self.rhs(xb, ub)
            k2 = self.rhs(xb + 0.5 * h * k1, ub)
            k3 = self.rhs(xb + 0.5 * h * k2, ub)
            k4 = self.rhs(xb + h * k3, ub)
            xb = xb + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return xb


class Constant:
    """A controller applying one input (to test the loop without a solver)."""

    name = "constant"

    def __init__(self, u: Any) -> None:
        self.u = np.asarray(u, dtype=float)

    def reset(self, x0: Any = None) -> None:
        pass

    def step(self, x: Any) -> StepResult:
        return StepResult(self.u, True, "ok", 0, 0.0, 0.0)


def test_the_user_plant_is_at_rest_at_its_steady_state() -> None:
    """Independent check of the test plant: h = (q / c)^2 makes rhs zero."""
    plant = TwoTanks()
    np.testing.assert_allclose(
        plant.rhs(plant.x_steady, plant.u_steady), 0.0, atol=1e-12
    )
    np.testing.assert_allclose(plant.x_steady, [1.5731, 1.0924], rtol=1e-4)


class _FlatStep(TwoTanks):
    """step returns shape (2,) for one state instead of (1, 2)."""

    def step(self, x: Any, u: Any) -> np.ndarray:
        return super().step(x, u)[0]


class _ShortStep(TwoTanks):
    """step returns one value per state too few (a bug in a user's step)."""

    def step(self, x: Any, u: Any) -> np.ndarray:
        return super().step(x, u)[:, :1]


def test_simulate_and_closed_loop_read_a_flat_step_result_per_state() -> None:
    """A step returning (n_states,) instead of (1, n_states): simulate took its
    first entry and broadcast h1 to both states (silently wrong); closed_loop
    failed with "TypeError: len() of unsized object"."""
    good, flat = TwoTanks(), _FlatStep()
    u = np.full((3, 1), 2.0)
    np.testing.assert_array_equal(
        flat.simulate([0.5, 0.5], u).x, good.simulate([0.5, 0.5], u).x
    )
    loop = closed_loop(flat, Constant([2.0]), [0.5, 0.5], 3)
    np.testing.assert_array_equal(
        loop[["h1", "h2"]].to_numpy(), good.simulate([0.5, 0.5], u).x
    )


def test_a_step_with_the_wrong_number_of_states_is_a_dimension_error() -> None:
    plant = _ShortStep()
    for run in (
        lambda: plant.simulate([0.5, 0.5], [[2.0]]),
        lambda: closed_loop(plant, Constant([2.0]), [0.5, 0.5], 2),
    ):
        with pytest.raises(DimensionError, match=r"_ShortStep.step returned") as err:
            run()
        assert "(1, 1)" in str(err.value) and "('h1', 'h2')" in str(err.value)


class _NaNTanks(TwoTanks):
    """rhs with a sqrt of a negative level (no fmax): NaN below h = 0."""

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        with np.errstate(invalid="ignore"):
            return super().rhs(x, u, backend) + 0.0 * np.sqrt(x[..., :1] - 10.0)


def test_a_nan_step_stops_simulate_naming_the_step() -> None:
    """Was a DataError "states contain NaN" from the next step's input check,
    without the step, the plant or the trajectory so far."""
    with pytest.raises(SimulationError, match=r"step 1 of 2 .*_NaNTanks.step") as e:
        _NaNTanks().simulate([0.5, 0.5], [[2.0], [2.0]])
    assert len(e.value.frame) == 2 and np.isnan(e.value.frame["h1"].iloc[-1])


class ThreeTanks(TwoTanks):
    """TwoTanks plus a third, independent tank draining with rate 0.5 1/h."""

    state_names = ("h1", "h2", "h3")
    state_units = ("m", "m", "m")

    @property
    def x_steady(self) -> np.ndarray:
        return np.r_[super().x_steady, 0.0]

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        if backend is ca:
            return ca.vertcat(super().rhs(x[:2], u, backend), -0.5 * x[2])
        two = super().rhs(x[..., :2], u, backend)
        return np.concatenate([two, -0.5 * x[..., 2:3]], axis=-1)


class _ShortRhs(TwoTanks):
    """rhs returns dh1/dt only."""

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        out = super().rhs(x, u, backend)
        return out[0] if backend is ca else out[..., :1]


def test_casadi_ode_checks_the_shape_of_rhs() -> None:
    """A one-entry rhs for two states passed casadi_ode and the do-mpc baseline
    failed inside CasADi ('Slice (start=1, stop=2, step=1) out of bounds')."""
    from iclcontrol.mpc import DoMPCController, MPCSettings

    with pytest.raises(DimensionError, match=r"_ShortRhs.rhs.*\(1, 1\).*\(2, 1\)"):
        _ShortRhs().casadi_ode()
    settings = MPCSettings(
        state_weights=(1.0, 1.0), input_weights=(0.1,), lyapunov=False
    )
    with pytest.raises(DimensionError, match=r"_ShortRhs\.rhs"):
        DoMPCController(_ShortRhs(), settings)
    # the correct plant's ODE is its rhs
    f = TwoTanks().casadi_ode()
    x, u = np.array([1.0, 0.5]), np.array([2.0])
    np.testing.assert_allclose(
        np.asarray(f(x, u)).ravel(), TwoTanks().rhs(x, u), rtol=1e-14
    )


def test_settings_sized_for_the_cstr_say_so_on_a_user_plant() -> None:
    """DoMPCController(TwoTanks()) failed with "zip() argument 2 is shorter than
    argument 1"; with 3 states, the default (CSTR) Lyapunov matrix failed inside
    CasADi ('Matrix product with incompatible dimensions')."""
    from iclcontrol.exceptions import ConfigError
    from iclcontrol.mpc import DoMPCController, MPCSettings

    with pytest.raises(ConfigError, match=r"input_weights needs 1 entries.*default"):
        DoMPCController(TwoTanks())
    three = MPCSettings(state_weights=(1.0, 1.0, 1.0), input_weights=(0.1,))
    with pytest.raises(ConfigError, match=r"lyapunov_P must be 3x3.*lyapunov=False"):
        DoMPCController(ThreeTanks(), three)


def test_do_mpc_baseline_on_a_three_state_plant_tracks_a_setpoint() -> None:
    """Without the Lyapunov constraint the baseline stepped into
    'matmul: ... size 2 is different from 3' (V(x) computed with the 2x2 default P
    anyway). The setpoint is a steady state away from the origin: h = (q/c)^2
    for q = 1.5 m^3/h, h3 = 0; the loop must approach it."""
    from iclcontrol.mpc import DoMPCController, MPCSettings

    plant = ThreeTanks()
    q = 1.5
    target = np.array([(q / plant.c1) ** 2, (q / plant.c2) ** 2, 0.0])
    settings = MPCSettings(
        horizon=5,
        state_weights=(1.0, 1.0, 0.0),
        input_weights=(0.0,),
        state_setpoint=tuple(target),
        lyapunov=False,
    )
    frame = closed_loop(plant, DoMPCController(plant, settings), [0.5, 0.5, 0.5], 25)
    assert frame["success"].iloc[:-1].all()
    start = np.abs(np.array([0.5, 0.5]) - target[:2]).max()
    end = np.abs(frame[["h1", "h2"]].to_numpy()[-1] - target[:2]).max()
    assert end < 0.5 * start
    # h3 has no input: it drains as exp(-0.5 t)
    t = frame["t"].to_numpy()
    np.testing.assert_allclose(frame["h3"], 0.5 * np.exp(-0.5 * t), rtol=1e-6)


def test_summarize_a_user_plant_uses_its_own_weights_not_the_cstrs() -> None:
    """summarize applied the CSTR's reference weights (1000, 1) / (1, 3e-10) to any
    plant: on 3 states it failed ('operands could not be broadcast together with
    shapes (3,3) (2,)'); on 1 input the two input weights were silently summed."""
    from iclcontrol.mpc import MPCSettings, closed_loop_cost, summarize

    plant = ThreeTanks()
    frame = closed_loop(plant, Constant([2.0]), [0.5, 0.5, 0.5], 3)
    settings = MPCSettings(
        state_weights=(1.0, 2.0, 0.0),
        input_weights=(0.5,),
        state_setpoint=(1.0, 1.0, 0.0),
        input_setpoint=(1.0,),
        lyapunov=False,
    )
    m = summarize(frame, plant, settings)
    assert m["closed_loop_cost"] is None and m["steps_to_region"] is None
    x = frame[["h1", "h2"]].to_numpy()[1:]
    by_hand = np.sum((x[:, 0] - 1) ** 2 + 2 * (x[:, 1] - 1) ** 2) + 3 * 0.5 * 1.0
    assert m["tracking"]["cost"] == pytest.approx(by_hand, rel=1e-12)
    two = closed_loop(TwoTanks(), Constant([2.0]), [0.5, 0.5], 3)
    assert summarize(two, TwoTanks())["closed_loop_cost"] is None
    with pytest.raises(DimensionError, match=r"input_weights needs one entry per"):
        closed_loop_cost(two, ("h1", "h2"), ("q",), (1.0, 1.0), (1.0, 3e-10))


def test_plots_of_a_user_plant_use_its_names_and_units() -> None:
    """plot_time_series / plot_phase_plane read the columns CA, T, CA0, Q and failed
    with KeyError: 'CA' on any other plant; with plant=... they draw its own
    states and inputs, in absolute units (no 'x - xs'), no CSTR region."""
    import matplotlib.pyplot as plt

    from iclcontrol.mpc.plots import plot_phase_plane, plot_time_series

    plt.close("all")  # figures left open by other tests
    plant = ThreeTanks()
    frame = closed_loop(plant, Constant([2.0]), [0.5, 0.5, 0.5], 3)
    setpoint = (1.0, 0.7, 0.0)
    fig = plot_time_series({"run": frame}, plant=plant, setpoint=setpoint)
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "h1 [m]",
        "h2 [m]",
        "h3 [m]",
        "q [m^3/h]",
    ]
    lines = [line for line in fig.axes[0].get_lines() if line.get_label() == "run"]
    np.testing.assert_array_equal(lines[0].get_ydata(), frame["h1"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "setpoint region" not in legend and "setpoint" in legend
    fig = plot_phase_plane({"run": frame}, plant=plant, setpoint=setpoint)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("h1 [m]", "h2 [m]")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert not any("stability region" in text for text in legend)
    # the CSTR through the same argument: its deviation labels and regions
    from plants.cstr import CSTR

    cstr = closed_loop(CSTR(), Constant([0.0, 0.0]), [0.1, 1.0], 2)
    fig = plot_phase_plane({"run": cstr}, plant=CSTR())
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert fig.axes[0].get_xlabel() == "CA - CAs [kmol/m^3]"
    assert "stability region V(x) = 372" in legend and "setpoint region" in legend
    plt.close("all")


@pytest.fixture(scope="module")
def tanks_model():
    """A small ICLRNN trained on two-move TwoTanks data from plant_dataset."""
    import torch

    from iclcontrol.data import plant_dataset
    from iclcontrol.train import SurrogateModel

    torch.set_num_threads(1)
    grid = np.linspace(0.1, 3.0, 8)
    x0 = np.array([[a, b] for a in grid for b in grid])
    ds = plant_dataset(TwoTanks(), x0, moves=2, n_input_levels=5, random_state=0)
    return SurrogateModel(
        "iclrnn", hidden=16, layers=2, max_epochs=100, random_state=0, verbose=False
    ).fit(ds)


def test_plant_dataset_reproduces_the_cstr_dataset() -> None:
    """There was no dataset builder for a user's plant (cstr_dataset is hard-wired
    to the CSTR: its states grid, 2-input grid and names). plant_dataset follows
    the same protocol for any plant: on the CSTR it gives cstr_dataset's arrays
    and splits exactly."""
    from iclcontrol.data import cstr_dataset, cstr_initial_states, plant_dataset
    from plants.cstr import CSTR

    ref = cstr_dataset(moves=2, n_grid=10, random_state=3)
    ds = plant_dataset(
        CSTR(), cstr_initial_states(10), moves=2, steps_per_move=10, random_state=3
    )
    np.testing.assert_array_equal(ds.X, ref.X)
    np.testing.assert_array_equal(ds.Y, ref.Y)
    assert ds.feature_names == ref.feature_names
    assert ds.output_units == ref.output_units
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(ds.splits[split], ref.splits[split])


def test_plant_dataset_of_a_one_input_plant() -> None:
    """Layout for the MPC (initial state held, input per step, states out), one
    record per period by default, and clear errors."""
    from iclcontrol.data import plant_dataset
    from iclcontrol.exceptions import ConfigError

    plant = TwoTanks()
    x0 = np.array([[0.5, 0.5], [2.0, 1.0]])
    ds = plant_dataset(plant, x0, moves=2, n_input_levels=3, random_state=0)
    assert ds.X.shape == (6, 2, 3) and ds.Y.shape == (6, 2, 2)
    assert ds.feature_names == ("h1", "h2", "q") and ds.output_units == ("m", "m")
    # first move: every state with every input level 0, 2, 4 m^3/h
    np.testing.assert_array_equal(ds.X[:, 0, 2], [0.0, 2.0, 4.0] * 2)
    np.testing.assert_array_equal(ds.X[:, 1, :2], np.repeat(x0, 3, axis=0))
    first = plant.step(ds.X[:, 0, :2], ds.X[:, 0, 2:])
    np.testing.assert_array_equal(ds.Y[:, 0], first)
    np.testing.assert_array_equal(ds.Y[:, 1], plant.step(first, ds.X[:, 1, 2:]))
    with pytest.raises(ConfigError, match=r"TwoTanks has no trajectory"):
        plant_dataset(plant, x0, steps_per_move=10)
    with pytest.raises(DimensionError, match=r"_ShortStep.step returned shape"):
        plant_dataset(_ShortStep(), x0)


def test_surrogate_mpc_tracks_a_setpoint_on_a_user_plant(tanks_model) -> None:
    """Data from plant_dataset, an ICLRNN, the surrogate MPC (1 input, 1 record per
    period) against the plant, to a setpoint away from the origin: the steady
    state h = (q/c)^2 of q = 1.5 m^3/h (by hand). Both solvers get there."""
    from iclcontrol.mpc import MPCSettings, SurrogateMPC, summarize

    plant = TwoTanks()
    q = 1.5
    target = np.array([(q / plant.c1) ** 2, (q / plant.c2) ** 2])
    for solver in ("gn_sqp", "ipopt"):
        settings = MPCSettings(
            horizon=2,
            steps_per_move=1,
            state_weights=(1.0, 1.0),
            input_weights=(0.0,),
            state_setpoint=tuple(target),
            lyapunov=False,
            solver=solver,
        )
        ctl = SurrogateMPC(tanks_model, plant, settings)
        frame = closed_loop(plant, ctl, [0.5, 0.5], 20)
        m = summarize(frame, plant, settings)
        assert m["failed_solves"] == 0
        np.testing.assert_allclose(m["final_state"], target, atol=0.03)
        # the input that holds the target: q = 1.5 (h2 still settling: 0.05)
        assert frame["q"].iloc[-2] == pytest.approx(q, abs=0.05)


def test_default_cstr_lyapunov_matrix_on_a_user_plant_warns(tanks_model) -> None:
    """lyapunov=True by default with the CSTR's P: on the tanks V(x) = x'Px is
    centred at empty tanks; it applied silently."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import DoMPCController, MPCSettings, SurrogateMPC

    plant = TwoTanks()
    settings = MPCSettings(
        steps_per_move=1, horizon=2, state_weights=(1.0, 1.0), input_weights=(0.0,)
    )
    with pytest.warns(IclControlWarning, match=r"default lyapunov_P.*TwoTanks"):
        ctl = SurrogateMPC(tanks_model, plant, settings)
    assert len([w for w in ctl.problem.warnings if "lyapunov_P" in w]) == 1
    with pytest.warns(IclControlWarning, match=r"default lyapunov_P.*TwoTanks"):
        DoMPCController(plant, settings)
    own = MPCSettings(**{**settings.to_dict(), "lyapunov_P": ((1.0, 0.0), (0.0, 1.0))})
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always", IclControlWarning)
        ctl = SurrogateMPC(tanks_model, plant, own)
    assert not [w for w in quiet if issubclass(w.category, IclControlWarning)]
    assert ctl.problem.warnings == []


def test_a_per_period_model_with_the_cstr_steps_per_move_says_so() -> None:
    """A model of plant_dataset's default data (one record per period) with
    steps_per_move=10 (the CSTR's) got "use horizon <= 1 ... or
    cstr_dataset(moves=2)": advice that keeps reading the model's steps as
    tenths of a period. The warning now names steps_per_move=1. (A model that
    records no steps per move is now read at 1 per period on a plant other
    than the CSTR, as `iclcontrol mpc --plant` did, with a warning saying so.)"""
    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import MPCProblem, MPCSettings

    spec = {
        "kind": "rnn",
        "n_features": 3,
        "n_outputs": 2,
        "layers": [{"W": np.zeros((2, 3)), "U": np.zeros((2, 2)), "b": np.zeros(2)}],
        "readout": {"W": np.zeros((2, 2)), "b": np.zeros(2)},
        "output_steps": 2,
    }
    weights = {"state_weights": (1.0, 1.0), "input_weights": (0.0,)}
    settings = MPCSettings(lyapunov=False, steps_per_move=10, **weights)
    with pytest.warns(IclControlWarning, match=r"MPCSettings\(steps_per_move=1\)"):
        pr = MPCProblem(spec, TwoTanks(), settings)
    assert len(pr.warnings) == 1 and "cstr_dataset" not in pr.warnings[0]
    per_period = MPCSettings(lyapunov=False, steps_per_move=1, **weights)
    assert MPCProblem(spec, TwoTanks(), per_period).warnings == []
    assumed = r"1 network step\(s\) per sampling period .* assumed for TwoTanks"
    with pytest.warns(IclControlWarning, match=assumed):
        pr = MPCProblem(spec, TwoTanks(), MPCSettings(lyapunov=False, **weights))
    assert (pr.spm, pr.N, pr.warnings) == (1, 2, [])


def test_a_per_period_model_runs_with_its_own_steps_per_move(tanks_model) -> None:
    """A model of plant_dataset's per-period data run with MPCSettings() (no
    steps_per_move) got the CSTR's 10 and a warning to set
    MPCSettings(steps_per_move=1): the model did not record it. Now it does,
    and the MPC and to_do_mpc take it; a contradicting value is an error."""
    import warnings

    from iclcontrol.exceptions import ConfigError, IclControlWarning
    from iclcontrol.export import to_do_mpc
    from iclcontrol.mpc import MPCSettings, SurrogateMPC

    assert tanks_model.training_data_["steps_per_move"] == 1
    assert tanks_model.training_data_["moves"] == 2
    settings = MPCSettings(
        horizon=2, state_weights=(1.0, 1.0), input_weights=(0.0,), lyapunov=False
    )
    assert settings.steps_per_move is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IclControlWarning)
        ctl = SurrogateMPC(tanks_model, TwoTanks(), settings)
        do_model = to_do_mpc(tanks_model)
    ours = [str(w.message) for w in caught if w.category is IclControlWarning]
    assert not [m for m in ours if "steps_per_move" in m or "steps_per" in m]
    assert ctl.problem.warnings == []
    assert ctl.settings.steps_per_move == 1 and ctl.problem.spm == 1
    assert do_model.x.keys()[0] == "h1"  # built (one network step per period)
    frame = closed_loop(TwoTanks(), ctl, [0.5, 0.5], 2)
    assert frame["success"].iloc[:-1].all()
    # a value that contradicts the model: an error naming both and the fix
    for call in (
        lambda: SurrogateMPC(tanks_model, TwoTanks(), settings, steps_per_move=10),
        lambda: to_do_mpc(tanks_model, steps_per_period=10),
    ):
        with pytest.raises(ConfigError) as err:
            call()
        text = str(err.value)
        assert "=10 contradicts the model" in text and "1 record(s)" in text
        assert "leave" in text and "steps_per_move=10)" in text
    # the agreeing value is accepted
    ctl = SurrogateMPC(tanks_model, TwoTanks(), settings, steps_per_move=1)
    assert ctl.problem.warnings == []


def test_a_model_saved_before_steps_per_move_was_recorded(tanks_model, tmp_path):
    """A model folder written before this change has no moves/steps_per_move
    in model.json's training_data: it still loads (same format version), the
    fields read None. The MPC read it at the CSTR's 10 steps per move (with
    the warning naming steps_per_move=1) where `iclcontrol mpc --plant` read
    it at 1; both now take 1 for a plant other than the CSTR (the data of
    plant_dataset's default), with a warning saying so, and none with 1 given."""
    import json
    import warnings

    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import MPCSettings, SurrogateMPC
    from iclcontrol.train import load

    folder = tanks_model.save(tmp_path / "old")
    meta = json.loads((folder / "model.json").read_text())
    del meta["training_data"]["moves"], meta["training_data"]["steps_per_move"]
    (folder / "model.json").write_text(json.dumps(meta))
    old = load(folder)
    assert old.training_data_["moves"] is None
    assert old.training_data_["steps_per_move"] is None
    spec = old.export_spec()
    assert spec["moves"] is None and spec["steps_per_move"] is None
    np.testing.assert_array_equal(
        old.predict(np.ones((1, 2, 3))), tanks_model.predict(np.ones((1, 2, 3)))
    )
    weights = {"state_weights": (1.0, 1.0), "input_weights": (0.0,)}
    settings = MPCSettings(horizon=2, lyapunov=False, **weights)
    assumed = r"1 network step\(s\) per sampling period .* assumed for TwoTanks"
    with pytest.warns(IclControlWarning, match=assumed) as caught:
        ctl = SurrogateMPC(old, TwoTanks(), settings)
    assert len(caught) == 1  # not also the trained-length warning
    assert ctl.settings.steps_per_move == 1 and ctl.problem.warnings == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctl = SurrogateMPC(old, TwoTanks(), settings, steps_per_move=1)
    assert ctl.problem.warnings == [] and ctl.problem.spm == 1


def test_an_invalid_initial_state_names_the_plants_own_limits() -> None:
    from iclcontrol.exceptions import DataError
    from iclcontrol.mpc import check_initial_state

    with pytest.raises(DataError, match=r"h1=-1 < 0 m \(its physical limits"):
        check_initial_state(TwoTanks(), [-1.0, 0.5])


def test_a_plant_without_a_unit_per_name_is_refused_when_defined() -> None:
    """A subclass that forgot state_units (default ()) was accepted and failed
    later with an IndexError in outside_valid_states (a state outside its box),
    its plots showed '-' as unit; repeated names clobbered each other's columns."""
    with pytest.raises(TypeError, match=r"state_units has 0 entries for 2"):

        class NoUnits(TwoTanks):
            state_units = ()

    with pytest.raises(TypeError, match=r"input_names \('q', 'q'\) repeats"):

        class Twice(TwoTanks):
            input_names = ("q", "q")
            input_units = ("m^3/h", "m^3/h")


def test_do_mpc_baseline_starts_from_the_plants_steady_state() -> None:
    """The initial guess was the origin: for the tanks, h = 0, where sqrt(h) has an
    infinite derivative, so every step of a baseline used without reset(x0)
    failed ('Invalid_Number_Detected') and applied the fallback input."""
    from iclcontrol.mpc import DoMPCController, MPCSettings

    plant = TwoTanks()
    settings = MPCSettings(
        horizon=3,
        state_weights=(1.0, 1.0),
        input_weights=(0.0,),
        state_setpoint=(1.0, 0.69),
        lyapunov=False,
    )
    fresh = DoMPCController(plant, settings).step([0.5, 0.5])
    assert fresh.success, fresh.status
    reset = DoMPCController(plant, settings)
    reset.reset([0.5, 0.5])
    # the same problem from another initial guess: the same optimal input
    np.testing.assert_allclose(fresh.u, reset.step([0.5, 0.5]).u, atol=1e-4)
