"""Noise-robustness study of the ICLRNN paper (REFERENCE.md), resumable.

For every (model kind, noise level) pair a :class:`~iclcontrol.train.SurrogateModel`
is trained on the CSTR dataset with Gaussian noise of standard deviation ``noise``
added to the scaled training (and validation) targets, under the same wall-clock
budget, and its test MSE is measured on clean scaled targets. Results go to a folder:

    results.csv    one row per finished pair (written after each pair)
    study.json     the study's configuration (a rerun must match it to resume)
    table.md       measured test MSE beside the paper's values
    noise.png      test MSE against noise, log scale, paper values dashed

A rerun with the same folder skips finished pairs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import ConfigError, ModelFileError
from iclcontrol.models.networks import KINDS

#: Test MSE (scaled) of the ICLRNN paper's notebooks, REFERENCE.md.
_REF_KINDS = ("iclrnn", "icrnn", "lrnn", "lstm", "rnn")
_REF_ROWS = {
    0.0: (3.0e-4, 9.0e-5, 1.3e-5, 5.1e-7, 1.5e-6),
    0.3: (4.1e-4, 1.8e-4, 5.8e-4, 1.6e-3, 3.1e-3),
    0.6: (2.9e-4, 1.3e-4, 1.1e-3, 4.1e-2, 2.2e-2),
    0.9: (4.1e-4, 2.9e-4, 2.0e-3, 1.3e-1, 6.7e-2),
}
REFERENCE_MSE: dict[float, dict[str, float]] = {
    s: dict(zip(_REF_KINDS, row, strict=True)) for s, row in _REF_ROWS.items()
}

DEFAULT_MODELS = ("iclrnn", "icrnn", "lrnn", "lstm", "rnn")
DEFAULT_NOISE = (0.0, 0.3, 0.6, 0.9)


def reference_mse(kind: str, noise: float) -> float | None:
    """The paper's test MSE for a kind and noise level, or None."""
    for level, row in REFERENCE_MSE.items():
        if math.isclose(level, noise, abs_tol=1e-9):
            return row.get(kind)
    return None


def isotonic_fit(Y: Any) -> np.ndarray:
    """Least-squares non-decreasing fit of every sequence along axis 1.

    Uses the min-max formula of isotonic regression (Barlow et al., 1972):
    ``f_i = max_{j <= i} min_{k >= i} mean(y_j..y_k)``, vectorized over all
    sequences (O(steps^3) per sequence, fine for short sequences).

    Parameters
    ----------
    Y : array-like, shape (n, steps) or (n, steps, outputs)
        Sequences, time along axis 1.

    Returns
    -------
    numpy.ndarray
        Same shape as ``Y``: for each sequence (and output), the non-decreasing
        sequence closest to it in least squares.
    """
    arr = np.asarray(Y, dtype=np.float64)
    if arr.ndim not in (2, 3):
        raise ConfigError(f"Y must have shape (n, steps[, outputs]), got {arr.shape}")
    y = arr if arr.ndim == 3 else arr[:, :, None]
    steps = y.shape[1]
    csum = np.concatenate([np.zeros_like(y[:, :1]), np.cumsum(y, axis=1)], axis=1)
    j, k = np.meshgrid(np.arange(steps), np.arange(steps), indexing="ij")
    valid = j <= k
    length = np.where(valid, k - j + 1, 1)
    # means[:, j, k] = mean(y[j..k]) for j <= k
    means = (csum[:, k + 1] - csum[:, j]) / length[None, :, :, None]
    fit = np.empty_like(y)
    for i in range(steps):
        fit[:, i] = means[:, : i + 1, i:].min(axis=2).max(axis=1)
    return fit if arr.ndim == 3 else fit[:, :, 0]


