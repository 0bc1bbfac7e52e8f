"""Tests of iclcontrol.mpc: problem builder, solvers, convexity report, fallback."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

import numpy as np
import pytest

from iclcontrol.exceptions import ConfigError, IclControlWarning
from iclcontrol.mpc import (
    GaussNewtonSQP,
    MPCProblem,
    MPCSettings,
    NlpSolver,
    SolveResult,
    SurrogateMPC,
    midpoint_test,
)
from plants.cstr import CSTR


@pytest.fixture(scope="module")
def model(tiny_iclrnn_two_moves):
    return tiny_iclrnn_two_moves


@pytest.fixture(scope="module")
def plant():
    return CSTR()


def _features(x0, U, spm=10):
    rows = [np.r_[x0, u] for u in U for _ in range(spm)]
    return np.array(rows)[None]


def test_settings_validation() -> None:
    with pytest.raises(ConfigError, match="horizon"):
        MPCSettings(horizon=0)
    with pytest.raises(ConfigError, match="solver"):
        MPCSettings(solver="snopt")
    with pytest.raises(ConfigError, match="disturbance_gain"):
        MPCSettings(disturbance_gain=0.0)
    s = MPCSettings(rate_limits=[1.0, 1e5])
    assert MPCSettings.from_dict(s.to_dict()) == s
    with pytest.raises(ConfigError, match="unknown"):
        MPCSettings.from_dict({"horizon": 2, "colour": "red"})


def test_unknown_override_raises_type_error(model, plant) -> None:
    with pytest.raises(TypeError, match="unexpected"):
        SurrogateMPC(model, plant, horizont=3)


def test_prediction_matches_torch_model(model, plant) -> None:
    """The problem's prediction equals SurrogateModel.predict on the same features."""
    pr = MPCProblem(model, plant, MPCSettings())
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = rng.uniform(-1, 1, pr.nv)
        x0 = np.array([rng.uniform(-1, 1), rng.uniform(-50, 50)])
        Y = pr.predict(v, pr.params(x0))
        expected = model.predict(_features(x0, pr.to_inputs(v)))[0]
        np.testing.assert_allclose(Y, expected, rtol=1e-5, atol=1e-5 * np.ptp(expected))


def test_rollout_feeds_the_predicted_state_back(model, plant) -> None:
    pr = MPCProblem(model, plant, MPCSettings(prediction="rollout"))
    x0, v = np.array([0.5, -20.0]), np.array([0.3, -0.2, -0.5, 0.9])
    Y = pr.predict(v, pr.params(x0))
    U = pr.to_inputs(v)
    first = model.predict(_features(x0, U[:1]))[0]
    second = model.predict(_features(first[-1], U[1:]))[0]
    # single-move predictions of a model trained on two-move sequences (first 10 steps)
    np.testing.assert_allclose(Y[:10], first[:10], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Y[10:], second[:10], rtol=1e-5, atol=1e-5)


def test_solution_respects_bounds_and_lyapunov_on_model_prediction(model, plant):
    """At a GN-SQP solution: inputs in bounds; V(x_pred) <= V(x0) if no slack used."""
    ctl = SurrogateMPC(model, plant, offset_free=False)
    for x0 in ([1.5, -70.0], [-1.5, 70.0], [0.3, 5.0]):
        ctl.reset()
        res = ctl.step(x0)
        assert res.success and not res.fallback
        assert np.all(res.plan >= plant.input_lower - 1e-9)
        assert np.all(res.plan <= plant.input_upper + 1e-9)
        pred = model.predict(_features(np.array(x0), res.plan))[0]
        V0 = CSTR.lyapunov(np.array(x0))
        V1 = CSTR.lyapunov(pred[9])
        if res.max_violation <= 1e-9:
            assert V1 <= V0 * (1 + 1e-6) + 1e-6
        else:  # slack used: the reported violation is the normalized excess
            np.testing.assert_allclose(
                (V1 - V0) / (V0 + 1), res.max_violation, rtol=1e-3
            )


def _untrained_spec(model, kind: str, *shape: int, **kw) -> dict:
    """An untrained network's spec with the fixture model's scalers, names and
    steps per move (a problem of another network kind on the same data)."""
    from iclcontrol.models import make_network

    spec = make_network(kind, *shape, **kw).export_spec()
    full = model.export_spec()
    for key in ("x_scaler", "y_scaler", "feature_names", "output_names"):
        spec[key] = full[key]
    spec["steps_per_move"] = full["steps_per_move"]
    return spec


def _convex_settings(**kw) -> MPCSettings:
    # economic (linear, non-negative on outputs) cost + output upper bound, no
    # tracking term, no Lyapunov: the report must call this convex
    return MPCSettings(
        state_weights=(0.0, 0.0),
        input_weights=(0.1, 1e-12),
        economic_state_weights=(1.0, 0.05),
        output_upper=(5.0, 100.0),
        lyapunov=False,
        **kw,
    )


def test_convexity_report_and_midpoint_checks(model, plant) -> None:
    convex = MPCProblem(model, plant, _convex_settings())
    assert convex.convexity.convex, str(convex.convexity)
    p = convex.params([0.5, -10.0])
    # claimed convex -> no midpoint violations of the objective or the outputs
    assert midpoint_test(lambda v: convex.objective(v, p), convex.nv, 150) == 0.0
    assert midpoint_test(lambda v: convex.predict(v, p), convex.nv, 150) == 0.0

    reference = MPCProblem(model, plant, MPCSettings())
    assert not reference.convexity.convex
    reasons = {i.component: i.convex for i in reference.convexity.items}
    assert reasons["tracking cost"] is False and reasons["Lyapunov constraint"] is False
    rollout = MPCProblem(model, plant, MPCSettings(prediction="rollout"))
    assert {i.component: i.convex for i in rollout.convexity.items}[
        "prediction"
    ] is False
    rnn_spec = {**model.export_spec(), "kind": "rnn", "activation": "tanh"}
    assert not MPCProblem(rnn_spec, plant, _convex_settings()).convexity.convex
    assert "NOT provably convex" in str(reference.convexity)


