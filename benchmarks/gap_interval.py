"""Bootstrap intervals of the gap-closed fractions from a saved dispatch run.

Reads the ``dispatch_*.csv`` traces and ``operate.json`` that ``iclcontrol solar
operate --out DIR`` (or ``benchmarks/bench_solar.py --out DIR``, in
``DIR/operate_pvdaq``) writes, and prints one JSON object: every strategy's cost,
gap-closed fraction and 90 % bootstrap interval over days
(:mod:`iclcontrol.solar.gap`). For runs saved before ``run_operate`` reported the
interval itself.

Usage::

    python benchmarks/gap_interval.py DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from iclcontrol.solar.gap import daily_costs, gap_closed, gap_closed_interval


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder with operate.json and dispatch_*.csv")
    parser.add_argument(
        "--level",
        type=float,
        default=0.9,
        help="coverage of the bootstrap interval, in (0, 1) (default: 0.9)",
    )
    args = parser.parse_args()
    folder = Path(args.folder)
    summary = json.loads((folder / "operate.json").read_text())
    traces = {}
    for path in sorted(folder.glob("dispatch_*.csv")):
        trace = pd.read_csv(path, index_col="time")
        # the site's offset of the first period (days split at its midnight)
        tz = pd.Timestamp(trace.index[0]).tz
        trace.index = pd.to_datetime(trace.index, utc=True).tz_convert(tz)
        traces[path.stem.removeprefix("dispatch_")] = trace
    dt_h = 24.0 * summary["days"] / summary["periods"]
    daily = daily_costs(traces, summary["tariff"]["export"], dt_h)
    costs = daily.sum()
    report = {
        "folder": str(folder),
        "days": len(daily),
        "level": args.level,
        "costs": costs.to_dict(),
        "costs_in_operate_json": summary["costs"],
        "gap_closed": {k: gap_closed(costs, k) for k in costs.index},
        "gap_closed_interval": gap_closed_interval(daily, level=args.level),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
