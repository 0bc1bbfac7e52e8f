"""Solvers of an :class:`~iclcontrol.mpc.problem.MPCProblem`.

* :class:`GaussNewtonSQP` — the fast path. Per iterate the network and its exact
  Jacobian are evaluated once (one CasADi Function call, optionally JIT-compiled),
  then a small dense QP in the step and the slacks is solved with CasADi's ``qrqp``.
  The Hessian is ``2 Jr' Jr`` (plus ``mu * 2 JL' P JL`` for active Lyapunov rows):
  for ReLU networks the outputs are piecewise linear, their second derivatives
  vanish almost everywhere, and this Gauss-Newton Hessian is the exact Hessian of
  the Lagrangian there. A backtracking line search on the l1 merit function
  globalizes it; where it finds no decrease (a kink of the network close along
  the step), the QP is retried in a smaller step box, a trust region kept for
  the next iterates. Every QP solution is checked against the QP's own bounds and
  rows before it is used (qrqp can report success at a point far outside
  them); a refused or failed QP goes to HiGHS, and if that fails too the solve
  is a failure (``qp_failed: ...``), which the controller's fallback handles.
* :class:`NlpSolver` — the same NLP handed to CasADi's ``nlpsol`` (IPOPT or
  ``sqpmethod``) with the exact Hessian: the reference solver. On a ReLU network
  the optimum often lies on a kink of the piecewise-linear prediction, where
  IPOPT's Newton steps cycle until the iteration limit (a reported failure, the
  controller falls back). So for ReLU networks the NLP is by default built on the
  softplus-smoothed network (twice differentiable, as IPOPT assumes; see
  ``MPCSettings.relu_smoothing``, 0 for the exact network); the objective,
  violations and success reported are always those of the exact network.

Both return a :class:`SolveResult`; solver failures are data (``success=False``),
never exceptions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np

from iclcontrol.exceptions import SolverUnavailableError
from iclcontrol.export.casadi_export import jit_options, spec_activation
from iclcontrol.mpc.problem import MPCProblem

#: QP solver of the subproblems qrqp fails on, and of the phase-1 problem.
_FALLBACK_QP = "highs"
#: HiGHS's QP iterations per call. Its active-set QP solver can cycle: on a
#: 5-variable subproblem of the reference CSTR LMPC (cold start at x0=(1, -40)) it
#: ran > 40 s without the limit, and stops after 1000 iterations (~1 ms) with it.
#: An iteration limit, not HiGHS's ``time_limit``: in CasADi's plugin that clock
#: runs over the life of the conic (measured: once 0.05 s had been spent in all
#: calls together, every later call returned "Time limit reached" at once), and it
#: would make the results depend on the machine's load.
_FALLBACK_QP_ITERATIONS = 1000
_FALLBACK_QP_OPTIONS: dict[str, Any] = {
    "error_on_fail": False,
    "highs": {
        "output_flag": False,
        "qp_iteration_limit": _FALLBACK_QP_ITERATIONS,
        "simplex_iteration_limit": _FALLBACK_QP_ITERATIONS,
    },
}
#: Allowed excess of a QP solution over its bounds and rows, relative to the
#: magnitudes involved (see :func:`qp_excess`). The well-posed subproblems of the
#: reference CSTR closed loops are met to ~1e-13; qrqp's false "success" points
#: were 0.5 to 5 outside.
QP_FEASIBILITY_TOL = 1e-6
#: QP retries in a smaller step box when the merit line search finds no decrease
#: (the box ``|step| <= radius`` starts at :data:`_TRUST_SHRINK` times the failed
#: step's largest entry and shrinks by that factor per retry). A box that gave a
#: decrease is kept for the next iterates and doubled after each full step in it.
#: Measured on the reference CSTR LMPC (docs/mpc_benchmark.md, 2026-11-28): the
#: solves that stopped with no decrease 0.1-10 % above IPOPT's objective now end
#: within 0.1 % of it; a solve whose line search never fails never gets here and
#: is unchanged.
_TRUST_RETRIES = 2
_TRUST_SHRINK = 0.1


def _scalar(a: Any) -> float:
    return float(np.asarray(a, dtype=float).ravel()[0])


def qp_excess(
    z: np.ndarray,
    A: np.ndarray,
    ub: np.ndarray,
    lbx: np.ndarray,
    ubx: np.ndarray,
) -> float:
    """Largest relative excess of a QP point over ``lbx <= z <= ubx``, ``A z <= ub``.

    Each excess is divided by ``1 + |bound|`` (box) or ``1 + |ub_i| + |A_i| |z|``
    (row, the magnitude of the terms that cancel in it), so round-off of a
    well-posed solution stays ~1e-13 whatever the problem's scale.

    Parameters
    ----------
    z : numpy.ndarray, shape (n,)
        QP solution (here: the SQP step in scaled inputs and the slacks).
    A : numpy.ndarray, shape (m, n)
        Constraint matrix.
    ub : numpy.ndarray, shape (m,)
        Upper bounds of the rows.
    lbx, ubx : numpy.ndarray, shape (n,)
        Bounds of ``z`` (infinite entries: no bound).

    Returns
    -------
    float
        0 if ``z`` is feasible, ``inf`` if it has NaN or infinite entries.
    """
    if not np.isfinite(z).all():
        return np.inf
    # the relative excesses only where a raw one is positive: this runs after
    # every QP of the solve loop, and most points are feasible
    excess = 0.0
    for raw, bound in ((lbx - z, lbx), (z - ubx, ubx)):
        if raw.max() > 0.0:  # an infinite bound gives -inf here, never > 0
            finite = np.fmin(np.abs(bound), 1e300)  # inf / inf would be NaN
            excess = max(excess, float(np.max(raw / (1.0 + finite))))
    if A.size:
        raw = A @ z - ub
        if raw.max() > 0.0:
            scale = 1.0 + np.abs(ub) + np.abs(A) @ np.abs(z)
            excess = max(excess, float(np.max(raw / scale)))
    return excess


@dataclass
class SolveResult:
    """Outcome of one solve.

    Attributes
    ----------
    v : numpy.ndarray
        Scaled decision vector at the solution (or last iterate).
    success : bool
    status : str
        Solver status text.
    iterations : int
        QP (SQP) or IPOPT iterations.
    objective : float
        Objective including slack penalties.
    max_violation : float
        Largest constraint row value (0 if satisfied). Rows are normalized.
    solve_ms : float
        Wall time of the solve. [ms]
    multipliers : numpy.ndarray
        Multipliers of the constraint rows.
    y_first : numpy.ndarray or None
        Predicted outputs at the end of the first move (drift included).
    """

    v: np.ndarray
    success: bool
    status: str
    iterations: int
    objective: float
    max_violation: float
    solve_ms: float
    multipliers: np.ndarray
    y_first: np.ndarray | None = None


class GaussNewtonSQP:
    """Gauss-Newton SQP with a dense QP per iterate (see module docstring)."""

    def __init__(self, problem: MPCProblem) -> None:
        self.problem = pr = problem
        n = pr.nv + pr.n_slack
        self.n = n
        self.S = np.zeros((pr.ng, pr.n_slack))
        self.S[np.flatnonzero(pr.soft), np.arange(pr.n_slack)] = 1.0
        H_sp = ca.Sparsity.dense(n, n)
        A_sp = ca.Sparsity.dense(max(pr.ng, 0), n)
        self.qp = ca.conic(
            "gn_qp",
            "qrqp",
            {"h": H_sp, "a": A_sp},
            {
                "print_iter": False,
                "print_header": False,
                "print_info": False,
                "error_on_fail": False,
                "max_iter": 200,
            },
        )
        self.lbx = np.concatenate([-np.ones(pr.nv), np.zeros(pr.n_slack)])
        self.ubx = np.concatenate([np.ones(pr.nv), np.full(pr.n_slack, np.inf)])
        s = pr.settings
        self._lba = ca.DM(-np.inf * np.ones(pr.ng))
        self._x0 = ca.DM.zeros(n)
        self._empty = ca.DM()
        self._no_guess = [self._empty] * 4  # lam_x0, lam_a0, q, p of a conic call
        self.l1 = s.slack_l1
        self.l2 = s.slack_l2
        # per-step constants, computed once (the solve loop is the hot path)
        self._lba_np = np.full(pr.ng, -np.inf)
        self._lyap_idx = [
            i for i, nm in enumerate(pr.constraint_names) if "lyapunov" in nm
        ]
        self._hard = ~pr.soft
        self._any_hard = bool(np.any(self._hard))
        self._eye_nv = 1e-9 * np.eye(pr.nv)
        self._H_slack = 2.0 * self.l2 * np.eye(pr.n_slack)
        self._q_slack = np.full(pr.n_slack, self.l1)
        self._negS = -self.S
        self._derivs = pr.functions.derivs
        self._phase1: ca.Function | None = None  # built on first need
        # robust QP solver for the subproblems qrqp fails on (see _solve_qp)
        self._fallback_qp: ca.Function | None = None
        if ca.has_conic(_FALLBACK_QP):
            self._fallback_qp = ca.conic(
                "gn_qp_fallback",
                _FALLBACK_QP,
                {"h": H_sp, "a": A_sp},
                _FALLBACK_QP_OPTIONS,
            )

    def solve(
        self, v0: np.ndarray, p: np.ndarray, lam0: np.ndarray | None = None
    ) -> SolveResult:
        """Solve from ``v0`` with parameters ``p`` (see :meth:`MPCProblem.params`)."""
        start = time.perf_counter()
        pr, s = self.problem, self.problem.settings
        nv, ns = pr.nv, pr.n_slack
        v = np.clip(np.asarray(v0, dtype=float).ravel(), -1.0, 1.0)
        lam = np.zeros(pr.ng) if lam0 is None else np.asarray(lam0, dtype=float)
        status, success, it = "max_iter", False, 0
        out, phi = self._merit_at(v, p)
        r, Jr, e, ge, g, Jg, JL, y1 = out
        lyap_idx = self._lyap_idx
        hard, any_hard = self._hard, self._any_hard
        radius = np.inf  # step box of the trust-region retries, kept once used
        while it < s.max_iter:
            it += 1
            H = np.zeros((self.n, self.n))
            H[:nv, :nv] = 2.0 * Jr.T @ Jr + self._eye_nv
            if lyap_idx and pr.n_lyap:
                P = pr.P
                x0 = p[: pr.nx]
                rhs = max(float(x0 @ P @ x0), s.lyapunov_min_level)
                for row, j in enumerate(lyap_idx):
                    if lam[j] > 0:
                        Jj = JL[row * pr.nx : (row + 1) * pr.nx, :]
                        H[:nv, :nv] += lam[j] * 2.0 * Jj.T @ P @ Jj / (rhs + 1.0)
            if ns:
                H[nv:, nv:] = self._H_slack
            q = np.concatenate([2.0 * Jr.T @ r + ge, self._q_slack])
            A = np.hstack([Jg, self._negS]) if pr.ng else np.zeros((0, self.n))
            lbx = self.lbx.copy()
            ubx = self.ubx.copy()
            lbx[:nv] -= v
            ubx[:nv] -= v
            if radius < 2.0:  # kept from a retry (a step box wider than 2: none)
                lbx[:nv] = np.maximum(lbx[:nv], -radius)
                ubx[:nv] = np.minimum(ubx[:nv], radius)
            z, lam_qp, qp_status = self._solve_qp(H, q, A, g, Jg, lbx, ubx, p)
            if z is None or lam_qp is None:  # both None together (see _solve_qp)
                status = qp_status
                if radius < np.inf:  # in the kept box only: stop as without it
                    status, success = "converged_no_decrease", True
                break
            dv = z[:nv]
            model_val = self._model_value(r, e, q, H, z)
            if any_hard:
                lin = g + Jg @ dv
                if np.max(lin[hard], initial=-np.inf) > 1e-6:
                    status = self._infeasible_status(lin, p)
                    if radius < np.inf:  # in the kept box only: as without it
                        status, success = "converged_no_decrease", True
                    break
            pred = phi - model_val
            if np.max(np.abs(dv)) < s.tol or pred <= 1e-8 * max(1.0, abs(phi)):
                lam = lam_qp
                status, success = "converged", True
                if any_hard and np.max(g[hard], initial=-np.inf) > 1e-6:
                    # the merit line search accepts small violations of hard rows;
                    # this last (small) QP step restores them: take it, if it does
                    vt = np.clip(v + dv, -1.0, 1.0)
                    out_t, phit = self._merit_at(vt, p)
                    if np.max(out_t[4][hard]) < np.max(g[hard]):
                        v = vt
                        r, Jr, e, ge, g, Jg, JL, y1 = out_t
                        phi = phit
                break
            alpha = 1.0
            accepted = False
            for _ in range(5):
                vt = v + alpha * dv
                out_t, phit = self._merit_at(vt, p)
                if phit <= phi - 1e-4 * alpha * max(pred, 0.0):
                    accepted = True
                    break
                alpha *= 0.5
            if not accepted:
                # a kink of the network (or curvature the Gauss-Newton model
                # omits) lies close along dv: a QP restricted to a smaller step
                # box sees the model only where it holds and may give a new
                # direction (halving only shortens dv). See _TRUST_RETRIES.
                retry = self._trust_retry(v, dv, p, phi, r, e, H, q, A, g, Jg, lbx, ubx)
                if retry is not None:
                    accepted, alpha = True, 0.0  # 0: no full-step tests below
                    dv, lam_qp, model_val, out_t, phit, radius = retry
                    vt = v + dv
            elif alpha == 1.0 and radius < np.inf:
                # a full step in the kept box: widen it (at 2 it no longer binds)
                radius *= 2.0
                if np.max(np.abs(dv)) >= 0.5 * radius * (1 - 1e-9):
                    alpha = 0.0  # the box limited the step: no full-step tests
            if not accepted:
                # no decrease along the QP step nor in the smaller boxes: a
                # stationary point of the merit function up to the network's kinks
                status, success = "converged_no_decrease", True
                break
            v = np.clip(vt, -1.0, 1.0)
            lam = lam_qp
            r, Jr, e, ge, g, Jg, JL, y1 = out_t
            phi = phit
            if alpha == 1.0 and np.max(np.abs(dv)) < 10 * s.tol:
                status, success = "converged", True
                break
            if alpha == 1.0 and abs(phi - model_val) <= 1e-10 * (1.0 + abs(phi)):
                # the local model was exact at the full step (piecewise-linear
                # network, same activation pattern): the step is the minimizer of
                # the exact local problem and another QP would return zero
                status, success = "converged_exact_model", True
                break
        if status == "max_iter" and radius < np.inf:
            # every iterate since the first failed line search lowered the merit
            # below that point's, at which the solve would otherwise have stopped
            # with converged_no_decrease: as usable as that one
            status, success = "no_decrease_then_max_iter", True
        viol = float(np.max(g, initial=0.0)) if g.size else 0.0
        hard_viol = float(np.max(g[~pr.soft], initial=0.0)) if g.size else 0.0
        if hard_viol > 1e-6:
            success = False
            if status.startswith("converged"):
                status = self._infeasible_status(g, p)
        if not np.all(np.isfinite(v)):
            success, status = False, "nan"
        return SolveResult(
            v=v,
            success=success,
            status=status,
            iterations=it,
            objective=float(phi),
            max_violation=max(viol, 0.0),
            solve_ms=1e3 * (time.perf_counter() - start),
            multipliers=lam,
            y_first=y1,
        )

    def _merit_at(self, v: np.ndarray, p: np.ndarray) -> tuple[Any, float]:
        """The unpacked derivatives at ``v`` and the l1 merit function there
        (squared residuals, exact cost terms, slack-free penalty of the rows)."""
        out = self.problem.unpack(self._derivs.call([v, p]))
        return out, float(out[0] @ out[0]) + out[2] + self.problem.penalty(out[4])

    def _model_value(
        self, r: np.ndarray, e: float, q: np.ndarray, H: np.ndarray, z: np.ndarray
    ) -> float:
        """The merit the QP's Gauss-Newton model predicts at its point ``z``
        (``z[:nv]`` the step, ``z[nv:]`` the slacks)."""
        nv = self.problem.nv
        dv = z[:nv]
        value = float(r @ r) + e + float(q[:nv] @ dv) + 0.5 * dv @ H[:nv, :nv] @ dv
        if self.problem.n_slack:
            sl = z[nv:]
            value += self.l1 * sl.sum() + self.l2 * sl @ sl
        return value

    def _trust_retry(
        self,
        v: np.ndarray,
        dv: np.ndarray,
        p: np.ndarray,
        phi: float,
        r: np.ndarray,
        e: float,
        H: np.ndarray,
        q: np.ndarray,
        A: np.ndarray,
        g: np.ndarray,
        Jg: np.ndarray,
        lbx: np.ndarray,
        ubx: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, float, tuple[Any, ...], float, float] | None:
        """After a failed line search along ``dv``: a step of the QP in a smaller box.

        The box ``|step| <= radius`` (within the QP's own bounds) starts at
        :data:`_TRUST_SHRINK` times the failed step's largest entry and shrinks by
        that factor per try, at most :data:`_TRUST_RETRIES` tries. The full step
        is accepted on the line search's Armijo test, against this QP's predicted
        decrease. Returns ``(step, multipliers, model value, unpacked derivatives
        at v + step, merit there, the box's radius)``, or None (no try gave a
        decrease).
        """
        pr = self.problem
        nv = pr.nv
        radius = float(np.max(np.abs(dv)))
        for _ in range(_TRUST_RETRIES):
            radius *= _TRUST_SHRINK
            lo, hi = lbx.copy(), ubx.copy()
            lo[:nv] = np.maximum(lo[:nv], -radius)
            hi[:nv] = np.minimum(hi[:nv], radius)
            z, lam_qp, _ = self._solve_qp(H, q, A, g, Jg, lo, hi, p)
            if z is None or lam_qp is None:
                return None
            step = z[:nv]
            model_val = self._model_value(r, e, q, H, z)
            pred = phi - model_val
            if pred <= 1e-8 * max(1.0, abs(phi)):
                return None  # the model predicts no decrease in this box either
            out_t, phit = self._merit_at(v + step, p)
            if phit <= phi - 1e-4 * pred:
                return step, lam_qp, model_val, out_t, phit, radius
        return None

    def _solve_qp(
        self,
        H: np.ndarray,
        q: np.ndarray,
        A: np.ndarray,
        g: np.ndarray,
        Jg: np.ndarray,
        lbx: np.ndarray,
        ubx: np.ndarray,
        p: np.ndarray,
    ) -> tuple[np.ndarray | None, np.ndarray | None, str]:
        """One SQP subproblem: ``(z, multipliers, "")`` or ``(None, None, status)``.

        First the plain qrqp call (the path of every well-posed step, unchanged).
        Its point is accepted only if it meets the QP's own bounds and rows
        (:func:`qp_excess` at most :data:`QP_FEASIBILITY_TOL`): qrqp can report
        success at a point far outside them. Seen: on a heater plant with an
        output upper bound, both slacks at -0.5 (the minimizer of the slack terms
        alone, below their bound 0) with the rows violated; the SQP took that step,
        held the input at its bound and the closed loop ran 1.7 K above the bound
        that IPOPT met. And on cold starts of the reference CSTR LMPC, steps up to
        3 outside the step box.

        If qrqp fails or its point is refused, HiGHS (CasADi's ``highs`` conic,
        a robust active-set QP solver) on the objective scaled to order one. Why
        scaled: with far-away output bounds the slack penalties make gradients
        ~1e5 and the objective ~1e11, the optimum is a degenerate vertex (every
        row active), and qrqp, whose tolerances are absolute (1e-8), ran into its
        iteration limit with iterates 70 outside the step box; HiGHS solved it in
        ~5 ms to the optimum IPOPT finds. If the scaled problem fails (HiGHS's QP
        solver cycled on one CSTR subproblem until its iteration limit, see
        :data:`_FALLBACK_QP_ITERATIONS`, and solved it unscaled in 1 ms), once
        more unscaled. HiGHS's points are checked the same way. If all fail and
        there are hard rows, a phase-1 problem (least total violation) tells an
        infeasible linearization (``infeasible: ...``) from a numerical QP
        failure (``qp_failed: ...``, naming what each solver returned).
        """
        pr = self.problem
        nv = pr.nv
        ub = -g
        try:
            # positional call (h, g, a, lba, uba, lbx, ubx, x0, lam_x0, lam_a0,
            # q, p): cheaper than keyword arguments in a tight loop; numpy
            # arrays are converted by the SWIG typemaps, faster than ca.DM(...)
            sol = self.qp.call(
                [H, q, A, self._lba_np, ub, lbx, ubx, self._x0, *self._no_guess]
            )
        except RuntimeError as err:  # pragma: no cover - defensive
            return None, None, f"qp_error: {err}"
        qstats = self.qp.stats()
        if qstats.get("success", False):
            z = sol[0].full().ravel()
            excess = qp_excess(z, A, ub, lbx, ubx)
            if excess <= QP_FEASIBILITY_TOL:
                return z, sol[2].full().ravel(), ""
            failed = [f"qrqp: success at a point {excess:.3g} outside the QP's bounds"]
        else:
            failed = [f"qrqp: {qstats.get('return_status', '?')}"]
        if self._fallback_qp is not None:
            top = max(1.0, float(np.max(np.abs(H))), float(np.max(np.abs(q))))
            for scale in sorted({1.0 / top, 1.0}):
                args = [H * scale, q * scale, A, self._lba_np, ub, lbx, ubx]
                try:
                    sol = self._fallback_qp.call([*args, self._x0, *self._no_guess])
                except RuntimeError as err:  # pragma: no cover - defensive
                    return None, None, f"qp_error: {err}"
                hstats = self._fallback_qp.stats()
                z = sol[0].full().ravel()
                excess = qp_excess(z, A, ub, lbx, ubx)
                if hstats.get("success", False) and excess <= QP_FEASIBILITY_TOL:
                    return z, sol[2].full().ravel() / scale, ""
                failed.append(
                    f"highs (objective x {scale:.3g}): "
                    f"{hstats.get('return_status', '?')}"
                    + (f", {excess:.3g} outside" if excess > QP_FEASIBILITY_TOL else "")
                )
            if self._any_hard:
                lin = self._least_violation(g, Jg, lbx[:nv], ubx[:nv])
                if lin is not None and np.max(lin[self._hard], initial=0.0) > 1e-6:
                    return None, None, self._infeasible_status(lin, p)
        return None, None, "qp_failed: " + "; ".join(failed)

    def _least_violation(
        self, g: np.ndarray, Jg: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray | None:
        """Linearized rows ``g + Jg dv`` at the step of least total violation.

        Phase-1 QP: minimize ``sum(t) + 1e-8 (|dv|^2 + |t|^2)`` subject to
        ``g + Jg dv <= t``, ``t >= 0``, ``lo <= dv <= hi``. None if it fails.
        """
        pr = self.problem
        nv, ng = pr.nv, pr.ng
        if self._fallback_qp is None:
            return None
        if self._phase1 is None:
            n1 = nv + ng
            self._phase1 = ca.conic(
                "gn_phase1",
                _FALLBACK_QP,
                {"h": ca.Sparsity.dense(n1, n1), "a": ca.Sparsity.dense(ng, n1)},
                _FALLBACK_QP_OPTIONS,
            )
        sol = self._phase1(
            h=1e-8 * np.eye(nv + ng),
            g=np.concatenate([np.zeros(nv), np.ones(ng)]),
            a=np.hstack([Jg, -np.eye(ng)]),
            lba=np.full(ng, -np.inf),
            uba=-g,
            lbx=np.concatenate([lo, np.zeros(ng)]),
            ubx=np.concatenate([hi, np.full(ng, np.inf)]),
        )
        if self._phase1 is None or not self._phase1.stats().get("success", False):
            return None
        dv = sol["x"].full().ravel()[:nv]
        return g + Jg @ dv

    def _infeasible_status(self, rows: np.ndarray, p: np.ndarray) -> str:
        """Status text of hard rows that cannot be met (``rows``: values, <= 0 ok)."""
        pr = self.problem
        viol = np.where(self._hard, rows, -np.inf)
        i = int(np.argmax(viol))
        name = pr.constraint_names[i]
        if name.startswith("y["):
            what = "output bounds"
        elif name.startswith("lyapunov"):
            what = "the Lyapunov constraint"
        else:
            what = "rate limits"
        x0 = ", ".join(f"{v:.6g}" for v in p[: pr.nx])
        return (
            f"infeasible: {what} cannot be met from x0=({x0}): row {name} stays "
            f"violated by {viol[i]:.3g} (normalized) at the least-violation "
            "step; use soft constraints (soft_constraints=True, the default)"
        )


def check_nlpsol(plugin: str) -> None:
    """Raise :class:`SolverUnavailableError` if CasADi lacks the NLP ``plugin``.

    CasADi's own error comes only when the solver is built, deep in a traceback;
    CasADi builds without IPOPT exist (some conda and source builds).

    Parameters
    ----------
    plugin : str
        ``nlpsol`` plugin name, e.g. ``"ipopt"`` or ``"sqpmethod"``.

    Raises
    ------
    SolverUnavailableError
        Naming the plugin, the CasADi version and the alternatives.
    """
    if not ca.has_nlpsol(plugin):
        raise SolverUnavailableError(
            f"the NLP solver {plugin!r} is not available in this CasADi "
            f"({getattr(ca, '__version__', '?')}); use solver='gn_sqp' (needs "
            "only CasADi's built-in qrqp) or install a CasADi build that "
            "includes it (the 'casadi' wheels on PyPI ship IPOPT)"
        )


class NlpSolver:
    """The problem's NLP solved by CasADi ``nlpsol`` (IPOPT or sqpmethod)."""

    def __init__(self, problem: MPCProblem, plugin: str = "ipopt") -> None:
        check_nlpsol(plugin)
        self.problem = pr = problem
        s = pr.settings
        self.relu_smoothing = s.relu_smoothing_for(spec_activation(pr.spec))
        nlp = pr.nlp(self.relu_smoothing)
        if plugin == "ipopt":
            opts: dict[str, Any] = {
                "ipopt.print_level": 0,
                # ReLU networks are piecewise linear: at a kink the KKT residual
                # does not vanish, so accept a modest tolerance after a few steps
                "ipopt.max_iter": s.max_iter * 5,
                "ipopt.tol": min(s.tol, 1e-6),
                "ipopt.acceptable_tol": 1e-4,
                "ipopt.acceptable_iter": 3,
                # measured on the CSTR LMPC bench closed loops (60 problems per
                # surrogate): the adaptive barrier update lowers the median IPOPT
                # iterations from 12/10/9 to 10/7/7 (ICLRNN/RNN/LSTM)
                "ipopt.mu_strategy": "adaptive",
                "ipopt.sb": "yes",
                "print_time": False,
                "error_on_fail": False,
            }
        else:
            opts = {
                "qpsol": "qrqp",
                "qpsol_options": {
                    "print_iter": False,
                    "print_header": False,
                    "print_info": False,
                    "error_on_fail": False,
                },
                "max_iter": s.max_iter,
                "print_header": False,
                "print_iteration": False,
                "print_status": False,
                "print_time": False,
                "error_on_fail": False,
                # measured on the CSTR reference closed loops (2 x 30 steps, a
                # 2x32 ICLRNN): with tol_du = tol_pr = 1e-8, no convexification
                # and the default min_step_size, sqpmethod ended with
                # Search_Direction_Becomes_Too_Small when started at the optimum
                # (the first iterate's multipliers are zero, so the dual
                # infeasibility is the slack penalty 1e5 while the QP step is
                # ~1e-15) and settled in worse local minima through indefinite
                # exact Hessians (closed-loop costs 28899 / 26540 vs IPOPT's
                # 21585 / 17538). With these options: 0 failures, IPOPT's costs.
                "convexify_strategy": "eigen-clip",
                "min_step_size": 1e-20,
                # the gradients are ~1e5 (slack penalties) and the objective ~1e4:
                # 1e-8 in the dual infeasibility is below round-off
                "tol_du": 1e-4,
                "tol_pr": 1e-6,
            }
        if s.jit:
            opts.update(jit_options(True))
        self.plugin = plugin
        self.solver = ca.nlpsol(f"mpc_{plugin}", plugin, nlp, opts)
        self.lbx = np.concatenate([-np.ones(pr.nv), np.zeros(pr.n_slack)])
        self.ubx = np.concatenate([np.ones(pr.nv), np.full(pr.n_slack, np.inf)])
        self.ubg = np.zeros(pr.ng)
        self.lbg = -np.inf * np.ones(pr.ng)

    def solve(
        self, v0: np.ndarray, p: np.ndarray, lam0: np.ndarray | None = None
    ) -> SolveResult:
        start = time.perf_counter()
        pr = self.problem
        v0 = np.clip(np.asarray(v0, dtype=float).ravel(), -1, 1)
        if pr.n_slack:
            g0 = np.asarray(pr.functions.values(v0, p)[2]).ravel()
            s0 = np.maximum(g0[pr.soft], 0.0)
            x0 = np.concatenate([v0, s0])
        else:
            x0 = v0
        sol = self.solver(
            x0=x0, p=p, lbx=self.lbx, ubx=self.ubx, lbg=self.lbg, ubg=self.ubg
        )
        stats = self.solver.stats()
        x = np.asarray(sol["x"]).ravel()
        v = np.clip(x[: pr.nv], -1, 1)
        # constraint rows and, with a smoothed network, the objective are those of
        # the exact network (one evaluation)
        merit, _, g = pr.merit(v, p)
        hard_viol = float(np.max(g[~pr.soft], initial=0.0)) if g.size else 0.0
        success = bool(stats.get("success", False)) and hard_viol <= 1e-6
        objective = merit if self.relu_smoothing > 0 else _scalar(sol["f"])
        return SolveResult(
            v=v,
            success=success and bool(np.all(np.isfinite(v))),
            status=str(stats.get("return_status", "?")),
            iterations=int(stats.get("iter_count", 0)),
            objective=objective,
            max_violation=max(float(np.max(g, initial=0.0)), 0.0) if g.size else 0.0,
            solve_ms=1e3 * (time.perf_counter() - start),
            multipliers=np.asarray(sol["lam_g"]).ravel(),
        )


def make_solver(problem: MPCProblem) -> GaussNewtonSQP | NlpSolver:
    """The solver named in ``problem.settings.solver``."""
    name = problem.settings.solver
    if name == "gn_sqp":
        return GaussNewtonSQP(problem)
    return NlpSolver(problem, name)
