"""How good a weather forecast must be for the dispatch to close most of the gap.

A sensitivity study, not a measurement of a real forecast: none of the shipped data
sets holds weather forecasts, so this script builds a *simulated* day-ahead cloud
forecast and feeds it to the forecasters as a future covariate (the column a user
with numerical weather predictions would pass with ``--future-covariates``).

The simulated forecast of every hour is the measured clearness of its calendar day
(daytime sum of the measured irradiance over the daytime sum of clear-sky
irradiance) plus a Gaussian error of standard deviation ``sigma`` drawn once per
day, clipped to ``[0, 1.2]``. ``sigma = 0`` knows each day's clearness exactly (but
not the hours' clouds); for scale, the day-to-day standard deviation of the
clearness on tmy3-greensboro is printed as ``clearness_std``.

For each ``sigma`` the script runs :func:`iclcontrol.solar.workflows.run_operate`
on the held-out period of the site with the settings of ``bench_solar.py``
(tmy3-greensboro: 1-h forecaster, 73 days; pvdaq-poa-15min: 1-4 step forecaster,
56 days; a day-ahead forecaster beyond, both reading the covariate, 7 analog-day
scenarios). It prints exactly one JSON object, as the last (and only) line of
stdout, with every strategy's gap-closed fraction and its 90 % bootstrap interval
over days per ``sigma``; progress (one line as each ``sigma`` starts and ends) goes
to stderr. ``sigma = none`` runs without the covariate (the reported dispatch).

Usage::

    python benchmarks/weather_forecast_value.py --sigmas none,0,0.1,0.2 --out DIR
    python benchmarks/weather_forecast_value.py --site pvdaq-poa-15min --sigmas 0,0.1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from iclcontrol.solar.data import SolarData
from iclcontrol.solar.features import clearsky_target
from iclcontrol.solar.workflows import prepare, run_operate, sanitize

COLUMN = "forecast_clearness"

#: Per site: held-out days dispatched, forecaster horizon (None: the default),
#: epochs of the short and of the day-ahead forecaster (as in bench_solar.py).
SITE_SETTINGS: dict[str, dict] = {
    "tmy3-greensboro": {"days": 73.0, "horizon": 1, "epochs": 30, "long_epochs": 30},
    "pvdaq-poa-15min": {"days": 56.0, "horizon": None, "epochs": 25, "long_epochs": 20},
}


def daily_clearness(data: SolarData) -> pd.Series:
    """Measured clearness of each step's calendar day (site's local clock). [-]

    Sums over the steps with a measurement only; a day without any daytime
    measurement gets the mean clearness of all days (an uninformative forecast).
    """
    cs = clearsky_target(data).to_numpy()
    y = data.y.clip(lower=0.0).to_numpy()
    measured = ~np.isnan(y)
    day = data.frame.index.normalize()
    frame = pd.DataFrame(
        {"y": np.where(measured, y, 0.0), "cs": np.where(measured, cs, 0.0)},
        index=data.frame.index,
    )
    sums = frame.groupby(day).sum()
    ratio = (sums["y"] / sums["cs"].where(sums["cs"] > 0)).clip(0.0, 1.2)
    ratio = ratio.fillna(ratio.mean())
    return pd.Series(ratio.reindex(day).to_numpy(), index=data.frame.index)


def with_forecast(data: SolarData, sigma: float, seed: int = 0) -> SolarData:
    """Copy of ``data`` with the simulated day-ahead clearness forecast column."""
    clearness = daily_clearness(data)
    days = clearness.index.normalize()
    unique = days.unique()
    rng = np.random.default_rng(seed)
    error = pd.Series(rng.normal(0.0, sigma, len(unique)), index=unique)
    values = (clearness + error.reindex(days).to_numpy()).clip(0.0, 1.2)
    frame = data.frame.copy()
    frame[COLUMN] = values.to_numpy()
    return SolarData(frame, data.target, data.site, dict(data.card), dict(data.report))


def _progress(message: str) -> None:
    """A progress line on stderr: stdout holds only the final JSON object."""
    print(f"weather_forecast_value: {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sigmas",
        default="none,0,0.1,0.2",
        help="comma-separated error standard deviations of the simulated daily "
        "clearness forecast; 'none': no covariate (default: none,0,0.1,0.2)",
    )
    parser.add_argument(
        "--site",
        default="tmy3-greensboro",
        choices=sorted(SITE_SETTINGS),
        help="dataset, with bench_solar.py's settings (default: tmy3-greensboro)",
    )
    parser.add_argument(
        "--scenarios",
        type=int,
        default=7,
        help="analog-day scenarios of the stochastic dispatch (default: 7)",
    )
    parser.add_argument("--out", default=None, help="folder for the dispatch traces")
    args = parser.parse_args()
    torch.set_num_threads(1)
    site = SITE_SETTINGS[args.site]
    base, _ = prepare(args.site)
    clearness = daily_clearness(base).groupby(base.frame.index.normalize()).first()
    report: dict = {
        "site": args.site,
        "clearness_std": float(clearness.std()),
        "runs": {},
    }
    tokens = args.sigmas.split(",")
    for i, token in enumerate(tokens, start=1):
        _progress(f"sigma={token} ({i}/{len(tokens)}): running")
        t0 = time.perf_counter()
        if token == "none":
            data, extra = base, {}
        else:
            data = with_forecast(base, float(token))
            extra = {"future_covariates": (COLUMN,)}
        out = Path(args.out) / f"sigma_{token}" if args.out else None
        op = run_operate(
            data,
            qc=False,
            kind="iclrnn",
            **({"horizon": site["horizon"]} if site["horizon"] else {}),
            days=site["days"],
            epochs=site["epochs"],
            dispatch_hours=24,
            long_params={"epochs": site["long_epochs"]},
            scenarios=args.scenarios,
            out=out,
            **extra,
        )
        report["runs"][token] = {
            "gap_closed_by": op["gap_closed_by"],
            "gap_closed_interval": op["gap_closed_interval"],
            "costs": op["costs"],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        gaps = ", ".join(
            f"{k} {v:.1%}" for k, v in op["gap_closed_by"].items() if v is not None
        )
        _progress(
            f"sigma={token} ({i}/{len(tokens)}): done in "
            f"{report['runs'][token]['seconds']:g} s; gap closed: {gaps}"
        )
    print(json.dumps(sanitize(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