@pytest.mark.parametrize("plugin", ["ipopt", "sqpmethod"])
def test_gauss_newton_sqp_agrees_with_exact_hessian_solvers(model, plant, plugin):
    """On a smooth (tanh RNN) tracking LMPC both solvers reach the same minimum."""

    spec = _untrained_spec(model, "rnn", 4, 2, hidden=8, random_state=1)
    pr = MPCProblem(spec, plant, MPCSettings(tol=1e-8, lyapunov=False))
    gn = GaussNewtonSQP(pr)
    ref = NlpSolver(pr, plugin)
    for x0 in ([0.5, -10.0], [-0.8, 30.0]):
        p = pr.params(x0)
        a = gn.solve(np.zeros(pr.nv), p)
        b = ref.solve(np.zeros(pr.nv), p)
        assert a.success and b.success, (a.status, b.status)
        np.testing.assert_allclose(a.objective, b.objective, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(a.v, b.v, atol=1e-3)


def test_gauss_newton_sqp_on_convex_relu_problem(model, plant) -> None:
    """Convex but piecewise-linear objective: GN-SQP is at least as good as IPOPT
    on the exact (unsmoothed) network."""
    pr = MPCProblem(model, plant, replace(_convex_settings(), relu_smoothing=0.0))
    gn, ip = GaussNewtonSQP(pr), NlpSolver(pr, "ipopt")
    for x0 in ([0.5, -10.0], [-0.8, 30.0]):
        p = pr.params(x0)
        a, b = gn.solve(np.zeros(pr.nv), p), ip.solve(np.zeros(pr.nv), p)
        assert a.success and a.max_violation < 1e-5
        fa, fb = pr.merit(a.v, p)[0], pr.merit(b.v, p)[0]
        assert fa <= fb + 1e-3 * (1 + abs(fb))
        # IPOPT may stall at the kinks of a ReLU network, and the minimizer of a
        # piecewise-linear objective need not be unique, so compare objectives:
        # IPOPT started from GN-SQP's solution finds nothing better
        c = ip.solve(a.v, p)
        fc = pr.merit(c.v, p)[0] if c.max_violation < 1e-5 else np.inf
        assert fc >= fa - 1e-4 * (1 + abs(fa))


@pytest.mark.parametrize("x0", [[1.5, -70.0], [1.0, -40.0]])
def test_reference_lmpc_gn_sqp_not_worse_than_ipopt(model, plant, x0) -> None:
    """On the (non-convex) reference LMPC, cold-started at v = 0, GN-SQP ends
    within 0.1 % of IPOPT's objective. From both states its merit line search
    finds no decrease at a kink of the ReLU network on the way; it stopped there,
    0.72 % and 0.21 % above IPOPT, until the retry in a smaller step box (now
    -0.0003 % and -0.05 %, docs/mpc_benchmark.md)."""
    pr = MPCProblem(model, plant, MPCSettings())
    gn, ip = GaussNewtonSQP(pr), NlpSolver(pr, "ipopt")
    p = pr.params(x0)
    a, b = gn.solve(np.zeros(pr.nv), p), ip.solve(np.zeros(pr.nv), p)
    assert a.success and b.success, (a.status, b.status)
    assert a.objective <= b.objective * (1 + 1e-3) + 1e-6


@pytest.mark.parametrize("x0", [[1.5, -70.0], [1.0, -40.0]])
def test_gn_sqp_does_not_stop_short_of_a_local_minimum_at_a_kink(
    model, plant, x0
) -> None:
    """Where GN-SQP ends, IPOPT started there finds no point more than 0.1 %
    better: a local minimum, not merely a point where the line search along one
    QP step failed (before the step-box retry, IPOPT from GN-SQP's end points
    went lower)."""
    pr = MPCProblem(model, plant, MPCSettings())
    gn, ip = GaussNewtonSQP(pr), NlpSolver(pr, "ipopt")
    p = pr.params(x0)
    a = gn.solve(np.zeros(pr.nv), p)
    b = ip.solve(a.v, p)
    assert a.success and b.success, (a.status, b.status)
    assert a.objective <= b.objective * (1 + 1e-3) + 1e-6


def test_infeasible_hard_problem_falls_back_without_raising(model, plant) -> None:
    """An impossible hard output bound: no exception, the safe input is applied."""
    ctl = SurrogateMPC(
        model,
        plant,
        output_upper=(-50.0, -1e4),
        soft_constraints=False,
        lyapunov=False,
        safe_input=(0.5, 1000.0),
    )
    res = ctl.step([0.2, 3.0])
    assert res.fallback and not res.success
    assert res.fallback_reason == "safe input"
    np.testing.assert_allclose(res.u, [0.5, 1000.0])
    res2 = ctl.step([0.2, 3.0])
    assert res2.fallback


def test_failed_solve_applies_shifted_previous_plan(model, plant, monkeypatch) -> None:
    ctl = SurrogateMPC(model, plant)
    first = ctl.step([1.0, -40.0])
    assert not first.fallback
    planned_second = first.plan[1].copy()

    def failing(v0, p, lam0=None):
        return SolveResult(
            v0, False, "forced failure", 3, np.nan, 0.0, 0.1, np.zeros(0)
        )

    monkeypatch.setattr(ctl.solver, "solve", failing)
    second = ctl.step([0.9, -35.0])
    assert second.fallback and second.fallback_reason == "shifted previous plan"
    np.testing.assert_allclose(second.u, planned_second)
    # the reported plan is what is applied (it was the stale plan, starting with
    # the input applied one period before)
    np.testing.assert_allclose(second.plan, [planned_second, planned_second])
    third = ctl.step([0.8, -30.0])  # horizon 2: the plan is used up
    assert third.fallback and third.fallback_reason == "safe input"
    np.testing.assert_allclose(third.plan, np.tile(plant.u_steady, (2, 1)))

    def raising(v0, p, lam0=None):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(ctl.solver, "solve", raising)
    fourth = ctl.step([0.7, -25.0])
    assert fourth.fallback and "solver crashed" in fourth.status


def test_warm_start_after_a_fallback_skips_every_period_that_passed(
    model, plant, monkeypatch
) -> None:
    """Horizon 3: a plan solved at k=0, a failed solve at k=1 (move 1 of that plan
    applied). At k=2 two periods have passed since the plan was made, so the warm
    start is its move 2 (then repeated), not move 1 (it was shifted by one)."""
    ctl = SurrogateMPC(model, plant, horizon=3, prediction="rollout")
    plan = np.array([[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]]).T.ravel()  # moves a, b, c
    starts = []

    def solve(v0, p, lam0=None):
        starts.append(np.asarray(v0, dtype=float).copy())
        ok = len(starts) != 2  # the second solve fails
        return SolveResult(plan.copy(), ok, "forced", 1, 0.0, 0.0, 0.1, None)

    monkeypatch.setattr(ctl.solver, "solve", solve)
    ctl.step([1.0, -40.0])
    second = ctl.step([0.9, -35.0])
    assert second.fallback_reason == "shifted previous plan"
    ctl.step([0.8, -30.0])
    move = plan.reshape(3, 2)
    np.testing.assert_array_equal(starts[1], move[[1, 2, 2]].ravel())
    np.testing.assert_array_equal(starts[2], move[[2, 2, 2]].ravel())


def test_settings_extra_is_deprecated_and_says_so() -> None:
    """``extra`` was stored and saved but never read: a user's
    ``extra={"horizon": 5}`` silently did nothing. Saved settings still load."""
    from iclcontrol.exceptions import IclControlWarning

    with pytest.warns(IclControlWarning, match=r"extra is deprecated and ignored"):
        s = MPCSettings(extra={"horizon": 5, "note": "run 1"})
    assert s.horizon is None  # the default (the model's moves), not extra's 5
    with pytest.warns(IclControlWarning, match=r"MPCSettings\(horizon=\.\.\.\)"):
        MPCSettings.from_dict(s.to_dict())
    with pytest.raises(ConfigError, match="extra must be a dict"):
        MPCSettings(extra=[1])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        saved = MPCSettings().to_dict()
        assert saved["extra"] == {}
        assert MPCSettings.from_dict(saved) == MPCSettings()


def test_rate_limits_hold(model, plant) -> None:
    ctl = SurrogateMPC(model, plant, rate_limits=(0.5, 5e4), safe_input=(0.0, 0.0))
    res = ctl.step([1.5, -70.0])
    assert res.success
    du = np.diff(np.vstack([[0.0, 0.0], res.plan]), axis=0)
    assert np.all(np.abs(du[:, 0]) <= 0.5 + 1e-6)
    assert np.all(np.abs(du[:, 1]) <= 5e4 * (1 + 1e-6))


def test_offset_free_estimate_is_the_prediction_error(model, plant) -> None:
    """After one step the drift estimate equals x_meas - model prediction."""
    ctl = SurrogateMPC(model, plant, disturbance_gain=1.0)
    x0 = np.array([0.4, -10.0])
    res = ctl.step(x0)
    x1 = plant.step(x0, res.u)[0]
    ctl.step(x1)
    pred = model.predict(_features(x0, np.tile(res.u, (2, 1))))[0][9]
    np.testing.assert_allclose(ctl.disturbance_[0], x1 - pred, rtol=1e-4, atol=1e-5)
    # no two-move history yet: the second move's offset is twice the first
    np.testing.assert_allclose(ctl.disturbance_[1], 2 * ctl.disturbance_[0])


def test_offset_free_two_move_estimate(model, plant) -> None:
    """With two steps of history D[1] is the two-move prediction error."""
    ctl = SurrogateMPC(model, plant, disturbance_gain=1.0)
    x0 = np.array([0.6, -15.0])
    ua = ctl.step(x0).u
    x1 = plant.step(x0, ua)[0]
    ub = ctl.step(x1).u
    x2 = plant.step(x1, ub)[0]
    ctl.step(x2)
    pred = model.predict(_features(x0, np.vstack([ua, ub])))[0]
    np.testing.assert_allclose(ctl.disturbance_[1], x2 - pred[19], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["iclrnn", "rnn", "ficnn"])
def test_tangent_jacobian_equals_casadi_ad(model, plant, kind) -> None:
    """The hand-propagated [h, dh/dv] Jacobian equals CasADi's AD Jacobian."""
    import casadi as ca

    spec = _untrained_spec(model, kind, 4, 2, hidden=8, random_state=2)
    settings = MPCSettings(cost_steps="all", output_upper=(3.0, 100.0), rate_weight=0.1)
    pr = MPCProblem(spec, plant, settings)
    assert pr.derivative_mode == "tangent"
    sym = pr._sym
    rows = ca.vertcat(sym["r"], sym["e"], sym["g"])
    ad = ca.Function("ad", [sym["v"], sym["p"]], [rows, ca.jacobian(rows, sym["v"])])
    rng = np.random.default_rng(4)
    for _ in range(3):
        v = rng.uniform(-1, 1, pr.nv)
        p = pr.params(
            rng.normal(size=2) * [0.5, 20], rng.normal(size=(2, 2)), [0.1, 1e4]
        )
        z, Jz, y1 = pr.functions.derivs(v, p)
        z_ad, J_ad = ad(v, p)
        n = z_ad.shape[0]
        np.testing.assert_allclose(
            np.asarray(z)[:n], np.asarray(z_ad), rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(
            np.asarray(Jz)[:n], np.asarray(J_ad), rtol=1e-9, atol=1e-9
        )
        np.testing.assert_allclose(
            np.asarray(y1).ravel(), pr.predict(v, p)[9], atol=1e-10
        )


def test_lstm_and_rollout_use_casadi_ad(model, plant) -> None:

    spec = _untrained_spec(model, "lstm", 4, 2, hidden=4, random_state=0)
    assert MPCProblem(spec, plant, MPCSettings()).derivative_mode == "ad"
    rollout = MPCProblem(model, plant, MPCSettings(prediction="rollout"))
    assert rollout.derivative_mode == "ad"


def test_softplus_smoothing_is_within_tau_log2_of_relu() -> None:
    """Hand bound: 0 <= tau log(1 + e^(z/tau)) - max(z, 0) <= tau log 2 (at z = 0)."""
    import casadi as ca

    from iclcontrol.export.casadi_export import _act

    z = np.linspace(-5.0, 5.0, 2001)
    relu = np.maximum(z, 0.0)
    np.testing.assert_array_equal(np.asarray(_act("relu", ca.DM(z))).ravel(), relu)
    for tau in (1e-1, 1e-3):
        smooth = np.asarray(_act("relu", ca.DM(z), tau)).ravel()
        gap = smooth - relu
        assert np.all(gap >= 0.0)
        assert gap.max() <= tau * np.log(2.0) + 1e-15
        np.testing.assert_allclose(gap[1000], tau * np.log(2.0), rtol=1e-12)
        # no overflow far from the kink; the gap vanishes there
        assert np.all(np.isfinite(smooth)) and gap[0] < 1e-12 and gap[-1] < 1e-12
    with pytest.raises(ConfigError, match="relu_smoothing"):
        MPCSettings(relu_smoothing=-1e-3)


def test_relu_smoothing_default_applies_to_relu_networks_only(model, plant) -> None:
    """None means 1e-3 for ReLU networks, nothing for tanh; explicit values win."""
    assert MPCSettings().relu_smoothing_for("relu") == 1e-3
    assert MPCSettings().relu_smoothing_for("tanh") == 0.0
    assert MPCSettings(relu_smoothing=0.0).relu_smoothing_for("relu") == 0.0
    assert MPCSettings(relu_smoothing=1e-2).relu_smoothing_for("tanh") == 0.0
    relu = NlpSolver(MPCProblem(model, plant, MPCSettings(solver="ipopt")))
    exact = NlpSolver(
        MPCProblem(model, plant, MPCSettings(solver="ipopt", relu_smoothing=0.0))
    )
    assert relu.relu_smoothing == 1e-3 and exact.relu_smoothing == 0.0


def test_smoothed_nlp_converges_to_the_exact_problem(model, plant) -> None:
    """The softplus NLP's objective tends to the ReLU problem's as tau -> 0."""
    import casadi as ca

    pr = MPCProblem(model, plant, MPCSettings(solver="ipopt"))
    rng = np.random.default_rng(0)
    p = pr.params([1.0, -40.0])
    zeros = np.zeros(pr.n_slack)
    gaps = []
    for tau in (1e-1, 1e-2, 1e-3, 1e-5):
        nlp = pr.nlp(tau)
        f = ca.Function("f", [nlp["x"], nlp["p"]], [nlp["f"]])
        gap = 0.0
        for _ in range(5):
            v = rng.uniform(-1, 1, pr.nv)
            exact = pr.objective(v, p)
            gap = max(gap, abs(float(f(np.r_[v, zeros], p)) - exact) / (1 + exact))
        gaps.append(gap)
    assert gaps[-1] < 1e-4
    assert gaps[-1] < gaps[-2] < gaps[0]


def test_ipopt_on_smoothed_relu_agrees_with_gn_sqp(model, plant) -> None:
    """Smoothed-network IPOPT reaches gn_sqp's exact merit value and first move."""
    s = MPCSettings(solver="ipopt", relu_smoothing=1e-3)
    pr = MPCProblem(model, plant, s)
    gn, ip = GaussNewtonSQP(pr), NlpSolver(pr, "ipopt")
    for x0 in ([1.5, -70.0], [-1.5, 70.0], [0.3, -10.0]):
        p = pr.params(x0)
        a, b = gn.solve(np.zeros(pr.nv), p), ip.solve(np.zeros(pr.nv), p)
        assert a.success and b.success, (a.status, b.status)
        assert b.status in ("Solve_Succeeded", "Solved_To_Acceptable_Level")
        # the reported objective is the exact (ReLU) problem's merit value
        fb = pr.merit(b.v, p)[0]
        assert b.objective == pytest.approx(fb, rel=1e-12)
        fa = pr.merit(a.v, p)[0]
        assert fb <= fa + 1e-2 * (1 + abs(fa))
        if fb < fa - 1e-4 * (1 + abs(fa)):
            # IPOPT found a strictly better point than gn_sqp's (which stops after a
            # few steps on a flat merit): the first moves need not agree then
            continue
        np.testing.assert_allclose(b.v[: pr.nu], a.v[: pr.nu], atol=2e-2)


def test_bench_cache_rejects_models_built_with_other_defaults(model) -> None:
    """A cached surrogate saved before learned initial states existed is retrained."""
    import copy

    from iclcontrol.mpc.benchmark import _has_current_defaults

    assert _has_current_defaults(model)
    old = copy.copy(model)
    old.config_ = replace(model.config_, learn_initial_state=False)
    assert not _has_current_defaults(old)


def test_model_of_another_process_is_rejected_by_name(model, plant) -> None:
    """Same counts, other names (a CSV model of valve/feed/...): a LayoutError,
    from the same check to_do_mpc uses."""
    from iclcontrol.exceptions import DimensionError, LayoutError
    from iclcontrol.export import check_layout, to_do_mpc

    spec = dict(model.export_spec())
    spec["feature_names"] = ["valve", "feed", "temp_in", "press"]
    spec["output_names"] = ["temp", "flow"]
    with pytest.raises(LayoutError, match=r"features \['valve'.*expected \['CA'"):
        SurrogateMPC(spec, plant)
    with pytest.raises(ConfigError, match="valve"):  # LayoutError is a ConfigError
        to_do_mpc(spec, state_names=["CA", "T"], input_names=["CA0", "Q"])
    # outputs right, features in another order: also caught
    spec = dict(model.export_spec(), feature_names=["CA", "T", "Q", "CA0"])
    with pytest.raises(DimensionError, match="CA0"):  # ... and a DimensionError
        MPCProblem(spec, plant, MPCSettings())
    assert check_layout(model.export_spec(), plant.state_names, plant.input_names) == (
        ["CA", "T"],
        ["CA0", "Q"],
    )


def test_far_output_bounds_soft_gn_sqp_matches_ipopt(model, plant) -> None:
    """Output bounds far from x0 with slacks (always feasible): gn_sqp returns a
    best-effort solution with IPOPT's objective, not a QP failure."""
    bounds = {"output_lower": (-0.01, -0.1), "output_upper": (0.01, 0.1)}
    gn = SurrogateMPC(model, plant, **bounds)
    ip = SurrogateMPC(model, plant, solver="ipopt", relu_smoothing=0.0, **bounds)
    a, b = gn.step([1.5, -70.0]), ip.step([1.5, -70.0])
    assert b.success, b.status
    assert a.success and not a.fallback, a.status
    assert a.max_violation > 1.0  # the bounds cannot be met: slacks are used
    # objective (slack penalties ~1e11 included) equal to IPOPT's, or better
    assert a.objective <= b.objective * (1 + 1e-6)


def test_gn_sqp_qp_fallback_solves_what_qrqp_fails_on(model, plant) -> None:
    """When qrqp fails on a subproblem the HiGHS retry returns its optimum; the
    expected optimum is computed independently with IPOPT on the same QP."""
    import casadi as ca

    pr = MPCProblem(
        model, plant, MPCSettings(output_lower=(-0.01, -0.1), output_upper=(0.01, 0.1))
    )
    gn = GaussNewtonSQP(pr)
    p = pr.params([1.5, -70.0])
    v = np.zeros(pr.nv)
    r, Jr, _, ge, g, Jg, _, _ = pr.unpack(pr.functions.derivs.call([v, p]))
    n = gn.n
    H = np.zeros((n, n))
    H[: pr.nv, : pr.nv] = 2 * Jr.T @ Jr
    H[pr.nv :, pr.nv :] = gn._H_slack
    q = np.concatenate([2 * Jr.T @ r + ge, gn._q_slack])
    A = np.hstack([Jg, -gn.S])
    lbx, ubx = (
        gn.lbx - np.r_[v, np.zeros(pr.n_slack)],
        gn.ubx - np.r_[v, 0 * gn._q_slack],
    )

    qrqp = gn.qp

    class Failing:  # qrqp as it fails on such problems
        def call(self, args):
            return qrqp.call(args)

        def stats(self):
            return {"success": False, "return_status": "forced"}

    gn.qp = Failing()
    z, _lam, status = gn._solve_qp(H, q, A, g, Jg, lbx, ubx, p)
    assert status == "" and z is not None
    x = ca.MX.sym("x", n)
    ref = ca.nlpsol(
        "ref",
        "ipopt",
        {
            "x": x,
            "f": 0.5 * ca.bilin(ca.DM(H), x, x) + ca.dot(ca.DM(q), x),
            "g": ca.mtimes(ca.DM(A), x),
        },
        {"ipopt.print_level": 0, "print_time": False, "ipopt.tol": 1e-12},
    )(lbx=lbx, ubx=ubx, ubg=-g)
    zr = ref["x"].full().ravel()
    f = 0.5 * z @ H @ z + q @ z
    fr = 0.5 * zr @ H @ zr + q @ zr
    assert f == pytest.approx(fr, rel=1e-7)
    assert np.max(A @ z + g) <= 1e-6 * max(1.0, np.max(np.abs(g)))


def test_hard_infeasible_output_bounds_are_reported_as_infeasible(model, plant):
    ctl = SurrogateMPC(
        model,
        plant,
        output_lower=(-0.01, -0.1),
        output_upper=(0.01, 0.1),
        soft_constraints=False,
    )
    res = ctl.step([1.5, -70.0])
    assert res.fallback and not res.success
    assert res.status.startswith(
        "infeasible: output bounds cannot be met from x0=(1.5, -70)"
    ), res.status
    assert "use soft constraints" in res.status


def test_step_validates_the_measured_state(model, plant) -> None:
    from iclcontrol.exceptions import DataError, DimensionError

    ctl = SurrogateMPC(model, plant)
    with pytest.raises(DataError, match="NaN"):
        ctl.step([np.nan, 0.0])
    with pytest.raises(DimensionError, match=r"x must be .* 2 entries .*got 3"):
        ctl.step([1.5, -70.0, 3.0])
    with pytest.raises(DimensionError, match="x must"):
        ctl.step([1.5])


def test_safe_input_outside_bounds_is_an_error(model, plant) -> None:
    with pytest.raises(ConfigError, match=r"safe_input .* outside .* input bounds"):
        SurrogateMPC(model, plant, safe_input=(100.0, 1e9))


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("relu_smoothing", float("inf"), "relu_smoothing must be a finite"),
        ("tol", float("inf"), "tol must be a finite"),
        ("slack_l1", float("inf"), "slack_l1 must be a finite"),
        ("slack_l2", float("nan"), "slack_l2 must be a finite"),
        ("lyapunov_P", ((1.0, 0.0), (0.0, float("nan"))), "finite"),
        ("lyapunov_P", ((1.0, 0.0), (0.0, -1.0)), "positive definite"),
        ("lyapunov_P", ((1.0, 2.0), (2.0, 1.0)), "positive definite"),  # eig -1, 3
        ("lyapunov_P", ((1.0, 0.5), (0.0, 1.0)), "symmetric"),
        ("lyapunov_P", ((1.0, 0.0, 0.0),), "square"),
    ],
)
def test_non_finite_or_invalid_settings_are_refused(name, value, match) -> None:
    with pytest.raises(ConfigError, match=match):
        MPCSettings(**{name: value})


