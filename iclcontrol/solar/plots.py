"""Plots of forecasts and dispatch (matplotlib, Agg-safe). Numerical code never
imports this module; each function writes one PNG and returns its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.figures import subplots

__all__ = [
    "error_by_hour",
    "plot_dispatch",
    "plot_error_by_hour",
    "plot_forecast_days",
    "plot_plan",
    "plot_skill_by_horizon",
]


def _save(fig: Any, path: str | Path) -> Path:
    """Lay out and write a figure as PNG; returns the path."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def _interval(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The data interval: the index's frequency, else its median step."""
    if index.freq is not None:
        return pd.Timedelta(index.freq)
    return pd.Timedelta(np.median(np.diff(index.asi8)), unit=str(index.unit))


def _zone_name(index: pd.DatetimeIndex) -> str:
    """The index's time zone for an axis label: the IANA name, a fixed offset as
    ``UTC-05:00`` (``Etc/GMT+5`` is UTC-5: its sign is the reverse of the offset's).
    """
    tz = index.tz
    if tz is None:
        return "no time zone"
    name = str(tz)
    if name.startswith("Etc/GMT") and len(name) > len("Etc/GMT"):
        hours = -int(name[len("Etc/GMT") :])
        return f"UTC{hours:+03d}:00"
    return name


def _valid_index(issue: pd.DatetimeIndex, step: int) -> pd.DatetimeIndex:
    """Valid times of the ``step``-ahead forecasts issued at ``issue``: issue time
    plus ``step`` data intervals."""
    return issue + step * _interval(issue)


def _step_length(frames: dict[str, pd.DataFrame], step: int) -> str:
    """``"1 h"``, ``"45 min"``: the lead time of ``step`` data intervals."""
    minutes = step * _interval(frames["truth"].index) / pd.Timedelta("1min")
    return f"{minutes / 60:g} h" if minutes % 60 == 0 else f"{minutes:g} min"


def plot_forecast_days(
    frames: dict[str, pd.DataFrame], path: str | Path, step: int = 1, n_days: int = 3
) -> Path:
    """Forecast ``step`` ahead against measurement and smart persistence on the
    ``n_days`` test days with the most daytime samples (by valid time)."""
    import matplotlib.dates as mdates

    col = f"h{step}"
    valid_index = _valid_index(frames["truth"].index, step)
    s = {k: pd.Series(frames[k][col].to_numpy(), index=valid_index) for k in frames}
    day = s["daytime"].astype(bool)
    from iclcontrol.solar.data import day_starts

    counts = s["truth"].where(day).notna().groupby(day_starts(valid_index)).sum()
    days = sorted(counts.sort_values(ascending=False).index[:n_days])
    fig, axes = subplots(1, len(days), figsize=(4.5 * len(days), 3.2), squeeze=False)
    for ax, d in zip(axes[0], days, strict=False):
        sl = slice(d, d + pd.Timedelta("1D"))
        ax.plot(s["truth"][sl], "k-", lw=1.2, label="measured")
        ax.plot(s["persistence"][sl], "C1--", lw=1, label="smart persistence")
        ax.plot(s["forecast"][sl], "C0-", lw=1, label="forecast")
        ax.set_title(str(d.date()))
        ax.set_ylabel("irradiance [W/m$^2$]")
        # the date is the title: ticks show the local hour only, every 6 h
        tz = valid_index.tz
        ax.xaxis.set_major_locator(mdates.HourLocator(byhour=[0, 6, 12, 18], tz=tz))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
        ax.set_xlabel(f"valid time of the forecast ({_zone_name(valid_index)})")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        f"{step}-step-ahead ({_step_length(frames, step)}) forecast on test days"
    )
    return _save(fig, path)


def error_by_hour(frames: dict[str, pd.DataFrame], step: int = 1) -> pd.DataFrame:
    """RMSE of the forecast and of smart persistence by hour of the valid time
    (clock of the index's time zone).

    Parameters
    ----------
    frames : dict of DataFrame
        ``forecast``, ``persistence``, ``truth``, ``daytime`` indexed by issue time
        with columns ``h1..hH`` (:func:`iclcontrol.solar.forecast.evaluate`).
    step : int
        Lead in data intervals.

    Returns
    -------
    DataFrame
        Index: hour of the valid time (issue time + ``step`` intervals, in the
        index's time zone), columns ``forecast`` and ``persistence``; daytime
        targets only. [W/m^2]
    """
    col = f"h{step}"
    t = frames["truth"][col]
    day = frames["daytime"][col].astype(bool)
    hours = _valid_index(t.index, step).hour
    out = {}
    for k in ("forecast", "persistence"):
        e2 = ((frames[k][col] - t) ** 2).where(day)
        out[k] = np.sqrt(e2.groupby(hours).mean())
    return pd.DataFrame(out).dropna(how="all")


