"""``iclcontrol solar``: datasets, forecasting, PV sizing and battery operation."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from iclcontrol.commands.common import (
    check_out_path,
    out_folder,
    parse_list,
    print_json,
)
from iclcontrol.exceptions import ConfigError


class _Given(argparse.Action):
    """Store the value and remember that the flag was given (``args.given``): a
    value equal to the default is a choice too."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", ()), self.option_strings[0]}


def _warn(message: str) -> None:
    """A warning on stderr (stdout keeps the results), as the other commands do."""
    print(f"iclcontrol: warning: {message}", file=sys.stderr)


def _data_args(
    p: argparse.ArgumentParser,
    flag: str = "--data",
    fed_to: str = "the forecaster",
    covariates: bool = True,
    saved: bool = False,
) -> None:
    """Data options; ``fed_to``: which forecasters the covariates reach (help);
    ``covariates``: offer the covariate options; ``saved``: the data of a saved
    forecaster, whose target, covariates, zone and site are the defaults."""
    p.add_argument(
        flag,
        required=True,
        dest="data",
        help="named dataset (see `solar datasets`) or a file: .tm2, .epw, TMY3 .csv, "
        "or .csv/.parquet with --time-column"
        + (" (target, covariates and site: the model's)" if saved else " and --target"),
    )
    p.add_argument("--time-column", default=None, help="timestamp column of a table")
    p.add_argument(
        "--target",
        default=None,
        help="irradiance column [W/m^2]" + (" (default: the model's)" if saved else ""),
    )
    if not covariates:
        _site_args(p, saved)
        return
    p.add_argument(
        "--covariates",
        action=_Given,
        default="",
        help=f"comma-separated measured columns fed to {fed_to}",
    )
    p.add_argument(
        "--future-covariates",
        action=_Given,
        default="",
        help="comma-separated columns known in advance (a weather forecast), fed "
        f"to {fed_to}",
    )
    _site_args(p, saved)


def _site_args(p: argparse.ArgumentParser, saved: bool = False) -> None:
    """Time zone and site options of a table (``saved``: the model's by default)."""
    model = " (a table's default: the model's)" if saved else ""
    p.add_argument(
        "--tz",
        default=None,
        help="IANA time zone: of naive timestamps; timestamps with an offset and "
        "weather files are converted to it (a weather file's typical year is then "
        "put in 2025 for a zone with daylight saving, so that its current rules "
        "apply)"
        + (
            " (default: the model's for a table, and for a weather file when it has "
            "daylight saving)"
            if saved
            else ""
        ),
    )
    p.add_argument(
        "--latitude",
        type=float,
        default=None,
        help=f"site latitude of a table [deg, north positive]{model}",
    )
    p.add_argument(
        "--longitude",
        type=float,
        default=None,
        help=f"site longitude of a table [deg, east positive]{model}",
    )
    p.add_argument(
        "--surface-tilt",
        type=float,
        default=None,
        help="tilt of a plane-of-array target's plane [deg, 0 = horizontal]",
    )
    p.add_argument(
        "--surface-azimuth",
        type=float,
        default=None,
        help="azimuth of a plane-of-array target's plane [deg, clockwise from "
        "north: 0 = north (facing the equator south of it), 180 = south]",
    )
    p.add_argument(
        "--label",
        choices=("instant", "ending", "beginning"),
        default=None,
        help="what a table's timestamps stand for: instant values (default) or "
        "averages over the period ending or beginning at the label (e.g. hourly "
        "averages stamped at the end of their hour: ending)",
    )


def _array_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--array-tilt",
        type=float,
        default=None,
        help="PV array tilt [deg, 0 = horizontal] (default: |latitude|; with "
        "plane-of-array data: its plane); give with --array-azimuth",
    )
    p.add_argument(
        "--array-azimuth",
        type=float,
        default=None,
        help="PV array azimuth [deg, clockwise from north: 0 = north, 180 = south] "
        "(default: facing the equator: 180 north of it, 0 south of it)",
    )


def _load_label_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--load-label",
        choices=("start", "end"),
        default="start",
        help="what the load CSV's times stand for: the start of each row's period "
        "(default) or its end, as meters stamp them (the 00:15 row is 00:00-00:15)",
    )


