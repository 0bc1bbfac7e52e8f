"""Translate a network specification into a CasADi Function with exact derivatives.

The input is the ``export_spec()`` dictionary every network and every
``SurrogateModel`` produces (docs/INTERFACES.md). The result is a named
``casadi.Function`` built from the weights as constant matrices: no callbacks, no
finite differences, so CasADi's algorithmic differentiation gives exact first and
second derivatives of any problem built on it.

Scalers are folded in: the Function maps PHYSICAL features ``X`` (steps x
n_features) to PHYSICAL outputs ``Y`` (steps x n_outputs).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import casadi as ca
import numpy as np

from iclcontrol.exceptions import ConfigError, DimensionError, LayoutError, warn

KINDS = ("iclrnn", "icrnn", "lrnn", "rnn", "lstm", "ficnn")
#: Kinds whose output is certified convex in the input sequence (sign constraints).
CONVEX_KINDS = ("iclrnn", "icrnn", "ficnn")

Symbolic = Literal["MX", "SX"]


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int if it is a positive integer (not a bool, float or str).

    Raises
    ------
    ConfigError
        Naming ``name`` and the value found.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(
            f"{name} must be a positive integer, got {value!r} ({type(value).__name__})"
        )
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value}")
    return int(value)


def relu_smoothing_value(value: Any) -> float:
    """``value`` as a float if it is a finite number >= 0 (the softplus
    temperature of :func:`network_expression`; not a bool or str).

    Raises
    ------
    ConfigError
        Naming the value found.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(
            f"relu_smoothing must be a finite number >= 0, got {value!r} "
            f"({type(value).__name__})"
        )
    if not (np.isfinite(value) and value >= 0):
        raise ConfigError(f"relu_smoothing must be a finite number >= 0, got {value!r}")
    return float(value)


#: Network steps per sampling period of the CSTR data (``cstr_dataset``: 10
#: records per 0.005 h period), assumed for a CSTR model that does not record
#: them (:func:`fallback_steps_per_move`).
CSTR_STEPS_PER_MOVE = 10


def fallback_steps_per_move(plant: Any = None) -> int:
    """Network steps per sampling period assumed for a model that records none.

    The one rule of ``MPCSettings(steps_per_move=None)`` (:class:`MPCProblem`,
    ``resolve_settings``), :func:`to_do_mpc` and ``iclcontrol mpc``: the records
    per period of the data a model of ``plant`` was most likely trained on.

    Parameters
    ----------
    plant : plants.Plant, optional
        The plant the model is used for. None: the reference CSTR.

    Returns
    -------
    int
        :data:`CSTR_STEPS_PER_MOVE` (10, ``cstr_dataset``'s) for a
        :class:`plants.cstr.CSTR` or no plant; 1 for any other plant
        (``plant_dataset``'s default, one record per period). [steps]
    """
    if plant is None:
        return CSTR_STEPS_PER_MOVE
    from plants.cstr import CSTR

    return CSTR_STEPS_PER_MOVE if isinstance(plant, CSTR) else 1


def resolve_steps_per_move(
    spec: Mapping[str, Any],
    given: int | None,
    plant: Any = None,
    option: str = "steps_per_move",
) -> int:
    """Network steps per sampling period for a model: the user's or its own.

    Parameters
    ----------
    spec : mapping
        The model's spec (:func:`get_spec`); its ``steps_per_move`` is the
        training data's records per sampling period, None or absent if not
        recorded.
    given : int or None
        The value the user gave; None: the model's.
    plant : plants.Plant, optional
        The plant the model is used for: when neither the user nor the model
        gives a value, :func:`fallback_steps_per_move` of it (10 for the CSTR
        or no plant, 1 for another plant), with a warning.
    option : str
        How the user spells the option, for messages (``"steps_per_move"``,
        ``"--steps-per-move"``, ``"steps_per_period"``).

    Returns
    -------
    int
        Network steps per sampling period. [steps]

    Raises
    ------
    ConfigError
        ``given`` is not a positive integer, or differs from the model's
        recorded value: the network would be read at the wrong times (the
        message names both values and the fix).

    Warns
    -----
    IclControlWarning
        The model records no value and none is given: the assumed one is
        used (the message says which and how to give another), attributed to
        the caller's line outside iclcontrol.
    """
    recorded = spec.get("steps_per_move")
    sep = " " if option.startswith("--") else "="
    if given is None:
        if recorded is not None:
            return int(recorded)
        assumed = fallback_steps_per_move(plant)
        name = "the CSTR" if plant is None else type(plant).__name__
        why = (
            f"the CSTR data's (cstr_dataset), assumed for {name}"
            if assumed == CSTR_STEPS_PER_MOVE
            else f"plant_dataset's default, assumed for {name}"
        )
        warn(
            "the model does not record its steps per move (records per sampling "
            "period of its training data; a model saved before they were "
            "recorded, or fit on data that does not record them): "
            f"{assumed} network step(s) per sampling period are used, {why}; if "
            "its data has another number of records per period, give it "
            f"({option}{sep}N)"
        )
        return assumed
    given = positive_int(given, option)
    if recorded is not None and given != int(recorded):
        raise ConfigError(
            f"{option}{sep}{given} contradicts the model: its training data has "
            f"{int(recorded)} record(s) per sampling period (steps_per_move="
            f"{int(recorded)}), so {given} network steps are not one period; "
            f"leave {option} out (the model's {int(recorded)} is the default) or "
            f"train a model on data with {given} records per period "
            f"(plant_dataset(..., steps_per_move={given}); iclcontrol data plant "
            f"--steps-per-move {given})"
        )
    return given


