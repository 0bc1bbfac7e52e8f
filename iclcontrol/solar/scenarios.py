"""Clear-sky-index scenarios for stochastic dispatch, from analog days of the past.

A point forecast of tomorrow's irradiance is close to the seasonal mean (past
irradiance says little about tomorrow's clouds), so a dispatch driven by it never
prepares for the bad days that hold most of the cost. :class:`AnalogDayScenarios`
turns a point forecast into an ensemble whose spread is the day-to-day variability of
the site at that time of year:

1. ``fit`` stores the measured clear-sky index of every day of the training period,
   per time-of-day slot (missing daytime values filled with the day's mean).
2. For an issue time, the candidate analogs are the training days within
   ``window_days`` of the same day of year (or, when there are fewer than
   ``min_analogs`` of them, the ``min_analogs`` days nearest in day of year). Each
   candidate ``a`` gives a trajectory over the leads: a lead that falls ``o`` days
   after the issue date at slot ``s`` reads day ``a + o`` at slot ``s``, so
   day-to-day persistence is kept.
3. ``n_scenarios`` candidates are taken at evenly spaced quantiles of their mean
   daytime index over the leads (from the cloudiest to the clearest), equally likely.
4. Scenario ``i`` = point forecast + ``w(lead)`` x (analog ``i`` - mean of the
   analogs), clipped to ``[0, CSI_MAX]``, with ``w`` rising linearly from 0 at lead 0
   to 1 at ``ramp_hours``: near leads keep the forecaster's information, far leads
   carry the full climatological spread around it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError, DataError, NotFittedError
from iclcontrol.solar.data import SolarData, as_timestamp, day_starts
from iclcontrol.solar.features import CSI_MAX, feature_frame
from iclcontrol.solar.saving import SavedModelMixin

__all__ = ["AnalogDayScenarios"]


def _day_and_slot(
    index: pd.DatetimeIndex, step: pd.Timedelta
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Local date of every timestamp (naive, midnight) and its slot of ``step``
    within that day (counted from the day's start,
    :func:`iclcontrol.solar.data.day_starts`)."""
    starts = day_starts(index)
    dates = starts.tz_localize(None).normalize() if starts.tz else starts
    return dates, np.asarray(np.round((index - starts) / step), dtype=int)


