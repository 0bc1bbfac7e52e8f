"""User-visible paths, timed against another git revision in the same run.

Each path runs in fresh subprocesses, alternately with the working tree's code and
with the code of ``--ref`` (default ``main``, extracted with ``git archive`` to a
temporary folder), ``--repeats`` times each; the minimum wall time of each side is
kept (noise on shared cores only ever adds time). Every run also returns a digest
of its results, so a speed-up that changed the numbers shows as
``"same_results": false``.

Paths:

* ``solar_qc``: quality control then the feature frame of a synthetic year of
  1-min GHI (Golden CO, pvlib clear sky times a seeded cloud factor, 50 spikes):
  the CLI's ``solar forecast`` data path before the windows. Also counts pvlib
  solar-position computations.
* ``windows``: the forecaster's input windows (``make_windows``, default options
  of ``iclcontrol solar forecast``) of four years of synthetic 15-min POA data,
  the feature frame computed beforehand (as long as pvdaq-poa-15min).
* ``predict``: ``SurrogateModel.predict`` on 100k CSTR sequences (2x64 ICLRNN fit
  one epoch); also the peak resident memory of the process [MB].
* ``csv_dataset``: ``csv_dataset`` on a 1e6-row CSV log (10-s steps, windows of 20
  every 10 rows).
* ``dispatch``: ``run_dispatch`` (receding-horizon battery LP, Pyomo + HiGHS) over
  97 15-min steps with a 96-step horizon and 5 PV scenarios per step (the
  stochastic strategy of ``iclcontrol solar operate``); also ``mean_solve_ms``
  (per step, data update and HiGHS).

Usage::

    python benchmarks/bench_paths.py [--paths solar_qc,windows,predict,...]
        [--ref main] [--repeats 3]

Prints one JSON object (last line): per path ``ref_s``, ``new_s`` (minimum wall
times [s]), ``speedup`` (ref / new), ``same_results`` and path-specific extras
(``*_ref``/``*_new``, from the fastest run of each side).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The code each path runs in its subprocess; it prints one JSON object with
#: ``seconds``, ``digest`` and any extras.
PATHS: dict[str, str] = {
    "solar_qc": r"""
import hashlib, json, time
import numpy as np, pandas as pd, pvlib
from iclcontrol.solar.data import Site, SolarData, quality_control
from iclcontrol.solar.features import feature_frame

site = Site("golden", 39.74, -105.18, 1800.0, tz="Etc/GMT+7")
index = pd.date_range("2023-01-01", periods=365 * 1440, freq="1min", tz=site.tz)
loc = pvlib.location.Location(site.latitude, site.longitude, altitude=1800.0)
cs = loc.get_clearsky(index)["ghi"].to_numpy()
rng = np.random.default_rng(0)
y = cs * rng.uniform(0.3, 1.05, len(index))
y[rng.integers(0, len(y), 50)] = 3000.0
frame = pd.DataFrame({"ghi": y}, index=index)
frame.index.freq = "1min"
data = SolarData(frame, "ghi", site)
calls = []
real = pvlib.solarposition.get_solarposition
def counting(time, *args, **kwargs):
    calls.append(len(time))
    return real(time, *args, **kwargs)
pvlib.solarposition.get_solarposition = counting
t0 = time.perf_counter()
qc = quality_control(data, verbose=False)
ff = feature_frame(qc.data)
seconds = time.perf_counter() - t0
h = hashlib.sha256()
h.update(pd.util.hash_pandas_object(qc.flags).to_numpy().tobytes())
h.update(pd.util.hash_pandas_object(ff).to_numpy().tobytes())
h.update(json.dumps(qc.report, sort_keys=True, default=str).encode())
print(json.dumps({"seconds": seconds, "digest": h.hexdigest(),
                  "solar_positions": len(calls)}))
""",
    "windows": r"""
import hashlib, json, time
import numpy as np, pandas as pd, pvlib
from iclcontrol.solar.data import Site, SolarData
from iclcontrol.solar.forecast import IrradianceForecaster, make_windows
from iclcontrol.solar.workflows import default_forecast_params

site = Site("golden", 39.74, -105.18, 1800.0, tz="Etc/GMT+7", surface_tilt=40.0,
            surface_azimuth=180.0)
index = pd.date_range("2019-01-01", periods=4 * 365 * 96, freq="15min", tz=site.tz)
loc = pvlib.location.Location(site.latitude, site.longitude, altitude=1800.0)
cs = loc.get_clearsky(index)["ghi"].to_numpy()
y = cs * np.random.default_rng(0).uniform(0.3, 1.05, len(index))
frame = pd.DataFrame({"poa": y}, index=index)
frame.index.freq = "15min"
data = SolarData(frame, "poa", site)
params = default_forecast_params(data)
options = IrradianceForecaster(**params).window_options()
from iclcontrol.solar.features import feature_frame
ff = feature_frame(data)
t0 = time.perf_counter()
w = make_windows(data, params["lags"], params["horizon"], ff=ff, **options)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds,
                  "digest": hashlib.sha256(w.X.tobytes()).hexdigest()}))
