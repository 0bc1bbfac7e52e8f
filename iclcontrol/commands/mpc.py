"""CLI: ``iclcontrol mpc``, ``iclcontrol bench mpc``, ``iclcontrol run`` (main job)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from iclcontrol.commands.common import (
    bound_tuple,
    check_out_path,
    choice_list,
    model_folder,
    non_negative_float,
    number_tuple,
    out_folder,
    positive_float,
    positive_int,
    print_json,
)
from iclcontrol.commands.models import MODEL_KINDS
from iclcontrol.exceptions import ConfigError


def _add_mpc_options(
    p: argparse.ArgumentParser, horizon_from_model: bool = False
) -> None:
    p.add_argument(
        "--solver",
        default="gn_sqp",
        choices=["gn_sqp", "ipopt", "sqpmethod"],
        help="gn_sqp: Gauss-Newton SQP (fast); ipopt: exact-Hessian reference; "
        "sqpmethod: CasADi SQP, exact Hessian",
    )
    p.add_argument(
        "--prediction",
        default="sequence",
        choices=["sequence", "rollout"],
        help="one network evaluation over the horizon, or the model rolled per move",
    )
    if horizon_from_model:
        p.add_argument(
            "--horizon",
            type=positive_int,
            default=None,
            help="control moves (default: the moves the model was trained on, at "
            "most 2, the reference, with --prediction sequence: 1 for a model of "
            "the default `iclcontrol data cstr` dataset; 2 with --prediction "
            "rollout; a model that does not record its steps per move is read at "
            "10 per move; the "
            "same rule as MPCSettings(horizon=None)); with --prediction sequence, "
            "horizon x steps-per-move network steps beyond the steps the model "
            "was trained on give a warning",
        )
    else:
        p.add_argument(
            "--horizon",
            type=positive_int,
            default=2,
            help="control moves; with --prediction sequence, horizon x 10 network "
            "steps must not exceed the steps the model was trained on (else a "
            "warning)",
        )
    p.add_argument(
        "--jit",
        action="store_true",
        help="JIT-compile with gcc: seconds for gn_sqp, minutes for ipopt and "
        "sqpmethod (their exact Hessian; 204 s for a 2x64 ICLRNN)",
    )
    p.add_argument(
        "--no-lyapunov", action="store_true", help="drop V(x_pred) <= V(x_now)"
    )
    p.add_argument("--no-offset-free", action="store_true", help="no drift estimate")
    p.add_argument(
        "--relu-smoothing",
        type=non_negative_float,
        default=None,
        help="ipopt/sqpmethod: softplus temperature with which ReLU networks are "
        "solved (default 1e-3; 0: the exact piecewise-linear network, on which "
        "IPOPT often cycles at kinks; results are checked on the exact network)",
    )


def _settings(args: argparse.Namespace, **more: Any) -> Any:
    """The MPCSettings of the shared options, with ``more`` fields on top."""
    from iclcontrol.mpc.settings import MPCSettings

    fields = {
        "horizon": args.horizon,
        "prediction": args.prediction,
        "solver": args.solver,
        "jit": args.jit,
        "lyapunov": not args.no_lyapunov,
        "offset_free": not args.no_offset_free,
        "relu_smoothing": args.relu_smoothing,
    }
    return MPCSettings(**{**fields, **more})


def _own_cost(settings: Any) -> bool:
    """True if the stage cost is not the reference one (setpoint or weights set):
    the published metrics then do not measure what the controller was asked."""
    from iclcontrol.mpc.settings import MPCSettings

    reference = MPCSettings()
    return (
        any(settings.state_setpoint or ())
        or any(settings.input_setpoint or ())
        or settings.state_weights != reference.state_weights
        or settings.input_weights != reference.input_weights
    )


def _bench_subparsers(subparsers: argparse._SubParsersAction) -> Any:
    """The ``bench`` subcommand's own subparsers (shared with other areas)."""
    bench = subparsers.choices.get("bench")
    if bench is None:
        bench = subparsers.add_parser("bench", help="benchmarks printing JSON")
        return bench.add_subparsers(dest="bench_command", required=True)
    for action in bench._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return bench.add_subparsers(dest="bench_command", required=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    mpc = subparsers.add_parser(
        "mpc", help="closed-loop MPC of a plant with a trained surrogate"
    )
    mpc.add_argument("--model", required=True, help="model folder (or run folder)")
    mpc.add_argument(
        "--plant",
        default="cstr",
        help="plant simulator: cstr, the reference CSTR (states CA [kmol/m^3], "
        "T [K]; inputs CA0, Q; deviations from the steady state; 0.005 h periods), "
        "or your plants.base.Plant subclass as module:Class (importable) or "
        "path/to/file.py:Class, built with no arguments; with your plant the "
        "options below take one number per state (input) in its order and units, "
        "--setpoint and --input-setpoint default to its x_steady and u_steady, the "
        "weights to 1 per state and 0 per input, and the Lyapunov constraint is on "
        "only if it defines lyapunov_P",
    )
    mpc.add_argument(
        "--x0",
        required=True,
        help="initial state, one number per state: CA,T as deviations for the "
        "CSTR (use --x0=-1.5,70); must be physically valid (CSTR: CA >= -1.9537, "
        "T >= -401.87); a warning if V(x0) > 372, outside the stability region",
    )
    mpc.add_argument("--steps", type=positive_int, default=30, help="sampling periods")
    mpc.add_argument(
        "--plant-method",
        default=None,
        choices=["euler", "rk4", "cvodes"],
        help="integration of the plant: euler (dt 1e-4 h, the paper's data), rk4, "
        "or cvodes (SUNDIALS, accurate where the explicit schemes diverge) "
        "(default: euler for the CSTR, the method of your plant's class; not for "
        "a plant that overrides step with its own integration)",
    )
    mpc.add_argument(
        "--steps-per-move",
        type=positive_int,
        default=None,
        help="records per sampling period in the model's training sequences "
        "(default: the model's, recorded from its dataset; for a model that does "
        "not record it, 10 for the CSTR and 1 for your plant, with a warning, as "
        "MPCSettings(steps_per_move=None) does); a value that "
        "differs from the model's is an error",
    )
    mpc.add_argument(
        "--setpoint",
        default=None,
        help="state setpoint CA,T as deviations [kmol/m^3, K] (default: 0,0, the "
        "steady state; use --setpoint=-0.5,10 for a negative first value); the "
        "Lyapunov constraint stays centred at the steady state: add --no-lyapunov "
        "to track the setpoint",
    )
    mpc.add_argument(
        "--input-setpoint",
        default=None,
        help="input target CA0,Q as deviations [kmol/m^3, kJ/h] of the input "
        "cost (default: 0,0)",
    )
    mpc.add_argument(
        "--state-weights",
        default=None,
        help="weights of the squared state errors, CA,T [1/unit^2] (default: "
        "1000,1, the reference)",
    )
    mpc.add_argument(
        "--input-weights",
        default=None,
        help="weights of the squared input errors, CA0,Q [1/unit^2] (default: "
        "1,3e-10, the reference; 0,0 for pure state tracking)",
    )
    for side, sign, word in (("lower", -1, "lowest"), ("upper", 1, "highest")):
        mpc.add_argument(
            f"--output-{side}",
            default=None,
            help=f"{word} predicted states CA,T as deviations [kmol/m^3, K] "
            "(soft constraints, on every predicted step; default: none); an "
            f"empty entry or {'-' if sign < 0 else ''}inf leaves that state free, "
            f"e.g. --output-{side}=,{'-' if sign < 0 else ''}30 bounds T only",
        )
    mpc.add_argument(
        "--out", type=out_folder, default=None, help="folder for CSV, JSON and plots"
    )
    mpc.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary last: the reference metrics, 'tracking' (around "
        "--setpoint, with the weights used) and 'run' (the settings used)",
    )
    _add_mpc_options(mpc, horizon_from_model=True)
    mpc.set_defaults(func=run_mpc, usage_error=mpc.error)

    sub = _bench_subparsers(subparsers)
    b = sub.add_parser(
        "mpc", help="LMPC with ICLRNN/RNN/LSTM surrogates vs do-mpc NMPC"
    )
    b.add_argument(
        "--steps",
        type=positive_int,
        default=30,
        help="closed-loop sampling periods (0.005 h each) per initial state",
    )
    b.add_argument(
        "--budget",
        type=positive_float,
        default=60.0,
        help="training budget per model [s]",
    )
    b.add_argument(
        "--hidden",
        type=positive_int,
        default=32,
        help="units per layer of the 2-layer models",
    )
    b.add_argument(
        "--kinds",
        type=choice_list(MODEL_KINDS),
        default="iclrnn,rnn,lstm",
        help="comma-separated surrogate kinds, from " + ",".join(MODEL_KINDS),
    )
    b.add_argument(
        "--cache",
        default=None,
        help="folder of trained surrogates reused across runs (default: "
        "$ICLCONTROL_CACHE/mpc, else ./datasets/cache/mpc if ./datasets exists, "
        "else ~/.cache/iclcontrol/mpc; '' turns the cache off)",
    )
    b.add_argument(
        "--retrain", action="store_true", help="train again even if --cache has a model"
    )
    b.add_argument(
        "--no-ipopt-pass",
        action="store_true",
        help="skip the IPOPT runs that count iterations per surrogate",
    )
    b.add_argument(
        "--no-exact-relu-pass",
        action="store_true",
        help="skip the extra IPOPT runs on the exact (unsmoothed) ReLU surrogates",
    )
    b.add_argument(
        "--out", type=out_folder, default=None, help="write bench.json and plots here"
    )
    b.add_argument("--json", action="store_true", help="print a JSON summary last")
    _add_mpc_options(b)
    b.set_defaults(func=run_bench)

    run = subparsers.add_parser(
        "run",
        help="main job: train an ICLRNN on the CSTR, run the LMPC, write a report",
    )
    run.add_argument(
        "--out", type=out_folder, default="runs/cstr-lmpc", help="run folder"
    )
    run.add_argument(
        "--budget",
        type=positive_float,
        default=90.0,
        help="training budget of the ICLRNN [s]",
    )
    run.add_argument(
        "--hidden",
        type=positive_int,
        default=32,
        help="units per layer of the 2-layer ICLRNN",
    )
    run.add_argument(
        "--steps",
        type=positive_int,
        default=30,
        help="closed-loop sampling periods (0.005 h each) per initial state",
    )
    run.add_argument("--no-baseline", action="store_true", help="skip do-mpc NMPC")
    run.add_argument("--json", action="store_true", help="print a JSON summary last")
    _add_mpc_options(run)
    run.set_defaults(func=run_main)


def _parse_x0(text: str, names: tuple[str, ...] = ("CA", "T")) -> list[float]:
    """``--x0``: one number per state ``names``."""
    count = {1: "one number", 2: "two numbers"}.get(len(names), f"{len(names)} numbers")
    expected = f"{count} {','.join(names)}"
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as err:
        raise ConfigError(f"--x0 must be {expected}, got {text!r}") from err
    if len(values) != len(names):
        raise ConfigError(f"--x0 must be {expected}, got {text!r}")
    return values


def _make_plant(args: argparse.Namespace) -> Any:
    """The plant of ``--plant`` with ``--plant-method`` applied."""
    from plants.cstr import CSTR
    from plants.loader import load_plant

    if args.plant == "cstr":
        return CSTR(method=args.plant_method or "euler")
    plant = load_plant(args.plant)
    if args.plant_method is not None:
        if plant.has_own_step():
            raise ConfigError(
                f"--plant-method {args.plant_method}: {type(plant).__name__} "
                "overrides step with its own integration, which --plant-method "
                "cannot change; leave --plant-method out, or remove the plant's "
                "step so that the default step integrates rhs with the method"
            )
        plant.method = args.plant_method
    return plant


def _plant_method(plant: Any) -> str | None:
    """How the closed loop integrates ``plant``: its ``method``, or None when the
    plant overrides ``step`` with its own integration (``method`` unused)."""
    return None if plant.has_own_step() else str(plant.method)


def _parse_vectors(args: argparse.Namespace, plant: Any) -> None:
    """Parse the per-state and per-input options with ``plant``'s names, in place.

    A bad value is a usage error naming the flag (exit status 2), as argparse
    reports it.
    """
    states, inputs = tuple(plant.state_names), tuple(plant.input_names)
    parsers = {
        "setpoint": number_tuple(states),
        "input_setpoint": number_tuple(inputs),
        "state_weights": number_tuple(states, minimum=0.0),
        "input_weights": number_tuple(inputs, minimum=0.0),
        "output_lower": bound_tuple(states, -1),
        "output_upper": bound_tuple(states, 1),
    }
    for dest, parse in parsers.items():
        text = getattr(args, dest)
        if text is None:
            continue
        try:
            setattr(args, dest, parse(text))
        except argparse.ArgumentTypeError as err:
            args.usage_error(f"argument --{dest.replace('_', '-')}: {err}")


def _load_model(path: str) -> Any:
    from iclcontrol.train import load

    return load(model_folder(path))


def _warn(message: str, kind: str = "warning") -> None:
    print(f"iclcontrol: {kind}: {message}", file=sys.stderr)


def run_mpc(args: argparse.Namespace) -> int:
    import json
    import warnings
    from dataclasses import replace

    import numpy as np

    from iclcontrol.commands.common import json_safe
    from iclcontrol.exceptions import IclControlWarning, SimulationError
    from iclcontrol.export import check_layout, get_spec
    from iclcontrol.mpc.closed_loop import (
        check_initial_state,
        closed_loop,
        constraint_limits,
        in_region_around,
        summarize,
    )
    from iclcontrol.mpc.controller import SurrogateMPC
    from iclcontrol.mpc.problem import resolve_settings
    from iclcontrol.mpc.settings import REFERENCE_HORIZON, MPCSettings
    from plants.base import outside_valid_states

    # everything that can be checked without the model, before any work
    plant = _make_plant(args)
    user_plant = args.plant != "cstr"
    _parse_vectors(args, plant)
    x0 = _parse_x0(args.x0, tuple(plant.state_names))
    if args.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {args.steps}")
    if args.out:
        check_out_path(args.out)
    x0_arr, notes = check_initial_state(plant, x0)
    deviations = ", deviations from the steady state" if plant.deviation_form else ""
    if args.setpoint is not None:
        outside = outside_valid_states(plant, np.asarray(args.setpoint))
        if outside:
            where = (
                f" (in {type(plant).__name__}'s units)"
                if user_plant
                else " (deviations from the steady state CAs=1.9537 kmol/m^3, "
                "Ts=401.87 K)"
            )
            raise ConfigError(
                f"--setpoint {','.join(f'{v:g}' for v in args.setpoint)} is not a "
                f"physically valid state: {'; '.join(outside)}{where}"
            )
    if args.input_setpoint is not None:
        outside = [
            f"{name}={v:g} {unit} not in [{lo:g}, {hi:g}]"
            for name, unit, v, lo, hi in zip(
                plant.input_names,
                plant.input_units,
                args.input_setpoint,
                plant.input_lower,
                plant.input_upper,
                strict=True,
            )
            if not lo <= v <= hi
        ]
        if outside:
            raise ConfigError(
                f"--input-setpoint is outside the plant's input bounds "
                f"({'; '.join(outside)}{deviations}): no "
                "input can reach it"
            )
    if args.output_lower is not None and args.output_upper is not None:
        crossed = [
            f"{name} {lo:g} > {hi:g}"
            for name, lo, hi in zip(
                plant.state_names, args.output_lower, args.output_upper, strict=True
            )
            if lo > hi
        ]
        if crossed:
            raise ConfigError(
                f"--output-lower exceeds --output-upper ({'; '.join(crossed)}): no "
                "prediction can meet both; swap them or widen the range"
            )
    fields = {
        "horizon": args.horizon,  # None: the model's (resolve_settings)
        "state_setpoint": args.setpoint,
        "input_setpoint": args.input_setpoint,
        "state_weights": args.state_weights or MPCSettings().state_weights,
        "input_weights": args.input_weights or MPCSettings().input_weights,
        "output_lower": args.output_lower,
        "output_upper": args.output_upper,
    }
    if user_plant:
        fields.update(_user_plant_settings(args, plant, notes))
    settings = _settings(args, **fields)
    # a wrong --model is the error, alone on stderr: no notes about x0 before it
    model = _load_model(args.model)
    check_layout(
        get_spec(model),
        tuple(plant.state_names),
        tuple(plant.input_names),
        f"MPC of {type(plant).__name__}",
    )
    # records per period: the model's own unless given (and then it must agree),
    # the plant's assumed ones with a warning if it records none; and the
    # horizon: --horizon, else the one rule of MPCSettings(horizon=None)
    with warnings.catch_warnings(record=True) as resolving:
        warnings.simplefilter("always", IclControlWarning)
        settings = resolve_settings(
            model,
            replace(settings, steps_per_move=args.steps_per_move),
            plant,
            option="--steps-per-move",
        )
    if args.relu_smoothing is not None and args.solver == "gn_sqp":
        _warn(
            "--relu-smoothing applies to --solver ipopt/sqpmethod only; gn_sqp "
            "solves the exact network and ignores it",
            "note",
        )
    shown: list[str] = []

    def show(message: str) -> None:
        if message not in shown:
            shown.append(message)
            _warn(message)

    for note in notes:
        show(note)
    for w in resolving:
        if issubclass(w.category, IclControlWarning):
            show(str(w.message))
        else:  # not ours: shown as Python shows it
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    data_command = f"plant --plant {args.plant}" if user_plant else "cstr"
    moves = settings.horizon  # resolved: an int
    if args.horizon is None and moves is not None and moves < REFERENCE_HORIZON:
        _warn(
            f"horizon {moves}: the model was trained on {moves}-move sequences "
            f"(--horizon 2 would extrapolate it; for 2 moves use --prediction "
            f"rollout or a model trained on `iclcontrol data {data_command} "
            "--moves 2`)",
            "note",
        )
    quiet = args.json

    def progress(k: int, row: dict[str, Any]) -> None:
        if not quiet and user_plant:
            print(_progress_line(k, row, plant), file=sys.stderr)
        elif not quiet:
            print(
                f"step {k:3d}: CA={row['CA']:+.4f} T={row['T']:+8.3f} "
                f"u=({row['CA0']:+.3f}, {row['Q']:+.3e}) {row['solve_ms']:.2f} ms "
                f"{row['status']}",
                file=sys.stderr,
            )

    error: SimulationError | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IclControlWarning)
        ctl = SurrogateMPC(model, plant, settings)
        for w in caught:
            show(str(w.message))
        try:
            frame = closed_loop(plant, ctl, x0_arr, args.steps, callback=progress)
        except SimulationError as err:
            if err.frame is None:
                raise
            error, frame = err, err.frame
    for w in caught:
        if issubclass(w.category, IclControlWarning):
            show(str(w.message))
        else:  # not ours: shown as Python shows it
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    summary = summarize(frame, plant, settings)
    summary["completed"] = error is None
    if error is not None:
        summary["error"] = str(error)
    summary["run"] = {
        "model": str(args.model),
        "plant": args.plant,
        "plant_method": _plant_method(plant),
        "x0": [float(v) for v in x0_arr],
        "steps": args.steps,
        "solver": settings.solver,
        "horizon": settings.horizon,
        "steps_per_move": settings.steps_per_move,
        "prediction": settings.prediction,
        "state_setpoint": _floats(settings.state_setpoint),
        "input_setpoint": _floats(settings.input_setpoint),
        "state_weights": _floats(settings.state_weights),
        "input_weights": _floats(settings.input_weights),
        "output_lower": _floats(settings.output_lower),
        "output_upper": _floats(settings.output_upper),
        "lyapunov": settings.lyapunov,
        "offset_free": settings.offset_free,
        "jit": settings.jit,
        "relu_smoothing": ctl.solver.relu_smoothing
        if hasattr(ctl.solver, "relu_smoothing")
        else None,
    }
    summary["convex"] = ctl.convexity.convex
    summary["convexity_reason"] = "; ".join(
        f"{item.component}: {item.reason}"
        for item in ctl.convexity.items
        if not item.convex
    )
    failed = summary["failed_solves"]
    if failed:
        statuses = frame.iloc[:-1].loc[
            ~frame.iloc[:-1]["success"].astype(bool), "status"
        ]
        counts = statuses.value_counts().to_dict()
        show(
            f"{failed} of {summary['steps']} solves failed ({counts}); the "
            f"controller applied fallback inputs there ({summary['fallbacks']} "
            "fallbacks)"
        )
    summary["warnings"] = shown
    summary["out"] = str(args.out) if args.out else None
    if args.out:
        from iclcontrol.mpc.plots import plot_phase_plane, plot_time_series

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        region = (
            in_region_around(frame, plant, summary["tracking"]["state_setpoint"])
            if any(settings.state_setpoint or ())
            else None
        )
        if region is not None:
            # in_setpoint_region is the reference region around the steady state
            frame["in_region_around_setpoint"] = region
        frame.to_csv(out / "closed_loop.csv", index=False)
        metrics = {**summary, "settings": settings.to_dict()}
        (out / "metrics.json").write_text(
            json.dumps(json_safe(metrics), indent=1, default=str)
        )
        if error is None:
            sp = settings.state_setpoint
            drawn: dict[str, Any] = {"plant": plant} if user_plant else {}
            # the output bounds this run had and the plant's input bounds
            drawn["limits"] = constraint_limits(plant, settings)
            plot_time_series(
                {"surrogate MPC": frame},
                path=out / "time_series.png",
                setpoint=sp,
                **drawn,
            )
            if plant.n_states >= 2:
                plot_phase_plane(
                    {"surrogate MPC": frame},
                    path=out / "phase_plane.png",
                    setpoint=sp,
                    **drawn,
                )
    if error is not None:
        where = f"; the {len(frame) - 1} computed steps are in {args.out}"
        fix = (
            f"; on the command line --plant-method cvodes integrates where "
            f"{plant.method} diverges"
            if _plant_method(plant) not in (None, "cvodes")
            else ""
        )
        raise SimulationError(f"{error}{fix}{where if args.out else ''}") from error
    if args.json:
        print_json(summary)
    else:
        print(_summary_line(summary, user_plant or _own_cost(settings)))
    return 0


