"""Shared pytest setup: headless plotting and quiet progress bars."""

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("ICLCONTROL_QUIET", "1")


@pytest.fixture(scope="session")
def tiny_iclrnn_two_moves():
    """A tiny ICLRNN trained a few seconds on two-move CSTR sequences (MPC tests)."""
    import torch

    from iclcontrol.data import cstr_dataset
    from iclcontrol.train import SurrogateModel

    torch.set_num_threads(1)
    ds = cstr_dataset(moves=2, n_grid=30, random_state=0)
    return SurrogateModel(
        "iclrnn", hidden=12, layers=2, max_epochs=4, random_state=0, verbose=False
    ).fit(ds)
