"""Pyomo/HiGHS sizing and dispatch against cases solvable by hand."""

import json

import numpy as np
import pandas as pd
import pytest

from iclcontrol.exceptions import ConfigError, DataError, DimensionError
from iclcontrol.solar.planning import (
    SizingCosts,
    Tariff,
    dispatch_lp,
    ipopt_available,
    load_profile,
    run_dispatch,
    size_system,
)
from plants import BatteryParameters, PVBatteryPlant

NO_LIMITS = {"max_kwp": None, "max_kwh": None}


def test_sizing_pv_only_case():
    # one sunny and one dark hour, load 1 kW in both, nothing earned on export,
    # battery prohibitively expensive: buy exactly 1 kWp (cost c_pv < 0.3 $/kWh saved)
    r = size_system(
        [1.0, 0.0],
        [1.0, 1.0],
        1.0,
        0.3,
        0.0,
        SizingCosts(0.1, 100.0, battery_c_rate=10.0, **NO_LIMITS),
        year_fraction=1.0,
    )
    assert r.status == "optimal"
    assert r.kwp == pytest.approx(1.0, abs=1e-7)
    assert r.kwh == pytest.approx(0.0, abs=1e-7)
    assert r.annual_cost == pytest.approx(0.1 + 0.3, abs=1e-7)
    assert r.baseline_cost == pytest.approx(0.6)


def test_sizing_pv_and_battery_with_losses():
    # PV at noon, load at night; eta_c = eta_d = 0.9, SOC 0..1:
    # serving 1 kWh needs 1/0.81 kWp and 1/0.9 kWh of storage.
    c_pv, c_b = 0.05, 0.05
    r = size_system(
        [1.0, 0.0],
        [0.0, 1.0],
        1.0,
        0.3,
        0.0,
        SizingCosts(c_pv, c_b, battery_c_rate=10.0, **NO_LIMITS),
        eta_charge=0.9,
        eta_discharge=0.9,
        soc_min=0.0,
        soc_max=1.0,
        year_fraction=1.0,
    )
    assert r.kwp == pytest.approx(1 / 0.81, rel=1e-7)
    assert r.kwh == pytest.approx(1 / 0.9, rel=1e-7)
    assert r.annual_cost == pytest.approx(c_pv / 0.81 + c_b / 0.9, rel=1e-7)
    # too expensive storage: grid import is cheaper, nothing is built
    r2 = size_system(
        [1.0, 0.0],
        [0.0, 1.0],
        1.0,
        0.3,
        0.0,
        SizingCosts(0.2, 0.2, battery_c_rate=10.0, **NO_LIMITS),
        eta_charge=0.9,
        eta_discharge=0.9,
        soc_min=0.0,
        soc_max=1.0,
        year_fraction=1.0,
    )
    assert r2.kwp == pytest.approx(0.0, abs=1e-7) and r2.annual_cost == pytest.approx(
        0.3
    )


def test_sizing_respects_bounds_and_annualizes():
    r = size_system(
        [1.0, 0.0],
        [1.0, 1.0],
        1.0,
        0.3,
        0.0,
        SizingCosts(0.1 * 8760 / 2, 1e6, max_kwp=0.5, max_kwh=None),
    )
    # year_fraction = 2 h / 8760 h: pro-rata capex is 0.1 per kWp for these 2 h
    assert r.kwp == pytest.approx(0.5)
    assert r.annual_cost == pytest.approx((0.05 + 0.3 * 1.5) * 8760 / 2, rel=1e-7)


def test_dispatch_lp_shifts_pv_to_the_peak():
    # 2 periods: surplus 2 kW at shoulder price then 2 kW load at peak price;
    # export pays little, so the first move is to charge the surplus
    b = BatteryParameters(10, 5, 1.0, 1.0, 0.0, 1.0)
    status, u = dispatch_lp(
        0.0, [2.0, 0.0], [0.0, 2.0], [0.2, 0.4], 1.0, b, Tariff(export=0.04)
    )
    assert status == "optimal"
    np.testing.assert_allclose(u, [2.0, 0.0], atol=1e-6)


def test_closed_loop_perfect_vs_blind():
    idx = pd.date_range("2021-06-01", periods=48, freq="h", tz="UTC-05:00")
    h = idx.hour
    pv = pd.Series(np.clip(3.0 * np.sin(np.pi * (h - 6) / 12), 0, None), index=idx)
    load = load_profile("residential", idx)
    plant = PVBatteryPlant(battery=BatteryParameters(6, 3, 0.95, 0.95, 0.1, 0.9))
    tariff = Tariff()
    H = 12
    pv_pad = np.r_[pv.to_numpy(), np.zeros(H)]
    perfect = run_dispatch(plant, pv, load, lambda k: pv_pad[k : k + H], H, tariff)
    blind = run_dispatch(plant, pv, load, lambda k: np.zeros(H), H, tariff)
    assert perfect.failed_solves == 0 and blind.failed_solves == 0
    # knowing the sun can only help (same plant, same prices)
    assert perfect.cost <= blind.cost + 1e-9
    # energy balance of the realised trace: import - export = load - pv + ch - dis
    tr = perfect.trace
    n = len(tr)
    lhs = tr["grid_import"] - tr["grid_export"] - tr["curtailed"] * 0
    rhs = load.iloc[:n].to_numpy() - pv.iloc[:n].to_numpy() + tr["P_ch"] - tr["P_dis"]
    np.testing.assert_allclose(lhs.to_numpy(), rhs.to_numpy(), atol=1e-9)


def test_load_profile_and_tariff():
    idx = pd.date_range("2021-01-01", periods=24, freq="h", tz="UTC")
    lp = load_profile("residential", idx)
    # 0.4 base over 24 h + 0.6 over 2 h + 1.2 over 5 h -> mean 0.7 kW
    assert lp.mean() == pytest.approx((0.4 * 24 + 0.6 * 2 + 1.2 * 5) / 24)
    assert load_profile("flat:2.5", idx).eq(2.5).all()
    price = Tariff().import_price(idx)
    assert price[3] == 0.12 and price[10] == 0.20 and price[18] == 0.40


def test_nlp_path_detects_missing_ipopt():
    import shutil

    # Pyomo finds ipopt only as an executable; there is none on these machines
    assert ipopt_available() == (shutil.which("ipopt") is not None)


def test_run_plan_on_a_week(tmp_path):
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import run_plan

    week = load_solar("tmy3-greensboro").slice("1990-06-01", "1990-06-07 23:00")
    with pytest.raises(DataError, match="at least 28 days"):
        run_plan(week, load="residential")
    res = run_plan(week, load="residential", out=tmp_path, min_days=7)
    assert res["status"] == "optimal"
    assert any("not a year" in w for w in res["warnings"])
    assert res["coverage"]["missing_steps"] == 0
    assert 0.0 <= res["kwp"] <= 20.0 and 0.0 <= res["kwh"] <= 40.0
    # building nothing is feasible, so the optimum cannot cost more than the grid
    assert res["annual_cost"] <= res["baseline_cost"] + 1e-6
    assert (tmp_path / "plan.json").is_file()
    # a script finds every file written from the JSON (the schedule was unnamed)
    files = json.loads((tmp_path / "plan.json").read_text())["files"]
    assert files == res["files"]
    schedule = pd.read_csv(files["schedule"], index_col=0)
    assert len(schedule) == 7 * 24  # one row per hour of the week