def _user_plant_settings(
    args: argparse.Namespace, plant: Any, notes: list[str]
) -> dict[str, Any]:
    """MPCSettings fields for a user's plant where the defaults are the CSTR's:
    setpoints at its steady state, unit state weights, zero input weights, the
    Lyapunov constraint only with its own ``lyapunov_P`` (records per period are
    the model's, resolved in :func:`run_mpc`).
    """
    import numpy as np

    P = getattr(plant, "lyapunov_P", None)
    fields: dict[str, Any] = {
        "state_setpoint": args.setpoint or tuple(map(float, plant.x_steady)),
        "input_setpoint": args.input_setpoint or tuple(map(float, plant.u_steady)),
        "state_weights": args.state_weights or (1.0,) * plant.n_states,
        "input_weights": args.input_weights or (0.0,) * plant.n_inputs,
        "lyapunov": P is not None and not args.no_lyapunov,
    }
    if P is not None:
        fields["lyapunov_P"] = tuple(map(tuple, np.asarray(P, dtype=float).tolist()))
    elif not args.no_lyapunov:
        notes.append(
            f"{type(plant).__name__} defines no lyapunov_P: no Lyapunov constraint"
        )
    return fields


def _progress_line(k: int, row: dict[str, Any], plant: Any) -> str:
    """One ``iclcontrol mpc`` progress line for any plant: states, inputs."""
    states = " ".join(f"{n}={row[n]:+.5g}" for n in plant.state_names)
    inputs = ", ".join(f"{row[n]:+.4g}" for n in plant.input_names)
    return (
        f"step {k:3d}: {states} u=({inputs}) {row['solve_ms']:.2f} ms {row['status']}"
    )


