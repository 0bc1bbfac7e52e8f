"""First-principles NMPC baseline through do-mpc, with the controller interface.

Same plant equations (``plant.rhs`` in CasADi), same cost (the reference LMPC's
``T^2 + 1000 CA^2`` on the predicted states at the end of every move, ``u1^2 +
3e-10 u2^2`` per move), same input and state bounds and sampling period as
:class:`~iclcontrol.mpc.controller.SurrogateMPC`; orthogonal collocation, IPOPT.
The Lyapunov constraint ``V(x_1) <= V(x_0)`` is included (soft, normalized as in
the surrogate MPC) when ``settings.lyapunov`` is True, so both solve the same problem.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from iclcontrol.exceptions import IclControlWarning
from iclcontrol.mpc.controller import StepResult, check_measured_state
from iclcontrol.mpc.problem import (
    check_sizes,
    lyapunov_warnings,
    output_bound_scale,
)
from iclcontrol.mpc.settings import REFERENCE_HORIZON, MPCSettings


class DoMPCController:
    """do-mpc NMPC on the plant's own equations.

    Parameters
    ----------
    plant : plants.Plant
        Gives ``rhs`` (CasADi backend), bounds and the sampling period.
    settings : MPCSettings, optional
        ``horizon`` (None, the default, is
        :data:`~iclcontrol.mpc.settings.REFERENCE_HORIZON`, 2 moves: there is no
        surrogate whose trained moves it could take), ``state_weights``,
        ``input_weights``, setpoints, the Lyapunov settings and the state bounds
        ``output_lower``/``output_upper`` are used (entries None/infinite: that
        state is not bounded on that side). The bounds are soft (do-mpc slack with
        penalty ``slack_l1``, rows normalized as in the surrogate MPC) if
        ``soft_constraints``, else hard bounds on the states, which do-mpc also
        imposes on the measured state: a measured state outside them makes the
        problem infeasible (a failed solve, the previous input applied).
    collocation_deg : int
        Degree of the collocation polynomial (do-mpc default 2).

    Raises
    ------
    ConfigError
        Settings sized for another plant (see
        :func:`~iclcontrol.mpc.problem.check_sizes`).
    DimensionError
        ``plant.rhs`` does not return one derivative per state.

    Warns
    -----
    IclControlWarning
        Settings the baseline does not implement (``rate_limits``,
        ``rate_weight``, economic weights, ``cost_steps="all"``): the two
        controllers then solve different problems. Also the default (CSTR)
        ``lyapunov_P`` on another plant (see
        :func:`~iclcontrol.mpc.problem.lyapunov_warnings`).
    """

    name = "do-mpc-nmpc"
    kind = "first-principles"

    def __init__(
        self,
        plant: Any,
        settings: MPCSettings | None = None,
        collocation_deg: int = 2,
    ) -> None:
        import casadi as ca

        from iclcontrol.mpc.solvers import check_nlpsol

        check_nlpsol("ipopt")  # do-mpc solves with IPOPT
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import do_mpc

        s = settings if settings is not None else MPCSettings()
        if s.horizon is None:  # no surrogate to take it from: the reference's
            s = replace(s, horizon=REFERENCE_HORIZON)
        ignored = [
            name
            for name, unused in (
                ("rate_limits", s.rate_limits is not None),
                ("rate_weight", s.rate_weight > 0),
                ("economic_state_weights", s.economic_state_weights is not None),
                ("economic_input_weights", s.economic_input_weights is not None),
                ("cost_steps='all'", s.cost_steps == "all"),
            )
            if unused
        ]
        if ignored:
            warnings.warn(
                f"DoMPCController ignores {', '.join(ignored)}: the do-mpc baseline "
                "then solves a different problem from the surrogate MPC",
                IclControlWarning,
                stacklevel=2,
            )
        check_sizes(s, tuple(plant.state_names), tuple(plant.input_names))
        for note in lyapunov_warnings(s, plant):
            warnings.warn(note, IclControlWarning, stacklevel=2)
        ode = plant.casadi_ode()  # checks the shape of rhs
        self.settings = s
        self.plant = plant
        model = do_mpc.model.Model("continuous", "SX")
        xs = [model.set_variable("_x", n) for n in plant.state_names]
        us = [model.set_variable("_u", n) for n in plant.input_names]
        v_now: Any = model.set_variable("_tvp", "V_now") if s.lyapunov else None
        rhs = ode(ca.vertcat(*xs), ca.vertcat(*us))
        for i, n in enumerate(plant.state_names):
            model.set_rhs(n, rhs[i])
        model.setup()
        mpc = do_mpc.controller.MPC(model)
        mpc.settings.n_horizon = s.horizon
        mpc.settings.t_step = plant.sampling_period
        mpc.settings.n_robust = 0
        mpc.settings.store_full_solution = False
        mpc.settings.state_discretization = "collocation"
        mpc.settings.collocation_deg = collocation_deg
        mpc.settings.nlpsol_opts = {
            "ipopt.print_level": 0,
            "ipopt.sb": "yes",
            "print_time": 0,
        }
        ysp = np.zeros(len(xs)) if s.state_setpoint is None else s.state_setpoint
        usp = np.zeros(len(us)) if s.input_setpoint is None else s.input_setpoint
        state_cost = sum(
            w * (x - r) ** 2 for w, x, r in zip(s.state_weights, xs, ysp, strict=True)
        )
        input_cost = sum(
            w * (u - r) ** 2 for w, u, r in zip(s.input_weights, us, usp, strict=True)
        )
        # do-mpc sums lterm over k = 0..N-1 and adds mterm(x_N): the state cost on
        # x_1..x_N (x_0 is fixed) and the input cost on u_0..u_{N-1}
        mpc.set_objective(lterm=state_cost + input_cost, mterm=state_cost)
        mpc.set_rterm(**{n: 0.0 for n in plant.input_names})
        yscale = output_bound_scale(s, len(xs))
        for i, n in enumerate(plant.state_names):
            for bound, sign, side in (
                (s.output_upper, 1.0, "upper"),
                (s.output_lower, -1.0, "lower"),
            ):
                if bound is None or not np.isfinite(bound[i]):
                    continue  # None/inf entry: no bound on this side
                if s.soft_constraints:
                    mpc.set_nl_cons(
                        f"{n}_{side}",
                        sign * (xs[i] - bound[i]) / yscale[i],
                        ub=0.0,
                        soft_constraint=True,
                        penalty_term_cons=s.slack_l1,
                    )
                else:
                    mpc.bounds[side, "_x", n] = bound[i]
        lo, hi = plant.input_lower, plant.input_upper
        for i, n in enumerate(plant.input_names):
            mpc.bounds["lower", "_u", n] = lo[i]
            mpc.bounds["upper", "_u", n] = hi[i]
            mpc.scaling["_u", n] = max(abs(lo[i]), abs(hi[i]), 1.0)
        self.P = np.asarray(s.lyapunov_P, dtype=float)
        self._v_now = 0.0
        if s.lyapunov:
            # the reference constraint V(x_1) <= max(V(x_0), level), normalized and
            # soft as in SurrogateMPC; do-mpc applies it at stages k = 0..N-1 (k = 0
            # is the measured state, where it holds with equality)
            x = ca.vertcat(*xs)
            rhs_v = ca.fmax(v_now, s.lyapunov_min_level)
            mpc.set_nl_cons(
                "lyapunov",
                (ca.mtimes([x.T, ca.DM(self.P), x]) - rhs_v) / (rhs_v + 1.0),
                ub=0.0,
                soft_constraint=s.soft_constraints,
                penalty_term_cons=s.slack_l1,
            )
            template = mpc.get_tvp_template()

            def tvp_fun(t_now: float) -> Any:
                template["_tvp", :, "V_now"] = self._v_now
                return template

            mpc.set_tvp_fun(tvp_fun)
        with warnings.catch_warnings():  # do-mpc's own numpy-on-casadi calls
            warnings.simplefilter("ignore", FutureWarning)
            mpc.setup()
        self.mpc = mpc
        self.reset()

    def reset(self, x0: Any = None) -> None:
        """Reset the initial guess (do-mpc warm-starts from its previous solution).

        Parameters
        ----------
        x0 : array-like, shape (n_states,), optional
            State of the initial guess; None: the plant's ``x_steady`` (the origin
            was used, where a user's plant may be singular: e.g. sqrt(h) at an
            empty tank made every solve fail with Invalid_Number_Detected).
            [state units]
        """
        x0 = np.asarray(self.plant.x_steady if x0 is None else x0, dtype=float)
        self.mpc.reset_history()
        self.mpc.x0 = x0.reshape(-1, 1)
        self.mpc.u0 = np.asarray(self.plant.u_steady, dtype=float).reshape(-1, 1)
        self.mpc.set_initial_guess()
        self._u_prev = np.asarray(self.plant.u_steady, dtype=float)

    def step(self, x: Any) -> StepResult:
        """Solve at the measured state ``x`` (n_states,) and return the input.

        Raises
        ------
        DimensionError, DataError
            ``x`` has the wrong number of entries, or NaN or infinite ones (see
            :func:`~iclcontrol.mpc.controller.check_measured_state`).
        """
        start = time.perf_counter()
        x = check_measured_state(self.plant, x).reshape(-1, 1)
        if self.settings.lyapunov:
            self._v_now = float(x.ravel() @ self.P @ x.ravel())
        try:
            u = np.asarray(self.mpc.make_step(x)).ravel()
            stats = self.mpc.solver_stats
            ok = bool(stats.get("success", False))
            status = str(stats.get("return_status", "?"))
            iters = int(stats.get("iter_count", 0))
            obj = (
                float(self.mpc.opt_f_num)
                if hasattr(self.mpc, "opt_f_num")
                else float("nan")
            )
        except Exception as err:
            u, ok, status, iters = self._u_prev, False, f"exception: {err}", 0
            obj = float("nan")
        fallback = not ok
        if fallback:
            u = self._u_prev
        u = np.clip(u, self.plant.input_lower, self.plant.input_upper)
        self._u_prev = u
        return StepResult(
            u=u,
            success=ok,
            status=status,
            iterations=iters,
            solve_ms=1e3 * (time.perf_counter() - start),
            objective=obj,
            fallback=fallback,
            fallback_reason="previous input" if fallback else "",
            # do-mpc does not report its slacks: unknown, not 0 (= constraints met)
            max_violation=float("nan"),
            plan=u[None, :],
        )
