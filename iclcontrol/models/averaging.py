"""Exponential moving average of network weights during training.

Averaging the iterates of a stochastic optimizer (Polyak averaging, here an
exponential moving average) removes much of the noise that the last minibatches leave
in the weights; with noisy targets it lowers the test error of every model kind. The
convex and Lipschitz constraints survive averaging: non-negativity and a spectral-norm
ball are convex sets, so a weighted mean of weights that each satisfy them satisfies
them too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


class WeightAverage:
    """Exponential moving average of parameters, updated after every optimizer step.

    The average of weights that each satisfy a convex constraint (non-negativity, a
    spectral-norm ball) satisfies it too, so averaging keeps the model class.
    """

    def __init__(self, params: list[torch.nn.Parameter], decay: float) -> None:
        self.params = params
        self.decay = float(decay)
        self.steps = 0
        with torch.no_grad():
            self.shadow = [p.detach().clone() for p in params]

    def update(self) -> None:
        """Fold the current parameters into the average.

        The decay warms up as ``min(decay, (1 + t) / (10 + t))`` after ``t`` updates
        (the schedule of TensorFlow's ExponentialMovingAverage with
        ``num_updates``), so that in short runs the average follows the fast early
        progress instead of keeping the untrained first iterates.
        """
        self.steps += 1
        t = self.steps
        weight = 1.0 - min(self.decay, (1.0 + t) / (10.0 + t))
        with torch.no_grad():
            torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], weight)

    def swap(self) -> None:
        """Exchange the live parameters and the average (twice restores)."""
        with torch.no_grad():
            for p, s in zip(self.params, self.shadow, strict=True):
                tmp = p.detach().clone()
                p.copy_(s)
                s.copy_(tmp)


@contextlib.contextmanager
def averaged_weights(averaged: WeightAverage | None) -> Iterator[None]:
    """Evaluate with the averaged weights inside the block (no-op without one)."""
    if averaged is None:
        yield
        return
    averaged.swap()
    try:
        yield
    finally:
        averaged.swap()
