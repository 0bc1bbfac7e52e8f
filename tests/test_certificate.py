"""Certificates: convexity from weights, certified vs empirical Lipschitz bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclcontrol.data import cstr_dataset
from iclcontrol.models import make_network
from iclcontrol.models.certificate import (
    certify,
    convexity,
    lipschitz_upper_bound,
    midpoint_convexity_violations,
)
from iclcontrol.train import SurrogateModel


@pytest.fixture(scope="module")
def small_dataset():
    return cstr_dataset(n_grid=20, random_state=0)


@pytest.fixture(scope="module")
def trained(small_dataset):
    """Tiny models of several kinds, a few epochs each (a few seconds in total)."""
    return {
        kind: SurrogateModel(
            kind, hidden=8, layers=2, max_epochs=4, verbose=False, random_state=0
        ).fit(small_dataset)
        for kind in ("iclrnn", "icrnn", "lrnn", "rnn", "lstm")
    }


def test_hand_computed_bound_one_unit():
    """1 unit, 1 layer, 2 steps: M = [[a, 0], [a c, a]] times |r|.

    With a = 0.5, c = 0.8, r = 2: M = [[0.5, 0], [0.4, 0.5]], whose largest singular
    value is sqrt of the largest eigenvalue of M'M = [[0.41, 0.2], [0.2, 0.25]]:
    (0.66 + sqrt(0.16^2/1 + 4*0.04)) / 2 -> computed below by hand formula.
    """
    spec = {
        "kind": "lrnn",
        "augment": False,
        "activation": "relu",
        "layers": [{"W": np.array([[0.5]]), "U": np.array([[0.8]]), "b": np.zeros(1)}],
        "readout": {"W": np.array([[2.0]]), "b": np.zeros(1)},
    }
    tr, det = 0.41 + 0.25, 0.41 * 0.25 - 0.2**2
    sigma = np.sqrt((tr + np.sqrt(tr**2 - 4 * det)) / 2)
    bound, _ = lipschitz_upper_bound(spec, steps=2)
    assert bound == pytest.approx(2.0 * sigma, rel=1e-8)
    # the last output only: row [0.4, 0.5] -> norm sqrt(0.41)
    last, _ = lipschitz_upper_bound(spec, steps=2, output_steps=1)
    assert last == pytest.approx(2.0 * np.sqrt(0.41), rel=1e-8)


def test_hand_computed_lstm_bound_one_step():
    """One LSTM step from the zero state: dc = dp_i / 4 + dp_g (c_0 = 0, so the
    forget gate does not matter) and dh = dp_o / 4 + dc, with dp_q = ||W_q|| dz.

    Gate blocks (torch order i, f, g, o) of a 1-unit LSTM with weights 2, 5, 3, 4 and
    readout 0.5: bound = 0.5 * (2/4 + 3 + 4/4) = 2.25.
    """
    spec = {
        "kind": "lstm",
        "augment": False,
        "activation": "tanh",
        "layers": [
            {
                "W_ih": np.array([[2.0], [5.0], [3.0], [4.0]]),
                "W_hh": np.array([[1.0], [1.0], [1.0], [1.0]]),
                "b": np.zeros(4),
            }
        ],
        "readout": {"W": np.array([[0.5]]), "b": np.zeros(1)},
    }
    bound, method = lipschitz_upper_bound(spec, steps=1)
    assert bound == pytest.approx(2.25, rel=1e-8)
    assert "LSTM" in method
    # longer sequences can only have a larger constant (the first step is a
    # sub-map), and the bound is monotone in the length
    b2, _ = lipschitz_upper_bound(spec, steps=2)
    b5, _ = lipschitz_upper_bound(spec, steps=5)
    assert bound < b2 < b5


def test_lstm_jacobians_stay_below_certified_bound():
    """Large-weight LSTMs: the Jacobian norm at many random points never exceeds
    the certified bound (gradient-based, so it probes the worst directions)."""
    from iclcontrol.models.certificate import empirical_lipschitz

    for seed in range(3):
        net = make_network("lstm", 3, 2, hidden=6, layers=2, random_state=seed)
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(4.0)  # saturating gates, far from the init
        g = torch.Generator().manual_seed(seed)
        X = (4 * torch.rand(64, 5, 3, generator=g) - 2).numpy()
        cert = certify(net, steps=5)
        assert cert.lipschitz_upper is not None
        assert empirical_lipschitz(net, X, max_samples=64) <= cert.lipschitz_upper


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn", "lrnn", "rnn", "ficnn", "lstm"])
def test_random_pairs_never_exceed_certified_bound(kind):
    """Brute force: ||f(a) - f(b)|| / ||a - b|| over random sequence pairs <= bound."""
    net = make_network(kind, 3, 2, hidden=10, layers=2, random_state=1)
    g = torch.Generator().manual_seed(2)
    if getattr(net, "initial_state", None) is not None:  # the bound holds for any h0
        with torch.no_grad():
            net.initial_state.copy_(torch.rand(2, 10, generator=g))
    cert = certify(net, steps=6, X_scaled=torch.rand(8, 6, 3, generator=g).numpy())
    a = torch.rand(500, 6, 3, generator=g)
    b = a + 0.05 * torch.randn(500, 6, 3, generator=g)
    with torch.no_grad():
        num = (net(a) - net(b)).reshape(500, -1).norm(dim=1)
    ratio = (num / (a - b).reshape(500, -1).norm(dim=1)).max().item()
    assert ratio <= cert.lipschitz_upper
    assert cert.lipschitz_lower_empirical <= cert.lipschitz_upper


def test_trained_models_certificates(trained, small_dataset):
    for kind, model in trained.items():
        cert = model.certificate_
        assert cert.steps == 10
        assert cert.lipschitz_upper is not None
        assert 0 < cert.lipschitz_lower_empirical <= cert.lipschitz_upper, kind
        assert cert.lipschitz_upper_physical > 0
        # more data for the empirical bound, still below the certificate
        X, _ = small_dataset.subset("test")
        assert model.certify(X[:40]).lipschitz_lower_empirical <= cert.lipschitz_upper
    icl = trained["iclrnn"].certificate_
    assert icl.convex and icl.monotone_in_augmented_input
    for m in icl.matrices:
        if m["bound"] is not None:
            assert m["spectral_norm"] <= 1.0 and m["min_entry"] >= 0.0
    assert trained["icrnn"].certificate_.convex
    assert not trained["rnn"].certificate_.convex
    assert "tanh" in trained["rnn"].certificate_.convexity_reason
    # lrnn: relu but signed recurrent weights -> not convex
    lr = trained["lrnn"].certificate_
    assert not lr.convex and "negative entry" in lr.convexity_reason


def test_convexity_check_reads_the_weights():
    net = make_network("iclrnn", 3, 1, hidden=5)
    assert convexity(net.export_spec())[0]
    with torch.no_grad():
        net.rnn.weight_hh_l1[0, 1] = -0.1  # break one recurrent weight by hand
    ok, _, reason = convexity(net.export_spec())
    assert not ok and "layers.1.U" in reason
    # the first input matrix may have any sign: still convex
    net2 = make_network("iclrnn", 3, 1, hidden=5)
    with torch.no_grad():
        net2.rnn.weight_ih_l0[0, 0] = -1.0
    ok, monotone, _ = convexity(net2.export_spec())
    assert ok and not monotone


def test_midpoint_convexity_in_physical_units(trained, small_dataset):
    """Convex models pass the midpoint test along random segments in physical units;
    the test itself has power: it catches the tanh RNN."""
    X, _ = small_dataset.subset("test")
    rng = np.random.default_rng(0)
    lo, hi = X.reshape(-1, 4).min(0), X.reshape(-1, 4).max(0)
    a = lo + (hi - lo) * rng.random((300, 10, 4))
    b = lo + (hi - lo) * rng.random((300, 10, 4))
    for kind in ("iclrnn", "icrnn"):
        model = trained[kind]
        # physical outputs: T spans ~300 K, CA ~6 kmol/m^3; float32 evaluation
        # error is ~1e-6 relative to those ranges, hence the tolerances
        res = midpoint_convexity_violations(model.predict, a, b, rtol=1e-5, atol=1e-3)
        assert res["n_checks"] == 300 * 10 * 2 * 5
        assert res["n_violations"] == 0, (kind, res)
    # a generic (non-convex) network: random tanh RNN with large weights
    net = make_network("rnn", 4, 2, hidden=16, random_state=3)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)

    def f(x):
        with torch.no_grad():
            return net(torch.as_tensor(x, dtype=torch.float32)).numpy()

    res = midpoint_convexity_violations(f, (a - lo) / (hi - lo), (b - lo) / (hi - lo))
    assert res["n_violations"] > 0


def test_ficnn_midpoint_and_bound():
    """The static feed-forward ICNN: convex certificate and midpoint test."""
    net = make_network("ficnn", 3, 2, hidden=16, layers=3, random_state=4)
    cert = certify(net, steps=1, X_scaled=np.random.default_rng(0).random((20, 1, 3)))
    assert cert.convex and cert.lipschitz_lower_empirical <= cert.lipschitz_upper
    rng = np.random.default_rng(1)
    a, b = rng.random((400, 1, 3)) * 4 - 2, rng.random((400, 1, 3)) * 4 - 2

    def f(x):
        with torch.no_grad():
            return net(torch.as_tensor(x, dtype=torch.float32)).numpy()

    assert midpoint_convexity_violations(f, a, b)["n_violations"] == 0


def test_certificate_prints_as_a_few_readable_lines():
    """``print(model.certificate_)`` (README) shows the verdict, the whole reason and
    the bounds, not the dataclass repr with every matrix."""
    from iclcontrol.models.certificate import Certificate

    reason = "activation relu is convex and non-decreasing; " + "x" * 500
    cert = Certificate(
        kind="iclrnn",
        convex=True,
        convexity_reason=reason,
        monotone_in_augmented_input=True,
        matrices=[{"name": "layers.0.W", "shape": [4, 8], "spectral_norm": 1.0}],
        steps=10,
        lipschitz_upper=35.4359,
        lipschitz_upper_physical=1794.7,
        lipschitz_norm="l2 norm",
        lipschitz_lower_empirical=0.98132,
        n_samples_empirical=32,
    )
    text = str(cert)
    assert text.splitlines()[0] == "iclrnn certificate"
    assert f"convex: yes ({reason})" in text  # the whole reason, not cut
    assert "10-step sequences: 35.4 (scaled units), 1.79e+03 (physical units)" in text
    assert "32 data samples: 0.981" in text
    assert "layers.0.W" not in text  # per-matrix details stay in repr / to_dict
    assert "layers.0.W" in repr(cert)
    assert len(text.splitlines()) <= 6
    unbounded = Certificate("lstm", False, "tanh is not convex", False)
    assert "convex: no (tanh is not convex)" in str(unbounded)
    assert "not available (scaled units)" in str(unbounded)


def _one_unit_spec(W, augment=False):
    """1 hidden unit, recurrent weight 0.8, readout rows 2 and -1 (2 outputs)."""
    return {
        "kind": "icrnn" if augment else "lrnn",
        "augment": augment,
        "activation": "relu",
        "layers": [{"W": np.array([W]), "U": np.array([[0.8]]), "b": np.zeros(1)}],
        "readout": {"W": np.array([[2.0], [-1.0]]), "b": np.zeros(2)},
    }


def test_pair_bounds_hand_computed():
    """Only input j changed, only output i read: the one-unit network's gain matrix
    is |w_j| [[1, 0], [0.8, 1]] over 2 steps and the readout |r_i|, so the bound
    is |r_i| |w_j| sigma, sigma^2 the largest eigenvalue of [[1.64, 0.8], [0.8,
    1]] (trace 2.64, determinant 1)."""
    from iclcontrol.models.certificate import lipschitz_pair_bounds

    sigma = np.sqrt((2.64 + np.sqrt(2.64**2 - 4.0)) / 2)
    pairs = lipschitz_pair_bounds(_one_unit_spec([0.5, 0.2]), steps=2)
    expected = np.outer([2.0, 1.0], [0.5, 0.2]) * sigma
    np.testing.assert_allclose(pairs, expected, rtol=1e-8)
    # with [z, -z] augmentation the first layer acts on z through W_+ - W_-:
    # columns (0.5 - 0.1, 0.2 - 0.0)
    aug = lipschitz_pair_bounds(_one_unit_spec([0.5, 0.2, 0.1, 0.0], True), steps=2)
    np.testing.assert_allclose(aug, np.outer([2.0, 1.0], [0.4, 0.2]) * sigma, rtol=1e-8)
    # the whole bound uses ||W|| = sqrt(0.29) and ||W_out|| = sqrt(5) instead
    whole, _ = lipschitz_upper_bound(_one_unit_spec([0.5, 0.2]), steps=2)
    assert whole == pytest.approx(np.sqrt(5.0) * np.sqrt(0.29) * sigma, rel=1e-8)


def _restricted(spec, feature, output):
    """The network of ``spec`` with input ``feature`` and output ``output`` only:
    the first layer's column(s) of that feature (with [z, -z], both), the
    readout's row of that output."""
    first = dict(spec["layers"][0])
    key = "W_ih" if "W_ih" in first else "W"
    W = np.asarray(first[key], float)
    cols = [feature, feature + W.shape[1] // 2] if spec["augment"] else [feature]
    first[key] = W[:, cols]
    readout = {"W": np.asarray(spec["readout"]["W"], float)[[output]], "b": [0.0]}
    return {**spec, "layers": [first, *spec["layers"][1:]], "readout": readout}


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn", "lrnn", "rnn", "ficnn", "lstm"])
def test_pair_bounds_are_the_bounds_of_the_restricted_networks(kind):
    """The pair bounds are computed by homogeneity (Elman, feed-forward) and
    linearity (LSTM) without building each restriction: they equal the whole
    bound of each restricted network."""
    from iclcontrol.models.certificate import lipschitz_pair_bounds

    net = make_network(kind, 3, 2, hidden=8, layers=2, random_state=7)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(
                0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(8))
            )
    spec = net.export_spec()
    pairs = lipschitz_pair_bounds(spec, steps=7, output_steps=4)
    for i in range(2):
        for j in range(3):
            bound, _ = lipschitz_upper_bound(_restricted(spec, j, i), 7, 4)
            assert pairs[i, j] == pytest.approx(bound, rel=1e-9), (i, j)


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn", "lrnn", "rnn", "ficnn", "lstm"])
def test_pair_bounds_hold_on_jacobian_blocks(kind):
    """Numerically: the block of the exact Jacobian from input j (all steps) to
    output i (the output steps) never has a larger spectral norm than the pair
    bound, at random points of large-weight networks; and no pair bound exceeds
    the whole one."""
    from iclcontrol.models.certificate import lipschitz_pair_bounds

    steps, out_steps = 6, 3
    net = make_network(kind, 3, 2, hidden=8, layers=2, random_state=5).double()
    g = torch.Generator().manual_seed(6)
    with torch.no_grad():
        if kind in ("lstm", "rnn"):
            for p in net.parameters():
                p.mul_(3.0)  # saturating, far from the init
        if getattr(net, "initial_state", None) is not None:
            net.initial_state.copy_(torch.rand(2, 8, generator=g, dtype=torch.float64))
    spec = net.export_spec()
    pairs = lipschitz_pair_bounds(spec, steps, out_steps)
    whole, _ = lipschitz_upper_bound(spec, steps, out_steps)
    assert pairs.shape == (2, 3) and np.all(pairs <= whole)

    def f(x):
        y = net(x[None])[0]
        return y[-out_steps:] if y.dim() == 2 else y

    worst = np.zeros((2, 3))
    for _ in range(30):
        x = 4 * torch.rand(steps, 3, generator=g, dtype=torch.float64) - 2
        J = torch.autograd.functional.jacobian(f, x)  # (out_steps, 2, steps, 3)
        for i in range(2):
            for j in range(3):
                block = J[:, i, :, j].numpy()
                worst[i, j] = max(worst[i, j], np.linalg.norm(block, 2))
    assert np.all(worst <= pairs), (worst, pairs)
    assert worst.max() > 0  # the check has power: the blocks are not all zero