def _tariff_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--import-prices",
        default="0.12,0.20,0.40",
        help="import prices OFFPEAK,SHOULDER,PEAK [$/kWh], or one flat price",
    )
    p.add_argument(
        "--peak-hours",
        default="16-21",
        help="local hours START-STOP of the peak price (23-7 runs over midnight)",
    )
    p.add_argument(
        "--offpeak-hours",
        default="0-7",
        help="local hours START-STOP of the off-peak price; the rest is shoulder",
    )
    p.add_argument(
        "--export-price",
        type=float,
        default=0.04,
        help="export (feed-in) price [$/kWh], at most every import price",
    )
    p.add_argument(
        "--export-limit",
        type=float,
        default=None,
        help="largest export power [kW]; PV above it is curtailed (default: none)",
    )


def _check_array_flags(args: argparse.Namespace) -> None:
    """--array-tilt/--array-azimuth checked by name before any work (the API
    checks them again, :func:`iclcontrol.solar.workflows.array_orientation`)."""
    tilt, azimuth = args.array_tilt, args.array_azimuth
    if (tilt is None) != (azimuth is None):
        raise ConfigError("give both --array-tilt and --array-azimuth, or neither")
    if tilt is not None and not 0.0 <= tilt <= 90.0:
        raise ConfigError(
            f"--array-tilt must be in [0, 90] deg (0 = horizontal), got {tilt:g}"
        )
    if azimuth is not None and not 0.0 <= azimuth <= 360.0:
        raise ConfigError(
            f"--array-azimuth must be in [0, 360] deg (180 = south), got {azimuth:g}"
        )


def _battery_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--battery-efficiency",
        type=float,
        default=0.95,
        help="one-way battery efficiency, charge and discharge each, in (0, 1] "
        "(round trip: its square)",
    )
    p.add_argument(
        "--soc-range",
        default="0.1,0.9",
        help="usable state of charge MIN,MAX as fractions of the capacity",
    )


def _battery_fractions(args: argparse.Namespace) -> dict[str, float]:
    """Efficiencies and state-of-charge bounds of the battery flags, checked by
    the flags' names."""
    try:
        soc_min, soc_max = (float(v) for v in parse_list(args.soc_range))
    except ValueError:
        raise ConfigError(
            f"--soc-range takes MIN,MAX fractions, e.g. 0.1,0.9; got {args.soc_range!r}"
        ) from None
    eta = args.battery_efficiency
    if not 0 < eta <= 1:  # "not (valid)": NaN is refused too
        raise ConfigError(f"--battery-efficiency must be in (0, 1], got {eta:g}")
    if not 0 <= soc_min <= soc_max <= 1:
        raise ConfigError(
            f"--soc-range needs 0 <= MIN <= MAX <= 1, got {args.soc_range!r}"
        )
    return {
        "eta_charge": args.battery_efficiency,
        "eta_discharge": args.battery_efficiency,
        "soc_min": soc_min,
        "soc_max": soc_max,
    }


def _hours(flag: str, text: str) -> tuple[int, int]:
    """``"16-21"`` as ``(16, 21)``; a ``ConfigError`` naming ``flag`` otherwise."""
    parts = text.split("-")
    try:
        start, stop = (int(part) for part in parts)
    except ValueError:
        raise ConfigError(
            f"{flag} takes local hours START-STOP, e.g. 16-21 or 23-7; got {text!r}"
        ) from None
    return start, stop


def _tariff(args: argparse.Namespace) -> Any:
    """The :class:`~iclcontrol.solar.planning.Tariff` of the tariff flags."""
    from iclcontrol.solar.planning import Tariff

    try:
        prices = [float(v) for v in parse_list(args.import_prices)]
    except ValueError:
        prices = []
    if len(prices) == 1:
        prices *= 3
    if len(prices) != 3:
        raise ConfigError(
            "--import-prices takes OFFPEAK,SHOULDER,PEAK or one flat price [$/kWh], "
            f"e.g. 0.12,0.20,0.40 or 0.25; got {args.import_prices!r}"
        )
    return Tariff(
        offpeak=prices[0],
        shoulder=prices[1],
        peak=prices[2],
        peak_hours=_hours("--peak-hours", args.peak_hours),
        offpeak_hours=_hours("--offpeak-hours", args.offpeak_hours),
        export=args.export_price,
        export_limit_kw=args.export_limit,
    )


def _load_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for name in (
        "time_column",
        "target",
        "tz",
        "latitude",
        "longitude",
        "surface_tilt",
        "surface_azimuth",
        "label",
    ):
        v = getattr(args, name, None)
        if v is not None:
            kw[name] = v
    cov = _covariates(args, "covariates") + _covariates(args, "future_covariates")
    if cov:
        kw["covariates"] = cov
    return kw


