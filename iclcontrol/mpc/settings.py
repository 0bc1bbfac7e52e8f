"""Settings dataclasses of the surrogate MPC, validated once on construction."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from iclcontrol.exceptions import ConfigError, IclControlWarning
from iclcontrol.export.casadi_export import positive_int, relu_smoothing_value

Prediction = Literal["sequence", "rollout"]
CostSteps = Literal["move_end", "all"]
SolverName = Literal["gn_sqp", "ipopt", "sqpmethod"]

#: Softplus temperature with which ``ipopt`` and ``sqpmethod`` solve ReLU networks
#: unless told otherwise (pre-activation units; at most ``1e-3 log 2 = 6.9e-4``
#: above ReLU per unit). On the bench closed loops 1e-4 still left 3 of 60 IPOPT
#: failures, 1e-3 none.
DEFAULT_RELU_SMOOTHING = 1e-3

#: Control moves of the reference CSTR LMPC: the horizon of the main job
#: (``iclcontrol run``) and the MPC benchmark, and the longest horizon
#: ``MPCSettings(horizon=None)`` takes from a model
#: (:func:`~iclcontrol.mpc.problem.default_horizon`).
REFERENCE_HORIZON = 2


def _tuple(value: Any, n: int | None, name: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"{name} must be a sequence of numbers, got {value!r}"
        ) from err
    if n is not None and len(out) != n:
        raise ConfigError(f"{name} must have {n} entries, got {len(out)}")
    if not all(math.isfinite(v) for v in out):
        raise ConfigError(f"{name} must be finite, got {out}")
    return out


def _bounds(value: Any, name: str, side: int) -> tuple[float, ...] | None:
    """Per-output bounds: numbers, with None or an infinity meaning "no bound".

    Parameters
    ----------
    value : sequence of float or None, or None
        One bound per output; an entry None, ``-inf`` (``side=-1``, lower) or
        ``+inf`` (``side=+1``, upper) leaves that output unbounded on that side.
    name : str
        Field name, for the messages.
    side : {-1, 1}
        -1 for lower bounds, +1 for upper bounds.

    Returns
    -------
    tuple of float or None
        Unbounded entries as ``side * inf``; None if ``value`` is None.
    """
    if value is None:
        return None
    free = side * math.inf
    try:
        out = tuple(free if v is None else float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"{name} must be a sequence of numbers (None or {free} for no bound), "
            f"got {value!r}"
        ) from err
    if any(math.isnan(v) or v == -free for v in out):
        raise ConfigError(
            f"{name} entries must be numbers, or None / {free} for no bound on "
            f"that output; got {out} ({-free} or NaN admits no prediction)"
        )
    return out


def _finite_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _positive_definite(value: Any, name: str) -> tuple[tuple[float, ...], ...]:
    """A square, finite, symmetric, positive definite matrix as nested tuples."""
    try:
        P = np.array(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} must be a square matrix of numbers") from err
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.size == 0:
        raise ConfigError(f"{name} must be a square matrix, got shape {P.shape}")
    if not np.all(np.isfinite(P)):
        raise ConfigError(f"{name} must be finite, got {P.tolist()}")
    if not np.allclose(P, P.T, rtol=1e-12, atol=0.0):
        raise ConfigError(f"{name} must be symmetric, got {P.tolist()}")
    eig = np.linalg.eigvalsh(P)
    if eig[0] <= 1e-12 * max(abs(eig[-1]), 1e-300):
        raise ConfigError(
            f"{name} must be positive definite (V(x) = x' P x > 0 for x != 0); "
            f"its eigenvalues are {eig.tolist()}"
        )
    return tuple(tuple(float(v) for v in row) for row in P)


@dataclass
class MPCSettings:
    """Formulation and solver of a surrogate MPC (defaults: the reference CSTR LMPC).

    Parameters
    ----------
    horizon : int or None
        Number of control moves; each move is held for one sampling period.
        None (default): the moves the model was trained on, at most
        :data:`REFERENCE_HORIZON` (2, the reference LMPC's), with
        ``prediction="sequence"``: 1 for a model of one-move sequences (e.g.
        ``cstr_dataset(moves=1)``, ``plant_dataset(..., moves=1)``), so that the
        network is not run past its trained length (a model that does not record
        its steps per move, saved before they were recorded or trained on data
        that does not record them, is read at the steps per move of
        ``steps_per_move=None``; windows of a CSV log record 1);
        2 with ``"rollout"``;
        :class:`~iclcontrol.mpc.MPCProblem` fills it in
        (:func:`~iclcontrol.mpc.problem.default_horizon`, the rule ``iclcontrol
        mpc`` uses without ``--horizon``). A horizon given explicitly is kept (a
        longer one than the model was trained on gives a warning).
    steps_per_move : int or None
        Network steps per sampling period (10 for the CSTR data, one output every
        0.0005 h; the ``steps_per_move`` of
        :func:`~iclcontrol.data.plant_dataset` for a user's plant, 1 by default).
        None (default): the model's own, recorded from its training data
        (``SurrogateModel.training_data_["steps_per_move"]``); for a model that
        does not record it, 10 for the CSTR and 1 for another plant
        (:func:`~iclcontrol.export.fallback_steps_per_move`, the rule of
        ``iclcontrol mpc`` too), with a warning;
        :class:`~iclcontrol.mpc.MPCProblem` fills it in.
        A value that differs from the model's recorded one is an error.
    prediction : {"sequence", "rollout"}
        ``"sequence"``: one network evaluation over ``horizon * steps_per_move``
        steps with the initial state held in the features and the inputs piecewise
        constant (needs a model trained on that many steps, e.g.
        ``cstr_dataset(moves=horizon)``); the outputs are convex in the inputs for a
        convex network. ``"rollout"``: the per-period model applied move by move,
        the predicted state fed back as the next initial state (the paper's
        formulation; not convex).
    state_weights : sequence of float
        Weights of the squared states (outputs) in the stage cost, in the order of
        the model's outputs; default (1000, 1) for the CSTR's (CA, T): set one
        per state for another plant. [1/(unit^2)]
    input_weights : sequence of float
        Weights of the squared inputs per move; default (1, 3e-10) for the
        CSTR's (CA0, Q): set one per input for another plant.
    state_setpoint, input_setpoint : sequence of float or None
        Tracking targets; None means zero (deviation form).
    cost_steps : {"move_end", "all"}
        Penalize the predicted state at the end of each move (as the reference LMPC
        and do-mpc's stage/terminal costs do) or at every network step (weighted by
        ``1 / steps_per_move``).
    economic_state_weights, economic_input_weights : sequence of float or None
        Linear (economic) stage cost ``c_y' y + c_u' u`` added to the tracking cost.
    rate_weight : float
        Weight of squared input changes between moves (scaled inputs, [-1, 1]).
    rate_limits : sequence of float or None
        Maximum change of each input between consecutive moves (hard). [input unit]
    output_lower, output_upper : sequence of float or None
        Bounds on every predicted output (soft if ``soft_constraints``), one
        entry per output in the order of the model's outputs. [output units]
        An entry ``None`` or ``-inf`` (lower) / ``+inf`` (upper) leaves that
        output unbounded on that side, e.g. ``output_upper=(None, 30.0)``
        bounds the second output only; stored as ``-inf``/``+inf`` (the
        run folder's JSON writes them as ``null``, which loads back as
        unbounded). None (the default): no bound on any output.
    lyapunov : bool
        Add the reference Lyapunov constraint ``V(x_pred) <= max(V(x_now), level)``
        with ``V(x) = x' P x``, centred at the origin of the plant's coordinates
        (the CSTR's steady state, in deviation form). On by default with the
        CSTR's matrix: for another plant set ``lyapunov=False`` or give your own
        ``lyapunov_P`` (else a warning, and a ``ConfigError`` if the sizes differ).
    lyapunov_P : 2-D sequence
        Matrix P of V: square, finite, symmetric, positive definite (checked via
        its eigenvalues). Default: the reference CSTR matrix.
    lyapunov_moves : {"first", "all"}
        Constrain the prediction at the end of the first move only, or every move.
    lyapunov_min_level : float
        Lower floor of the right-hand side (0: the reference constraint).
    soft_constraints : bool
        Output and Lyapunov constraints get non-negative slacks penalized with
        ``slack_l1 * s + slack_l2 * s^2`` (constraint rows are normalized).
        With False they are hard and an infeasible problem triggers the fallback.
    slack_l1, slack_l2 : float
        Slack penalties, finite and >= 0 (l1 is exact above the constraints'
        multipliers).
    solver : {"gn_sqp", "ipopt", "sqpmethod"}
        ``"gn_sqp"``: Gauss-Newton SQP (network and its exact Jacobian evaluated
        once per iterate, a small dense QP solved with CasADi's qrqp); exact
        Hessian almost everywhere for ReLU networks. ``"ipopt"``: CasADi/IPOPT with
        the exact Hessian (the reference solver). ``"sqpmethod"``: CasADi's SQP with
        qrqp and the exact Hessian, eigenvalue-clipped where indefinite.
    relu_smoothing : float or None
        ``ipopt`` and ``sqpmethod`` only: solve the problem built on the network
        with every ReLU replaced by the softplus ``tau log(1 + exp(z / tau))``,
        ``tau = relu_smoothing`` (pre-activation units; 0: the exact network).
        None (default): :data:`DEFAULT_RELU_SMOOTHING` for ReLU networks, 0 for
        tanh networks (see :meth:`relu_smoothing_for`). Why: exact-Hessian
        solvers assume twice-differentiable problem functions; a ReLU network is
        piecewise linear and the MPC optimum often lies on a kink, where IPOPT's
        Newton steps cycle without meeting its tolerance (measured on the bench:
        15 of 60 ICLRNN steps fail on the exact network, 0 of 60 with
        ``tau = 1e-3``). The softplus is at most ``tau log 2`` above ReLU per
        unit, and the reported objective, constraint violations and success
        (hard rows) are always evaluated on the exact network. ``gn_sqp`` ignores
        it (it handles the kinks with its exact piecewise Hessian).
    max_iter : int
        Iteration limit of the solver.
    tol : float
        Step tolerance of ``gn_sqp`` in scaled inputs (1e-4 of the half-range:
        50 kJ/h of heat input); ``ipopt`` uses ``min(tol, 1e-6)`` (acceptable
        level 1e-4), ``sqpmethod`` tol_du 1e-4, tol_pr 1e-6 (with its exact
        Hessian eigen-clipped to positive definite).
    jit : bool
        JIT-compile the evaluation Functions with gcc, once per controller. For
        ``gn_sqp`` (first derivatives only) that takes a few seconds; for ``ipopt``
        and ``sqpmethod`` the exact Hessian is far more generated code: a 2x64
        ICLRNN over a horizon of 2 moves took 204 s to compile against 5.4 s for a
        whole 3-step closed loop without JIT (2026-11-27, shared 2-core machine),
        so it pays off only on long runs.
    offset_free : bool
        Estimate an additive per-period output drift from the last prediction error
        (offset-free MPC).
    disturbance_gain : float
        Filter gain in (0, 1] of the offset estimate (1: dead-beat, the last
        prediction error; 0.5 smooths the large transient model errors of fast
        moves: on the CSTR closed loops it gave a lower cost than 1).
    warm_start : bool
        Start each solve from the shifted previous plan.
    cold_start_levels : int
        On a cold start (first step, after a fallback) start from the best, by
        merit value, of the safe input and a grid of ``levels ** n_inputs``
        constant plans over the input box (1: no screening).
    safe_input : sequence of float or None
        Input applied when no plan is available after a failed solve
        (default: the plant's steady-state input).
    extra : dict
        Deprecated and ignored: nothing reads it. It is kept so that settings saved
        with it (``to_dict()``, the run folder's JSON) still load; a non-empty
        ``extra`` warns (:class:`~iclcontrol.exceptions.IclControlWarning`) naming
        its keys, and those that are settings fields, which must be given as
        arguments (``MPCSettings(horizon=3)``), not inside ``extra``.
    """

    horizon: int | None = None
    steps_per_move: int | None = None
    prediction: Prediction = "sequence"
    state_weights: tuple[float, ...] = (1000.0, 1.0)
    input_weights: tuple[float, ...] = (1.0, 3e-10)
    state_setpoint: tuple[float, ...] | None = None
    input_setpoint: tuple[float, ...] | None = None
    cost_steps: CostSteps = "move_end"
    economic_state_weights: tuple[float, ...] | None = None
    economic_input_weights: tuple[float, ...] | None = None
    rate_weight: float = 0.0
    rate_limits: tuple[float, ...] | None = None
    output_lower: tuple[float, ...] | None = None
    output_upper: tuple[float, ...] | None = None
    lyapunov: bool = True
    lyapunov_P: tuple[tuple[float, ...], ...] = ((1060.0, 22.0), (22.0, 0.52))
    lyapunov_moves: Literal["first", "all"] = "first"
    lyapunov_min_level: float = 0.0
    soft_constraints: bool = True
    slack_l1: float = 1e5
    slack_l2: float = 1e5
    solver: SolverName = "gn_sqp"
    relu_smoothing: float | None = None
    max_iter: int = 30
    tol: float = 1e-4
    jit: bool = False
    offset_free: bool = True
    disturbance_gain: float = 0.5
    warm_start: bool = True
    cold_start_levels: int = 3
    safe_input: tuple[float, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("horizon", "steps_per_move", "max_iter", "cold_start_levels"):
            if name in ("horizon", "steps_per_move") and getattr(self, name) is None:
                continue  # the model's own (MPCProblem resolves it)
            # numpy integers too (a horizon from np.arange), stored as int for JSON
            setattr(self, name, positive_int(getattr(self, name), name))
        choices = {
            "prediction": ("sequence", "rollout"),
            "cost_steps": ("move_end", "all"),
            "solver": ("gn_sqp", "ipopt", "sqpmethod"),
            "lyapunov_moves": ("first", "all"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        self.state_weights = _tuple(self.state_weights, None, "state_weights") or ()
        self.input_weights = _tuple(self.input_weights, None, "input_weights") or ()
        for name in (
            "state_setpoint",
            "input_setpoint",
            "economic_state_weights",
            "economic_input_weights",
            "rate_limits",
            "safe_input",
        ):
            setattr(self, name, _tuple(getattr(self, name), None, name))
        self.output_lower = _bounds(self.output_lower, "output_lower", -1)
        self.output_upper = _bounds(self.output_upper, "output_upper", 1)
        if self.output_lower is not None and self.output_upper is not None:
            crossed = [
                f"output {i}: lower {lo:g} > upper {hi:g}"
                for i, (lo, hi) in enumerate(
                    zip(self.output_lower, self.output_upper, strict=False)
                )
                if lo > hi
            ]
            if crossed:
                raise ConfigError(
                    "output_lower must not exceed output_upper ("
                    + "; ".join(crossed)
                    + "): no prediction can meet both bounds; swap them or widen "
                    "the range"
                )
        if any(w < 0 for w in self.state_weights + self.input_weights):
            raise ConfigError("state_weights and input_weights must be non-negative")
        if self.rate_limits is not None and any(r <= 0 for r in self.rate_limits):
            raise ConfigError(f"rate_limits must be positive, got {self.rate_limits}")
        self.lyapunov_P = _positive_definite(self.lyapunov_P, "lyapunov_P")
        for name in (
            "slack_l1",
            "slack_l2",
            "tol",
            "rate_weight",
            "lyapunov_min_level",
        ):
            value = getattr(self, name)
            if not _finite_number(value) or not value >= 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.relu_smoothing is not None:
            relu_smoothing_value(self.relu_smoothing)  # None: the default
        if not (
            _finite_number(self.disturbance_gain) and 0 < self.disturbance_gain <= 1
        ):
            raise ConfigError(
                f"disturbance_gain must be in (0, 1], got {self.disturbance_gain}"
            )
        self._warn_extra()

    def _warn_extra(self) -> None:
        """Warn that a non-empty ``extra`` has no effect (it is deprecated)."""
        if not isinstance(self.extra, dict):
            raise ConfigError(
                f"extra must be a dict (deprecated and ignored), got {self.extra!r}"
            )
        if not self.extra:
            return
        keys = sorted(map(str, self.extra))
        fields = [k for k in keys if k in self.__dataclass_fields__]
        hint = (
            f"; {fields} are settings: give them as arguments, e.g. "
            f"MPCSettings({fields[0]}=...)"
            if fields
            else ""
        )
        warnings.warn(
            f"MPCSettings.extra is deprecated and ignored: its entries {keys} have "
            f"no effect on the MPC{hint}",
            IclControlWarning,
            stacklevel=4,
        )

    def relu_smoothing_for(self, activation: str) -> float:
        """Softplus temperature used by ``ipopt``/``sqpmethod`` for a network.

        Parameters
        ----------
        activation : {"relu", "tanh"}
            Activation of the network's hidden units.

        Returns
        -------
        float
            ``relu_smoothing`` if set; else :data:`DEFAULT_RELU_SMOOTHING` for a
            ReLU network and 0 (nothing to smooth) otherwise. [pre-activation units]
        """
        if activation != "relu":
            return 0.0
        if self.relu_smoothing is None:
            return DEFAULT_RELU_SMOOTHING
        return float(self.relu_smoothing)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for the run folder)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MPCSettings:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown MPC settings: {sorted(unknown)}")
        return cls(**d)
