"""Tests of iclcontrol.export: CasADi parity with torch, derivatives, do-mpc model."""

from __future__ import annotations

import warnings

import casadi as ca
import numpy as np
import pytest
import torch

from iclcontrol.exceptions import ConfigError, DimensionError
from iclcontrol.export import to_casadi, to_do_mpc
from iclcontrol.models import make_network

KINDS = ["iclrnn", "icrnn", "lrnn", "rnn", "lstm", "ficnn"]


def _scalers(rng: np.random.Generator) -> tuple[dict, dict]:
    # MinMaxScaler.to_dict() form: scaled = x * scale + offset
    xs = {
        "scale": rng.uniform(0.1, 2.0, 4).tolist(),
        "offset": rng.normal(size=4).tolist(),
    }
    ys = {
        "scale": rng.uniform(0.1, 2.0, 2).tolist(),
        "offset": rng.normal(size=2).tolist(),
    }
    return xs, ys


def _spec(kind: str, seed: int = 0, hidden: int = 8) -> tuple[torch.nn.Module, dict]:
    net = make_network(kind, 4, 2, hidden=hidden, layers=2, random_state=seed).double()
    if getattr(net, "initial_state", None) is not None:
        # a learned initial state starts at zero; give it values so that every
        # parity and derivative test exercises it
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            net.initial_state.copy_(torch.rand(net.initial_state.shape, generator=g))
    spec = net.export_spec()
    spec["x_scaler"], spec["y_scaler"] = _scalers(np.random.default_rng(seed))
    spec["feature_names"] = ["CA", "T", "CA0", "Q"]
    spec["output_names"] = ["CA", "T"]
    return net, spec


def _torch_physical(net: torch.nn.Module, spec: dict, X: np.ndarray) -> np.ndarray:
    xs = np.asarray(spec["x_scaler"]["scale"])
    xo = np.asarray(spec["x_scaler"]["offset"])
    ys = np.asarray(spec["y_scaler"]["scale"])
    yo = np.asarray(spec["y_scaler"]["offset"])
    with torch.no_grad():
        Ys = net(torch.as_tensor(X * xs + xo, dtype=torch.float64)).numpy()
    return (Ys - yo) / ys


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("symbolic", ["MX", "SX"])
def test_parity_with_torch_float64(kind: str, symbolic: str) -> None:
    """The exported Function equals the torch module (scalers folded) to 1e-6 rel."""
    net, spec = _spec(kind, seed=3)
    rng = np.random.default_rng(1)
    X = rng.uniform(-2.0, 2.0, size=(5, 12, 4))
    expected = _torch_physical(net, spec, X)
    f = to_casadi(spec, steps=12, symbolic=symbolic)
    got = np.stack([np.asarray(f(x)) for x in X])
    assert got.shape == expected.shape == (5, 12, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    # the outputs are not trivially constant (the test would pass on a dead net)
    assert np.ptp(expected) > 1e-3


def test_learned_initial_state_is_exported() -> None:
    """ICLRNN defaults to a learned h0; the export carries it (and a zero-h0
    network exports none, so older specs keep working)."""
    net, spec = _spec("iclrnn", seed=4)
    assert all("h0" in layer for layer in spec["layers"])
    np.testing.assert_allclose(
        spec["layers"][1]["h0"], net.initial_state[1].detach().numpy()
    )
    plain = make_network("rnn", 4, 2, hidden=8).export_spec()
    assert not any("h0" in layer for layer in plain["layers"])


def test_named_inputs_and_outputs() -> None:
    _, spec = _spec("iclrnn")
    f = to_casadi(spec, steps=7)
    assert f.name_in() == ["X"] and f.name_out() == ["Y"]
    assert f.size_in(0) == (7, 4) and f.size_out(0) == (7, 2)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "iclrnn"])