def time_monotone_floor(Y: Any) -> float:
    """Smallest MSE that a predictor with outputs non-decreasing in time can reach.

    ICLRNN and ICRNN with a zero initial state (``learn_initial_state=False``) and
    input sequences that are constant in time (the CSTR protocol repeats the
    features at every step) are such predictors: with a zero initial state and
    non-negative recurrent, deeper-input and readout matrices,
    ``h_1 = relu(a) >= h_0 = 0`` and ``h_t >= h_{t-1}`` implies ``h_{t+1} =
    relu(a + U h_t) >= relu(a + U h_{t-1}) = h_t``; the next layer sees a
    non-decreasing sequence through a non-negative matrix, and the readout is
    non-negative, so every output is non-decreasing in time for every input.
    Their test MSE can therefore not go below the MSE of the per-trajectory
    isotonic fit (:func:`isotonic_fit`), whatever the training.

    Parameters
    ----------
    Y : array-like, shape (n, steps, outputs)
        Target sequences (e.g. clean scaled test targets).

    Returns
    -------
    float
        Mean over all entries of ``(isotonic_fit(Y) - Y)**2``, the same averaging
        as the scaled test MSE of :meth:`iclcontrol.train.SurrogateModel.evaluate`.
    """
    arr = np.asarray(Y, dtype=np.float64)
    return float(np.mean((isotonic_fit(arr) - arr) ** 2))


@functools.lru_cache(maxsize=1)
def cstr_time_monotone_floor() -> float:
    """:func:`time_monotone_floor` of the clean scaled test targets of the reference
    CSTR dataset ``cstr_dataset()`` (built once per process)."""
    from iclcontrol.data import cstr_dataset

    return time_monotone_floor(cstr_dataset().scaled("test")[1])


#: Estimator parameters that a study sets per fit (everything else is a default of
#: :class:`iclcontrol.train.SurrogateModel` and is recorded in ``study.json``).
_PER_FIT_PARAMS = ("kind", "hidden", "layers", "noise_std", "time_budget_s")
_NOT_RESULTS = ("random_state", "max_epochs", "n_threads", "verbose")


def has_paper_reference(dataset: Any) -> bool:
    """Whether the paper's test MSE applies to ``dataset`` (None: the reference set).

    The paper's values are for the CSTR protocol; beside results on another
    dataset (a user's plant log) they would compare different problems.
    """
    if dataset is None:
        return True
    card = getattr(dataset, "card", None) or {}
    # cstr_dataset(moves=1) of any grid size or seed (a CSV card has no "moves")
    return card.get("name") == "cstr" and card.get("moves") == 1


def dataset_fingerprint(dataset: Any) -> str:
    """``"NAME: N samples, sha256 DIGEST"``: identifies a dataset's contents.

    The digest covers ``X``, ``Y``, the split indices and the column names, so a
    study folder is resumed only with the very data its rows were measured on.
    """
    digest = hashlib.sha256()
    for array in (dataset.X, dataset.Y):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    for split in sorted(dataset.splits):
        digest.update(split.encode())
        digest.update(np.asarray(dataset.splits[split], dtype=np.int64).tobytes())
    names = [*dataset.feature_names, "->", *dataset.output_names]
    digest.update(json.dumps(names).encode())
    name = (getattr(dataset, "card", None) or {}).get("name", "dataset")
    return f"{name}: {len(dataset.X)} samples, sha256 {digest.hexdigest()[:16]}"


def _study_config(
    time_budget_s: float, hidden: int, layers: int, random_state: int, **extra: Any
) -> dict[str, Any]:
    """What a study's rows depend on; a folder is resumed only if this matches.

    The training defaults are part of it, so that rows fitted before a change of a
    default (e.g. weight averaging) are never mixed with rows fitted after it.
    """
    from iclcontrol.train import SurrogateModel

    training = {
        k: v
        for k, v in SurrogateModel().get_params().items()
        if k not in _PER_FIT_PARAMS + _NOT_RESULTS
    }
    return {
        "dataset": "cstr_dataset(moves=1, random_state=0)",  # extra may replace it
        "time_budget_s": float(time_budget_s),
        "hidden": int(hidden),
        "layers": int(layers),
        "random_state": int(random_state),
        **extra,
        "training": training,
    }


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """``"hidden: 4 -> 5, training.lr: ..."``: the keys whose values differ."""
    a, b = _flatten(old), _flatten(new)
    missing = object()
    parts = [
        f"{key}: {a.get(key, missing)!r} -> {b.get(key, missing)!r}".replace(
            repr(missing), "(absent)"
        )
        for key in sorted(set(a) | set(b))
        if a.get(key, missing) != b.get(key, missing)
    ]
    return ", ".join(parts)