def test_run_operate_small(tmp_path):
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import run_operate

    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-25")
    res = run_operate(
        d,
        horizon=4,
        lags=4,
        days=1,
        dispatch_hours=6,
        epochs=1,
        hidden=4,
        long_params={"epochs": 1, "hidden": 4},
        oracle_hours=(2,),
        scenarios=3,
        covariates=("temp_air",),
        out=tmp_path,
    )
    assert res["periods"] == 24
    # both forecasters read the measured covariate, and the same past window (the
    # day-ahead one had the default 6 h whatever lags the user gave)
    for role in ("short", "day_ahead"):
        assert list(res["forecasters"][role]["covariates"]) == ["temp_air"]
        assert res["forecasters"][role]["lags"] == 4
    assert set(res["costs"]) == {
        "perfect",
        "oracle_h",
        "persistence",
        "forecast_short",
        "persistence_climatology",
        "forecast",
        "oracle_2h",
        "forecast_scenarios",
    }
    assert res["long_forecast_horizon_steps"] == 6  # the whole 6-h dispatch horizon
    assert all(s["failed_solves"] == 0 for s in res["strategies"].values())
    # gap fractions follow their definition from the costs
    c = res["costs"]
    gap = c["persistence"] - c["perfect"]
    for k, v in res["gap_closed_by"].items():
        assert v == pytest.approx((c["persistence"] - c[k]) / gap)
    assert res["gap_closed"] == res["gap_closed_by"]["forecast"]
    # the daily costs add up to each strategy's total cost
    daily = res["daily_costs"]
    for k, total in c.items():
        assert sum(day[k] for day in daily.values()) == pytest.approx(total, abs=1e-9)
    # imports by price band add up to the total import of each strategy
    for k, bands in res["import_kwh_by_price"].items():
        total = res["strategies"][k]["import_kwh"]
        assert sum(bands.values()) == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert (tmp_path / "dispatch.png").is_file()
    assert (tmp_path / "gap.png").is_file()
    # the JSON names every file written (only operate.json was named) and says
    # what the reader repaired and QC flagged (only a count was there)
    files = json.loads((tmp_path / "operate.json").read_text())["files"]
    assert files == res["files"]
    assert set(files["dispatch_csv"]) == set(c)
    trace = pd.read_csv(files["dispatch_csv"]["perfect"], index_col="time")
    assert len(trace) == res["periods"]
    assert files["plot_gap"] == str(tmp_path / "gap.png")
    assert res["qc"]["flagged_total"] == res["qc_flagged"]
    assert res["reader_report"]["missing_steps"] == d.report["missing_steps"]


def test_run_operate_trains_no_unused_day_ahead_forecaster():
    """A short forecaster whose horizon covers the whole LP leaves nothing for the
    day-ahead forecaster: none is trained (examples/solar_plan.py trained one for
    nothing with horizon=24), and the operator's forecast is the short one."""
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import run_operate

    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-25")
    res = run_operate(
        d,
        horizon=6,
        lags=4,
        days=1,
        dispatch_hours=6,
        epochs=1,
        hidden=4,
        scenarios=2,
    )
    assert res["forecast_horizon_steps"] == res["dispatch_horizon_steps"] == 6
    assert res["forecasters"]["day_ahead"] is None
    assert res["long_forecast_horizon_steps"] is None
    c = res["costs"]
    # the same forecast over all 6 leads drives the same LP
    assert c["forecast"] == pytest.approx(c["forecast_short"], rel=1e-12)
    # smart persistence over all 6 leads: no climatology tail
    assert c["persistence_climatology"] == pytest.approx(c["persistence"], rel=1e-12)
    assert "forecast_scenarios" in c


def test_run_operate_with_a_given_forecaster_trains_nothing(monkeypatch):
    """A fitted forecaster passed as ``model`` whose leads cover the LP: nothing
    is trained (fit fails the test once the forecaster is built), the summary
    and the progress lines say it was given, and its costs are those of the run
    that trained the same forecaster."""
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.forecast import IrradianceForecaster, chronological_cut
    from iclcontrol.solar.workflows import run_operate

    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-25")
    params = {"horizon": 6, "lags": 4, "epochs": 1, "hidden": 4}
    trained = run_operate(d, days=1, dispatch_hours=6, qc=False, **params)
    model = IrradianceForecaster(**params).fit(d, end=chronological_cut(d))

    def refuse(self, *args, **kwargs):
        raise AssertionError("IrradianceForecaster.fit was called")

    monkeypatch.setattr(IrradianceForecaster, "fit", refuse)
    lines: list[str] = []
    res = run_operate(
        d, model=model, days=1, dispatch_hours=6, qc=False, progress=lines.append
    )
    assert res["forecaster_sources"]["short"]["origin"] == "given"
    assert res["forecaster_sources"]["day_ahead"] is None
    assert lines == [
        "short forecaster: given as an object (not trained)",
        "day-ahead forecaster: none (the short one's 6 leads cover the dispatch "
        "horizon)",
    ]
    assert res["costs"] == trained["costs"]


def test_newsvendor_quantile_by_hand():
    from iclcontrol.solar.planning import Tariff
    from iclcontrol.solar.workflows import newsvendor_quantile
    from plants.pv import BatteryParameters

    # defaults: c_under = 0.12 / 0.95^2 - 0.04, c_over = 0.40 - 0.04
    c_under = 0.12 / 0.9025 - 0.04
    assert newsvendor_quantile() == pytest.approx(c_under / (c_under + 0.36))
    # a tariff whose peak equals the export price makes a missing kWh free: plan
    # on the highest quantile
    t = Tariff(offpeak=0.10, shoulder=0.10, peak=0.05, export=0.05)
    b = BatteryParameters(eta_charge=1.0, eta_discharge=1.0)
    assert newsvendor_quantile(t, b) == pytest.approx(1.0)


# -- user-test findings: tariff/load clock, load files, coverage ---------------------
@pytest.fixture(scope="module")
def tmy3_35_days():
    """35 days of Greensboro TMY3 (period-ending labels 01:00 .. 00:00)."""
    from iclcontrol.solar.data import load_solar

    return load_solar("tmy3-greensboro").slice("1990-01-01 01:00", "1990-02-05 00:00")


def _as_period_beginning(d):
    """The same periods labelled by their start, as pvlib's EPW reader does."""
    import dataclasses

    from iclcontrol.solar.data import SolarData

    frame = d.frame.copy()
    frame.index = frame.index - pd.Timedelta("1h")
    frame.index.freq = "h"
    site = dataclasses.replace(d.site, label="beginning")
    return SolarData(frame, d.target, site, dict(d.card), dict(d.report))


def test_tariff_and_load_at_the_period_start():
    idx = pd.date_range("2020-01-01 01:00", periods=24, freq="h", tz="UTC-05:00")
    t = Tariff()
    # label 16:00 ending = the period 15:00-16:00: shoulder; 17:00 ending = 16-17 h:
    # peak (16-21 h); an instant label 16:00 is in the peak
    assert t.import_price(idx, "ending")[15] == t.shoulder
    assert t.import_price(idx, "ending")[16] == t.peak
    assert t.import_price(idx, "instant")[15] == t.peak
    np.testing.assert_array_equal(
        t.import_price(idx, "ending"), t.import_price(idx - pd.Timedelta("1h"))
    )
    lp = load_profile("residential", idx, "ending")
    assert lp.index.equals(idx)
    # label 08:00 ending covers 07-08 h: morning load 0.4 + 0.6
    assert lp.loc["2020-01-01 08:00"] == pytest.approx(1.0)
    assert lp.loc["2020-01-01 07:00"] == pytest.approx(0.4)


def test_plan_same_for_period_ending_and_beginning_labels(tmp_path, tmy3_35_days):
    """TMY3 (ending) and the same hours labelled as EPW (beginning) plan alike."""
    from iclcontrol.solar.workflows import run_plan

    a = run_plan(tmy3_35_days, qc=False)
    b = run_plan(_as_period_beginning(tmy3_35_days), qc=False)
    assert a["pv_yield_kwh_per_kwp"] == pytest.approx(b["pv_yield_kwh_per_kwp"])
    for key in ("kwp", "kwh", "annual_cost", "baseline_cost", "annual_load_kwh"):
        assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-6), key


def test_plan_refuses_utc_data_far_from_greenwich(tmy3_35_days):
    import dataclasses

    from iclcontrol.solar.data import SolarData
    from iclcontrol.solar.workflows import run_operate, run_plan

    frame = tmy3_35_days.frame.tz_convert("UTC")
    site = dataclasses.replace(tmy3_35_days.site, tz="UTC")
    utc = SolarData(frame, "ghi", site, {}, {})
    with pytest.raises(ConfigError, match=r"--tz.*Etc/GMT\+5"):
        run_plan(utc, qc=False)
    with pytest.raises(ConfigError, match="--tz"):
        run_operate(utc, qc=False, epochs=1)