def test_first_derivatives_match_finite_differences(kind: str) -> None:
    """CasADi's AD Jacobian equals central differences (O(h^2) error, h = 1e-6)."""
    _, spec = _spec(kind, seed=5)
    f = to_casadi(spec, steps=6)
    X = ca.MX.sym("X", 6, 4)
    J = ca.Function("J", [X], [ca.jacobian(ca.vec(f(X)), ca.vec(X))])
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-1, 1, size=(6, 4))
    jac = np.asarray(J(x0))
    h = 1e-6
    fd = np.zeros_like(jac)
    flat = x0.ravel(order="F")
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        yp = np.asarray(f((flat + e).reshape(6, 4, order="F"))).ravel(order="F")
        ym = np.asarray(f((flat - e).reshape(6, 4, order="F"))).ravel(order="F")
        fd[:, i] = (yp - ym) / (2 * h)
    # ReLU kinks are hit with probability ~0 at random points; scale-aware tolerance
    np.testing.assert_allclose(jac, fd, rtol=1e-5, atol=1e-6 * np.abs(jac).max())


def test_second_derivatives_match_finite_differences_tanh() -> None:
    """Exact Hessian of a smooth scalar function of the outputs (tanh RNN)."""
    _, spec = _spec("rnn", seed=7)
    f = to_casadi(spec, steps=4)
    X = ca.MX.sym("X", 4, 4)
    obj = ca.sumsqr(f(X))
    grad = ca.Function("g", [X], [ca.gradient(obj, ca.vec(X))])
    hess = ca.Function("H", [X], [ca.hessian(obj, ca.vec(X))[0]])
    x0 = np.random.default_rng(3).uniform(-1, 1, (4, 4))
    H = np.asarray(hess(x0))
    h = 1e-6
    flat = x0.ravel(order="F")
    fd = np.zeros_like(H)
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        gp = np.asarray(grad((flat + e).reshape(4, 4, order="F"))).ravel()
        gm = np.asarray(grad((flat - e).reshape(4, 4, order="F"))).ravel()
        fd[:, i] = (gp - gm) / (2 * h)
    np.testing.assert_allclose(H, fd, rtol=1e-4, atol=1e-5 * np.abs(H).max())
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_jit_matches_interpreted() -> None:
    """gcc-compiled Function gives the same numbers as the CasADi VM."""
    _, spec = _spec("iclrnn", hidden=4)
    f = to_casadi(spec, steps=3)
    fj = to_casadi(spec, steps=3, jit=True, name="jit_test")
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4))
    np.testing.assert_allclose(np.asarray(fj(x)), np.asarray(f(x)), rtol=1e-12)


def test_spec_from_object_with_export_spec() -> None:
    net, _ = _spec("lrnn")
    f1 = to_casadi(net, steps=2)  # the network itself (no scalers: identity)
    x = np.ones((2, 4))
    with torch.no_grad():
        expected = net(torch.ones(1, 2, 4, dtype=torch.float64)).numpy()[0]
    np.testing.assert_allclose(np.asarray(f1(x)), expected, rtol=1e-6)


def test_errors() -> None:
    _, spec = _spec("iclrnn")
    with pytest.raises(ConfigError, match="unknown network kind"):
        to_casadi({**spec, "kind": "gru"})
    with pytest.raises(ConfigError, match="jit"):
        to_casadi(spec, symbolic="SX", jit=True)
    with pytest.raises(ConfigError, match="symbolic"):
        to_casadi(spec, symbolic="XX")
    with pytest.raises(ConfigError):
        to_casadi(42)
    bad = dict(spec, x_scaler={"scale": [1.0, 1.0], "offset": [0.0, 0.0]})
    with pytest.raises(DimensionError, match="expects 4"):
        to_casadi(bad)


