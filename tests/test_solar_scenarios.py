"""Analog-day scenarios and the stochastic dispatch LP, against hand computations."""

import numpy as np
import pytest

from iclcontrol.exceptions import DataError, DimensionError
from iclcontrol.solar.data import SolarData, load_solar
from iclcontrol.solar.features import clearsky_target
from iclcontrol.solar.planning import Tariff, dispatch_lp
from iclcontrol.solar.scenarios import AnalogDayScenarios
from plants import BatteryParameters


@pytest.fixture(scope="module")
def tmy_slice():
    return load_solar("tmy3-greensboro").slice("1990-05-01", "1990-06-09")


def _with_daily_index(d: SolarData, per_day) -> SolarData:
    """Irradiance = k(day) x clear sky, k from ``per_day(day number)``."""
    cs = clearsky_target(d)
    day = (d.frame.index.normalize() - d.frame.index[0].normalize()).days
    frame = d.frame.copy()
    frame[d.target] = np.array([per_day(int(i)) for i in day]) * cs.to_numpy()
    return SolarData(frame, d.target, d.site)


def _midnight(d: SolarData, day: int):
    return d.frame.index[0].normalize() + np.timedelta64(day, "D")


def test_identical_days_give_no_spread(tmy_slice):
    d = _with_daily_index(tmy_slice, lambda i: 0.6)
    sc = AnalogDayScenarios(n_scenarios=5).fit(d)
    point = np.linspace(0.2, 1.0, 24)
    out = sc.scenarios(_midnight(d, 20), point)
    assert out.shape == (5, 24)
    np.testing.assert_allclose(out, np.tile(point, (5, 1)), atol=1e-9)


def test_alternating_days_fan_out_by_lead(tmy_slice):
    # days alternate between clear-sky index 0.3 and 0.9; with two scenarios the
    # picks are the quartiles of the candidates: one 0.3 day, one 0.9 day, so the
    # spread around their mean 0.6 is -0.3 / +0.3, scaled by min(lead / 6 h, 1)
    d = _with_daily_index(tmy_slice, lambda i: 0.3 if i % 2 else 0.9)
    sc = AnalogDayScenarios(n_scenarios=2, ramp_hours=6.0).fit(d)
    issue = _midnight(d, 20)
    point = np.full(23, 0.5)  # leads 01:00 .. 23:00, all on the issue date
    out = sc.scenarios(issue, point)
    lead_h = np.arange(1, 24)
    w = np.minimum(lead_h / 6.0, 1.0)
    np.testing.assert_allclose(out[0], 0.5 - 0.3 * w, atol=1e-9)  # cloudiest first
    np.testing.assert_allclose(out[1], 0.5 + 0.3 * w, atol=1e-9)


def test_too_few_days_in_the_window_falls_back_to_the_nearest(tmy_slice):
    # the 40 training days are all > 1 day of year away from an issue in September:
    # the 20 nearest days (by day of year) are the candidates; they alternate 0.3 /
    # 0.9, so the two quartile picks still give the -0.3 / +0.3 spread
    d = _with_daily_index(tmy_slice, lambda i: 0.3 if i % 2 else 0.9)
    sc = AnalogDayScenarios(n_scenarios=2, window_days=1, min_analogs=20).fit(d)
    out = sc.scenarios(_midnight(d, 20) + np.timedelta64(100, "D"), np.full(23, 0.5))
    np.testing.assert_allclose(out[:, -1], [0.2, 0.8], atol=1e-9)


def test_scenario_errors(tmy_slice):
    d = _with_daily_index(tmy_slice, lambda i: 0.6)
    with pytest.raises(DataError, match="need at least n_scenarios=100"):
        AnalogDayScenarios(n_scenarios=100).fit(d)
    sc = AnalogDayScenarios(n_scenarios=3).fit(d)
    with pytest.raises(DataError, match="finite"):
        sc.scenarios(_midnight(d, 20), np.array([1.0, np.nan]))


