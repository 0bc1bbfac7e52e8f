"""Forecast error metrics on irradiance, evaluated on daytime samples only.

Skill is ``1 - RMSE_model / RMSE_reference`` with smart persistence (persistence of
the clear-sky index) as the reference (REFERENCE.md). NaN pairs are ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from iclcontrol.exceptions import DataError, DimensionError

__all__ = ["error_metrics", "horizon_metrics", "mae", "mbe", "rmse", "skill"]


def _pair(y_true: Any, y_pred: Any, mask: Any = None) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise DimensionError(
            f"y_true has {t.size} values but y_pred has {p.size}; they must match"
        )
    keep = np.isfinite(t) & np.isfinite(p)
    if mask is not None:
        m = np.asarray(mask, dtype=bool).ravel()
        if m.shape != t.shape:
            raise DimensionError(f"mask has {m.size} values, expected {t.size}")
        keep &= m
    return t[keep], p[keep]


def rmse(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Root-mean-square error. [unit of y]; NaN when no valid pair."""
    t, p = _pair(y_true, y_pred, mask)
    return float(np.sqrt(np.mean((p - t) ** 2))) if t.size else float("nan")


def mae(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Mean absolute error. [unit of y]"""
    t, p = _pair(y_true, y_pred, mask)
    return float(np.mean(np.abs(p - t))) if t.size else float("nan")


def mbe(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Mean bias error ``mean(pred - true)`` (positive = over-forecast). [unit of y]"""
    t, p = _pair(y_true, y_pred, mask)
    return float(np.mean(p - t)) if t.size else float("nan")


def skill(rmse_model: float, rmse_reference: float) -> float:
    """Skill score ``1 - rmse_model / rmse_reference`` (1 perfect, 0 = reference)."""
    if not rmse_reference > 0:
        return float("nan")
    return float(1.0 - rmse_model / rmse_reference)


def error_metrics(
    y_true: Any, y_pred: Any, y_ref: Any = None, mask: Any = None
) -> dict[str, float]:
    """RMSE, MAE, MBE in W/m^2 and normalized by the mean measurement, plus skill.

    The same samples (finite in all three and inside ``mask``) enter every figure.

    Returns
    -------
    dict
        ``rmse``, ``mae``, ``mbe`` [W/m^2]; ``nrmse``, ``nmae``, ``nmbe`` [-] divided
        by the mean measured value; ``n``; with ``y_ref``: ``rmse_reference`` and
        ``skill_vs_smart_persistence``.
    """
    t = np.asarray(y_true, dtype=float).ravel()
    parts = {"y_pred": y_pred, "y_ref": y_ref, "mask": mask}
    for name, values in parts.items():
        if values is not None and np.size(values) != t.size:
            raise DimensionError(
                f"y_true has {t.size} values but {name} has {np.size(values)}; "
                "they must match"
            )
    keep = (
        np.ones(t.shape, dtype=bool) if mask is None else np.asarray(mask, bool).ravel()
    )
    keep = keep & np.isfinite(t) & np.isfinite(np.asarray(y_pred, float).ravel())
    if y_ref is not None:
        keep &= np.isfinite(np.asarray(y_ref, dtype=float).ravel())
    if not keep.any():
        raise DataError("no valid (finite, daytime) samples to score")
    out: dict[str, float] = {
        "rmse": rmse(t, y_pred, keep),
        "mae": mae(t, y_pred, keep),
        "mbe": mbe(t, y_pred, keep),
        "n": int(keep.sum()),
    }
    mean = float(np.mean(t[keep]))
    for k in ("rmse", "mae", "mbe"):
        out["n" + k] = out[k] / mean if mean > 0 else float("nan")
    if y_ref is not None:
        out["rmse_reference"] = rmse(t, y_ref, keep)
        out["skill_vs_smart_persistence"] = skill(out["rmse"], out["rmse_reference"])
    return out


def horizon_metrics(
    truth: pd.DataFrame,
    forecast: pd.DataFrame,
    reference: pd.DataFrame,
    daytime: pd.DataFrame,
) -> list[dict[str, float]]:
    """Metrics per horizon step for frames indexed by issue time, columns h1..hH.

    ``truth``, ``reference`` (smart persistence) and ``daytime`` (bool) are aligned on
    the same index and columns as ``forecast``.
    """
    out = []
    for j, col in enumerate(forecast.columns, start=1):
        m = error_metrics(
            truth[col].to_numpy(),
            forecast[col].to_numpy(),
            reference[col].to_numpy(),
            daytime[col].to_numpy(),
        )
        out.append({"steps": j, **m})
    return out
