"""Convexity report of a surrogate MPC problem, with reasons (see DESIGN.md).

A problem in the decision variables (the inputs of every move) is convex when its
objective is a convex function and its feasible set a convex set. For a network that
is input convex (non-negative weights, convex non-decreasing activations, affine
input augmentation ``[z, -z]``) every output is convex in the input sequence; the
composition rules then decide what survives:

* a cost that is convex and NON-DECREASING in the outputs keeps convexity (linear
  costs with non-negative weights); a squared tracking error ``(y - y_sp)^2`` is not
  non-decreasing and breaks it;
* an output upper bound ``y(u) <= y_max`` is a convex set, a lower bound
  ``y(u) >= y_min`` is not (the super-level set of a convex function);
* ``V(y(u)) <= c`` with ``V`` a convex quadratic is not convex in general;
* feeding a predicted state back into the network (rollout, multiple shooting)
  breaks convexity, because the state enters through ``[x, -x]`` and the network is
  only non-decreasing in the augmented input, not in ``x``.

:func:`midpoint_test` measures what the analysis predicts on random pairs of
decision vectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from iclcontrol.export.casadi_export import CONVEX_KINDS, spec_activation
from iclcontrol.mpc.settings import REFERENCE_HORIZON


@dataclass
class ConvexityItem:
    """One component of the problem and whether it preserves convexity."""

    component: str
    convex: bool
    reason: str


@dataclass
class ConvexityReport:
    """Whether a built problem is provably convex, with the reason per component."""

    convex: bool
    items: list[ConvexityItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"convex": self.convex, "items": [asdict(i) for i in self.items]}

    def __str__(self) -> str:
        head = "provably convex" if self.convex else "NOT provably convex"
        lines = [f"MPC problem: {head}"]
        for item in self.items:
            mark = "ok " if item.convex else "NO "
            lines.append(f"  [{mark}] {item.component}: {item.reason}")
        return "\n".join(lines)


def convexity_report(spec: dict[str, Any], settings: Any) -> ConvexityReport:
    """Analyse a problem built from a network ``spec`` and :class:`MPCSettings`."""
    s = settings
    items: list[ConvexityItem] = []
    kind = spec["kind"]
    net_convex = kind in CONVEX_KINDS and spec_activation(spec) == "relu"
    if net_convex:
        items.append(
            ConvexityItem(
                "network",
                True,
                f"{kind}: non-negative weights, ReLU, input [z, -z] affine in z; every "
                "output is convex in the input sequence; scalers are affine with "
                "positive scale",
            )
        )
    else:
        items.append(
            ConvexityItem(
                "network",
                False,
                f"{kind} has signed weights or non-convex activations; its outputs "
                "are not convex in the inputs",
            )
        )
    if s.prediction == "sequence":
        items.append(
            ConvexityItem(
                "prediction",
                True,
                "single evaluation of the whole horizon: the initial state is a "
                "parameter, inputs enter affinely (piecewise-constant moves)",
            )
        )
    else:
        # horizon None: rollout's default is the reference's 2 (default_horizon)
        horizon = s.horizon if s.horizon is not None else REFERENCE_HORIZON
        items.append(
            ConvexityItem(
                "prediction",
                horizon == 1,
                "rollout feeds the predicted state back as a feature through [x, -x]; "
                "the network is not non-decreasing in x, so the composition is not "
                "convex"
                if horizon > 1
                else "horizon 1: no state fed back",
            )
        )
    tracking = any(w > 0 for w in s.state_weights)
    if tracking:
        items.append(
            ConvexityItem(
                "tracking cost",
                False,
                "(y - y_sp)^2 is convex but not non-decreasing in y; composed with "
                "a convex output it is not convex (outputs can lie on both sides of "
                "the setpoint)",
            )
        )
    if any(w > 0 for w in s.input_weights) or s.rate_weight > 0:
        items.append(
            ConvexityItem(
                "input cost",
                True,
                "convex quadratic in the decision variables",
            )
        )
    if s.economic_state_weights is not None:
        nonneg = all(c >= 0 for c in s.economic_state_weights)
        items.append(
            ConvexityItem(
                "economic output cost",
                nonneg,
                "linear with non-negative weights: non-decreasing in convex outputs"
                if nonneg
                else "a negative weight makes it decreasing in a convex output",
            )
        )
    if s.economic_input_weights is not None:
        items.append(ConvexityItem("economic input cost", True, "linear in inputs"))
    upper = any(np.isfinite(b) for b in s.output_upper or ())
    lower = any(np.isfinite(b) for b in s.output_lower or ())
    if upper:
        items.append(
            ConvexityItem(
                "output upper bounds",
                True,
                "y(u) <= y_max is a sub-level set of a convex function",
            )
        )
    if lower:
        items.append(
            ConvexityItem(
                "output lower bounds",
                False,
                "y(u) >= y_min is a super-level set of a convex function",
            )
        )
    if s.lyapunov:
        items.append(
            ConvexityItem(
                "Lyapunov constraint",
                False,
                "V(y(u)) <= V(x0) with V a convex quadratic that is not monotone in "
                "y: not convex in u in general",
            )
        )
    items.append(ConvexityItem("input bounds and rate limits", True, "linear"))
    if s.soft_constraints:
        items.append(
            ConvexityItem("slacks", True, "linear/quadratic penalty, linear rows")
        )
    # the network's convexity only matters where an output enters the problem
    needs_network = net_convex or not (
        tracking or s.lyapunov or upper or lower or s.economic_state_weights is not None
    )
    convex = all(i.convex for i in items if i.component != "network") and needs_network
    return ConvexityReport(convex, items)


def midpoint_test(
    function: Any,
    dim: int,
    n_pairs: int = 200,
    random_state: int | np.random.Generator | None = 0,
    low: float = -1.0,
    high: float = 1.0,
    tol: float = 1e-9,
) -> float:
    """Fraction of random pairs violating midpoint convexity of ``function``.

    Checks ``f((a + b) / 2) <= (f(a) + f(b)) / 2 + tol * (1 + |f|)`` for ``n_pairs``
    uniform pairs in ``[low, high]^dim``; vector-valued functions fail a pair when any
    component fails. 0.0 is consistent with convexity (not a proof); any positive
    value disproves it.
    """
    rng = np.random.default_rng(random_state)
    bad = 0
    for _ in range(n_pairs):
        a = rng.uniform(low, high, dim)
        b = rng.uniform(low, high, dim)
        fa = np.atleast_1d(np.asarray(function(a), dtype=float)).ravel()
        fb = np.atleast_1d(np.asarray(function(b), dtype=float)).ravel()
        fm = np.atleast_1d(np.asarray(function(0.5 * (a + b)), dtype=float)).ravel()
        bound = 0.5 * (fa + fb)
        if np.any(fm > bound + tol * (1.0 + np.abs(bound))):
            bad += 1
    return bad / n_pairs