def get_spec(model_or_spec: Any) -> dict[str, Any]:
    """Return the export specification of a model, a network or a spec dictionary.

    Parameters
    ----------
    model_or_spec : SurrogateModel, torch.nn.Module or dict
        Anything with an ``export_spec()`` method, or the dictionary itself.

    Returns
    -------
    dict
        The specification (see docs/INTERFACES.md), validated.

    Raises
    ------
    ConfigError
        If the kind is unknown or required entries are missing.
    """
    if isinstance(model_or_spec, Mapping):
        spec = dict(model_or_spec)
    elif hasattr(model_or_spec, "export_spec"):
        spec = dict(model_or_spec.export_spec())
    elif isinstance(model_or_spec, (str, os.PathLike)):
        raise ConfigError(
            "to_casadi expects a SurrogateModel, a network with export_spec() or a "
            f"spec dict, got the path {str(model_or_spec)!r}; load the model folder "
            "first: to_casadi(iclcontrol.load(path))"
        )
    else:
        raise ConfigError(
            "to_casadi expects a SurrogateModel, a network with export_spec() or a "
            f"spec dict, got {type(model_or_spec).__name__}"
        )
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"unknown network kind {kind!r}; expected one of {KINDS}")
    for key in ("layers", "readout"):
        if key not in spec:
            raise ConfigError(f"the {kind} spec has no {key!r} entry")
    return spec


