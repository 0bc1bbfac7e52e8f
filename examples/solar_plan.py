"""Size PV and a battery for a house in Greensboro NC, then operate the battery.

Run: python examples/solar_plan.py [OUT_DIR]
You will see: the optimal kWp / kWh and annual cost from a Pyomo LP solved by HiGHS
over the TMY3 year, then a 7-day closed-loop receding-horizon dispatch (one LP over
24 h every hour) driven by perfect foresight, smart persistence, a 3-h ICLRNN
forecaster, the operator's forecast (that forecaster for 3 h, then a day-ahead
ICLRNN with daily context features), persistence followed by climatology, and the
measured irradiance over 3 h then held (oracle_h), with the cost of each and the
share of the persistence-to-perfect cost gap it closes.
Writes plan.json, operate.json, dispatch.png and gap.png (and the schedules as CSV).
"""

import sys
from pathlib import Path

import torch

from iclcontrol.solar.planning import SizingCosts, Tariff
from iclcontrol.solar.workflows import run_operate, run_plan
from plants.pv import BatteryParameters

torch.set_num_threads(1)
out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/examples/solar_plan")

costs = SizingCosts(pv_per_kwp_year=90.0, battery_per_kwh_year=45.0)
plan = run_plan(
    "tmy3-greensboro",
    load="residential",  # 0.7 kW mean with morning and evening peaks
    costs=costs,
    tariff=Tariff(),  # TOU import 0.12 / 0.20 / 0.40 $/kWh, export 0.04 $/kWh
    out=out,
)
print(
    f"optimal size: PV {plan['kwp']:.2f} kWp, battery {plan['kwh']:.2f} kWh; annual "
    f"cost {plan['annual_cost']:.0f} $ vs {plan['baseline_cost']:.0f} $ grid only"
)

# operate the system just sized: its PV, its battery (power = c-rate x capacity)
kwh = round(plan["kwh"], 1)
op = run_operate(
    "tmy3-greensboro",
    kind="iclrnn",
    horizon=3,  # the short forecaster: 1-3 h ahead
    dispatch_hours=24,  # one LP over the next 24 h every hour
    days=7,
    kwp=round(plan["kwp"], 1) or 4.0,
    battery=BatteryParameters(capacity_kwh=kwh, power_kw=costs.battery_c_rate * kwh),
    epochs=15,
    long_params={"epochs": 15},  # the day-ahead forecaster (leads 4-24 h)
    out=out,
)
meaning = {
    "perfect": "measured PV over 24 h",
    "oracle_h": "measured for 3 h, then held",
    "persistence": "smart persistence",
    "forecast_short": "3-h ICLRNN, then held",
    "persistence_climatology": "persistence 3 h, then climatology",
    "forecast": "3-h ICLRNN, then day-ahead ICLRNN",
}
print(f"dispatch over {op['periods']} h    cost [$]  gap closed [%]")
for name, cost in op["costs"].items():
    closed = op["gap_closed_by"][name]
    share = "" if closed is None else f"{100 * closed:6.1f}"
    print(f"{name:24s} {cost:8.2f}  {share:>6s}   {meaning.get(name, '')}")