def test_physical_pair_bounds_hold_through_predict(trained, small_dataset):
    """In physical units, through ``predict``: changing only input j of CSTR
    sequences changes output i by at most the pair bound (units of i per unit of
    j), l2 over the steps."""
    X, _ = small_dataset.subset("test")
    rng = np.random.default_rng(3)
    lo, hi = X.reshape(-1, 4).min(0), X.reshape(-1, 4).max(0)
    for kind in ("iclrnn", "lstm"):
        model = trained[kind]
        cert = model.certificate_
        bounds = np.asarray(cert.lipschitz_upper_pairs_physical)
        assert bounds.shape == (2, 4)
        assert cert.output_names == ["CA", "T"] and cert.feature_units[3] == "kJ/h"
        a = lo + (hi - lo) * rng.random((200, 10, 4))
        ya = model.predict(a)
        for j in range(4):
            b = a.copy()
            b[:, :, j] = lo[j] + (hi[j] - lo[j]) * rng.random((200, 10))
            dy = model.predict(b) - ya
            dx = np.linalg.norm(b[:, :, j] - a[:, :, j], axis=1)
            for i in range(2):
                ratio = np.linalg.norm(dy[:, :, i], axis=1) / dx
                assert ratio.max() <= bounds[i, j], (kind, i, j)
        # the whole physical bound is set by the narrowest input range of the
        # training data (scale factor 1 / range) and the widest output range
        Xtr, Ytr = small_dataset.subset("train")
        x_range, y_range = np.ptp(Xtr.reshape(-1, 4), 0), np.ptp(Ytr.reshape(-1, 2), 0)
        j, i = int(np.argmin(x_range)), int(np.argmax(y_range))
        unit_j, unit_i = small_dataset.feature_units[j], small_dataset.output_units[i]
        name_j, name_i = small_dataset.feature_names[j], small_dataset.output_names[i]
        assert (
            f"{1 / x_range[j]:.3g} per {unit_j} ({name_j}, the narrowest range), over "
            f"the smallest output scale factor, {1 / y_range[i]:.3g} per {unit_i} "
            f"({name_i}, the widest range)"
        ) in str(cert)