def scaler_affine(
    scaler: Mapping[str, Any] | None, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(scale, offset)`` of a scaler dict: ``scaled = x * scale + offset``.

    Accepts the ``MinMaxScaler.to_dict()`` form (``scale_``/``offset_``, or
    ``data_min_``/``data_max_`` with ``feature_range``); ``None`` is the identity.
    """
    if scaler is None:
        return np.ones(width), np.zeros(width)
    d = dict(scaler)
    if "scale_" in d or "scale" in d:
        scale = np.asarray(d.get("scale_", d.get("scale")), dtype=float).ravel()
        offset = np.asarray(d.get("offset_", d.get("offset")), dtype=float).ravel()
    elif "data_min_" in d:
        lo, hi = d.get("feature_range", (0.0, 1.0))
        dmin = np.asarray(d["data_min_"], dtype=float).ravel()
        dmax = np.asarray(d["data_max_"], dtype=float).ravel()
        span = np.where(dmax - dmin > 0, dmax - dmin, 1.0)
        scale = (hi - lo) / span
        offset = lo - dmin * scale
    else:
        raise ConfigError(f"cannot read a scaler from keys {sorted(d)}")
    if scale.shape != (width,) or offset.shape != (width,):
        raise DimensionError(
            f"scaler has {scale.shape[0]} features but the network expects {width}"
        )
    return scale, offset


def spec_dims(spec: Mapping[str, Any]) -> tuple[int, int]:
    """Return ``(n_features, n_outputs)`` of a spec (features before augmentation)."""
    first = spec["layers"][0]
    n_in = np.asarray(first["W_ih"] if spec["kind"] == "lstm" else first["W"]).shape[1]
    if spec.get("augment", False):
        n_in //= 2
    n_out = np.asarray(spec["readout"]["W"]).shape[0]
    return n_in, n_out


#: The end of :func:`check_layout`'s errors: how to get that layout from a log.
_FROM_A_LOG = (
    " (from a plant log: iclcontrol data csv --outputs STATES --inputs INPUTS "
    "--mpc-layout, or csv_dataset(..., mpc_layout=True))"
)


def check_layout(
    spec: Mapping[str, Any],
    state_names: Sequence[str] | None = None,
    input_names: Sequence[str] | None = None,
    user: str = "the controller",
) -> tuple[list[str], list[str]]:
    """Check that a surrogate's features are ``states + inputs`` and outputs ``states``.

    The one layout check shared by :class:`~iclcontrol.mpc.SurrogateMPC` (names of
    the plant) and :func:`~iclcontrol.export.to_do_mpc` (names given or defaulted).
    Counts are always checked; names only where the spec carries them
    (``feature_names``/``output_names`` of a ``SurrogateModel``; a bare network
    spec has none).

    Parameters
    ----------
    spec : dict
        Export specification (see :func:`get_spec`).
    state_names, input_names : sequence of str, optional
        Expected states (= outputs) and inputs. Default: the spec's
        ``output_names`` and the features after them (``x0, x1, ...`` and
        ``u0, u1, ...`` without names).
    user : str
        Who needs the layout, for the error message.

    Returns
    -------
    (list of str, list of str)
        The state names and input names.

    Raises
    ------
    LayoutError
        Wrong number of features or outputs, or names that differ.
    """
    n_f, n_out = spec_dims(spec)
    features = [str(f) for f in (spec.get("feature_names") or [])]
    out_names = [str(f) for f in (spec.get("output_names") or [])]
    if state_names is not None:
        states = [str(n) for n in state_names]
    else:
        states = out_names or [f"x{i}" for i in range(n_out)]
    if input_names is not None:
        inputs = [str(n) for n in input_names]
    else:
        inputs = features[n_out:] if features else [f"u{i}" for i in range(n_f - n_out)]
    if len(states) != n_out or len(states) + len(inputs) != n_f or not inputs:
        raise LayoutError(
            f"{user} needs a model whose features are the states followed by the "
            f"inputs and whose outputs are the states; the model has {n_f} features "
            f"and {n_out} outputs, expected {len(states) + len(inputs)} features "
            f"{states + inputs} and {len(states)} outputs {states}{_FROM_A_LOG}"
        )
    expected = states + inputs
    wrong = []
    if features and features != expected:
        wrong.append(f"features {features} (expected {expected})")
    if out_names and out_names != states:
        wrong.append(f"outputs {out_names} (expected {states})")
    if wrong:
        raise LayoutError(
            f"{user}: the model's {' and '.join(wrong)} do not match the states "
            f"{states} and inputs {inputs}; the surrogate must be trained on this "
            "process's data with features = states then inputs and outputs = states"
            f"{_FROM_A_LOG}"
        )
    return states, inputs


def spec_activation(spec: Mapping[str, Any]) -> str:
    """Hidden-unit activation of a network spec (specs without the key: the kind's
    default, tanh for rnn and lstm, relu otherwise)."""
    default = "tanh" if spec["kind"] in ("rnn", "lstm") else "relu"
    return str(spec.get("activation", default))


def _act(name: str, z: Any, relu_smoothing: float = 0.0) -> Any:
    if name == "relu":
        if relu_smoothing > 0:
            # softplus with temperature tau, written without overflow:
            # tau log(1 + exp(z / tau)) = max(z, 0) + tau log1p(exp(-|z| / tau));
            # within tau log 2 of max(z, 0) everywhere, infinitely differentiable
            tau = float(relu_smoothing)
            return ca.fmax(z, 0) + tau * ca.log1p(ca.exp(-ca.fabs(z) / tau))
        return ca.fmax(z, 0)
    if name == "tanh":
        return ca.tanh(z)
    raise ConfigError(f"unknown activation {name!r}; expected 'relu' or 'tanh'")


def initial_state(layer: Mapping[str, Any]) -> Any:
    """The initial hidden state ``h0`` of an Elman layer as a DM, None if zero."""
    h0 = layer.get("h0")
    if h0 is None:
        return None
    h0 = np.asarray(h0, dtype=float).ravel()
    return ca.DM(h0) if np.any(h0 != 0) else None


def network_expression(
    spec: Mapping[str, Any], Z: Any, relu_smoothing: float = 0.0
) -> Any:
    """Scaled outputs of a network for scaled inputs ``Z`` (n_features x steps).

    Works column-wise (one column per time step) with ``Z`` an SX/MX/DM matrix;
    returns an (n_outputs x steps) expression. Weights enter as constant matrices.
    ``relu_smoothing`` > 0 replaces ReLU by the softplus ``tau log(1 + e^(z/tau))``
    (tau = relu_smoothing, in pre-activation units; at most ``tau log 2`` above
    ReLU): a smooth approximation of the network, not the network itself.
    """
    kind = spec["kind"]
    act = spec_activation(spec)
    steps = Z.shape[1]
    H = ca.vertcat(Z, -Z) if spec.get("augment", False) else Z
    for layer in spec["layers"]:
        if kind == "ficnn":
            W = ca.DM(np.asarray(layer["W"], dtype=float))
            b = ca.DM(np.asarray(layer["b"], dtype=float))
            H = _act(act, ca.mtimes(W, H) + ca.repmat(b, 1, steps), relu_smoothing)
            continue
        if kind == "lstm":
            Wih = ca.DM(np.asarray(layer["W_ih"], dtype=float))
            Whh = ca.DM(np.asarray(layer["W_hh"], dtype=float))
            b_lstm = ca.DM(np.asarray(layer["b"], dtype=float))
            nh = Whh.shape[1]
            # input projections for all steps at once, recurrence column by column
            P = ca.mtimes(Wih, H) + ca.repmat(b_lstm, 1, steps)
            h = ca.DM.zeros(nh, 1)
            c = ca.DM.zeros(nh, 1)
            cols = []
            for t in range(steps):
                g = P[:, t] + ca.mtimes(Whh, h)
                i_g = 1 / (1 + ca.exp(-g[0:nh]))
                f_g = 1 / (1 + ca.exp(-g[nh : 2 * nh]))
                g_g = ca.tanh(g[2 * nh : 3 * nh])
                o_g = 1 / (1 + ca.exp(-g[3 * nh : 4 * nh]))
                c = f_g * c + i_g * g_g
                h = o_g * ca.tanh(c)
                cols.append(h)
            H = ca.horzcat(*cols)
            continue
        W = ca.DM(np.asarray(layer["W"], dtype=float))
        U = ca.DM(np.asarray(layer["U"], dtype=float))
        b = ca.DM(np.asarray(layer["b"], dtype=float))
        P = ca.mtimes(W, H) + ca.repmat(b, 1, steps)
        # a learned initial state enters the first step as the constant U h0
        h_prev: Any = initial_state(layer)
        cols = []
        for t in range(steps):
            pre = P[:, t] if h_prev is None else P[:, t] + ca.mtimes(U, h_prev)
            h_prev = _act(act, pre, relu_smoothing)
            cols.append(h_prev)
        H = ca.horzcat(*cols)
    Wr = ca.DM(np.asarray(spec["readout"]["W"], dtype=float))
    br = ca.DM(np.asarray(spec["readout"]["b"], dtype=float))
    return ca.mtimes(Wr, H) + ca.repmat(br, 1, steps)


def physical_expression(
    spec: Mapping[str, Any], X: Any, relu_smoothing: float = 0.0
) -> Any:
    """Physical outputs (steps x n_outputs) for physical features ``X`` (steps x n_f).

    ``X`` is an SX/MX/DM matrix or a 2-D array-like (numpy values give a DM);
    anything else raises a ``DimensionError`` naming the expected shape.

    The input scaler is applied first and the output scaler inverted at the end,
    so the expression is the network's output at every step for one sample;
    ``SurrogateModel.predict`` returns its last ``output_steps_`` rows.
    ``relu_smoothing``: see :func:`network_expression` (0: the exact network).
    """
    n_f, n_out = spec_dims(spec)
    if not isinstance(X, (ca.SX, ca.MX, ca.DM)):
        X = np.asarray(X, dtype=float)
    if len(X.shape) != 2:
        raise DimensionError(
            f"X must be a (steps, {n_f}) matrix, one row per step; got shape "
            f"{tuple(X.shape)} (one step of a 1-D vector x: X = x.reshape(1, -1))"
        )
    if X.shape[1] != n_f:
        raise DimensionError(
            f"X has {X.shape[1]} features but the network expects {n_f} features"
        )
    xs, xo = scaler_affine(spec.get("x_scaler"), n_f)
    ys, yo = scaler_affine(spec.get("y_scaler"), n_out)
    steps = X.shape[0]
    Z = ca.diag(ca.DM(xs)) @ X.T + ca.repmat(ca.DM(xo), 1, steps)
    Ys = network_expression(spec, Z, relu_smoothing)
    Y = ca.diag(ca.DM(1.0 / ys)) @ (Ys - ca.repmat(ca.DM(yo), 1, steps))
    return Y.T


def to_casadi(
    model_or_spec: Any,
    steps: int | None = None,
    symbolic: Symbolic = "MX",
    jit: bool = False,
    name: str = "surrogate",
    relu_smoothing: float = 0.0,
) -> ca.Function:
    """Export a surrogate as ``casadi.Function(name, [X], [Y], ["X"], ["Y"])``.

    Parameters
    ----------
    model_or_spec : SurrogateModel, network or dict
        Source of the weights (``export_spec()``); scalers in the spec are folded in.
        A model folder is not accepted: load it first (``iclcontrol.load(path)``).
    steps : int, optional
        Sequence length of the exported Function (default: ``spec["steps"]`` if
        present, else 10, one sampling period of the CSTR data). Steps beyond
        the length the model was trained on (``model.steps_``) extrapolate in
        time (no warning here; :func:`~iclcontrol.export.to_do_mpc` warns).
    symbolic : {"MX", "SX"}
        ``"MX"`` keeps matrix products with constant weights (compact, fast to build
        and to differentiate); ``"SX"`` expands to scalar operations (use only for
        small networks: a 2x64 network over 20 steps is a graph of ~10^5 nodes).
        Either Function accepts MX and SX arguments (and ``nlpsol``'s
        ``expand=True`` turns an MX one into SX).
    jit : bool
        Compile the Function with the machine's C compiler (CasADi JIT, gcc -O2).
        Only sensible with ``symbolic="MX"``. ``f.generate("f.c")`` writes the
        same Function as C code for your own build instead.
    name : str
        Name of the Function (CasADi's rules: a letter, then letters, digits
        and single underscores).
    relu_smoothing : float
        0 (default): the exact network. ``tau`` > 0: every ReLU is replaced by
        the softplus ``tau log(1 + exp(z / tau))`` (``tau`` in pre-activation,
        i.e. scaled, units; at most ``tau log 2`` above ReLU per unit; still
        convex and non-decreasing, so a convex kind stays convex). Use it when
        IPOPT (or another exact-Hessian NLP solver) works on a ReLU network
        (iclrnn, icrnn, lrnn, ficnn): a piecewise-linear network has kinks, an
        optimum often lies on one, and IPOPT's Newton steps then cycle until
        ``Maximum_Iterations_Exceeded``. The library's own MPC solves with
        ``tau = 1e-3`` by default
        (``iclcontrol.mpc.settings.DEFAULT_RELU_SMOOTHING``,
        docs/mpc_benchmark.md) and evaluates the result on the exact network;
        do the same (export both, check the solution with the exact one).
        No effect on tanh networks (rnn, lstm).

    Returns
    -------
    casadi.Function
        ``Y = f(X)``, X of shape (steps, n_features), Y of shape (steps, n_outputs),
        both in physical units: the units of the training data's columns, in
        the model's order (``model.feature_names_`` with ``feature_units_``,
        ``model.output_names_`` with ``output_units_``; the Function itself
        only names ``X`` and ``Y``). For the CSTR data these are deviations
        from the steady state (CA, T, CA0, Q in kmol/m^3, K, kmol/m^3, kJ/h),
        as ``plants.CSTR`` uses them; no scaling is left to do (the min-max
        scalers are folded in). Row t of Y is the output after input row t.
        The training data's range, per feature, is ``model.x_scaler_.data_min_``
        to ``data_max_`` (the spec's ``x_scaler``); outside it the network
        extrapolates, so bound your decision variables there if you can.
        For a model fit on fewer target steps than input steps (``output_steps_ <
        steps_``, e.g. sequence to last value) only the last ``output_steps_``
        rows were trained; they are what ``model.predict(X)`` returns.

        Calls accept DM or 2-D numpy values of exactly that shape and SX or MX
        symbols (inside a user's ``casadi.Opti`` or ``nlpsol`` problem), also by
        name (``f(X=...)["Y"]``); CasADi refuses DataFrames, nested lists and
        3-D arrays (pass ``df[model.feature_names_].to_numpy()``; for a batch of
        n sequences use ``f.map(n)`` on the sequences side by side, shape
        (steps, n * n_features)). ``f.save(path)`` / ``casadi.Function.load(path)``
        serialize it for deployment.

        A model trained on plant data (``cstr_dataset``, ``plant_dataset``)
        takes per step the state at the start of the sampling period, held,
        then that period's input: the one-period transition ``x[k+1] =
        f(x[k], u[k])`` is the last row of ``f(repmat([x[k]', u[k]'],
        steps_per_move, 1))`` with ``steps=steps_per_move`` (10 for the CSTR
        data; ``get_spec(model)["steps_per_move"]``), which is what
        :func:`~iclcontrol.export.to_do_mpc` builds; chain such calls for
        multiple shooting.

    Raises
    ------
    ConfigError
        Unknown kind/activation/symbolic, ``steps`` not a positive integer
        (floats, strings and bools are refused), ``jit`` with
        ``symbolic="SX"``, ``relu_smoothing`` not a finite number >= 0, or
        an ``IrradianceForecaster`` (its network output is not the forecast).
    NotFittedError
        A ``SurrogateModel`` that is not fitted.

    Notes
    -----
    The Function does not check its input (a CasADi Function cannot raise on a
    value): NaN or infinite features give finite-looking outputs for ReLU
    networks, because CasADi's ``fmax(NaN, 0)`` is 0, so a NaN goes through
    every ReLU as 0. Check inputs before calling it (``SurrogateMPC.step`` does
    so for the measured state).

    Examples
    --------
    >>> f = to_casadi(model, steps=20)               # doctest: +SKIP
    >>> Y = f(X)                                      # doctest: +SKIP
    >>> fs = to_casadi(model, relu_smoothing=1e-3)    # for IPOPT  # doctest: +SKIP
    """
    spec = get_spec(model_or_spec)
    if "lags" in spec:  # IrradianceForecaster.export_spec()
        raise ConfigError(
            "to_casadi exports a surrogate whose network output is the physical "
            "output; an IrradianceForecaster's network gives a scaled clear-sky "
            "index correction that predict turns into W/m^2 outside the network "
            "(clear-sky irradiance, clipping), so its export would not be the "
            "forecast; use forecaster.predict, or a SurrogateModel fit on your "
            "irradiance windows"
        )
    steps = positive_int(steps if steps is not None else spec.get("steps", 10), "steps")
    tau = relu_smoothing_value(relu_smoothing)
    if symbolic not in ("MX", "SX"):
        raise ConfigError(f"symbolic must be 'MX' or 'SX', got {symbolic!r}")
    if jit and symbolic == "SX":
        raise ConfigError(
            "jit=True with symbolic='SX' compiles a huge scalar graph (minutes of "
            "gcc); "
            "use symbolic='MX'"
        )
    n_f, _ = spec_dims(spec)
    sym = ca.MX if symbolic == "MX" else ca.SX
    X: Any = sym.sym("X", steps, n_f)
    Y = physical_expression(spec, X, tau)
    return ca.Function(name, [X], [Y], ["X"], ["Y"], jit_options(jit))


def jit_options(jit: bool) -> dict[str, Any]:
    """CasADi Function options for JIT compilation with gcc (empty if ``jit`` False)."""
    if not jit:
        return {}
    tmp = tempfile.gettempdir()
    return {
        "jit": True,
        "compiler": "shell",
        "jit_cleanup": True,
        "jit_temp_suffix": True,
        "jit_name": "iclcontrol_jit",
        "jit_options": {"flags": ["-O2"], "verbose": False, "directory": tmp + os.sep},
    }


def numpy_forward(spec: Mapping[str, Any], X: np.ndarray) -> np.ndarray:
    """Evaluate the exported map on a batch: X (n, steps, n_f) -> (n, steps, n_out)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 2:
        X = X[None]
    f = to_casadi(spec, steps=X.shape[1])
    fm = f.map(X.shape[0])
    n_f = X.shape[2]
    # map concatenates horizontally: inputs (steps, n_f * n)
    Xh = np.concatenate(list(X), axis=1)
    Yh = np.asarray(fm(Xh))
    n_out = Yh.shape[1] // X.shape[0]
    del n_f
    return np.stack([Yh[:, i * n_out : (i + 1) * n_out] for i in range(X.shape[0])])
