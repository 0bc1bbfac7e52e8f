"""Build a discrete-time do-mpc model from a surrogate.

The surrogate's features per step are the state at the start of the sampling period
(held constant) followed by the input of the step; its outputs are the states
recorded during the period. The last output is the state at the end of the period,
which is the discrete-time transition ``x[k+1] = f(x[k], u[k])`` do-mpc needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import casadi as ca

from iclcontrol.exceptions import ConfigError
from iclcontrol.export.casadi_export import get_spec, physical_expression, spec_dims


def to_do_mpc(
    model_or_spec: Any,
    steps_per_period: int = 10,
    state_names: Sequence[str] | None = None,
    input_names: Sequence[str] | None = None,
    symvar_type: str = "SX",
) -> Any:
    """Return a set-up ``do_mpc.model.Model('discrete')`` driven by a surrogate.

    Parameters
    ----------
    model_or_spec : SurrogateModel, network or dict
        A model whose features are ``state_names + input_names`` (physical units)
        and whose outputs are ``state_names``.
    steps_per_period : int
        Network steps per sampling period (10 for the CSTR data: one output every
        0.0005 h over a 0.005 h period).
    state_names, input_names : sequence of str, optional
        Default: ``output_names`` of the spec, and the remaining ``feature_names``.
    symvar_type : {"SX", "MX"}
        Symbolic type of the do-mpc model.

    Returns
    -------
    do_mpc.model.Model
        With states ``state_names``, inputs ``input_names``, and the right-hand
        side set; ``setup()`` already called, ready for ``do_mpc.controller.MPC``.

    Raises
    ------
    ConfigError
        If the feature layout does not match ``state_names + input_names``.
    """
    import warnings

    with warnings.catch_warnings():  # do-mpc warns about optional features on import
        warnings.simplefilter("ignore")
        import do_mpc

    spec = get_spec(model_or_spec)
    n_f, n_out = spec_dims(spec)
    outputs = list(state_names or spec.get("output_names") or [])
    if not outputs:
        outputs = [f"x{i}" for i in range(n_out)]
    features = list(spec.get("feature_names") or [])
    if input_names is None:
        inputs = features[n_out:] if features else [f"u{i}" for i in range(n_f - n_out)]
    else:
        inputs = list(input_names)
    if len(outputs) != n_out or len(outputs) + len(inputs) != n_f:
        raise ConfigError(
            f"to_do_mpc needs features = states + inputs; the network has {n_f} "
            f"features and {n_out} outputs, got states {outputs} and inputs {inputs}"
        )
    if features and features[:n_out] != outputs:
        raise ConfigError(
            f"the first features {features[:n_out]} must be the states {outputs}"
        )
    model = do_mpc.model.Model("discrete", symvar_type)
    xs = [model.set_variable("_x", name) for name in outputs]
    us = [model.set_variable("_u", name) for name in inputs]
    row = ca.horzcat(*xs, *us)
    X = ca.repmat(row, steps_per_period, 1)
    Y = physical_expression(spec, X)
    for j, name in enumerate(outputs):
        model.set_rhs(name, Y[steps_per_period - 1, j])
    model.setup()
    return model