def test_year_long_load_file_is_used_by_date(tmp_path):
    """8760 dated hourly values drive the weather year hour by hour."""
    idx = pd.date_range("1990-01-01 01:00", periods=8760, freq="h", tz="UTC-05:00")
    times = pd.date_range("1990-01-01", periods=8760, freq="h")
    kw = np.where(times.month.isin([1, 2, 12]), 3.0, 0.5)
    path = tmp_path / "year.csv"
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": kw}).to_csv(
        path, index=False
    )
    from iclcontrol.solar.planning import load_with_report

    load, rep = load_with_report(str(path), idx, "ending")
    assert rep["method"] == "dated"
    assert rep["step_minutes"] == 60.0  # hourly rows
    # label 1990-01-01 01:00 ending is the period starting 00:00: the first value;
    # the last label (1991-01-01 00:00) wraps round to Dec 31 23:00
    np.testing.assert_allclose(load.to_numpy(), kw)
    assert load.sum() == pytest.approx(kw.sum())
    # one day only: averaged by time of day, and said so
    day = tmp_path / "day.csv"
    pd.DataFrame(
        {"time": times[:24].strftime("%Y-%m-%d %H:%M"), "load_kw": np.arange(24.0)}
    ).to_csv(day, index=False)
    load, rep = load_with_report(str(day), idx[:48], "ending")
    # Jan 1 by date, Jan 2 from the file's January typical day (the same day)
    assert rep["method"] == "dated_and_filled" and rep["filled_periods"] == 24
    np.testing.assert_allclose(load.to_numpy(), np.tile(np.arange(24.0), 2))
    # a day of another month: no period dated, averaged into a typical day
    june = tmp_path / "june.csv"
    pd.DataFrame(
        {
            "time": (times[:24] + pd.Timedelta(days=151)).strftime("%Y-%m-%d %H:%M"),
            "load_kw": np.arange(24.0),
        }
    ).to_csv(june, index=False)
    load, rep = load_with_report(str(june), idx[:48], "ending")
    assert rep["method"] == "time_of_day_average" and "averaged" in rep["note"]
    np.testing.assert_allclose(load.to_numpy()[:24], np.arange(24.0))


def test_load_file_with_daylight_saving_offsets(tmp_path):
    """A meter export in ISO 8601 with offsets that change at daylight saving
    (-05:00, then -04:00) is one instant per row, not an error: each value lands
    on the weather clock's (UTC-05:00) period of the same instant."""
    from iclcontrol.solar.planning import load_with_report

    utc = pd.date_range("2021-03-13 05:00", periods=72, freq="h", tz="UTC")
    local = utc.tz_convert("America/New_York")  # DST starts 2021-03-14 07:00 UTC
    # the load value is the row's UTC hour: an independent check of the instant
    path = tmp_path / "meter.csv"
    pd.DataFrame(
        {"time": local.strftime("%Y-%m-%dT%H:%M%z"), "load_kw": utc.hour.astype(float)}
    ).to_csv(path, index=False)
    assert {"-0500", "-0400"} <= set(local.strftime("%z"))
    idx = pd.date_range("1990-03-13 00:00", periods=72, freq="h", tz="UTC-05:00")
    load, rep = load_with_report(str(path), idx, "beginning")
    assert rep["method"] == "dated"
    np.testing.assert_allclose(load.to_numpy(), (idx + pd.Timedelta("5h")).hour)


def test_a_year_of_load_with_holes_keeps_its_seasons(tmp_path):
    """A load year missing one row (the daylight-saving hour) driving a leap weather
    year (Feb 29 absent from the load) keeps its months: the holes take the same
    month's load, not a year-round typical day."""
    from iclcontrol.solar.planning import load_with_report

    times = pd.date_range("2021-01-01", "2021-12-31 23:00", freq="h")
    monthly = {1: 3.0, 2: 2.5, 3: 2.0}  # heating months; 0.5 kW the rest
    kw = np.array([monthly.get(m, 0.5) for m in times.month])
    keep = times != pd.Timestamp("2021-03-14 02:00")  # skipped by the wall clock
    path = tmp_path / "year.csv"
    pd.DataFrame(
        {"time": times[keep].strftime("%Y-%m-%d %H:%M"), "load_kw": kw[keep]}
    ).to_csv(path, index=False)
    idx = pd.date_range("2020-01-01", "2020-03-31 23:00", freq="h", tz="UTC-05:00")
    load, rep = load_with_report(str(path), idx, "beginning")
    assert rep["method"] == "dated_and_filled"
    assert rep["filled_periods"] == 24 + 1  # Feb 29 and 2020-03-14 02:00
    np.testing.assert_allclose(load.to_numpy(), [monthly[m] for m in idx.month])


def test_period_ending_load_times(tmp_path):
    """A meter that stamps the end of each interval: with load_label="end" the
    1-kW hour stamped 18:00 is the 17:00-18:00 period (shoulder price, not the
    peak from 18 h), also when a finer kWh file is averaged to hours."""
    from iclcontrol.solar.planning import Tariff, load_with_report

    times = pd.date_range("2023-01-01 01:00", periods=48, freq="h")  # ends
    kw = np.where(times == pd.Timestamp("2023-01-01 18:00"), 1.0, 0.0)
    path = tmp_path / "hourly.csv"
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": kw}).to_csv(
        path, index=False
    )
    idx = pd.date_range("2023-01-01", periods=48, freq="h", tz="UTC-05:00")
    price = Tariff(peak_hours=(18, 21)).import_price(idx, "beginning")
    start, rep = load_with_report(str(path), idx, "beginning")
    end, rep_end = load_with_report(str(path), idx, "beginning", load_label="end")
    assert start.idxmax().hour == 18 and end.idxmax().hour == 17
    assert rep["load_label"] == "start" and rep_end["load_label"] == "end"
    assert rep_end["method"] == "dated"  # 01:00 ... +1 d 00:00 end = the 48 starts
    # cost of the day by hand: 1 kWh at the peak 0.40 $/kWh, or at the shoulder 0.20
    assert float((start * price).sum()) == pytest.approx(0.40)
    assert float((end * price).sum()) == pytest.approx(0.20)
    # 15-min kWh, the 1-kWh row stamped 18:00 is 17:45-18:00: moved before the
    # hourly averaging, it is 1 kWh in the 17:00 hour (4 kW for 15 min, mean 1 kW)
    quarter = pd.date_range("2023-01-01 00:15", periods=192, freq="15min")
    kwh = np.where(quarter == pd.Timestamp("2023-01-01 18:00"), 1.0, 0.0)
    fine = tmp_path / "quarter.csv"
    pd.DataFrame({"time": quarter.strftime("%Y-%m-%d %H:%M"), "load_kwh": kwh}).to_csv(
        fine, index=False
    )
    end = load_profile(str(fine), idx, "beginning", load_label="end")
    expected = np.zeros(48)
    expected[17] = 1.0
    np.testing.assert_allclose(end.to_numpy(), expected)
    with pytest.raises(ConfigError, match=r"load_label must be 'start' or 'end'"):
        load_profile(str(fine), idx, "beginning", load_label="ending")


def test_a_load_of_another_year_is_matched_by_date_not_weekday(tmp_path):
    """A 2021 load on the 1990 weather keeps its dates (Jan 1 on Jan 1, although
    2021-01-01 is a Friday and 1990-01-01 a Monday), and the note says so; a load
    of the weather's own year has no such note."""
    from iclcontrol.solar.planning import load_with_report

    idx = pd.date_range("1990-01-01", periods=48, freq="h", tz="UTC-05:00")
    path = tmp_path / "load.csv"
    for year, note in ((2021, True), (1990, False)):
        times = pd.date_range(f"{year}-01-01", periods=48, freq="h")
        kw = (times.day == 1) * 1.0  # 1 kW on Jan 1, 0 on Jan 2
        pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": kw}).to_csv(
            path, index=False
        )
        load, rep = load_with_report(str(path), idx, "beginning")
        assert rep["method"] == "dated"
        np.testing.assert_allclose(load.to_numpy(), kw)
        if note:
            assert "dates (2021) are matched to the weather's (1990)" in rep["note"]
            assert "not by weekday" in rep["note"]
        else:
            assert "note" not in rep


