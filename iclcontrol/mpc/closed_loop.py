"""Closed loop of a controller against a plant simulator, and its metrics."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    IclControlWarning,
    SimulationError,
)
from plants.base import checked_step, outside_valid_states


def _state_text(plant: Any, x: np.ndarray) -> str:
    return ", ".join(f"{n}={v:.6g}" for n, v in zip(plant.state_names, x, strict=True))


def check_initial_state(plant: Any, x0: Any) -> tuple[np.ndarray, list[str]]:
    """Validate an initial state before a closed loop.

    Parameters
    ----------
    plant : plants.Plant
    x0 : array-like, shape (n_states,)
        Initial state in the plant's coordinates. [state units]

    Returns
    -------
    x0 : numpy.ndarray, shape (n_states,)
    warnings : list of str
        Reasons for concern that do not stop a run: ``V(x0)`` above the plant's
        ``stability_level`` (outside the region in which the Lyapunov constraint
        guarantees stabilization).

    Raises
    ------
    DimensionError
        Not one state of ``n_states`` entries.
    DataError
        NaN or infinite entries, or a state outside the plant's physically valid
        box (``plant.state_lower``/``state_upper``, e.g. a negative absolute
        concentration of the CSTR).
    """
    xb = plant.check_states(x0)
    if xb.shape[0] != 1:
        raise DimensionError(
            f"x0 must be one state of shape ({plant.n_states},), got {xb.shape[0]}"
        )
    x = xb[0]
    outside = outside_valid_states(plant, x)
    if outside:
        raise DataError(
            f"x0=({_state_text(plant, x)}) is outside the valid states of "
            f"{type(plant).__name__}: {'; '.join(outside)} (its physical limits "
            "state_lower/state_upper; the CSTR's are absolute concentration and "
            "temperature >= 0, in deviation form)"
        )
    notes = []
    level = getattr(plant, "stability_level", None)
    if level is not None and hasattr(plant, "lyapunov"):
        v = float(plant.lyapunov(x))
        if v > level:
            notes.append(
                f"V(x0)={v:.4g} > {level:.4g}: x0 is outside the region the "
                "Lyapunov constraint guarantees (the stability region); the closed "
                "loop may not converge or the plant may diverge"
            )
    return x, notes


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
    noise : float, sequence of float or None
        Half-widths (>= 0, one per state or one for all) of uniform noise added
        to the measured state (the controller sees ``x + noise``; the plant keeps
        the true state). [state units]
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
        ``in_setpoint_region`` (the plant's region around the steady state,
        whatever the controller tracks; :func:`in_region_around` for another
        setpoint).

    Raises
    ------
    DataError, DimensionError
        Invalid ``x0`` (see :func:`check_initial_state`) or ``noise``.
    SimulationError
        The plant state became non-finite or left the plant's valid box; the
        message names the step, ``err.frame`` holds the rows computed so far
        (the last one the diverged state).

    Warns
    -----
    IclControlWarning
        ``V(x0)`` above the plant's stability level.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    x, notes = check_initial_state(plant, x0)
    for note in notes:
        warnings.warn(note, IclControlWarning, stacklevel=2)
    rng = np.random.default_rng(random_state)
    bound = _noise_bound(noise, plant.n_states)
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
        plant_says = ""
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                x_next = checked_step(plant, x, res.u)
        except SimulationError as err:
            # the plant refused its own diverged state: stop below, with the rows
            if err.states is None:
                raise
            x_next = np.asarray(err.states, dtype=float)[0]
            plant_says = f" (simulator: {err})"
        finite = bool(np.all(np.isfinite(x_next)))
        outside = outside_valid_states(plant, x_next) if finite else []
        if not finite or outside:
            row = {"k": k + 1, "t": (k + 1) * plant.sampling_period}
            for i, name in enumerate(plant.state_names):
                row[name] = float(x_next[i])
            for name in plant.input_names:
                row[name] = np.nan
            rows.append(row)
            frame = _finish(pd.DataFrame(rows), plant)
            u_text = ", ".join(f"{v:.6g}" for v in res.u)
            why = "; ".join(outside) if finite else "not finite"
            raise SimulationError(
                f"the plant simulation diverged at step {k + 1} of {steps} "
                f"(t={(k + 1) * plant.sampling_period:g} h): from "
                f"({_state_text(plant, x)}) with u=({u_text}) it reached "
                f"({_state_text(plant, x_next)}), {why}; the closed loop "
                f"stopped{plant_says}",
                frame=frame,
            )
        x = x_next
    return _finish(pd.DataFrame(rows), plant)


def _noise_bound(noise: Any, n_states: int) -> np.ndarray | None:
    """Half-widths of the uniform measurement noise, validated."""
    if noise is None:
        return None
    bound = np.asarray(noise, dtype=float)
    if bound.ndim == 0:
        bound = np.full(n_states, float(bound))
    if bound.shape != (n_states,):
        raise DimensionError(
            f"noise needs one half-width per state ({n_states}), got shape "
            f"{bound.shape}"
        )
    if not np.all(np.isfinite(bound)) or np.any(bound < 0):
        raise ConfigError(
            f"noise half-widths must be finite and >= 0, got {bound.tolist()}"
        )
    return bound


def _finish(frame: pd.DataFrame, plant: Any) -> pd.DataFrame:
    """Add the Lyapunov value and the setpoint-region flag per row."""
    states = frame[list(plant.state_names)].to_numpy()
    if hasattr(plant, "lyapunov"):
        with np.errstate(over="ignore", invalid="ignore"):
            frame["lyapunov"] = plant.lyapunov(states)
    if hasattr(plant, "in_setpoint_region"):
        with np.errstate(invalid="ignore"):
            frame["in_setpoint_region"] = plant.in_setpoint_region(states)
    return frame


def _first_step_staying(inside: np.ndarray) -> int | None:
    """First index from which every entry of ``inside`` is True (None: never)."""
    inside = np.asarray(inside, dtype=bool)
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    return int(outside[-1] + 1) if outside.size else 0


def steps_to_region(frame: pd.DataFrame) -> int | None:
    """First step from which the state stays in the setpoint region (None: never).

    The region is the frame's ``in_setpoint_region`` column: the plant's region
    around the steady state (the origin in deviation form), as in the reference
    protocol, whatever setpoint the controller tracked (see :func:`summarize`'s
    ``tracking`` block for the region around another setpoint).
    """
    return _first_step_staying(frame["in_setpoint_region"].to_numpy(dtype=bool))


def closed_loop_cost(
    frame: pd.DataFrame,
    state_names: tuple[str, ...] = ("CA", "T"),
    input_names: tuple[str, ...] = ("CA0", "Q"),
    state_weights: tuple[float, ...] = (1000.0, 1.0),
    input_weights: tuple[float, ...] = (1.0, 3e-10),
    state_setpoint: tuple[float, ...] | None = None,
    input_setpoint: tuple[float, ...] | None = None,
) -> float:
    """Sum over the applied steps of ``sum_i w_i (x_i - xs_i)^2 + sum_j r_j
    (u_j - us_j)^2``.

    States are those at the end of each period (k = 1..N), inputs those applied
    (k = 0..N-1). With the defaults (reference weights, setpoints at the origin)
    this is the stage cost of the reference LMPC evaluated on the plant.

    Parameters
    ----------
    frame : pandas.DataFrame
        A closed loop (:func:`closed_loop`).
    state_names, input_names : tuple of str
        Columns of the states and inputs.
    state_weights, input_weights : tuple of float
        Weights ``w`` and ``r``. [1/unit^2]
    state_setpoint, input_setpoint : tuple of float or None
        Targets ``xs`` and ``us``; None: zero (the steady state). [state, input
        units]

    Raises
    ------
    DimensionError
        Weights or setpoints without one entry per state / input (numpy would
        broadcast them: two input weights on one input were summed).
    """
    for what, names, values in (
        ("state_weights", state_names, state_weights),
        ("input_weights", input_names, input_weights),
        ("state_setpoint", state_names, state_setpoint),
        ("input_setpoint", input_names, input_setpoint),
    ):
        if values is not None and len(values) != len(names):
            raise DimensionError(
                f"{what} needs one entry per {tuple(names)}, got {tuple(values)} "
                "(the defaults are the reference CSTR's)"
            )
    x = frame[list(state_names)].to_numpy()[1:]
    u = frame[list(input_names)].to_numpy()[:-1]
    if state_setpoint is not None:
        x = x - np.asarray(state_setpoint, dtype=float)
    if input_setpoint is not None:
        u = u - np.asarray(input_setpoint, dtype=float)
    return float(
        np.sum(x**2 * np.asarray(state_weights))
        + np.sum(u**2 * np.asarray(input_weights))
    )


def in_region_around(
    frame: pd.DataFrame, plant: Any, setpoint: Any
) -> np.ndarray | None:
    """Per row of a closed loop: is the state in the plant's setpoint region moved
    to ``setpoint``?

    Parameters
    ----------
    frame : pandas.DataFrame
        A closed loop (:func:`closed_loop`).
    plant : plants.Plant
        Its ``in_setpoint_region(x, center)`` gives the region's shape.
    setpoint : array-like, shape (n_states,)
        Centre of the region. [state units]

    Returns
    -------
    numpy.ndarray of bool, shape (len(frame),), or None
        None if the plant defines no setpoint region.
    """
    if not hasattr(plant, "in_setpoint_region"):
        return None
    states = frame[list(plant.state_names)].to_numpy()
    with np.errstate(invalid="ignore"):
        return np.asarray(plant.in_setpoint_region(states, setpoint), dtype=bool)


def tracking_metrics(frame: pd.DataFrame, plant: Any, settings: Any) -> dict[str, Any]:
    """Metrics of a closed loop against the controller's own setpoint and weights.

    Parameters
    ----------
    frame : pandas.DataFrame
        A closed loop (:func:`closed_loop`).
    plant : plants.Plant
        Names of the states and inputs; its ``in_setpoint_region(x, center)``, if
        it has one, gives the region's shape.
    settings : MPCSettings
        ``state_setpoint``, ``input_setpoint`` (None: zero), ``state_weights``,
        ``input_weights``.

    Returns
    -------
    dict
        ``state_setpoint``, ``input_setpoint``, ``state_weights``,
        ``input_weights`` (as used), ``steps_to_setpoint_region``: first step from
        which the state stays in the plant's setpoint region moved to
        ``state_setpoint`` (None: never, or the plant has no such region), and
        ``cost``: :func:`closed_loop_cost` with those weights and setpoints.
    """
    names, inputs = tuple(plant.state_names), tuple(plant.input_names)
    xs = settings.state_setpoint or (0.0,) * len(names)
    us = settings.input_setpoint or (0.0,) * len(inputs)
    inside = in_region_around(frame, plant, xs)
    steps = None if inside is None else _first_step_staying(inside)
    return {
        "state_setpoint": [float(v) for v in xs],
        "input_setpoint": [float(v) for v in us],
        "state_weights": [float(v) for v in settings.state_weights],
        "input_weights": [float(v) for v in settings.input_weights],
        "steps_to_setpoint_region": steps,
        "cost": closed_loop_cost(
            frame,
            names,
            inputs,
            settings.state_weights,
            settings.input_weights,
            xs,
            us,
        ),
    }


def finite_or_none(value: Any) -> float | None:
    """A bound as a float, or None for an unbounded side (None or infinite)."""
    return float(value) if value is not None and np.isfinite(value) else None


def constraint_limits(
    plant: Any = None, settings: Any = None
) -> dict[str, tuple[float | None, float | None]]:
    """The hard limits of a closed loop per column: output bounds and input bounds.

    Parameters
    ----------
    plant : plants.Plant, optional
        Its state and input names and its input bounds ``input_lower`` /
        ``input_upper`` (the controller's input box). Default: the reference
        CSTR.
    settings : MPCSettings, optional
        Its ``output_lower`` / ``output_upper`` bound the states (the model's
        outputs are the plant's states). None: no output bounds.

    Returns
    -------
    dict of column -> (lower, upper)
        One entry per state and per input, in the plant's coordinates, those
        of the closed-loop columns (deviations from the steady state for the
        CSTR); None for an unbounded side (a bound None or infinite). [state
        and input units]

    Raises
    ------
    DimensionError
        ``output_lower`` / ``output_upper`` without one entry per state.
    """
    if plant is None:
        from plants.cstr import CSTR

        plant = CSTR()
    names, inputs = tuple(plant.state_names), tuple(plant.input_names)
    sides = []
    for what in ("output_lower", "output_upper"):
        bound = getattr(settings, what, None) if settings is not None else None
        if bound is None:
            bound = (None,) * len(names)
        if len(bound) != len(names):
            raise DimensionError(
                f"{what} needs one entry per state {names}, got {tuple(bound)}"
            )
        sides.append(bound)
    limits = {
        name: (finite_or_none(lo), finite_or_none(hi))
        for name, lo, hi in zip(names, *sides, strict=True)
    }
    for name, lo, hi in zip(inputs, plant.input_lower, plant.input_upper, strict=True):
        limits[name] = (finite_or_none(lo), finite_or_none(hi))
    return limits


def limit_excess(values: Any, lower: float | None, upper: float | None) -> np.ndarray:
    """How far each value lies beyond ``[lower, upper]`` (0 inside; NaN stays NaN).

    Parameters
    ----------
    values : array-like
        A closed-loop column. [column units]
    lower, upper : float or None
        The limits; None: unbounded on that side. [column units]

    Returns
    -------
    numpy.ndarray
        ``max(lower - v, v - upper, 0)`` per value. [column units]
    """
    v = np.asarray(values, dtype=float)
    below = lower - v if lower is not None else np.zeros_like(v)
    above = v - upper if upper is not None else np.zeros_like(v)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(v), np.nan, np.maximum(np.maximum(below, above), 0))


def bounds_summary(
    frame: pd.DataFrame, plant: Any = None, settings: Any = None
) -> dict[str, Any]:
    """The limits a closed loop ran under and how far it went beyond them (JSON).

    Parameters
    ----------
    frame : pandas.DataFrame
        A closed loop (:func:`closed_loop`).
    plant, settings
        As in :func:`constraint_limits`.

    Returns
    -------
    dict
        ``outputs`` (per state) and ``inputs`` (per input): ``lower``, ``upper``
        (null: unbounded on that side) and ``max_excess``, the largest distance
        beyond them over the states after the initial one (rows k >= 1, those
        the controller acted on) and the inputs applied (0: always within).
        [column units]
    """
    limits = constraint_limits(plant, settings)
    states = tuple(plant.state_names) if plant is not None else ("CA", "T")

    def entry(name: str, rows: pd.Series) -> dict[str, Any]:
        lo, hi = limits[name]
        excess = limit_excess(rows.to_numpy(dtype=float), lo, hi)
        excess = excess[np.isfinite(excess)]
        return {
            "lower": lo,
            "upper": hi,
            "max_excess": float(excess.max()) if excess.size else 0.0,
        }

    return {
        "outputs": {n: entry(n, frame[n].iloc[1:]) for n in states},
        "inputs": {n: entry(n, frame[n].iloc[:-1]) for n in limits if n not in states},
    }


def summarize(
    frame: pd.DataFrame, plant: Any = None, settings: Any = None
) -> dict[str, Any]:
    """JSON metrics of a closed loop (keys of the ``iclcontrol mpc --json`` output).

    Besides timing, iterations, cost and fallbacks: ``status_counts`` (solver
    status -> number of steps) and ``max_violation``, the largest normalized
    constraint violation the solver accepted over the run (soft output and
    Lyapunov rows; 0: every prediction met its constraints; None: no step
    reported one).

    ``steps_to_region`` and ``closed_loop_cost`` are the reference protocol's
    metrics (the ICLRNN paper's): the setpoint region around the steady state
    (the origin in deviation form) and the reference weights (1000, 1) on
    (CA, T), (1, 3e-10) on (CA0, Q), whatever the controller tracked. For a
    plant whose states and inputs are not (CA, T) and (CA0, Q) they are None
    (the reference weights mean nothing there; ``steps_to_region`` is also
    None if the plant has no ``in_setpoint_region``). With ``settings`` (an
    :class:`MPCSettings`) the result also has ``tracking``:
    :func:`tracking_metrics`, the same metrics around the controller's own
    setpoint and with its weights: the ones to read for a user's plant, and
    ``bounds``: :func:`bounds_summary`, the output and input limits the
    controller had (null for an unbounded side) and how far the closed loop
    went beyond each.
    """
    solved = frame.iloc[:-1]
    ms = solved["solve_ms"].to_numpy(dtype=float)
    violation = solved["max_violation"].to_numpy(dtype=float)
    violation = violation[np.isfinite(violation)]
    names = tuple(plant.state_names) if plant is not None else ("CA", "T")
    inputs = tuple(plant.input_names) if plant is not None else ("CA0", "Q")
    out = {
        "median_solve_ms": float(np.median(ms)),
        "p95_solve_ms": float(np.percentile(ms, 95)),
        "max_solve_ms": float(np.max(ms)),
        "median_iterations": float(np.median(solved["iterations"].to_numpy())),
        "steps_to_region": steps_to_region(frame)
        if "in_setpoint_region" in frame
        else None,
        "final_state": [float(v) for v in frame[list(names)].to_numpy()[-1]],
        "closed_loop_cost": closed_loop_cost(frame, names, inputs)
        if (names, inputs) == (("CA", "T"), ("CA0", "Q"))
        else None,
        "fallbacks": int(solved["fallback"].sum()),
        "failed_solves": int((~solved["success"].astype(bool)).sum()),
        "status_counts": {
            str(k): int(v)
            for k, v in solved["status"].astype(str).value_counts().items()
        },
        "max_violation": float(violation.max()) if violation.size else None,
        "steps": len(solved),
    }
    if settings is not None:
        if plant is None:
            raise ConfigError("summarize: settings need the plant (plant=...)")
        out["tracking"] = tracking_metrics(frame, plant, settings)
        out["bounds"] = bounds_summary(frame, plant, settings)
    return out