def test_horizon_longer_than_training_sequences_warns(model, plant) -> None:
    """The fixture is trained on 2-move (20-step) sequences: horizon 3 needs 30."""
    from iclcontrol.exceptions import IclControlWarning

    with pytest.warns(IclControlWarning, match=r"30 steps .* trained on 20-step"):
        ctl = SurrogateMPC(model, plant, horizon=3)
    assert "horizon <= 2" in ctl.problem.warnings[0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        SurrogateMPC(model, plant, horizon=2)
        SurrogateMPC(model, plant, horizon=3, prediction="rollout")


def test_a_model_of_another_sampling_period_warns(model, plant) -> None:
    """cstr_dataset records 1.8 s between steps and 10 steps per move: 18 s =
    0.005 h, the CSTR's period (no warning); a CSTR stepped every 0.01 h (36 s)
    would meet the predicted states at other times."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc.problem import sampling_period_warnings

    spec = model.export_spec()
    assert spec["sample_interval_s"] == pytest.approx(1.8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        SurrogateMPC(model, plant)
    slow = CSTR()
    slow.sampling_period = 0.01
    with pytest.warns(IclControlWarning, match=r"one move of the model is 18 s"):
        ctl = SurrogateMPC(model, slow)
    assert any("0.01 h = 36 s" in w for w in ctl.problem.warnings)
    # by hand: 60 s records, one per move, against 0.25 h = 900 s; within 1 %: none
    (note,) = sampling_period_warnings({"sample_interval_s": 60.0}, 1, slow)
    assert "every 60 s" in note and "--resample 36s" in note
    assert sampling_period_warnings({"sample_interval_s": 3.62}, 10, slow) == []
    assert sampling_period_warnings({"sample_interval_s": None}, 10, slow) == []


def test_sqpmethod_solves_the_reference_problem_like_ipopt(model, plant) -> None:
    """Reference LMPC closed loop from (-1.5, 70): sqpmethod solves every step
    (with the former options, tol 1e-8, no convexification, min_step_size 1e-10,
    4 of these 10 steps ended Search_Direction_Becomes_Too_Small) and its
    closed-loop cost equals IPOPT's (same smoothed NLP; IPOPT is the independent
    reference)."""
    from iclcontrol.mpc import closed_loop, closed_loop_cost

    a = closed_loop(
        plant, SurrogateMPC(model, plant, solver="sqpmethod"), [-1.5, 70.0], 10
    )
    b = closed_loop(plant, SurrogateMPC(model, plant, solver="ipopt"), [-1.5, 70.0], 10)
    assert b.iloc[:-1]["success"].all()
    assert a.iloc[:-1]["success"].all(), a["status"].tolist()
    assert closed_loop_cost(a) == pytest.approx(closed_loop_cost(b), rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # no prediction can satisfy CA >= 1 and CA <= 0: was accepted, and every
        # step "converged" with a soft violation of 6e7
        (
            {"output_lower": (1.0, -10.0), "output_upper": (0.0, 10.0)},
            r"output 0: lower 1 > upper 0",
        ),
        ({"state_weights": "ab"}, "state_weights must be a sequence of numbers"),
        ({"disturbance_gain": "a"}, r"disturbance_gain must be in \(0, 1\]"),
    ],
)
def test_settings_errors_name_the_setting(kwargs, match) -> None:
    """These were accepted, or raised numpy/Python errors naming no setting."""
    with pytest.raises(ConfigError, match=match):
        MPCSettings(**kwargs)


def test_equal_output_bounds_and_numpy_integers_are_accepted() -> None:
    s = MPCSettings(
        output_lower=(0.0, 0.0), output_upper=(0.0, 0.0), horizon=np.int64(3)
    )
    # a horizon from numpy (np.arange, a sweep) is an integer; stored as int, JSON-able
    assert s.horizon == 3 and type(s.horizon) is int


@pytest.mark.parametrize("solver", ["ipopt", "sqpmethod"])
def test_missing_casadi_nlp_plugin_is_a_solver_unavailable_error(
    model, plant, solver, monkeypatch
) -> None:
    """A CasADi build without the plugin: was CasADi's RuntimeError from deep
    inside nlpsol; now our error names the plugin and the gn_sqp alternative."""
    import casadi as ca

    from iclcontrol.exceptions import SolverUnavailableError
    from iclcontrol.mpc import DoMPCController

    real = ca.has_nlpsol
    monkeypatch.setattr(ca, "has_nlpsol", lambda name: name != solver and real(name))
    with pytest.raises(SolverUnavailableError, match=rf"'{solver}' is not available"):
        SurrogateMPC(model, plant, solver=solver)
    # gn_sqp needs no NLP plugin: still works
    assert SurrogateMPC(model, plant, solver="gn_sqp").step([0.1, 1.0]).success
    if solver == "ipopt":
        with pytest.raises(SolverUnavailableError, match="gn_sqp"):
            DoMPCController(plant)


def test_gn_sqp_does_not_call_a_feasible_hard_problem_infeasible(model, plant) -> None:
    """gn_sqp stopped on a small QP step without taking it: from an iterate a
    few 1e-6 outside a hard row (where its merit line search can leave it) it
    reported 'infeasible: ... cannot be met' and the controller fell back, although
    the step it computed restores the row. Here the start is the solution of a
    problem with an active hard bound, moved 3e-6 outside it."""
    free = SurrogateMPC(model, plant, horizon=1, lyapunov=False, offset_free=False)
    x0 = np.array([1.5, -70.0])
    p = free.problem.params(x0)
    v_free = free.solver.solve(np.zeros(free.problem.nv), p).v
    t_free = free.problem.predict(v_free, p)[:, 1].max()
    # T may not exceed the unconstrained plan's peak minus 1 K: an active hard row
    ctl = SurrogateMPC(
        model,
        plant,
        horizon=1,
        lyapunov=False,
        offset_free=False,
        soft_constraints=False,
        output_upper=(1e3, float(t_free) - 1.0),
    )
    pr = ctl.problem
    best = ctl.solver.solve(v_free, p)
    assert best.success
    _, g, Jg = (lambda out: (out[0], out[4], out[5]))(
        pr.unpack(pr.functions.derivs.call([best.v, p]))
    )
    i = int(np.argmax(g))
    assert abs(g[i]) < 1e-6  # the bound is active at the optimum
    start = best.v + 3e-6 * Jg[i] / (Jg[i] @ Jg[i])  # row i at about +3e-6
    assert np.max(np.abs(start - best.v)) < ctl.settings.tol  # a "small" step away
    assert NlpSolver(pr, "ipopt").solve(start, p).success  # feasible from there
    res = ctl.solver.solve(start, p)
    assert res.success, res.status
    assert res.max_violation <= 1e-6


def test_setpoint_with_the_origin_centred_lyapunov_constraint_warns(
    model, plant
) -> None:
    """V(x) = x' P x <= V(x_now) forbids moving away from the origin, so a setpoint
    elsewhere was silently not tracked (the loop settles where V stops it)."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning

    with pytest.warns(IclControlWarning, match="centred at the origin"):
        ctl = SurrogateMPC(model, plant, state_setpoint=(0.5, -5.0))
    assert any("lyapunov=False" in w for w in ctl.problem.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IclControlWarning)
        SurrogateMPC(model, plant, state_setpoint=(0.5, -5.0), lyapunov=False)
        SurrogateMPC(model, plant, state_setpoint=(0.0, 0.0))