def _floats(values: Any) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


def _summary_line(summary: dict[str, Any], own_cost: bool) -> str:
    """One line of ``iclcontrol mpc``'s text output.

    With the reference cost the region and cost are the published metrics; with
    the user's setpoint or weights they come from ``summary["tracking"]`` and the
    published ones are labelled as what they are (around the steady state).
    """

    def steps(n: int | None) -> str:
        return "not reached" if n is None else str(n)

    head = f"median {summary['median_solve_ms']:.2f} ms/step, "
    tail = (
        f"failed solves {summary['failed_solves']} of {summary['steps']}, "
        f"fallbacks {summary['fallbacks']}"
    )
    if not own_cost:
        return (
            f"{head}steps to the setpoint region "
            f"{steps(summary['steps_to_region'])}, cost "
            f"{summary['closed_loop_cost']:.4g}, {tail}"
        )
    tr = summary["tracking"]
    at = ", ".join(f"{v:g}" for v in tr["state_setpoint"])
    if summary["closed_loop_cost"] is None:  # a plant without reference metrics
        return (
            f"{head}steps to the region around the setpoint ({at}) "
            f"{steps(tr['steps_to_setpoint_region'])}, cost with these weights and "
            f"setpoints {tr['cost']:.4g}; {tail}"
        )
    return (
        f"{head}steps to the region around the setpoint ({at}) "
        f"{steps(tr['steps_to_setpoint_region'])}, cost with these weights and "
        f"setpoints {tr['cost']:.4g}; reference metrics (region around the steady "
        f"state, reference weights): steps {steps(summary['steps_to_region'])}, "
        f"cost {summary['closed_loop_cost']:.4g}; {tail}"
    )


