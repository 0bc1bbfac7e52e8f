"""PV planning with Pyomo + HiGHS: sizing over a weather year and receding-horizon
battery dispatch driven by irradiance forecasts, closed against the PV plant.

Both problems are linear programs (battery with separate charge/discharge powers and
one-way efficiencies; grid import and export priced differently), solved by HiGHS
through Pyomo (``appsi`` persistent interface when available, else
``SolverFactory('highs')``). No NLP is needed here; :func:`ipopt_available` tells the
caller whether a Pyomo NLP path could run (there is no ``ipopt`` executable on the
project machines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    SolverUnavailableError,
)
from iclcontrol.solar.data import read_csv_any_separator, utc_suffix_as_offset
from plants.pv import check_battery_fractions

__all__ = [
    "DispatchResult",
    "SizingCosts",
    "SizingResult",
    "Tariff",
    "check_load_label",
    "dispatch_lp",
    "ipopt_available",
    "load_profile",
    "load_with_report",
    "run_dispatch",
    "size_system",
]


def ipopt_available() -> bool:
    """Whether Pyomo can find an ``ipopt`` executable (for NLP variants)."""
    import pyomo.environ as pyo

    try:
        return bool(pyo.SolverFactory("ipopt").available(exception_flag=False))
    except Exception:
        return False


def _solve(model: Any) -> tuple[str, float]:
    """Solve with HiGHS; return (termination condition, solve seconds)."""
    import pyomo.environ as pyo

    t0 = time.perf_counter()
    solver = pyo.SolverFactory("highs")
    if not solver.available(exception_flag=False):
        raise SolverUnavailableError(
            "HiGHS is not available to Pyomo; install the 'highspy' package"
        )
    res = solver.solve(model, load_solutions=False)
    cond = str(res.solver.termination_condition)
    if cond == "optimal":
        model.solutions.load_from(res)
    return cond, time.perf_counter() - t0


def _check_period(dt_h: float) -> None:
    """Raise :class:`ConfigError` unless ``dt_h`` is a positive period length [h]."""
    if not (np.isfinite(dt_h) and dt_h > 0):
        raise ConfigError(f"dt_h must be a positive period length in h, got {dt_h}")


def _check_export_price(import_price: np.ndarray, export_price: float) -> None:
    """Raise :class:`ConfigError` when a period imports cheaper than it exports:
    the LPs net import and export per period with no connection limit, so they
    would import to export without bound (HiGHS: unbounded)."""
    if not np.isfinite(export_price):
        raise ConfigError(f"export price must be finite [$/kWh], got {export_price}")
    below = np.flatnonzero(import_price < export_price)
    if below.size:
        k = below[0]
        raise ConfigError(
            f"import price {import_price[k]:g} $/kWh (period {k}, and "
            f"{below.size - 1} more) is below the export price {export_price:g} "
            "$/kWh: the LP would import to export without bound; give an export "
            "price <= every import price"
        )


def _per_period(values: Any, n: int, name: str) -> np.ndarray:
    """``values`` (a scalar or shape (n,)) as a finite float array of shape (n,).

    Raises
    ------
    DimensionError
        Another shape.
    DataError
        NaN or infinite values.
    """
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise DimensionError(
            f"{name} needs one value per period ({n},) or a single value; got shape "
            f"{array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} has NaN or infinite values")
    return array


# -- tariffs and loads -------------------------------------------------------------
def _in_window(hour: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Whether each local ``hour`` is in ``[start, stop)``, over midnight when
    ``start > stop``."""
    start, stop = window
    if start <= stop:
        return (hour >= start) & (hour < stop)
    return (hour >= start) | (hour < stop)


