"""The gap-closed fraction and its bootstrap interval over days, against hand values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iclcontrol.exceptions import DataError
from iclcontrol.solar.gap import daily_costs, gap_closed, gap_closed_interval


def _trace(imports, exports, prices, start="2024-03-09 23:00", tz="America/New_York"):
    index = pd.date_range(start, periods=len(imports), freq="1h", tz=tz)
    return pd.DataFrame(
        {"grid_import": imports, "grid_export": exports, "price": prices}, index=index
    )


def test_daily_costs_by_hand():
    # 23:00 on the 9th, then 00:00, 01:00 and (clocks spring forward) 03:00 on the
    # 10th, local time
    t = _trace([1.0, 2.0, 0.0, 3.0], [0.0, 0.0, 4.0, 0.0], [0.1, 0.2, 0.3, 0.1])
    assert t.index[-1].hour == 3
    daily = daily_costs({"a": t}, export_price=0.05, dt_h=0.5)
    # day 1: 0.5 * 0.1 * 1 = 0.05; day 2: 0.5 * (0.2 * 2 - 0.05 * 4 + 0.1 * 3) = 0.25
    assert list(daily.index.astype(str)) == ["2024-03-09", "2024-03-10"]
    np.testing.assert_allclose(daily["a"], [0.05, 0.25])


def test_daily_costs_rejects_bad_traces():
    t = _trace([1.0], [0.0], [0.1])
    with pytest.raises(DataError, match="price"):
        daily_costs({"a": t.drop(columns="price")}, 0.05, 1.0)
    later = _trace([1.0], [0.0], [0.1], start="2024-03-12 10:00")
    with pytest.raises(DataError, match="same days"):
        daily_costs({"a": t, "b": later}, 0.05, 1.0)


def test_gap_closed_definition():
    c = {"persistence": 10.0, "perfect": 6.0, "forecast": 7.0}
    assert gap_closed(c, "forecast") == pytest.approx(0.75)
    assert gap_closed(c, "persistence") == 0.0
    assert gap_closed({"persistence": 5.0, "perfect": 5.0, "x": 4.0}, "x") is None


def test_interval_of_identical_days_is_the_point_value():
    day = {"persistence": 3.0, "perfect": 1.0, "forecast": 2.5}
    daily = pd.DataFrame([day] * 10)
    lo, hi = gap_closed_interval(daily)["forecast"]
    assert lo == pytest.approx(0.25) and hi == pytest.approx(0.25)


def test_interval_of_two_days_by_hand():
    # day A: the strategy closes the whole gap, day B none of it. Resampling two
    # days gives AA (fraction 1) with probability 1/4, AB or BA (1/2) with 1/2 and
    # BB (0) with 1/4: the 5-95 % interval is [0, 1], the 30-70 % one [0.5, 0.5]
    daily = pd.DataFrame(
        {"persistence": [2.0, 2.0], "perfect": [1.0, 1.0], "forecast": [1.0, 2.0]}
    )
    assert gap_closed_interval(daily, level=0.9)["forecast"] == pytest.approx([0, 1])
    assert gap_closed_interval(daily, level=0.4)["forecast"] == pytest.approx(
        [0.5, 0.5]
    )
    # no gap on any day: no fraction to report
    flat = daily.assign(perfect=daily["persistence"])
    assert gap_closed_interval(flat) == dict.fromkeys(flat.columns)
    with pytest.raises(DataError, match="level"):
        gap_closed_interval(daily, level=1.0)
    with pytest.raises(DataError, match="perfect"):
        gap_closed_interval(daily.drop(columns="perfect"))
    with pytest.raises(DataError, match="empty"):
        gap_closed_interval(daily.iloc[:0])