def _data_line(reader: dict[str, Any], qc: dict[str, Any]) -> str:
    """One line of text output on what the reader repaired and QC flagged.

    Parameters
    ----------
    reader : dict
        The reader's report (``SolarData.report``: ``missing_steps``, ``gaps``,
        ``duplicate_timestamps``, ...); an empty one (a named TMY file) gives
        only the QC part.
    qc : dict
        :func:`iclcontrol.solar.data.quality_control`'s report, or
        ``{"skipped": True}``.
    """
    parts = []
    if "missing_steps" in reader:
        gaps = reader.get("gaps", [])
        text = f"{reader['missing_steps']} missing steps"
        if gaps:
            longest = max(gaps, key=lambda g: g["steps"])
            text += (
                f" ({len(gaps)}{'+' if len(gaps) >= 20 else ''} gaps, longest "
                f"{longest['steps']} steps from {longest['start']})"
            )
        parts.append(text)
    for key, what in (
        ("duplicate_timestamps", "duplicate timestamps dropped"),
        ("duplicates_with_other_values", "of them with other values (first kept)"),
        ("nonexistent_or_ambiguous_times_dropped", "DST times dropped"),
        ("off_grid_dropped", "off-grid times dropped"),
        ("missing_value_codes", "values below -100 W/m^2 (codes like -999) missing"),
        ("negative_values_zeroed", "negative values set to 0"),
    ):
        if reader.get(key):
            parts.append(f"{reader[key]} {what}")
    if reader.get("non_numeric_values"):
        parts.append(f"non-numeric cells as missing: {reader['non_numeric_values']}")
    if reader.get("covariate_missing_value_codes"):
        parts.append(
            "covariate codes like -999 as missing: "
            f"{reader['covariate_missing_value_codes']}"
        )
    if qc.get("skipped"):
        parts.append("QC skipped")
    elif "flagged_total" in qc:
        parts.append(
            f"QC flagged {qc['flagged_total']} values "
            f"({100 * qc['fraction_flagged']:.2f} %) as missing"
        )
    return "data: " + ("; ".join(parts) if parts else "nothing repaired")


def _covariates(args: argparse.Namespace, name: str) -> list[str]:
    return parse_list(getattr(args, name, "") or "")


#: The day-ahead forecaster's training budget of ``solar operate`` without
#: ``--time-limit`` [s] (kept here so that ``--help`` does not import pandas; tests
#: check it equals ``iclcontrol.solar.workflows.long_forecast_params``).
DAY_AHEAD_TIME_LIMIT_S = 900.0


#: What ``solar operate``'s help appends to an option that reaches both the short
#: and the day-ahead forecaster (tests look for it).
BOTH_FORECASTERS = "short and day-ahead forecaster"


def _model_args(p: argparse.ArgumentParser, day_ahead: bool = False) -> None:
    """Forecaster options; ``day_ahead``: the command also trains a day-ahead one.

    With ``day_ahead`` every option's help says that it applies to
    :data:`BOTH_FORECASTERS` (``run_operate_cmd`` passes them to both).
    """
    both = f" ({BOTH_FORECASTERS})" if day_ahead else ""
    p.add_argument(
        "--lags",
        action=_Given,
        type=int,
        default=None,
        help=f"past steps fed to the model (default: 2 h of steps, at least 6){both}",
    )
    p.add_argument(
        "--embedding",
        action=_Given,
        type=int,
        default=None,
        help=f"clear-sky-index lags fed at every step (default 4; 0: none){both}",
    )
    p.add_argument(
        "--variability",
        action=_Given,
        type=int,
        default=None,
        help=f"steps of the recent-variability features (default 4; 0: none){both}",
    )
    p.add_argument(
        "--hidden", type=int, default=32, action=_Given, help=f"units per layer{both}"
    )
    p.add_argument(
        "--layers", type=int, default=1, action=_Given, help=f"recurrent layers{both}"
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=30,
        action=_Given,
        help=f"epoch cap per forecaster{both}",
    )
    p.add_argument(
        "--time-limit",
        action=_Given,
        type=float,
        default=None,
        help="training budget per forecaster [s] (default: none, --epochs only"
        + (
            f"; the day-ahead forecaster: {DAY_AHEAD_TIME_LIMIT_S:g} s){both}"
            if day_ahead
            else ")"
        ),
    )
    p.add_argument(
        "--max-train-samples",
        action=_Given,
        type=int,
        default=None,
        help="use at most this many (latest) training windows per forecaster, to "
        f"bound memory (default: all){both}",
    )
    p.add_argument(
        "--seed", type=int, default=0, action=_Given, help=f"random seed{both}"
    )
    p.add_argument("--no-qc", action="store_true", help="skip quality control")


