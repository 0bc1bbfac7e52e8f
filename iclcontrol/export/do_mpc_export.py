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

from iclcontrol.exceptions import ConfigError, IclControlWarning
from iclcontrol.export.casadi_export import (
    check_layout,
    get_spec,
    physical_expression,
    relu_smoothing_value,
    resolve_steps_per_move,
)


def to_do_mpc(
    model_or_spec: Any,
    steps_per_period: int | None = None,
    state_names: Sequence[str] | None = None,
    input_names: Sequence[str] | None = None,
    symvar_type: str = "SX",
    model: Any = None,
    setup: bool = True,
    relu_smoothing: float = 0.0,
) -> Any:
    """Return a ``do_mpc.model.Model('discrete')`` driven by a surrogate.

    Parameters
    ----------
    model_or_spec : SurrogateModel, network or dict
        A model whose features are ``state_names + input_names`` (physical units)
        and whose outputs are ``state_names``.
    steps_per_period : int, optional
        Network steps per sampling period (10 for the CSTR data: one output every
        0.0005 h over a 0.005 h period; 1 for ``plant_dataset``'s default and
        ``csv_dataset``'s windows, one record per period). Default: the
        model's recorded ``steps_per_move`` (its training data's), or 10 (the
        CSTR data's, with a warning) for a model that does not record it.
    state_names, input_names : sequence of str, optional
        Default: ``output_names`` of the spec, and the remaining ``feature_names``.
    symvar_type : {"SX", "MX"}
        Symbolic type of a new do-mpc model (ignored with ``model``).
    model : do_mpc.model.Model, optional
        Your own discrete model, not set up yet (it may already hold
        time-varying parameters, parameters or expressions); the surrogate's
        states, inputs and right-hand sides are added to it. Default: a new one.
    setup : bool
        Call ``model.setup()``. False leaves it open, so that you can add
        ``_tvp`` (e.g. a setpoint), ``_p`` or expressions, then call
        ``setup()`` yourself.
    relu_smoothing : float
        0 (default): the exact network. ``tau`` > 0: ReLU replaced by the
        softplus ``tau log(1 + exp(z / tau))`` (see
        :func:`~iclcontrol.export.to_casadi`): do-mpc solves with IPOPT, which
        may cycle at the kinks of an exact ReLU network (iclrnn, icrnn, lrnn)
        until ``Maximum_Iterations_Exceeded``; 1e-3 is what the library's own
        MPC uses. No effect on tanh networks (rnn, lstm).

    Returns
    -------
    do_mpc.model.Model
        With states ``state_names``, inputs ``input_names``, and the right-hand
        side set; with ``setup=True`` ready for ``do_mpc.controller.MPC``.

    Warns
    -----
    IclControlWarning
        ``steps_per_period`` longer than the sequences the model was trained on.

    Raises
    ------
    LayoutError
        (a ConfigError) If the features are not ``state_names + input_names`` or
        the outputs not ``state_names`` (:func:`check_layout`).
    ConfigError
        ``model`` is not a discrete do-mpc model, or already set up;
        ``steps_per_period`` differs from the model's recorded ``steps_per_move``;
        ``relu_smoothing`` not a finite number >= 0.

    Notes
    -----
    Units are the training data's (physical, scalers folded in; for the CSTR
    data deviations from the steady state): bounds, setpoints and ``x0`` you
    give do-mpc are in those units, as for :func:`~iclcontrol.export.to_casadi`.
    """
    import warnings

    with warnings.catch_warnings():  # do-mpc warns about optional features on import
        warnings.simplefilter("ignore")
        import do_mpc

    spec = get_spec(model_or_spec)
    if symvar_type not in ("SX", "MX"):
        raise ConfigError(f"symvar_type must be 'SX' or 'MX', got {symvar_type!r}")
    tau = relu_smoothing_value(relu_smoothing)
    # the layout first: a model that cannot be a transition gets that error
    # alone, not a warning about its sequence length before it
    outputs, inputs = check_layout(spec, state_names, input_names, "to_do_mpc")
    steps_per_period = resolve_steps_per_move(
        spec, steps_per_period, option="steps_per_period"
    )
    trained = spec.get("output_steps", spec.get("steps"))
    if trained is not None and steps_per_period > int(trained):
        warnings.warn(
            f"steps_per_period={steps_per_period} runs the network beyond the "
            f"{int(trained)} steps it was trained on: x[k+1] is extrapolated in "
            f"time; use steps_per_period <= {int(trained)}, the network steps of "
            "one sampling period in its data (1 for plant_dataset's default of "
            "one record per period), or a model trained on longer sequences",
            IclControlWarning,
            stacklevel=2,
        )
    if model is None:
        model = do_mpc.model.Model("discrete", symvar_type)
    elif not isinstance(model, do_mpc.model.Model) or model.model_type != "discrete":
        raise ConfigError(
            "model must be a do_mpc.model.Model('discrete') (the surrogate is a "
            f"discrete-time transition); got {type(model).__name__} "
            f"{getattr(model, 'model_type', '')!r}"
        )
    elif model.flags.get("setup"):
        raise ConfigError(
            "the do-mpc model is already set up; pass it before model.setup() (no "
            "variable can be added after)"
        )
    xs = [model.set_variable("_x", name) for name in outputs]
    us = [model.set_variable("_u", name) for name in inputs]
    row = ca.horzcat(*xs, *us)
    X = ca.repmat(row, steps_per_period, 1)
    Y = physical_expression(spec, X, tau)
    for j, name in enumerate(outputs):
        model.set_rhs(name, Y[steps_per_period - 1, j])
    if setup:
        model.setup()
    return model