def test_summary_explains_the_physical_bound_per_input_and_output():
    from iclcontrol.models.certificate import Certificate

    cert = Certificate(
        kind="iclrnn",
        convex=True,
        convexity_reason="ok",
        monotone_in_augmented_input=True,
        steps=10,
        lipschitz_upper=2.0,
        lipschitz_upper_physical=20.0,
        lipschitz_upper_pairs=[[1.0, 0.5]],
        lipschitz_upper_pairs_physical=[[3.0, 0.25]],
        lipschitz_physical_note="set by u",
        feature_names=["u", "v"],
        feature_units=["kg/s", ""],
        output_names=["T"],
        output_units=["K"],
    )
    lines = str(cert).splitlines()
    assert "  physical units: set by u" in lines
    assert lines[-1] == "    T: 3 K per kg/s of u, 0.25 K per unit of v"


def test_certify_is_importable_from_the_package_its_docstring_names():
    """``iclcontrol.models``' docstring offers :func:`certify`; importing it from
    there raised ImportError (it lived in ``iclcontrol.models.certificate`` only)."""
    import iclcontrol.models as models
    from iclcontrol.models import Certificate, certify
    from iclcontrol.models import certificate as module

    assert ":func:`certify`" in models.__doc__
    assert certify is module.certify and Certificate is module.Certificate
    net = make_network("iclrnn", n_features=2, n_outputs=1, hidden=3, layers=1)
    cert = certify(net, steps=4)
    assert isinstance(cert, Certificate) and cert.convex
