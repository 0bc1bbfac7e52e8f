"""Choose training settings on the validation split, for any model kind alike.

:func:`select_by_validation` fits one :class:`~iclcontrol.train.SurrogateModel`
per combination of a parameter grid and keeps the one with the lowest validation
loss, like scikit-learn's ``GridSearchCV`` with the dataset's own validation split
instead of cross-validation folds. The test split is never looked at: the choice
is what a user could make on their own data. Every candidate gets the estimator's
full ``time_budget_s``, so a grid of ``n`` combinations costs ``n`` budgets.

Examples
--------
>>> from iclcontrol.data import cstr_dataset
>>> from iclcontrol.train import SurrogateModel
>>> ds = cstr_dataset(n_grid=20)
>>> base = SurrogateModel("iclrnn", hidden=8, max_epochs=2, verbose=False)
>>> chosen = select_by_validation(base, ds, {"hidden": [4, 8]})
>>> sorted(chosen.params)
['hidden']
>>> len(chosen.candidates)
2
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from iclcontrol.exceptions import ConfigError

__all__ = [
    "NOT_SELECTABLE",
    "Selection",
    "parameter_grid",
    "parse_grid",
    "select_by_validation",
]

#: Parameters a grid may not vary, and why.
NOT_SELECTABLE = {
    "noise_std": "it changes the validation targets, so the candidates' validation "
    "losses would not be comparable",
    "random_state": "it draws the validation noise, so candidates would be compared "
    "on different targets (and picking a seed on data is seed hunting)",
    "n_threads": "it does not change the fitted model",
    "verbose": "it does not change the fitted model",
}

#: Types of the parameters whose default is None (the others take their default's).
_NONE_DEFAULT_TYPES: dict[str, type] = {
    "time_budget_s": float,
    "spectral_bound": float,
    "learn_initial_state": bool,
    "clip_grad_norm": float,
    "ema_decay": float,
}


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_by_validation`.

    Attributes
    ----------
    model : SurrogateModel
        The fitted candidate with the lowest validation loss (the first of equal
        ones, in grid order).
    params : dict
        Its grid values.
    candidates : pandas.DataFrame
        One row per candidate in grid order: the grid values, ``val_loss`` (best
        validation MSE, scaled units, on the noisy validation targets a user has),
        ``epochs``, ``best_epoch``, ``stop_reason``, ``train_seconds`` [s] and
        ``selected`` (bool).
    """

    model: Any
    params: dict[str, Any]
    candidates: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``params`` and ``candidates`` (a list of row objects)."""
        rows = self.candidates.astype(object).where(self.candidates.notna(), None)
        return {"params": dict(self.params), "candidates": rows.to_dict("records")}


def _param_type(name: str, default: Any) -> type:
    if default is None:
        return _NONE_DEFAULT_TYPES.get(name, str)
    return type(default)


def _check_names(names: Sequence[str]) -> None:
    from iclcontrol.train import SurrogateModel

    valid = SurrogateModel._param_names()
    for name in names:
        if name in NOT_SELECTABLE:
            raise ConfigError(
                f"{name} cannot be selected on the validation split: "
                f"{NOT_SELECTABLE[name]}"
            )
        if name not in valid:
            selectable = [n for n in valid if n not in NOT_SELECTABLE]
            raise ConfigError(
                f"unknown parameter {name!r} in the selection grid; selectable: "
                f"{', '.join(selectable)}"
            )


def _parse_value(name: str, text: str, kind: type) -> Any:
    word = text.strip()
    if word.lower() == "none":
        return None
    try:
        if kind is bool:
            if word.lower() not in ("true", "false"):
                raise ValueError(word)
            return word.lower() == "true"
        if kind is int:
            return int(word)
        if kind is float:
            return float(word)
    except ValueError:
        raise ConfigError(
            f"selection grid: {name}={word!r} is not a valid {kind.__name__}"
        ) from None
    return word


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Grid from ``NAME=V1,V2`` strings (the CLI's ``--select``).

    Values take the type of the parameter's default in
    :class:`~iclcontrol.train.SurrogateModel` (``none`` is None; booleans are
    ``true``/``false``).

    Parameters
    ----------
    specs : sequence of str
        E.g. ``["hidden=32,64", "batch_size=64,256"]``.

    Returns
    -------
    dict
        Parameter name -> list of values, in the order given.

    Raises
    ------
    ConfigError
        A malformed entry, an unknown or unselectable name, a repeated name, a
        value of the wrong type, an empty or repeated value list.
    """
    import inspect

    from iclcontrol.train import SurrogateModel

    defaults = {
        n: p.default
        for n, p in inspect.signature(SurrogateModel.__init__).parameters.items()
    }
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = str(spec).partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name or not values.strip():
            raise ConfigError(
                f"selection grid entry {spec!r} is not NAME=V1,V2 (e.g. hidden=32,64)"
            )
        _check_names([name])
        if name in grid:
            raise ConfigError(
                f"{name} appears twice in the selection grid; give all its values "
                f"in one entry, {name}=V1,V2"
            )
        kind = _param_type(name, defaults[name])
        grid[name] = [_parse_value(name, v, kind) for v in values.split(",")]
    return grid


