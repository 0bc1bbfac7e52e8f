"""Receding-horizon controllers with one interface: ``reset(x0)``, ``step(x)``.

:class:`SurrogateMPC` solves an :class:`~iclcontrol.mpc.problem.MPCProblem` built on a
surrogate at every sampling instant, warm-started from the shifted previous plan,
with an optional offset-free drift estimate. A failed solve never raises: the
controller applies the shifted previous plan, else a safe input, and marks the step
as a fallback.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from iclcontrol.exceptions import ConfigError, DataError, DimensionError
from iclcontrol.mpc.problem import MPCProblem
from iclcontrol.mpc.settings import MPCSettings
from iclcontrol.mpc.solvers import make_solver


@dataclass
class StepResult:
    """What a controller did at one sampling instant.

    Attributes
    ----------
    u : numpy.ndarray
        Input applied over the next sampling period (physical units).
    success : bool
        The solver reported success.
    status : str
    iterations : int
    solve_ms : float
        Wall time of the whole ``step`` call (estimate update, solve, fallback). [ms]
    objective : float
    fallback : bool
        True when ``u`` comes from the fallback path, not from a solution.
    fallback_reason : str
    max_violation : float
        Largest (normalized) soft-constraint violation at the solution.
    plan : numpy.ndarray
        Planned inputs (horizon, nu), starting with ``u``: the solution, or on a
        fallback the rest of the previous plan (its last move repeated) or the
        safe input repeated.
    """

    u: np.ndarray
    success: bool
    status: str
    iterations: int
    solve_ms: float
    objective: float
    fallback: bool = False
    fallback_reason: str = ""
    max_violation: float = 0.0
    plan: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["u"] = self.u.tolist()
        d["plan"] = self.plan.tolist()
        return d


def check_measured_state(plant: Any, x: Any) -> np.ndarray:
    """A measured state handed to a controller's ``step``, checked.

    Parameters
    ----------
    plant : plants.Plant
        Gives the number and names of the states.
    x : array-like, shape (n_states,)
        Measured state in plant coordinates. [state units]

    Returns
    -------
    numpy.ndarray, shape (n_states,)

    Raises
    ------
    DimensionError
        Not ``n_states`` entries.
    DataError
        Not numbers, or NaN or infinite entries (a surrogate would not notice:
        CasADi's ``fmax(NaN, 0)`` is 0; IPOPT would fail on them).
    """
    names = tuple(plant.state_names)
    try:
        xa = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise DataError(f"x must be numbers {names}, got {x!r}") from err
    if xa.shape != (len(names),):
        raise DimensionError(
            f"x must be the measured state with {len(names)} entries "
            f"{names}, got {xa.size} entries (shape {np.shape(x)})"
        )
    if not np.all(np.isfinite(xa)):
        raise DataError(
            f"x contains NaN or infinite values: {xa.tolist()}; the surrogate "
            "would not notice (CasADi's fmax(NaN, 0) is 0), so the state is "
            "refused; check the measurement"
        )
    return xa


class SurrogateMPC:
    """MPC on a surrogate model (see :class:`MPCSettings` for the formulation).

    Parameters
    ----------
    model : SurrogateModel, network or dict
        The surrogate (anything with ``export_spec()``).
    plant : plants.Plant
        Bounds and steady-state input.
    settings : MPCSettings, optional
        Default ``MPCSettings()``: ``horizon`` and ``steps_per_move`` from the
        model (its trained moves, at most 2; its records per period), resolved
        in :attr:`settings`.
    **overrides
        Keyword overrides of ``settings`` fields.

    Raises
    ------
    LayoutError
        The model's features/outputs are not the plant's states and inputs.
    ConfigError
        Invalid settings, or ``safe_input`` outside the plant's input bounds.
    SolverUnavailableError
        ``solver`` names a CasADi plugin (``ipopt``, ``sqpmethod``) this CasADi
        build lacks.

    Warns
    -----
    IclControlWarning
        The prediction is longer than the sequences the model was trained on
        (see :class:`MPCProblem`).

    Attributes
    ----------
    problem : MPCProblem
    convexity : ConvexityReport
    disturbance_ : numpy.ndarray, shape (horizon, n_states)
        Current output offsets at the end of each move (offset-free MPC): the
        model's error over one move is estimated from the last measurement, over
        two moves from the measurement two steps after a state, later moves are
        extrapolated linearly.

    Examples
    --------
    >>> mpc = SurrogateMPC(model, CSTR(), horizon=2)        # doctest: +SKIP
    >>> mpc.reset(); res = mpc.step([1.5, -70.0])             # doctest: +SKIP
    """

    name = "surrogate-mpc"

    def __init__(
        self,
        model: Any,
        plant: Any,
        settings: MPCSettings | None = None,
        **overrides: Any,
    ) -> None:
        base = settings if settings is not None else MPCSettings()
        if overrides:
            d = base.to_dict()
            unknown = set(overrides) - set(d)
            if unknown:
                raise TypeError(
                    f"SurrogateMPC got unexpected keyword arguments {sorted(unknown)}"
                )
            d.update(overrides)
            base = MPCSettings.from_dict(d)
        self.plant = plant
        self.problem = MPCProblem(model, plant, base)
        # steps_per_move and horizon resolved against the model (its own if unset)
        self.settings = base = self.problem.settings
        self.convexity = self.problem.convexity
        self.solver = make_solver(self.problem)
        self.kind = self.problem.spec["kind"]
        safe = np.asarray(
            base.safe_input if base.safe_input is not None else plant.u_steady,
            dtype=float,
        )
        lo, hi = np.asarray(plant.input_lower), np.asarray(plant.input_upper)
        if np.any(safe < lo) or np.any(safe > hi):
            raise ConfigError(
                f"safe_input {tuple(safe.tolist())} is outside the plant's input "
                f"bounds {tuple(lo.tolist())} .. {tuple(hi.tolist())} (inputs "
                f"{tuple(plant.input_names)}); choose an input within them"
            )
        self.safe_input = safe
        self.reset()

    def reset(self, x0: Any = None) -> None:
        """Forget the previous plan, multipliers and drift estimate."""
        pr = self.problem
        self._v = pr.to_scaled(np.tile(self.safe_input, (pr.N, 1)))
        self._lam: np.ndarray | None = None
        self._plan: np.ndarray | None = None
        self._plan_age = 0
        self._last_x: np.ndarray | None = None
        self._last_pred: np.ndarray | None = None
        self._history: list[tuple[np.ndarray, np.ndarray]] = []
        self._u_prev = self.safe_input.copy()
        self.disturbance_ = np.zeros((pr.N, pr.nx))

    def _update_disturbance(self, x: np.ndarray) -> None:
        s = self.settings
        if not s.offset_free or self._last_x is None or self._last_pred is None:
            return
        # one-period prediction error of the last applied input, without the drift
        pr = self.problem
        est = np.empty_like(self.disturbance_)
        est[0] = x - self._last_pred
        if pr.N >= 2:
            if len(self._history) >= 2:
                (x2, u2), (_, u1) = self._history[-2], self._history[-1]
                U = np.vstack([u2, np.tile(u1, (pr.N - 1, 1))])
                Y = pr.predict(pr.to_scaled(U), pr.params(x2, None, u2))
                est[1] = x - Y[2 * pr.spm - 1]
            else:  # no two-move history yet: a constant drift per period
                est[1] = 2.0 * est[0]
            for j in range(2, pr.N):
                est[j] = 2.0 * est[j - 1] - est[j - 2]
        self.disturbance_ = self.disturbance_ + s.disturbance_gain * (
            est - self.disturbance_
        )

    def _one_period_prediction(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        pr = self.problem
        v = pr.to_scaled(np.tile(u, (pr.N, 1)))
        Y = pr.predict(v, pr.params(x, None, self._u_prev))
        return Y[pr.spm - 1]

    def _screen(self, v0: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Best starting point among ``v0`` and a grid of constant input plans.

        Used on cold starts only (first step, after a fallback): the problem is not
        convex and a local solver started at the steady-state input can settle in a
        poor local minimum. One merit evaluation per candidate.
        """
        pr = self.problem
        levels = np.linspace(-1.0, 1.0, self.settings.cold_start_levels)
        grid = np.array(np.meshgrid(*[levels] * pr.nu, indexing="ij"))
        candidates = [v0] + [np.tile(c, pr.N) for c in grid.reshape(pr.nu, -1).T]
        best, best_phi = v0, np.inf
        for c in candidates:
            phi = pr.merit(c, p)[0]
            if phi < best_phi:
                best, best_phi = c, phi
        return np.asarray(best, dtype=float)

    def _check_state(self, x: Any) -> np.ndarray:
        return check_measured_state(self.plant, x)

    def step(self, x: Any) -> StepResult:
        """Solve at the measured state ``x`` and return the input to apply.

        Parameters
        ----------
        x : array-like, shape (n_states,)
            Measured state in plant coordinates. [state units]

        Raises
        ------
        DimensionError
            ``x`` has the wrong number of entries.
        DataError
            ``x`` contains NaN or infinite values.
        """
        start = time.perf_counter()
        pr = self.problem
        x = self._check_state(x)
        self._update_disturbance(x)
        p = pr.params(x, self.disturbance_, self._u_prev)
        v0 = self._v
        if self.settings.warm_start and self._plan is not None:
            # the last solution was computed 1 + (fallback steps since) periods ago
            shift = min(self._plan_age + 1, pr.N - 1)
            V = self._v.reshape(pr.N, pr.nu)
            v0 = np.vstack([V[shift:], np.repeat(V[-1:], shift, axis=0)]).ravel()
        elif self.settings.cold_start_levels > 1:
            v0 = self._screen(v0, p)
        try:
            res = self.solver.solve(v0, p, self._lam)
            ok, status = res.success, res.status
        except Exception as err:
            res, ok, status = None, False, f"exception: {err}"
        if ok and res is not None:
            self._v = res.v
            self._lam = res.multipliers
            plan = pr.to_inputs(res.v)
            self._plan = plan
            self._plan_age = 0
            u = plan[0].copy()
            fallback, reason = False, ""
        else:
            fallback = True
            if self._plan is not None and self._plan_age + 1 < pr.N:
                self._plan_age += 1
                rest = self._plan[self._plan_age :]
                plan = np.vstack([rest, np.repeat(rest[-1:], self._plan_age, axis=0)])
                u = plan[0].copy()
                reason = "shifted previous plan"
            else:
                u = self.safe_input.copy()
                plan = np.tile(u, (pr.N, 1))
                reason = "safe input"
                self._plan = None
            self._lam = None
        u = np.clip(u, self.plant.input_lower, self.plant.input_upper)
        self._last_x = x
        self._history = [*self._history[-1:], (x, u)]
        if not self.settings.offset_free:
            self._last_pred = None
        elif not fallback and res is not None and res.y_first is not None:
            # the drift ramp adds d over the first period: remove it
            self._last_pred = res.y_first - self.disturbance_[0]
        else:
            self._last_pred = self._one_period_prediction(x, u)
        self._u_prev = u
        elapsed = 1e3 * (time.perf_counter() - start)
        return StepResult(
            u=u,
            success=ok,
            status=status,
            iterations=res.iterations if res is not None else 0,
            solve_ms=elapsed,
            objective=res.objective if res is not None else float("nan"),
            fallback=fallback,
            fallback_reason=reason,
            max_violation=res.max_violation if res is not None else float("nan"),
            plan=np.clip(plan, self.plant.input_lower, self.plant.input_upper),
        )
