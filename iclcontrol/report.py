"""The main job: train an ICLRNN on the CSTR, close the LMPC loop, write a report.

``iclcontrol run --out runs/demo`` (or :func:`run_report`) does, printing where it is:

1. build the CSTR dataset with two moves per sample (the MPC horizon) and train a
   small ICLRNN with :class:`iclcontrol.train.SurrogateModel` on a short budget;
2. certify it (convexity, Lipschitz bound) and export it to CasADi;
3. run the Lyapunov-based MPC on the surrogate from both reference initial states
   (CA, T) = (1.5, -70) and (-1.5, 70), and the do-mpc first-principles NMPC on the
   same problem for comparison;
4. write ``report.md`` with plots (PNG), ``metrics.json``, ``config.json``, the
   closed-loop tables (CSV) and the model folder into the run directory.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from iclcontrol.commands.common import json_safe
from iclcontrol.mpc.benchmark import REFERENCE_X0, reference_settings, run_controller
from iclcontrol.mpc.settings import MPCSettings


def run_report(
    out: str | Path = "runs/cstr-lmpc",
    budget_s: float = 90.0,
    hidden: int = 32,
    steps: int = 30,
    settings: MPCSettings | None = None,
    baseline: bool = True,
    random_state: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train, control, and write the report; return the metrics.

    Parameters
    ----------
    out : str or Path
        Run directory (created; a previous run's report.md and metrics.json in it
        are removed first, and written again when this run completes).
    budget_s : float
        Training budget of the ICLRNN. [s]
    hidden : int
        Units per layer of the 2-layer ICLRNN.
    steps : int
        Closed-loop sampling periods from each initial state.
    settings : MPCSettings, optional
        MPC formulation and solver (default: the reference LMPC, horizon 2,
        Gauss-Newton SQP); ``horizon=None`` (``MPCSettings()``'s default) is the
        reference's 2 moves, the moves per sample of the dataset built here.
    baseline : bool
        Also run the do-mpc first-principles NMPC.
    random_state : int
        Seed of the data split and the training.
    log : callable
        Progress messages.

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    from iclcontrol.data import cstr_dataset
    from iclcontrol.mpc.baseline import DoMPCController
    from iclcontrol.mpc.closed_loop import constraint_limits
    from iclcontrol.mpc.controller import SurrogateMPC
    from iclcontrol.mpc.plots import (
        plot_phase_plane,
        plot_solve_times,
        plot_time_series,
    )
    from iclcontrol.train import SurrogateModel
    from plants.cstr import CSTR

    start = time.perf_counter()
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    # a previous run's results go first: if this run stops (Ctrl-C, an error),
    # the folder must not look complete with the old report beside the new config
    for name in ("report.md", "metrics.json"):
        (run / name).unlink(missing_ok=True)
    # horizon and steps_per_move set before the model: they build its data
    s = reference_settings(settings)
    config = {
        "budget_s": budget_s,
        "hidden": hidden,
        "layers": 2,
        "steps": steps,
        "random_state": random_state,
        "mpc": s.to_dict(),
        "python": platform.python_version(),
    }
    # unbounded output bounds (inf) as null: strict JSON, loads back unbounded
    (run / "config.json").write_text(json.dumps(json_safe(config), indent=1))

    log(f"[1/4] building the CSTR dataset ({s.horizon} moves per sample)")
    assert s.horizon is not None  # reference_settings fills it
    dataset = cstr_dataset(moves=s.horizon, random_state=random_state)
    log(f"      {dataset.n_samples} samples of {dataset.X.shape[1]} steps")
    log(f"[2/4] training a 2x{hidden} ICLRNN for up to {budget_s:g} s")
    t0 = time.perf_counter()
    model = SurrogateModel(
        "iclrnn",
        hidden=hidden,
        layers=2,
        time_budget_s=budget_s,
        random_state=random_state,
        verbose=False,
    ).fit(dataset)
    fit_s = time.perf_counter() - t0  # training plus certificate
    info = model.fit_info_
    train_s = float(info["train_seconds"])  # the training loop, as budgeted
    test = model.evaluate(dataset)
    model.save(run / "model")
    cert = getattr(model, "certificate_", None)
    cert_d = cert.to_dict() if cert is not None and hasattr(cert, "to_dict") else {}
    log(
        f"      trained {train_s:.0f} s ({info['epochs']} epochs, stopped by "
        f"{info['stop_reason']}; {fit_s:.0f} s with data preparation and "
        f"certificate), scaled test MSE {test['scaled']:.2e}, "
        f"convex: {cert_d.get('convex')}"
    )

    plant = CSTR()
    log(f"[3/4] LMPC closed loops on the ICLRNN ({s.solver}, {steps} steps each)")
    ctl = SurrogateMPC(model, plant, s)
    pooled, frames = run_controller(ctl, plant, REFERENCE_X0, steps)
    for key, m in pooled["runs"].items():
        n = m["steps_to_region"]
        region = f"not reached in {steps} steps" if n is None else f"after {n} steps"
        log(
            f"      {key}: setpoint region {region}, "
            f"median {m['median_solve_ms']:.2f} ms/step, "
            f"{m['fallbacks']} fallbacks"
        )
    all_frames = {"ICLRNN-LMPC": frames}
    solve_ms = {"ICLRNN-LMPC": np.concatenate([f["solve_ms"][:-1] for f in frames])}
    base_pooled = None
    if baseline:
        log("      do-mpc first-principles NMPC on the same problem")
        base = DoMPCController(plant, s)
        base_pooled, base_frames = run_controller(base, plant, REFERENCE_X0, steps)
        all_frames["do-mpc NMPC"] = base_frames
        solve_ms["do-mpc NMPC"] = np.concatenate(
            [f["solve_ms"][:-1] for f in base_frames]
        )

    log("[4/4] writing plots, tables and the report")
    # both controllers had these: the output bounds of s, the CSTR's input box
    limits = constraint_limits(plant, s)
    figs = {}
    for i, x0 in enumerate(REFERENCE_X0):
        tag = f"x0_{x0[0]:g}_{x0[1]:g}".replace("-", "m")
        by_label = {label: fr[i] for label, fr in all_frames.items()}
        for label, fr in by_label.items():
            safe = label.split()[0].lower().replace("-", "_")
            fr.to_csv(run / f"closed_loop_{safe}_{tag}.csv", index=False)
        p = run / f"time_series_{tag}.png"
        plot_time_series(
            by_label,
            path=p,
            title=f"closed loop from (CA, T) = ({x0[0]:g}, {x0[1]:g})",
            limits=limits,
        )
        figs[f"States and inputs from (CA, T) = ({x0[0]:g}, {x0[1]:g})"] = p.name
    p = run / "phase_plane.png"
    plot_phase_plane(
        {
            f"{label} x0=({x0[0]:g}, {x0[1]:g})": fr[i]
            for label, fr in all_frames.items()
            for i, x0 in enumerate(REFERENCE_X0)
        },
        path=p,
        limits=limits,
    )
    figs["Phase plane with the stability region V(x) <= 372"] = p.name
    p = run / "solve_times.png"
    plot_solve_times(solve_ms, path=p)
    figs["Time per MPC step"] = p.name

    metrics: dict[str, Any] = {
        "model": {
            "kind": "iclrnn",
            "hidden": hidden,
            "train_seconds": train_s,
            "fit_seconds": fit_s,
            "epochs": info["epochs"],
            "stop_reason": info["stop_reason"],
            "test_mse_scaled": test["scaled"],
            "test_mse_physical": test.get("physical"),
            "certificate": cert_d,
        },
        "convexity": ctl.convexity.to_dict(),
        "iclrnn_lmpc": pooled,
        "dompc_nmpc": base_pooled,
        "seconds_total": None,
    }
    if base_pooled is not None:
        metrics["ratio_iclrnn_to_dompc"] = pooled["median_solve_ms"] / max(
            base_pooled["median_solve_ms"], 1e-12
        )
        metrics["cost_ratio_iclrnn_to_dompc"] = pooled["closed_loop_cost"] / max(
            base_pooled["closed_loop_cost"], 1e-12
        )
    metrics["seconds_total"] = time.perf_counter() - start
    (run / "metrics.json").write_text(
        json.dumps(metrics, indent=1, default=_json_default)
    )
    (run / "report.md").write_text(_markdown(metrics, figs, config, ctl))
    log(f"done in {metrics['seconds_total']:.0f} s: {run / 'report.md'}")
    return metrics


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _problem_text(mpc: dict[str, Any]) -> str:
    """The MPC problem in words, from ``MPCSettings.to_dict()`` (the run's
    ``config.json``), so that it follows the options the run was given.

    Parameters
    ----------
    mpc : dict
        ``MPCSettings.to_dict()``: ``horizon``, ``state_weights`` (CA, T),
        ``input_weights`` (CA0, Q), ``cost_steps``, ``lyapunov``,
        ``soft_constraints``, ``prediction``, ``solver``, ``offset_free``,
        ``output_lower``/``output_upper`` (entries None or infinite: unbounded).

    Returns
    -------
    str
        One paragraph of markdown.
    """
    h = int(mpc["horizon"])
    (w_ca, w_t), (w_u1, w_u2) = mpc["state_weights"], mpc["input_weights"]
    where = (
        "at the end of each move"
        if mpc["cost_steps"] == "move_end"
        else "at every network step"
    )
    kind = "soft" if mpc["soft_constraints"] else "hard"
    if mpc["lyapunov"]:
        lyapunov = f"{kind} Lyapunov constraint V(x_pred) <= V(x_now)"
    else:
        lyapunov = "no Lyapunov constraint"
    prediction = (
        "one network evaluation over the whole horizon"
        if mpc["prediction"] == "sequence"
        else "the one-period model rolled out move by move"
    )
    name = "Reference LMPC" if mpc["lyapunov"] else "MPC"
    bounds = [
        f"{state} {op} {value:g}"
        for key, op in (("output_lower", ">="), ("output_upper", "<="))
        for state, value in zip(("CA", "T"), mpc.get(key) or (), strict=False)
        if value is not None and np.isfinite(value)
    ]
    outputs = (
        f"{kind} output bounds {', '.join(bounds)} (deviations; red lines in the plots)"
        if bounds
        else "no output bounds"
    )
    return (
        f"{name}: sampling 0.005 h, horizon {h} move{'s' if h != 1 else ''} "
        f"({prediction}), cost {w_t:g} T^2 + {w_ca:g} CA^2 on the predicted state "
        f"{where} plus {w_u1:g} u1^2 + {w_u2:g} u2^2 per move, {lyapunov}, "
        f"{outputs}, inputs u1 "
        "= CA0 - CA0s in [-3.5, 3.5] kmol/m^3, u2 = Q - Qs in [-5e5, 5e5] kJ/h, "
        f"decision variables scaled to [-1, 1]. Solver: `{mpc['solver']}`, "
        f"offset-free: {mpc['offset_free']}."
    )


def _certificate_lines(cert: dict[str, Any]) -> list[str]:
    """Markdown bullets of a certificate (``Certificate.to_dict()`` form): the
    verdict with its whole reason and the Lipschitz bounds; all fields are in
    ``metrics.json``."""
    from iclcontrol.models.certificate import Certificate

    if not cert:
        return ["- certificate: not available"]
    summary = Certificate.from_dict(cert).summary().splitlines()[1:]
    return ["- certificate (every field in `metrics.json`):"] + [
        f"  - {line.strip()}" for line in summary
    ]


def _markdown(
    metrics: dict[str, Any], figs: dict[str, str], config: dict[str, Any], ctl: Any
) -> str:
    m = metrics["model"]
    lm = metrics["iclrnn_lmpc"]
    base = metrics.get("dompc_nmpc")
    lines = [
        "# ICLRNN surrogate LMPC of the CSTR",
        "",
        f"Run of {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
        f"{metrics['seconds_total']:.0f} s in total.",
        "",
        "## Surrogate",
        "",
        f"- 2x{m['hidden']} ICLRNN trained {m['train_seconds']:.0f} s "
        f"({m['epochs']} epochs, stopped by {m['stop_reason']}) on "
        f"`cstr_dataset(moves={config['mpc']['horizon']})` (whole MPC horizons, "
        "initial state held in the "
        "features, piecewise-constant inputs)",
        f"- scaled test MSE: {m['test_mse_scaled']:.2e}",
        *_certificate_lines(m["certificate"]),
        "",
        "## MPC problem",
        "",
        _problem_text(config["mpc"]),
        "",
        "```",
        str(ctl.convexity),
        "```",
        "",
        "## Closed loop",
        "",
        "| controller | x0 (CA, T) | steps to region | final state | cost | median ms"
        " | p95 ms | median iterations | fallbacks |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def region(r: dict[str, Any]) -> str:
        # "never" would overstate a short run: it is "not within the steps run"
        n = r["steps_to_region"]
        return f"not in {r['steps']} steps" if n is None else str(n)

    def rows(label: str, pooled: dict[str, Any]) -> None:
        for key, r in pooled["runs"].items():
            fs = ", ".join(f"{v:.3g}" for v in r["final_state"])
            lines.append(
                f"| {label} | {key[3:]} | {region(r)} | ({fs}) | "
                f"{r['closed_loop_cost']:.4g} | {r['median_solve_ms']:.2f} | "
                f"{r['p95_solve_ms']:.2f} | {r['median_iterations']:g} | "
                f"{r['fallbacks']} |"
            )

    rows("ICLRNN LMPC", lm)
    if base:
        rows("do-mpc NMPC", base)
    lines.append("")
    if base:
        lines += [
            f"Median time per MPC step: ICLRNN {lm['median_solve_ms']:.2f} ms, do-mpc "
            f"{base['median_solve_ms']:.2f} ms (ICLRNN / do-mpc "
            f"{metrics['ratio_iclrnn_to_dompc']:.2f}). Closed-loop cost over both "
            f"runs: ICLRNN {lm['closed_loop_cost']:.4g}, do-mpc "
            f"{base['closed_loop_cost']:.4g} (ICLRNN / do-mpc "
            f"{metrics['cost_ratio_iclrnn_to_dompc']:.3f}). The paper's reference "
            "implementation needed 72 s per step.",
            "",
        ]
    for caption, name in figs.items():
        lines += [f"{caption}:", "", f"![{caption}]({name})", ""]
    lines += [
        "Files: `metrics.json`, `config.json`, `closed_loop_*.csv`, `model/`.",
        "",
    ]
    return "\n".join(lines)