def parameter_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, the last name varying fastest.

    Parameters
    ----------
    grid : mapping
        Parameter name -> non-empty sequence of distinct values.

    Returns
    -------
    list of dict

    Raises
    ------
    ConfigError
        An empty grid, a name without values or with a repeated value, an
        unknown or unselectable name.
    """
    if not grid:
        raise ConfigError("the selection grid is empty; give at least one parameter")
    _check_names(list(grid))
    for name, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ConfigError(
                f"selection grid: {name} needs a non-empty list of values, got "
                f"{values!r}"
            )
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"selection grid: {name} repeats a value: {values!r}")
    names = list(grid)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(grid[n] for n in names))
    ]


def select_by_validation(
    estimator: Any,
    dataset: Any,
    grid: Mapping[str, Sequence[Any]],
    *,
    on_candidate: Callable[[dict[str, Any], Any], None] | None = None,
    verbose: bool | None = None,
) -> Selection:
    """Fit every grid combination and keep the lowest validation loss.

    Each candidate is ``estimator`` (unchanged; its parameters are copied) with
    one combination of ``grid`` set, fitted on ``dataset`` with the same seed, so
    every candidate sees the same minibatch seed, the same noisy validation
    targets and its own full time budget.

    Parameters
    ----------
    estimator : SurrogateModel
        The settings every candidate starts from.
    dataset : SequenceDataset
        Fitted on as by :meth:`~iclcontrol.train.SurrogateModel.fit`; its test
        split is not used.
    grid : mapping
        Parameter name -> values (:func:`parameter_grid`); ``noise_std``,
        ``random_state``, ``n_threads`` and ``verbose`` are refused
        (:data:`NOT_SELECTABLE`).
    on_candidate : callable, optional
        Called as ``on_candidate(row, model)`` after each fit, with the row of
        ``candidates`` and the fitted model (e.g. to evaluate it elsewhere).
    verbose : bool or None
        Progress bar over the candidates (None: only on a terminal and not under
        CI). The candidates' own bars are off.

    Returns
    -------
    Selection

    Raises
    ------
    ConfigError
        A bad grid, or a combination that is not a valid setting (all are
        checked before the first fit).
    """
    from tqdm.auto import tqdm

    from iclcontrol.progress import progress_enabled
    from iclcontrol.train import SurrogateModel

    combos = parameter_grid(grid)
    base = estimator.get_params()
    candidates = []
    for combo in combos:
        candidate = SurrogateModel(**{**base, **combo, "verbose": False})
        try:
            candidate._validate_params()
        except ConfigError as err:
            raise ConfigError(f"selection grid combination {combo}: {err}") from None
        candidates.append(candidate)
    rows: list[dict[str, Any]] = []
    best, best_loss = 0, math.inf  # every loss NaN: the first is as good
    bar = tqdm(
        total=len(combos),
        disable=not progress_enabled(verbose),
        desc="select on validation",
        unit="fit",
        leave=False,
    )
    try:
        for combo, candidate in zip(combos, candidates, strict=True):
            bar.set_postfix(combo)
            candidate.fit(dataset)
            info = candidate.fit_info_
            row = {
                **combo,
                "val_loss": float(info["best_val_loss"]),
                "epochs": int(info["epochs"]),
                "best_epoch": int(info["best_epoch"]),
                "stop_reason": info["stop_reason"],
                "train_seconds": float(info["train_seconds"]),
            }
            rows.append(row)
            if on_candidate is not None:
                on_candidate(dict(row), candidate)
            if row["val_loss"] < best_loss:
                best, best_loss = len(rows) - 1, row["val_loss"]
            bar.update(1)
    finally:
        bar.close()
    table = pd.DataFrame(rows)
    table["selected"] = [i == best for i in range(len(rows))]
    candidates[best].verbose = estimator.get_params().get("verbose")
    return Selection(candidates[best], dict(combos[best]), table)