""",
    "predict": r"""
import hashlib, json, resource, time
import numpy as np, torch
from iclcontrol.data import cstr_dataset
from iclcontrol.train import SurrogateModel

torch.set_num_threads(1)
ds = cstr_dataset(random_state=0, n_grid=20)
model = SurrogateModel("iclrnn", hidden=64, layers=2, max_epochs=1, random_state=0,
                       verbose=False).fit(ds)
X = np.asarray(ds.X)[np.random.default_rng(0).integers(0, len(ds.X), 100_000)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
Y = model.predict(X)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds,
                  "digest": hashlib.sha256(Y.tobytes()).hexdigest(),
                  "peak_growth_mb": round((peak - before) / 1024, 1)}))
""",
    "dispatch": r"""
import hashlib, json, time
import numpy as np, pandas as pd
from iclcontrol.solar.planning import Tariff, load_profile, run_dispatch
from plants.pv import BatteryParameters, PVBatteryPlant

idx = pd.date_range("2021-06-01", periods=2 * 96, freq="15min", tz="UTC-05:00")
hour = idx.hour + idx.minute / 60
rng = np.random.default_rng(1)
pv = pd.Series(np.clip(3.0 * np.sin(np.pi * (hour - 6) / 12), 0, None)
               * rng.uniform(0.3, 1.0, len(idx)), index=idx)
load = load_profile("residential", idx)
H, S = 96, 5
pad = np.r_[pv.to_numpy(), np.zeros(H)]
scale = np.random.default_rng(0).uniform(0.5, 1.1, (len(idx), S, H))
plant = PVBatteryPlant(dt_h=0.25, battery=BatteryParameters(6, 3, 0.95, 0.95, 0.1, 0.9))
t0 = time.perf_counter()
res = run_dispatch(plant, pv, load, lambda k: pad[k : k + H] * scale[k], H, Tariff())
seconds = time.perf_counter() - t0
digest = hashlib.sha256(pd.util.hash_pandas_object(res.trace).to_numpy().tobytes())
print(json.dumps({"seconds": seconds, "digest": digest.hexdigest(),
                  "steps": res.n_steps, "mean_solve_ms": res.mean_solve_ms}))
""",
    "csv_dataset": r"""
import hashlib, json, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
from iclcontrol.data import csv_dataset

n = 1_000_000
rng = np.random.default_rng(0)
times = pd.date_range("2020-01-01", periods=n, freq="10s")
frame = pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M:%S"),
                      "u": rng.normal(size=n), "y": rng.normal(size=n),
                      "k": np.full(n, 2.0)})
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "log.csv"
    frame.to_csv(path, index=False)
    t0 = time.perf_counter()
    ds = csv_dataset(path, "time", ["u", "k"], ["y"], window=20, stride=10)
    seconds = time.perf_counter() - t0
h = hashlib.sha256(ds.X.tobytes() + ds.Y.tobytes())
h.update(json.dumps(ds.card["cleaning"], sort_keys=True, default=str).encode())
print(json.dumps({"seconds": seconds, "digest": h.hexdigest()}))
""",
}


def run_once(code: str, pythonpath: str) -> dict:
    """Run ``code`` in a fresh interpreter importing iclcontrol from ``pythonpath``."""
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}
    env["ICLCONTROL_QUIET"] = "1"
    # -P and a neutral cwd: the current folder must not shadow ``pythonpath``
    out = subprocess.run(
        [sys.executable, "-P", "-c", code],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(code: str, ref_path: str, new_path: str, repeats: int) -> dict:
    """Alternate ref and new runs; minimum times, digests compared."""
    runs: dict[str, list[dict]] = {"ref": [], "new": []}
    for _ in range(repeats):
        runs["ref"].append(run_once(code, ref_path))
        runs["new"].append(run_once(code, new_path))
    fastest = {side: min(rs, key=lambda r: r["seconds"]) for side, rs in runs.items()}
    ref_s, new_s = fastest["ref"]["seconds"], fastest["new"]["seconds"]
    out = {
        "ref_s": round(ref_s, 3),
        "new_s": round(new_s, 3),
        "speedup": round(ref_s / new_s, 2),
        "same_results": len({r["digest"] for r in runs["ref"] + runs["new"]}) == 1,
    }
    extras = set(runs["ref"][0]) - {"seconds", "digest"}
    for key in sorted(extras):  # from the fastest run of each side
        out[f"{key}_ref"] = fastest["ref"][key]
        out[f"{key}_new"] = fastest["new"][key]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--ref", default="main", help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = [p for p in args.paths.split(",") if p]
    unknown = sorted(set(names) - set(PATHS))
    if unknown:
        parser.error(f"unknown paths {unknown}; known: {sorted(PATHS)}")
    report: dict = {"ref": args.ref, "repeats": args.repeats, "paths": {}}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.ref, "iclcontrol", "plants"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        for name in names:
            print(f"{name} ...", file=sys.stderr, flush=True)
            report["paths"][name] = compare(PATHS[name], tmp, str(ROOT), args.repeats)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