def test_stochastic_lp_hedges_by_hand():
    # 2 periods of 1 h, lossless 10 kWh battery starting empty, load 1 kW in the
    # second period, import 0.12 then 0.20 $/kWh, export 0.04 $/kWh. PV (second
    # period only) is 0 or 1 kW. A kWh charged now costs 0.12; it is worth 0.20 in a
    # scenario without PV and 0.04 (exported) in one with PV.
    b = BatteryParameters(10, 5, 1.0, 1.0, 0.0, 1.0)
    t = Tariff(export=0.04)
    load, price = [0.0, 1.0], [0.12, 0.20]

    def first_move(pv):
        status, u = dispatch_lp(0.0, pv, load, price, 1.0, b, t)
        assert status == "optimal"
        return u

    # 2 of 3 scenarios without PV: 2/3 * 0.20 + 1/3 * 0.04 = 0.147 > 0.12: charge 1
    np.testing.assert_allclose(
        first_move([[0, 0], [0, 0], [0, 1]]), [1.0, 0.0], atol=1e-6
    )
    # 1 of 3: 1/3 * 0.20 + 2/3 * 0.04 = 0.093 < 0.12: do not charge
    np.testing.assert_allclose(
        first_move([[0, 0], [0, 1], [0, 1]]), [0.0, 0.0], atol=1e-6
    )
    # ... while the mean of those scenarios as a point forecast (PV 1/3) charges the
    # forecast shortfall 2/3, each kWh saving 0.20 for 0.12
    np.testing.assert_allclose(first_move([0, 1 / 3]), [2 / 3, 0.0], atol=1e-6)
    # identical scenarios are the deterministic LP
    np.testing.assert_allclose(
        first_move([[0, 1 / 3]] * 4), first_move([0, 1 / 3]), atol=1e-6
    )


def test_lp_rejects_a_forecast_of_the_wrong_shape():
    from iclcontrol.solar.planning import _DispatchLP

    lp = _DispatchLP(3, 1.0, BatteryParameters(), 0.04, None, scenarios=2)
    with pytest.raises(DimensionError, match=r"\(2, 3\)"):
        lp.solve(1.0, np.zeros((3, 3)), np.zeros(3), np.zeros(3))


@pytest.mark.parametrize(
    ("tz", "latitude", "longitude", "start"),
    [
        ("Australia/Sydney", -33.87, 151.21, "2023-09-24"),  # 02:00 -> 03:00 on 1 Oct
        ("America/Santiago", -33.45, -70.67, "2023-08-27"),  # 00:00 -> 01:00 on 3 Sep
    ],
)
def test_each_day_keeps_its_own_profile_across_a_spring_change(
    tz, latitude, longitude, start
):
    """Days were numbered by the time elapsed since the first midnight: after a
    spring change a day is an hour short of whole, so every later day sat one
    row early (Sydney's 1 October was overwritten by 2 October; the US's by
    March). Santiago's clock skips midnight itself, and fitting raised a pandas
    ValueError. Here each day has its own clear-sky index, read back per day."""
    import pandas as pd
    import pvlib

    from iclcontrol.solar.data import Site, regularize

    idx = pd.date_range(start, periods=14 * 24, freq="1h", tz=tz)
    dates = idx.tz_localize(None).normalize()
    day = np.asarray((dates - dates[0]).days)
    loc = pvlib.location.Location(latitude, longitude, tz, altitude=0.0)
    ghi = loc.get_clearsky(idx)["ghi"].to_numpy() * (0.3 + 0.04 * day)
    frame, _ = regularize(pd.DataFrame({"ghi": ghi}, index=idx), "ghi")
    d = SolarData(frame, "ghi", Site("x", latitude, longitude, tz=tz))
    model = AnalogDayScenarios(n_scenarios=3, min_analogs=3).fit(d)
    assert model.days_.size == day.max() + 1
    # each row's daytime mean is its own day's index
    # (the last day, cut short by the changed hour, has no daylight)
    profiles = np.where(model.daytime_, model.profiles_, np.nan)[:-1]
    np.testing.assert_allclose(
        np.nanmean(profiles, axis=1), 0.3 + 0.04 * np.arange(day.max()), rtol=1e-3
    )
