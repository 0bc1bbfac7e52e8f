"""iclcontrol: Input Convex Lipschitz RNN surrogates for MPC and planning.

Train certified-convex, Lipschitz-bounded sequence models on plant or solar data
(:mod:`iclcontrol.train`), export them to CasADi (:mod:`iclcontrol.export`), and use
them in MPC (:mod:`iclcontrol.mpc`) and PV planning (:mod:`iclcontrol.solar`) against
the plant simulators in :mod:`plants`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load"]


def load(path: Any) -> Any:
    """Load a fitted :class:`iclcontrol.train.SurrogateModel` from a model folder."""
    from iclcontrol.train import load as _load

    return _load(path)
