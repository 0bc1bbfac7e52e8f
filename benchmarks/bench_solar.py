"""Solar benchmark: forecast skill, sizing and forecast-driven dispatch cost.

Run: python benchmarks/bench_solar.py [--quick] [--backtest] [--out DIR]
Prints one JSON object (last line) with:

* ``forecast``: per dataset and model (ICLRNN, LSTM) RMSE / MAE / MBE and skill over
  smart persistence per lead on the held-out last 20 % (daytime samples), with
  quality control; pvdaq-poa-15min at 1-4 steps (15 min), TMY3 sites at 1 h.
* ``backtest`` (with --backtest): rolling-origin skill on pvdaq-poa-15min, 3 folds.
* ``plan``: PV/battery sizing on both TMY3 sites.
* ``day_ahead``: the day-ahead forecaster (direct outputs for every 15-min lead up
  to 24 h, trained on the first 80 %) on pvdaq-poa-15min: skill by lead over smart
  persistence and, for reference, the skill of the training period's clear-sky-index
  climatology, on hourly issue times of the held-out 20 %.
* ``operate``: closed-loop dispatch costs over ``--operate-days`` of the held-out
  period (perfect foresight, smart persistence, the 1-4 step forecaster alone, the
  full-horizon forecast = 1-4 step forecaster + day-ahead forecaster beyond,
  persistence + climatology, oracles over the first 1, 4 and 12 hours, and the
  day-ahead ICLRNN trained for the tariff's newsvendor quantile of the irradiance,
  about 0.2, and the stochastic LP over ``--scenarios`` analog-day scenarios around
  the full-horizon forecast) and the fraction of the persistence-to-perfect gap
  each closes, with its 90 % bootstrap interval over days; also on the held-out
  20 % of tmy3-greensboro (1-h forecaster + day-ahead beyond). With ``--out`` the
  dispatch traces of both sites are kept (``operate_pvdaq``, ``operate_greensboro``).

Full run (``--operate-days 56``): about 30 minutes on 2 shared cores (the reported
run, docs/solar_bench.json: 29.4 min); --quick: a few minutes (smaller training
budgets; numbers are then not the reported ones).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from iclcontrol.solar.forecast import (
    ClearSkyIndexClimatology,
    IrradianceForecaster,
    backtest,
    chronological_cut,
    evaluate,
    make_windows,
)
from iclcontrol.solar.workflows import (
    long_forecast_params,
    newsvendor_quantile,
    prepare,
    run_operate,
    run_plan,
    sanitize,
)

#: Keys of a ``run_operate`` summary kept in the benchmark report.
OPERATE_KEYS = (
    "costs",
    "gap_closed",
    "gap_closed_short",
    "gap_closed_by",
    "gap_closed_vs_oracle_h",
    "gap_closed_interval",
    "import_kwh_by_price",
    "periods",
    "days",
    "dispatch_horizon_steps",
    "forecast_horizon_steps",
    "long_forecast_horizon_steps",
    "start",
)
#: Leads (15-min steps) reported for the day-ahead forecaster.
REPORT_LEADS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 80, 96)


def day_ahead_block(d, cut, kinds: list[str], epochs: int, out: str | None):
    """Train day-ahead forecasters on the first 80 % and score them by lead."""
    res: dict = {"models": {}}
    models = {}
    w = None
    for kind in kinds:
        params = long_forecast_params(d, 24.0, epochs=epochs)
        t0 = time.perf_counter()
        m = IrradianceForecaster(kind=kind, random_state=0, **params).fit(d, end=cut)
        fit_s = time.perf_counter() - t0
        if w is None:  # hourly issue times of the whole series; evaluate cuts them
            w = make_windows(d, m.lags, m.horizon, stride=4, **m.window_options())
        ev = evaluate(m, d, cut, windows=w)
        res["params"] = params
        res["models"][kind] = {
            "fit_seconds": round(fit_s, 1),
            "best_epoch": m.history_["best_epoch"],
            "n_train": m.history_["n_train"],
            "skill_by_lead": {
                h["steps"]: h["skill_vs_smart_persistence"]
                for h in ev["horizons"]
                if h["steps"] in REPORT_LEADS
            },
            "rmse_by_lead": {
                h["steps"]: h["rmse"]
                for h in ev["horizons"]
                if h["steps"] in REPORT_LEADS
            },
            "rmse_persistence_by_lead": {
                h["steps"]: h["rmse_reference"]
                for h in ev["horizons"]
                if h["steps"] in REPORT_LEADS
            },
        }
        models[kind] = (m, ev["horizons"])
    # the same day-ahead ICLRNN trained for the newsvendor quantile of the tariff
    tau = newsvendor_quantile()
    params = long_forecast_params(d, 24.0, epochs=epochs, quantile=tau)
    t0 = time.perf_counter()
    qm = IrradianceForecaster(kind=kinds[0], random_state=0, **params).fit(d, end=cut)
    ev = evaluate(qm, d, cut, windows=w)
    fc, truth, day = (ev["frames"][k] for k in ("forecast", "truth", "daytime"))
    judged = day.astype(bool) & truth.notna()
    below = ((truth <= fc) & judged).sum() / judged.sum()
    res["quantile_model"] = {
        "kind": kinds[0],
        "quantile": tau,
        "fit_seconds": round(time.perf_counter() - t0, 1),
        "best_epoch": qm.history_["best_epoch"],
        "fraction_of_truth_below_forecast_by_lead": {
            int(c[1:]): float(below[c])
            for c in below.index
            if int(c[1:]) in REPORT_LEADS
        },
    }
    models["quantile"] = (qm, None)
    clim = ClearSkyIndexClimatology(horizon=96).fit(d, end=cut)
    ev = evaluate(clim, d, cut, windows=w)
    res["climatology_skill_by_lead"] = {
        h["steps"]: h["skill_vs_smart_persistence"]
        for h in ev["horizons"]
        if h["steps"] in REPORT_LEADS
    }
    if out:
        from iclcontrol.solar.plots import plot_skill_by_horizon

        curves = {k: v[1] for k, v in models.items() if v[1] is not None}
        curves["climatology"] = ev["horizons"]
        Path(out).mkdir(parents=True, exist_ok=True)
        plot_skill_by_horizon(curves, Path(out) / "day_ahead_skill_by_lead.png")
    return res, {k: v[0] for k, v in models.items()}


def forecast_block(name: str, horizon: int, lags: int, epochs: int, kinds: list[str]):
    d, qc = prepare(name)
    cut = chronological_cut(d)
    options = IrradianceForecaster(horizon=horizon, lags=lags).window_options()
    w = make_windows(d, lags, horizon, **options)
    out = {"qc_flagged": qc.get("flagged_total"), "cut": str(cut), "models": {}}
    models = {}
    for kind in kinds:
        t0 = time.perf_counter()
        m = IrradianceForecaster(
            kind=kind, horizon=horizon, lags=lags, epochs=epochs, random_state=0
        ).fit(d, end=cut, windows=w)
        res = evaluate(m, d, cut, windows=w)
        out["models"][kind] = {
            "fit_seconds": round(time.perf_counter() - t0, 1),
            "best_epoch": m.history_["best_epoch"],
            "n_train": m.history_["n_train"],
            "n_test": res["n_test"],
            "horizons": [
                {
                    k: h[k]
                    for k in (
                        "steps",
                        "rmse",
                        "mae",
                        "mbe",
                        "rmse_reference",
                        "skill_vs_smart_persistence",
                        "n",
                    )
                }
                for h in res["horizons"]
            ],
        }
        models[kind] = m
    return out, models, d


#: The JSON file written to ``--out`` (docs/solar_results.md names it).
RESULT_FILE = "bench_solar.json"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smaller training budgets, a few minutes (not the reported numbers)",
    )
    ap.add_argument(
        "--backtest",
        action="store_true",
        help="add a rolling-origin backtest on pvdaq-poa-15min (3 folds)",
    )
    ap.add_argument(
        "--out",
        default=None,
        help=f"folder for {RESULT_FILE} and the dispatch traces (none: print only)",
    )
    ap.add_argument(
        "--operate-days", type=float, default=42.0, help="dispatch test days (pvdaq)"
    )
    ap.add_argument(
        "--scenarios",
        type=int,
        default=7,
        help="analog-day scenarios of the stochastic dispatch (0: skip it)",
    )
    ap.add_argument(
        "--day-ahead-kinds",
        default="iclrnn",
        help="comma list of day-ahead forecaster kinds (the first drives dispatch)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_all = time.perf_counter()
    epochs_big = 4 if args.quick else 25
    epochs_small = 10 if args.quick else 30
    report: dict = {"quick": args.quick, "forecast": {}, "plan": {}, "operate": {}}

    def save() -> None:
        """Write what is measured so far (a late failure keeps the earlier blocks)."""
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            (Path(args.out) / RESULT_FILE).write_text(
                json.dumps(sanitize(report), indent=2)
            )

    pv_res, pv_models, pv_data = forecast_block(
        "pvdaq-poa-15min", 4, 8, epochs_big, ["iclrnn", "lstm"]
    )
    report["forecast"]["pvdaq-poa-15min"] = pv_res
    for site in ("tmy3-greensboro", "tmy3-sandpoint"):
        res, _, _ = forecast_block(site, 1, 6, epochs_small, ["iclrnn", "lstm"])
        report["forecast"][site] = res
    save()

    if args.backtest:
        bt = backtest(
            pv_data,
            {"kind": "iclrnn", "horizon": 4, "lags": 8, "epochs": epochs_big},
            n_folds=3,
        )
        report["backtest"] = {
            "pvdaq-poa-15min": {
                "mean_skill": bt["mean_skill"],
                "folds": [
                    {
                        "start": f["start"],
                        "end": f["end"],
                        "skill": [
                            h["skill_vs_smart_persistence"] for h in f["horizons"]
                        ],
                    }
                    for f in bt["folds"]
                ],
            }
        }

    for site in ("tmy3-greensboro", "tmy3-sandpoint"):
        t0 = time.perf_counter()
        p = run_plan(site)
        report["plan"][site] = {
            k: p[k]
            for k in (
                "kwp",
                "kwh",
                "annual_cost",
                "baseline_cost",
                "investment_cost",
                "energy_cost",
                "pv_yield_kwh_per_kwp",
                "status",
                "solve_s",
            )
        }
        report["plan"][site]["seconds"] = round(time.perf_counter() - t0, 1)

    cut = chronological_cut(pv_data)
    tau_q = newsvendor_quantile()
    da_kinds = args.day_ahead_kinds.split(",")
    da_res, da_models = day_ahead_block(
        pv_data, cut, da_kinds, 3 if args.quick else 20, args.out
    )
    report["day_ahead"] = {"pvdaq-poa-15min": da_res}
    save()

    days = 2 if args.quick else args.operate_days
    op = run_operate(
        pv_data,
        model=pv_models[da_kinds[0]],
        long_model=da_models[da_kinds[0]],
        days=days,
        qc=False,
        dispatch_hours=24,
        oracle_hours=(4, 12),
        extra_models={"forecast_quantile": da_models["quantile"]},
        scenarios=args.scenarios,
        out=(Path(args.out) / "operate_pvdaq") if args.out else None,
    )
    report["operate"]["pvdaq-poa-15min"] = {k: op[k] for k in OPERATE_KEYS}
    report["operate"]["pvdaq-poa-15min"]["mean_solve_ms"] = {
        k: v["mean_solve_ms"] for k, v in op["strategies"].items()
    }
    save()
    gb, _ = prepare("tmy3-greensboro")
    gb_q = IrradianceForecaster(
        random_state=0,
        **long_forecast_params(gb, 24.0, epochs=epochs_small, quantile=tau_q),
    ).fit(gb, end=chronological_cut(gb))
    op2 = run_operate(
        gb,
        qc=False,
        extra_models={"forecast_quantile": gb_q},
        kind="iclrnn",
        horizon=1,
        days=4 if args.quick else 73,  # the whole held-out 20 % of the TMY year
        epochs=epochs_small,
        dispatch_hours=24,
        long_params={"epochs": epochs_small},
        oracle_hours=(4, 12),
        scenarios=args.scenarios,
        out=(Path(args.out) / "operate_greensboro") if args.out else None,
    )
    report["operate"]["tmy3-greensboro"] = {k: op2[k] for k in OPERATE_KEYS}
    report["seconds"] = round(time.perf_counter() - t_all, 1)
    save()
    print(json.dumps(sanitize(report)))


if __name__ == "__main__":
    main()