def test_output_bounds_accept_none_or_infinity_per_entry() -> None:
    """Every output had to be bounded (finite numbers only): a user could not bound
    T and leave CA free. None or the infinity of that side is "no bound"."""
    s = MPCSettings(output_lower=(None, -30.0), output_upper=(np.inf, 30.0))
    assert s.output_lower == (-np.inf, -30.0) and s.output_upper == (np.inf, 30.0)
    # the run folder's JSON writes infinities as null; they load back as free
    from iclcontrol.commands.common import json_safe

    d = json_safe(s.to_dict())
    assert d["output_lower"] == [None, -30.0] and d["output_upper"] == [None, 30.0]
    assert MPCSettings.from_dict(d) == s
    # the other infinity (no prediction meets it) and NaN are errors
    with pytest.raises(ConfigError, match="output_upper entries"):
        MPCSettings(output_upper=(-np.inf, 1.0))
    with pytest.raises(ConfigError, match="output_lower entries"):
        MPCSettings(output_lower=(np.inf, 1.0))
    with pytest.raises(ConfigError, match="output_lower entries"):
        MPCSettings(output_lower=(np.nan, 1.0))


def test_output_bound_scale_is_per_output() -> None:
    """Rows are divided by the width of the output's range when both of its
    bounds are finite, else by 1 (by hand: CA in [-1, 1] -> 2; T: upper only)."""
    from iclcontrol.mpc.problem import output_bound_scale

    s = MPCSettings(output_lower=(-1.0, None), output_upper=(1.0, 30.0))
    np.testing.assert_array_equal(output_bound_scale(s, 2), [2.0, 1.0])
    np.testing.assert_array_equal(
        output_bound_scale(MPCSettings(output_upper=(1.0, 30.0)), 2), [1.0, 1.0]
    )


