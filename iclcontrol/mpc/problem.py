"""The surrogate MPC problem: prediction, cost and constraints as CasADi expressions.

Decision variables are the inputs of every move scaled to [-1, 1]
(``u = mid + half * v``); parameters are the measured state ``x0``, the output
offsets ``D`` (horizon x states: the model's error at the end of each move, estimated
from past measurements for offset-free MPC) and the previously applied input.

The problem is written once as residuals ``r(v)`` (objective ``||r||^2 + e(v)``, with
``e`` linear in the outputs and inputs) and constraint rows ``g(v) <= 0``; every solver
in :mod:`iclcontrol.mpc.solvers` consumes the same Functions, so IPOPT and the
Gauss-Newton SQP solve exactly the same problem.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import casadi as ca
import numpy as np

from iclcontrol.exceptions import ConfigError, IclControlWarning
from iclcontrol.export.casadi_export import (
    check_layout,
    get_spec,
    initial_state,
    jit_options,
    physical_expression,
    resolve_steps_per_move,
    scaler_affine,
    spec_activation,
    spec_dims,
)
from iclcontrol.mpc.convexity import ConvexityReport, convexity_report
from iclcontrol.mpc.settings import REFERENCE_HORIZON, MPCSettings


def _array(a: Any) -> np.ndarray:
    """Dense numpy copy of a CasADi DM (``full()`` directly: the hot path) or array."""
    return a.full() if isinstance(a, ca.DM) else np.asarray(a, dtype=float)


def _scalar(a: Any) -> float:
    return float(np.asarray(a, dtype=float).ravel()[0])


def output_bound_scale(settings: MPCSettings, nx: int) -> np.ndarray:
    """Divisors normalizing the output-bound rows ``(y - bound) / scale``.

    Per output: the width ``output_upper - output_lower`` (at least 1e-6) when
    both of its bounds are finite, else 1. [output units]
    """
    s = settings
    lo = np.full(nx, -np.inf) if s.output_lower is None else np.array(s.output_lower)
    hi = np.full(nx, np.inf) if s.output_upper is None else np.array(s.output_upper)
    both = np.isfinite(lo) & np.isfinite(hi)
    width = np.abs(np.where(both, hi - lo, 1.0))
    return np.where(both, np.maximum(width, 1e-6), 1.0)


def bounded_outputs(bound: tuple[float, ...] | None) -> list[int]:
    """Indices of the outputs with a finite bound in ``output_lower``/``upper``.

    None, ``-inf`` and ``+inf`` entries mean "no bound on that side" (see
    :class:`MPCSettings`): no constraint row is built for them.
    """
    if bound is None:
        return []
    return [i for i, b in enumerate(bound) if np.isfinite(b)]


def check_sizes(
    settings: MPCSettings, state_names: tuple[str, ...], input_names: tuple[str, ...]
) -> None:
    """Check that every per-state and per-input setting has one entry each.

    Shared by :class:`MPCProblem` and the do-mpc baseline.

    Parameters
    ----------
    settings : MPCSettings
    state_names, input_names : tuple of str
        The plant's states (the model's outputs) and inputs.

    Raises
    ------
    ConfigError
        A setting of the wrong length, or ``lyapunov_P`` not n_states x n_states
        with ``lyapunov`` on. The message says when the value is the default,
        which is sized for the reference CSTR (states CA, T; inputs CA0, Q).
    """
    s, nx = settings, len(state_names)
    default = MPCSettings.__dataclass_fields__
    for name, names in (
        ("state_weights", state_names),
        ("input_weights", input_names),
        ("state_setpoint", state_names),
        ("input_setpoint", input_names),
        ("economic_state_weights", state_names),
        ("economic_input_weights", input_names),
        ("rate_limits", input_names),
        ("output_lower", state_names),
        ("output_upper", state_names),
        ("safe_input", input_names),
    ):
        value = getattr(s, name)
        if value is not None and len(value) != len(names):
            hint = (
                " (the default, sized for the reference CSTR's CA, T / CA0, Q): "
                f"set {name} for your plant"
                if value == default[name].default
                else ""
            )
            raise ConfigError(
                f"{name} needs {len(names)} entries, one per {names}, got "
                f"{len(value)} {tuple(value)}{hint}"
            )
    if s.lyapunov and np.shape(s.lyapunov_P) != (nx, nx):
        hint = (
            " (the default: the reference CSTR's matrix); give your own "
            "lyapunov_P or set lyapunov=False"
            if s.lyapunov_P == default["lyapunov_P"].default
            else ""
        )
        raise ConfigError(
            f"lyapunov_P must be {nx}x{nx} for the states {state_names}, got "
            f"{np.shape(s.lyapunov_P)[0]}x{np.shape(s.lyapunov_P)[1]}{hint}"
        )


def lyapunov_warnings(settings: MPCSettings, plant: Any) -> list[str]:
    """A warning if the Lyapunov constraint is on with the CSTR's default matrix
    on another plant.

    The default ``lyapunov_P`` (and ``lyapunov=True``) is the reference CSTR
    LMPC's ``V(x) = x' P x`` for (CA, T) deviations from its steady state. On a
    plant with other states it is no Lyapunov function of that plant, and
    ``V(x_pred) <= V(x_now)`` pulls every state towards the origin of the
    plant's coordinates (e.g. empty tanks), whatever the setpoint.

    Parameters
    ----------
    settings : MPCSettings
    plant : plants.Plant

    Returns
    -------
    list of str
        The warning, or empty.
    """
    s = settings
    default = MPCSettings.__dataclass_fields__["lyapunov_P"].default
    if not s.lyapunov or s.lyapunov_P != default:
        return []
    names = tuple(plant.state_names)
    if names == ("CA", "T"):
        return []
    return [
        f"the Lyapunov constraint V(x_pred) <= V(x_now) is on with the default "
        "lyapunov_P, the reference CSTR's matrix for (CA, T) deviations; on "
        f"{type(plant).__name__} (states {names}) it is not a Lyapunov function "
        "of the plant and pulls the states towards the origin of its "
        "coordinates; set lyapunov=False, or your own lyapunov_P with states "
        "measured from your steady state"
    ]


def sampling_period_warnings(
    spec: Mapping[str, Any], steps_per_move: int, plant: Any
) -> list[str]:
    """A warning if one move of the model is not one sampling period of the plant.

    The model's training data records the time between two of its steps
    (``sample_interval_s``; absent for models that did not record it: no
    check). ``steps_per_move`` of them make one move of the MPC, which the plant
    applies for its ``sampling_period`` [h]. If the two differ by more than 1 %,
    the network predicts the states at other times than the plant reaches them
    (e.g. a log at 1 min driving a plant stepped every 5 min).

    Parameters
    ----------
    spec : mapping
        The model's spec (:func:`~iclcontrol.export.get_spec`).
    steps_per_move : int
        Network steps per move (resolved).
    plant : plants.Plant
        Needs ``sampling_period`` [h]; without it: no check.

    Returns
    -------
    list of str
        Empty, or one warning naming both periods and the fix.
    """
    interval = spec.get("sample_interval_s")
    period_h = getattr(plant, "sampling_period", None)
    if interval is None or period_h is None:
        return []
    model_s = float(interval) * steps_per_move
    plant_s = float(period_h) * 3600.0
    if math.isclose(model_s, plant_s, rel_tol=0.01):
        return []
    per = f"{steps_per_move} of them per move" if steps_per_move > 1 else "one per move"
    return [
        f"the model's training data has one record every {float(interval):g} s "
        f"({per}), so one move of the model is {model_s:g} s, but "
        f"{type(plant).__name__}.sampling_period is {float(period_h):g} h = "
        f"{plant_s:g} s: the network predicts the states at other times than the "
        "plant reaches them; train on data at the plant's period (iclcontrol data "
        f"csv ... --resample {plant_s:g}s, or plant_dataset of this plant) or set "
        "the plant's sampling_period to the data's"
    ]


def resolve_settings(
    model: Any,
    settings: MPCSettings,
    plant: Any = None,
    option: str = "steps_per_move",
) -> MPCSettings:
    """``settings`` with ``steps_per_move`` and ``horizon`` resolved against the model.

    Parameters
    ----------
    model : SurrogateModel, network or dict
        The surrogate (anything :func:`get_spec` accepts).
    settings : MPCSettings
        ``steps_per_move=None`` takes the model's recorded value (if it records
        none, :func:`~iclcontrol.export.fallback_steps_per_move` of ``plant``
        with a warning: 10 for the CSTR, 1 for another plant); then
        ``horizon=None`` takes :func:`default_horizon` of the model with that
        ``steps_per_move`` and ``settings.prediction``. Values given are kept.
    plant : plants.Plant, optional
        The plant the MPC controls (:class:`MPCProblem` passes its own). None:
        the reference CSTR.
    option : str
        How the user spells ``steps_per_move``, for messages
        (``"--steps-per-move"`` on the command line).

    Returns
    -------
    MPCSettings
        ``settings`` itself if nothing changes, else a copy.

    Raises
    ------
    ConfigError
        ``settings.steps_per_move`` differs from the model's recorded value
        (:func:`~iclcontrol.export.resolve_steps_per_move`).

    Warns
    -----
    IclControlWarning
        The model records no steps per move and ``settings`` gives none.
    """
    spec = get_spec(model)
    spm = resolve_steps_per_move(spec, settings.steps_per_move, plant, option=option)
    horizon = settings.horizon
    if horizon is None:
        horizon = default_horizon(spec, spm, settings.prediction)
    if (spm, horizon) == (settings.steps_per_move, settings.horizon):
        return settings
    return replace(settings, steps_per_move=spm, horizon=horizon)


def default_horizon(
    model: Any, steps_per_move: int | None = None, prediction: str = "sequence"
) -> int:
    """Control moves of ``MPCSettings(horizon=None)`` for a model: the moves its
    training sequences cover, at most :data:`REFERENCE_HORIZON` (2).

    The one rule of the Python API (:func:`resolve_settings`) and of ``iclcontrol
    mpc`` without ``--horizon``: a ``"sequence"`` prediction runs the network over
    ``horizon * steps_per_move`` steps, and a model trained on fewer extrapolates
    in time (the warning of :class:`MPCProblem`).

    Parameters
    ----------
    model : SurrogateModel, network or dict
        The surrogate (anything :func:`get_spec` accepts).
    steps_per_move : int, optional
        Network steps per sampling period; default: the model's recorded one, or
        10 (the CSTR's, with a warning) if it records none.
    prediction : {"sequence", "rollout"}
        ``"rollout"`` applies the model one move at a time: any horizon fits.

    Returns
    -------
    int
        With ``"sequence"``: ``min(trained_moves(model, steps_per_move),
        REFERENCE_HORIZON)``, the moves its trained output covers at the
        resolved steps per move (1 for a model of ``cstr_dataset(moves=1)``, 2
        for ``moves=2``; for a model that records no ``steps_per_move``, saved
        before they were recorded or trained on data that does not record
        them, 10 steps per move are assumed, so a 10-step model gets 1; a model
        of ``csv_dataset`` windows records 1). Its recorded ``moves`` if
        it records no sequence lengths; :data:`REFERENCE_HORIZON` if neither,
        and with ``"rollout"`` (any horizon fits).
    """
    spec = get_spec(model)
    if prediction != "sequence":
        return REFERENCE_HORIZON
    covered = trained_moves(spec, steps_per_move)
    if covered is None:  # a spec with no sequence lengths: its recorded moves
        covered = max(int(spec.get("moves") or REFERENCE_HORIZON), 1)
    return min(covered, REFERENCE_HORIZON)


def trained_moves(model: Any, steps_per_move: int | None = None) -> int | None:
    """Whole control moves covered by the sequences a model was trained on.

    Parameters
    ----------
    model : SurrogateModel, network or dict
        The surrogate (anything :func:`get_spec` accepts).
    steps_per_move : int, optional
        Network steps per sampling period (10 for the CSTR data). Default: the
        model's recorded one, or 10 (the CSTR's, with a warning) if it records
        none.

    Returns
    -------
    int or None
        ``output_steps // steps_per_move`` of the spec (``steps`` if it has no
        ``output_steps``), at least 1; None if the spec records neither (the
        model then says nothing about the horizon it covers). A ``"sequence"``
        MPC with a longer horizon extrapolates the network in time.
    """
    spec = get_spec(model)
    trained = spec.get("output_steps", spec.get("steps"))
    if trained is None:
        return None
    if steps_per_move is None:
        steps_per_move = resolve_steps_per_move(spec, None)
    return max(int(trained) // int(steps_per_move), 1)


@dataclass
class ProblemFunctions:
    """CasADi Functions of one built problem (inputs ``v`` (nv,), ``p`` (np,)).

    ``values(v, p) -> (r, e, g)``; ``derivs(v, p) -> (z, Jz, y1)`` with
    ``z = [r; e; g; L]`` (``L``: the Lyapunov-constrained predicted states, for the
    Gauss-Newton curvature of the Lyapunov rows), its Jacobian ``Jz`` from one AD
    sweep, and ``y1`` the prediction at the end of the first move;
    ``predict(v, p) -> Y``.
    """

    values: ca.Function
    derivs: ca.Function
    predict: ca.Function


class MPCProblem:
    """A surrogate MPC problem built from a model spec, a plant and settings.

    Parameters
    ----------
    model : SurrogateModel, network or dict
        The surrogate (``export_spec()``); its features must be the plant's
        states followed by its inputs, its outputs the states (checked by count
        and, where the model carries names, by name: :func:`check_layout`).
    plant : plants.Plant
        Gives the input bounds and the steady-state input.
    settings : MPCSettings
        ``steps_per_move=None`` takes the model's recorded value and
        ``horizon=None`` the moves the model was trained on, at most 2
        (:func:`resolve_settings`, :func:`default_horizon`); :attr:`settings`
        holds the resolved ones.

    Raises
    ------
    ConfigError
        ``settings.steps_per_move`` differs from the model's recorded
        ``steps_per_move`` (the message names both and the fix).

    Warns
    -----
    IclControlWarning
        ``"sequence"`` prediction over ``horizon * steps_per_move`` network steps
        (``"rollout"``: ``steps_per_move``) longer than the model's trained
        ``output_steps``: a warning, not an error, because the network still
        runs (recurrent) and a user may want to try; the message names the fix.
        Also a nonzero ``state_setpoint`` with the Lyapunov constraint, which is
        centred at the origin, and the default (CSTR) ``lyapunov_P`` on a plant
        whose states are not (CA, T) (:func:`lyapunov_warnings`). All kept in
        :attr:`warnings`.

    Attributes
    ----------
    nv : int
        Number of decision variables (horizon x inputs).
    n_slack : int
        Number of soft constraint rows.
    soft : numpy.ndarray of bool
        Which constraint rows have a slack.
    convexity : ConvexityReport
    warnings : list of str
        Warnings issued while building (see Warns).
    """

    def __init__(self, model: Any, plant: Any, settings: MPCSettings) -> None:
        self.spec = get_spec(model)
        self.plant = plant
        self.settings = s = resolve_settings(self.spec, settings, plant)
        n_f, n_out = spec_dims(self.spec)
        self.nx = n_out
        self.nu = n_f - n_out
        # the same layout check as to_do_mpc: counts, and names where the model
        # has them (a model of another process must not pass as a CSTR surrogate)
        check_layout(
            self.spec,
            tuple(plant.state_names),
            tuple(plant.input_names),
            f"MPC of {type(plant).__name__}",
        )
        self.u_lower = np.asarray(plant.input_lower, dtype=float)
        self.u_upper = np.asarray(plant.input_upper, dtype=float)
        self.u_mid = 0.5 * (self.u_upper + self.u_lower)
        self.u_half = 0.5 * (self.u_upper - self.u_lower)
        self.spm = resolve_steps_per_move(self.spec, s.steps_per_move)  # as an int
        self.N = (  # as an int (resolve_settings filled it in)
            s.horizon
            if s.horizon is not None
            else default_horizon(self.spec, self.spm, s.prediction)
        )
        self.nv = self.N * self.nu
        self.n_params = self.nx + self.N * self.nx + self.nu
        check_sizes(s, tuple(plant.state_names), tuple(plant.input_names))
        self.P = np.asarray(s.lyapunov_P, dtype=float)
        self.warnings: list[str] = (
            self._horizon_warnings()
            + sampling_period_warnings(self.spec, self.spm, plant)
            + self._setpoint_warnings()
            + lyapunov_warnings(s, plant)
        )
        for note in self.warnings:
            warnings.warn(note, IclControlWarning, stacklevel=3)
        self._build()
        self.convexity: ConvexityReport = convexity_report(self.spec, s)

    def _horizon_warnings(self) -> list[str]:
        """A warning if one network evaluation is longer than the model's training
        sequences (the recurrent network then extrapolates in time)."""
        trained = self.spec.get("output_steps", self.spec.get("steps"))
        if trained is None:
            return []
        s = self.settings
        needed = self.N * self.spm if s.prediction == "sequence" else self.spm
        if needed <= int(trained):
            return []
        if int(trained) % self.spm:
            # not whole moves: most likely one record per period (plant_dataset's
            # default) read as steps_per_move network steps per period
            return [
                f"the model was trained on {int(trained)}-step sequences, not a "
                f"whole number of moves of steps_per_move={self.spm} network steps "
                f"per sampling period (the CSTR's default): if its data has one "
                f"record per period (plant_dataset(..., steps_per_move=1), the "
                f"default), set MPCSettings(steps_per_move=1); else the prediction "
                f"over {needed} steps misreads the model's time steps"
            ]
        fit = trained_moves(self.spec, self.spm) or 1
        return [
            f"the prediction runs the network over {needed} steps (horizon "
            f"{self.N} x {self.spm} steps per move) but the model was trained on "
            f"{int(trained)}-step sequences: beyond step {int(trained)} it "
            f"extrapolates in time; use horizon <= {fit} (iclcontrol mpc "
            f"--horizon {fit}), prediction='rollout' (--prediction rollout: the "
            "model applied move by move) or a model trained on longer sequences "
            f"(cstr_dataset(moves={self.N}); iclcontrol data cstr --moves {self.N})"
        ]

    def _setpoint_warnings(self) -> list[str]:
        """A warning if the Lyapunov constraint (centred at the origin) and a
        nonzero state setpoint pull the closed loop towards different states."""
        s = self.settings
        if not s.lyapunov or s.state_setpoint is None or not any(s.state_setpoint):
            return []
        return [
            f"state_setpoint {tuple(s.state_setpoint)} is not the origin, but the "
            "Lyapunov constraint V(x) = x' P x <= V(x_now) is centred at the "
            "origin (the steady state): it keeps V from rising while the cost "
            "pulls towards the setpoint, so the closed loop can settle between "
            "them; set lyapunov=False (iclcontrol mpc --no-lyapunov) to track the "
            "setpoint"
        ]

    # -- helpers --------------------------------------------------------------------
    def offsets(self, d: Any) -> np.ndarray:
        """Offsets (horizon, nx) at the end of each move.

        ``d`` of shape (nx,) is a drift per sampling period (offset ``(j+1) d`` at the
        end of move j); shape (horizon, nx) is taken as is; None is zero.
        """
        if d is None:
            return np.zeros((self.N, self.nx))
        d = np.asarray(d, dtype=float)
        if d.shape == (self.nx,):
            return np.outer(np.arange(1, self.N + 1), d)
        return d.reshape(self.N, self.nx)

    def params(self, x0: Any, d: Any = None, u_prev: Any = None) -> np.ndarray:
        """Parameter vector ``[x0, vec(D), u_prev]`` (see :meth:`offsets`)."""
        x0 = np.asarray(x0, dtype=float).ravel()
        d = self.offsets(d).ravel()
        up = self.u_mid if u_prev is None else np.asarray(u_prev, dtype=float).ravel()
        return np.concatenate([x0, d, up])

    def to_inputs(self, v: Any) -> np.ndarray:
        """Physical inputs (horizon, nu) of a scaled decision vector."""
        V = np.asarray(v, dtype=float).reshape(self.N, self.nu)
        return self.u_mid + self.u_half * V

    def to_scaled(self, u: Any) -> np.ndarray:
        """Scaled decision vector of physical inputs (horizon, nu)."""
        U = np.asarray(u, dtype=float).reshape(self.N, self.nu)
        return ((U - self.u_mid) / self.u_half).ravel()

    def lyapunov_value(self, x: Any) -> float:
        x = np.asarray(x, dtype=float).ravel()
        return float(x @ self.P @ x)

    # -- construction ---------------------------------------------------------------
    def _prediction(self, x0: Any, D: Any, U: Any, relu_smoothing: float = 0.0) -> Any:
        """Predicted outputs (N*spm, nx) in physical units (MX).

        ``D`` (N, nx): offset at the end of each move; within a move the offset
        moves linearly from the previous move's offset (0 before the first).
        ``relu_smoothing`` > 0: softplus instead of ReLU (see
        :func:`~iclcontrol.export.casadi_export.network_expression`).
        """
        spec, spm, N = self.spec, self.spm, self.N
        frac = np.arange(1, spm + 1) / spm
        A = self._offset_matrix()
        if self.settings.prediction == "sequence":
            rows = []
            for j in range(N):
                rows.append(ca.repmat(ca.horzcat(x0.T, U[j, :]), spm, 1))
            Y = physical_expression(spec, ca.vertcat(*rows), relu_smoothing)
            return Y + ca.mtimes(ca.DM(A), D)
        blocks = []
        x = x0
        for j in range(N):
            Xj = ca.repmat(ca.horzcat(x.T, U[j, :]), spm, 1)
            step_offset = D[j, :] - (D[j - 1, :] if j > 0 else 0)
            Yj = physical_expression(spec, Xj, relu_smoothing) + ca.mtimes(
                ca.DM(frac), step_offset
            )
            blocks.append(Yj)
            x = Yj[spm - 1, :].T
        return ca.vertcat(*blocks)

    def _build(self) -> None:
        s, nx, nu, N, spm = self.settings, self.nx, self.nu, self.N, self.spm
        v = ca.MX.sym("v", self.nv)
        p = ca.MX.sym("p", self.n_params)
        x0, u_prev = p[:nx], p[nx + N * nx :]
        D = ca.reshape(p[nx : nx + N * nx], nx, N).T  # (N, nx), row j = move j
        Vm = ca.reshape(v, nu, N).T  # (N, nu), row j = move j
        U = ca.repmat(ca.DM(self.u_mid).T, N, 1) + Vm * ca.repmat(
            ca.DM(self.u_half).T, N, 1
        )
        Y = ca.MX.sym("Y", N * spm, nx)  # costs are built on a symbol, then composed
        ysp = np.zeros(nx) if s.state_setpoint is None else np.array(s.state_setpoint)
        usp = np.zeros(nu) if s.input_setpoint is None else np.array(s.input_setpoint)
        if s.cost_steps == "move_end":
            idx = [(j + 1) * spm - 1 for j in range(N)]
            step_w = 1.0
        else:
            idx = list(range(N * spm))
            step_w = 1.0 / spm
        res = []
        wq = np.sqrt(np.asarray(s.state_weights) * step_w)
        for k in idx:
            res.append((Y[k, :].T - ysp) * wq)
        wr = np.sqrt(np.asarray(s.input_weights))
        for j in range(N):
            res.append((U[j, :].T - usp) * wr)
        if s.rate_weight > 0:
            vprev = (u_prev - self.u_mid) / self.u_half
            prev = vprev
            for j in range(N):
                res.append(np.sqrt(s.rate_weight) * (Vm[j, :].T - prev))
                prev = Vm[j, :].T
        r = ca.vertcat(*res)
        e = ca.MX(0)
        if s.economic_state_weights is not None:
            c = ca.DM(s.economic_state_weights)
            for k in idx:
                e += step_w * ca.dot(c, Y[k, :].T)
        if s.economic_input_weights is not None:
            c = ca.DM(s.economic_input_weights)
            for j in range(N):
                e += ca.dot(c, U[j, :].T)
        g, soft, names = [], [], []
        lyap_rows = []
        if s.lyapunov:
            P = ca.DM(self.P)
            V0 = ca.dot(x0, ca.mtimes(P, x0))
            rhs = ca.fmax(V0, s.lyapunov_min_level)
            moves = [0] if s.lyapunov_moves == "first" else list(range(N))
            for j in moves:
                xj = Y[(j + 1) * spm - 1, :].T
                lyap_rows.append(xj)
                g.append((ca.dot(xj, ca.mtimes(P, xj)) - rhs) / (rhs + 1.0))
                soft.append(s.soft_constraints)
                names.append(f"lyapunov[{j}]")
        yscale = output_bound_scale(s, nx)
        # rows only for finite bounds (None/inf entries: that side is free)
        ub, lb = s.output_upper or (), s.output_lower or ()
        upper, lower = bounded_outputs(s.output_upper), bounded_outputs(s.output_lower)
        for k in range(N * spm):
            for i in range(nx):
                if i in upper:
                    g.append((Y[k, i] - ub[i]) / yscale[i])
                    soft.append(s.soft_constraints)
                    names.append(f"y[{k},{i}]<=max")
                if i in lower:
                    g.append((lb[i] - Y[k, i]) / yscale[i])
                    soft.append(s.soft_constraints)
                    names.append(f"y[{k},{i}]>=min")
        if s.rate_limits is not None:
            lim_scaled = np.asarray(s.rate_limits) / self.u_half
            prev = (u_prev - self.u_mid) / self.u_half
            for j in range(N):
                for i in range(nu):
                    delta = Vm[j, i] - prev[i]
                    g.append(delta - lim_scaled[i])
                    g.append(-delta - lim_scaled[i])
                    soft.extend([False, False])
                    names.extend([f"rate[{j},{i}]<=", f"rate[{j},{i}]>="])
                prev = Vm[j, :].T
        gv = ca.vertcat(*g) if g else ca.MX(0, 1)
        self.soft = np.array(soft, dtype=bool)
        self.constraint_names = names
        self.ng = int(gv.shape[0])
        self.n_slack = int(self.soft.sum())
        L = ca.vertcat(*lyap_rows) if lyap_rows else ca.MX(0, 1)
        self.n_lyap = len(lyap_rows)
        opts = jit_options(s.jit)
        self.n_r = int(r.shape[0])
        stacked = ca.vertcat(r, e, gv, L)
        Ysym = Y
        zfun = ca.Function("mpc_z", [Ysym, v, p], [r, e, gv, stacked])
        Yexpr = self._prediction(x0, D, U)
        r, e, gv, stacked = zfun(Yexpr, v, p)
        y_first = Yexpr[spm - 1, :].T
        tangent = self._tangent_prediction(x0, D, v)
        if tangent is None:  # exact AD through the network graph
            self.derivative_mode = "ad"
            jac = ca.jacobian(stacked, v)
        else:
            # exact Jacobian propagated with the network (forward mode written out
            # as matrix products): dz/dv = dz/dY dY/dv + dz/dv|_Y
            self.derivative_mode = "tangent"
            Yt, JY = tangent
            z_y = ca.vertcat(*zfun.call([Ysym, v, p])[3:])
            jfun = ca.Function(
                "mpc_zjac",
                [Ysym, v, p],
                [ca.jacobian(z_y, ca.vec(Ysym)), ca.jacobian(z_y, v)],
            )
            JzY, Jzv = jfun(Yt, v, p)
            stacked = zfun(Yt, v, p)[3]
            jac = ca.mtimes(JzY, JY) + Jzv
            y_first = Yt[spm - 1, :].T
        # common subexpression elimination at build time: fewer instructions per
        # call (the derivative graph repeats products of the network pass)
        cse = {"cse": True}
        self.functions = ProblemFunctions(
            values=ca.Function(
                "mpc_values", [v, p], [r, e, gv], ["v", "p"], ["r", "e", "g"], cse
            ),
            derivs=ca.Function(
                "mpc_derivs",
                [v, p],
                [stacked, jac, y_first],
                ["v", "p"],
                ["z", "Jz", "y1"],
                {**opts, **cse},
            ),
            predict=ca.Function("mpc_predict", [v, p], [Yexpr], ["v", "p"], ["Y"], cse),
        )
        self._sym = {"v": v, "p": p, "r": r, "e": e, "g": gv, "Y": Yexpr}
        self._pred_args = (x0, D, U)
        self._zfun = zfun

    def _tangent_prediction(self, x0: Any, D: Any, v: Any) -> tuple[Any, Any] | None:
        """Predicted outputs and their Jacobian ``d vec(Y) / dv`` in one pass.

        For Elman networks (and the feed-forward kind) in ``"sequence"`` mode the
        state of the recurrence is carried together with its derivative with
        respect to the decision variables as one matrix ``[h, dh/dv]``, so each
        step is one matrix product and one activation; for ReLU both columns are
        multiplied by the same 0/1 mask. Returns None where not applicable (LSTM,
        rollout): the caller then uses CasADi's AD.
        """
        spec, s = self.spec, self.settings
        kind = spec["kind"]
        if s.prediction != "sequence" or kind == "lstm":
            return None
        act = spec_activation(spec)
        if act not in ("relu", "tanh"):
            return None
        nx, nu, N, spm, nv = self.nx, self.nu, self.N, self.spm, self.nv
        n_f = nx + nu
        T = N * spm
        xs, xo = scaler_affine(spec.get("x_scaler"), n_f)
        ys, yo = scaler_affine(spec.get("y_scaler"), nx)
        aug = bool(spec.get("augment", False))
        # scaled (augmented) features of move j and their constant derivative
        zs, dzs = [], []
        for j in range(N):
            u_j = self.u_mid + self.u_half * v[j * nu : (j + 1) * nu]
            z = xs * ca.vertcat(x0, u_j) + xo
            dz = np.zeros((n_f, nv))
            for i in range(nu):
                dz[nx + i, j * nu + i] = xs[nx + i] * self.u_half[i]
            if aug:
                z = ca.vertcat(z, -z)
                dz = np.vstack([dz, -dz])
            zs.append(z)
            dzs.append(dz)

        def activate(S: Any) -> Any:
            a = S[:, 0]
            if act == "relu":
                return S * ca.repmat(a > 0, 1, nv + 1)
            h = ca.tanh(a)
            return ca.horzcat(h, S[:, 1:] * ca.repmat(1 - h * h, 1, nv))

        layers = spec["layers"]
        HD: list[Any] = []  # per step [h_t, dh_t/dv] of the current layer
        for li, layer in enumerate(layers):
            W = np.asarray(layer["W"], dtype=float)
            b = np.asarray(layer["b"], dtype=float)
            Uw = None if kind == "ficnn" else np.asarray(layer["U"], dtype=float)
            nh = W.shape[0]
            bmat = ca.horzcat(ca.DM(b), ca.DM.zeros(nh, nv))
            if li == 0:
                C = [
                    ca.horzcat(ca.mtimes(ca.DM(W), zs[j]) + b, ca.DM(W @ dzs[j]))
                    for j in range(N)
                ]
                inputs = [C[t // spm] for t in range(T)]
            else:
                big = ca.mtimes(ca.DM(W), ca.horzcat(*HD))
                w = nv + 1
                inputs = [big[:, t * w : (t + 1) * w] + bmat for t in range(T)]
            out = []
            prev = None
            h0 = None if Uw is None else initial_state(layer)
            if h0 is not None:  # constant: [h0, 0] (no derivative)
                prev = ca.horzcat(h0, ca.DM.zeros(nh, nv))
            for t in range(T):
                S = inputs[t]
                if prev is not None and Uw is not None:
                    S = S + ca.mtimes(ca.DM(Uw), prev)
                prev = activate(S)
                out.append(prev)
            HD = out
        Wr = np.asarray(spec["readout"]["W"], dtype=float) / ys[:, None]
        br = (np.asarray(spec["readout"]["b"], dtype=float) - yo) / ys
        big = ca.mtimes(ca.DM(Wr), ca.horzcat(*HD))  # (nx, T * (nv + 1))
        w = nv + 1
        vals = big[:, [t * w for t in range(T)]]
        ders = big[:, [t * w + 1 + c for t in range(T) for c in range(nv)]]
        Y = (vals + ca.repmat(ca.DM(br), 1, T)).T
        A = self._offset_matrix()
        Y = Y + ca.mtimes(ca.DM(A), D)
        # ders[i, t*nv + c] -> row i*T + t, column c (column-major vec of Y)
        JY = ca.reshape(ders.T, nv, T * nx).T
        return Y, JY

    def _offset_matrix(self) -> np.ndarray:
        spm, N = self.spm, self.N
        frac = np.arange(1, spm + 1) / spm
        A = np.zeros((N * spm, N))
        for j in range(N):
            A[j * spm : (j + 1) * spm, j] = frac
            if j > 0:
                A[j * spm : (j + 1) * spm, j - 1] = 1.0 - frac
        return A

    # -- evaluation -----------------------------------------------------------------
    def objective(self, v: Any, p: Any) -> float:
        """Objective without slacks: ``||r||^2 + e``."""
        r, e, _ = self.functions.values(v, p)
        r = np.asarray(r).ravel()
        return float(r @ r + _scalar(e))

    def merit(self, v: Any, p: Any) -> tuple[float, float, np.ndarray]:
        """(objective + slack penalty, objective, constraint rows)."""
        r, e, g = self.functions.values(v, p)
        r = np.asarray(r).ravel()
        g = np.asarray(g).ravel()
        f = float(r @ r + _scalar(e))
        return f + self.penalty(g), f, g

    def penalty(self, g: np.ndarray) -> float:
        """Slack penalty of the soft rows plus a large penalty on hard violations."""
        s = self.settings
        viol = np.maximum(g, 0.0)
        soft = viol[self.soft]
        hard = viol[~self.soft]
        return float(
            s.slack_l1 * soft.sum()
            + s.slack_l2 * soft @ soft
            + 1e3 * max(s.slack_l1, 1.0) * hard.sum()
        )

    def unpack(self, out: Any) -> tuple[Any, ...]:
        """Split ``derivs`` outputs into ``(r, Jr, e, ge, g, Jg, JL, y1)``."""
        z = _array(out[0]).ravel()
        J = _array(out[1])
        a, b = self.n_r, self.n_r + 1
        c = b + self.ng
        return (
            z[:a],
            J[:a],
            float(z[a]),
            J[a],
            z[b:c],
            J[b:c],
            J[c:],
            _array(out[2]).ravel(),
        )

    def predict(self, v: Any, p: Any) -> np.ndarray:
        """Predicted outputs (horizon * steps_per_move, nx), physical units."""
        return np.asarray(self.functions.predict(v, p))

    def nlp(self, relu_smoothing: float = 0.0) -> dict[str, Any]:
        """The NLP in CasADi form with slacks: x = [v; s], for ``nlpsol``.

        ``relu_smoothing`` > 0 builds it on the softplus-smoothed network (an
        approximation of the problem; see :attr:`MPCSettings.relu_smoothing`).
        """
        sym, s = dict(self._sym), self.settings
        if relu_smoothing > 0:
            Ys = self._prediction(*self._pred_args, relu_smoothing=relu_smoothing)
            r, e, g, _ = self._zfun(Ys, sym["v"], sym["p"])
            sym.update(r=r, e=e, g=g)
        sl = ca.MX.sym("s", self.n_slack)
        S = np.zeros((self.ng, self.n_slack))
        S[np.flatnonzero(self.soft), np.arange(self.n_slack)] = 1.0
        f = ca.sumsqr(sym["r"]) + sym["e"]
        if self.n_slack:
            f += s.slack_l1 * ca.sum1(sl) + s.slack_l2 * ca.sumsqr(sl)
        g = sym["g"] - ca.mtimes(ca.DM(S), sl) if self.ng else sym["g"]
        return {"x": ca.vertcat(sym["v"], sl), "p": sym["p"], "f": f, "g": g}
