"""``iclcontrol data``: build datasets from the CSTR, a user's plant class or a user's
time series."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from iclcontrol.commands.common import (
    check_out_path,
    name_list,
    out_folder,
    parse_list,
    positive_int,
    print_json,
)
from iclcontrol.exceptions import ConfigError

#: Units of ``--time-unit`` (kept here so that ``--help`` does not import pandas;
#: tests check it equals ``iclcontrol.data.TIME_UNITS``).
TIME_UNITS = ("D", "h", "min", "s", "ms", "us", "ns")


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="build datasets")
    sub = data.add_subparsers(dest="data_command", required=True)

    about = (
        "the CSTR dataset of the ICLRNN paper: every stable initial state of a "
        "100x100 state grid times a 4x4 grid of inputs, 10 recorded steps per "
        "0.005 h sampling period (12352 samples)"
    )
    cstr = sub.add_parser("cstr", help=about, description=about)
    cstr.add_argument("--out", type=out_folder, required=True, help="output folder")
    cstr.add_argument(
        "--moves", type=positive_int, default=1, help="sampling periods per sample"
    )
    cstr.add_argument("--seed", type=int, default=0, help="split seed")
    cstr.add_argument("--json", action="store_true", help="print a JSON summary last")
    cstr.set_defaults(func=run_cstr)

    about = (
        "a dataset simulated from your plant (plants.base.Plant subclass) for the "
        "surrogate MPC: a grid of initial states times a grid of inputs "
        "(iclcontrol.data.plant_dataset); train on it, then `iclcontrol mpc "
        "--plant` the same class"
    )
    plant = sub.add_parser("plant", help=about, description=about)
    plant.add_argument(
        "--plant",
        required=True,
        help="module:Class (importable) or path/to/file.py:Class, built with no "
        "arguments (or cstr)",
    )
    plant.add_argument("--out", type=out_folder, required=True, help="output folder")
    for side in ("lower", "upper"):
        plant.add_argument(
            f"--x0-{side}",
            default=None,
            help=f"{side} corner of the box of initial states, one number per state "
            f"in the plant's order and units (default: the plant's state_{side}, "
            "where finite)",
        )
    plant.add_argument(
        "--grid",
        type=positive_int,
        default=5,
        help="initial states per state dimension (grid ** n_states in all)",
    )
    plant.add_argument(
        "--levels",
        type=_at_least_two,
        default=4,
        help="input levels per input from input_lower to input_upper",
    )
    plant.add_argument(
        "--moves", type=positive_int, default=1, help="sampling periods per sample"
    )
    plant.add_argument(
        "--steps-per-move",
        type=positive_int,
        default=1,
        help="records per sampling period, a divisor of the plant's substeps "
        "(kept in the dataset and the model; `iclcontrol mpc` takes it from there)",
    )
    plant.add_argument("--seed", type=int, default=0, help="split and input seed")
    plant.add_argument("--json", action="store_true", help="print a JSON summary last")
    plant.set_defaults(func=run_plant)

    csv = sub.add_parser("csv", help="windows of a CSV or Parquet time series")
    csv.add_argument(
        "file",
        help="a .csv (also ;- or tab-separated, .tsv) or .parquet file",
    )
    csv.add_argument("--time-column", required=True, help="column with timestamps")
    csv.add_argument(
        "--time-unit",
        default=None,
        choices=TIME_UNITS,
        help="unit of a numeric time column (counted from 1970-01-01: epoch seconds "
        "and seconds from the start both work); needed for numeric time columns",
    )
    csv.add_argument(
        "--inputs", type=name_list, required=True, help="comma-separated column names"
    )
    csv.add_argument(
        "--outputs", type=name_list, required=True, help="comma-separated column names"
    )
    csv.add_argument(
        "--window", type=positive_int, required=True, help="samples per window"
    )
    csv.add_argument(
        "--stride",
        type=positive_int,
        default=1,
        help="samples between the starts of consecutive windows",
    )
    csv.add_argument("--resample", default=None, help="pandas offset alias, e.g. 15min")
    csv.add_argument(
        "--units",
        type=_units,
        default=None,
        help="units of input and output columns, e.g. T=K,Q=kJ/h (kept in the "
        "dataset and in models trained on it)",
    )
    csv.add_argument(
        "--split",
        default="chronological",
        choices=["chronological", "random"],
        help="chronological: train, then validation, then test windows, with "
        "windows that share rows with a later split purged; random: shuffled",
    )
    csv.add_argument(
        "--mpc-layout",
        action="store_true",
        help="lay the windows out for `iclcontrol mpc --plant`: the outputs are the "
        "plant's states (its state_names, in order; the inputs its input_names), "
        "the features at step k are the outputs at the window's first row and the "
        "inputs at row k, the targets the outputs one row later (a window takes "
        "--window + 1 rows); do not list the outputs in --inputs",
    )
    csv.add_argument("--out", type=out_folder, required=True, help="output folder")
    csv.add_argument("--json", action="store_true", help="print a JSON summary last")
    csv.set_defaults(func=run_csv)


def _at_least_two(text: str) -> int:
    """An argparse type: an integer >= 2."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2, got {value}")
    return value


def _units(text: str) -> dict[str, str]:
    """An argparse type for ``--units``: ``name=unit`` pairs separated by commas."""
    units = {}
    for item in parse_list(text):
        name, sep, unit = item.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(
                f"expected name=unit pairs separated by commas (T=K,Q=kJ/h), got "
                f"{item!r}"
            )
        units[name.strip()] = unit.strip()
    return units


