"""The default ``Plant.step``: a plant that writes only ``rhs`` is integrated by the
base class (RK4, Euler or CVODES), checked against exact solutions.

The reference plant is linear, ``dx/dt = A x + B u``, whose exact step over a
period T with the input held is ``expm([[A, B], [0, 0]] T)`` (scipy), independent
of any integrator here.
"""

from __future__ import annotations

from typing import Any

import casadi as ca
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.linalg import expm

from iclcontrol.exceptions import ConfigError, SimulationError
from plants.base import Plant
from plants.cstr import CSTR

A = np.array([[-1.0, 2.0], [-2.0, -1.0]])  # damped oscillator, eigenvalues -1 +- 2i
B = np.array([[0.0], [1.0]])


class Linear(Plant):
    """``dx/dt = A x + B u``: only names, units, bounds, period and rhs."""

    state_names = ("x1", "x2")
    state_units = ("m", "m/h")
    input_names = ("f",)
    input_units = ("m/h^2",)
    sampling_period = 0.5  # h

    @property
    def input_lower(self) -> np.ndarray:
        return np.array([-1.0])

    @property
    def input_upper(self) -> np.ndarray:
        return np.array([1.0])

    @property
    def x_steady(self) -> np.ndarray:
        return np.zeros(2)

    @property
    def u_steady(self) -> np.ndarray:
        return np.zeros(1)

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        if backend is ca:
            return ca.mtimes(ca.DM(A), x) + ca.mtimes(ca.DM(B), u)
        return x @ A.T + u @ B.T


def exact_step(x: np.ndarray, u: np.ndarray, period: float) -> np.ndarray:
    """Zero-order-hold discretization of (A, B) by the matrix exponential."""
    m = np.zeros((3, 3))
    m[:2, :2], m[:2, 2:] = A, B
    phi = expm(m * period)
    return x @ phi[:2, :2].T + u @ phi[:2, 2:].T


RNG = np.random.default_rng(7)
X = RNG.uniform(-2.0, 2.0, size=(6, 2))
U = RNG.uniform(-1.0, 1.0, size=(6, 1))


def _plant(method: str, substeps: int = 10) -> Linear:
    plant = Linear()
    plant.method, plant.substeps = method, substeps
    return plant


def test_a_plant_with_only_rhs_steps_by_rk4_to_fourth_order() -> None:
    """Was 'Can't instantiate abstract class Linear ... step'. RK4's global
    error is O(h^4): halving the step divides it by 16 (within 15%)."""
    exact = exact_step(X, U, Linear.sampling_period)
    assert Linear().method == "rk4"  # the default for a user's plant
    err_10 = np.abs(Linear().step(X, U) - exact).max()
    err_20 = np.abs(_plant("rk4", 20).step(X, U) - exact).max()
    assert err_10 < 1e-5  # h = 0.05 h, |lambda h| = 0.11
    assert_allclose(err_10 / err_20, 16.0, rtol=0.15)


def test_euler_converges_at_first_order_and_cvodes_to_its_tolerance() -> None:
    exact = exact_step(X, U, Linear.sampling_period)
    err_100 = np.abs(_plant("euler", 100).step(X, U) - exact).max()
    err_200 = np.abs(_plant("euler", 200).step(X, U) - exact).max()
    assert_allclose(err_100 / err_200, 2.0, rtol=0.05)
    # CVODES with abstol = reltol = 1e-10 over 0.5 h
    assert_allclose(_plant("cvodes").step(X, U), exact, rtol=1e-7, atol=1e-8)


def test_trajectory_records_inside_the_period_match_the_exact_solution() -> None:
    exact = [exact_step(X, U, Linear.sampling_period * k / 5) for k in (1, 2, 5)]
    for method in ("rk4", "cvodes"):
        records = _plant(method).trajectory(X, U, n_records=5)
        assert records.shape == (6, 5, 2)
        for j, k in enumerate((1, 2, 5)):
            assert_allclose(records[:, k - 1], exact[j], rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match=r"n_records=3 must divide the 10"):
        Linear().trajectory(X, U, n_records=3)


def test_simulate_a_plant_with_only_rhs() -> None:
    u = np.array([[1.0], [0.0], [-1.0]])
    result = Linear().simulate([1.0, 0.0], u)
    x = np.array([[1.0, 0.0]])
    for k in range(3):
        x = exact_step(x, u[k : k + 1], 0.5)
        assert_allclose(result.x[k + 1], x[0], atol=1e-5)
    assert_allclose(result.t, [0.0, 0.5, 1.0, 1.5])


def test_the_cstr_steps_are_the_shared_integrator_of_its_old_step() -> None:
    """The CSTR now uses the base class's integrators: bit for bit the explicit
    schemes it had (50 steps of dt = 1e-4 h of its rhs, written out here)."""
    plant_rng = np.random.default_rng(0)
    x = plant_rng.uniform([-1.9, -100.0], [1.9, 100.0], size=(50, 2))
    u = plant_rng.uniform([-3.5, -5e5], [3.5, 5e5], size=(50, 2))
    for method in ("euler", "rk4"):
        plant = CSTR(method=method)
        xr, h = x.copy(), 1e-4
        for _ in range(50):
            if method == "euler":
                xr = xr + h * plant.rhs(xr, u)
            else:
                k1 = plant.rhs(xr, u)
                k2 = plant.rhs(xr + 0.5 * h * k1, u)
                k3 = plant.rhs(xr + 0.5 * h * k2, u)
                k4 = plant.rhs(xr + h * k3, u)
                xr = xr + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        assert_array_equal(plant.step(x, u), xr)
    # CVODES through CasADi directly, with the CSTR's ODE and tolerances
    xs, us = ca.SX.sym("x", 2), ca.SX.sym("u", 2)
    dae = {"x": xs, "p": us, "ode": CSTR().rhs(xs, us, backend=ca)}
    ref = ca.integrator(
        "ref", "cvodes", dae, 0.0, 0.005, {"abstol": 1e-10, "reltol": 1e-10}
    )
    got = CSTR(method="cvodes").step(x[:5], u[:5])
    for i in range(5):
        want = np.asarray(ref(x0=x[i], p=u[i])["xf"]).ravel()
        assert_allclose(got[i], want, rtol=1e-12, atol=1e-12)