def run_noise_study(
    out_dir: str | Path,
    models: Sequence[str] = DEFAULT_MODELS,
    noise_levels: Sequence[float] = DEFAULT_NOISE,
    time_budget_s: float = 120.0,
    hidden: int = 64,
    layers: int = 2,
    random_state: int = 0,
    max_epochs: int = 1000,
    dataset: Any = None,
    select: Mapping[str, Sequence[Any]] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    verbose: bool | None = None,
) -> pd.DataFrame:
    """Train every (model, noise) pair under one budget; resumable.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Result folder (created; an existing one with the same configuration is
        resumed).
    models : sequence of str
        Model kinds.
    noise_levels : sequence of float
        Standard deviations of the target noise, in scaled units. [-]
    time_budget_s : float
        Wall-clock training budget per pair. [s]
    hidden, layers : int
        Network size (the same for every kind).
    random_state : int
        Seed of every fit.
    max_epochs : int
        Epoch cap (the budget usually stops training first).
    dataset : SequenceDataset, optional
        Default: the reference CSTR dataset ``cstr_dataset()``. Another dataset
        (e.g. from :func:`iclcontrol.data.csv_dataset`) is recorded by its
        :func:`dataset_fingerprint`, so a folder is resumed only with the same
        data; the paper's values are shown only for CSTR datasets of its protocol
        (:func:`has_paper_reference`).
    select : mapping, optional
        A grid of training settings chosen per cell on the validation split
        (:func:`iclcontrol.selection.select_by_validation`, e.g.
        ``{"hidden": [32, 64], "batch_size": [64, 256]}``); every model kind
        gets the same grid, each candidate the full budget. The row is the
        chosen candidate (its values in ``selected``); ``candidates.csv`` holds
        every candidate's validation loss and test MSE. None: the defaults.
    on_result : callable, optional
        Called with each new result row (a dict).
    verbose : bool or None
        Progress bars (None: only on a terminal and not under CI).

    Returns
    -------
    pandas.DataFrame
        All rows of ``results.csv``.

    Raises
    ------
    ConfigError
        Unknown kind, no kind or noise level, negative noise, an invalid setting
        (checked before anything is written), or a folder holding a study with
        another configuration or dataset (the message lists the differing
        keys).
    ModelFileError
        A ``study.json`` in the folder that is not a valid configuration.
    """
    from tqdm.auto import tqdm

    from iclcontrol.train import SurrogateModel, _progress_enabled

    models = [str(m) for m in models]
    if not models:
        raise ConfigError(f"give at least one model kind, from {', '.join(KINDS)}")
    for m in models:
        if m not in KINDS:
            raise ConfigError(f"unknown model kind {m!r}; expected one of {KINDS}")
    try:
        noise_levels = [float(s) for s in noise_levels]
    except (TypeError, ValueError) as err:
        raise ConfigError(f"noise levels must be numbers: {err}") from None
    if not noise_levels:
        raise ConfigError("give at least one noise level")
    if any(not (s >= 0 and math.isfinite(s)) for s in noise_levels):
        raise ConfigError(f"noise levels must be >= 0, got {noise_levels}")
    if time_budget_s is None:
        raise ConfigError("a study needs a time budget per fit, got None")
    # every setting is checked before study.json is written, so that a rejected
    # run leaves no configuration behind that a corrected rerun would conflict with
    SurrogateModel(
        models[0],
        hidden=hidden,
        layers=layers,
        time_budget_s=time_budget_s,
        max_epochs=max_epochs,
        random_state=random_state,
    )._validate_params()
    if select is not None:
        from iclcontrol.selection import parameter_grid

        parameter_grid(select)  # checked before anything is written
        select = {name: list(values) for name, values in select.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paper = has_paper_reference(dataset)
    custom: dict[str, Any] = {"custom_dataset": dataset is not None}
    if select is not None:  # studies without selection keep their configuration
        custom["select"] = select
    if dataset is not None:  # the reference set keeps the configuration it had
        custom = {
            "dataset": dataset_fingerprint(dataset),
            **custom,
            "paper_reference": paper,
        }
    config = _study_config(
        time_budget_s,
        hidden,
        layers,
        random_state,
        max_epochs=int(max_epochs),
        **custom,
    )
    cfg_path = out / "study.json"
    if cfg_path.exists():
        try:
            old = json.loads(cfg_path.read_text())
        except (ValueError, OSError) as err:
            raise ModelFileError(
                f"{cfg_path} is not valid JSON ({err}); delete the folder or use "
                "another one"
            ) from None
        if not isinstance(old, dict):
            raise ModelFileError(
                f"{cfg_path} holds a JSON {type(old).__name__}, not a study "
                "configuration; delete the folder or use another one"
            )
        if old != config:
            raise ConfigError(
                f"{out} holds a study with another configuration (folder -> now: "
                f"{config_differences(old, config)}); use a new output folder or "
                "delete the old one"
            )
    cfg_path.write_text(json.dumps(config, indent=1))
    csv_path = out / "results.csv"
    rows: list[dict[str, Any]] = (
        pd.read_csv(csv_path).to_dict("records") if csv_path.exists() else []
    )
    done = {(r["model"], round(float(r["noise"]), 9)) for r in rows}
    todo = [
        (m, s) for s in noise_levels for m in models if (m, round(s, 9)) not in done
    ]
    if todo and dataset is None:
        from iclcontrol.data import cstr_dataset

        dataset = cstr_dataset()
    bar = tqdm(
        total=len(todo),
        disable=not _progress_enabled(verbose),
        desc="noise study",
        unit="fit",
        file=sys.stderr,
    )
    try:
        for kind, noise in todo:
            bar.set_postfix(model=kind, noise=noise)
            start = time.perf_counter()
            estimator = SurrogateModel(
                kind,
                hidden=hidden,
                layers=layers,
                noise_std=noise,
                time_budget_s=time_budget_s,
                max_epochs=max_epochs,
                random_state=random_state,
                verbose=False,
            )
            selected: dict[str, Any] = {}
            if select is None:
                model = estimator.fit(dataset)
            else:
                model, selected = _select_cell(estimator, dataset, select, out)
            res = model.evaluate(dataset, "test")
            cert = model.certificate_
            row = {
                "model": kind,
                "noise": noise,
                "test_mse_scaled": res["scaled"],
                **{f"test_mse_{k}": v for k, v in res["physical"].items()},
                "reference_mse": reference_mse(kind, noise) if paper else None,
                **({"selected": json.dumps(selected)} if select is not None else {}),
                "train_seconds": model.fit_info_["train_seconds"],
                "epochs": model.fit_info_["epochs"],
                "best_epoch": model.fit_info_["best_epoch"],
                "stop_reason": model.fit_info_["stop_reason"],
                "divergence_recoveries": model.fit_info_["divergence_recoveries"],
                "samples_per_second": model.fit_info_["samples_per_second"],
                "convex": cert.convex,
                "lipschitz_upper": cert.lipschitz_upper,
                "lipschitz_lower_empirical": cert.lipschitz_lower_empirical,
                "wall_seconds": time.perf_counter() - start,
            }
            rows.append(row)
            tmp = out / "results.csv.tmp"
            pd.DataFrame(rows).to_csv(tmp, index=False)
            tmp.replace(csv_path)
            write_report(out, plot=False)
            if on_result is not None:
                on_result(row)
            bar.update(1)
    finally:
        bar.close()
    if rows:
        write_report(out)
    return pd.DataFrame(rows)


def _select_cell(
    estimator: Any, dataset: Any, grid: Mapping[str, Sequence[Any]], out: Path
) -> tuple[Any, dict[str, Any]]:
    """One study cell with settings chosen on the validation split: the chosen
    model and its grid values; every candidate's validation loss and test MSE are
    appended to ``out/candidates.csv`` (the test MSE only for reading how well
    the validation split chose, never for choosing)."""
    from iclcontrol.selection import select_by_validation

    rows: list[dict[str, Any]] = []

    def record(row: dict[str, Any], model: Any) -> None:
        rows.append(
            {
                "model": estimator.kind,
                "noise": estimator.noise_std,
                **row,
                "test_mse_scaled": model.evaluate(dataset, "test")["scaled"],
            }
        )

    chosen = select_by_validation(estimator, dataset, grid, on_candidate=record)
    for row, selected in zip(rows, chosen.candidates["selected"], strict=True):
        row["selected"] = bool(selected)
    path = out / "candidates.csv"
    old = pd.read_csv(path) if path.exists() else pd.DataFrame()
    if len(old):  # a cell interrupted after this write is rerun: no duplicates
        same = (old["model"] == estimator.kind) & np.isclose(
            old["noise"], estimator.noise_std
        )
        old = old[~same]
    pd.concat([old, pd.DataFrame(rows)]).to_csv(path, index=False)
    return chosen.model, chosen.params


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v):.1e}"


