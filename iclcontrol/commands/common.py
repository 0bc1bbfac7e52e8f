"""Helpers shared by the CLI subcommands."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on one line (the last line of a ``--json`` command)."""
    print(json.dumps(payload, default=_default, allow_nan=False))


def parse_list(text: str, cast: type = str) -> list[Any]:
    """Split a comma-separated option value (``"a,b"``) into a list."""
    return [cast(item.strip()) for item in text.split(",") if item.strip()]
