"""``iclcontrol data``: build datasets from the CSTR or from a user's time series."""

from __future__ import annotations

import argparse
import time

from iclcontrol.commands.common import parse_list, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="build datasets")
    sub = data.add_subparsers(dest="data_command", required=True)

    cstr = sub.add_parser("cstr", help="the reference CSTR dataset (REFERENCE.md)")
    cstr.add_argument("--out", required=True, help="output folder")
    cstr.add_argument(
        "--moves", type=int, default=1, help="sampling periods per sample"
    )
    cstr.add_argument("--seed", type=int, default=0, help="split seed")
    cstr.add_argument("--json", action="store_true", help="print a JSON summary last")
    cstr.set_defaults(func=run_cstr)

    csv = sub.add_parser("csv", help="windows of a CSV or Parquet time series")
    csv.add_argument("file")
    csv.add_argument("--time-column", required=True)
    csv.add_argument("--inputs", required=True, help="comma-separated column names")
    csv.add_argument("--outputs", required=True, help="comma-separated column names")
    csv.add_argument("--window", type=int, required=True, help="samples per window")
    csv.add_argument("--stride", type=int, default=1)
    csv.add_argument("--resample", default=None, help="pandas offset alias, e.g. 15min")
    csv.add_argument(
        "--split", default="chronological", choices=["chronological", "random"]
    )
    csv.add_argument("--out", required=True, help="output folder")
    csv.add_argument("--json", action="store_true", help="print a JSON summary last")
    csv.set_defaults(func=run_csv)


def run_cstr(args: argparse.Namespace) -> int:
    from iclcontrol.data import cstr_dataset

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


def run_csv(args: argparse.Namespace) -> int:
    from iclcontrol.data import csv_dataset

    start = time.perf_counter()
    dataset = csv_dataset(
        args.file,
        time_column=args.time_column,
        inputs=parse_list(args.inputs),
        outputs=parse_list(args.outputs),
        window=args.window,
        stride=args.stride,
        resample=args.resample,
        split=args.split,
    )
    dataset.save(args.out)
    summary = {
        **dataset.summary(),
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
            f"{c['windows_dropped_gap']} touch a time gap; "
            f"{c['duplicate_timestamps_dropped']} duplicate timestamps dropped)"
            f" -> {args.out}"
        )
    return 0