def run_cstr(args: argparse.Namespace) -> int:
    from iclcontrol.data import cstr_dataset

    check_out_path(args.out)
    start = time.perf_counter()
    dataset = cstr_dataset(moves=args.moves, random_state=args.seed)
    built = time.perf_counter() - start
    dataset.save(args.out)
    summary = {**dataset.summary(), "seconds": built, "out": str(args.out)}
    if args.json:
        print_json(summary)
    else:
        print(
            f"CSTR dataset: {summary['n_samples']} samples built in {built:.3f} s"
            f" -> {args.out}"
        )
    return 0


def initial_state_grid(plant: Any, lower: Any, upper: Any, n: int) -> Any:
    """``n`` evenly spaced states per dimension between ``lower`` and ``upper``.

    Parameters
    ----------
    plant : plants.Plant
    lower, upper : sequence of float or None
        Corners of the box, one value per state [state units]; None: the
        plant's ``state_lower``/``state_upper``, which must then be finite.
    n : int
        Points per dimension.

    Returns
    -------
    numpy.ndarray, shape (n ** n_states, n_states)

    Raises
    ------
    ConfigError
        A corner missing where the plant has no finite limit, or of the wrong
        length, or ``lower > upper``.
    """
    import itertools

    import numpy as np

    corners = []
    for flag, given, limit in (
        ("--x0-lower", lower, plant.state_lower),
        ("--x0-upper", upper, plant.state_upper),
    ):
        if given is None:
            if limit is None or not np.all(np.isfinite(limit)):
                raise ConfigError(
                    f"{flag} is needed: {type(plant).__name__} has no finite "
                    f"state limit there; give one number per state "
                    f"{','.join(plant.state_names)}"
                )
            given = limit
        corners.append(np.asarray(given, dtype=float))
    lo, hi = corners
    if np.any(lo > hi):
        raise ConfigError(
            f"--x0-lower {lo.tolist()} exceeds --x0-upper {hi.tolist()} for some "
            f"state of {','.join(plant.state_names)}"
        )
    axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
    return np.array(list(itertools.product(*axes)))


def run_plant(args: argparse.Namespace) -> int:
    from iclcontrol.commands.common import number_tuple
    from iclcontrol.data import plant_dataset
    from plants.cstr import CSTR
    from plants.loader import load_plant

    check_out_path(args.out)
    plant = CSTR() if args.plant == "cstr" else load_plant(args.plant)
    corners = []
    for flag, text in (("--x0-lower", args.x0_lower), ("--x0-upper", args.x0_upper)):
        try:
            corners.append(
                None if text is None else number_tuple(plant.state_names)(text)
            )
        except argparse.ArgumentTypeError as err:
            raise ConfigError(f"{flag}: {err}") from None
    x0 = initial_state_grid(plant, corners[0], corners[1], args.grid)
    start = time.perf_counter()
    dataset = plant_dataset(
        plant,
        x0,
        moves=args.moves,
        steps_per_move=args.steps_per_move,
        n_input_levels=args.levels,
        random_state=args.seed,
    )
    built = time.perf_counter() - start
    dataset.save(args.out)
    summary = {
        **dataset.summary(),
        "plant": args.plant,
        "seconds": built,
        "out": str(args.out),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"{type(plant).__name__} dataset: {summary['n_samples']} samples built "
            f"in {built:.3f} s -> {args.out}"
        )
    return 0


def run_csv(args: argparse.Namespace) -> int:
    from iclcontrol.data import csv_dataset

    check_out_path(args.out)
    start = time.perf_counter()
    dataset = csv_dataset(
        args.file,
        time_column=args.time_column,
        inputs=args.inputs,
        outputs=args.outputs,
        window=args.window,
        stride=args.stride,
        resample=args.resample,
        split=args.split,
        time_unit=args.time_unit,
        units=args.units,
        mpc_layout=args.mpc_layout,
    )
    dataset.save(args.out)
    summary = {
        **dataset.summary(),
        "layout": dataset.card["layout"],
        "cleaning": dataset.card["cleaning"],
        "seconds": time.perf_counter() - start,
        "out": str(args.out),
    }
    if args.json:
        print_json(summary)
    else:
        c = summary["cleaning"]
        print(
            f"{summary['n_samples']} windows kept of {c['windows_total']} "
            f"({c['windows_dropped_nan']} touch NaN, "
            f"{c['windows_dropped_gap']} touch a time gap, "
            f"{c['windows_purged_overlap']} share rows with a later split; "
            f"{c['duplicate_timestamps_dropped']} duplicate timestamps dropped)"
            f" -> {args.out}"
        )
        if summary["layout"] == "mpc":
            names = summary["feature_names"]
            print(
                f"MPC layout: features {', '.join(names)} (the states at each "
                f"window's start, then the inputs), outputs "
                f"{', '.join(summary['output_names'])} one row later; for "
                "`iclcontrol mpc --plant` with these state and input names"
            )
    for key, where in (
        ("constant_columns", "in the whole log"),
        ("constant_in_train_split", "in the training windows"),
    ):
        if summary["cleaning"][key]:
            print(
                f"warning: column(s) {', '.join(summary['cleaning'][key])} constant "
                f"{where}: the model cannot learn their effect",
                file=sys.stderr,
            )
    return 0