def _model_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {
        "hidden": args.hidden,
        "layers": args.layers,
        "epochs": args.epochs,
        "random_state": args.seed,
        "time_limit_s": args.time_limit,
        "max_train_samples": args.max_train_samples,
    }
    for name in ("lags", "embedding", "variability"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    for name in ("covariates", "future_covariates"):
        columns = _covariates(args, name)
        if columns:
            params[name] = tuple(columns)
    return params


def register(subparsers: argparse._SubParsersAction) -> None:
    solar = subparsers.add_parser(
        "solar", help="irradiance forecasting and PV planning on real data"
    )
    sub = solar.add_subparsers(dest="solar_command", required=True)

    ds = sub.add_parser("datasets", help="list the named solar datasets")
    ds.add_argument("--json", action="store_true", help="print a JSON summary last")
    ds.set_defaults(func=run_datasets)

    fc = sub.add_parser("forecast", help="fit and score an irradiance forecaster")
    _data_args(fc)
    fc.add_argument(
        "--horizon",
        type=int,
        default=None,
        help="steps ahead (default: 4 at 15 min resolution or finer, else 1)",
    )
    fc.add_argument(
        "--models", default="iclrnn", help="comma-separated kinds, e.g. iclrnn,lstm"
    )
    _model_args(fc)
    fc.add_argument(
        "--out",
        type=out_folder,
        default=None,
        help="output folder (metrics, forecasts, plots, and the trained "
        "forecasters in DIR/models/KIND for `solar predict --model`)",
    )
    fc.add_argument("--json", action="store_true", help="print a JSON summary last")
    fc.set_defaults(func=run_forecast_cmd)

    pr = sub.add_parser(
        "predict",
        help="forecast with a saved forecaster (no training)",
        description="Forecast with a forecaster saved by `solar forecast --out DIR` "
        "(DIR/models/KIND) on new data, without training; metrics against smart "
        "persistence where the data has measurements.",
    )
    pr.add_argument(
        "--model",
        required=True,
        help="saved forecaster folder (DIR/models/KIND of `solar forecast --out DIR`)",
    )
    _data_args(pr, covariates=False, saved=True)
    pr.add_argument(
        "--start",
        default=None,
        help="first issue time (local time of the data without a zone; the "
        "training run's `cut` gives its test forecasts again; default: all)",
    )
    pr.add_argument(
        "--horizon",
        type=int,
        default=None,
        help="steps ahead, at most the model's (default: the model's)",
    )
    pr.add_argument(
        "--no-qc",
        action="store_true",
        help="skip quality control (use it if the training run did)",
    )
    pr.add_argument(
        "--out",
        type=out_folder,
        default=None,
        help="output folder (forecast.csv, predict.json)",
    )
    pr.add_argument("--json", action="store_true", help="print a JSON summary last")
    pr.set_defaults(func=run_predict_cmd)

    pl = sub.add_parser("plan", help="size PV and battery over a weather year (LP)")
    _data_args(
        pl,
        "--site",
        fed_to="no forecaster (plan sizes on the measured year; read only)",
    )
    pl.add_argument(
        "--load",
        default="residential",
        help="load profile: residential[:SCALE], flat:KW [kW], or a CSV with columns "
        "time and load_kw [kW] or load_kwh [kWh per row]",
    )
    _load_label_arg(pl)
    _array_args(pl)
    _tariff_args(pl)
    pl.add_argument("--pv-cost", type=float, default=90.0, help="$/(kWp a)")
    pl.add_argument("--battery-cost", type=float, default=45.0, help="$/(kWh a)")
    _battery_args(pl)
    pl.add_argument(
        "--battery-c-rate",
        type=float,
        default=0.5,
        help="battery power per kWh of capacity [kW/kWh]",
    )
    pl.add_argument(
        "--max-kwp",
        type=float,
        default=20.0,
        help="largest PV size [kWp] (inf: no bound)",
    )
    pl.add_argument(
        "--max-kwh",
        type=float,
        default=40.0,
        help="largest battery [kWh] (0: PV only; inf: no bound)",
    )
    pl.add_argument(
        "--min-days",
        type=float,
        default=None,
        help="fewest days of valid weather a plan accepts [d] (default 28; annual "
        "figures extrapolate shorter data and carry their season)",
    )
    pl.add_argument("--no-qc", action="store_true", help="skip quality control")
    pl.add_argument(
        "--out",
        type=out_folder,
        default=None,
        help="output folder (plan.json, sizing_schedule.csv, plan.png)",
    )
    pl.add_argument("--json", action="store_true", help="print a JSON summary last")
    pl.set_defaults(func=run_plan_cmd)

    op = sub.add_parser(
        "operate", help="closed-loop forecast-driven battery dispatch (LP per step)"
    )
    _data_args(op, fed_to=f"the {BOTH_FORECASTERS}s")
    op.add_argument(
        "--kind",
        action=_Given,
        default="iclrnn",
        help=f"forecaster kind: iclrnn, icrnn, lrnn, rnn, lstm ({BOTH_FORECASTERS})",
    )
    op.add_argument(
        "--model",
        default=None,
        metavar="DIR",
        help="saved short forecaster, used without training: DIR/models/short of "
        "`solar operate --out DIR`, or DIR/models/KIND of `solar forecast --out "
        "DIR`; its kind, horizon, lags and covariates are used, and a day-ahead "
        "forecaster trained here takes them; a table's --target, --tz and site "
        "default to its (default: train one)",
    )
    op.add_argument(
        "--day-ahead-model",
        default=None,
        metavar="DIR",
        help="saved day-ahead forecaster, used without training: DIR/models/"
        "day_ahead of `solar operate --out DIR`; its leads must cover "
        "--dispatch-hours (default: train one)",
    )
    op.add_argument(
        "--horizon",
        action=_Given,
        type=int,
        default=None,
        help="steps of the short forecaster only (default: 4 at 15 min resolution "
        "or finer, else 1); the day-ahead one covers --dispatch-hours",
    )
    op.add_argument("--days", type=float, default=7.0, help="closed-loop length [days]")
    op.add_argument("--dispatch-hours", type=float, default=24.0, help="LP horizon [h]")
    op.add_argument("--kwp", type=float, default=5.0, help="PV size [kWp]")
    _array_args(op)
    _tariff_args(op)
    op.add_argument(
        "--battery-kwh",
        type=float,
        default=None,
        help="battery capacity [kWh] (default: 2 x --kwp)",
    )
    op.add_argument(
        "--battery-kw",
        type=float,
        default=None,
        help="battery power [kW] (default: --kwp / 2)",
    )
    _battery_args(op)
    op.add_argument(
        "--load",
        default="residential",
        help="load profile: residential[:SCALE], flat:KW [kW], or a CSV with columns "
        "time and load_kw [kW] or load_kwh [kWh per row]",
    )
    _load_label_arg(op)
    op.add_argument(
        "--short-only",
        action="store_true",
        help="no day-ahead forecaster: hold the short forecast's last lead",
    )
    op.add_argument(
        "--oracle-hours",
        default="",
        help="comma list of hours, e.g. 4,12: also dispatch on the measured index "
        "over those first hours (the forecast beyond)",
    )
    op.add_argument(
        "--scenarios",
        type=int,
        default=0,
        help="also dispatch with a stochastic LP over this many analog-day scenarios "
        "around the forecast (0: off; with --scenarios-model: its count)",
    )
    op.add_argument(
        "--scenarios-model",
        default=None,
        metavar="DIR",
        help="saved analog-day scenarios, used instead of fitting them on this "
        "data: DIR/models/scenarios of `solar operate --scenarios N --out DIR` "
        "(default: fit them)",
    )
    _model_args(op, day_ahead=True)
    op.add_argument(
        "--out",
        type=out_folder,
        default=None,
        metavar="DIR",
        help="output folder (operate.json, traces, plots, and the forecasters "
        "trained: DIR/models/short, DIR/models/day_ahead, DIR/models/scenarios; "
        "reuse them with --model DIR/models/short --day-ahead-model "
        "DIR/models/day_ahead --scenarios-model DIR/models/scenarios)",
    )
    op.add_argument("--json", action="store_true", help="print a JSON summary last")
    op.set_defaults(func=run_operate_cmd)


def run_datasets(args: argparse.Namespace) -> int:
    from iclcontrol.solar.data import list_datasets

    items = list_datasets()
    if args.json:
        print_json({"datasets": items})
    else:
        for d in items:
            print(
                f"{d['name']:18s} {d['resolution']:6s} {d['target']:10s} "
                f"{d['site']['name']}"
            )
    return 0


def run_forecast_cmd(args: argparse.Namespace) -> int:
    from iclcontrol.solar.workflows import run_forecast

    if args.out is not None:  # before the work, not after it
        check_out_path(args.out)

    kinds = tuple(parse_list(args.models))
    summary = run_forecast(
        args.data,
        horizon=args.horizon,
        kinds=kinds,
        out=args.out,
        qc=not args.no_qc,
        load_kwargs=_load_kwargs(args),
        **_model_params(args),
    )
    if args.json:
        print_json({**summary, "out": args.out})
    else:
        print(
            f"{summary['dataset']}: n_train={summary['n_train']} "
            f"n_test={summary['n_test']}"
        )
        print(_data_line(summary["reader_report"], summary["qc"]))
        for kind, res in summary["models"].items():
            _print_horizons(kind, res["horizons"])
        if summary.get("model"):
            print(
                f"model: saved in {summary['model']} (forecast without training: "
                f"iclcontrol solar predict --model {summary['model']} --data ...)"
            )
        for warning in summary.get("warnings", []):
            _warn(warning)
    return 0


def _print_horizons(kind: str, horizons: list[dict[str, Any]]) -> None:
    """One line per lead: RMSE of the forecaster and of smart persistence, skill
    (``n/a`` where the data has no measured daytime target)."""

    def num(value: Any, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    for h in horizons:
        print(
            f"  {kind:7s} +{h['steps']} step: RMSE {num(h['rmse'], '.1f')} W/m2, "
            f"smart persistence {num(h['rmse_reference'], '.1f')}, "
            f"skill {num(h['skill_vs_smart_persistence'], '.3f')} (n={h['n']})"
        )


def run_predict_cmd(args: argparse.Namespace) -> int:
    from iclcontrol.solar.workflows import run_predict

    if args.out is not None:  # before the work, not after it
        check_out_path(args.out)
    if args.horizon is not None and args.horizon < 1:
        raise ConfigError(f"--horizon must be >= 1, got {args.horizon}")
    summary = run_predict(
        args.model,
        args.data,
        start=args.start,
        horizon=args.horizon,
        out=args.out,
        qc=not args.no_qc,
        load_kwargs=_load_kwargs(args),
    )
    if args.json:
        print_json({**summary, "out": args.out})
        return 0
    print(
        f"{summary['dataset']}: {summary['kind']} forecaster from {summary['model']} "
        f"(trained on {summary['training_data'].get('source') or 'unknown data'}), "
        f"n_test={summary['n_test']}"
    )
    print(_data_line(summary["reader_report"], summary["qc"]))
    _print_horizons(summary["kind"], summary["horizons"])
    latest = summary["latest"]
    if latest is not None:
        leads = ", ".join(
            f"{k} {num:.1f}" if num is not None else f"{k} n/a"
            for k, num in latest.items()
            if k != "issue_time"
        )
        print(f"latest forecast from {latest['issue_time']}: {leads} W/m2")
    if summary.get("files"):
        print(f"forecast: {summary['files']['forecast_csv']}")
    for warning in summary.get("warnings", []):
        _warn(warning)
    return 0


def _check_plan_flags(args: argparse.Namespace) -> None:
    """Check plan's numeric flags by their own names, before any work."""
    _check_array_flags(args)
    finite = math.isfinite
    for flag, value, ok, rule in (
        ("--pv-cost", args.pv_cost, finite(args.pv_cost) and args.pv_cost >= 0, ">= 0"),
        (
            "--battery-cost",
            args.battery_cost,
            finite(args.battery_cost) and args.battery_cost >= 0,
            ">= 0",
        ),
        (
            "--battery-c-rate",
            args.battery_c_rate,
            finite(args.battery_c_rate) and args.battery_c_rate > 0,
            "> 0 kW/kWh",
        ),
        ("--max-kwp", args.max_kwp, args.max_kwp >= 0, ">= 0 (inf: no bound)"),
        ("--max-kwh", args.max_kwh, args.max_kwh >= 0, ">= 0 (inf: no bound)"),
    ):
        if not ok:  # NaN fails every comparison: refused too
            raise ConfigError(f"{flag} must be {rule}, got {value:g}")


def run_plan_cmd(args: argparse.Namespace) -> int:
    from iclcontrol.solar.planning import SizingCosts
    from iclcontrol.solar.workflows import run_plan
    from plants.pv import BatteryParameters

    if args.out is not None:  # before the work, not after it
        check_out_path(args.out)

    _check_plan_flags(args)
    costs = SizingCosts(
        pv_per_kwp_year=args.pv_cost,
        battery_per_kwh_year=args.battery_cost,
        battery_c_rate=args.battery_c_rate,
        max_kwp=args.max_kwp,
        max_kwh=args.max_kwh,
    )
    summary = run_plan(
        args.data,
        load=args.load,
        load_label=args.load_label,
        out=args.out,
        costs=costs,
        tariff=_tariff(args),
        battery=BatteryParameters(**_battery_fractions(args)),
        load_kwargs=_load_kwargs(args),
        qc=not args.no_qc,
        surface_tilt=args.array_tilt,
        surface_azimuth=args.array_azimuth,
        **({} if args.min_days is None else {"min_days": args.min_days}),
    )
    optimal = summary["status"] == "optimal"
    if args.json:
        print_json({**summary, "out": args.out})
    elif not optimal:
        for warning in summary["warnings"]:
            _warn(warning)
    else:
        print(
            f"PV {summary['kwp']:.2f} kWp, battery {summary['kwh']:.2f} kWh, "
            f"annual cost {summary['annual_cost']:.0f} $ "
            f"(grid only {summary['baseline_cost']:.0f} $)"
        )
        cov = summary["coverage"]
        print(
            f"data: {cov['covered_days']:.1f} days valid, {cov['missing_steps']} "
            f"missing steps; PV yield {summary['pv_yield_kwh_per_kwp']:.0f} kWh/kWp"
        )
        arr, b = summary["array"], summary["battery"]
        print(
            f"array: tilt {arr['surface_tilt']:g} deg, azimuth "
            f"{arr['surface_azimuth']:g} deg ({arr['source']}); battery: "
            f"efficiency {b['eta_charge']:g}/{b['eta_discharge']:g}, state of charge "
            f"{b['soc_min']:g}-{b['soc_max']:g}"
        )
        bounds = [k for k, v in summary["at_bound"].items() if v]
        if bounds:
            print(
                f"at bound: {', '.join(bounds)} (--max-kwp/--max-kwh limit the optimum)"
            )
        for note in summary["notes"]:
            print(f"note: {note}")
        for warning in summary["warnings"]:
            _warn(warning)
    return 0 if optimal else 1


def _operate_flags(args: argparse.Namespace) -> tuple[float, ...]:
    """Check operate's numeric flags by their own names; return the oracle hours."""
    checks: list[tuple[str, float, bool, str]] = [
        ("--days", args.days, args.days > 0, "> 0"),
        ("--dispatch-hours", args.dispatch_hours, args.dispatch_hours > 0, "> 0"),
        ("--kwp", args.kwp, args.kwp >= 0, ">= 0"),
        ("--scenarios", args.scenarios, args.scenarios >= 0, ">= 0"),
    ]
    for name in ("battery_kwh", "battery_kw"):
        v = getattr(args, name)
        if v is not None:
            flag = "--" + name.replace("_", "-")
            checks.append((flag, v, v >= 0, ">= 0"))
    for flag, value, ok, rule in checks:
        if not ok:
            raise ConfigError(f"{flag} must be {rule}, got {value:g}")
    hours = []
    for h in parse_list(args.oracle_hours or ""):
        try:
            hours.append(float(h))
        except ValueError:
            raise ConfigError(
                f"--oracle-hours takes comma-separated numbers of hours, e.g. 4,12; "
                f"got {h!r}"
            ) from None
        if not hours[-1] > 0:
            raise ConfigError(f"--oracle-hours must be > 0, got {h}")
    return tuple(hours)


#: Options that shape the short forecaster (and the day-ahead one, trained with
#: the short one's past window, features and covariates).
_SHAPE_FLAGS = (
    "--kind",
    "--horizon",
    "--lags",
    "--embedding",
    "--variability",
    "--covariates",
    "--future-covariates",
)
#: Options of the training itself, for every forecaster ``solar operate`` trains.
_TRAIN_FLAGS = (
    "--hidden",
    "--layers",
    "--epochs",
    "--time-limit",
    "--max-train-samples",
    "--seed",
)


def _check_saved_models(args: argparse.Namespace) -> None:
    """Refuse options of ``solar operate`` that would be ignored next to
    ``--model``/``--day-ahead-model``; warn of training options that reach only
    the one forecaster still trained. Reads the ``--model`` folder (run_operate
    reads it again, with the others, before the data).

    Raises
    ------
    ConfigError
        ``--model KIND`` (the kind is ``--kind``), a shaping option with a
        loaded short forecaster, a training option when nothing is trained.
    ModelFileError
        A missing, incomplete or corrupted folder.
    """

    from iclcontrol.models.networks import KINDS
    from iclcontrol.solar.workflows import dispatch_steps, load_operate_forecaster

    if args.model in KINDS and not Path(args.model).exists():
        raise ConfigError(
            f"--model takes a saved forecaster folder (DIR/models/short of `solar "
            f"operate --out DIR`); give the forecaster kind as --kind {args.model}"
        )
    given: set[str] = getattr(args, "given", set())
    short, _ = load_operate_forecaster(args.model, "short")  # errors name --model
    if short is None:
        return
    shaping = [flag for flag in _SHAPE_FLAGS if flag in given]
    if shaping:
        raise ConfigError(
            f"{', '.join(shaping)}: would be ignored, the short forecaster is loaded "
            "with --model (a day-ahead one trained here takes its past window, "
            f"features and covariates); drop {', '.join(shaping)}, or drop --model "
            "to train one"
        )
    training = [flag for flag in _TRAIN_FLAGS if flag in given]
    if not training:
        return
    needed = dispatch_steps(args.dispatch_hours, short.freq_)
    if args.day_ahead_model is None and not args.short_only and short.horizon < needed:
        _warn(
            f"{', '.join(training)}: used for the day-ahead forecaster only (the "
            "short one is loaded with --model, not trained)"
        )
        return
    why = (
        "--model and --day-ahead-model load both"
        if args.day_ahead_model
        else "--model loads the short one and no day-ahead one is needed"
    )
    raise ConfigError(
        f"{', '.join(training)}: would be ignored, no forecaster is trained "
        f"({why}); drop {', '.join(training)}"
    )


def run_operate_cmd(args: argparse.Namespace) -> int:
    from iclcontrol.solar.workflows import run_operate
    from plants.pv import BatteryParameters

    if args.out is not None:  # before the work, not after it
        check_out_path(args.out)

    oracle_hours = _operate_flags(args)
    _check_array_flags(args)
    battery = BatteryParameters(
        capacity_kwh=args.battery_kwh if args.battery_kwh is not None else 2 * args.kwp,
        power_kw=args.battery_kw if args.battery_kw is not None else 0.5 * args.kwp,
        **_battery_fractions(args),
    )
    params = _model_params(args)
    if args.horizon is not None:
        params["horizon"] = args.horizon
    _check_saved_models(args)
    summary = run_operate(
        args.data,
        model=args.model,
        long_model=args.day_ahead_model,
        scenario_model=args.scenarios_model,
        progress=lambda line: print(f"operate: {line}", file=sys.stderr),
        kind=args.kind,
        days=args.days,
        dispatch_hours=args.dispatch_hours,
        kwp=args.kwp,
        battery=battery,
        tariff=_tariff(args),
        load=args.load,
        load_label=args.load_label,
        out=args.out,
        qc=not args.no_qc,
        full_horizon=not args.short_only,
        long_params={
            k: params[k]
            for k in (
                "hidden",
                "layers",
                "epochs",
                "random_state",
                "time_limit_s",
                "max_train_samples",
            )
            if params.get(k) is not None
        },
        oracle_hours=oracle_hours,
        scenarios=args.scenarios,
        load_kwargs=_load_kwargs(args),
        surface_tilt=args.array_tilt,
        surface_azimuth=args.array_azimuth,
        **params,
    )
    if args.json:
        print_json({**summary, "out": args.out})
    else:
        c = summary["costs"]
        print(_data_line(summary["reader_report"], summary["qc"]))
        print(
            f"cost perfect {c['perfect']:.2f} $, persistence "
            f"{c['persistence']:.2f} $ over {summary['days']:g} days from "
            f"{summary['start']}"
        )
        print("strategy: cost, persistence-to-perfect gap closed [90 % over days]")
        for name, cost in c.items():
            share = summary["gap_closed_by"].get(name)
            interval = summary["gap_closed_interval"].get(name)
            text = "n/a" if share is None else f"{share:.1%}"
            if share is not None and interval is not None:
                text += f" [{interval[0]:.1%}, {interval[1]:.1%}]"
            print(f"  {name}: {cost:.2f} $, {text}")
        for warning in summary.get("warnings", []):
            _warn(warning)
    return 0