def markdown_table(results: pd.DataFrame, paper: bool = True) -> str:
    """Measured test MSE beside the paper's: ``measured (paper)`` per cell.

    With ``paper=False`` (a dataset other than the paper's) only the measured
    value.
    """
    kinds = [k for k in DEFAULT_MODELS if k in set(results["model"])]
    kinds += [k for k in dict.fromkeys(results["model"]) if k not in kinds]
    header = "| noise s | " + " | ".join(k.upper() for k in kinds) + " |"
    lines = [header, "|---" * (len(kinds) + 1) + "|"]
    for noise in sorted(set(results["noise"])):
        cells = []
        for k in kinds:
            sel = results[(results["model"] == k) & np.isclose(results["noise"], noise)]
            measured = float(sel["test_mse_scaled"].iloc[-1]) if len(sel) else None
            if paper:
                ref = reference_mse(k, float(noise))
                cells.append(f"{_fmt(measured)} ({_fmt(ref)})")
            else:
                cells.append(_fmt(measured))
        lines.append(f"| {noise:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(out_dir: str | Path, plot: bool = True) -> None:
    """Write ``table.md`` (and ``noise.png`` if ``plot``) from ``results.csv``."""
    out = Path(out_dir)
    results = pd.read_csv(out / "results.csv")
    config = json.loads((out / "study.json").read_text())
    paper = bool(config.get("paper_reference", True))
    measured = (
        "measured (paper's value in parentheses)"
        if paper
        else f"measured on {config['dataset']} (the paper's CSTR values do not apply)"
    )
    select = config.get("select") or {}
    size = "x".join(
        "(chosen)" if name in select else str(config[name])
        for name in ("layers", "hidden")
    )
    budget = f"{config['time_budget_s']:g} s of training per "
    budget += "candidate" if select else "cell"
    text = (
        "# Noise-robustness study\n\n"
        f"Scaled test MSE on clean targets, {measured}. Budget {budget}, "
        f"{size} networks, seed {config['random_state']}.\n\n"
        + markdown_table(results, paper)
    )
    if select:
        grid = ", ".join(
            f"{name} in {{{', '.join(map(str, values))}}}"
            for name, values in select.items()
        )
        text += (
            f"\nEvery cell's settings were chosen on the (noisy) validation split "
            f"from {grid}, the same grid for every model, each candidate trained "
            "for the full budget; the chosen values are the `selected` column of "
            "`results.csv`, every candidate is in `candidates.csv`.\n"
        )
    floor = None
    if not config.get("custom_dataset", True):  # the reference CSTR dataset
        floor = cstr_time_monotone_floor()
        text += (
            "\nModels whose outputs are non-decreasing in time (ICLRNN and ICRNN "
            "with a zero initial state, `learn_initial_state=False`, on these "
            f"constant input sequences) cannot go below a test MSE of {floor:.2e} "
            "(`time_monotone_floor`, the isotonic fit of each test trajectory).\n"
        )
    (out / "table.md").write_text(text)
    if not plot:
        return
    from iclcontrol.figures import subplots

    fig, ax = subplots(figsize=(6, 4))
    for i, kind in enumerate(dict.fromkeys(results["model"])):
        sel = results[results["model"] == kind].sort_values("noise")
        color = f"C{i}"
        ax.semilogy(sel["noise"], sel["test_mse_scaled"], "o-", color=color, label=kind)
        ref = [(s, reference_mse(kind, s)) for s in sorted(REFERENCE_MSE)]
        ref = [(s, v) for s, v in ref if v is not None and paper]
        if ref:
            ax.semilogy(*zip(*ref, strict=True), "x--", color=color, alpha=0.5)
    if floor is not None:
        ax.axhline(floor, color="k", lw=0.8, ls=":", label="floor if h0 = 0")
    ax.set_xlabel("target noise standard deviation (scaled units)")
    ax.set_ylabel("test MSE (scaled, clean targets)")
    ax.set_title(
        "measured (solid) vs paper (dashed)"
        if paper
        else f"measured on {config['dataset'].split(':')[0]}"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "noise.png", dpi=120)
