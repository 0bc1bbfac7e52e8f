"""Figures drawn without pyplot, so that plotting leaves the caller's matplotlib alone.

``pyplot.subplots`` registers every figure in pyplot's global list (kept alive
until closed: a memory leak and "More than 20 figures" warnings in a loop, and a
second display in notebooks) and needs a backend, which the plotting modules
used to force to Agg for the whole process (a notebook's inline backend or a
script's window backend stopped showing figures afterwards). A
:class:`matplotlib.figure.Figure` made directly needs neither: ``savefig``
writes PNG with Agg, and the figure is freed when no longer referenced.
"""

from __future__ import annotations

from typing import Any


def subplots(
    *grid: int, figsize: tuple[float, float], **kwargs: Any
) -> tuple[Any, Any]:
    """A figure and its axes, as ``pyplot.subplots`` returns them, outside pyplot.

    Parameters
    ----------
    *grid : int
        ``nrows, ncols`` (default one axes).
    figsize : tuple of 2 floats
        Width and height. [inch]
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``sharex``,
        ``squeeze``, ...).

    Returns
    -------
    (matplotlib.figure.Figure, Axes or array of Axes)
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kwargs)