def test_blank_load_values_are_filled_like_missing_rows(tmp_path):
    """Blank cells (empty, NaN) are missing periods, as missing rows are: filled
    from the same month's time-of-day mean, counted and warned about; more than
    10 % of the rows blank is refused."""
    from iclcontrol.solar.planning import load_with_report

    # two January days, load = 10 * day + hour; the first day's 05:00 is blank
    times = pd.date_range("2023-01-01", periods=48, freq="h")
    kw = (10 * (times.day - 1) + times.hour).astype(float).to_numpy()
    text = [f"{v:g}" for v in kw]
    text[5] = ""  # line 7
    path = tmp_path / "load.csv"
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": text}).to_csv(
        path, index=False
    )
    idx = pd.date_range("2023-01-01", periods=48, freq="h", tz="UTC-05:00")
    load, rep = load_with_report(str(path), idx, "beginning")
    assert rep["method"] == "dated_and_filled"
    assert rep["blank_values"] == 1 and rep["filled_periods"] == 1
    # the January 05:00 mean over the file's days: only day 2's value, 15 kW
    expected = kw.copy()
    expected[5] = 15.0
    np.testing.assert_allclose(load.to_numpy(), expected)
    (warning,) = rep["warnings"]
    # 1 of 48 rows = 2.1 %; 1 h of 8760 h = 0.01 %
    assert "1 blank load_kw value(s) (line(s) 7; 2.1% of its rows, 0.01% of a year" in (
        warning
    )
    # a finer file: a blank quarter hour leaves its hour the mean of the other
    # three; quarters 0, 1, 2, 3 kW in every hour, 00:45 on day 1 blank: 1 kW
    quarter = pd.date_range("2023-01-01", periods=192, freq="15min")
    text = [f"{v:g}" for v in quarter.minute / 15]
    text[3] = ""
    pd.DataFrame({"time": quarter.strftime("%Y-%m-%d %H:%M"), "load_kw": text}).to_csv(
        path, index=False
    )
    load, rep = load_with_report(str(path), idx, "beginning")
    assert rep["method"] == "dated" and rep["blank_values"] == 1
    expected = np.full(48, 1.5)  # (0 + 1 + 2 + 3) / 4
    expected[0] = 1.0  # (0 + 1 + 2) / 3
    np.testing.assert_allclose(load.to_numpy(), expected)
    # "NaN" is blank too; 5 of 48 rows (10.4 %) is over the 10 % limit
    text = [f"{v:g}" for v in kw]
    for k in range(5):
        text[k] = "NaN"
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": text}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"on 5 of 48 row\(s\) \(10%\).*up to 10%"):
        load_with_report(str(path), idx, "beginning")


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        ([], DataError, "no rows"),
        ([("2023-01-01 00:00", "1,5")] * 24, DataError, r"not numeric.*'1,5'"),
        (
            [("2023-01-01 00:00", "")] * 24,
            DataError,
            r"missing \(NaN\) on 24 of 24.*line\(s\) 2, .*fill in the values",
        ),
        ([("garbage", "1.0")] * 24, DataError, "not an ISO 8601"),
        (
            [("2023-01-01 00:00", "-1")] * 24,
            DataError,
            "negative on 24 row.*net load.*give the gross consumption",
        ),
        (
            [(f"2023-01-01 0{h}:00", "1") for h in range(3)],
            DataError,
            "less than a day",
        ),
    ],
)
def test_load_file_errors_name_the_file(tmp_path, rows, error, match):
    from iclcontrol.solar.planning import load_with_report

    if rows and rows[0][0].startswith("2023") and len(rows) == 24:
        rows = [(f"2023-01-01 {h:02d}:00", v) for h, (_, v) in enumerate(rows)]
    path = tmp_path / "load.csv"
    pd.DataFrame(rows, columns=["time", "load_kw"]).to_csv(path, index=False)
    idx = pd.date_range("2023-01-01", periods=48, freq="h", tz="UTC")
    with pytest.raises(error, match=match):
        load_with_report(str(path), idx)


@pytest.mark.parametrize("spec", ["flat:abc", "residential:abc", "flat:-2"])
def test_load_spec_errors(spec):
    idx = pd.date_range("2023-01-01", periods=24, freq="h", tz="UTC")
    with pytest.raises(ConfigError, match=spec.split(":")[0]):
        load_profile(spec, idx)


def test_plan_reports_bounds_and_watts_and_gaps(tmy3_35_days):
    from iclcontrol.solar.data import SolarData
    from iclcontrol.solar.workflows import run_plan

    big = run_plan(tmy3_35_days, load="flat:800", qc=False)
    assert big["at_bound"] == {"kwp": True, "kwh": big["kwh"] >= 40 - 1e-6}
    assert any("in W" in w for w in big["warnings"])
    assert any("bound max_kwp" in w for w in big["warnings"])
    small = run_plan(tmy3_35_days, qc=False)
    assert small["at_bound"] == {"kwp": False, "kwh": False}
    # 10 days blanked out: the yield comes from the covered days only
    frame = tmy3_35_days.frame.copy()
    gap = (frame.index >= "1990-01-10 01:00") & (frame.index < "1990-01-20 01:00")
    frame.loc[gap, ["ghi", "dni", "dhi"]] = np.nan
    holed = SolarData(frame, "ghi", tmy3_35_days.site, {}, {})
    res = run_plan(holed, qc=False, min_days=20)
    assert res["coverage"]["missing_steps"] == 240
    assert res["coverage"]["covered_days"] == pytest.approx(25.0)
    assert any("not zero PV" in n for n in res["notes"])
    # independent: mean plant output over the covered hours x 8760 h
    from plants.pv import PVArrayParameters, PVBatteryPlant

    plant = PVBatteryPlant(
        36.1, -79.95, 273.0, array=PVArrayParameters(kwp=1.0, surface_tilt=36.0)
    )
    pv = plant.pv_ac_kw(
        tmy3_35_days.frame[["ghi", "dni", "dhi", "temp_air", "wind_speed"]], "ending"
    )
    assert res["pv_yield_kwh_per_kwp"] == pytest.approx(pv[~gap].mean() * 8760.0)
    assert res["pv_yield_kwh_per_kwp"] > 0.8 * small["pv_yield_kwh_per_kwp"]
    with pytest.raises(DataError, match="days of valid data"):
        run_plan(holed, qc=False)


def test_plan_with_ghi_only_decomposes_with_erbs(tmy3_35_days):
    from iclcontrol.solar.data import SolarData
    from iclcontrol.solar.workflows import run_plan

    frame = tmy3_35_days.frame[["ghi", "temp_air"]]
    res = run_plan(SolarData(frame, "ghi", tmy3_35_days.site, {}, {}), qc=False)
    assert any("erbs" in n for n in res["notes"])
    full = run_plan(tmy3_35_days, qc=False)
    # Erbs is a model: the yield is close to, not equal to, the measured split
    assert res["pv_yield_kwh_per_kwp"] == pytest.approx(
        full["pv_yield_kwh_per_kwp"], rel=0.15
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dt_h": -1.0}, ConfigError, "dt_h must be a positive"),
        ({"eta_discharge": 0.0}, ConfigError, "eta_discharge must be in"),
        ({"soc_min": 0.9, "soc_max": 0.1}, ConfigError, "soc_min <= soc_max"),
        ({"import_price": np.ones(5)}, DimensionError, r"import_price.*\(5,\)"),
    ],
)
def test_sizing_refuses_an_invalid_battery_or_price(kwargs, error, match):
    """These were a ZeroDivisionError, a raw broadcast error, a misleading
    'year_fraction' message, and an 'optimal' plan with soc_min > soc_max."""
    args = {
        "pv_per_kwp": np.full(24, 0.2),
        "load_kw": np.ones(24),
        "dt_h": 1.0,
        "import_price": 0.3,
        "export_price": 0.04,
    }
    with pytest.raises(error, match=match):
        size_system(**{**args, **kwargs})


def test_dispatch_lp_checks_lengths_and_the_initial_energy():
    b = BatteryParameters(10, 5)  # E in [1, 9] kWh
    pv, load, price = np.zeros(4), np.ones(4), np.full(4, 0.2)
    with pytest.raises(DimensionError, match=r"load_kw.*\(4,\).*\(3,\)"):
        dispatch_lp(5.0, pv, load[:3], price, 1.0, b)
    with pytest.raises(DataError, match="e0=20 kWh is outside"):
        dispatch_lp(20.0, pv, load, price, 1.0, b)
    with pytest.raises(DataError, match="pv_kw has NaN"):
        dispatch_lp(5.0, [0.0, np.nan, 0.0, 0.0], load, price, 1.0, b)
    # a single price applies to every period: a flat price gives no reason to
    # cycle the battery (every cycle loses energy)
    status, u = dispatch_lp(5.0, pv, load, 0.2, 1.0, b)
    assert status == "optimal"
    np.testing.assert_allclose(u, [0.0, 0.0], atol=1e-9)


