"""Solar benchmark: forecast skill, sizing and forecast-driven dispatch cost.

Run: python benchmarks/bench_solar.py [--quick] [--backtest] [--out DIR]
Prints one JSON object (last line) with:

* ``forecast``: per dataset and model (ICLRNN, LSTM) RMSE / MAE / MBE and skill over
  smart persistence per lead on the held-out last 20 % (daytime samples), with
  quality control; pvdaq-poa-15min at 1-4 steps (15 min), TMY3 sites at 1 h.
* ``backtest`` (with --backtest): rolling-origin skill on pvdaq-poa-15min, 3 folds.
* ``plan``: PV/battery sizing on both TMY3 sites.
* ``operate``: closed-loop dispatch costs (perfect foresight, smart persistence,
  ICLRNN forecast) and the fraction of the persistence-to-perfect gap closed.

Full run: about 15-20 minutes on 2 shared cores; --quick: a few minutes (smaller
training budgets; numbers are then not the reported ones).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from iclcontrol.solar.forecast import (
    IrradianceForecaster,
    backtest,
    chronological_cut,
    evaluate,
    make_windows,
)
from iclcontrol.solar.workflows import prepare, run_operate, run_plan, sanitize

#: Keys of a ``run_operate`` summary kept in the benchmark report.
OPERATE_KEYS = (
    "costs",
    "gap_closed",
    "gap_closed_vs_oracle_h",
    "periods",
    "dispatch_horizon_steps",
    "forecast_horizon_steps",
    "start",
)


def forecast_block(name: str, horizon: int, lags: int, epochs: int, kinds: list[str]):
    d, qc = prepare(name)
    cut = chronological_cut(d)
    w = make_windows(d, lags, horizon)
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backtest", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_all = time.perf_counter()
    epochs_big = 4 if args.quick else 25
    epochs_small = 10 if args.quick else 30
    report: dict = {"quick": args.quick, "forecast": {}, "plan": {}, "operate": {}}

    pv_res, pv_models, pv_data = forecast_block(
        "pvdaq-poa-15min", 4, 8, epochs_big, ["iclrnn", "lstm"]
    )
    report["forecast"]["pvdaq-poa-15min"] = pv_res
    for site in ("tmy3-greensboro", "tmy3-sandpoint"):
        res, _, _ = forecast_block(site, 1, 6, epochs_small, ["iclrnn", "lstm"])
        report["forecast"][site] = res

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

    days = 2 if args.quick else 7
    op = run_operate(
        pv_data, model=pv_models["iclrnn"], days=days, qc=False, dispatch_hours=24
    )
    report["operate"]["pvdaq-poa-15min"] = {k: op[k] for k in OPERATE_KEYS}
    report["operate"]["pvdaq-poa-15min"]["mean_solve_ms"] = {
        k: v["mean_solve_ms"] for k, v in op["strategies"].items()
    }
    op2 = run_operate(
        "tmy3-greensboro",
        kind="iclrnn",
        horizon=24,
        days=2 * days,
        epochs=epochs_small,
        dispatch_hours=24,
    )
    report["operate"]["tmy3-greensboro"] = {k: op2[k] for k in OPERATE_KEYS}
    report["seconds"] = round(time.perf_counter() - t_all, 1)
    report = sanitize(report)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "bench_solar.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