def test_do_mpc_model_transition_and_one_mpc_step() -> None:
    """The do-mpc model's x+ equals the surrogate's last output; MPC makes a step."""
    with warnings.catch_warnings():  # optional do-mpc features warn on import
        warnings.simplefilter("ignore", UserWarning)
        import do_mpc

    _, spec = _spec("iclrnn", seed=11)
    model = to_do_mpc(spec, steps_per_period=10)  # an untrained spec records none
    assert list(model.x.keys())[1:] == ["CA", "T"] or "CA" in model.x.keys()
    f = to_casadi(spec, steps=10)
    x, u = np.array([0.3, -2.0]), np.array([1.0, 1e5])
    rhs = ca.Function("rhs", [model.x, model.u], [model._rhs])
    x_next = np.asarray(rhs(x, u)).ravel()
    expected = np.asarray(f(np.tile(np.r_[x, u], (10, 1))))[-1]
    np.testing.assert_allclose(x_next, expected, rtol=1e-10)

    # one MPC step on a smooth (tanh) surrogate: IPOPT's home ground
    _, smooth = _spec("rnn", seed=11)
    model = to_do_mpc(smooth, steps_per_period=10)
    mpc = do_mpc.controller.MPC(model)
    mpc.settings.n_horizon = 2
    mpc.settings.t_step = 0.005
    mpc.settings.store_full_solution = False
    mpc.settings.supress_ipopt_output()
    cost = 1000 * model.x["CA"] ** 2 + model.x["T"] ** 2
    mpc.set_objective(lterm=cost, mterm=cost)
    mpc.set_rterm(CA0=1e-2, Q=1e-12)
    for name, lo, hi in (("CA0", -3.5, 3.5), ("Q", -5e5, 5e5)):
        mpc.bounds["lower", "_u", name] = lo
        mpc.bounds["upper", "_u", name] = hi
    mpc.scaling["_u", "Q"] = 5e5
    with warnings.catch_warnings():  # do-mpc's own numpy-on-casadi calls
        warnings.simplefilter("ignore", FutureWarning)
        mpc.setup()
    mpc.x0 = x
    mpc.set_initial_guess()
    u0 = np.asarray(mpc.make_step(x)).ravel()
    assert mpc.solver_stats["success"], mpc.solver_stats["return_status"]
    assert -3.5 - 1e-8 <= u0[0] <= 3.5 + 1e-8 and -5e5 - 1e-3 <= u0[1] <= 5e5 + 1e-3


def test_do_mpc_export_rejects_bad_layout() -> None:
    _, spec = _spec("iclrnn")
    with pytest.raises(ConfigError):
        to_do_mpc(spec, state_names=["CA"], input_names=["CA0", "Q"])


@pytest.mark.parametrize("steps", [2.7, "5", True, 0, -1])
def test_to_casadi_steps_must_be_a_positive_int(steps) -> None:
    _, spec = _spec("iclrnn")
    with pytest.raises(ConfigError, match="steps must be a positive integer"):
        to_casadi(spec, steps=steps)
    assert to_casadi(spec, steps=np.int64(3)).size1_in(0) == 3


def test_to_do_mpc_argument_errors() -> None:
    _, spec = _spec("iclrnn")
    for bad in (0, -1, 2.5):
        with pytest.raises(ConfigError, match="steps_per_period"):
            to_do_mpc(spec, steps_per_period=bad)
    with pytest.raises(ConfigError, match="symvar_type"):
        to_do_mpc(spec, symvar_type="XX")


def test_nan_input_gives_finite_output_as_documented() -> None:
    """CasADi Functions cannot raise: fmax(NaN, 0) = 0 hides a NaN input (the
    to_casadi docstring says so; SurrogateMPC.step checks its state itself)."""
    _, spec = _spec("iclrnn")
    f = to_casadi(spec, steps=3)
    assert np.all(np.isfinite(np.asarray(f(np.full((3, 4), np.nan)))))
    assert "NaN" in to_casadi.__doc__