class Stiff(Linear):
    """``dx/dt = -2000 x``: explicit Euler with h = 0.05 h multiplies x by -99."""

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        return -2000.0 * x


def test_a_diverging_explicit_step_is_a_named_error_and_cvodes_integrates() -> None:
    plant = Stiff()
    plant.method = "euler"
    with pytest.raises(SimulationError) as err:
        plant.simulate([1.0, 1.0], np.zeros((40, 1)))
    message = str(err.value)
    assert message.startswith("step ")
    assert "the Stiff simulation diverged" in message
    assert "method='cvodes'" in message
    plant.method = "cvodes"
    x = plant.simulate([1.0, 1.0], np.zeros((2, 1))).x
    assert_allclose(x[-1], np.exp(-2000.0 * 1.0) * np.ones(2), atol=1e-9)


def test_unknown_method_or_substeps_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"Linear.method='bdf'.*'rk4'"):
        _plant("bdf").step(X, U)
    with pytest.raises(ConfigError, match=r"Linear.substeps must be a positive"):
        _plant("rk4", 0).step(X, U)


class OwnStep(Linear):
    def step(self, x: Any, u: Any) -> np.ndarray:
        xb, ub = self.check_batch(x, u)
        return xb + self.sampling_period * self.rhs(xb, ub)


def test_a_plant_with_its_own_step_gets_no_records_of_another_integrator() -> None:
    assert not OwnStep().has_own_records() and Linear().has_own_records()
    with pytest.raises(ConfigError, match=r"OwnStep has no trajectory"):
        OwnStep().trajectory(X, U, n_records=2)


def test_a_plant_with_only_rhs_through_dataset_and_do_mpc_closed_loop() -> None:
    """plant_dataset (records inside the period come from the default
    trajectory) and a short do-mpc closed loop on a plant that defines no step."""
    from iclcontrol.data import plant_dataset
    from iclcontrol.mpc import MPCSettings, closed_loop
    from iclcontrol.mpc.baseline import DoMPCController

    plant = Linear()
    x0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    ds = plant_dataset(plant, x0, moves=1, steps_per_move=5, n_input_levels=2)
    assert ds.X.shape == (4, 5, 3) and ds.Y.shape == (4, 5, 2)
    first = ds.X[:, 0, :2], ds.X[:, 0, 2:]
    assert_allclose(ds.Y[:, -1], exact_step(*first, 0.5), atol=1e-5)
    settings = MPCSettings(
        horizon=5, state_weights=(1.0, 1.0), input_weights=(0.01,), lyapunov=False
    )
    frame = closed_loop(plant, DoMPCController(plant, settings), [1.0, 1.0], 4)
    assert len(frame) == 5 and frame["success"].iloc[:-1].all()
    # the rows are the plant's own steps under the inputs applied
    for k in range(4):
        x = frame.loc[k, ["x1", "x2"]].to_numpy(float)[None, :]
        u = frame.loc[k, ["f"]].to_numpy(float)[None, :]
        assert_allclose(
            frame.loc[k + 1, ["x1", "x2"]].to_numpy(float),
            exact_step(x, u, 0.5)[0],
            atol=1e-5,
        )
    # the loop moved the state towards the origin
    assert np.linalg.norm(frame.iloc[-1][["x1", "x2"]].to_numpy(float)) < np.sqrt(2)


def test_the_mpc_horizon_defaults_to_the_moves_of_the_users_plant_data() -> None:
    """A model of one-move plant_dataset sequences (one record per period) with
    MPCSettings' default horizon 2 ran the network over 2 steps, one past its
    training, with a warning; the horizon now defaults to the model's moves, at
    most 2, and an explicit one is kept (with the warning)."""
    import warnings

    import torch

    from iclcontrol.data import plant_dataset
    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import MPCSettings, SurrogateMPC
    from iclcontrol.train import SurrogateModel

    torch.set_num_threads(1)
    plant = Linear()
    x0 = np.array([[a, b] for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)])
    settings = MPCSettings(
        state_weights=(1.0, 1.0), input_weights=(0.01,), lyapunov=False
    )
    horizons, models, controllers = {}, {}, {}
    for moves in (1, 2, 3):
        ds = plant_dataset(plant, x0, moves=moves, n_input_levels=3)
        model = SurrogateModel(
            "iclrnn", hidden=4, layers=1, max_epochs=1, random_state=0, verbose=False
        ).fit(ds)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IclControlWarning)
            ctl = SurrogateMPC(model, plant, settings)
        horizons[moves] = ctl.settings.horizon
        models[moves], controllers[moves] = model, ctl
        assert [str(w.message) for w in caught] == [], moves
        assert ctl.problem.N == horizons[moves] and ctl.problem.spm == 1
    assert horizons == {1: 1, 2: 2, 3: 2}
    assert controllers[1].step([1.0, 0.0]).plan.shape == (1, 1)
    with pytest.warns(IclControlWarning, match=r"over 3 steps .* trained on 1-step"):
        ctl = SurrogateMPC(models[1], plant, settings, horizon=3)
    assert ctl.settings.horizon == 3 and ctl.problem.N == 3
