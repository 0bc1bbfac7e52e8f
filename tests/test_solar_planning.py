"""Pyomo/HiGHS sizing and dispatch against cases solvable by hand."""

import numpy as np
import pandas as pd
import pytest

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
    res = run_plan(week, load="residential", out=tmp_path)
    assert res["status"] == "optimal"
    assert 0.0 <= res["kwp"] <= 20.0 and 0.0 <= res["kwh"] <= 40.0
    # building nothing is feasible, so the optimum cannot cost more than the grid
    assert res["annual_cost"] <= res["baseline_cost"] + 1e-6
    assert (tmp_path / "plan.json").is_file()


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
    # both forecasters read the measured covariate
    for role in ("short", "day_ahead"):
        assert list(res["forecasters"][role]["covariates"]) == ["temp_air"]
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
