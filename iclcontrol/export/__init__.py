"""Translate trained surrogates into optimization modelling tools (CasADi, do-mpc)."""

from iclcontrol.export.casadi_export import (
    CONVEX_KINDS,
    CSTR_STEPS_PER_MOVE,
    KINDS,
    check_layout,
    fallback_steps_per_move,
    get_spec,
    network_expression,
    physical_expression,
    resolve_steps_per_move,
    scaler_affine,
    spec_dims,
    to_casadi,
)
from iclcontrol.export.do_mpc_export import to_do_mpc

__all__ = [
    "CONVEX_KINDS",
    "CSTR_STEPS_PER_MOVE",
    "KINDS",
    "check_layout",
    "fallback_steps_per_move",
    "get_spec",
    "network_expression",
    "physical_expression",
    "resolve_steps_per_move",
    "scaler_affine",
    "spec_dims",
    "to_casadi",
    "to_do_mpc",
]
