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
) -> Any:
    """States and inputs against time, with the setpoint band of each state.

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
        and ``deviation``, whose defaults are the reference CSTR's).

    Inputs applied on a fallback (frame column ``fallback`` True: the solve
    failed) are marked with crosses, labelled ``"<label>: fallback input"``.
    """
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
        ax.set_ylabel(_axis_label(name, units, deviation))
        ax.grid(alpha=0.3)
    for ax in np.atleast_1d(axes):
        if any("fallback" in str(h.get_label()) for h in ax.get_lines()):
            ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].legend(fontsize=8)
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
) -> Any:
    """Trajectories in the (CA, T) plane with the stability ellipse ``x'Px = level``.

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
    """
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