def test_run_dispatch_checks_the_series_against_the_plant():
    idx = pd.date_range("2021-06-01", periods=24, freq="h", tz="UTC-05:00")
    pv = pd.Series(np.clip(3.0 * np.sin(np.pi * (idx.hour - 6) / 12), 0, None), idx)
    load = pd.Series(1.0, index=idx)
    H = 4

    def perfect(k: int) -> np.ndarray:
        return np.r_[pv.to_numpy(), np.zeros(H)][k : k + H]

    # a quarter-hour plant on hourly data would price every period at a quarter
    # of its energy: the step is checked
    with pytest.raises(ConfigError, match=r"dt_h is 0.25 h but the series' step"):
        run_dispatch(PVBatteryPlant(dt_h=0.25), pv, load, perfect, H)
    with pytest.raises(DimensionError, match=r"load_kw has shape \(12,\).*24 periods"):
        run_dispatch(PVBatteryPlant(), pv, load.iloc[:12], perfect, H)
    with pytest.raises(ConfigError, match="horizon_steps must be a positive integer"):
        run_dispatch(PVBatteryPlant(), pv, load, perfect, 0)
    with pytest.raises(DataError, match="Series on a DatetimeIndex"):
        run_dispatch(PVBatteryPlant(), pv.to_numpy(), load, perfect, H)


def test_plan_uses_a_poa_tables_air_temperature_and_notes_a_missing_one():
    """A plane-of-array table's temp_air was dropped (PV at 20 degC air), and a
    table without temp_air was sized at 20 degC without a word."""
    from iclcontrol.solar.data import Site, SolarData, load_solar
    from iclcontrol.solar.workflows import _plant_for, _weather_for_plant, run_plan

    week = load_solar("tmy3-greensboro").slice("1990-06-01", "1990-06-07 23:00")
    site = Site(
        "poa",
        36.1,
        -79.95,
        tz="UTC-05:00",
        surface_tilt=30.0,
        surface_azimuth=180.0,
        label="ending",
    )
    frame = pd.DataFrame({"poa_global": week.y, "temp_air": 45.0})
    poa = SolarData(frame.asfreq("h"), "poa_global", site)
    weather, _ = _weather_for_plant(poa)
    assert (weather["temp_air"] == 45.0).all()
    # hotter cells give less power than at the 20 degC default (pvlib's models)
    plant = _plant_for(poa, kwp=1.0)
    hot = plant.pv_ac_kw(weather, label="ending").sum()
    mild = plant.pv_ac_kw(weather.drop(columns="temp_air"), label="ending").sum()
    assert hot < mild
    bare = SolarData(week.frame[["ghi"]].copy(), "ghi", week.site)
    res = run_plan(bare, qc=False, min_days=7)
    assert any("no temp_air or wind_speed column" in n for n in res["notes"])
    res = run_plan(week, qc=False, min_days=7)  # TMY3 has both
    assert not any("temp_air" in n for n in res["notes"])


def test_plan_fills_missing_air_temperature_sensibly_and_says_so():
    """Missing temp_air under measured irradiance became 0 degC (weather.fillna(0)):
    colder cells, more PV. Short gaps are now interpolated and long ones take the
    20 degC the PV chain uses without the column, with the counts reported."""
    from iclcontrol.solar.data import SolarData, load_solar
    from iclcontrol.solar.workflows import fill_weather, run_plan
    from plants.pv import PVArrayParameters, PVBatteryPlant

    june = load_solar("tmy3-greensboro").slice("1990-06-01 01:00", "1990-07-06 00:00")
    plant = PVBatteryPlant(
        36.1, -79.95, 273.0, array=PVArrayParameters(kwp=1.0, surface_tilt=36.0)
    )
    frame = june.frame.copy()
    # the yield with every temperature: mean plant output x 8760 h
    full_yield = float(plant.pv_ac_kw(frame, "ending").mean() * 8760.0)
    hours = frame.index.hour
    # every other daytime hour loses its temperature: 1-step gaps
    short = (hours >= 9) & (hours <= 15) & (hours % 2 == 1)
    frame.loc[short, "temp_air"] = np.nan
    res = run_plan(SolarData(frame, "ghi", june.site, {}, {}), qc=False)
    n_short = int(short.sum())
    assert res["weather_fill"] == {
        "temp_air": {"interpolated": n_short, "default": 0, "out_of_range": 0}
    }
    assert any(f"{n_short} missing values interpolated" in n for n in res["notes"])
    assert res["coverage"]["sizing_step_minutes"] == 60.0  # hourly TMY3
    # TMY temperatures change by a degree or two an hour: interpolating one hour
    # changes the yield by far less than 0.5 %; 0 degC air (about 28 K colder in
    # Greensboro's June days, -0.4 %/K on half the daytime hours) raised it by
    # several per cent
    assert res["pv_yield_kwh_per_kwp"] == pytest.approx(full_yield, rel=0.005)
    # a 2-day gap is longer than 3 h: 20 degC, counted apart
    w = frame[["ghi", "dni", "dhi", "temp_air"]].copy()
    w.loc["1990-06-20":"1990-06-21", "temp_air"] = np.nan
    filled, counts = fill_weather(w)
    assert counts["temp_air"] == {
        "interpolated": n_short - 8,
        "default": 48,
        "out_of_range": 0,
    }
    assert (filled.loc["1990-06-20":"1990-06-21", "temp_air"] == 20.0).all()
    assert not filled.isna().any().any()
    # interpolation is linear in time between the neighbours (hand value)
    t = pd.Timestamp("1990-06-05 09:00", tz=frame.index.tz)
    h = pd.Timedelta("1h")
    before, after = frame.at[t - h, "temp_air"], frame.at[t + h, "temp_air"]
    assert filled.at[t, "temp_air"] == pytest.approx((before + after) / 2)
    # a missing-value code (-999 degC: absurdly cold cells, absurd PV) is a gap
    w.loc[t, "temp_air"] = -999.0
    filled, counts = fill_weather(w)
    assert counts["temp_air"]["out_of_range"] == 1
    assert filled.at[t, "temp_air"] == pytest.approx((before + after) / 2)


def test_run_operate_lists_the_loads_warnings():
    """A load in W (flat:800, 800 kW for a house) was warned about by plan but
    dispatched silently by operate."""
    from iclcontrol.solar.data import load_solar
    from iclcontrol.solar.workflows import run_operate

    d = load_solar("tmy3-greensboro").slice("1990-05-01", "1990-05-12")
    res = run_operate(
        d,
        load="flat:800",
        horizon=2,
        lags=4,
        days=0.5,
        dispatch_hours=3,
        epochs=1,
        hidden=4,
        full_horizon=False,
        qc=False,
    )
    assert any("in W" in w for w in res["warnings"])


@pytest.mark.parametrize("scenarios", [1, 3])
def test_step_data_written_into_highs_is_the_lp_pyomo_builds(scenarios):
    """Each dispatch step's data goes straight into HiGHS (Pyomo's per-row
    parameter updates took most of a step): after the same steps the HiGHS model
    holds exactly the bounds and costs Pyomo writes, with the same first move."""
    from iclcontrol.solar.planning import _DispatchLP

    battery = BatteryParameters(6, 3, 0.95, 0.95, 0.1, 0.9)
    rng = np.random.default_rng(3)
    n = 8
    lps = {}
    for direct in (False, True):
        lp = _DispatchLP(n, 0.25, battery, 0.04, 2.5, scenarios=scenarios)
        lp.direct_updates = direct
        lps[direct] = lp
    for _ in range(4):
        e0 = rng.uniform(0.6, 5.4)
        pv = rng.uniform(-0.5, 4.0, (scenarios, n))  # negative PV is clipped to 0
        load = rng.uniform(0.2, 2.0, n)
        price = rng.choice([0.1, 0.2, 0.4], n)
        moves = {d: lp.solve(e0, pv, load, price) for d, lp in lps.items()}
        assert moves[True][0] == moves[False][0] == "optimal"
        np.testing.assert_array_equal(moves[True][1], moves[False][1])
        models = {d: lp.solver._solver_model.getLp() for d, lp in lps.items()}
        for field in ("row_lower_", "row_upper_", "col_cost_"):
            np.testing.assert_array_equal(
                np.asarray(getattr(models[True], field)),
                np.asarray(getattr(models[False], field)),
            )
    assert lps[True]._direct is not None and lps[False]._direct is None