def test_to_do_mpc_into_the_users_own_model_with_a_setpoint() -> None:
    """The surrogate goes into a model that already holds a time-varying setpoint;
    the MPC tracks it, and the transition is still the surrogate's last output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import do_mpc

    _, spec = _spec("rnn", seed=3)
    own = do_mpc.model.Model("discrete", "SX")
    ref = own.set_variable("_tvp", "CA_ref")
    model = to_do_mpc(spec, steps_per_period=10, model=own, setup=False)
    assert model is own and not own.flags["setup"]
    own.set_expression("tracking", (own.x["CA"] - ref) ** 2)
    own.setup()
    rhs = ca.Function("rhs", [own.x, own.u], [own._rhs])
    x, u = np.array([0.3, -2.0]), np.array([1.0, 1e5])
    expected = np.asarray(to_casadi(spec)(np.tile(np.r_[x, u], (10, 1))))[-1]
    np.testing.assert_allclose(np.asarray(rhs(x, u)).ravel(), expected, rtol=1e-10)

    mpc = do_mpc.controller.MPC(own)
    mpc.settings.n_horizon = 2
    mpc.settings.t_step = 0.005
    mpc.settings.store_full_solution = False
    mpc.settings.supress_ipopt_output()
    mpc.set_objective(lterm=own.aux["tracking"], mterm=own.aux["tracking"])
    mpc.set_rterm(CA0=1e-2, Q=1e-12)
    tvp = mpc.get_tvp_template()
    mpc.set_tvp_fun(lambda t: tvp)  # the template's zeros: CA_ref = 0
    for name, lo, hi in (("CA0", -3.5, 3.5), ("Q", -5e5, 5e5)):
        mpc.bounds["lower", "_u", name] = lo
        mpc.bounds["upper", "_u", name] = hi
    mpc.scaling["_u", "Q"] = 5e5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mpc.setup()
    mpc.x0 = x
    mpc.set_initial_guess()
    mpc.make_step(x)
    assert mpc.solver_stats["success"], mpc.solver_stats["return_status"]
    # a model that is already set up cannot take new variables: said up front
    with pytest.raises(ConfigError, match="already set up"):
        to_do_mpc(spec, steps_per_period=10, model=own)


def test_do_mpc_export_warns_beyond_the_trained_steps() -> None:
    """SurrogateMPC warned when it ran a model beyond its training sequences;
    to_do_mpc extrapolated silently."""
    from iclcontrol.exceptions import IclControlWarning

    _, spec = _spec("iclrnn", seed=12)
    spec["output_steps"] = 10
    with pytest.warns(IclControlWarning, match=r"trained on: .* <= 10") as rec:
        to_do_mpc(spec, steps_per_period=20)
    ours = [w for w in rec if issubclass(w.category, IclControlWarning)]
    assert len(ours) == 1 and "20" in str(ours[0].message)
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter("always", IclControlWarning)
        to_do_mpc(spec, steps_per_period=10)
    assert not [w for w in quiet if issubclass(w.category, IclControlWarning)]


@pytest.mark.parametrize("symbolic", ["MX", "SX"])
def test_exported_function_in_a_users_opti_problem_and_serialized(
    symbolic, tmp_path
) -> None:
    """The contract of to_casadi's docstring, as a user relies on it: a model
    fit sequence-to-last-value exports (steps, n_outputs) whose last row is
    predict's; the Function goes into the user's own Opti problem and survives
    Function.save / Function.load bit for bit."""
    from iclcontrol.train import SurrogateModel

    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (40, 5, 3)) * [1.0, 10.0, 100.0]
    Y = np.cumsum(X[..., :2], axis=1)[:, -1:, :]  # one target step per sample
    model = SurrogateModel(hidden=4, layers=1, max_epochs=1, verbose=False)
    model.fit(X, Y)
    f = to_casadi(model, symbolic=symbolic)
    assert (f.size_in(0), f.size_out(0)) == ((5, 3), (5, 2))
    out = np.asarray(f(X[0]))
    # float32 torch against float64 CasADi: relative 1e-5 of the output scale
    scale = np.abs(Y).max()
    np.testing.assert_allclose(out[-1:], model.predict(X[0])[0], atol=1e-5 * scale)

    path = str(tmp_path / "surrogate.casadi")
    f.save(path)
    g = ca.Function.load(path)
    np.testing.assert_array_equal(np.asarray(g(X[0])), out)

    opti = ca.Opti()
    U = opti.variable(5, 3)
    target = float(out[-1, 0]) + 0.5
    opti.minimize((f(U)[-1, 0] - target) ** 2 + 1e-6 * ca.sumsqr(U))
    opti.subject_to(opti.bounded(-100.0, U, 100.0))
    opti.set_initial(U, X[0])
    opti.solver("ipopt", {"print_time": False}, {"print_level": 0, "sb": "yes"})
    sol = opti.solve()
    assert sol.stats()["success"]
    # the solution's last output, evaluated by the loaded Function, hits the target
    assert float(np.asarray(g(sol.value(U)))[-1, 0]) == pytest.approx(target, abs=1e-3)


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn"])
def test_relu_smoothing_gives_a_smooth_convex_close_export(kind) -> None:
    """to_casadi/to_do_mpc had no relu_smoothing: a CasADi or do-mpc user
    solving with IPOPT got the exact piecewise-linear network, whose Hessian
    is zero almost everywhere and on whose kinks IPOPT cycles (measured: 22 of
    30 do-mpc steps succeeded on a 30 s ICLRNN, 30 of 30 with tau = 1e-3).
    Properties checked: softplus >= ReLU and non-decreasing with non-negative
    later weights, so the smoothed convex network lies above the exact one,
    within a small margin; its Hessian is positive semidefinite (convex) and
    not zero; the exact network's Hessian is zero at a generic point."""
    _, spec = _spec(kind, seed=5)
    rng = np.random.default_rng(2)
    X = rng.uniform(-2.0, 2.0, size=(6, 4))
    exact = to_casadi(spec, steps=6)
    # tau = 0.2, not the MPC's 1e-3: with 1e-3 the softplus equals ReLU to the
    # last bit wherever |z| > 0.04, i.e. at almost every random point
    smooth = to_casadi(spec, steps=6, relu_smoothing=0.2)
    y0, y1 = np.asarray(exact(X)), np.asarray(smooth(X))
    # scaled output = physical * scale + offset with scale > 0: compare scaled
    ys = np.asarray(spec["y_scaler"]["scale"])
    gap = (y1 - y0) * ys
    assert gap.min() >= -1e-12
    assert 0 < gap.max() < 1.0
    for f, expect_zero in ((exact, True), (smooth, False)):
        x = ca.MX.sym("x", 6, 4)
        H = ca.Function("H", [x], [ca.hessian(f(x)[-1, 0], x)[0]])
        eig = np.linalg.eigvalsh(np.asarray(H(X)))
        if expect_zero:
            np.testing.assert_allclose(eig, 0.0, atol=1e-9)
        else:
            assert eig.min() >= -1e-8 * eig.max() and eig.max() > 1e-6
    # to_do_mpc passes it on: its transition is the smoothed last output
    model = to_do_mpc(spec, steps_per_period=6, relu_smoothing=0.2)
    rhs = ca.Function("rhs", [model.x, model.u], [model._rhs])
    x, u = np.array([0.3, -2.0]), np.array([1.0, 1.5])
    expected = np.asarray(smooth(np.tile(np.r_[x, u], (6, 1))))[-1]
    np.testing.assert_allclose(np.asarray(rhs(x, u)).ravel(), expected, rtol=1e-10)


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), float("inf"), "1e-3", True])
def test_relu_smoothing_must_be_a_finite_nonnegative_number(bad) -> None:
    _, spec = _spec("iclrnn")
    with pytest.raises(ConfigError, match="relu_smoothing must be a finite number"):
        to_casadi(spec, relu_smoothing=bad)
    with pytest.raises(ConfigError, match="relu_smoothing must be a finite number"):
        to_do_mpc(spec, relu_smoothing=bad)