@dataclass(frozen=True)
class Tariff:
    """Time-of-use import price, flat export price, optional export limit.

    Parameters
    ----------
    offpeak, shoulder, peak : float
        Import price. [$/kWh]
    peak_hours : tuple of int
        Local hours ``[start, stop)`` of the peak price, 0-24; a window with
        ``start > stop`` runs over midnight (``(22, 2)``: 22:00-02:00).
    offpeak_hours : tuple of int
        Local hours ``[start, stop)`` of the off-peak price (over midnight when
        ``start > stop``, e.g. ``(23, 7)``); the rest is shoulder. The peak
        price wins where the two windows overlap.
    export : float
        Export (feed-in) price. [$/kWh]
    export_limit_kw : float or None
        Maximum export power, >= 0; PV above it is curtailed. [kW]

    Raises
    ------
    ConfigError
        A price that is not finite, an hour outside 0-24, a negative export
        limit, an export price above an import price (the LPs net import and
        export per period with no connection limit: they would be unbounded).
    """

    offpeak: float = 0.12
    shoulder: float = 0.20
    peak: float = 0.40
    peak_hours: tuple[int, int] = (16, 21)
    offpeak_hours: tuple[int, int] = (0, 7)
    export: float = 0.04
    export_limit_kw: float | None = None

    def __post_init__(self) -> None:
        for name in ("offpeak", "shoulder", "peak", "export"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise ConfigError(f"{name} price must be finite [$/kWh], got {value}")
        for name in ("peak_hours", "offpeak_hours"):
            hours = getattr(self, name)
            if len(hours) != 2 or not all(0 <= h <= 24 for h in hours):
                raise ConfigError(
                    f"{name} must be two local hours (start, stop) in 0-24, got "
                    f"{hours!r} (a window over midnight: start > stop, e.g. (23, 7))"
                )
        limit = self.export_limit_kw
        if limit is not None and not limit >= 0:
            raise ConfigError(
                f"export_limit_kw must be >= 0 kW or None (no limit), got {limit}"
            )
        cheapest = float(self.hourly_prices().min())
        if self.export > cheapest:
            raise ConfigError(
                f"export price {self.export:g} $/kWh is above the cheapest import "
                f"price {cheapest:g} $/kWh: the LPs (grid import and export netted "
                "per period, no connection limit) would import to export without "
                "bound; give an export price <= every import price"
            )

    def hourly_prices(self) -> np.ndarray:
        """Import price of each local hour 0-23, shape (24,). [$/kWh]"""
        h = np.arange(24)
        price = np.full(24, self.shoulder)
        price[_in_window(h, self.offpeak_hours)] = self.offpeak
        price[_in_window(h, self.peak_hours)] = self.peak
        return price

    def import_price(
        self, index: pd.DatetimeIndex, label: str = "instant"
    ) -> np.ndarray:
        """Import price of each period. [$/kWh]

        Parameters
        ----------
        index : pandas.DatetimeIndex
            Period labels in local time.
        label : {"instant", "ending", "beginning"}
            What a label stands for; the price is that of the hour in which the
            period starts (one step before an ``"ending"`` label,
            :func:`iclcontrol.solar.features.period_starts`).
        """
        from iclcontrol.solar.features import period_starts

        return self.hourly_prices()[np.asarray(period_starts(index, label).hour)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_profile(
    spec: str,
    index: pd.DatetimeIndex,
    label: str = "instant",
    *,
    load_label: str = "start",
) -> pd.Series:
    """A load profile on ``index``. [kW]

    Same as :func:`load_with_report` without the report.
    """
    return load_with_report(spec, index, label, load_label=load_label)[0]


#: Mean load above which a profile looks like it was given in W, not kW. [kW]
LOAD_LOOKS_LIKE_WATTS_KW = 50.0

#: Largest share of a load file's rows that may be blank (filled like missing
#: rows); more is refused, as filling it would invent the profile. [-]
LOAD_BLANK_LIMIT = 0.10

#: What a load file's times stand for: the start or the end of each row's period.
LOAD_LABELS = ("start", "end")


def check_load_label(load_label: str) -> None:
    """Raise ``ConfigError`` unless ``load_label`` is one of :data:`LOAD_LABELS`."""
    if load_label not in LOAD_LABELS:
        raise ConfigError(
            f"load_label must be 'start' or 'end' (what a load file's times stand "
            f"for: the start or the end of each row's period), got {load_label!r}"
        )


def _spec_number(spec: str, what: str) -> float:
    text = spec.split(":", 1)[1]
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"load {spec!r}: {what} must be a number, got {text!r} (e.g. "
            f"'{spec.split(':', 1)[0]}:1.5')"
        ) from None
    if not np.isfinite(value) or value < 0:
        raise ConfigError(
            f"load {spec!r}: {what} must be a finite number >= 0, got {value}"
        )
    return value


def _lines(rows: np.ndarray, keep: int = 5) -> str:
    """File line numbers (header = line 1) of data rows, the first ``keep``."""
    lines = [str(int(r) + 2) for r in rows[:keep]]
    more = f" and {len(rows) - keep} more" if len(rows) > keep else ""
    return ", ".join(lines) + more


def _read_load_csv(
    spec: str, load_label: str = "start"
) -> tuple[pd.Series, pd.Timedelta]:
    """Validated dated load power of a CSV [kW] (wall-clock times, no zone) and its
    step, each value at the start of its period (``load_label="end"``: the times
    are moved one step back). A ``load_kwh`` column (energy of each row's period,
    as meters export it) is divided by the step in hours. Blank values are dropped
    (counted in ``attrs["blank"]``) unless more than :data:`LOAD_BLANK_LIMIT` of
    the rows are blank. Errors name the file and its lines."""
    name = spec
    try:
        raw = read_csv_any_separator(spec, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"load file {name} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"load file {name} is not a readable CSV: {err}") from None
    # "Time", " Load_kW" (a spreadsheet's spelling) are the columns asked for
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    col = next((c for c in ("load_kw", "load_kwh") if c in raw.columns), None)
    if "time" not in raw.columns or col is None:
        raise DataError(
            f"load file {name}: expected columns time and load_kw [kW] (or load_kwh "
            f"[kWh per row's period]); got {list(raw.columns)}"
        )
    if raw.empty:
        raise DataError(f"load file {name} has a header but no rows")
    text = raw[col].str.strip()
    blank = text.str.lower().isin(["", "nan", "na", "n/a", "null", "none"])
    blank_rows = np.flatnonzero(blank.to_numpy())
    if len(blank_rows) > LOAD_BLANK_LIMIT * len(raw):
        raise DataError(
            f"load file {name}: {col} is missing (NaN) on {len(blank_rows)} of "
            f"{len(raw)} row(s) ({len(blank_rows) / len(raw):.0%}), line(s) "
            f"{_lines(blank_rows)}; up to {LOAD_BLANK_LIMIT:.0%} blank values are "
            "filled from the file's own load, more would invent the profile: fill "
            "in the values, or give only the rows you measured (a file that misses "
            "dates is used as its typical days, as the plan's note says)"
        )
    values = pd.to_numeric(text.mask(blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise DataError(
            f"load file {name}: {col} is not numeric on {len(rows)} row(s), e.g. "
            f"{text.iloc[rows[0]]!r} on line {rows[0] + 2} (use '.' as the decimal "
            "separator)"
        )
    if not np.isfinite(values[~blank]).all():
        rows = np.flatnonzero(~np.isfinite(values.to_numpy()) & ~blank.to_numpy())
        raise DataError(
            f"load file {name}: {col} is infinite on line(s) {_lines(rows)}"
        )
    if (values < 0).any():
        rows = np.flatnonzero((values < 0).to_numpy())
        raise DataError(
            f"load file {name}: {col} is negative on {len(rows)} row(s), line(s) "
            f"{_lines(rows)}; a load is consumption >= 0 kW. A net load "
            "(consumption minus an existing PV's output) is not read: give the "
            "gross consumption (the meter's import plus the existing array's "
            "output), as the plan sizes PV and battery against it"
        )
    text_times = utc_suffix_as_offset(raw["time"].str.strip())
    has_offset = text_times.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    if has_offset.any() and not has_offset.all():
        rows = np.flatnonzero(~has_offset.to_numpy())
        raise DataError(
            f"load file {name}: time mixes timestamps with a UTC offset and without "
            f"one; e.g. {raw['time'].iloc[rows[0]]!r} on line {rows[0] + 2} has none "
            "(give every time an offset, or none: wall-clock times)"
        )
    # offsets that change over the year (daylight saving: -05:00 and -04:00) are
    # one instant each: parse to UTC, converted to the site's clock below
    times = pd.to_datetime(
        text_times, format="ISO8601", errors="coerce", utc=bool(has_offset.all())
    )
    if times.isna().any():
        rows = np.flatnonzero(times.isna().to_numpy())
        raise DataError(
            f"load file {name}: time is not an ISO 8601 timestamp on {len(rows)} "
            f"row(s), e.g. {raw['time'].iloc[rows[0]]!r} on line {rows[0] + 2} "
            "(expected e.g. '2023-01-01 13:00' or '2023-01-01 18:00 UTC')"
        )
    idx = pd.DatetimeIndex(times)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)  # caller re-labels below
        aware = True
    else:
        aware = False
    repeated = idx[idx.duplicated()]
    # a blank value is a missing period, as a missing row is: dropped here, its
    # period filled by load_with_report (a time also given with a value keeps it)
    series = (
        pd.Series(values.to_numpy(float), index=idx).groupby(level=0).mean().dropna()
    )
    diffs = np.diff(series.index.asi8)
    if diffs.size == 0:
        raise DataError(
            f"load file {name}: one distinct time only; give at least one day of values"
        )
    step = pd.Timedelta(int(pd.Series(diffs).mode().iloc[0]), unit=str(idx.unit))
    tod = series.index - series.index.normalize()
    if len(np.unique(tod.asi8)) * step < pd.Timedelta("1D"):
        raise DataError(
            f"load file {name}: {len(series)} value(s) every {step} cover less than "
            "a day; give at least one day of values (24 hourly rows)"
        )
    if col == "load_kwh":
        series = series / (step / pd.Timedelta("1h"))
    if load_label == "end":
        # a meter's stamp at the end of its interval: the period starts one step
        # before it (before averaging and matching, so energy stays in its period)
        series.index = series.index - step
    series.attrs["aware"] = aware
    series.attrs["blank"] = len(blank_rows)
    series.attrs["blank_lines"] = _lines(blank_rows) if len(blank_rows) else ""
    series.attrs["file_rows"] = len(raw)
    series.attrs["column"] = col
    series.attrs["repeated"] = [str(t) for t in repeated.unique()]
    return series, step


def _years(index: pd.DatetimeIndex) -> str:
    """The years of ``index`` as text: ``"2021"`` or ``"2020-2021"``."""
    first, last = int(index.year.min()), int(index.year.max())
    return str(first) if first == last else f"{first}-{last}"


def _typical_day(series: pd.Series) -> np.ndarray:
    """Mean load of each minute of the day (periodic interpolation between the
    file's times of day), shape (1440,). [kW]"""
    tod = (series.index.hour * 60 + series.index.minute).to_numpy()
    by_minute = pd.Series(series.to_numpy(), index=tod).groupby(level=0).mean()
    return np.interp(
        np.arange(0, 1440),
        by_minute.index.to_numpy(),
        by_minute.to_numpy(),
        period=1440,
    )


def _has_daylight_saving(index: pd.DatetimeIndex) -> bool:
    """Whether the zone of a timezone-aware ``index`` changes its UTC offset in
    the year of its first label (a daylight-saving clock such as
    Australia/Sydney, not a weather file's fixed standard time), also when the
    index itself covers a few days of one season (the dispatch's)."""
    from iclcontrol.solar.data import has_daylight_saving

    if index.tz is None or len(index) == 0:
        return False
    return has_daylight_saving(index.tz, index[0].year)


def load_with_report(
    spec: str,
    index: pd.DatetimeIndex,
    label: str = "instant",
    *,
    load_label: str = "start",
) -> tuple[pd.Series, dict[str, Any]]:
    """A load profile on ``index`` and a report of how it was built. [kW]

    Parameters
    ----------
    spec : str
        ``"residential"`` (built-in daily shape, mean 0.7 kW: 0.4 kW base, +0.6 kW
        07-09 h, +1.2 kW 17-22 h local time), ``"residential:SCALE"``,
        ``"flat:KW"`` [kW], or a CSV path with columns ``time`` (ISO 8601, the
        start of each load period; naive times are the wall clock of ``index``,
        times with UTC offsets, which may change with daylight saving, are
        converted to it) and ``load_kw`` [kW] or ``load_kwh`` (the energy of each
        row's period, divided by the file's step in hours) [kWh].
    index : pandas.DatetimeIndex
        Period labels (timezone-aware, local time).
    label : {"instant", "ending", "beginning"}
        What the labels stand for; the profile is evaluated at the start of each
        period (one step before an ``"ending"`` label).
    load_label : {"start", "end"}
        What a CSV's times stand for: the start of each row's period (default),
        or its end, as many meters stamp them (the 00:15 row is the load of
        00:00-00:15); ``"end"`` moves every time one file step back before the
        file is averaged and matched. Ignored for the built-in profiles.

    A CSV is used **by date** (matched on month, day and time of day, so a load
    year can drive a TMY year whose last hour wraps round; each period takes the
    value of the CSV step it starts in; a CSV finer than the periods is first
    averaged over each period, which keeps its energy). Periods its dates miss
    (missing rows, a daylight-saving hour, Feb 29, months outside the file) take
    the file's mean load at the same time of day in the same month, or over all
    its days when the file lacks that month (interpolated, periodic); the report
    counts them. A file whose dates miss every period is **averaged by time of
    day** into one typical day. Matching by date ignores the weekday: a load
    of another year keeps its dates (seasons, holidays), so its Mondays may face
    the weather year's Sundays (the report's ``note`` says so when the years
    differ); the tariff has no weekday prices and a typical (TMY) year's
    weekdays are not those of its weather, so only the pairing of load days
    with weather days moves.

    A **blank value** (an empty cell, ``NaN``, ``NA``, ``null``) is a missing
    period like a missing row: filled the same way, counted in
    ``blank_values`` and warned about; a file with more than
    :data:`LOAD_BLANK_LIMIT` (10 %) of its rows blank is refused, as filling
    would invent the profile. A load is consumption: negative values (a net
    load, consumption minus an existing PV's output) are refused; give the
    gross consumption (import plus the existing array's output).

    Returns
    -------
    load : pandas.Series
        ``load_kw`` on ``index``. [kW]
    report : dict
        ``spec``, ``method`` (``"builtin"``, ``"dated"``, ``"dated_and_filled"``
        or ``"time_of_day_average"``), ``mean_kw``, ``column`` (``load_kw`` or
        ``load_kwh``), ``repeated_times`` (times given twice, averaged), ``rows``,
        ``step`` (text) and ``step_minutes`` of a CSV,
        ``averaged_to_period`` (text) when a finer CSV was averaged to the periods,
        ``filled_periods`` and a ``note`` when periods were filled or averaged,
        ``blank_values`` (blank cells of the file, also in ``filled_periods``
        unless a finer file's period kept other values), ``blank_lines``,
        ``file_rows`` and ``load_label`` of a CSV,
        ``warnings`` (e.g. a mean above
        :data:`LOAD_LOOKS_LIKE_WATTS_KW`, which looks like W).

    Raises
    ------
    ConfigError
        Unparsable or negative ``SCALE``/``KW``; unknown profile name; a
        ``load_label`` other than ``"start"`` or ``"end"``.
    DataError
        CSV problems, each naming the file and its lines: empty, wrong columns,
        more than :data:`LOAD_BLANK_LIMIT` blank, non-numeric or negative loads,
        non-ISO times, less than a day.
    """
    from iclcontrol.solar.features import index_step, period_starts

    check_load_label(load_label)
    labels = index
    starts = period_starts(index, label)
    report: dict[str, Any] = {"spec": spec, "evaluated_at": "period start"}
    if spec == "residential" or spec.startswith("residential:"):
        scale = _spec_number(spec, "SCALE") if ":" in spec else 1.0
        h = np.asarray(starts.hour + starts.minute / 60.0)
        kw = scale * (0.4 + 0.6 * ((h >= 7) & (h < 9)) + 1.2 * ((h >= 17) & (h < 22)))
        report["method"] = "builtin"
    elif spec.startswith("flat:"):
        kw = np.full(len(labels), _spec_number(spec, "KW"))
        report["method"] = "builtin"
    else:
        import os

        if not os.path.exists(spec):
            raise ConfigError(
                f"load {spec!r} is neither a file nor a profile ('residential', "
                "'residential:SCALE', 'flat:KW')"
            )
        series, step = _read_load_csv(spec, load_label)
        local = starts
        if series.attrs.get("aware") and starts.tz is not None:
            series.index = series.index.tz_localize("UTC").tz_convert(starts.tz)
            series.index = series.index.tz_localize(None)
        wall = local.tz_localize(None) if local.tz is not None else local
        report.update(
            {
                "repeated_times": series.attrs["repeated"],
                "column": series.attrs["column"],
                "load_label": load_label,
                "blank_values": series.attrs["blank"],
                "blank_lines": series.attrs["blank_lines"],
                "file_rows": series.attrs["file_rows"],
                "rows": len(series),
                "step": str(step),
                "step_minutes": step / pd.Timedelta("1min"),
            }
        )
        period = index_step(index) if len(index) > 1 else step
        if step < period:
            # a finer load than the periods: each period takes the mean power over
            # its span (its energy), not the value of the first load step in it
            origin = wall[0] - wall[0].floor(period)
            bins = (series.index - origin).floor(period) + origin
            series = series.groupby(bins).mean()
            step = period
            report["averaged_to_period"] = str(period)
        # the CSV step each period starts in, keyed without the year
        csv_key = series.index.strftime("%m-%d %H:%M:%S")
        by_key = pd.Series(series.to_numpy(), index=csv_key).groupby(level=0).mean()
        want = wall.floor(step) if step <= pd.Timedelta("1D") else wall
        want_key = want.strftime("%m-%d %H:%M:%S")
        hit = np.asarray(pd.Index(want_key).isin(by_key.index))
        dated = by_key.reindex(want_key).to_numpy(float)
        if hit.all():
            kw = dated
            report["method"] = "dated"
        else:
            # periods the file's dates miss (a missing row, a daylight-saving hour,
            # Feb 29, months outside the file) take the file's typical day of the
            # same month, else its typical day over all its days
            minute = np.asarray(wall.hour * 60 + wall.minute)
            fill = _typical_day(series)[minute]
            month = np.asarray(wall.month)
            for m in np.unique(month[~hit]):
                in_file = series[series.index.month == m]
                if len(in_file):
                    here = month == m
                    fill[here] = _typical_day(in_file)[minute[here]]
            kw = np.where(hit, dated, fill)
            n_fill = int((~hit).sum())
            report["filled_periods"] = n_fill
            if hit.any():
                report["method"] = "dated_and_filled"
                report["note"] = (
                    f"the load file's dates cover {int(hit.sum())} of {hit.size} "
                    f"periods; the other {n_fill} take the file's mean load at the "
                    "same time of day in the same month (or over all its days when "
                    "the file lacks that month)"
                )
            else:
                report["method"] = "time_of_day_average"
                report["note"] = (
                    "the load file's dates cover none of the periods: its values "
                    "were averaged by time of day over "
                    f"{series.index.normalize().nunique()} day(s) into one typical "
                    "day"
                )
        file_years, wall_years = _years(series.index), _years(wall)
        if hit.any() and file_years != wall_years:
            weekday = (
                f"the load file's dates ({file_years}) are matched to the "
                f"weather's ({wall_years}) by month, day and time of day, not by "
                "weekday: its Mondays may fall on the weather's Sundays (the tariff "
                "has no weekday prices)"
            )
            report["note"] = "; ".join(filter(None, [report.get("note"), weekday]))
    out = pd.Series(np.asarray(kw, float), index=labels, name="load_kw")
    report["mean_kw"] = float(out.mean())
    warnings_: list[str] = []
    if report.get("repeated_times"):
        times = report["repeated_times"]
        repeated = (
            f"the load file repeats {len(times)} time(s) (e.g. {times[0]}); their "
            "values were averaged. A wall clock with daylight saving repeats an hour "
            "in autumn and skips one in spring"
        )
        if _has_daylight_saving(labels):
            # the weather's clock is a daylight-saving one too: wall times match
            # it all year, only the repeated hour's two readings are merged
            # the first (daylight-saving) occurrence of the repeated time, with
            # its offset in the weather's zone (whether or not the periods hold it)
            example = (
                pd.Timestamp(times[0])
                .tz_localize(labels.tz, ambiguous=True, nonexistent="shift_forward")
                .isoformat()
            )
            warnings_.append(
                f"{repeated}, as the weather's ({labels.tz}) does: the wall-clock "
                "times match it, but both periods of the repeated hour take the "
                "mean of its readings; to keep them apart give times with their "
                f"UTC offset (e.g. {example})"
            )
        else:
            warnings_.append(
                f"{repeated}, and its summer hours are one hour off the weather's "
                f"standard time ({labels.tz}): give times with their UTC offset "
                "(e.g. 2021-07-01T17:00-04:00), or pass the site's IANA zone as "
                "the weather's (--tz, tz=... to load_solar)"
            )
    if report.get("blank_values"):
        n, rows = report["blank_values"], report["file_rows"]
        step_h = report["step_minutes"] / 60.0
        warnings_.append(
            f"the load file has {n} blank {report['column']} value(s) (line(s) "
            f"{report['blank_lines']}; {n / rows:.1%} of its rows, "
            f"{n * step_h / 8760.0:.2%} of a year); they count as missing: a "
            "period with none of its values takes the file's mean load at the same "
            "time of day in the same month (filled_periods), one with some takes "
            "their mean when a finer file is averaged to the periods"
        )
    if report["mean_kw"] > LOAD_LOOKS_LIKE_WATTS_KW:
        warnings_.append(
            f"mean load {report['mean_kw']:.0f} kW is large for a building; if the "
            "file is in W, divide by 1000 (load_kw is in kW)"
        )
    report["warnings"] = warnings_
    return out, report


# -- sizing ------------------------------------------------------------------------
@dataclass(frozen=True)
class SizingCosts:
    """Annualized investment costs and limits of the sizing problem.

    Parameters
    ----------
    pv_per_kwp_year : float
        Annualized PV cost (capital recovery + O&M). [$/(kWp a)]
    battery_per_kwh_year : float
        Annualized battery cost. [$/(kWh a)]
    battery_c_rate : float
        Battery power rating per kWh of capacity. [kW/kWh]
    max_kwp, max_kwh : float or None
        Upper bounds on the sizes (roof area, budget), >= 0 (0 leaves that part
        out, e.g. ``max_kwh=0`` for PV only); None or ``inf`` for no bound.
        [kWp, kWh]

    Raises
    ------
    ConfigError
        A negative or non-finite cost, a ``battery_c_rate`` that is not a finite
        number > 0, a negative or NaN bound.
    """

    pv_per_kwp_year: float = 90.0
    battery_per_kwh_year: float = 45.0
    battery_c_rate: float = 0.5
    max_kwp: float | None = 20.0
    max_kwh: float | None = 40.0

    def __post_init__(self) -> None:
        # written as "not (valid)" so that NaN is refused too
        for name, unit in (
            ("pv_per_kwp_year", "$/(kWp a)"),
            ("battery_per_kwh_year", "$/(kWh a)"),
        ):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ConfigError(
                    f"{name} must be a finite cost >= 0 {unit}, got {value} (an "
                    "annualized cost; fold subsidies into it, not below zero)"
                )
        if not (np.isfinite(self.battery_c_rate) and self.battery_c_rate > 0):
            raise ConfigError(
                f"battery_c_rate must be a finite number > 0 kW/kWh, got "
                f"{self.battery_c_rate} (use max_kwh=0 for no battery)"
            )
        for name in ("max_kwp", "max_kwh"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ConfigError(
                    f"{name} must be >= 0 or None (no bound), got {value}"
                )
            if value is not None and np.isinf(value):
                object.__setattr__(self, name, None)  # inf means no bound


@dataclass
class SizingResult:
    """Optimal sizes and the year's cost breakdown (annual figures).

    Attributes
    ----------
    kwp : float
        PV size. [kWp]
    kwh : float
        Battery capacity. [kWh]
    annual_cost, investment_cost, energy_cost : float
        Total = investment + energy (imports minus exports). [$/a]
    import_kwh, export_kwh, curtailed_kwh : float
        Grid import, export and PV curtailed at the export limit. [kWh/a]
    status : str
        HiGHS termination condition; the figures are NaN unless "optimal".
    solve_s : float
        Time to build and solve the LP. [s]
    baseline_cost : float
        Cost of the load bought from the grid alone. [$/a]
    schedule : pandas.DataFrame or None
        Per period: ``pv_kw``, ``load_kw``, ``P_ch``, ``P_dis``, ``E`` [kWh],
        ``grid_import``, ``grid_export``, ``curtailed`` [kW].
    """

    kwp: float
    kwh: float
    annual_cost: float
    investment_cost: float
    energy_cost: float
    import_kwh: float
    export_kwh: float
    status: str
    solve_s: float
    baseline_cost: float
    schedule: pd.DataFrame | None = None
    curtailed_kwh: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("schedule")
        return d


def size_system(
    pv_per_kwp: Any,
    load_kw: Any,
    dt_h: float,
    import_price: Any,
    export_price: float,
    costs: SizingCosts | None = None,
    eta_charge: float = 0.95,
    eta_discharge: float = 0.95,
    soc_min: float = 0.1,
    soc_max: float = 0.9,
    year_fraction: float | None = None,
    keep_schedule: bool = False,
    export_limit_kw: float | None = None,
) -> SizingResult:
    """Choose PV kWp and battery kWh minimizing annualized cost (Pyomo LP, HiGHS).

    ``min  f (c_pv kWp + c_b kWh) + sum_k dt (p_imp,k imp_k - p_exp exp_k)``
    subject to the power balance ``imp - exp = load - kWp pv1 + curt + ch - dis``
    (curtailment ``0 <= curt <= kWp pv1``, ``exp <= export_limit_kw``), the
    battery ``E_{k+1} = E_k + dt (eta_c ch - dis / eta_d)`` with cyclic ``E_N = E_0``,
    ``soc_min kWh <= E <= soc_max kWh`` and ``ch, dis <= c_rate kWh``. Here ``f`` is
    the fraction of a year the profile covers (so investment is charged pro rata).

    Parameters
    ----------
    pv_per_kwp : array-like (n,)
        AC output of 1 kWp per period. [kW/kWp]
    load_kw : array-like (n,)
        [kW]
    dt_h : float
        Period length. [h]
    import_price : array-like (n,) or float
        [$/kWh]
    export_price : float
        [$/kWh]
    costs : SizingCosts or None
        Annualized costs, battery c-rate and size limits; None: ``SizingCosts()``.
    eta_charge, eta_discharge : float
        Battery charge and discharge efficiencies. [-]
    soc_min, soc_max : float
        Usable state-of-charge range, as fractions of the capacity. [-]
    year_fraction : float or None
        Default ``n dt / 8760``.
    keep_schedule : bool
        Keep the optimal schedule (PV, load, battery, grid per period) in the
        result's ``schedule``.
    export_limit_kw : float or None
        Largest export power (``Tariff.export_limit_kw``); PV above it is
        curtailed. None: no limit. [kW]

    Returns
    -------
    SizingResult
        Figures scaled to one year (divided by ``year_fraction``).
    """
    import pyomo.environ as pyo

    costs = costs or SizingCosts()
    _check_period(dt_h)
    check_battery_fractions(eta_charge, eta_discharge, soc_min, soc_max)
    pv1 = np.asarray(pv_per_kwp, float)
    load = np.asarray(load_kw, float)
    n = pv1.size
    if load.size != n or n < 1:
        raise DataError(
            f"pv_per_kwp and load_kw need the same length, got {n}, {load.size}"
        )
    if not (np.all(np.isfinite(pv1)) and np.all(np.isfinite(load))):
        raise DataError("pv_per_kwp and load_kw must be finite")
    price = _per_period(import_price, n, "import_price")
    _check_export_price(price, export_price)
    frac = n * dt_h / 8760.0 if year_fraction is None else year_fraction
    if not frac > 0:
        raise ConfigError(f"year_fraction must be positive, got {frac}")
    if export_limit_kw is not None and not export_limit_kw >= 0:
        raise ConfigError(
            f"export_limit_kw must be >= 0 kW or None, got {export_limit_kw}"
        )
    m = pyo.ConcreteModel("sizing")
    K = range(n)
    m.kwp = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, costs.max_kwp))
    m.kwh = pyo.Var(domain=pyo.NonNegativeReals, bounds=(0, costs.max_kwh))
    m.ch = pyo.Var(K, domain=pyo.NonNegativeReals)
    m.dis = pyo.Var(K, domain=pyo.NonNegativeReals)
    m.imp = pyo.Var(K, domain=pyo.NonNegativeReals)
    m.exp = pyo.Var(K, bounds=(0, export_limit_kw))
    m.curt = pyo.Var(K, domain=pyo.NonNegativeReals)
    m.E = pyo.Var(range(n + 1), domain=pyo.NonNegativeReals)
    m.curtmax = pyo.Constraint(K, rule=lambda m, k: m.curt[k] <= m.kwp * pv1[k])
    m.balance = pyo.Constraint(
        K,
        rule=lambda m, k: (
            m.imp[k] - m.exp[k]
            == load[k] - m.kwp * pv1[k] + m.curt[k] + m.ch[k] - m.dis[k]
        ),
    )
    m.dyn = pyo.Constraint(
        K,
        rule=lambda m, k: (
            m.E[k + 1]
            == m.E[k] + dt_h * (eta_charge * m.ch[k] - m.dis[k] / eta_discharge)
        ),
    )
    m.cyclic = pyo.Constraint(expr=m.E[n] == m.E[0])
    m.emin = pyo.Constraint(range(n + 1), rule=lambda m, k: m.E[k] >= soc_min * m.kwh)
    m.emax = pyo.Constraint(range(n + 1), rule=lambda m, k: m.E[k] <= soc_max * m.kwh)
    m.chmax = pyo.Constraint(
        K, rule=lambda m, k: m.ch[k] <= costs.battery_c_rate * m.kwh
    )
    m.dismax = pyo.Constraint(
        K, rule=lambda m, k: m.dis[k] <= costs.battery_c_rate * m.kwh
    )
    invest = costs.pv_per_kwp_year * m.kwp + costs.battery_per_kwh_year * m.kwh
    energy = sum(dt_h * (price[k] * m.imp[k] - export_price * m.exp[k]) for k in K)
    m.obj = pyo.Objective(expr=frac * invest + energy, sense=pyo.minimize)
    status, solve_s = _solve(m)
    if status != "optimal":
        return SizingResult(
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            status,
            solve_s,
            float(np.sum(dt_h * price * load)) / frac,
        )
    imp = np.array([pyo.value(m.imp[k]) for k in K])
    exp = np.array([pyo.value(m.exp[k]) for k in K])
    curt = np.array([pyo.value(m.curt[k]) for k in K])
    # max(0, .): HiGHS may return -0.0 for an empty size
    kwp, kwh = max(0.0, float(pyo.value(m.kwp))), max(0.0, float(pyo.value(m.kwh)))
    energy_cost = float(np.sum(dt_h * (price * imp - export_price * exp)))
    schedule = None
    if keep_schedule:
        schedule = pd.DataFrame(
            {
                "pv_kw": kwp * pv1,
                "load_kw": load,
                "P_ch": [pyo.value(m.ch[k]) for k in K],
                "P_dis": [pyo.value(m.dis[k]) for k in K],
                "E": [pyo.value(m.E[k]) for k in K],
                "grid_import": imp,
                "grid_export": exp,
                "curtailed": curt,
            }
        )
    inv = costs.pv_per_kwp_year * kwp + costs.battery_per_kwh_year * kwh
    return SizingResult(
        kwp=kwp,
        kwh=kwh,
        annual_cost=inv + energy_cost / frac,
        investment_cost=inv,
        energy_cost=energy_cost / frac,
        import_kwh=float(np.sum(imp) * dt_h / frac),
        export_kwh=float(np.sum(exp) * dt_h / frac),
        status=status,
        solve_s=solve_s,
        baseline_cost=float(np.sum(dt_h * price * load)) / frac,
        schedule=schedule,
        curtailed_kwh=float(np.sum(curt) * dt_h / frac),
    )


# -- dispatch ----------------------------------------------------------------------
class _DispatchLP:
    """One Pyomo LP over N steps with mutable data, re-solved every control step.

    With ``scenarios`` > 1 it is the two-stage stochastic version: one battery plan
    per PV scenario, the expected cost minimized, and the first move (the only one
    applied) shared by all scenarios (non-anticipativity). One scenario is the
    deterministic LP.
    """

    def __init__(
        self,
        n: int,
        dt_h: float,
        battery: Any,
        export_price: float,
        export_limit_kw: float | None,
        scenarios: int = 1,
    ) -> None:
        import pyomo.environ as pyo

        self.n = n
        self.scenarios = scenarios
        m = pyo.ConcreteModel("dispatch")
        K = range(n)
        S = range(scenarios)
        SK = [(s, k) for s in S for k in K]
        m.pv = pyo.Param(SK, mutable=True, initialize=0.0)
        m.load_kw = pyo.Param(K, mutable=True, initialize=0.0)
        m.price = pyo.Param(K, mutable=True, initialize=0.0)
        m.e0 = pyo.Param(mutable=True, initialize=battery.e_min)
        b = battery
        m.ch = pyo.Var(SK, bounds=(0, b.power_kw))
        m.dis = pyo.Var(SK, bounds=(0, b.power_kw))
        m.imp = pyo.Var(SK, domain=pyo.NonNegativeReals)
        m.exp = pyo.Var(SK, bounds=(0, export_limit_kw))
        m.curt = pyo.Var(SK, domain=pyo.NonNegativeReals)
        m.E = pyo.Var(S, range(n + 1), bounds=(b.e_min, b.e_max))
        m.curtmax = pyo.Constraint(SK, rule=lambda m, s, k: m.curt[s, k] <= m.pv[s, k])
        m.balance = pyo.Constraint(
            SK,
            rule=lambda m, s, k: (
                m.imp[s, k] - m.exp[s, k]
                == m.load_kw[k] - m.pv[s, k] + m.curt[s, k] + m.ch[s, k] - m.dis[s, k]
            ),
        )
        m.init = pyo.Constraint(S, rule=lambda m, s: m.E[s, 0] == m.e0)
        m.dyn = pyo.Constraint(
            SK,
            rule=lambda m, s, k: (
                m.E[s, k + 1]
                == m.E[s, k]
                + dt_h * (b.eta_charge * m.ch[s, k] - m.dis[s, k] / b.eta_discharge)
            ),
        )
        # non-anticipativity: the move applied now cannot depend on the scenario
        m.same_ch = pyo.Constraint(
            S, rule=lambda m, s: m.ch[s, 0] == m.ch[0, 0] if s else pyo.Constraint.Skip
        )
        m.same_dis = pyo.Constraint(
            S,
            rule=lambda m, s: m.dis[s, 0] == m.dis[0, 0] if s else pyo.Constraint.Skip,
        )
        # Do not end the horizon emptier than it started: no myopic draining.
        m.terminal = pyo.Constraint(S, rule=lambda m, s: m.E[s, n] >= m.e0)
        m.obj = pyo.Objective(
            expr=sum(
                dt_h * (m.price[k] * m.imp[s, k] - export_price * m.exp[s, k])
                + 1e-4 * (m.ch[s, k] + m.dis[s, k])  # break ties, no cycling
                for s, k in SK
            )
            / scenarios,
            sense=pyo.minimize,
        )
        self.model = m
        self.dt_h = dt_h
        self.solver = None
        self._direct: _HighsStepData | None = None
        try:
            from pyomo.contrib import appsi

            solver = appsi.solvers.Highs()
            if solver.available():
                # only parameter values change between solves: skip the structural
                # checks of the persistent interface (a third of the solve time)
                uc = solver.update_config
                for flag in (
                    "check_for_new_or_removed_constraints",
                    "check_for_new_or_removed_vars",
                    "check_for_new_or_removed_params",
                    "check_for_new_objective",
                    "update_constraints",
                    "update_vars",
                    "update_named_expressions",
                    "update_objective",
                ):
                    setattr(uc, flag, False)
                self.solver = solver
        except Exception:  # appsi missing in this Pyomo: plain SolverFactory below
            self.solver = None

    #: Write each step's data straight into the HiGHS model once the first solve
    #: has shown that it gives the LP Pyomo would (False: always through Pyomo).
    direct_updates = True

    def solve(
        self, e0: float, pv: np.ndarray, load: np.ndarray, price: np.ndarray
    ) -> tuple[str, np.ndarray]:
        """Solve for PV ``pv`` of shape (n,) or (scenarios, n); return the status
        and the first move ``(P_ch, P_dis)``. [kW]"""
        import pyomo.environ as pyo

        m = self.model
        pv = np.atleast_2d(np.asarray(pv, float))
        if pv.shape != (self.scenarios, self.n):
            raise DimensionError(
                f"PV forecast of shape {pv.shape}; this LP expects "
                f"({self.scenarios}, {self.n}) (scenarios, steps)"
            )
        if self._direct is not None:  # straight into HiGHS, see _HighsStepData
            self._direct.write(*self._direct.values(e0, pv, load, price))
        else:
            m.e0.set_value(float(e0))
            for k in range(self.n):
                m.load_kw[k].set_value(float(load[k]))
                m.price[k].set_value(float(price[k]))
                for s in range(self.scenarios):
                    m.pv[s, k].set_value(float(max(pv[s, k], 0.0)))
        if self.solver is not None:
            self.solver.config.load_solution = False
            res = self.solver.solve(m)
            if self._direct is None and self.direct_updates:
                self._direct = _HighsStepData.attach(self, e0, pv, load, price)
            status = str(res.termination_condition).split(".")[-1]
            if status == "optimal":  # only the applied move is read
                res.solution_loader.load_vars([m.ch[0, 0], m.dis[0, 0]])
        else:
            status, _ = _solve(m)
        if status != "optimal":
            return status, np.zeros(2)
        return status, np.array([pyo.value(m.ch[0, 0]), pyo.value(m.dis[0, 0])])


class _HighsStepData:
    """The data of one dispatch step written straight into the persistent HiGHS model.

    Pyomo's persistent HiGHS interface re-evaluates every expression holding a
    mutable parameter at every solve, one Python expression walk per row: about
    20 ms of the 30 ms of a 96-step dispatch step, 140 ms of 180 ms with 10
    scenarios, where HiGHS itself needs 10-17 ms. Only these numbers change
    between steps: the right-hand sides ``curt <= pv``, ``imp - exp - curt - ch +
    dis == load - pv``, ``E_0 == e0``, ``E_n >= e0`` and the import costs
    ``dt_h / scenarios * price``. They are computed here with numpy and written
    with two HiGHS calls. :meth:`attach` only returns an instance when, after a
    first solve through Pyomo, the values it computes equal those in the HiGHS
    model bit for bit; otherwise every step goes through Pyomo.

    Uses the appsi interface's maps of constraints and variables to HiGHS rows
    and columns (``_pyomo_con_to_solver_con_map``, ``_pyomo_var_to_solver_var_map``,
    ``_solver_model``): a Pyomo without them keeps the Pyomo path.
    """

    def __init__(self, lp: _DispatchLP) -> None:
        solver, m = lp.solver, lp.model
        if solver is None:  # no persistent solver: the Pyomo path
            raise AttributeError("the dispatch LP has no persistent HiGHS solver")
        self.solver = solver
        rows = solver._pyomo_con_to_solver_con_map
        cols = solver._pyomo_var_to_solver_var_map
        SK = [(s, k) for s in range(lp.scenarios) for k in range(lp.n)]
        S = range(lp.scenarios)
        self.highs = solver._solver_model
        self.curt_rows = np.array([rows[m.curtmax[sk]] for sk in SK], dtype=np.int32)
        self.balance_rows = np.array([rows[m.balance[sk]] for sk in SK], np.int32)
        self.init_rows = np.array([rows[m.init[s]] for s in S], dtype=np.int32)
        self.terminal_rows = np.array([rows[m.terminal[s]] for s in S], np.int32)
        self.import_cols = np.array([cols[id(m.imp[sk])] for sk in SK], np.int32)
        self.rows = np.concatenate(
            [self.curt_rows, self.balance_rows, self.init_rows, self.terminal_rows]
        )
        self.cost_per_price = lp.dt_h / lp.scenarios  # [h]
        self.scenarios = lp.scenarios

    @classmethod
    def attach(
        cls,
        lp: _DispatchLP,
        e0: float,
        pv: np.ndarray,
        load: np.ndarray,
        price: np.ndarray,
    ) -> _HighsStepData | None:
        """An instance for ``lp`` if the values it computes for the data just solved
        through Pyomo are exactly those in the HiGHS model; else None."""
        try:
            direct = cls(lp)
            model = direct.highs.getLp()
        except (AttributeError, KeyError):  # another Pyomo or solver interface
            return None
        lower, upper, costs = direct.values(e0, pv, load, price)
        same = (
            np.array_equal(np.asarray(model.row_lower_)[direct.rows], lower)
            and np.array_equal(np.asarray(model.row_upper_)[direct.rows], upper)
            and np.array_equal(np.asarray(model.col_cost_)[direct.import_cols], costs)
        )
        if not same:
            return None
        direct.solver.update_config.update_params = False  # written here from now on
        return direct

    def values(
        self, e0: float, pv: np.ndarray, load: np.ndarray, price: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row lower and upper bounds (order of ``rows``) and import costs (order of
        ``import_cols``) for stored energy ``e0`` [kWh], PV ``pv`` (scenarios, n),
        load ``load`` (n,) [kW] and import price ``price`` (n,) [$/kWh]."""
        pv_kw = np.maximum(np.asarray(pv, float), 0.0).ravel()  # (s, k) order
        load_kw = np.tile(np.asarray(load, float), self.scenarios)
        net = load_kw - pv_kw
        e = np.full(self.scenarios, float(e0))
        lower = np.concatenate([np.full(pv_kw.size, -np.inf), net, e, e])
        upper = np.concatenate([pv_kw, net, e, np.full(self.scenarios, np.inf)])
        costs = self.cost_per_price * np.tile(np.asarray(price, float), self.scenarios)
        return lower, upper, costs

    def write(self, lower: np.ndarray, upper: np.ndarray, costs: np.ndarray) -> None:
        """Put row bounds and import costs into the HiGHS model."""
        self.highs.changeRowsBounds(len(self.rows), self.rows, lower, upper)
        self.highs.changeColsCost(len(self.import_cols), self.import_cols, costs)


def dispatch_lp(
    e0: float,
    pv_kw: Any,
    load_kw: Any,
    import_price: Any,
    dt_h: float,
    battery: Any,
    tariff: Tariff | None = None,
) -> tuple[str, np.ndarray]:
    """Solve one dispatch LP; return its status and the first move ``(P_ch, P_dis)``.

    Parameters
    ----------
    e0 : float
        Stored energy now, within ``[battery.e_min, battery.e_max]``. [kWh]
    pv_kw : array-like, shape (n,) or (scenarios, n)
        A point forecast, or equally likely scenarios (two-stage stochastic LP,
        first move shared). [kW]
    load_kw : array-like, shape (n,)
        [kW]
    import_price : float or array-like, shape (n,)
        [$/kWh]
    dt_h : float
        Period length. [h]
    battery : plants.pv.BatteryParameters
    tariff : Tariff or None
        Export price and limit (default ``Tariff()``).

    Returns
    -------
    (str, numpy.ndarray)
        Solver status and ``(P_ch, P_dis)`` [kW] (zeros unless "optimal").

    Raises
    ------
    DimensionError, DataError, ConfigError
        Lengths that differ from the PV forecast's, NaN, ``e0`` outside the
        bounds, an invalid ``dt_h``.
    """
    tariff = tariff or Tariff()
    pv = np.atleast_2d(np.asarray(pv_kw, float))
    if pv.ndim != 2 or pv.shape[1] < 1:
        raise DimensionError(
            f"pv_kw needs shape (n,) or (scenarios, n); got {np.shape(pv_kw)}"
        )
    if not np.all(np.isfinite(pv)):
        raise DataError("pv_kw has NaN or infinite values")
    n = pv.shape[1]
    load = _per_period(load_kw, n, "load_kw")
    price = _per_period(import_price, n, "import_price")
    _check_export_price(price, tariff.export)
    _check_period(dt_h)  # the (frozen) battery checked its fractions when made
    if not (np.isfinite(e0) and battery.e_min <= e0 <= battery.e_max):
        raise DataError(
            f"e0={e0:g} kWh is outside the battery's bounds [{battery.e_min:g}, "
            f"{battery.e_max:g}] kWh (soc_min, soc_max x capacity_kwh)"
        )
    lp = _DispatchLP(
        pv.shape[1],
        dt_h,
        battery,
        tariff.export,
        tariff.export_limit_kw,
        scenarios=pv.shape[0],
    )
    return lp.solve(e0, pv, load, price)


@dataclass
class DispatchResult:
    """Closed-loop dispatch over a test period.

    Attributes
    ----------
    cost : float
        Realised grid cost. [$]
    import_kwh, export_kwh, curtailed_kwh : float
        [kWh]
    failed_solves : int
        Steps whose LP had no optimum; the self-consumption rule was applied.
    failed_statuses : dict
        HiGHS status of those steps -> count (e.g. ``{"infeasible": 2}``).
    mean_solve_ms : float
        [ms]
    """

    strategy: str
    cost: float
    import_kwh: float
    export_kwh: float
    curtailed_kwh: float
    n_steps: int
    failed_solves: int
    mean_solve_ms: float
    trace: pd.DataFrame
    failed_statuses: dict[str, int] = field(default_factory=dict)

    def failure_warning(self) -> str | None:
        """A sentence on the steps that fell back to the rule, or None."""
        if not self.failed_solves:
            return None
        statuses = ", ".join(f"{k} {v}" for k, v in self.failed_statuses.items())
        return (
            f"dispatch '{self.strategy}': {self.failed_solves} of {self.n_steps} LP "
            f"solves had no optimum ({statuses}); those steps applied the "
            "self-consumption rule (charge the PV surplus, discharge the deficit)"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("trace")
        return d


def period_costs(trace: pd.DataFrame, export_price: float, dt_h: float) -> pd.Series:
    """Cost of every period of a dispatch trace: ``dt (p_imp imp - p_exp exp)``. [$]

    Parameters
    ----------
    trace : pandas.DataFrame
        ``DispatchResult.trace``: ``grid_import``, ``grid_export`` [kW] and
        ``price`` [$/kWh] per period.
    export_price : float
        Price paid for exported energy. [$/kWh]
    dt_h : float
        Period length. [h]
    """
    return dt_h * (
        trace["price"] * trace["grid_import"] - export_price * trace["grid_export"]
    )


def run_dispatch(
    plant: Any,
    pv_actual_kw: pd.Series,
    load_kw: pd.Series,
    pv_forecast: Callable[[int], np.ndarray],
    horizon_steps: int,
    tariff: Tariff | None = None,
    strategy: str = "forecast",
    e0: float | None = None,
    label: str = "instant",
) -> DispatchResult:
    """Receding-horizon battery dispatch against the PV plant simulator.

    At every step ``k`` an LP over ``horizon_steps`` periods is solved with the
    forecast ``pv_forecast(k)`` (array of ``horizon_steps`` kW values for periods
    ``k .. k+H-1``, or of shape (scenarios, ``horizon_steps``) for the stochastic
    LP over equally likely scenarios; the load is assumed known), the first move is
    applied to ``plant`` (which clips it to its limits), and the realised grid flows
    are priced: ``cost = sum dt (p_imp imp - p_exp exp)``. PV above the export limit
    is curtailed by the plant. The import price of a period is the tariff's at the
    period start (``label`` says what the index labels stand for, see
    :meth:`Tariff.import_price`).

    Parameters
    ----------
    plant : plants.pv.PVBatteryPlant
        Battery simulator; its ``dt_h`` must be the step of the series. [h]
    pv_actual_kw : pandas.Series
        Realised PV power on a DatetimeIndex (local time: the tariff reads its
        hours). [kW]
    load_kw : pandas.Series or array-like
        Load per period, same length as ``pv_actual_kw`` (taken by position). [kW]
    pv_forecast : callable
        ``pv_forecast(k)`` -> PV forecast for periods ``k .. k+H-1``. [kW]
    horizon_steps : int
        LP horizon ``H`` (periods), a positive integer.
    tariff : Tariff or None
        Prices; None: ``Tariff()``.
    strategy : str
        Name of the run, kept in the result (``DispatchResult.strategy``).
    e0 : float or None
        Initial stored energy; None: the plant's ``x_steady`` (mid-range). [kWh]
    label : {"instant", "ending", "beginning"}
        What the index labels stand for (the tariff's hours are read at each
        period's start).

    Returns
    -------
    DispatchResult

    Raises
    ------
    DataError, DimensionError, ConfigError
        A series that is not on a DatetimeIndex, a load of another length, a
        plant whose ``dt_h`` differs from the series' step, a horizon that is not
        a positive integer or longer than the series.
    """
    from iclcontrol.solar.features import index_step

    tariff = tariff or Tariff()
    dt = plant.dt_h
    if not isinstance(pv_actual_kw, pd.Series) or not isinstance(
        pv_actual_kw.index, pd.DatetimeIndex
    ):
        raise DataError(
            "pv_actual_kw must be a pandas Series on a DatetimeIndex (the tariff "
            f"reads its local hours); got {type(pv_actual_kw).__name__}"
        )
    if isinstance(horizon_steps, bool) or not (
        isinstance(horizon_steps, (int, np.integer)) and horizon_steps >= 1
    ):
        raise ConfigError(
            f"horizon_steps must be a positive integer, got {horizon_steps!r}"
        )
    idx = pv_actual_kw.index
    n = len(idx) - horizon_steps + 1
    if n < 1:
        raise DataError(f"need more than horizon_steps={horizon_steps} periods")
    load = np.asarray(load_kw, dtype=float)
    if load.shape != (len(idx),):
        raise DimensionError(
            f"load_kw has shape {load.shape} but pv_actual_kw has {len(idx)} periods; "
            "give one load value per period"
        )
    step_h = index_step(idx) / pd.Timedelta("1h")
    if abs(step_h - dt) > 1e-9 * dt:
        raise ConfigError(
            f"the plant's dt_h is {dt:g} h but the series' step is {step_h:g} h; "
            f"make the plant with dt_h={step_h:g}"
        )
    price = tariff.import_price(idx, label)
    pv_true = pv_actual_kw.to_numpy(float)
    lp = None
    e = plant.x_steady[0] if e0 is None else float(e0)
    rows = []
    failed = 0
    failed_statuses: dict[str, int] = {}
    t_solve = 0.0
    lim = np.inf if tariff.export_limit_kw is None else tariff.export_limit_kw
    for k in range(n):
        fc = np.atleast_2d(np.asarray(pv_forecast(k), float))
        if lp is None:  # built once; the scenario count comes with the forecast
            lp = _DispatchLP(
                horizon_steps,
                dt,
                plant.battery,
                tariff.export,
                tariff.export_limit_kw,
                scenarios=fc.shape[0],
            )
        t0 = time.perf_counter()
        status, u = lp.solve(
            e, fc, load[k : k + horizon_steps], price[k : k + horizon_steps]
        )
        t_solve += time.perf_counter() - t0
        if status != "optimal":
            failed += 1
            failed_statuses[status] = failed_statuses.get(status, 0) + 1
            # fallback: self-consumption rule (charge surplus, discharge deficit)
            surplus = pv_true[k] - load[k]
            u = np.array([max(surplus, 0.0), max(-surplus, 0.0)])
        x_next, applied = plant.step_applied([e], u)
        net = load[k] - pv_true[k] + applied[0, 0] - applied[0, 1]
        imp, exp = max(net, 0.0), max(-net, 0.0)
        curt = max(exp - lim, 0.0)
        exp = min(exp, lim)
        rows.append((idx[k], e, applied[0, 0], applied[0, 1], imp, exp, curt, price[k]))
        e = float(x_next[0, 0])
    trace = pd.DataFrame(
        rows,
        columns=[
            "time",
            "E",
            "P_ch",
            "P_dis",
            "grid_import",
            "grid_export",
            "curtailed",
            "price",
        ],
    ).set_index("time")
    cost = float(np.sum(period_costs(trace, tariff.export, dt)))
    return DispatchResult(
        strategy=strategy,
        cost=cost,
        import_kwh=float(trace["grid_import"].sum() * dt),
        export_kwh=float(trace["grid_export"].sum() * dt),
        curtailed_kwh=float(trace["curtailed"].sum() * dt),
        n_steps=n,
        failed_solves=failed,
        mean_solve_ms=1000.0 * t_solve / n,
        trace=trace,
        failed_statuses=failed_statuses,
    )
