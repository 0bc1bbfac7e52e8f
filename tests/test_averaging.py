"""Weight averaging during training: the arithmetic, the swap, and the constraints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iclcontrol.data import cstr_dataset
from iclcontrol.exceptions import ConfigError
from iclcontrol.models.averaging import WeightAverage, averaged_weights
from iclcontrol.train import SurrogateModel


def test_moving_average_matches_hand_computation():
    p = torch.nn.Parameter(torch.tensor([0.0, 4.0]))
    avg = WeightAverage([p], decay=0.2)
    values = [[2.0, 2.0], [4.0, 0.0], [8.0, 8.0]]
    for v in values:
        with torch.no_grad():
            p.copy_(torch.tensor(v))
        avg.update()
    # step 1: decay min(0.2, 2/11) = 2/11, so s1 = 2/11 [0, 4] + 9/11 [2, 2]
    # steps 2, 3: (1 + t) / (10 + t) = 3/12, 4/13 > 0.2, so decay 0.2
    s1 = np.array([0.0, 4.0]) * 2 / 11 + np.array([2.0, 2.0]) * 9 / 11
    s2 = 0.2 * s1 + 0.8 * np.array([4.0, 0.0])
    s3 = 0.2 * s2 + 0.8 * np.array([8.0, 8.0])
    np.testing.assert_allclose(avg.shadow[0].numpy(), s3, rtol=1e-6)
    with averaged_weights(avg):
        np.testing.assert_allclose(p.detach().numpy(), s3, rtol=1e-6)
    np.testing.assert_allclose(p.detach().numpy(), [8.0, 8.0])  # restored
    with averaged_weights(None):  # no averaging: the live weights
        np.testing.assert_allclose(p.detach().numpy(), [8.0, 8.0])


def test_averaged_weights_restored_after_an_exception():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    avg = WeightAverage([p], decay=0.9)
    with torch.no_grad():
        p.fill_(3.0)
    with pytest.raises(RuntimeError), averaged_weights(avg):
        assert p.item() == 1.0
        raise RuntimeError("boom")
    assert p.item() == 3.0


@pytest.mark.parametrize("kind", ["iclrnn", "lstm"])
def test_averaged_fit_keeps_constraints_and_uses_the_average(kind):
    ds = cstr_dataset(n_grid=12, random_state=0)
    m = SurrogateModel(
        kind, hidden=8, layers=1, max_epochs=6, ema_decay=0.9, verbose=False
    ).fit(ds)
    if kind == "iclrnn":
        spec = m.export_spec()
        mats = [spec["layers"][0]["W"], spec["layers"][0]["U"], spec["readout"]["W"]]
        for a in mats:
            assert a.min() >= 0.0
            assert np.linalg.norm(a, 2) <= 1.0  # numpy SVD, independent of torch
        assert m.certificate_.convex
    # the recorded best validation loss is that of the returned (averaged) weights
    Xv, Yv = ds.scaled("val")
    pred = m.predict_scaled(Xv)[:, -Yv.shape[1] :]
    np.testing.assert_allclose(
        np.mean((pred - Yv) ** 2), m.fit_info_["best_val_loss"], rtol=1e-4
    )
    raw = SurrogateModel(
        kind, hidden=8, layers=1, max_epochs=6, ema_decay=None, verbose=False
    ).fit(ds)
    assert not np.allclose(raw.predict_scaled(Xv), m.predict_scaled(Xv))


def test_ema_decay_out_of_range_is_a_config_error():
    ds = cstr_dataset(n_grid=8, random_state=0)
    with pytest.raises(ConfigError, match="ema_decay"):
        SurrogateModel(ema_decay=1.0).fit(ds)
