"""``iclcontrol train``, ``iclcontrol certify``, ``iclcontrol study noise``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from iclcontrol.commands.common import (
    check_out_path,
    json_safe,
    model_folder,
    name_list,
    non_negative_float,
    non_negative_float_list,
    non_negative_int,
    out_folder,
    positive_float,
    positive_int,
    print_json,
)
from iclcontrol.exceptions import DataError, ModelFileError

#: Model kinds accepted by ``--model`` (kept here so that ``--help`` does not import
#: torch; tests check it equals ``iclcontrol.models.networks.KINDS``).
MODEL_KINDS = ("iclrnn", "icrnn", "lrnn", "rnn", "lstm", "ficnn")


def _g(value: float | None) -> str:
    """A bound for people: 4 significant digits, "n/a" when there is none."""
    return "n/a" if value is None else f"{value:.4g}"


def _add_select_argument(parser: argparse.ArgumentParser, per: str) -> None:
    """``--select NAME=V1,V2`` (repeatable): a grid chosen on the validation split
    (:func:`iclcontrol.selection.parse_grid`); ``per`` completes the help text."""
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="choose a training setting on the validation split (repeatable, one "
        "grid: e.g. --select hidden=32,64 --select batch_size=64,256 fits 4 "
        f"candidates{per}, each for the full --time-budget, and keeps the lowest "
        "validation loss; overrides the same option given alone)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train a surrogate model on a dataset folder"
    )
    train.add_argument(
        "--data",
        required=True,
        help="dataset folder (iclcontrol data ...), or 'cstr' for the reference set",
    )
    train.add_argument(
        "--model", default="iclrnn", choices=MODEL_KINDS, help="model kind"
    )
    train.add_argument(
        "--hidden", type=positive_int, default=64, help="units per layer"
    )
    train.add_argument("--layers", type=positive_int, default=2, help="layers")
    train.add_argument(
        "--noise",
        type=non_negative_float,
        default=0.0,
        help="standard deviation of Gaussian noise added to the scaled training "
        "and validation targets (scaled units; test targets stay clean)",
    )
    train.add_argument(
        "--time-budget", type=positive_float, default=120.0, help="training budget [s]"
    )
    train.add_argument(
        "--max-epochs", type=positive_int, default=1000, help="epoch cap"
    )
    train.add_argument(
        "--lr", type=positive_float, default=5e-3, help="initial learning rate"
    )
    train.add_argument(
        "--batch-size", type=positive_int, default=64, help="minibatch size"
    )
    train.add_argument("--seed", type=int, default=0, help="random seed")
    _add_select_argument(train, "")
    train.add_argument(
        "--out", type=out_folder, required=True, help="run folder for the model"
    )
    train.add_argument("--json", action="store_true", help="print a JSON summary last")
    train.set_defaults(func=run_train)

    cert = subparsers.add_parser(
        "certify", help="convexity and Lipschitz certificate of a trained model"
    )
    cert.add_argument(
        "run",
        help="model folder written by 'iclcontrol train', or a run folder of "
        "'iclcontrol run' (its model/)",
    )
    cert.add_argument(
        "--midpoint",
        type=non_negative_int,
        default=200,
        help="random segments for the numerical midpoint convexity test (0: skip)",
    )
    cert.add_argument(
        "--seed", type=int, default=0, help="seed of the midpoint test's segments"
    )
    cert.add_argument("--json", action="store_true", help="print a JSON summary last")
    cert.set_defaults(func=run_certify)

    study = subparsers.add_parser("study", help="studies over models and settings")
    sub = study.add_subparsers(dest="study_command", required=True)
    about = (
        "noise-robustness study of the ICLRNN paper: every model kind is trained on "
        "the CSTR dataset (or --data) with Gaussian noise of each standard "
        "deviation added to the scaled training and validation targets, under "
        "the same time budget, and tested on clean targets; results beside the "
        "paper's (resumable)"
    )
    noise = sub.add_parser("noise", help=about, description=about)
    noise.add_argument(
        "--data",
        default="cstr",
        help="dataset folder (iclcontrol data ...), or 'cstr' for the reference set "
        "(the paper's values are shown only for the reference set)",
    )
    noise.add_argument(
        "--models",
        type=name_list,
        default="iclrnn,icrnn,lrnn,lstm,rnn",
        help=f"comma-separated model kinds, from {','.join(MODEL_KINDS)}",
    )
    noise.add_argument(
        "--noise",
        type=non_negative_float_list,
        default="0,0.3,0.6,0.9",
        help="comma-separated standard deviations of the target noise (scaled "
        "units, >= 0)",
    )
    noise.add_argument(
        "--time-budget",
        type=positive_float,
        default=120.0,
        help="training budget per fit [s]",
    )
    noise.add_argument(
        "--hidden", type=positive_int, default=64, help="units per layer"
    )
    noise.add_argument("--layers", type=positive_int, default=2, help="layers")
    noise.add_argument("--seed", type=int, default=0, help="seed of every fit")
    _add_select_argument(noise, " per cell, the same grid for every model")
    noise.add_argument(
        "--out",
        type=out_folder,
        required=True,
        help="result folder (resumed if it exists)",
    )
    noise.add_argument("--json", action="store_true", help="print a JSON summary last")
    noise.set_defaults(func=run_study_noise)


def _load_dataset(spec: str) -> Any:
    from iclcontrol.data import SequenceDataset, cstr_dataset

    if spec == "cstr" and not Path(spec).exists():
        return cstr_dataset()
    if Path(spec).is_file():
        raise DataError(
            f"{spec} is a file, but --data takes a dataset folder; build one from a "
            f"CSV or Parquet log with 'iclcontrol data csv {spec} --time-column C "
            "--inputs a,b --outputs y --window N --out DIR'"
        )
    if not Path(spec).is_dir():
        raise DataError(
            f"dataset folder {spec} does not exist; build one with 'iclcontrol data "
            "cstr --out DIR' or 'iclcontrol data csv ...', or pass --data cstr"
        )
    return SequenceDataset.load(spec)


def run_train(args: argparse.Namespace) -> int:
    from iclcontrol.selection import parse_grid, select_by_validation
    from iclcontrol.train import SurrogateModel

    check_out_path(args.out)
    dataset = _load_dataset(args.data)
    grid = parse_grid(args.select) if args.select else None
    dataset.check_finite()  # the test split too: it is evaluated after training
    estimator = SurrogateModel(
        args.model,
        hidden=args.hidden,
        layers=args.layers,
        lr=args.lr,
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        time_budget_s=args.time_budget,
        noise_std=args.noise,
        random_state=args.seed,
    )
    selection = None
    if grid is None:
        model = estimator.fit(dataset)
    else:
        selection = select_by_validation(estimator, dataset, grid)
        model = selection.model
    test = model.evaluate(dataset, "test")
    out = model.save(args.out)
    summary = {
        "model": args.model,
        "noise": args.noise,
        "test_mse": {"scaled": test["scaled"], "physical": test["physical"]},
        "train_seconds": model.fit_info_["train_seconds"],
        "epochs": model.fit_info_["epochs"],
        "best_epoch": model.fit_info_["best_epoch"],
        "stop_reason": model.fit_info_["stop_reason"],
        "samples_per_second": model.fit_info_["samples_per_second"],
        "certificate": _certificate_summary(model.certificate_.to_dict()),
        "training_data": model.training_data_,
        **_columns(model),
        **({"selection": selection.to_dict()} if selection is not None else {}),
        "out": str(out),
    }
    (out / "metrics.json").write_text(
        json.dumps(json_safe(summary), indent=1, allow_nan=False)
    )
    if args.json:
        print_json(summary)
    else:
        c = summary["certificate"]
        print(
            f"{args.model}: test MSE {test['scaled']:.3g} (scaled) after "
            f"{summary['epochs']} epochs / {summary['train_seconds']:.1f} s; "
            f"convex={c['convex']}, Lipschitz <= {_g(c['lipschitz_upper'])} -> {out}"
        )
        if selection is not None:
            for row in selection.candidates.to_dict("records"):
                mark = "  <- chosen" if row["selected"] else ""
                values = ", ".join(f"{k}={row[k]}" for k in selection.params)
                print(
                    f"  {values}: validation MSE {row['val_loss']:.3g} after "
                    f"{row['epochs']} epochs{mark}"
                )
    return 0


def _columns(model: Any) -> dict[str, list[dict[str, str]]]:
    """The model's features and outputs as ``{"name", "unit"}`` (JSON)."""
    out = {}
    for role in ("feature", "output"):
        names = getattr(model, f"{role}_names_")
        units = getattr(model, f"{role}_units_", ()) or [""] * len(names)
        out[f"{role}s"] = [
            {"name": n, "unit": u} for n, u in zip(names, units, strict=True)
        ]
    return out


