"""How much of the persistence-to-perfect-foresight cost gap a dispatch closes.

``gap_closed = (C_persistence - C_strategy) / (C_persistence - C_perfect)``: 0 for
persistence-driven dispatch, 1 for perfect foresight. Over a few weeks of dispatch
the gap is a handful of dollars and a few bad days move it, so the fraction comes
with a bootstrap interval over days: the days of the test period are resampled with
replacement, the same days for every strategy, and the fraction is recomputed from
the resampled cost sums. Consecutive days share the battery's state of charge, so
days are not quite independent; the interval shows the day-to-day spread of the
costs, not every source of uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from iclcontrol.exceptions import DataError
from iclcontrol.solar.planning import period_costs

__all__ = ["daily_costs", "gap_closed", "gap_closed_interval"]


def daily_costs(
    traces: Mapping[str, pd.DataFrame], export_price: float, dt_h: float
) -> pd.DataFrame:
    """Operating cost per calendar day and strategy.

    Parameters
    ----------
    traces : mapping of str to pandas.DataFrame
        Dispatch traces by strategy (``DispatchResult.trace``: columns
        ``grid_import``, ``grid_export`` [kW] and ``price`` [$/kWh], indexed by
        period start), all over the same periods.
    export_price : float
        Price paid for exported energy. [$/kWh]
    dt_h : float
        Period length. [h]

    Returns
    -------
    pandas.DataFrame
        One row per calendar day of the index (in its own time zone), one column
        per strategy; the rows add up to each strategy's total cost. [$]
    """
    columns = {}
    for name, trace in traces.items():
        missing = {"grid_import", "grid_export", "price"} - set(trace.columns)
        if missing:
            raise DataError(f"trace {name!r} lacks columns {sorted(missing)}")
        cost = period_costs(trace, export_price, dt_h)
        columns[name] = cost.groupby(cost.index.date).sum()
    frame = pd.DataFrame(columns)
    if frame.isna().any().any():
        raise DataError("the dispatch traces do not cover the same days")
    return frame


def gap_closed(
    costs: Mapping[str, float] | pd.Series,
    strategy: str,
    reference: str = "persistence",
    best: str = "perfect",
) -> float | None:
    """Fraction of the ``reference``-to-``best`` cost gap that ``strategy`` closes.

    Returns None when the gap is not positive (nothing to close).
    """
    gap = costs[reference] - costs[best]
    return float((costs[reference] - costs[strategy]) / gap) if gap > 1e-9 else None


def gap_closed_interval(
    daily: pd.DataFrame,
    level: float = 0.9,
    n_boot: int = 2000,
    random_state: int = 0,
    reference: str = "persistence",
    best: str = "perfect",
) -> dict[str, list[float] | None]:
    """Bootstrap interval over days of every strategy's :func:`gap_closed`.

    Parameters
    ----------
    daily : pandas.DataFrame
        Costs per day and strategy, as from :func:`daily_costs`. [$]
    level : float
        Coverage of the percentile interval, in (0, 1).
    n_boot : int
        Bootstrap resamples.
    random_state : int
        Seed of the resampling.
    reference, best : str
        Columns of ``daily`` whose costs bound the gap (as in :func:`gap_closed`).

    Returns
    -------
    dict
        ``{strategy: [low, high]}`` (percentiles of the resampled fractions; on a
        few days they need not contain the fraction of the whole period); None
        where fewer than half of the resamples have a positive gap.
    """
    if not 0 < level < 1:
        raise DataError(f"level must be in (0, 1), got {level!r}")
    if daily.empty:
        raise DataError("no daily costs to resample (an empty dispatch period)")
    for name in (reference, best):
        if name not in daily.columns:
            raise DataError(f"daily costs lack the {name!r} strategy")
    values = daily.to_numpy(float)
    rng = np.random.default_rng(random_state)
    days = rng.integers(0, len(values), size=(n_boot, len(values)))
    sums = values[days].sum(axis=1)  # (n_boot, strategies)
    col = {name: i for i, name in enumerate(daily.columns)}
    gap = sums[:, col[reference]] - sums[:, col[best]]
    usable = gap > 1e-9
    if usable.mean() < 0.5:  # mostly no gap to close: no meaningful fraction
        return dict.fromkeys(col)
    tail = 50.0 * (1.0 - level)
    out: dict[str, list[float] | None] = {}
    for name, i in col.items():
        frac = (sums[usable, col[reference]] - sums[usable, i]) / gap[usable]
        lo, hi = np.percentile(frac, [tail, 100.0 - tail])
        out[name] = [float(lo), float(hi)]
    return out
