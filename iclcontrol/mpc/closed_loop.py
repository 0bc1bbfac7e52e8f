"""Closed loop of a controller against a plant simulator, and its metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError


def closed_loop(
    plant: Any,
    controller: Any,
    x0: Any,
    steps: int,
    noise: Any = None,
    random_state: int | np.random.Generator | None = 0,
    callback: Any = None,
) -> pd.DataFrame:
    """Run ``controller`` against ``plant`` for ``steps`` sampling periods.

    Parameters
    ----------
    plant : plants.Plant
    controller : object with ``reset(x0)`` and ``step(x) -> StepResult``
    x0 : array-like, shape (n_states,)
        Initial state (plant coordinates, e.g. deviations).
    steps : int
        Number of sampling periods.
    noise : sequence of float or None
        Bounds of uniform noise added to the measured state (the controller sees
        ``x + noise``; the plant keeps the true state). [state units]
    random_state : int, Generator or None
        Seed of the measurement noise.
    callback : callable or None
        Called as ``callback(k, row_dict)`` after each step (progress printing).

    Returns
    -------
    pandas.DataFrame
        One row per sampling instant ``k = 0..steps`` with columns ``k``, ``t`` [h],
        the states, the inputs applied from ``t`` (NaN on the last row),
        ``success``, ``status``, ``iterations``, ``solve_ms``, ``objective``,
        ``fallback``, ``fallback_reason``, ``max_violation``, ``lyapunov``,
        ``in_setpoint_region``.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    x = plant.check_states(x0)[0]
    rng = np.random.default_rng(random_state)
    bound = None if noise is None else np.asarray(noise, dtype=float)
    controller.reset(x)
    rows: list[dict[str, Any]] = []
    for k in range(steps + 1):
        row: dict[str, Any] = {"k": k, "t": k * plant.sampling_period}
        for i, name in enumerate(plant.state_names):
            row[name] = float(x[i])
        if k == steps:
            for name in plant.input_names:
                row[name] = np.nan
            rows.append(row)
            break
        meas = x if bound is None else x + rng.uniform(-bound, bound)
        res = controller.step(meas)
        for i, name in enumerate(plant.input_names):
            row[name] = float(res.u[i])
        row.update(
            success=bool(res.success),
            status=res.status,
            iterations=int(res.iterations),
            solve_ms=float(res.solve_ms),
            objective=float(res.objective),
            fallback=bool(res.fallback),
            fallback_reason=res.fallback_reason,
            max_violation=float(res.max_violation),
        )
        rows.append(row)
        if callback is not None:
            callback(k, row)
        x = plant.step(x, res.u)[0]
    frame = pd.DataFrame(rows)
    states = frame[list(plant.state_names)].to_numpy()
    if hasattr(plant, "lyapunov"):
        frame["lyapunov"] = plant.lyapunov(states)
    if hasattr(plant, "in_setpoint_region"):
        frame["in_setpoint_region"] = plant.in_setpoint_region(states)
    return frame


def steps_to_region(frame: pd.DataFrame) -> int | None:
    """First step from which the state stays in the setpoint region (None: never)."""
    inside = frame["in_setpoint_region"].to_numpy(dtype=bool)
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    return int(outside[-1] + 1) if outside.size else 0


def closed_loop_cost(
    frame: pd.DataFrame,
    state_names: tuple[str, ...] = ("CA", "T"),
    input_names: tuple[str, ...] = ("CA0", "Q"),
    state_weights: tuple[float, ...] = (1000.0, 1.0),
    input_weights: tuple[float, ...] = (1.0, 3e-10),
) -> float:
    """Sum over the applied steps of ``sum_i w_i x_i^2 + sum_j r_j u_j^2``.

    States are those at the end of each period (k = 1..N), inputs those applied
    (k = 0..N-1): the stage cost of the reference LMPC evaluated on the plant.
    """
    x = frame[list(state_names)].to_numpy()[1:]
    u = frame[list(input_names)].to_numpy()[:-1]
    return float(
        np.sum(x**2 * np.asarray(state_weights))
        + np.sum(u**2 * np.asarray(input_weights))
    )


def summarize(frame: pd.DataFrame, plant: Any = None) -> dict[str, Any]:
    """JSON metrics of a closed loop (keys of the ``iclcontrol mpc --json`` output)."""
    solved = frame.iloc[:-1]
    ms = solved["solve_ms"].to_numpy(dtype=float)
    names = tuple(plant.state_names) if plant is not None else ("CA", "T")
    inputs = tuple(plant.input_names) if plant is not None else ("CA0", "Q")
    return {
        "median_solve_ms": float(np.median(ms)),
        "p95_solve_ms": float(np.percentile(ms, 95)),
        "max_solve_ms": float(np.max(ms)),
        "median_iterations": float(np.median(solved["iterations"].to_numpy())),
        "steps_to_region": steps_to_region(frame)
        if "in_setpoint_region" in frame
        else None,
        "final_state": [float(v) for v in frame[list(names)].to_numpy()[-1]],
        "closed_loop_cost": closed_loop_cost(frame, names, inputs),
        "fallbacks": int(solved["fallback"].sum()),
        "failed_solves": int((~solved["success"].astype(bool)).sum()),
        "steps": len(solved),
    }