@pytest.mark.parametrize("solver", ["ipopt", "gn_sqp"])
def test_one_output_free_solves_like_a_huge_finite_bound(model, plant, solver) -> None:
    """T bounded (active), CA free (inf or None): the plan equals the one with CA
    bounded by 1e6 (an inactive row), T meets its bound, and no row is built for
    the free output."""
    base = {"horizon": 1, "lyapunov": False, "offset_free": False, "solver": solver}
    x0 = np.array([1.5, -70.0])
    free = SurrogateMPC(model, plant, **base)
    p = free.problem.params(x0)
    v_free = free.solver.solve(np.zeros(free.problem.nv), p).v
    bound = float(free.problem.predict(v_free, p)[:, 1].max()) - 1.0  # active
    plans = {}
    for ca_bound in (np.inf, None, 1e6):
        ctl = SurrogateMPC(model, plant, output_upper=(ca_bound, bound), **base)
        # 10 network steps, one row per bounded output
        assert ctl.problem.ng == (20 if ca_bound == 1e6 else 10)
        res = ctl.solver.solve(v_free, p)
        assert res.success, res.status
        Y = ctl.problem.predict(res.v, p)
        # soft rows, exact l1 penalty: met at the solution (solver tolerance)
        assert Y[:, 1].max() <= bound + 1e-5
        assert res.max_violation <= 1e-5
        assert Y[:, 1].max() >= bound - 1e-3  # and active: the test means something
        plans[ca_bound] = (res.v, Y)
    np.testing.assert_array_equal(plans[np.inf][0], plans[None][0])
    # the 1e6 row is inactive: the same optimum (solver tolerance)
    np.testing.assert_allclose(plans[np.inf][0], plans[1e6][0], atol=1e-4)
    np.testing.assert_allclose(plans[np.inf][1], plans[1e6][1], rtol=1e-4, atol=1e-4)


