"""MPC benchmark: surrogate LMPCs (ICLRNN, RNN, LSTM) against do-mpc NMPC on the CSTR.

Everything runs in one process and one harness (:func:`closed_loop`), from both
reference initial states. Surrogates are trained with
:class:`iclcontrol.train.SurrogateModel` on ``cstr_dataset(moves=horizon)`` and
cached (safetensors + JSON) under ``datasets/cache/mpc`` or
``~/.cache/iclcontrol/mpc``, keyed by their training parameters.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from iclcontrol.export.casadi_export import CSTR_STEPS_PER_MOVE
from iclcontrol.mpc.closed_loop import bounds_summary, closed_loop, summarize
from iclcontrol.mpc.settings import REFERENCE_HORIZON, MPCSettings

#: Reference initial states (CA, T) of the LMPC closed loops (REFERENCE.md).
REFERENCE_X0 = ((1.5, -70.0), (-1.5, 70.0))


def cache_dir(explicit: str | Path | None = None) -> Path:
    """Folder of cached surrogates.

    ``explicit``, else ``$ICLCONTROL_CACHE/mpc``, else ``./datasets/cache/mpc`` when
    ``./datasets`` exists, else ``~/.cache/iclcontrol/mpc``.
    """
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get("ICLCONTROL_CACHE")
    if env:
        return Path(env) / "mpc"
    if Path("datasets").is_dir():
        return Path("datasets") / "cache" / "mpc"
    return Path.home() / ".cache" / "iclcontrol" / "mpc"


def _has_current_defaults(model: Any) -> bool:
    """Whether a cached model's network is what its kind builds by default today
    (e.g. not a model saved before learned initial states existed)."""
    from iclcontrol.models.networks import NetworkConfig

    cfg = model.config_
    today = NetworkConfig(
        cfg.kind, cfg.n_features, cfg.n_outputs, cfg.hidden, cfg.layers
    )
    return bool(today == cfg)


def reference_settings(settings: MPCSettings | None = None) -> MPCSettings:
    """The settings of the main job and the benchmark, complete before any model.

    Both build the CSTR dataset for the horizon (``cstr_dataset(moves=horizon)``)
    and record the settings, so what :class:`MPCSettings` leaves to the model is
    fixed here: ``steps_per_move`` None is the CSTR data's
    :data:`~iclcontrol.export.CSTR_STEPS_PER_MOVE` (10) and ``horizon`` None the
    reference's :data:`~iclcontrol.mpc.settings.REFERENCE_HORIZON` (2).

    Parameters
    ----------
    settings : MPCSettings, optional
        Default ``MPCSettings()``; values given are kept.

    Returns
    -------
    MPCSettings
        With ``horizon`` and ``steps_per_move`` set.
    """
    s = settings if settings is not None else MPCSettings()
    if s.steps_per_move is None:  # the CSTR data's, recorded in the results
        s = replace(s, steps_per_move=CSTR_STEPS_PER_MOVE)
    if s.horizon is None:  # the data is built for it: the reference's 2 moves
        s = replace(s, horizon=REFERENCE_HORIZON)
    return s


def train_surrogate(
    kind: str,
    moves: int = 2,
    hidden: int = 32,
    layers: int = 2,
    budget_s: float = 60.0,
    random_state: int = 0,
    cache: str | Path | None = None,
    retrain: bool = False,
    log: Callable[[str], None] = print,
) -> Any:
    """Train (or load from the cache) a CSTR surrogate for MPC.

    Parameters
    ----------
    kind : str
        Network kind (``"iclrnn"``, ``"rnn"``, ``"lstm"``, ...).
    moves : int
        Sampling periods per training sequence (the MPC horizon for
        ``prediction="sequence"``).
    hidden, layers : int
        Network size.
    budget_s : float
        Training wall-clock budget. [s]
    random_state : int
    cache : str or Path, optional
        Cache folder (see :func:`cache_dir`); ``False``-like empty string disables.
    retrain : bool
        Ignore a cached model.
    log : callable
        Progress messages.

    Returns
    -------
    iclcontrol.train.SurrogateModel
    """
    from iclcontrol.data import cstr_dataset
    from iclcontrol.train import SurrogateModel, load

    key = f"{kind}_m{moves}_h{hidden}x{layers}_b{budget_s:g}_s{random_state}"
    folder = cache_dir(cache) / key if cache != "" else None
    if folder is not None and not retrain and folder.is_dir():
        try:
            model = load(folder)
        except Exception:
            log(f"[mpc] cached {kind} surrogate in {folder} unreadable: retraining")
        else:
            if _has_current_defaults(model):
                log(f"[mpc] using cached {kind} surrogate {folder}")
                return model
            log(f"[mpc] cached {kind} surrogate predates the current defaults")
    log(f"[mpc] building CSTR dataset (moves={moves})")
    dataset = cstr_dataset(moves=moves, random_state=random_state)
    log(f"[mpc] training {kind} {layers}x{hidden} for up to {budget_s:g} s")
    start = time.perf_counter()
    model = SurrogateModel(
        kind,
        hidden=hidden,
        layers=layers,
        time_budget_s=budget_s,
        random_state=random_state,
        verbose=False,
    ).fit(dataset)
    test = model.evaluate(dataset)
    log(
        f"[mpc] {kind}: trained in {time.perf_counter() - start:.0f} s, "
        f"scaled test MSE {test.get('scaled', float('nan')):.2e}"
    )
    if folder is not None:
        try:
            model.save(folder)
        except OSError as err:
            log(f"[mpc] could not cache the model in {folder}: {err}")
    return model


def run_controller(
    controller: Any,
    plant: Any,
    x0s: Sequence[Sequence[float]] = REFERENCE_X0,
    steps: int = 30,
) -> tuple[dict[str, Any], list[Any]]:
    """Closed loops of one controller from several initial states.

    Returns
    -------
    summary : dict
        Per initial state (key ``"x0=CA,T"``) the :func:`summarize` metrics
        with ``bounds`` (:func:`bounds_summary` of the controller's
        ``settings``: its output bounds and the plant's input bounds), plus
        pooled ``median_solve_ms``, ``p95_solve_ms``, ``median_iterations``,
        ``fallbacks``.
    frames : list of pandas.DataFrame
    """
    frames, per = [], {}
    for x0 in x0s:
        frame = closed_loop(plant, controller, x0, steps)
        frames.append(frame)
        per[f"x0={x0[0]:g},{x0[1]:g}"] = run = summarize(frame, plant)
        # the limits the controller had (its output bounds, the plant's inputs)
        run["bounds"] = bounds_summary(
            frame, plant, getattr(controller, "settings", None)
        )
    ms = np.concatenate([f["solve_ms"].to_numpy()[:-1] for f in frames])
    its = np.concatenate([f["iterations"].to_numpy()[:-1] for f in frames])
    statuses = np.concatenate([f["status"].to_numpy()[:-1] for f in frames])
    names, counts = np.unique(statuses.astype(str), return_counts=True)
    pooled = {
        "median_solve_ms": float(np.median(ms)),
        "p95_solve_ms": float(np.percentile(ms, 95)),
        "max_solve_ms": float(np.max(ms)),
        "median_iterations": float(np.median(its)),
        "fallbacks": int(sum(s["fallbacks"] for s in per.values())),
        "failed_solves": int(sum(s["failed_solves"] for s in per.values())),
        "status_counts": {str(n): int(c) for n, c in zip(names, counts, strict=True)},
        "closed_loop_cost": float(sum(s["closed_loop_cost"] for s in per.values())),
        "runs": per,
    }
    return pooled, frames


def bench_mpc(
    kinds: Sequence[str] = ("iclrnn", "rnn", "lstm"),
    steps: int = 30,
    budget_s: float = 60.0,
    hidden: int = 32,
    settings: MPCSettings | None = None,
    cache: str | Path | None = None,
    retrain: bool = False,
    include_dompc: bool = True,
    ipopt_pass: bool = True,
    exact_relu_pass: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the MPC benchmark and return its JSON-ready results.

    Keys: ``controllers`` (per name the pooled metrics and per-run metrics),
    ``ratio_<kind>_to_dompc`` (median step time ratios), ``cost_ratio_<kind>_to_dompc``
    (closed-loop cost ratios), ``iterations`` (median per controller),
    ``iclrnn_iterations_le_baselines`` and the settings used. With ``ipopt_pass``
    every surrogate LMPC is also run with IPOPT (exact Hessian; ReLU networks
    softplus-smoothed as by default, see ``MPCSettings.relu_smoothing``) and its
    iteration medians are reported under ``ipopt_iterations`` (the paper compares
    IPOPT iterations), with the failed solves and solver statuses per surrogate
    under ``ipopt``. With ``exact_relu_pass`` the ReLU surrogates (ICLRNN) are
    run once more with IPOPT on the exact piecewise-linear network, reported under
    ``ipopt_exact_relu``, ``ipopt_iterations_exact_relu`` and
    ``ipopt_failed_solves_exact_relu``. ``settings.horizon=None`` (the default) is
    the reference's 2 moves: the surrogates are trained on
    ``cstr_dataset(moves=horizon)``.
    """
    from iclcontrol.mpc.baseline import DoMPCController
    from iclcontrol.mpc.controller import SurrogateMPC
    from plants.cstr import CSTR

    s = reference_settings(settings)
    assert s.horizon is not None  # reference_settings fills it
    plant = CSTR()
    results: dict[str, Any] = {"controllers": {}}
    frames: dict[str, list[Any]] = {}
    for kind in kinds:
        model = train_surrogate(
            kind,
            moves=s.horizon,
            hidden=hidden,
            budget_s=budget_s,
            cache=cache,
            retrain=retrain,
            log=log,
        )
        ctl = SurrogateMPC(model, plant, s)
        log(f"[mpc] closed loops with the {kind} LMPC ({s.solver})")
        pooled, fr = run_controller(ctl, plant, REFERENCE_X0, steps)
        pooled["convex"] = ctl.convexity.convex
        pooled["test_mse_scaled"] = getattr(model, "fit_info_", {}).get("best_val_loss")
        results["controllers"][kind] = pooled
        frames[kind] = fr
        if ipopt_pass and s.solver != "ipopt":
            log(f"[mpc] closed loops with the {kind} LMPC (ipopt, iteration count)")
            ip = SurrogateMPC(model, plant, replace(s, solver="ipopt"))
            ip_pooled, _ = run_controller(ip, plant, REFERENCE_X0, steps)
            ip_pooled.pop("runs")
            ip_pooled["relu_smoothing"] = getattr(ip.solver, "relu_smoothing", 0.0)
            results.setdefault("ipopt", {})[kind] = ip_pooled
            if exact_relu_pass and ip_pooled["relu_smoothing"] > 0:
                log(f"[mpc] closed loops with the {kind} LMPC (ipopt, exact ReLU)")
                ipx = SurrogateMPC(
                    model, plant, replace(s, solver="ipopt", relu_smoothing=0.0)
                )
                ipx_pooled, _ = run_controller(ipx, plant, REFERENCE_X0, steps)
                ipx_pooled.pop("runs")
                results.setdefault("ipopt_exact_relu", {})[kind] = ipx_pooled
    if include_dompc:
        log("[mpc] closed loops with the do-mpc first-principles NMPC")
        base_ctl = DoMPCController(plant, s)
        pooled, fr = run_controller(base_ctl, plant, REFERENCE_X0, steps)
        results["controllers"]["dompc"] = pooled
        frames["dompc"] = fr
        base = pooled
        # for reference: the same NMPC without the Lyapunov constraint (the simpler
        # problem REFERENCE.md's 1.8 ms was measured on)
        log("[mpc] closed loops with the do-mpc NMPC without the Lyapunov constraint")
        plain = DoMPCController(plant, replace(s, lyapunov=False))
        plain_pooled, _ = run_controller(plain, plant, REFERENCE_X0, steps)
        results["controllers"]["dompc_no_lyapunov"] = plain_pooled
        results["ratio_iclrnn_to_dompc_no_lyapunov"] = (
            results["controllers"]["iclrnn"]["median_solve_ms"]
            / max(plain_pooled["median_solve_ms"], 1e-12)
            if "iclrnn" in results["controllers"]
            else None
        )
        for kind in kinds:
            c = results["controllers"][kind]
            results[f"ratio_{kind}_to_dompc"] = c["median_solve_ms"] / max(
                base["median_solve_ms"], 1e-12
            )
            results[f"cost_ratio_{kind}_to_dompc"] = c["closed_loop_cost"] / max(
                base["closed_loop_cost"], 1e-12
            )
    results["median_solve_ms"] = {
        k: v["median_solve_ms"] for k, v in results["controllers"].items()
    }
    results["iterations"] = {
        k: v["median_iterations"] for k, v in results["controllers"].items()
    }
    if "iclrnn" in kinds:
        others = [results["iterations"][k] for k in kinds if k != "iclrnn"]
        results["iclrnn_iterations_le_baselines"] = bool(
            all(results["iterations"]["iclrnn"] <= o for o in others)
        )
    if "ipopt" in results:
        results["ipopt_iterations"] = {
            k: v["median_iterations"] for k, v in results["ipopt"].items()
        }
        if "iclrnn" in results["ipopt"]:
            it = results["ipopt_iterations"]
            results["iclrnn_ipopt_iterations_le_baselines"] = bool(
                all(it["iclrnn"] <= it[k] for k in it if k != "iclrnn")
            )
        results["ipopt_failed_solves"] = {
            k: v["failed_solves"] for k, v in results["ipopt"].items()
        }
    if results.get("ipopt_exact_relu"):
        ex = results["ipopt_exact_relu"]
        results["ipopt_iterations_exact_relu"] = {
            k: v["median_iterations"] for k, v in ex.items()
        }
        results["ipopt_failed_solves_exact_relu"] = {
            k: v["failed_solves"] for k, v in ex.items()
        }
    results["paper_seconds_per_step_iclrnn"] = 72.0
    if "iclrnn" in kinds:
        results["speedup_vs_paper_iclrnn"] = 72.0e3 / max(
            results["controllers"]["iclrnn"]["median_solve_ms"], 1e-12
        )
    results["settings"] = s.to_dict()
    results["steps"] = steps
    results["_frames"] = frames
    return results


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write a JSON file (NaN allowed), dropping private ``_`` keys."""
    clean = {k: v for k, v in payload.items() if not k.startswith("_")}
    Path(path).write_text(json.dumps(clean, indent=1, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