def test_a_model_folder_path_is_refused_with_the_fix(tmp_path) -> None:
    """A path (the first thing a CLI user has) named only its type 'str'."""
    with pytest.raises(ConfigError, match=r"iclcontrol\.load\(path\)"):
        to_casadi(str(tmp_path))
    with pytest.raises(ConfigError, match=r"iclcontrol\.load\(path\)"):
        to_do_mpc(tmp_path)


def test_to_do_mpc_reports_a_wrong_layout_without_a_length_warning() -> None:
    """A model of a CSV log (3 inputs, 2 outputs, 8 steps, no steps_per_move)
    first warned that the default 10 steps per period ran beyond its 8 and
    then raised the LayoutError that is the actual problem."""
    from iclcontrol.exceptions import IclControlWarning, LayoutError

    net = make_network("iclrnn", 3, 2, hidden=4, layers=1, random_state=0)
    spec = dict(net.export_spec(), steps=8, output_steps=8)
    spec["feature_names"], spec["output_names"] = ["a", "b", "c"], ["y1", "y2"]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always", IclControlWarning)
        with pytest.raises(LayoutError, match="features = states then inputs"):
            to_do_mpc(spec)
    assert not [w for w in rec if issubclass(w.category, IclControlWarning)]


def test_physical_expression_takes_arrays_and_names_a_wrong_shape() -> None:
    """physical_expression (public) raised AttributeError for a list and
    IndexError for a 1-D vector; values of any 2-D form give the Function's
    numbers, other shapes a DimensionError naming the expected one."""
    from iclcontrol.export import physical_expression

    _, spec = _spec("icrnn", seed=6)
    X = np.random.default_rng(3).uniform(-1.0, 1.0, (3, 4))
    expected = np.asarray(to_casadi(spec, steps=3)(X))
    for form in (X, X.tolist(), ca.DM(X)):
        np.testing.assert_array_equal(
            np.asarray(ca.DM(physical_expression(spec, form))), expected
        )
    for bad in (np.ones(4), np.ones((2, 3, 4))):
        with pytest.raises(DimensionError, match=r"\(steps, 4\) matrix"):
            physical_expression(spec, bad)