def test_mixed_free_sides_hard_match_far_bounds(model, plant) -> None:
    """Hard bounds CA >= -0.5 only and T <= t_max only (active): IPOPT and gn_sqp
    meet them and find the optimum gn_sqp finds with the free sides at -/+1e6
    (inactive rows). Why not IPOPT with the far bounds: the T row is then
    normalized by the 1e6-wide range, and IPOPT's 1e-8 constraint tolerance
    becomes 0.01 K (measured); with a free side the row is in K."""
    base = {"horizon": 1, "lyapunov": False, "offset_free": False}
    base["soft_constraints"] = False
    x0 = np.array([1.5, -70.0])
    free = SurrogateMPC(model, plant, **base)
    p = free.problem.params(x0)
    v_free = free.solver.solve(np.zeros(free.problem.nv), p).v
    t_max = float(free.problem.predict(v_free, p)[:, 1].max()) - 1.0
    far = SurrogateMPC(
        model, plant, output_lower=(-0.5, -1e6), output_upper=(1e6, t_max), **base
    )
    ref = far.solver.solve(v_free, p)
    assert ref.success, ref.status
    for solver in ("ipopt", "gn_sqp"):
        ctl = SurrogateMPC(
            model,
            plant,
            output_lower=(-0.5, None),
            output_upper=(np.inf, t_max),
            solver=solver,
            **base,
        )
        res = ctl.solver.solve(v_free, p)
        assert res.success, res.status
        Y = ctl.problem.predict(res.v, p)
        assert Y[:, 0].min() >= -0.5 - 1e-6
        assert t_max - 1e-3 <= Y[:, 1].max() <= t_max + 1e-6  # active and met
        np.testing.assert_allclose(res.v, ref.v, atol=1e-5)
        components = [i.component for i in ctl.convexity.items]
        assert "output lower bounds" in components
        assert "output upper bounds" in components
    # every entry free: no output-bound rows, nothing about them in the report
    ctl = SurrogateMPC(model, plant, output_upper=(None, np.inf), **base)
    assert ctl.problem.ng == 0
    assert "output upper bounds" not in [i.component for i in ctl.convexity.items]