def test_closed_loop_dispatch_is_the_same_with_direct_step_updates(monkeypatch):
    """run_dispatch writes the steps after the first straight into HiGHS; its
    trace equals the one of the Pyomo parameter path exactly (2 scenarios)."""
    from iclcontrol.solar import planning

    idx = pd.date_range("2021-06-01", periods=36, freq="h", tz="UTC-05:00")
    pv = pd.Series(np.clip(3.0 * np.sin(np.pi * (idx.hour - 6) / 12), 0, None), idx)
    load = load_profile("residential", idx)
    H = 12
    pad = np.r_[pv.to_numpy(), np.zeros(H)]
    scale = np.random.default_rng(0).uniform(0.5, 1.2, (len(idx), 2, H))
    writes = []
    write = planning._HighsStepData.write

    def counted(self, *args):
        writes.append(1)
        return write(self, *args)

    monkeypatch.setattr(planning._HighsStepData, "write", counted)
    traces = {}
    for direct in (False, True):
        monkeypatch.setattr(planning._DispatchLP, "direct_updates", direct)
        plant = PVBatteryPlant(battery=BatteryParameters(6, 3, 0.95, 0.95, 0.1, 0.9))
        res = run_dispatch(plant, pv, load, lambda k: pad[k : k + H] * scale[k], H)
        traces[direct] = res.trace
        assert res.failed_solves == 0
    n_steps = len(idx) - H + 1
    assert len(writes) == n_steps - 1  # every step after the first, direct only
    pd.testing.assert_frame_equal(traces[True], traces[False], check_exact=True)


def test_an_unbounded_plan_says_why_and_names_the_bound(tmy3_35_days):
    """Without a PV size bound and with PV cheaper than its exports earn (1 $/(kWp a)
    against 0.04 $/kWh for the ~1000 kWh/(kWp a) a kWp yields even in a
    Greensboro winter), every added kWp lowers the cost: HiGHS reports an
    unbounded LP. The result says so and names the bound to set."""
    from iclcontrol.solar.workflows import run_plan

    costs = SizingCosts(pv_per_kwp_year=1.0, max_kwp=None)
    res = run_plan(tmy3_35_days, qc=False, costs=costs)
    assert "unbounded" in res["status"]
    assert res["kwp"] is None and res["annual_cost"] is None
    why = [w for w in res["warnings"] if "sizing LP is" in w]
    assert len(why) == 1
    assert "max_kwp (CLI --max-kwp)" in why[0] and "max_kwh" not in why[0]


def test_a_zero_battery_bound_is_pv_only_not_a_limit(tmy3_35_days):
    """max_kwh=0 is the user asking for PV only: no battery and no "at its bound"
    warning telling them to raise it."""
    from iclcontrol.solar.workflows import run_plan

    res = run_plan(tmy3_35_days, qc=False, costs=SizingCosts(max_kwh=0.0))
    assert res["status"] == "optimal"
    assert res["kwh"] == 0.0
    assert res["at_bound"]["kwh"] is False
    assert not any("max_kwh" in w for w in res["warnings"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pv_per_kwp_year": -10.0}, "pv_per_kwp_year must be a finite cost >= 0"),
        ({"battery_per_kwh_year": float("nan")}, "battery_per_kwh_year"),
        ({"battery_c_rate": 0.0}, "battery_c_rate must be a finite number > 0"),
        ({"max_kwp": -1.0}, "max_kwp must be >= 0 or None"),
        ({"max_kwh": float("nan")}, "max_kwh must be >= 0 or None"),
    ],
)
def test_sizing_costs_are_checked_when_made(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SizingCosts(**kwargs)


def test_an_infinite_size_bound_is_no_bound():
    """``--max-kwp inf`` on the CLI: the same LP as no bound (None)."""
    costs = SizingCosts(max_kwp=float("inf"), max_kwh=float("inf"))
    assert costs.max_kwp is None and costs.max_kwh is None


def test_plan_honours_the_users_array_orientation(tmy3_35_days):
    """A user's east-facing wall (tilt 90, azimuth 90): the plan's yield per kWp is
    pvlib ModelChain's (PVWatts, Perez) for that plane, not the default
    latitude-tilt south-facing array's; the JSON says which plane was used."""
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    from iclcontrol.solar.workflows import run_plan

    d = tmy3_35_days
    res = run_plan(d, qc=False, surface_tilt=90.0, surface_azimuth=90.0)
    assert res["array"] == {
        "surface_tilt": 90.0,
        "surface_azimuth": 90.0,
        "source": "given",
    }
    system = PVSystem(
        surface_tilt=90.0,
        surface_azimuth=90.0,
        module_parameters={"pdc0": 1000.0, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": 1000.0 / 1.2},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][
            "open_rack_glass_polymer"
        ],
    )
    site = Location(d.site.latitude, d.site.longitude, altitude=d.site.altitude)
    mc = ModelChain.with_pvwatts(system, site, transposition_model="perez")
    weather = d.frame[["ghi", "dni", "dhi", "temp_air", "wind_speed"]].copy()
    weather.index = weather.index - pd.Timedelta("30min")  # hour-ending: mid-hour sun
    mc.run_model(weather)
    expected = float(mc.results.ac.fillna(0.0).clip(lower=0.0).mean()) / 1000 * 8760
    assert res["pv_yield_kwh_per_kwp"] == pytest.approx(expected, rel=1e-6)
    default = run_plan(d, qc=False)
    assert default["array"]["surface_tilt"] == 36.0  # |latitude 36.1|, rounded
    assert default["array"]["surface_azimuth"] == 180.0
    # a January east wall yields far less than a latitude-tilt south array
    assert res["pv_yield_kwh_per_kwp"] < 0.7 * default["pv_yield_kwh_per_kwp"]


def test_array_orientation_needs_both_angles_and_a_poa_datasets_plane(
    tmy3_35_days,
):
    import dataclasses

    from iclcontrol.solar.workflows import array_orientation

    d = tmy3_35_days
    with pytest.raises(ConfigError, match="both the array's tilt and azimuth"):
        array_orientation(d, surface_tilt=20.0)
    with pytest.raises(ConfigError, match=r"tilt \(surface_tilt, CLI --array-tilt"):
        array_orientation(d, surface_tilt=100.0, surface_azimuth=180.0)
    poa = dataclasses.replace(
        d, site=dataclasses.replace(d.site, surface_tilt=40.0, surface_azimuth=180.0)
    )
    assert array_orientation(poa)["surface_tilt"] == 40.0
    with pytest.raises(ConfigError, match="measured at tilt 40"):
        array_orientation(poa, surface_tilt=20.0, surface_azimuth=180.0)


def test_a_meters_kwh_per_interval_file_is_power_in_kw(tmp_path):
    """A meter export of energy per 15 min (load_kwh) is read as power: 0.25 kWh
    in 15 min is 1 kW, 0.5 kWh is 2 kW (was: refused for its column name)."""
    from iclcontrol.solar.planning import load_with_report

    t = pd.date_range("2021-01-01", "2021-01-02 23:45", freq="15min")
    kwh = np.where((t.hour >= 17) & (t.hour < 22), 0.5, 0.25)
    path = tmp_path / "meter.csv"
    pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "load_kwh": kwh}).to_csv(
        path, index=False
    )
    idx = pd.date_range("1990-01-01", periods=48, freq="h", tz="UTC-05:00")
    load, rep = load_with_report(str(path), idx, "beginning")
    assert rep["column"] == "load_kwh" and rep["method"] == "dated"
    hours = idx.hour
    np.testing.assert_allclose(load, np.where((hours >= 17) & (hours < 22), 2.0, 1.0))
    # the energy of the file's two days is the profile's
    assert load.sum() * 1.0 == pytest.approx(kwh.sum())