def plot_error_by_hour(
    frames: dict[str, pd.DataFrame], path: str | Path, step: int = 1
) -> Path:
    """RMSE by hour of the valid time, forecast vs smart persistence
    (:func:`error_by_hour`); the axis names the time zone of the hours."""
    out = error_by_hour(frames, step)
    fig, ax = subplots(figsize=(6, 3.5))
    ax.plot(
        out["persistence"].index,
        out["persistence"].to_numpy(),
        "C1o--",
        label="smart persistence",
    )
    ax.plot(out["forecast"].index, out["forecast"].to_numpy(), "C0o-", label="forecast")
    ax.set_xlabel(f"hour of the valid time ({_zone_name(frames['truth'].index)})")
    ax.set_ylabel("RMSE [W/m$^2$]")
    ax.set_title(
        f"{step}-step-ahead ({_step_length(frames, step)}) error, daytime test data",
        fontsize=10,
    )
    ax.legend()
    return _save(fig, path)


def plot_skill_by_horizon(
    results: dict[str, list[dict[str, Any]]], path: str | Path
) -> Path:
    """Skill over smart persistence per lead time, one line per model."""
    fig, ax = subplots(figsize=(5, 3.5))
    for name, horizons in results.items():
        ax.plot(
            [h["steps"] for h in horizons],
            [h["skill_vs_smart_persistence"] for h in horizons],
            "o-",
            label=name,
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("skill vs smart persistence")
    ax.legend()
    return _save(fig, path)


def plot_dispatch(traces: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Stored energy of each dispatch strategy over the closed loop."""
    fig, ax = subplots(figsize=(10, 3.5))
    for name, tr in traces.items():
        ax.plot(tr.index, tr["E"].to_numpy(), lw=1, label=name)
        index = tr.index
    ax.set_ylabel("stored energy [kWh]")
    ax.set_xlabel(f"time ({_zone_name(index)})")
    ax.set_title(
        "battery stored energy in closed loop, one line per PV forecast", fontsize=10
    )
    # outside the axes, right: the strategies' curves overlap the whole plot
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.autofmt_xdate()
    return _save(fig, path)


def plot_gap_closed(
    gap_closed: dict[str, float | None],
    intervals: dict[str, list[float] | None],
    path: str | Path,
) -> Path:
    """Share of the persistence-to-perfect cost gap each strategy closes, with its
    bootstrap interval over days (:mod:`iclcontrol.solar.gap`), as horizontal bars.
    """
    shown = {k: 100.0 * v for k, v in gap_closed.items() if v is not None}
    names = list(shown)
    values = np.array(list(shown.values()))
    # a strategy without an interval gets a zero-width one at its value
    bounds = np.array(
        [
            [100.0 * b for b in iv] if (iv := intervals.get(k)) else [v, v]
            for k, v in shown.items()
        ]
    ).reshape(len(names), 2)
    fig, ax = subplots(figsize=(7, 0.4 * len(names) + 1.2))
    y = np.arange(len(names))
    ax.barh(y, values, color="tab:blue", alpha=0.6)
    # the interval as a line (a percentile interval of a ratio need not contain
    # the point value on a few days)
    ax.hlines(y, bounds[:, 0], bounds[:, 1], color="k")
    ax.plot(bounds.ravel(), np.repeat(y, 2), "k|", ms=8)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.axvline(50.0, color="gray", lw=0.8, ls="--")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("gap closed [%] (0: persistence, 100: perfect foresight)")
    ax.set_title("dispatch cost gap closed, 90 % interval over days", fontsize=10)
    return _save(fig, path)


def plot_plan(schedule: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Monthly energy of a sizing plan: PV, load, grid import and export, PV
    curtailed and battery discharge, as grouped bars. [kWh]

    Parameters
    ----------
    schedule : pandas.DataFrame
        ``SizingResult.schedule`` on the LP's DatetimeIndex: ``pv_kw``,
        ``load_kw``, ``grid_import``, ``grid_export``, ``P_dis`` and optionally
        ``curtailed``. [kW]
    path : str or Path
        PNG to write.
    title : str
        Figure title (e.g. the sizes; matplotlib mathtext, so escape ``$``).
    """
    step_h = _interval(schedule.index) / pd.Timedelta("1h")
    columns = {
        "pv_kw": "PV",
        "load_kw": "load",
        "grid_import": "grid import",
        "grid_export": "grid export",
        "curtailed": "PV curtailed",
        "P_dis": "battery discharge",
    }
    present = {c: n for c, n in columns.items() if c in schedule.columns}
    if "curtailed" in present and not (schedule["curtailed"] > 1e-9).any():
        del present["curtailed"]  # no export limit: an empty bar per month
    monthly = (schedule[list(present)] * step_h).groupby(schedule.index.month).sum()
    fig, ax = subplots(figsize=(10, 4))
    width = 0.8 / len(present)
    x = np.arange(len(monthly))
    for i, (col, name) in enumerate(present.items()):
        ax.bar(
            x + (i - (len(present) - 1) / 2) * width, monthly[col], width, label=name
        )
    ax.set_xticks(x, [pd.Timestamp(2000, m, 1).strftime("%b") for m in monthly.index])
    ax.set_xlabel(f"month ({_zone_name(schedule.index)})")
    ax.set_ylabel("energy per month [kWh]")
    ax.set_title(title or "sizing plan: monthly energy", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, path)