def test_a_model_of_a_csv_log_exports_one_step_per_period(tmp_path) -> None:
    """A model fit on windows of a CSV log recorded no steps per move, so
    to_do_mpc and the MPC read 10 network steps as one period (the CSTR data's)
    with a warning; a row of a log is one period: x[k+1] is the network's first
    step, as model.predict (torch) gives it."""
    import dataclasses

    import pandas as pd

    from iclcontrol.data import csv_dataset
    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import MPCSettings
    from iclcontrol.mpc.problem import resolve_settings
    from iclcontrol.train import SurrogateModel

    # a first-order lag logged once a minute: y[k+1] = y[k] + 0.2 (u[k] - y[k]),
    # with y[k] in a lagged column of its own (a column may not be both roles)
    rng = np.random.default_rng(1)
    n = 240
    u = np.repeat(rng.uniform(-1.0, 1.0, n // 12), 12)
    y = np.zeros(n + 1)
    for k in range(n):
        y[k + 1] = y[k] + 0.2 * (u[k] - y[k])
    log = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=n, freq="1min"),
            "y_prev": y[:-1],
            "u": u,
            "y": y[1:],
        }
    )
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    data = csv_dataset(path, "time", ["y_prev", "u"], ["y"], window=6, stride=3)
    assert data.steps_per_move == 1
    # the lagged column is the state y at the start of the row: name it so, the
    # layout of to_do_mpc and the MPC (features = states then inputs)
    data = dataclasses.replace(data, feature_names=("y", "u"))
    model = SurrogateModel("iclrnn", hidden=4, max_epochs=3, verbose=False).fit(data)
    assert model.training_data_["steps_per_move"] == 1
    assert model.export_spec()["steps_per_move"] == 1
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always", IclControlWarning)
        dm = to_do_mpc(model)
        settings = resolve_settings(model, MPCSettings())
    assert not [w for w in rec if issubclass(w.category, IclControlWarning)]
    assert settings.steps_per_move == 1
    rhs = ca.Function("rhs", [dm.x, dm.u], [dm._rhs])
    for x, uk in ((0.3, -0.5), (-0.7, 0.9)):
        x_next = float(np.asarray(rhs([x], [uk])).ravel()[0])
        first = model.predict(np.array([[[x, uk]]]))[0, 0, 0]  # torch, step 1
        assert x_next == pytest.approx(first, rel=1e-5, abs=1e-6)