def test_a_load_finer_than_the_weather_keeps_its_energy(tmp_path):
    """A 15-min load with 4 kW only in the quarter hour from :30 is 1 kW on average
    over every hour; an hourly weather period took the value at :00 (0 kW) and
    lost all the energy."""
    from iclcontrol.solar.planning import load_with_report

    t = pd.date_range("2021-01-01", "2021-01-02 23:45", freq="15min")
    path = tmp_path / "spiky.csv"
    kw = np.where(t.minute == 30, 4.0, 0.0)
    pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "load_kw": kw}).to_csv(
        path, index=False
    )
    idx = pd.date_range("1990-01-01 01:00", periods=48, freq="h", tz="UTC-05:00")
    load, rep = load_with_report(str(path), idx, "ending")
    assert rep["method"] == "dated"
    np.testing.assert_allclose(load, 1.0)


def test_tariff_windows_over_midnight():
    """Off-peak 23:00-07:00 is a common night tariff: hours 23 and 0-6 are off-peak
    (the window was empty, every night hour charged the shoulder price)."""
    t = Tariff(offpeak_hours=(23, 7), peak_hours=(17, 20))
    idx = pd.date_range("2023-01-01", periods=24, freq="h", tz="UTC-05:00")
    price = t.import_price(idx, "beginning")
    by_hand = [0.12] * 7 + [0.20] * 10 + [0.40] * 3 + [0.20] * 3 + [0.12]
    np.testing.assert_allclose(price, by_hand)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"peak_hours": (16, 25)}, "peak_hours must be two local hours"),
        ({"export": float("nan")}, "export price must be finite"),
        ({"export_limit_kw": -1.0}, "export_limit_kw must be >= 0"),
        # a night price below the feed-in: import to export, an unbounded LP
        ({"offpeak": 0.03, "export": 0.04}, "above the cheapest import price 0.03"),
    ],
)
def test_tariff_is_checked_when_made(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Tariff(**kwargs)


def test_import_prices_below_the_export_price_are_refused():
    """With import cheaper than export the LPs have no optimum (importing to export
    pays without bound): dispatch_lp returned 'unbounded' and the closed loop fell
    back to its rule at every step; now the prices are refused, naming them. An
    import price equal to the export price is fine."""
    b = BatteryParameters(capacity_kwh=4.0, power_kw=2.0)
    with pytest.raises(ConfigError, match=r"import price 0.03 .* export price 0.04"):
        dispatch_lp(2.0, [0.0, 0.0], [1.0, 1.0], [0.2, 0.03], 1.0, b, Tariff())
    status, _ = dispatch_lp(2.0, [0.0, 0.0], [1.0, 1.0], 0.04, 1.0, b, Tariff())
    assert status == "optimal"
    with pytest.raises(ConfigError, match=r"import price 0.01 .* export price 0.04"):
        size_system([0.0, 0.5], [1.0, 1.0], 1.0, [0.2, 0.01], 0.04)


def test_sizing_honours_the_export_limit():
    """PV that only exports (no load in the sunny period): each kWp earns
    export x 1 kWh and costs f x 90 $ with f = 2 h / 8760 h, i.e. 0.0205 $ < 0.04 $,
    so PV pays up to the export limit of 3 kW and no further: 3 kWp by hand. The
    limit was ignored and the LP bought the 20 kWp bound."""
    costs = SizingCosts(max_kwh=0.0)
    res = size_system(
        [1.0, 0.0], [0.0, 0.0], 1.0, 0.2, 0.04, costs, export_limit_kw=3.0
    )
    assert res.status == "optimal"
    assert res.kwp == pytest.approx(3.0, abs=1e-6)
    assert res.curtailed_kwh == pytest.approx(0.0, abs=1e-6)
    # a higher limit moves the optimum with it (below the 20 kWp bound)
    res = size_system(
        [1.0, 0.0], [0.0, 0.0], 1.0, 0.2, 0.04, costs, export_limit_kw=5.0
    )
    assert res.kwp == pytest.approx(5.0, abs=1e-6)


def test_plan_with_no_export_allowed_exports_nothing(tmy3_35_days):
    """A zero-export connection (export_limit_kw=0): the plan's year exports
    0 kWh and curtails instead (run_plan ignored the tariff's limit)."""
    from iclcontrol.solar.workflows import run_plan

    res = run_plan(tmy3_35_days, qc=False, tariff=Tariff(export_limit_kw=0.0))
    assert res["status"] == "optimal"
    assert res["export_kwh"] == pytest.approx(0.0, abs=1e-6)
    free = run_plan(tmy3_35_days, qc=False)
    assert free["export_kwh"] > 0.0  # the same plan without the limit exports


def test_plan_uses_the_users_battery_efficiency_and_soc_range(tmy3_35_days):
    """A lossless battery usable from 0 to 100 % does everything the default one
    (0.95 each way, 10-90 %) does with less energy bought: the default plan's sizes
    are feasible with it at a lower cost as soon as it has a battery, so the plan
    is cheaper (run_plan always used the default battery). The JSON names the
    parameters used."""
    from iclcontrol.solar.workflows import run_plan

    ideal = BatteryParameters(
        eta_charge=1.0, eta_discharge=1.0, soc_min=0.0, soc_max=1.0
    )
    res = run_plan(tmy3_35_days, qc=False, battery=ideal)
    assert res["battery"] == {
        "eta_charge": 1.0,
        "eta_discharge": 1.0,
        "soc_min": 0.0,
        "soc_max": 1.0,
    }
    default = run_plan(tmy3_35_days, qc=False)
    assert default["battery"]["eta_charge"] == 0.95 and default["kwh"] > 0.1
    assert res["annual_cost"] < default["annual_cost"] - 1.0


def test_plan_with_out_draws_the_monthly_energy(tmp_path, tmy3_35_days, monkeypatch):
    """plan --out wrote JSON and CSV but no figure; now plan.png, named in the
    JSON, with the energy per month in kWh: the bars' heights are the schedule's
    monthly sums (kW x 1 h steps), e.g. the load of January."""
    from iclcontrol.solar import plots
    from iclcontrol.solar.workflows import run_plan

    seen = {}
    real_save = plots._save

    def keep(fig, path):
        ax = fig.axes[0]
        seen["ylabel"] = ax.get_ylabel()
        seen["bars"] = {
            c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers
        }
        return real_save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    res = run_plan(tmy3_35_days, qc=False, out=tmp_path)
    png = tmp_path / "plan.png"
    assert res["files"]["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    schedule = pd.read_csv(res["files"]["schedule"], index_col=0)
    january = (
        pd.DatetimeIndex(pd.to_datetime(schedule.index, utc=True))
        .tz_convert("Etc/GMT+5")
        .month
        == 1
    )
    assert seen["ylabel"] == "energy per month [kWh]"
    assert seen["bars"]["load"][0] == pytest.approx(
        schedule.loc[january, "load_kw"].sum()
    )
    assert "PV curtailed" not in seen["bars"]  # no export limit, nothing curtailed


def test_plan_says_on_stderr_that_the_lp_is_running(capsys, tmy3_35_days):
    """A year's sizing LP ran for tens of seconds without a word; with progress on
    (a terminal, or verbose=True) two lines on stderr bracket it, stdout stays
    clean for the JSON."""
    from iclcontrol.solar.workflows import run_plan

    res = run_plan(tmy3_35_days, qc=False, verbose=True)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith(f"iclcontrol: sizing LP over {35 * 24} periods of 1 h")
    assert lines[-1].startswith("iclcontrol: sizing LP optimal in")
    assert captured.out == ""
    run_plan(tmy3_35_days, qc=False, verbose=False)
    assert capsys.readouterr().err == ""
    assert res["status"] == "optimal"


def test_plan_json_gives_the_unit_of_every_number(tmy3_35_days):
    """plan.json had sizes and costs without units; now ``units`` names one for
    every float at the top level, and every key it names exists."""
    from iclcontrol.solar.workflows import run_plan

    res = run_plan(tmy3_35_days, qc=False)
    units = res["units"]
    floats = {k for k, v in res.items() if isinstance(v, float)}
    assert floats >= {"kwp", "kwh", "annual_cost", "solve_s", "import_kwh"}
    assert floats <= set(units), floats - set(units)
    for key in units:
        for path in key.split(", "):
            node = res
            for part in path.split("."):
                assert part in node, path
                node = node[part]


def test_a_daylight_saving_wall_clock_in_the_load_file_is_flagged(tmp_path):
    """A naive meter export on a daylight-saving wall clock repeats 01:00 on the
    autumn change: the two values were averaged without a word (and the summer is
    an hour off the weather's standard time). Now one warning says so and how to
    fix it."""
    from iclcontrol.solar.planning import load_with_report

    wall = pd.date_range("2021-11-06", "2021-11-08 23:00", freq="h", tz="US/Eastern")
    text = pd.Series(wall.strftime("%Y-%m-%d %H:%M"))  # 01:00 twice on Nov 7
    assert text.duplicated().sum() == 1
    path = tmp_path / "meter.csv"
    pd.DataFrame({"time": text, "load_kw": 1.0}).to_csv(path, index=False)
    idx = pd.date_range("1990-11-06", periods=72, freq="h", tz="UTC-05:00")
    _, rep = load_with_report(str(path), idx, "beginning")
    assert rep["repeated_times"] == ["2021-11-07 01:00:00"]
    assert len(rep["warnings"]) == 1
    assert "repeats 1 time(s)" in rep["warnings"][0]
    assert "UTC offset" in rep["warnings"][0]
    # the same instants with their offsets: nothing repeats, nothing to say
    pd.DataFrame({"time": wall.strftime("%Y-%m-%dT%H:%M%z"), "load_kw": 1.0}).to_csv(
        path, index=False
    )
    _, rep = load_with_report(str(path), idx, "beginning")
    assert rep["repeated_times"] == [] and rep["warnings"] == []


def test_a_wall_clock_load_on_daylight_saving_weather_is_not_called_an_hour_off(
    tmp_path,
):
    """Sydney: weather in Australia/Sydney (daylight saving, as --tz gives) and a
    meter's wall-clock load, which repeats 02:00 on 2 April 2023. The warning said
    the load's summer hours were an hour off the weather's standard time: here
    the weather has none, and every wall time matches it. Now it says only what
    was merged; the evening peak stays on the clock's evening hours."""
    from iclcontrol.solar.planning import load_with_report

    wall = pd.date_range(
        "2023-04-01", "2023-04-03 23:00", freq="h", tz="Australia/Sydney"
    )
    hour = wall.hour
    kw = np.where((hour >= 18) & (hour < 21), 3.0, 0.5)  # the evening peak
    path = tmp_path / "meter.csv"
    pd.DataFrame({"time": wall.strftime("%Y-%m-%d %H:%M"), "load_kw": kw}).to_csv(
        path, index=False
    )
    load, rep = load_with_report(str(path), wall, "instant")
    assert rep["repeated_times"] == ["2023-04-02 02:00:00"]
    (warning,) = rep["warnings"]
    assert "repeats 1 time(s)" in warning and "Australia/Sydney" in warning
    assert "hour off" not in warning and "standard time" not in warning
    assert "2023-04-02T02:00:00+11:00" in warning  # the first, daylight-saving one
    # by the clock: 3 kW from 18 to 21 h on all three days, before and after the
    # change (AEDT +11:00, then AEST +10:00), 0.5 kW elsewhere
    np.testing.assert_array_equal(load.to_numpy(), kw)
    # a dispatch window of a few hours in one season: the same zone, same warning
    _, rep = load_with_report(str(path), wall[30:40], "instant")
    assert "hour off" not in rep["warnings"][0]
    assert "2023-04-02T02:00:00+11:00" in rep["warnings"][0]
    # a weather file's fixed standard time (no --tz): the hour-off warning stays
    fixed = wall.tz_convert("Etc/GMT-10")
    _, rep = load_with_report(str(path), fixed, "instant")
    assert "hour off the weather's standard time" in rep["warnings"][0]


def test_without_highspy_the_lps_say_what_to_install(monkeypatch):
    """No HiGHS for Pyomo (highspy not installed): sizing and dispatch raise
    SolverUnavailableError naming the package, not a Pyomo traceback."""
    import pyomo.environ as pyo
    from pyomo.contrib import appsi

    from iclcontrol.exceptions import SolverUnavailableError

    class NoSolver:
        def __init__(self, *args, **kwargs):
            pass

        def available(self, exception_flag=False):
            return False

    monkeypatch.setattr(pyo, "SolverFactory", NoSolver)
    monkeypatch.setattr(appsi.solvers, "Highs", NoSolver)
    with pytest.raises(SolverUnavailableError, match="highspy"):
        size_system([0.5, 0.0], [1.0, 1.0], 1.0, 0.2, 0.04)
    with pytest.raises(SolverUnavailableError, match="highspy"):
        dispatch_lp(5.0, [0.5, 0.0], [1.0, 1.0], 0.2, 1.0, BatteryParameters())


def test_load_file_column_names_ignore_case_and_spaces(tmp_path):
    """A spreadsheet's header 'Time, Load_kW' was refused as not 'time, load_kw'."""
    from iclcontrol.solar.planning import load_with_report

    hours = pd.date_range("2023-01-10", periods=24, freq="h", tz="Etc/GMT+7")
    path = tmp_path / "load.csv"
    pd.DataFrame(
        {"Time": hours.strftime("%Y-%m-%d %H:%M"), " Load_kW": np.arange(24.0)}
    ).to_csv(path, index=False)
    load, rep = load_with_report(str(path), hours)
    assert rep["column"] == "load_kw"
    np.testing.assert_allclose(load.to_numpy(), np.arange(24.0))


def test_operate_with_no_battery_says_why_nothing_is_gained():
    """--battery-kwh 0: every strategy of operate costs the same (nothing to
    dispatch) and gap_closed is null, with no word why; now a warning names the
    empty battery. (The rule run_operate applies to its costs: a full operate run
    trains forecasters, too slow for this test.)"""
    from iclcontrol.solar.gap import gap_closed
    from iclcontrol.solar.workflows import no_gap_warning

    empty = BatteryParameters(capacity_kwh=0.0, power_kw=0.0)
    costs = {"perfect": 3.35, "persistence": 3.35, "forecast": 3.35}
    gap = costs["persistence"] - costs["perfect"]
    assert gap_closed(costs, "forecast") is None
    why = no_gap_warning(gap, empty)
    assert "perfect foresight saves nothing" in why and "capacity_kwh=0" in why
    assert "capacity_kwh" not in no_gap_warning(0.0, BatteryParameters())
    assert no_gap_warning(0.5, empty) is None  # a gap to close: nothing to say


def test_dispatch_names_the_statuses_of_steps_that_fell_back(monkeypatch):
    """Steps whose LP has no optimum apply the self-consumption rule; the result
    only counted them. Now it keeps HiGHS's statuses and a sentence for the
    operate warnings. (A solver that reports 'infeasible' every other step is
    simulated: the LP itself is always feasible.)"""
    from iclcontrol.solar import planning

    real_solve = planning._DispatchLP.solve
    calls = {"n": 0}

    def flaky(self, e0, pv, load, price):
        calls["n"] += 1
        if calls["n"] % 2:
            return "infeasible", np.zeros(2)
        return real_solve(self, e0, pv, load, price)

    monkeypatch.setattr(planning._DispatchLP, "solve", flaky)
    idx = pd.date_range("2021-06-01", periods=8, freq="h", tz="UTC-05:00")
    pv = pd.Series(2.0, index=idx)
    plant = PVBatteryPlant(battery=BatteryParameters(6, 3))
    res = run_dispatch(plant, pv, np.ones(8), lambda k: np.full(4, 2.0), 4)
    assert res.n_steps == 5 and res.failed_solves == 3  # steps 0, 2, 4
    assert res.failed_statuses == {"infeasible": 3}
    assert res.to_dict()["failed_statuses"] == {"infeasible": 3}
    warning = res.failure_warning()
    assert "3 of 5 LP solves had no optimum (infeasible 3)" in warning
    # the rule charged the 1 kW surplus on a failed step
    assert res.trace["P_ch"].iloc[0] == pytest.approx(1.0)
