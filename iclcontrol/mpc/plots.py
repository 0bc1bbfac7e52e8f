"""Plots of closed loops (matplotlib, Agg-safe); no numerical code lives here.

Each function takes closed-loop DataFrames from :func:`iclcontrol.mpc.closed_loop`
keyed by a label, draws one figure and optionally saves it; it returns the figure,
a :class:`matplotlib.figure.Figure` made outside pyplot (:mod:`iclcontrol.figures`):
the caller's backend and pyplot's open figures are left alone, a notebook shows
the returned figure, ``fig.savefig(...)`` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import DimensionError
from iclcontrol.figures import subplots
from iclcontrol.mpc.closed_loop import (
    constraint_limits,
    finite_or_none,
    limit_excess,
)


def _save(fig: Any, path: str | Path | None) -> None:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")


def _setpoint(setpoint: Any, state_names: tuple[str, ...]) -> tuple[float, ...]:
    """The setpoint per state (zeros for None), checked against ``state_names``."""
    if setpoint is None:
        return (0.0,) * len(state_names)
    centre = tuple(float(v) for v in setpoint)
    if len(centre) != len(state_names):
        raise DimensionError(
            f"setpoint needs one value per state {tuple(state_names)}, got {centre}"
        )
    return centre


#: Units of the CSTR's states and inputs (deviations from the steady state).
CSTR_UNITS = {"CA": "kmol/m^3", "T": "K", "CA0": "kmol/m^3", "Q": "kJ/h"}


def _axis_label(name: str, units: Mapping[str, str], deviation: bool) -> str:
    """``"CA - CAs [kmol/m^3]"`` for a deviation variable, else ``"CA [kmol/m^3]"``."""
    what = f"{name} - {name}s" if deviation else name
    return f"{what} [{units.get(name, '-')}]"


def _from_plant(plant: Any) -> dict[str, Any]:
    """Names, units, setpoint half-widths and deviation flag of a plant's plot.

    Parameters
    ----------
    plant : plants.Plant
        Its ``state_names``, ``input_names``, ``state_units``, ``input_units``,
        ``setpoint_half_widths`` (None: no band) and ``deviation_form``.
    """
    names = tuple(plant.state_names) + tuple(plant.input_names)
    units = tuple(plant.state_units) + tuple(plant.input_units)
    return {
        "state_names": tuple(plant.state_names),
        "input_names": tuple(plant.input_names),
        "units": dict(zip(names, units, strict=False)),
        "setpoint_half_widths": getattr(plant, "setpoint_half_widths", None),
        "deviation": bool(getattr(plant, "deviation_form", False)),
    }


#: Colour of the limit lines and of the shaded side beyond them.
LIMIT_COLOR = "tab:red"

Limits = Mapping[str, tuple[float | None, float | None]]


def _limits(limits: Limits | None, plant: Any, settings: Any) -> dict[str, Any]:
    """The limits to draw per column, each side None when unbounded.

    ``limits`` as given (None or infinite sides unbounded); else
    :func:`~iclcontrol.mpc.closed_loop.constraint_limits` of ``plant`` (default
    the CSTR) and ``settings`` if either is given; else none.
    """
    if limits is None:
        if plant is None and settings is None:
            return {}
        limits = constraint_limits(plant, settings)
    return {
        name: (finite_or_none(lo), finite_or_none(hi))
        for name, (lo, hi) in limits.items()
    }


def _draw_limits(
    ax: Any, lower: float | None, upper: float | None, vertical: bool = False
) -> None:
    """A line at each finite limit and the side beyond it shaded out to the
    edge of a view that shows both the data and the limits (``vertical``:
    limits of the x axis). Lines and bands have the gid ``"lower limit"`` or
    ``"upper limit"``; one legend entry ``"limit"`` per axes."""
    finite = [b for b in (lower, upper) if b is not None]
    if not finite:
        return
    ax.autoscale_view(scalex=vertical, scaley=not vertical)
    v0, v1 = ax.get_xlim() if vertical else ax.get_ylim()
    v0, v1 = min(v0, *finite), max(v1, *finite)
    pad = 0.06 * (v1 - v0) or 0.5 * max(abs(v0), 1.0)
    v0, v1 = v0 - pad, v1 + pad
    line, span = (ax.axvline, ax.axvspan) if vertical else (ax.axhline, ax.axhspan)
    for side, bound, edge in (("lower", lower, v0), ("upper", upper, v1)):
        if bound is None:
            continue
        name = f"{side} limit"
        listed = any(h.get_label() == "limit" for h in ax.get_lines())
        label = "_limit" if listed else "limit"  # "_": not in the legend
        # under the data (zorder 2): an input held at its bound stays visible
        line(
            bound, color=LIMIT_COLOR, lw=1.2, ls="--", zorder=1.5, label=label, gid=name
        )
        band = span(min(bound, edge), max(bound, edge), color=LIMIT_COLOR)
        band.set(alpha=0.12, lw=0, zorder=0.5, gid=name, label="_limit band")
    (ax.set_xlim if vertical else ax.set_ylim)(v0, v1)


def _mark_beyond(ax: Any, x: Any, y: Any, excess: Any) -> None:
    """Ring the points that lie beyond a limit (``excess > 0``); one legend
    entry ``"beyond limit"`` per axes (the ring sits on its run's line)."""
    beyond = np.asarray(excess, dtype=float) > 0  # NaN: not beyond
    if beyond.any():
        listed = any(h.get_label() == "beyond limit" for h in ax.get_lines())
        ax.plot(
            np.asarray(x)[beyond],
            np.asarray(y)[beyond],
            "o",
            color=LIMIT_COLOR,  # given: the runs' colour cycle is not advanced
            mfc="none",
            mew=1.5,
            ms=9,
            label="_beyond limit" if listed else "beyond limit",
            gid="beyond limit",
        )


def plot_time_series(
    frames: Mapping[str, pd.DataFrame],
    state_names: tuple[str, ...] = ("CA", "T"),
    input_names: tuple[str, ...] = ("CA0", "Q"),
    setpoint_half_widths: tuple[float, ...] | None = (0.1, 3.0),
    units: Mapping[str, str] | None = None,
    path: str | Path | None = None,
    title: str | None = None,
    deviation: bool = True,
    setpoint: tuple[float, ...] | None = None,
    plant: Any = None,
    settings: Any = None,
    limits: Limits | None = None,
) -> Any:
    """States and inputs against time, with the setpoint band of each state and
    the controller's limits.

    Parameters
    ----------
    frames : mapping of label -> DataFrame
    state_names, input_names : tuple of str
        Columns to draw.
    setpoint_half_widths : tuple of float or None
        Half-widths of the setpoint region per state (a shaded band around the
        setpoint). [state units]
    units : mapping of column -> unit, optional
        Default: the CSTR's, :data:`CSTR_UNITS`.
    path : str or Path, optional
        Save the figure there (PNG).
    title : str, optional
        Figure title, e.g. the initial state.
    deviation : bool
        The columns are deviations from the steady state (the CSTR's): the axes
        read ``CA - CAs [kmol/m^3]``.
    setpoint : tuple of float or None
        The states the controller tracked (one per state): the band and a dashed
        line are drawn there. None: the origin (the steady state of deviation
        variables, the reference protocol's setpoint). [state units]
    plant : plants.Plant, optional
        Draw this plant's states and inputs, labelled with its names and units
        (its ``state_names``, ``input_names``, ``state_units``, ``input_units``,
        ``setpoint_half_widths`` and ``deviation_form`` replace the arguments
        ``state_names``, ``input_names``, ``units``, ``setpoint_half_widths``
        and ``deviation``, whose defaults are the reference CSTR's). Its input
        bounds are drawn as limits.
    settings : MPCSettings, optional
        Its output bounds ``output_lower`` / ``output_upper`` are drawn as limits
        on the state panels (with the input bounds of ``plant``, default the
        CSTR's).
    limits : mapping of column -> (lower, upper), optional
        The limits to draw instead, in the columns' units (those of the
        panels: deviations for the CSTR); a side None or infinite is
        unbounded. Default: :func:`~iclcontrol.mpc.constraint_limits` of
        ``plant`` and ``settings`` if either is given, else none. ``{}``: none.

    Each finite limit is a dashed red line (legend ``"limit"``; gid ``"lower
    limit"`` / ``"upper limit"``) with the side beyond it shaded; values beyond
    a limit are ringed (legend ``"beyond limit"``). Inputs applied on a fallback
    (frame column ``fallback`` True: the solve failed) are marked with
    crosses, labelled ``"<label>: fallback input"``.
    """
    drawn_limits = _limits(limits, plant, settings)
    if plant is not None:
        layout = _from_plant(plant)
        state_names, input_names = layout["state_names"], layout["input_names"]
        units, deviation = layout["units"], layout["deviation"]
        setpoint_half_widths = layout["setpoint_half_widths"]
    units = dict(units or CSTR_UNITS)
    names = list(state_names) + list(input_names)
    centre = _setpoint(setpoint, state_names)
    fig, axes = subplots(len(names), 1, figsize=(7, 2.0 * len(names)), sharex=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        for label, frame in frames.items():
            if name in input_names:
                (line,) = ax.step(frame["t"], frame[name], where="post", label=label)
                # inputs not from a solution (failed solve) are marked, not hidden
                if "fallback" in frame:
                    fell = frame["fallback"].eq(True).to_numpy()  # last row NaN
                    if fell.any():
                        ax.plot(
                            frame["t"][fell],
                            frame[name][fell],
                            "x",
                            color=line.get_color(),
                            ms=7,
                            label=f"{label}: fallback input",
                        )
            else:
                ax.plot(frame["t"], frame[name], marker=".", ms=3, label=label)
            if name in drawn_limits:
                _mark_beyond(
                    ax,
                    frame["t"],
                    frame[name],
                    limit_excess(frame[name], *drawn_limits[name]),
                )
        if name in state_names and setpoint_half_widths is not None:
            i = state_names.index(name)
            w, c = setpoint_half_widths[i], centre[i]
            ax.axhspan(
                c - w,
                c + w,
                color="tab:green",
                alpha=0.15,
                lw=0,
                label="setpoint region",
            )
        if name in state_names and (c := centre[state_names.index(name)]):
            ax.axhline(c, color="tab:green", ls="--", lw=1, label="setpoint")
        if name in drawn_limits:
            _draw_limits(ax, *drawn_limits[name])
        ax.set_ylabel(_axis_label(name, units, deviation))
        ax.grid(alpha=0.3)
    # a legend on the first panel and on each panel with entries not listed
    # above it (a limit, a fallback input, a value beyond a limit)
    listed: set[str] = set()
    for i, ax in enumerate(np.atleast_1d(axes)):
        labels = set(ax.get_legend_handles_labels()[1])
        if i == 0 or labels - listed:
            ax.legend(fontsize=8)
            listed |= labels
    np.atleast_1d(axes)[-1].set_xlabel("time [h]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return fig


def plot_phase_plane(
    frames: Mapping[str, pd.DataFrame],
    P: Any = ((1060.0, 22.0), (22.0, 0.52)),
    level: float | None = 372.0,
    setpoint_half_widths: tuple[float, float] = (0.1, 3.0),
    state_names: tuple[str, str] = ("CA", "T"),
    path: str | Path | None = None,
    units: Mapping[str, str] | None = None,
    deviation: bool = True,
    setpoint: tuple[float, ...] | None = None,
    plant: Any = None,
    settings: Any = None,
    limits: Limits | None = None,
) -> Any:
    """Trajectories in the (CA, T) plane with the stability ellipse ``x'Px = level``
    and the output limits.

    Parameters
    ----------
    frames : mapping of label -> DataFrame
    P : (2, 2) array_like or None
        Lyapunov matrix of ``V(x) = x' P x``.
    level : float or None
        Level of the drawn ellipse ``V(x) = level``. ``P`` or ``level`` None:
        no stability ellipse.
    setpoint_half_widths : tuple of 2 floats
        Half-axes of the setpoint ellipse. [state units]
    state_names : tuple of 2 str
        Columns on the x and y axes.
    path : str or Path, optional
        Save the figure there (PNG).
    units : mapping of column -> unit, optional
        Default: the CSTR's, :data:`CSTR_UNITS`.
    deviation : bool
        The states are deviations from the steady state (axes ``CA - CAs [...]``).
    setpoint : tuple of 2 floats or None
        The states the controller tracked: the setpoint ellipse is centred there
        (the stability ellipse stays at the origin, where ``V`` is centred).
        None: the origin. [state units]
    plant : plants.Plant, optional
        Draw this plant's first two states with its names and units; the
        stability ellipse only if it has ``lyapunov_P`` and ``stability_level``,
        the setpoint ellipse only if it has ``setpoint_half_widths`` (they
        replace ``state_names``, ``units``, ``P``, ``level``,
        ``setpoint_half_widths`` and ``deviation``, whose defaults are the
        reference CSTR's). ``setpoint`` then needs one value per state.
    settings : MPCSettings, optional
        Its output bounds ``output_lower`` / ``output_upper`` of the two drawn
        states are drawn as limits: vertical lines for the x axis, horizontal
        for the y axis, the side beyond each shaded.
    limits : mapping of column -> (lower, upper), optional
        The limits to draw instead, in the columns' units; a side None or
        infinite is unbounded (as in :func:`plot_time_series`).

    Points beyond a limit are ringed (legend ``"beyond limit"``).
    """
    drawn_limits = _limits(limits, plant, settings)
    if plant is not None:
        layout = _from_plant(plant)
        names = layout["state_names"]
        units, deviation = layout["units"], layout["deviation"]
        half = layout["setpoint_half_widths"]
        P = getattr(plant, "lyapunov_P", None)
        level = getattr(plant, "stability_level", None)
        centre = _setpoint(setpoint, names)
        state_names = (names[0], names[1])
        c = centre[:2]
    else:
        half = setpoint_half_widths
        c = _setpoint(setpoint, state_names)
    fig, ax = subplots(figsize=(6, 5))
    theta = np.linspace(0, 2 * np.pi, 400)
    circle = np.stack([np.cos(theta), np.sin(theta)])
    if P is not None and level is not None:
        P2 = np.asarray(P, dtype=float)[:2, :2]
        L = np.linalg.cholesky(np.linalg.inv(P2 / level))
        ell = L @ circle
        ax.plot(ell[0], ell[1], "k--", lw=1, label=f"stability region V(x) = {level:g}")
    if half is not None:
        w = half
        ax.fill(
            c[0] + w[0] * circle[0],
            c[1] + w[1] * circle[1],
            color="tab:green",
            alpha=0.3,
        )
        ax.plot([], [], color="tab:green", alpha=0.3, lw=6, label="setpoint region")
    elif setpoint is not None:
        ax.plot(c[0], c[1], "*", color="tab:green", ms=12, label="setpoint")
    a, b = state_names
    for label, frame in frames.items():
        ax.plot(frame[a], frame[b], marker=".", ms=4, label=label)
        ax.plot(frame[a].iloc[0], frame[b].iloc[0], "ko", ms=4)
        excess = [
            limit_excess(frame[n], *drawn_limits[n])
            for n in (a, b)
            if n in drawn_limits
        ]
        if excess:
            _mark_beyond(ax, frame[a], frame[b], np.fmax.reduce(excess))
    for name, vertical in ((a, True), (b, False)):
        if name in drawn_limits:
            lower, upper = drawn_limits[name]
            _draw_limits(ax, lower, upper, vertical=vertical)
    units = dict(units or CSTR_UNITS)
    ax.set_xlabel(_axis_label(a, units, deviation))
    ax.set_ylabel(_axis_label(b, units, deviation))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return fig


def plot_solve_times(
    solve_ms: Mapping[str, Any], path: str | Path | None = None
) -> Any:
    """Distribution of solve times per controller (box plot, log scale). [ms]"""
    labels = list(solve_ms)
    data = [np.asarray(solve_ms[k], dtype=float) for k in labels]
    fig, ax = subplots(figsize=(max(4, 1.5 * len(labels)), 3.5))
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=15)
    ax.set_yscale("log")
    ax.set_ylabel("time per MPC step [ms]")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _save(fig, path)
    return fig
