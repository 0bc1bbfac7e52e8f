"""Certificates of a network: convexity from its weights, Lipschitz bounds.

Everything here is computed from the exported weights (``export_spec()``), never
assumed from the class name, so a certificate also catches a constraint that was
switched off or a weight file edited by hand.

Convexity (ReLU networks). By induction over steps and layers, if the activation is
convex and non-decreasing and every matrix that multiplies a hidden state is entrywise
non-negative (all recurrent matrices ``U``, the input matrices ``W`` of layers 2..L and
the readout), every hidden unit and every output at every step is a convex function of
the whole input sequence: a non-negative combination of convex functions plus an
affine function of the input is convex, and a convex non-decreasing function of a
convex function is convex. The first layer's input matrix acts on an affine function
of the input (``[z, -z]``, with ``z`` an affine function of the physical features), so
its sign does not matter. Scalers are affine, so convexity holds in scaled and
physical units alike.

Lipschitz bound (Elman networks with a 1-Lipschitz activation, relu or tanh). For two
input sequences let ``dz_t`` be the l2 norm of their difference at step ``t`` and
``dh_t`` the same for a layer's state. Then ``dh_t <= a dz_t + c dh_{t-1}`` with
``a = ||W_eff||_2`` and ``c = ||U||_2`` (exact SVDs), so ``dh <= M dz`` entrywise with
the lower-triangular Toeplitz matrix ``M[t, s] = a c^(t-s)``. Stacking layers
multiplies these non-negative matrices and the readout adds ``||W_out||_2``, hence

    ||Y - Y'||_2 <= ||W_out||_2 * ||M_L ... M_1||_2 * ||Z - Z'||_2

where ``Z`` is the whole scaled input sequence (steps x n_features) and ``Y`` the
whole scaled output sequence, both flattened (Frobenius norm). ``W_eff`` is the first
layer's matrix acting on ``z`` itself: with augmentation ``W [z, -z] = (W_+ - W_-) z``.
The physical-unit bound multiplies by ``max(x_scale) / min(y_scale)`` (the
scalers map ``x`` to ``z = x * x_scale + offset``): it compares whole vectors
whose entries have different units, and is set by the input with the narrowest
range and the output with the widest.

Per input and output. When only feature ``j`` changes (at any steps, the other
features held) and only output ``i`` is measured, the same argument holds with
the first layer's matrix acting on ``z_j`` alone, ``W_eff[:, j]`` (other
features add the same term to both sequences), and the readout row
``W_out[i, :]`` (``|y_i - y_i'| <= ||W_out[i, :]||_2 ||h - h'||_2``); so the bound
of the network restricted to that input and output column holds, and is never
above the whole one (a column's or row's norm is at most the matrix's). In
physical units it multiplies by ``x_scale[j] / y_scale[i]``: a change of input
``j`` by 1 of its unit over the sequence (l2) changes output ``i`` by at most
that many of its units (l2 over the output steps).

A learned initial state ``h_0`` (iclrnn, icrnn by default) is the same constant
for every input sequence: it enters the first step as a constant bias ``U h_0``,
so it changes neither the convexity argument nor the Lipschitz bound (``dh_0 = 0``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

#: Relative inflation of the computed bound covering float64 rounding in the SVDs
#: and the matrix products (a few ulps each; 1e-9 is many orders above that).
_ROUNDING = 1e-9


@dataclass
class Certificate:
    """What can be guaranteed about a trained network.

    Attributes
    ----------
    kind : str
    convex : bool
        Every output at every step is convex in the whole input sequence.
    convexity_reason : str
        Why (or the first check that failed).
    monotone_in_augmented_input : bool
        All matrices including the first are non-negative: the network is
        non-decreasing in ``[z, -z]``.
    matrices : list of dict
        Per matrix: ``name``, ``shape``, ``spectral_norm`` (exact, float64),
        ``min_entry``, ``bound`` (the enforced bound or None).
    steps : int
        Sequence length the Lipschitz bound is stated for.
    lipschitz_upper : float or None
        Certified upper bound, scaled input sequence -> scaled output sequence, l2
        (Frobenius) norms over the whole sequences. None when not available.
    lipschitz_upper_physical : float or None
        The same bound in physical units (needs the scalers).
    lipschitz_norm : str
        Statement of the norms and scaling.
    lipschitz_method : str
    lipschitz_lower_empirical : float or None
        Largest spectral norm of the input-output Jacobian over data samples (a lower
        bound of the true constant; never above ``lipschitz_upper``).
    n_samples_empirical : int
    lipschitz_upper_pairs : list of list of float or None
        ``[i][j]``: certified bound from input feature ``j`` alone to output ``i``
        alone, scaled units (module docstring); None when not available.
    lipschitz_upper_pairs_physical : list of list of float or None
        The same in physical units: units of output ``i`` per unit of input
        ``j`` (needs the scalers).
    lipschitz_physical_note : str
        What sets ``lipschitz_upper_physical`` (which input's and output's
        scale factors), empty when it is not available.
    feature_names, feature_units, output_names, output_units : list of str
        Names and units of the inputs and outputs (empty when not given), for
        the summary.
    """

    kind: str
    convex: bool
    convexity_reason: str
    monotone_in_augmented_input: bool
    matrices: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    lipschitz_upper: float | None = None
    lipschitz_upper_physical: float | None = None
    lipschitz_norm: str = ""
    lipschitz_method: str = ""
    lipschitz_lower_empirical: float | None = None
    n_samples_empirical: int = 0
    lipschitz_upper_pairs: list[list[float]] | None = None
    lipschitz_upper_pairs_physical: list[list[float]] | None = None
    lipschitz_physical_note: str = ""
    feature_names: list[str] = field(default_factory=list)
    feature_units: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    output_units: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    def summary(self) -> str:
        """A few readable lines: convexity with its reason, the Lipschitz bounds.

        ``print(certificate)`` shows this; ``repr`` keeps every field.

        Returns
        -------
        str
            Lines without a trailing newline, e.g.::

                iclrnn certificate
                  convex: yes (activation relu is convex and non-decreasing; ...)
                  Lipschitz bound over 10-step sequences: 35.4 (scaled units), ...
        """

        def num(value: float | None) -> str:
            return "not available" if value is None else f"{value:.3g}"

        lines = [
            f"{self.kind} certificate",
            f"  convex: {'yes' if self.convex else 'no'} ({self.convexity_reason})",
            f"  Lipschitz bound over {self.steps}-step sequences: "
            f"{num(self.lipschitz_upper)} (scaled units), "
            f"{num(self.lipschitz_upper_physical)} (physical units)",
        ]
        if self.lipschitz_lower_empirical is not None:
            lines.append(
                f"  largest Jacobian norm on {self.n_samples_empirical} data samples: "
                f"{num(self.lipschitz_lower_empirical)} (a lower bound, scaled units)"
            )
        if self.lipschitz_norm:
            lines.append(f"  norm: {self.lipschitz_norm}")
        if self.lipschitz_physical_note:
            lines.append(f"  physical units: {self.lipschitz_physical_note}")
        lines.extend(self.pair_lines())
        return "\n".join(lines)

    def pair_lines(self) -> list[str]:
        """Lines of the physical bound per input and output, as in :meth:`summary`.

        Returns
        -------
        list of str
            A header and one line per output (``T: 6.1e+03 K per kmol/m^3 of CA,
            ...``); empty when the per-pair bounds or the names are not known.
        """
        pairs = self.lipschitz_upper_pairs_physical
        n_out, n_f = len(self.output_names), len(self.feature_names)
        if pairs is None or np.shape(pairs) != (n_out, n_f):
            return []
        f_units = self.feature_units or [""] * n_f
        o_units = self.output_units or [""] * n_out
        lines = [
            "  bound per input and output (only that input changed; l2 norms over "
            "the sequences):"
        ]
        for i, name in enumerate(self.output_names):
            unit = f" {o_units[i]}" if o_units[i] else ""
            terms = ", ".join(
                f"{v:.3g}{unit} per {u or 'unit'} of {f}"
                for f, v, u in zip(self.feature_names, pairs[i], f_units, strict=True)
            )
            lines.append(f"    {name}: {terms}")
        return lines

    def __str__(self) -> str:
        return self.summary()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Certificate:
        return cls(**d)


LIPSCHITZ_NORM = (
    "l2 (Frobenius) norm of the whole scaled input sequence (steps x n_features, "
    "min-max scaled) -> l2 norm of the whole scaled output sequence (steps x "
    "n_outputs)"
)


def _matrices(spec: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    out: list[tuple[str, np.ndarray]] = []
    for k, layer in enumerate(spec["layers"]):
        for key in ("W", "U", "W_ih", "W_hh"):
            if key in layer:
                out.append((f"layers.{k}.{key}", np.asarray(layer[key], float)))
    out.append(("readout.W", np.asarray(spec["readout"]["W"], float)))
    return out


def _norm(a: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    return float(np.linalg.norm(a, ord=2))


def _effective_first(spec: dict[str, Any], key: str = "W") -> np.ndarray:
    W = np.asarray(spec["layers"][0][key], float)
    if spec["augment"]:
        f = W.shape[1] // 2
        return W[:, :f] - W[:, f:]
    return W


def convexity(spec: dict[str, Any]) -> tuple[bool, bool, str]:
    """Check input convexity from the weights and activation of a spec.

    Returns
    -------
    convex : bool
    monotone_in_augmented_input : bool
    reason : str
    """
    kind = spec["kind"]
    if kind == "lstm":
        return (
            False,
            False,
            ("LSTM: gates multiply sigmoid and tanh terms, no convexity structure"),
        )
    act = spec["activation"]
    if act != "relu":
        return (
            False,
            False,
            (
                f"activation {act} is not convex on the real line (only relu, "
                "convex and non-decreasing, is accepted)"
            ),
        )
    mats = _matrices(spec)
    mins = {name: float(a.min()) if a.size else 0.0 for name, a in mats}
    monotone = all(v >= 0.0 for v in mins.values())
    for name, value in mins.items():
        first_input = name == "layers.0.W"
        if not first_input and value < 0.0:
            return (
                False,
                monotone,
                (
                    f"{name} has a negative entry ({value:.3g}); it multiplies a "
                    "hidden state, so the convex, non-decreasing structure is lost"
                ),
            )
    structure = "recurrent matrices, " if kind != "ficnn" else ""
    return (
        True,
        monotone,
        (
            "activation relu is convex and non-decreasing; all "
            f"{structure}input matrices of layers >= 2 and the readout are entrywise "
            "non-negative (smallest entry "
            f"{min(v for n, v in mins.items() if n != 'layers.0.W'):.3g}); the "
            "first input matrix acts on an affine function of the features; so every "
            "output at every step is convex in the whole input sequence (in scaled "
            "and physical units, the scalers being affine)"
        ),
    )


def lipschitz_upper_bound(
    spec: dict[str, Any], steps: int, output_steps: int | None = None
) -> tuple[float | None, str]:
    """Certified Lipschitz upper bound of the scaled sequence map (module docstring).

    Parameters
    ----------
    spec : dict
        ``export_spec()`` of a network.
    steps : int
        Length of the input sequence.
    output_steps : int or None
        Only the last ``output_steps`` outputs count (None: all ``steps``).

    Returns
    -------
    bound : float or None
    method : str
    """
    kind = spec["kind"]
    if kind == "lstm":
        return _lstm_upper_bound(spec, steps, output_steps)
    if spec["activation"] not in ("relu", "tanh"):
        return None, f"activation {spec['activation']} has no known Lipschitz constant"
    r = _norm(np.asarray(spec["readout"]["W"], float))
    if kind == "ficnn":
        prod = _norm(_effective_first(spec))
        for layer in spec["layers"][1:]:
            prod *= _norm(np.asarray(layer["W"], float))
        return prod * r * (1 + _ROUNDING), (
            "product of exact spectral norms (first layer acting on z), applied per "
            "step: the same constant holds for whole sequences"
        )
    t = np.arange(steps)
    lag = t[:, None] - t[None, :]
    total = np.eye(steps)
    for k, layer in enumerate(spec["layers"]):
        a = _norm(_effective_first(spec) if k == 0 else np.asarray(layer["W"], float))
        c = _norm(np.asarray(layer["U"], float))
        with np.errstate(over="ignore", invalid="ignore"):
            M = np.where(lag >= 0, a * np.power(c, np.maximum(lag, 0)), 0.0)
        total = M @ total
    if output_steps is not None:
        total = total[-output_steps:]
    bound = r * _norm(total) * (1 + _ROUNDING)
    return float(bound), (
        "lower-triangular Toeplitz gain matrices M[t, s] = ||W||_2 ||U||_2^(t-s) per "
        "layer (exact SVDs), multiplied over layers, times ||W_out||_2"
    )


def lipschitz_pair_bounds(
    spec: dict[str, Any], steps: int, output_steps: int | None = None
) -> np.ndarray | None:
    """Certified Lipschitz bound from each input feature alone to each output alone.

    Entry ``[i, j]`` is the bound of the network restricted to feature ``j`` and
    output ``i`` (module docstring), computed without building each restriction:
    the Elman and feed-forward bounds depend on the first layer's matrix only
    through the factor ``||W_eff||_2`` and on the readout only through the factor
    ``||W_out||_2``, which become the column norm ``||W_eff[:, j]||_2`` and the
    row norm ``||W_out[i, :]||_2``; the LSTM's first gain matrix is linear in
    its four per-gate norms (its comparison system is linear in the injected
    perturbation), so it is a sum of four basis gains weighted by the columns'
    per-gate norms.

    Parameters
    ----------
    spec : dict
        ``export_spec()`` of a network.
    steps : int
        Length of the input sequence.
    output_steps : int or None
        Only the last ``output_steps`` outputs count (None: all ``steps``).

    Returns
    -------
    numpy.ndarray or None
        Shape (n_outputs, n_features): entry ``[i, j]`` bounds the l2 norm of the
        change of output ``i`` over the output steps by that of feature ``j``
        over the sequence, other features held (scaled units); None when the
        network has no bound.
    """
    lstm = spec["kind"] == "lstm"
    W = _effective_first(spec, "W_ih" if lstm else "W")  # acts on z
    rows = np.linalg.norm(np.asarray(spec["readout"]["W"], float), axis=1)
    if lstm:
        h = W.shape[0] // 4
        U = np.asarray(spec["layers"][0]["W_hh"], float)
        deeper = np.eye(steps)
        for layer in spec["layers"][1:]:
            gain = _lstm_gain(
                np.asarray(layer["W_ih"], float),
                np.asarray(layer["W_hh"], float),
                steps,
            )
            deeper = gain @ deeper
        basis = []
        for q in range(4):  # unit norm in gate q's block only
            E = np.zeros((4 * h, 1))
            E[q * h, 0] = 1.0
            basis.append(deeper @ _lstm_gain(E, U, steps))
        gate_norms = [np.linalg.norm(W[q * h : (q + 1) * h], axis=0) for q in range(4)]
        columns = np.zeros(W.shape[1])
        for j in range(W.shape[1]):
            total = sum(gate_norms[q][j] * basis[q] for q in range(4))
            if output_steps is not None:
                total = total[-output_steps:]
            columns[j] = _norm(total)
        return np.outer(rows, columns) * (1 + _ROUNDING)
    # the same network with ||W_eff||_2 = ||W_out||_2 = 1: one column and one row
    first = dict(spec["layers"][0])
    first["W"] = np.zeros((W.shape[0], 2 if spec["augment"] else 1))
    first["W"][0, 0] = 1.0
    readout = {"W": np.zeros((1, np.shape(spec["readout"]["W"])[1])), "b": np.zeros(1)}
    readout["W"][0, 0] = 1.0
    unit = {**spec, "layers": [first, *spec["layers"][1:]], "readout": readout}
    bound, _ = lipschitz_upper_bound(unit, steps, output_steps)
    if bound is None:
        return None
    return bound * np.outer(rows, np.linalg.norm(W, axis=0))


def _lstm_gain(W: np.ndarray, U: np.ndarray, steps: int) -> np.ndarray:
    """Gain matrix ``M`` of one LSTM layer: ``dh <= M dz`` entrywise (docstring of
    :func:`_lstm_upper_bound`); ``W`` (4h x n_in) and ``U`` (4h x h) in torch's gate
    order i, f, g, o."""
    h = U.shape[1]
    w = [_norm(W[q * h : (q + 1) * h]) for q in range(4)]
    u = [_norm(U[q * h : (q + 1) * h]) for q in range(4)]
    M = np.zeros((steps, steps))
    for s in range(steps):  # response to a unit perturbation of the input at step s
        dh_prev = dc_prev = 0.0
        for t in range(s, steps):
            dz = 1.0 if t == s else 0.0
            di, df, dg, do = (w[q] * dz + u[q] * dh_prev for q in range(4))
            c_max = float(t)  # |c_t| <= |c_{t-1}| + 1 with c_0 = 0
            dc = dc_prev + 0.25 * c_max * df + 0.25 * di + dg
            dh_prev, dc_prev = 0.25 * do + dc, dc
            M[t, s] = dh_prev
    return M


def _lstm_upper_bound(
    spec: dict[str, Any], steps: int, output_steps: int | None
) -> tuple[float, str]:
    """Certified Lipschitz bound of a stacked LSTM (zero initial state).

    With ``c_t = f * c_{t-1} + i * g`` and ``h_t = o * tanh(c_t)``, the gates
    ``i, f, o = sigmoid(.)`` in (0, 1) with slope <= 1/4, ``g = tanh(.)`` in (-1, 1)
    with slope <= 1, and ``|c_t| <= t`` entrywise (``c_0 = 0``), the l2 norms of
    the differences of two trajectories obey, with ``dp_q = ||W_q|| dz_t +
    ||U_q|| dh_{t-1}`` per gate (exact SVDs) and ``||a * b||_2 <= ||a||_inf
    ||b||_2``::

        dc_t <= dc_{t-1} + (t - 1)/4 dp_f + 1/4 dp_i + dp_g
        dh_t <= 1/4 dp_o + dc_t

    This comparison system is linear with non-negative coefficients, so
    ``dh <= M dz`` entrywise with ``M`` its impulse responses; layers multiply as
    for the Elman networks. Valid but loose (it grows with the sequence length).
    """
    total = np.eye(steps)
    for k, layer in enumerate(spec["layers"]):
        W = _effective_first(spec, "W_ih") if k == 0 else np.asarray(layer["W_ih"])
        total = (
            _lstm_gain(np.asarray(W, float), np.asarray(layer["W_hh"], float), steps)
            @ total
        )
    if output_steps is not None:
        total = total[-output_steps:]
    r = _norm(np.asarray(spec["readout"]["W"], float))
    return float(r * _norm(total) * (1 + _ROUNDING)), (
        "LSTM comparison system (sigmoid slope 1/4, tanh slope 1, |c_t| <= t) per "
        "layer with exact per-gate spectral norms, impulse-response gain matrices "
        "multiplied over layers, times ||W_out||_2"
    )


def empirical_lipschitz(
    network: torch.nn.Module,
    X_scaled: np.ndarray,
    max_samples: int = 32,
    output_steps: int | None = None,
) -> float:
    """Largest spectral norm of the sequence Jacobian over data samples (float64).

    A lower bound on the Lipschitz constant of the scaled sequence map (the
    Jacobian at any point where it exists has norm at most the constant).

    Parameters
    ----------
    network : torch.nn.Module
    X_scaled : numpy.ndarray, shape (n, steps, n_features)
    max_samples : int
        The first ``max_samples`` sequences are used.
    output_steps : int or None
        Only the last ``output_steps`` output steps count (the steps a
        :class:`iclcontrol.train.SurrogateModel` returns); None: every step.
    """
    import copy

    net = copy.deepcopy(network).to(torch.float64).eval()
    X = torch.as_tensor(np.asarray(X_scaled[:max_samples], dtype=np.float64))
    X = X.clone().requires_grad_(True)
    Y = net(X)
    if output_steps is not None and Y.dim() == 3:
        Y = Y[:, -output_steps:]
    Y = Y.reshape(len(X), -1)
    # samples are independent, so one backward pass per output index gives that
    # row of every sample's Jacobian at once
    rows = []
    for j in range(Y.shape[1]):
        (g,) = torch.autograd.grad(Y[:, j].sum(), X, retain_graph=True)
        rows.append(g.reshape(len(X), -1))
    J = torch.stack(rows, dim=1)  # (n, n_out_total, n_in_total)
    return float(torch.linalg.matrix_norm(J, ord=2).max())


def _physical_note(
    x_scale: np.ndarray,
    y_scale: np.ndarray,
    feature_names: Any,
    output_names: Any,
    feature_units: Any,
    output_units: Any,
) -> str:
    """Which scale factors set the physical bound ``max(x_scale) / min(y_scale)``."""
    j, i = int(np.argmax(x_scale)), int(np.argmin(y_scale))
    f_name = list(feature_names)[j] if feature_names else f"feature {j}"
    o_name = list(output_names)[i] if output_names else f"output {i}"
    f_unit = list(feature_units)[j] if feature_units else ""
    o_unit = list(output_units)[i] if output_units else ""
    return (
        "all inputs (outputs) in one norm, each in its own unit: the scaled bound "
        f"times the largest input scale factor, {x_scale[j]:.3g} per "
        f"{f_unit or 'unit'} ({f_name}, the narrowest range), over the smallest "
        f"output scale factor, {y_scale[i]:.3g} per {o_unit or 'unit'} ({o_name}, "
        "the widest range)"
    )


def certify(
    network: torch.nn.Module,
    steps: int,
    X_scaled: np.ndarray | None = None,
    x_scale: np.ndarray | None = None,
    y_scale: np.ndarray | None = None,
    output_steps: int | None = None,
    max_samples: int = 32,
    feature_names: Any = None,
    output_names: Any = None,
    feature_units: Any = None,
    output_units: Any = None,
) -> Certificate:
    """Certificate of a network (see the module docstring for the arguments made).

    Parameters
    ----------
    network : torch.nn.Module
        A network from :func:`iclcontrol.models.make_network`.
    steps : int
        Input sequence length the Lipschitz bound is stated for.
    X_scaled : numpy.ndarray, optional, shape (n, steps, n_features)
        Data for the empirical lower bound.
    x_scale, y_scale : numpy.ndarray, optional
        Scaler factors (``scaled = x * scale + offset``) for the physical bound.
    output_steps : int or None
        Only the last ``output_steps`` outputs are used by the model.
    max_samples : int
        Samples for the empirical bound.
    feature_names, output_names, feature_units, output_units : sequence of str
        Names and units of the inputs and outputs, for the summary (optional).

    Returns
    -------
    Certificate
    """
    spec = network.export_spec()  # type: ignore[operator]
    convex, monotone, reason = convexity(spec)
    enforced = spec.get("spectral_bound")
    mats = []
    for name, a in _matrices(spec):
        mats.append(
            {
                "name": name,
                "shape": list(a.shape),
                "spectral_norm": _norm(a),
                "min_entry": float(a.min()) if a.size else 0.0,
                "bound": enforced,
            }
        )
    if spec["augment"]:
        mats.append(
            {
                "name": "layers.0.W_effective",
                "shape": list(_effective_first(spec).shape),
                "spectral_norm": _norm(_effective_first(spec)),
                "min_entry": float(_effective_first(spec).min()),
                "bound": None,
            }
        )
    upper, method = lipschitz_upper_bound(spec, steps, output_steps)
    pairs = lipschitz_pair_bounds(spec, steps, output_steps)
    physical = pairs_physical = None
    note = ""
    if upper is not None and x_scale is not None and y_scale is not None:
        x_scale, y_scale = np.asarray(x_scale, float), np.asarray(y_scale, float)
        physical = upper * float(np.max(x_scale)) / float(np.min(y_scale))
        if pairs is not None:
            pairs_physical = (pairs * x_scale[None, :] / y_scale[:, None]).tolist()
        note = _physical_note(
            x_scale, y_scale, feature_names, output_names, feature_units, output_units
        )
    lower = None
    n_emp = 0
    if X_scaled is not None and len(X_scaled):
        lower = empirical_lipschitz(network, X_scaled, max_samples, output_steps)
        n_emp = min(max_samples, len(X_scaled))
    return Certificate(
        kind=spec["kind"],
        convex=convex,
        convexity_reason=reason,
        monotone_in_augmented_input=monotone,
        matrices=mats,
        steps=int(steps),
        lipschitz_upper=upper,
        lipschitz_upper_physical=physical,
        lipschitz_norm=LIPSCHITZ_NORM,
        lipschitz_method=method,
        lipschitz_lower_empirical=lower,
        n_samples_empirical=n_emp,
        lipschitz_upper_pairs=None if pairs is None else pairs.tolist(),
        lipschitz_upper_pairs_physical=pairs_physical,
        lipschitz_physical_note=note,
        feature_names=[str(n) for n in feature_names or ()],
        feature_units=[str(u) for u in feature_units or ()],
        output_names=[str(n) for n in output_names or ()],
        output_units=[str(u) for u in output_units or ()],
    )


def _same_numbers(a: Any, b: Any, rtol: float) -> bool:
    """``a`` and ``b`` are numbers (or nested lists of them) of the same shape,
    equal to ``rtol``; anything else (text, None against a number) is not."""
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return False
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=0.0))


def certificate_differences(
    stored: Certificate, fresh: Certificate, rtol: float = 1e-6
) -> list[str]:
    """Claims of a stored certificate that the weights do not support.

    Parameters
    ----------
    stored : Certificate
        As read from a file (possibly edited by hand).
    fresh : Certificate
        Recomputed from the weights and scalers (:func:`certify`); its empirical
        lower bound may be missing.
    rtol : float
        Relative tolerance of the numbers (recomputing an SVD on another machine
        differs by about 1e-15). [-]

    Returns
    -------
    list of str
        One line per difference, empty when they agree. Explanations (reasons,
        method and norm texts) are not compared; a bound that ``stored`` does not
        state (None: files written before it existed) is not either, while an
        empirical lower bound above the certified upper one is a contradiction.
    """
    out = []
    for name in ("kind", "convex", "monotone_in_augmented_input", "steps"):
        a, b = getattr(stored, name), getattr(fresh, name)
        if type(a) is not type(b) or a != b:  # "maybe" or 1 is not True
            out.append(f"{name} is {a!r} in the file but {b!r} from the weights")
    for name in (
        "lipschitz_upper",
        "lipschitz_upper_physical",
        "lipschitz_upper_pairs",
        "lipschitz_upper_pairs_physical",
    ):
        a, b = getattr(stored, name), getattr(fresh, name)
        if a is not None and not _same_numbers(a, b, rtol):
            out.append(f"{name} is {a!r} in the file but {b!r} from the weights")
    if stored.matrices:
        names = [m.get("name") if isinstance(m, dict) else m for m in stored.matrices]
        if names != [m["name"] for m in fresh.matrices]:
            out.append(
                f"the matrices are {names} in the file but "
                f"{[m['name'] for m in fresh.matrices]} in the weights"
            )
        else:
            for a, b in zip(stored.matrices, fresh.matrices, strict=True):
                for key in ("spectral_norm", "min_entry", "bound"):
                    same = (
                        a.get(key) == b[key]
                        if key == "bound"
                        else _same_numbers(a.get(key), b[key], rtol)
                    )
                    if not same:
                        out.append(
                            f"{b['name']} {key} is {a.get(key)!r} in the file but "
                            f"{b[key]!r} from the weights"
                        )
    lower, upper = stored.lipschitz_lower_empirical, fresh.lipschitz_upper
    if lower is not None:
        if not (_same_numbers(lower, lower, 0.0) and lower >= 0):
            out.append(f"lipschitz_lower_empirical is {lower!r}, not a number >= 0")
        elif upper is not None and lower > upper * (1 + rtol):
            out.append(
                f"lipschitz_lower_empirical {lower!r} is above the certified upper "
                f"bound {upper!r} from the weights"
            )
    return out


def midpoint_convexity_violations(
    func: Any,
    X_a: np.ndarray,
    X_b: np.ndarray,
    n_points: int = 5,
    rtol: float = 1e-5,
    atol: float | np.ndarray = 1e-6,
) -> dict[str, Any]:
    """Test ``f((1-t) a + t b) <= (1-t) f(a) + t f(b)`` along segments.

    Parameters
    ----------
    func : callable
        Maps a batch of inputs (n, steps, n_features) to outputs (n, ...), e.g.
        ``SurrogateModel.predict`` (physical units).
    X_a, X_b : numpy.ndarray, shape (n, steps, n_features)
        Segment end points.
    n_points : int
        Interior points ``t = k / (n_points + 1)`` per segment.
    rtol, atol : float (atol may be an array broadcast over the output axis)
        Tolerance: a violation is ``lhs - rhs > atol + rtol * |rhs|`` (float32
        evaluation error of the network, relative to the output scale).

    Returns
    -------
    dict
        ``n_checks``, ``n_violations``, ``fraction``, ``max_excess``.
    """
    ya = np.asarray(func(X_a), float)
    yb = np.asarray(func(X_b), float)
    checks = 0
    violations = 0
    max_excess = -np.inf
    for k in range(1, n_points + 1):
        t = k / (n_points + 1)
        ym = np.asarray(func((1 - t) * X_a + t * X_b), float)
        rhs = (1 - t) * ya + t * yb
        excess = ym - rhs
        tol = atol + rtol * np.abs(rhs)
        violations += int(np.sum(excess > tol))
        checks += excess.size
        max_excess = max(max_excess, float(np.max(excess)))
    return {
        "n_checks": checks,
        "n_violations": violations,
        "fraction": violations / max(checks, 1),
        "max_excess": max_excess,
    }
