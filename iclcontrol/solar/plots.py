"""Plots of forecasts and dispatch (matplotlib, Agg-safe). Numerical code never
imports this module; each function writes one PNG and returns its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "plot_dispatch",
    "plot_error_by_hour",
    "plot_forecast_days",
    "plot_skill_by_horizon",
]


def _save(fig: Any, path: str | Path) -> Path:
    """Lay out, write as PNG and close a figure; returns the path."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    fig.clf()
    _plt().close(fig)
    return path


def _plt() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_forecast_days(
    frames: dict[str, pd.DataFrame], path: str | Path, step: int = 1, n_days: int = 3
) -> Path:
    """Forecast ``step`` ahead against measurement and smart persistence on the
    ``n_days`` test days with the most daytime samples (by valid time)."""
    plt = _plt()
    col = f"h{step}"
    idx = frames["truth"].index
    freq = (
        idx.freq
        if idx.freq is not None
        else pd.Timedelta(np.median(np.diff(idx.asi8)), unit=str(idx.unit))
    )
    shift = step * pd.Timedelta(freq)
    valid_index = frames["truth"].index + shift
    s = {k: pd.Series(frames[k][col].to_numpy(), index=valid_index) for k in frames}
    day = s["daytime"].astype(bool)
    counts = s["truth"].where(day).notna().groupby(valid_index.normalize()).sum()
    days = sorted(counts.sort_values(ascending=False).index[:n_days])
    fig, axes = plt.subplots(
        1, len(days), figsize=(4.5 * len(days), 3.2), squeeze=False
    )
    for ax, d in zip(axes[0], days, strict=False):
        sl = slice(d, d + pd.Timedelta("1D"))
        ax.plot(s["truth"][sl], "k-", lw=1.2, label="measured")
        ax.plot(s["persistence"][sl], "C1--", lw=1, label="smart persistence")
        ax.plot(s["forecast"][sl], "C0-", lw=1, label="forecast")
        ax.set_title(str(d.date()))
        ax.set_ylabel("irradiance [W/m$^2$]")
        ax.tick_params(axis="x", rotation=45)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{step}-step-ahead forecast")
    return _save(fig, path)


def plot_error_by_hour(
    frames: dict[str, pd.DataFrame], path: str | Path, step: int = 1
) -> Path:
    """RMSE by local hour of the valid time, forecast vs smart persistence."""
    plt = _plt()
    col = f"h{step}"
    t = frames["truth"][col]
    day = frames["daytime"][col].astype(bool)
    hours = t.index.hour
    out = {}
    for k in ("forecast", "persistence"):
        e2 = ((frames[k][col] - t) ** 2).where(day)
        out[k] = np.sqrt(e2.groupby(hours).mean())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(
        out["persistence"].index,
        out["persistence"].to_numpy(),
        "C1o--",
        label="smart persistence",
    )
    ax.plot(out["forecast"].index, out["forecast"].to_numpy(), "C0o-", label="forecast")
    ax.set_xlabel("hour of issue time (local)")
    ax.set_ylabel("RMSE [W/m$^2$]")
    ax.legend()
    return _save(fig, path)


def plot_skill_by_horizon(
    results: dict[str, list[dict[str, Any]]], path: str | Path
) -> Path:
    """Skill over smart persistence per lead time, one line per model."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
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
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for name, tr in traces.items():
        ax.plot(tr.index, tr["E"].to_numpy(), lw=1, label=name)
    ax.set_ylabel("stored energy [kWh]")
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
    plt = _plt()
    names = [k for k, v in gap_closed.items() if v is not None]
    values = np.array([100.0 * float(gap_closed[k]) for k in names])  # type: ignore[arg-type]
    bounds = np.array(
        [
            [100.0 * b for b in intervals[k]] if intervals.get(k) else [v, v]
            for k, v in zip(names, values, strict=True)
        ]
    ).reshape(len(names), 2)
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.2))
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