def test_cstr_main_job_and_bench_get_the_steps_per_move_and_horizon_as_before(
    model, plant
) -> None:
    """Models now record their data's steps_per_move, and MPCSettings'
    steps_per_move defaults to the model's (None until resolved) instead of a
    fixed 10. The main job (`iclcontrol run`) and benchmarks/bench_mpc.py
    (`iclcontrol bench mpc`) build their settings from the CLI options and a
    model of cstr_dataset(moves=horizon): the MPC must still get horizon 2 and
    10 network steps per move, as with the old fixed default, and a CSTR model
    saved before the record existed (steps_per_move unknown) too."""
    from iclcontrol.cli import build_parser
    from iclcontrol.commands.mpc import _settings

    # the conftest model is cstr_dataset(moves=2): what run and bench train on
    assert model.training_data_["moves"] == 2
    assert model.training_data_["steps_per_move"] == 10
    legacy = {**model.export_spec(), "moves": None, "steps_per_move": None}
    parser = build_parser()
    for argv in (["run"], ["bench", "mpc"]):
        settings = _settings(parser.parse_args(argv))
        for surrogate in (model, legacy):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ctl = SurrogateMPC(surrogate, plant, settings)
            # only the legacy model has its steps per move assumed, and says so
            said = ["are used, the CSTR data's" in str(w.message) for w in caught]
            assert said == ([True] if surrogate is legacy else []), caught
            resolved = (ctl.settings.horizon, ctl.settings.steps_per_move)
            assert resolved == (2, 10), (argv, resolved)
            assert ctl.problem.spm == 10 and ctl.problem.N == 2
            assert ctl.problem.warnings == []
    # an explicit 10 agrees with the model; another value contradicts it
    assert MPCProblem(model, plant, MPCSettings(steps_per_move=10)).spm == 10
    with pytest.raises(ConfigError, match=r"steps_per_move=5 contradicts.* 10 rec"):
        MPCProblem(model, plant, MPCSettings(steps_per_move=5))


@pytest.fixture(scope="module")
def one_move_model():
    """A tiny ICLRNN of one-move CSTR sequences (10 steps, cstr_dataset(moves=1),
    the default of `iclcontrol data cstr`)."""
    import torch

    from iclcontrol.data import cstr_dataset
    from iclcontrol.train import SurrogateModel

    torch.set_num_threads(1)
    ds = cstr_dataset(moves=1, n_grid=10, random_state=0)
    return SurrogateModel(
        "iclrnn", hidden=8, layers=1, max_epochs=1, random_state=0, verbose=False
    ).fit(ds)


