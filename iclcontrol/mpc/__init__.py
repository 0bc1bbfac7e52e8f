"""Surrogate MPC: problem builder, solvers, convexity report, closed loop, baseline.

* :class:`MPCSettings` — the formulation (horizon, costs, constraints, solver);
  :func:`resolve_settings` fills in what defaults to the model's (``horizon``:
  :func:`default_horizon`; ``steps_per_move``).
* :class:`MPCProblem` — CasADi expressions of one problem, with a convexity report.
* :class:`SurrogateMPC` — receding-horizon controller with fallback and
  offset-free estimate; :class:`DoMPCController` — first-principles NMPC (do-mpc).
* :func:`closed_loop` — controller against a plant, as a DataFrame; :func:`summarize`,
  :func:`tracking_metrics`, :func:`bounds_summary`; :func:`constraint_limits`, the
  output and input limits (drawn by :mod:`iclcontrol.mpc.plots`).
"""

from iclcontrol.mpc.baseline import DoMPCController
from iclcontrol.mpc.closed_loop import (
    bounds_summary,
    check_initial_state,
    closed_loop,
    closed_loop_cost,
    constraint_limits,
    steps_to_region,
    summarize,
    tracking_metrics,
)
from iclcontrol.mpc.controller import StepResult, SurrogateMPC
from iclcontrol.mpc.convexity import ConvexityReport, convexity_report, midpoint_test
from iclcontrol.mpc.problem import MPCProblem, default_horizon, resolve_settings
from iclcontrol.mpc.settings import REFERENCE_HORIZON, MPCSettings
from iclcontrol.mpc.solvers import GaussNewtonSQP, NlpSolver, SolveResult

__all__ = [
    "REFERENCE_HORIZON",
    "ConvexityReport",
    "DoMPCController",
    "GaussNewtonSQP",
    "MPCProblem",
    "MPCSettings",
    "NlpSolver",
    "SolveResult",
    "StepResult",
    "SurrogateMPC",
    "bounds_summary",
    "check_initial_state",
    "closed_loop",
    "closed_loop_cost",
    "constraint_limits",
    "convexity_report",
    "default_horizon",
    "midpoint_test",
    "resolve_settings",
    "steps_to_region",
    "summarize",
    "tracking_metrics",
]
