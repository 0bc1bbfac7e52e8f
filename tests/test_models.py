"""Networks of iclcontrol.models: shapes, export spec, constraints, initialization."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclcontrol.exceptions import ConfigError
from iclcontrol.models import KINDS, make_network, project_spectral_, spectral_norm
from iclcontrol.models.constraints import SAFETY

SEQ_KINDS = ("iclrnn", "icrnn", "lrnn", "rnn", "lstm")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def spec_forward(spec: dict, z: np.ndarray) -> np.ndarray:
    """Independent numpy evaluation of an export spec (the contract of INTERFACES.md).

    z : (steps, n_features) scaled features -> (steps, n_outputs).
    """
    inp = np.concatenate([z, -z], axis=-1) if spec["augment"] else z
    act = np.tanh if spec["activation"] == "tanh" else (lambda a: np.maximum(a, 0.0))
    R, c = spec["readout"]["W"], spec["readout"]["b"]
    if spec["kind"] == "ficnn":
        h = inp
        for layer in spec["layers"]:
            h = act(h @ layer["W"].T + layer["b"])
        return h @ R.T + c
    seq = inp
    for layer in spec["layers"]:
        out = []
        if spec["kind"] == "lstm":
            n_h = layer["W_hh"].shape[1]
            h, cell = np.zeros(n_h), np.zeros(n_h)
            for x in seq:
                g = layer["W_ih"] @ x + layer["W_hh"] @ h + layer["b"]
                i, f = _sigmoid(g[:n_h]), _sigmoid(g[n_h : 2 * n_h])
                gg, o = np.tanh(g[2 * n_h : 3 * n_h]), _sigmoid(g[3 * n_h :])
                cell = f * cell + i * gg
                h = o * np.tanh(cell)
                out.append(h)
        else:
            h = np.zeros(layer["U"].shape[0])
            for x in seq:
                h = act(layer["W"] @ x + layer["U"] @ h + layer["b"])
                out.append(h)
        seq = np.array(out)
    return seq @ R.T + c


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_spec_reproduce_forward(kind):
    net = make_network(kind, n_features=4, n_outputs=2, hidden=6, layers=2)
    x = torch.rand(3, 10, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = net(x).double().numpy()
    assert y.shape == (3, 10, 2)
    spec = net.export_spec()
    assert spec["kind"] == kind
    n_in = 8 if spec["augment"] else 4
    if kind == "lstm":
        assert spec["layers"][0]["W_ih"].shape == (24, n_in)
        assert spec["layers"][0]["W_hh"].shape == (24, 6)
        assert spec["layers"][0]["b"].shape == (24,)
    else:
        assert spec["layers"][0]["W"].shape == (6, n_in)
        assert spec["layers"][1]["W"].shape == (6, 6)
        if kind != "ficnn":
            assert spec["layers"][0]["U"].shape == (6, 6)
        else:
            assert "U" not in spec["layers"][0]
    assert spec["readout"]["W"].shape == (2, 6)
    assert spec["readout"]["W"].dtype == np.float64
    # an independent numpy implementation of the spec gives the torch output
    # (float32 network: agreement to ~1e-6)
    for b in range(3):
        np.testing.assert_allclose(
            spec_forward(spec, x[b].double().numpy()), y[b], rtol=1e-5, atol=1e-5
        )


def test_ficnn_maps_static_inputs():
    net = make_network("ficnn", n_features=3, n_outputs=1, hidden=5)
    assert net(torch.zeros(7, 3)).shape == (7, 1)


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn", "lrnn", "ficnn"])
def test_projection_enforces_constraints(kind):
    net = make_network(kind, n_features=4, n_outputs=2, hidden=12)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # ruin the constraints, then restore them
        for _, w in net.constrained_weights():
            w.copy_(3.0 * torch.randn(w.shape, generator=g))
    net.project_()
    cfg = net.config
    for name, w in net.constrained_weights():
        a = w.detach().double().numpy()
        if cfg.nonnegative:
            assert a.min() >= 0.0, name
        if cfg.spectral_bound is not None:
            # numpy's SVD as an independent check of the bound
            assert np.linalg.norm(a, 2) <= cfg.spectral_bound, name


def test_project_spectral_on_known_matrix():
    # diag(3, 1) has spectral norm 3; the projection must land just below 1
    w = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    before = project_spectral_(w, 1.0)
    assert before == pytest.approx(3.0)
    assert spectral_norm(w) <= 1.0
    assert spectral_norm(w) == pytest.approx(1.0 - SAFETY, rel=1e-6)
    np.testing.assert_allclose(w[1, 1].item(), (1 - SAFETY) / 3.0, rtol=1e-6)
    # a matrix already inside the bound is left alone
    v = torch.tensor([[0.5, 0.0], [0.0, 0.1]])
    project_spectral_(v, 1.0)
    assert v[0, 0].item() == 0.5


def test_convex_init_is_not_degenerate():
    """Clamped random inits give rank-one first layers where z and -z cancel.

    Our init must give a first layer whose effective matrix W_+ - W_- (acting on z)
    has full column rank, and outputs that vary with the input.
    """
    net = make_network("iclrnn", n_features=4, n_outputs=2, hidden=16)
    W = net.export_spec()["layers"][0]["W"]
    W_eff = W[:, :4] - W[:, 4:]
    assert np.linalg.matrix_rank(W_eff) == 4
    with torch.no_grad():
        y = net(torch.rand(64, 10, 4, generator=torch.Generator().manual_seed(0)))
    assert float(y.std(dim=0).mean()) > 1e-4


def test_deterministic_init_without_global_rng():
    state = torch.random.get_rng_state()
    a = make_network("iclrnn", 4, 2, hidden=8, random_state=5).export_spec()
    b = make_network("iclrnn", 4, 2, hidden=8, random_state=5).export_spec()
    c = make_network("iclrnn", 4, 2, hidden=8, random_state=6).export_spec()
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a["layers"][1]["U"], b["layers"][1]["U"])
    assert not np.array_equal(a["layers"][0]["W"], c["layers"][0]["W"])


def test_unknown_kind_and_option():
    with pytest.raises(ConfigError, match="unknown model kind 'gru'"):
        make_network("gru", 4, 2)
    with pytest.raises(TypeError, match="hiddn"):
        make_network("rnn", 4, 2, hiddn=3)
    with pytest.raises(ConfigError, match="hidden"):
        make_network("rnn", 4, 2, hidden=0)
    with pytest.raises(ConfigError, match="spectral_bound"):
        make_network("iclrnn", 4, 2, spectral_bound=-1.0)


def test_kind_defaults():
    assert make_network("iclrnn", 2, 1, hidden=3).config.spectral_bound == 1.0
    assert make_network("icrnn", 2, 1, hidden=3).config.spectral_bound is None
    assert make_network("lrnn", 2, 1, hidden=3).config.nonnegative is False
    cfg = make_network("iclrnn", 2, 1, hidden=3, spectral_bound=2.0).config
    assert cfg.spectral_bound == 2.0


def test_top_singular_pair_fallbacks(monkeypatch):
    """MKL's float32 SVD can fail on finite matrices; the fallbacks give the same
    top singular value (compared with numpy's SVD)."""
    from iclcontrol.models import networks

    rng = np.random.default_rng(0)
    a = rng.random((12, 9))
    a[:, 3:6] = 0.0
    w = torch.tensor(a, dtype=torch.float32)
    expected = np.linalg.norm(a.astype(np.float32).astype(float), 2)
    real_svd = torch.linalg.svd

    def svd_fails_for(dtypes):
        def fake(x, *args, **kwargs):
            if x.dtype in dtypes:
                raise torch.linalg.LinAlgError("simulated MKL failure")
            return real_svd(x, *args, **kwargs)

        return fake

    for dtypes in [(), (torch.float32,), (torch.float32, torch.float64)]:
        monkeypatch.setattr(torch.linalg, "svd", svd_fails_for(dtypes))
        u, v = networks._top_singular_pair(w)
        assert float(u @ w @ v) == pytest.approx(expected, rel=1e-5), dtypes


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn"])
def test_convex_recurrent_kinds_are_non_decreasing_in_time(kind):
    """With a zero initial state and non-negative U, deeper W and readout, a
    sequence that is constant in time gives outputs non-decreasing in time (proof
    in iclcontrol.study.time_monotone_floor); checked on random weights."""
    g = torch.Generator().manual_seed(4)
    net = make_network(
        kind, n_features=4, n_outputs=3, hidden=12, learn_initial_state=False
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    net.project_()
    x = torch.rand(200, 1, 4, generator=g).expand(200, 15, 4)
    with torch.no_grad():
        y = net(x).double()
    # float32 sums of non-negative terms are monotone up to rounding (~1e-6)
    assert float(torch.diff(y, dim=1).min()) >= -1e-5
    # the default learned initial state breaks the monotonicity: same weights and
    # a large h0 (above the state's fixed point; ||U|| <= 1 for iclrnn) decays
    if kind == "iclrnn":
        with_h0 = make_network(kind, n_features=4, n_outputs=3, hidden=12)
        assert with_h0.initial_state is not None
        state = {**net.state_dict(), "initial_state": torch.full((2, 12), 10.0)}
        with torch.no_grad():
            with_h0.load_state_dict(state)
            assert float(torch.diff(with_h0(x), dim=1).min()) < -1e-3
    # not vacuous: signed weights (lrnn) do produce outputs decreasing in time
    lrnn = make_network("lrnn", n_features=4, n_outputs=3, hidden=12)
    with torch.no_grad():
        for p in lrnn.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
        lrnn.project_()
        assert float(torch.diff(lrnn(x), dim=1).min()) < -1e-3


@pytest.mark.parametrize("kind", ["iclrnn", "icrnn", "ficnn"])
def test_non_negative_networks_without_augmentation(kind):
    """make_network(kind, ..., augment=False) (or nonnegative=True for an lrnn)
    crashed in the Elman initialization with a torch RuntimeError (it built the
    [G+, G-] first layer of the augmented input). Without [z, -z] a network with
    non-negative weights is non-decreasing in every feature: check that."""
    net = make_network(kind, 3, 2, hidden=8, augment=False, random_state=0)
    assert all(float(w.detach().min()) >= 0 for _, w in net.constrained_weights())
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 5, 3, generator=g)
    with torch.no_grad():
        y0 = net(x)
        y1 = net(x + torch.rand(64, 5, 3, generator=g))  # every feature raised
    assert torch.all(y1 >= y0 - 1e-6)
    assert not torch.allclose(y1, y0)  # and the outputs do depend on them
    lrnn = make_network("lrnn", 3, 2, hidden=8, nonnegative=True)
    assert lrnn.config.nonnegative and not lrnn.config.augment