def test_default_horizon_is_the_models_trained_moves_at_most_two(
    model, one_move_model, plant
) -> None:
    """MPCSettings.horizon defaulted to 2 whatever the model: a model of one-move
    sequences used from Python with MPCSettings() ran the network over 20 steps,
    10 past its training (a warning), while `iclcontrol mpc` picked 1. Now
    horizon=None takes the model's trained moves, at most 2, by the one rule of
    both (default_horizon, in resolve_settings)."""
    import warnings

    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import resolve_settings

    assert one_move_model.training_data_["moves"] == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IclControlWarning)
        one = SurrogateMPC(one_move_model, plant, MPCSettings())
        two = SurrogateMPC(model, plant, MPCSettings())
        rollout = SurrogateMPC(one_move_model, plant, prediction="rollout")
    assert (one.settings.horizon, one.problem.N, one.problem.spm) == (1, 1, 10)
    assert [str(w.message) for w in caught] == []
    assert one.problem.warnings == []
    assert one.step([0.5, -20.0]).plan.shape == (1, 2)
    assert (two.settings.horizon, two.problem.N) == (2, 2)
    assert two.problem.warnings == []
    # rollout applies the model move by move: the reference horizon fits
    assert rollout.settings.horizon == 2 and rollout.problem.warnings == []
    # the rule itself (iclcontrol mpc without --horizon calls resolve_settings)
    from iclcontrol.mpc import REFERENCE_HORIZON, default_horizon

    assert MPCSettings().horizon is None and REFERENCE_HORIZON == 2
    assert resolve_settings(one_move_model, MPCSettings()).horizon == 1
    assert resolve_settings(model, MPCSettings()).horizon == 2
    assert default_horizon(one_move_model) == 1 and default_horizon(model) == 2
    assert default_horizon(one_move_model, prediction="rollout") == 2
    # at most 2: a model of three-move sequences still gets the reference's 2
    three = {**model.export_spec(), "moves": 3, "steps": 30, "output_steps": 30}
    assert default_horizon(three) == 2


def test_an_explicit_horizon_is_kept_with_the_trained_length_warning(
    model, one_move_model, plant
) -> None:
    """A horizon the user gives is not cut to the model's moves: horizon 3 on
    the one-move model runs the network over 30 steps, with the warning naming
    the horizon that fits."""
    from iclcontrol.exceptions import IclControlWarning
    from iclcontrol.mpc import resolve_settings

    warned = r"30 steps \(horizon 3 x 10 .* trained on 10-step .* horizon <= 1"
    with pytest.warns(IclControlWarning, match=warned):
        ctl = SurrogateMPC(one_move_model, plant, MPCSettings(horizon=3))
    assert (ctl.settings.horizon, ctl.problem.N) == (3, 3)
    assert resolve_settings(one_move_model, MPCSettings(horizon=3)).horizon == 3
    with pytest.warns(IclControlWarning, match=r"20 steps .* trained on 10-step"):
        assert SurrogateMPC(one_move_model, plant, horizon=2).problem.N == 2
    with pytest.warns(IclControlWarning, match=r"30 steps .* trained on 20-step"):
        assert SurrogateMPC(model, plant, horizon=3).problem.N == 3


def test_a_model_without_recorded_moves_gets_the_horizon_its_output_covers(
    one_move_model, plant, tmp_path, capsys
) -> None:
    """A model folder saved before moves were recorded (fields dropped from
    model.json): its 10 output steps at the assumed 10 steps per move cover one
    move, so MPCSettings() and `iclcontrol mpc` without --horizon both resolve
    horizon 1 without the trained-length warning (the CLI guessed so before; the
    Python default was 2, extrapolating the network to 20 steps)."""
    import json
    import warnings

    from iclcontrol.cli import main
    from iclcontrol.mpc import default_horizon
    from iclcontrol.train import load

    folder = one_move_model.save(tmp_path / "old")
    meta = json.loads((folder / "model.json").read_text())
    del meta["training_data"]["moves"], meta["training_data"]["steps_per_move"]
    (folder / "model.json").write_text(json.dumps(meta))
    old = load(folder)
    assert old.export_spec()["moves"] is None
    legacy = {**one_move_model.export_spec(), "moves": None, "steps_per_move": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctl = SurrogateMPC(old, plant, MPCSettings())
        from_spec = SurrogateMPC(legacy, plant)
    assert [str(w.message) for w in caught if "trained on" in str(w.message)] == []
    assert (ctl.settings.horizon, ctl.settings.steps_per_move) == (1, 10)
    # the assumed 10 (the CSTR data's) is said, at the caller's line
    said = "10 network step(s) per sampling period are used"
    assumed = [w for w in caught if said in str(w.message)]
    assert len(assumed) == 2 and {w.filename for w in assumed} == {__file__}
    assert from_spec.settings.horizon == 1
    with pytest.warns(IclControlWarning, match=re.escape(said)):
        assert default_horizon(old) == 1 and default_horizon(legacy) == 1
    args = ["mpc", "--model", str(folder), "--x0=0.5,-20", "--steps", "1", "--json"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["run"]["horizon"] == 1
    assert not any("trained on" in w for w in payload["warnings"])
    # the same rule and warning as Python (--plant cstr: the CSTR data's 10)
    assert payload["run"]["steps_per_move"] == 10
    assert [w for w in payload["warnings"] if said in w]


def test_main_job_bench_and_baseline_resolve_the_settings_of_before(
    model, plant
) -> None:
    """With MPCSettings.horizon defaulting to the model's moves, the main job
    (`iclcontrol run`, run_report) and the benchmark (`iclcontrol bench mpc`,
    benchmarks/bench_mpc.py, bench_mpc) fix horizon and steps_per_move before any
    model exists (they size its data, cstr_dataset(moves=horizon)): they must
    resolve exactly the settings of before, horizon 2 and 10 steps per move, with
    the cstr_dataset(moves=2) model and with one that records neither.
    DoMPCController has no surrogate: 2 moves by default, as before."""
    from iclcontrol.cli import build_parser
    from iclcontrol.commands.mpc import _settings
    from iclcontrol.mpc import DoMPCController
    from iclcontrol.mpc.benchmark import reference_settings

    before = MPCSettings(horizon=2, steps_per_move=10)  # the old defaults
    assert (model.training_data_["moves"], model.training_data_["steps_per_move"]) == (
        2,
        10,
    )
    legacy = {**model.export_spec(), "moves": None, "steps_per_move": None}
    parser = build_parser()
    cli = [_settings(parser.parse_args(a)) for a in (["run"], ["bench", "mpc"])]
    for given in (None, MPCSettings(), *cli):
        settings = reference_settings(given)
        assert settings == before, given  # and so config.json / bench.json
        for surrogate in (model, legacy):
            ctl = SurrogateMPC(surrogate, plant, settings)
            assert ctl.settings == before
            assert (ctl.problem.N, ctl.problem.spm) == (2, 10)
            assert ctl.problem.warnings == []
    # the first-principles baseline: default settings are the 2-move ones
    default = DoMPCController(plant)
    assert default.settings.horizon == 2 and default.mpc.settings.n_horizon == 2
    explicit = DoMPCController(plant, MPCSettings(horizon=2))
    x0 = np.array([1.5, -70.0])
    default.reset(x0)
    explicit.reset(x0)
    np.testing.assert_allclose(default.step(x0).u, explicit.step(x0).u, rtol=1e-9)