def _training_data_lines(model: Any) -> list[str]:
    """What the model was trained on, for people: source, time step, windows,
    splits, and the columns with their units."""
    data = getattr(model, "training_data_", {}) or {}
    columns = _columns(model)

    def listing(role: str) -> str:
        return ", ".join(
            f"{c['name']} [{c['unit']}]" if c["unit"] else c["name"]
            for c in columns[role]
        )

    if not data:
        lines = ["  trained on: not recorded (a model saved by an older version)"]
    else:
        details = []
        if data.get("time_column"):
            details.append(f"time column {data['time_column']}")
        if data.get("sample_interval_s") is not None:
            details.append(f"one step every {data['sample_interval_s']:g} s")
        if data.get("resample"):
            details.append(f"resampled to {data['resample']}")
        if data.get("layout") == "mpc":
            details.append("MPC layout (states at the start and inputs -> next states)")
        details.append(f"sequences of {data.get('steps', model.steps_)} steps")
        if data.get("stride") is not None:
            details.append(f"stride {data['stride']}")
        # how the steps relate to the plant's period (the MPC's defaults)
        if data.get("moves") is not None:
            details.append(f"{data['moves']} sampling period(s) per sequence")
        if data.get("steps_per_move") is not None:
            details.append(f"{data['steps_per_move']} step(s) per sampling period")
        sizes = data.get("split_sizes") or {}
        if sizes:
            details.append("samples " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
        lines = [
            f"  trained on: {data.get('source', 'unknown')} ({'; '.join(details)})"
        ]
    lines.append(f"  inputs: {listing('features')}; outputs: {listing('outputs')}")
    return lines


def _certificate_summary(cert: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "kind",
        "convex",
        "convexity_reason",
        "monotone_in_augmented_input",
        "steps",
        "lipschitz_upper",
        "lipschitz_upper_physical",
        "lipschitz_lower_empirical",
        "lipschitz_norm",
        "lipschitz_method",
        "n_samples_empirical",
        "lipschitz_physical_note",
        "lipschitz_upper_pairs",
        "lipschitz_upper_pairs_physical",
    )
    out = {k: cert.get(k) for k in keep}
    out["matrices"] = [
        {k: m[k] for k in ("name", "spectral_norm", "min_entry", "bound")}
        for m in cert.get("matrices", [])
    ]
    return out


def run_certify(args: argparse.Namespace) -> int:
    from iclcontrol.models.certificate import midpoint_convexity_violations
    from iclcontrol.train import load

    run = Path(args.run)
    if not run.exists():
        raise ModelFileError(f"run folder {run} does not exist")
    model = load(model_folder(run))
    certificate = model.certify()
    cert = {
        **_certificate_summary(certificate.to_dict()),
        "training_data": model.training_data_,
        **_columns(model),
    }
    if args.midpoint > 0:
        # random segments inside the training data's range, in physical units
        rng = np.random.default_rng(args.seed)
        lo = np.asarray(model.x_scaler_.data_min_)
        hi = np.asarray(model.x_scaler_.data_max_)
        shape = (args.midpoint, model.steps_, len(lo))
        a = lo + (hi - lo) * rng.random(shape)
        b = lo + (hi - lo) * rng.random(shape)
        # float32 evaluation error is ~1e-7 of the output range; allow 1e-5 of it
        span = np.asarray(model.y_scaler_.data_max_) - model.y_scaler_.data_min_
        mid = midpoint_convexity_violations(
            model.predict, a, b, rtol=1e-5, atol=1e-5 * span
        )
        cert["midpoint_test"] = {**mid, "segments": args.midpoint, "units": "physical"}
    if args.json:
        print_json(cert)
    else:
        print(f"model {run}: kind {cert['kind']}")
        print("\n".join(_training_data_lines(model)))
        print(f"  convex: {cert['convex']} ({cert['convexity_reason']})")
        print(
            f"  Lipschitz <= {_g(cert['lipschitz_upper'])} ({cert['lipschitz_norm']}); "
            f"empirical >= {_g(cert['lipschitz_lower_empirical'])}"
        )
        if cert["lipschitz_upper_physical"] is not None:
            print(
                f"  Lipschitz <= {_g(cert['lipschitz_upper_physical'])} in physical "
                f"units ({cert['lipschitz_physical_note']})"
            )
        for line in certificate.pair_lines():
            print(line)
        for m in cert["matrices"]:
            print(
                f"  {m['name']}: ||.||_2 = {m['spectral_norm']:.6f}, min entry "
                f"{m['min_entry']:.3g}, bound {m['bound']}"
            )
        if "midpoint_test" in cert:
            mt = cert["midpoint_test"]
            print(
                f"  midpoint test: {mt['n_violations']} violations in "
                f"{mt['n_checks']} checks (max excess {mt['max_excess']:.3g})"
            )
    return 0


def run_study_noise(args: argparse.Namespace) -> int:
    from iclcontrol.selection import parse_grid
    from iclcontrol.study import run_noise_study

    def report(row: dict[str, Any]) -> None:
        ref = row["reference_mse"]
        ref_text = f" (paper {ref:.1e})" if ref is not None else ""
        print(
            f"{row['model']:>7} noise {row['noise']:.2f}: test MSE "
            f"{row['test_mse_scaled']:.2e}{ref_text}, "
            f"{row['epochs']} epochs"
            + (
                f", chosen on validation: {row['selected']}"
                if "selected" in row
                else ""
            ),
            file=sys.stderr,
        )

    check_out_path(args.out)
    grid = parse_grid(args.select) if args.select else None
    # the reference set is built by the study (only if a fit is left to do)
    reference = args.data == "cstr" and not Path(args.data).exists()
    dataset = None if reference else _load_dataset(args.data)
    if dataset is not None:
        dataset.check_finite()  # the test split too: it is evaluated
    results = run_noise_study(
        args.out,
        models=args.models,
        noise_levels=args.noise,
        time_budget_s=args.time_budget,
        hidden=args.hidden,
        layers=args.layers,
        random_state=args.seed,
        dataset=dataset,
        select=grid,
        on_result=report,
    )
    out = Path(args.out)
    if args.json:
        print_json(
            {
                "out": str(out),
                "rows": len(results),
                "results": results.replace({np.nan: None}).to_dict("records"),
                "table": str(out / "table.md"),
                "plot": str(out / "noise.png"),
            }
        )
    else:
        print((out / "table.md").read_text())
    return 0