def run_bench(args: argparse.Namespace) -> int:
    from iclcontrol.mpc.benchmark import bench_mpc, write_json

    if args.out:
        check_out_path(args.out)
    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    results = bench_mpc(
        kinds=args.kinds,
        steps=args.steps,
        budget_s=args.budget,
        hidden=args.hidden,
        settings=_settings(args),
        cache=args.cache,
        retrain=args.retrain,
        ipopt_pass=not args.no_ipopt_pass,
        exact_relu_pass=not args.no_exact_relu_pass,
        log=log,
    )
    frames = results.pop("_frames")
    if args.out:
        from iclcontrol.mpc.plots import plot_solve_times

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "bench.json", results)
        import numpy as np

        plot_solve_times(
            {
                k: np.concatenate([f["solve_ms"].to_numpy()[:-1] for f in fr])
                for k, fr in frames.items()
            },
            path=out / "solve_times.png",
        )
    summary = {k: v for k, v in results.items() if k != "controllers"}
    summary["controllers"] = {
        k: {kk: vv for kk, vv in v.items() if kk != "runs"}
        for k, v in results["controllers"].items()
    }
    summary["runs"] = {k: v["runs"] for k, v in results["controllers"].items()}
    summary["out"] = str(args.out) if args.out else None
    if args.json:
        print_json(summary)
    else:
        for k, v in summary["controllers"].items():
            print(
                f"{k:8s} median {v['median_solve_ms']:7.2f} ms  iterations "
                f"{v['median_iterations']:4g}  cost {v['closed_loop_cost']:.4g}  "
                f"fallbacks {v['fallbacks']}"
            )
        for k, v in summary.items():
            if k.startswith(("ratio_", "cost_ratio_")):
                print(f"{k} = {v:.3f}" if v is not None else f"{k} = n/a")
        for key in ("ipopt", "ipopt_exact_relu"):
            for k, v in summary.get(key, {}).items():
                print(
                    f"{key} {k:8s} median iterations {v['median_iterations']:4g}  "
                    f"failed solves {v['failed_solves']}  statuses {v['status_counts']}"
                )
    return 0


def run_main(args: argparse.Namespace) -> int:
    from iclcontrol.report import run_report

    check_out_path(args.out)
    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    metrics = run_report(
        out=args.out,
        budget_s=args.budget,
        hidden=args.hidden,
        steps=args.steps,
        settings=_settings(args),
        baseline=not args.no_baseline,
        log=log,
    )
    if args.json:
        lm = metrics["iclrnn_lmpc"]
        print_json(
            {
                "out": str(args.out),
                "report": str(Path(args.out) / "report.md"),
                "median_solve_ms": lm["median_solve_ms"],
                "fallbacks": lm["fallbacks"],
                "steps_to_region": {
                    k: v["steps_to_region"] for k, v in lm["runs"].items()
                },
                "ratio_iclrnn_to_dompc": metrics.get("ratio_iclrnn_to_dompc"),
                "cost_ratio_iclrnn_to_dompc": metrics.get("cost_ratio_iclrnn_to_dompc"),
                "seconds_total": metrics["seconds_total"],
            }
        )
    return 0
