"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from iclcontrol.exceptions import ConfigError


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None.

    Strict JSON has no NaN; a missing value is ``null``.
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on one line (the last line of a ``--json`` command)."""
    print(json.dumps(json_safe(payload), default=_default, allow_nan=False))


def check_out_path(path: str, flag: str = "--out") -> None:
    """Refuse, before any work, an output path where the folder cannot be written.

    That is an existing file, a path under a file (``results.csv/run``), or a
    folder (or its nearest existing parent) without write permission. The folder
    itself is created later, by the command that writes into it.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"{flag} {path} is an existing file, not a folder; choose another path"
        )
    existing = out
    while not existing.exists():  # ends at most at '.' or the root
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            f"{flag} {path}: {existing} is a file, not a folder, so the folder "
            "cannot be created; choose another path"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{flag} {path}: no permission to write in {existing}; choose another path"
        )


def model_folder(path: str | Path) -> Path:
    """The model folder that ``--model``/``certify`` mean by ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        A model folder (``model.json``, ``model.safetensors``) written by
        ``iclcontrol train``, or a run folder of ``iclcontrol run`` holding one
        in ``model/``.

    Returns
    -------
    pathlib.Path
        ``path`` itself, or its ``model`` subfolder for a run folder.
    """
    folder = Path(path)
    if (folder / "model").is_dir() and not (folder / "model.json").exists():
        return folder / "model"
    return folder


# -- argparse types: a bad value is a usage error that names the flag ---------------
def out_folder(text: str) -> str:
    """An argparse type for ``--out``: a path that is not empty.

    An empty value (``--out "$DIR"`` with ``DIR`` unset) would otherwise mean the
    current folder and scatter the output files there.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    str
        ``text`` unchanged.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "empty path (an unset shell variable?); give an output folder, e.g. "
            "--out runs/x, or --out . for the current folder"
        )
    return text


def _number(text: str, cast: type) -> Any:
    try:
        value = cast(text)
    except ValueError:
        kind = "an integer" if cast is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _at_least(cast: type, minimum: float, strict: bool) -> Callable[[str], Any]:
    """An argparse type: a number of type ``cast`` >= ``minimum`` (> if strict)."""

    def parse(text: str) -> Any:
        value = _number(text, cast)
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(
                f"must be {'>' if strict else '>='} {minimum:g}, got {value:g}"
            )
        return value

    return parse


positive_int = _at_least(int, 1, strict=False)
non_negative_int = _at_least(int, 0, strict=False)
positive_float = _at_least(float, 0.0, strict=True)
non_negative_float = _at_least(float, 0.0, strict=False)


def name_list(text: str) -> list[str]:
    """Comma-separated names, at least one."""
    names = parse_list(text)
    if not names:
        raise argparse.ArgumentTypeError("give at least one comma-separated name")
    return names


def choice_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type: comma-separated names, at least one, each from ``choices``.

    Parameters
    ----------
    choices : sequence of str
        The allowed names.

    Returns
    -------
    callable
        Parses ``"a,b"`` into ``["a", "b"]``; an unknown name is a usage error.
    """

    def parse(text: str) -> list[str]:
        names = name_list(text)
        unknown = [n for n in names if n not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}; choose from "
                f"{','.join(choices)}"
            )
        return names

    return parse


def non_negative_float_list(text: str) -> list[float]:
    """Comma-separated numbers >= 0, at least one."""
    values = [non_negative_float(item) for item in parse_list(text)]
    if not values:
        raise argparse.ArgumentTypeError("give at least one comma-separated number")
    return values


def number_tuple(
    names: Sequence[str], minimum: float | None = None
) -> Callable[[str], tuple[float, ...]]:
    """An argparse type: one finite number per name, comma-separated.

    Parameters
    ----------
    names : sequence of str
        What each number is (e.g. ``("CA", "T")``), named in the error message.
    minimum : float or None
        Smallest allowed value (inclusive); None: no bound.

    Returns
    -------
    callable
        Parses ``"0.5,10"`` into ``(0.5, 10.0)``; a wrong count, a non-number or
        a value below ``minimum`` is a usage error.
    """
    spelled = ",".join(names)

    def parse(text: str) -> tuple[float, ...]:
        items = [item.strip() for item in text.split(",")]
        if len(items) != len(names):
            raise argparse.ArgumentTypeError(
                f"expected {len(names)} comma-separated numbers {spelled}, got {text!r}"
            )
        values = tuple(_number(item, float) for item in items)
        if minimum is not None and any(v < minimum for v in values):
            raise argparse.ArgumentTypeError(
                f"each of {spelled} must be >= {minimum:g}, got {text!r}"
            )
        return values

    return parse


def bound_tuple(names: Sequence[str], side: int) -> Callable[[str], tuple[float, ...]]:
    """An argparse type: one bound per name, comma-separated, some left free.

    Parameters
    ----------
    names : sequence of str
        What each bound is (e.g. ``("CA", "T")``), named in the error message.
    side : {-1, 1}
        -1 for lower bounds, +1 for upper bounds.

    Returns
    -------
    callable
        Parses ``"inf,400"`` or ``",400"`` (upper) into ``(inf, 400.0)``: an
        empty entry or ``side * inf`` (``inf``, ``+inf`` for upper, ``-inf`` for
        lower) means no bound on that name; the opposite infinity, NaN, a
        non-number or a wrong count is a usage error.
    """
    spelled = ",".join(names)
    free = side * math.inf

    def parse(text: str) -> tuple[float, ...]:
        items = [item.strip() for item in text.split(",")]
        if len(items) != len(names):
            raise argparse.ArgumentTypeError(
                f"expected {len(names)} comma-separated bounds {spelled} (an empty "
                f"entry or {free:g} for no bound), got {text!r}"
            )
        values = []
        for item in items:
            try:
                value = free if item == "" else float(item)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected a number, an empty entry or {free:g} (no bound), "
                    f"got {item!r} in {text!r}"
                ) from None
            if math.isnan(value) or value == -free:
                raise argparse.ArgumentTypeError(
                    f"expected a number, an empty entry or {free:g} (no bound), "
                    f"got {item!r} in {text!r}"
                )
            values.append(value)
        return tuple(values)

    return parse


def parse_list(text: str, cast: type = str) -> list[Any]:
    """Split a comma-separated option value (``"a,b"``) into a list."""
    return [cast(item.strip()) for item in text.split(",") if item.strip()]