class AnalogDayScenarios(SavedModelMixin):
    """Ensemble of clear-sky-index trajectories around a point forecast.

    Parameters
    ----------
    n_scenarios : int
        Scenarios per issue time (equally likely).
    window_days : int
        Candidate analogs: training days within this many days of the issue
        date's day of year (any year). [d]
    ramp_hours : float
        Lead over which the scenarios fan out from the point forecast to the full
        analog spread. [h]
    min_daytime_coverage : float
        Days with a smaller measured fraction of their daytime slots are not used.
    min_analogs : int
        When fewer training days than this lie within ``window_days``, the
        ``min_analogs`` days nearest in day of year are the candidates instead.

    Attributes
    ----------
    days_ : pandas.DatetimeIndex
        Local calendar dates of the stored days (consecutive, without a zone).
    profiles_ : numpy.ndarray, (n_days, slots_per_day)
        Clear-sky index per day and slot (gaps filled with the day's mean).
    daytime_ : numpy.ndarray of bool, (n_days, slots_per_day)
    usable_ : numpy.ndarray of bool, (n_days,)
        Enough daytime measurements.
    site_ : Site
    target_ : str
        The site and target column fit on (absent in scenarios saved before
        they were recorded).
    training_data_ : dict
        ``source`` (dataset name or file), ``first`` and ``last`` (the first and
        last time read) and ``end`` (the cut given to fit, or None); empty for
        scenarios saved before this record existed.
    """

    def __init__(
        self,
        n_scenarios: int = 7,
        window_days: int = 30,
        ramp_hours: float = 6.0,
        min_daytime_coverage: float = 0.8,
        min_analogs: int = 20,
    ) -> None:
        self.n_scenarios = n_scenarios
        self.window_days = window_days
        self.ramp_hours = ramp_hours
        self.min_daytime_coverage = min_daytime_coverage
        self.min_analogs = min_analogs

    def fit(self, data: SolarData, end: Any = None) -> AnalogDayScenarios:
        """Store the daily clear-sky-index profiles of ``data`` before ``end``."""
        if int(self.n_scenarios) < 1:
            raise ConfigError(f"n_scenarios must be >= 1, got {self.n_scenarios}")
        if not self.ramp_hours > 0:
            raise ConfigError(f"ramp_hours must be > 0, got {self.ramp_hours}")
        ff = feature_frame(data)
        if end is not None:
            ff = ff[ff.index < as_timestamp(end, ff.index.tz)]
        step = pd.Timedelta(data.freq)
        per_day = round(pd.Timedelta("1D") / step)
        dates, slot = _day_and_slot(ff.index, step)
        # calendar days (naive dates): elapsed time between two local midnights
        # is a day less an hour across a spring change, which put every later day
        # one row early
        days = pd.date_range(dates.min(), dates.max(), freq="D")
        row = np.asarray((dates - days[0]).days, dtype=int)
        ok = slot < per_day  # the extra hour of a DST day is dropped
        csi = np.full((days.size, per_day), np.nan)
        daytime = np.zeros((days.size, per_day), dtype=bool)
        csi[row[ok], slot[ok]] = ff["csi"].to_numpy(float)[ok]
        daytime[row[ok], slot[ok]] = ff["daytime"].to_numpy(bool)[ok]
        csi[~daytime] = np.nan
        n_day = daytime.sum(axis=1)
        coverage = np.isfinite(csi).sum(axis=1) / np.maximum(n_day, 1)
        usable = (n_day > 0) & (coverage >= self.min_daytime_coverage)
        if usable.sum() < self.n_scenarios:
            raise DataError(
                f"only {int(usable.sum())} days with >= "
                f"{self.min_daytime_coverage:.0%} of their daytime measured; need at "
                f"least n_scenarios={self.n_scenarios}"
            )
        measured = np.isfinite(csi) & usable[:, None]
        total = np.where(measured, csi, 0.0).sum(axis=1)
        # unusable days are never analogs; 1.0 only keeps the array finite
        day_mean = np.where(usable, total / np.maximum(measured.sum(axis=1), 1), 1.0)
        self.days_ = days
        self.site_ = data.site  # predict-like checks refuse another site's data
        self.target_ = data.target
        self.training_data_ = {
            "source": str(data.card.get("name", data.card.get("source", ""))),
            "first": str(ff.index[0]),
            "last": str(ff.index[-1]),
            "end": None if end is None else str(as_timestamp(end, ff.index.tz)),
        }
        self.profiles_ = np.where(np.isfinite(csi), csi, day_mean[:, None])
        self.daytime_ = daytime
        self.usable_ = usable
        self.freq_ = step
        return self

    def scenarios(self, issue_time: Any, point_csi: np.ndarray) -> np.ndarray:
        """Scenarios of the clear-sky index for the leads after ``issue_time``.

        Parameters
        ----------
        issue_time : timestamp
            Time of the last measurement; lead ``j`` (0-based) is at
            ``issue_time + (j + 1) * freq``. Same time zone as the data.
        point_csi : numpy.ndarray, (n_leads,)
            Point forecast of the clear-sky index. [-]

        Returns
        -------
        numpy.ndarray, (n_scenarios, n_leads)
            Ordered from the cloudiest to the clearest analog.
        """
        if not hasattr(self, "profiles_"):
            raise NotFittedError("this AnalogDayScenarios is not fitted yet")
        point = np.asarray(point_csi, dtype=float)
        if point.ndim != 1 or not np.all(np.isfinite(point)):
            raise DataError("point_csi must be a finite 1-D array of leads")
        issue = pd.Timestamp(issue_time)
        leads = pd.date_range(issue + self.freq_, periods=point.size, freq=self.freq_)
        lead_dates, slot = _day_and_slot(leads, self.freq_)
        issue_date = _day_and_slot(pd.DatetimeIndex([issue]), self.freq_)[0][0]
        offset = np.asarray((lead_dates - issue_date).days, dtype=int)
        slot = np.minimum(slot, self.profiles_.shape[1] - 1)
        n_days = self.days_.size
        cand = np.arange(n_days - int(offset.max()))
        doy_gap = np.abs(self.days_.day_of_year[cand] - issue.day_of_year)
        doy_gap = np.minimum(doy_gap, 365 - doy_gap)
        rows = cand[:, None] + offset[None, :]
        usable = self.usable_[rows].all(axis=1)
        cand, rows, doy_gap = cand[usable], rows[usable], doy_gap[usable]
        if cand.size < self.n_scenarios:
            raise DataError(
                f"only {cand.size} usable days in the training period; need "
                f"n_scenarios={self.n_scenarios}"
            )
        near = doy_gap <= self.window_days
        min_analogs = max(int(self.min_analogs), int(self.n_scenarios))
        if near.sum() < min_analogs:
            # a season the training period barely covers (e.g. the end of a TMY
            # year held out): the nearest days of the year instead
            near = np.zeros(cand.size, dtype=bool)
            near[np.argsort(doy_gap, kind="stable")[:min_analogs]] = True
        cand, rows = cand[near], rows[near]
        traj = self.profiles_[rows, slot[None, :]]  # (n_cand, n_leads)
        day = self.daytime_[rows, slot[None, :]]
        score = np.where(day, traj, 0.0).sum(axis=1) / np.maximum(day.sum(axis=1), 1)
        order = np.argsort(score, kind="stable")
        q = (np.arange(self.n_scenarios) + 0.5) / self.n_scenarios
        picks = order[np.minimum((q * cand.size).astype(int), cand.size - 1)]
        analogs = traj[picks]
        hours = np.arange(1, point.size + 1) * (self.freq_ / pd.Timedelta("1h"))
        weight = np.minimum(hours / float(self.ramp_hours), 1.0)
        spread = analogs - analogs.mean(axis=0, keepdims=True)
        return np.clip(point[None, :] + weight[None, :] * spread, 0.0, CSI_MAX)
