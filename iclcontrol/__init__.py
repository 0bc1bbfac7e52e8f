"""iclcontrol: Input Convex Lipschitz RNN surrogates for MPC and planning.

Train certified-convex, Lipschitz-bounded sequence models on plant or solar data
(:mod:`iclcontrol.train`), export them to CasADi (:mod:`iclcontrol.export`), and use
them in MPC (:mod:`iclcontrol.mpc`) and PV planning (:mod:`iclcontrol.solar`) against
the plant simulators in :mod:`plants`.

The top level holds what an application needs to train, load and catch errors:
:class:`SurrogateModel`, :func:`load` and the exceptions of
:mod:`iclcontrol.exceptions` (every error raised on purpose is an
:class:`IclControlError`). ``import iclcontrol`` stays light: torch is imported
when ``SurrogateModel`` or ``load`` is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    IclControlError,
    IclControlWarning,
    LayoutError,
    ModelFileError,
    NotFittedError,
    SimulationError,
    SolverUnavailableError,
)

if TYPE_CHECKING:
    from iclcontrol.train import SurrogateModel, load

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "DimensionError",
    "IclControlError",
    "IclControlWarning",
    "LayoutError",
    "ModelFileError",
    "NotFittedError",
    "SimulationError",
    "SolverUnavailableError",
    "SurrogateModel",
    "__version__",
    "load",
]

# names imported on first use (they import torch), and the module holding each
_LAZY = {"SurrogateModel": "iclcontrol.train", "load": "iclcontrol.train"}


def __getattr__(name: str) -> Any:
    """``iclcontrol.SurrogateModel`` and ``iclcontrol.load``, imported on first use.

    They are the objects of :mod:`iclcontrol.train` themselves, so their type
    hints resolve (``typing.get_type_hints(iclcontrol.load)``).
    """
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iclcontrol' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
