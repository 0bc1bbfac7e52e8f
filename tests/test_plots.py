"""Tests of iclcontrol.mpc.plots: the controller's limits drawn on the closed-loop
figures, read back from the matplotlib artists (lines, bands, marks).

The CSTR's closed-loop columns are deviations from the steady state, so a limit
on the absolute temperature is drawn at ``T_limit - Ts`` on the ``T - Ts`` panel;
the expected positions below are computed by hand from the paper's steady state
(CAs = 1.9537 kmol/m^3, Ts = 401.8727 K) and input box (CA0 - CA0s in [-3.5, 3.5]
kmol/m^3, Q - Qs in [-5e5, 5e5] kJ/h), not read from the code.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from iclcontrol.mpc import (
    MPCSettings,
    StepResult,
    bounds_summary,
    closed_loop,
    constraint_limits,
    summarize,
)
from iclcontrol.mpc.plots import plot_phase_plane, plot_time_series
from plants.base import Plant
from plants.cstr import CSTR

CAS, TS = 1.9537, 401.8727  # the paper's steady state [kmol/m^3, K]


class Constant:
    """A controller applying one input (a closed loop without a solver)."""

    def __init__(self, u: Any, settings: Any = None) -> None:
        self.u = np.asarray(u, dtype=float)
        self.settings = settings

    def reset(self, x0: Any = None) -> None:
        pass

    def step(self, x: Any) -> StepResult:
        return StepResult(self.u, True, "ok", 0, 0.0, 0.0)


class Tank(Plant):
    """A user's plant in absolute units: one temperature, one heat input."""

    state_names, state_units = ("T",), ("K",)
    input_names, input_units = ("Q",), ("kW",)
    sampling_period = 0.1
    input_lower = property(lambda self: np.array([0.0]))
    input_upper = property(lambda self: np.array([10.0]))
    x_steady = property(lambda self: np.array([303.15]))
    u_steady = property(lambda self: np.array([2.0]))

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        return 0.5 * u - 0.1 * (x - 293.15)


@pytest.fixture(scope="module")
def heated():
    """Six periods of the CSTR from its steady state with the heat input held
    at +2e5 kJ/h: the temperature rises by ~34 K, the concentration falls."""
    return closed_loop(CSTR(), Constant([0.0, 2e5]), [0.0, 0.0], 6)


def _limit_lines(ax: Any, side: str) -> list[Any]:
    return [ln for ln in ax.get_lines() if ln.get_gid() == f"{side} limit"]


def _rings(ax: Any) -> list[Any]:
    return [ln for ln in ax.get_lines() if ln.get_gid() == "beyond limit"]


def _band_extent(ax: Any, side: str, axis: int = 1) -> tuple[float, float]:
    (band,) = [p for p in ax.patches if p.get_gid() == f"{side} limit"]
    xy = band.get_path().transformed(band.get_patch_transform()).vertices
    return float(xy[:, axis].min()), float(xy[:, axis].max())


def test_time_series_draws_the_limits_in_the_panels_deviation_units(heated) -> None:
    """The user limits the absolute temperature to 410 K and the concentration
    to >= 1.8 kmol/m^3; MPCSettings takes them as deviations (the model's
    outputs). The lines must sit where the panels' deviation data put those
    absolute values, the side beyond shaded, the points beyond ringed."""
    settings = MPCSettings(
        output_lower=(1.8 - CAS, None), output_upper=(np.inf, 410.0 - TS)
    )
    fig = plot_time_series({"run": heated}, settings=settings)
    ax_ca, ax_t, ax_u1, ax_u2 = fig.axes
    # T: one upper line at 410 - 401.8727 = 8.1273 K, no lower one
    (upper,) = _limit_lines(ax_t, "upper")
    np.testing.assert_allclose(upper.get_ydata(), [8.1273, 8.1273], atol=1e-9)
    assert _limit_lines(ax_t, "lower") == []
    # CA: one lower line at 1.8 - 1.9537 = -0.1537 kmol/m^3, no upper one
    (lower,) = _limit_lines(ax_ca, "lower")
    np.testing.assert_allclose(lower.get_ydata(), [-0.1537, -0.1537], atol=1e-9)
    assert _limit_lines(ax_ca, "upper") == []
    # the infeasible side is shaded from the limit to the edge of the view
    lo, hi = _band_extent(ax_t, "upper")
    assert lo == pytest.approx(8.1273) and hi == pytest.approx(ax_t.get_ylim()[1])
    lo, hi = _band_extent(ax_ca, "lower")
    assert hi == pytest.approx(-0.1537) and lo == pytest.approx(ax_ca.get_ylim()[0])
    # the view shows both the data and the limit
    assert ax_ca.get_ylim()[0] < min(heated["CA"].min(), -0.1537)
    # rings on the periods whose absolute temperature exceeds 410 K, and
    # whose absolute concentration is below 1.8 kmol/m^3
    (ring,) = _rings(ax_t)
    hot = heated["t"][heated["T"] + TS > 410.0]
    assert 0 < len(hot) < len(heated)
    np.testing.assert_allclose(ring.get_xdata(), hot)
    (ring,) = _rings(ax_ca)
    np.testing.assert_allclose(ring.get_xdata(), heated["t"][heated["CA"] + CAS < 1.8])
    # the input box of the CSTR on the input panels, both sides
    for ax, bound in ((ax_u1, 3.5), (ax_u2, 5e5)):
        (lo_line,) = _limit_lines(ax, "lower")
        (hi_line,) = _limit_lines(ax, "upper")
        np.testing.assert_allclose(lo_line.get_ydata(), [-bound, -bound])
        np.testing.assert_allclose(hi_line.get_ydata(), [bound, bound])
        # inputs held within: nothing ringed
        assert _rings(ax) == []
    # one legend entry "limit" (not one per side), on the first panel; a panel
    # gets a legend only for entries not listed above it
    texts = [t.get_text() for t in ax_ca.get_legend().get_texts()]
    assert texts.count("limit") == 1 and texts.count("beyond limit") == 1
    assert [ax.get_legend() for ax in fig.axes[1:]] == [None, None, None]


def test_each_run_keeps_its_colour_on_every_panel(heated) -> None:
    """The rings of the first run took the next colour of the cycle: the second
    run was green on the ringed state panels and orange on the input panels."""
    settings = MPCSettings(output_upper=(np.inf, 410.0 - TS))
    fig = plot_time_series({"a": heated, "b": heated}, settings=settings)
    for label in ("a", "b"):
        colours = {
            ln.get_color()
            for ax in fig.axes
            for ln in ax.get_lines()
            if ln.get_label() == label
        }
        assert len(colours) == 1, (label, colours)
    assert len(_rings(fig.axes[1])) == 2  # both runs ringed, one legend entry
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts.count("beyond limit") == 0  # CA unbounded: listed with T's rings
    texts = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert texts.count("beyond limit") == 1


def test_unbounded_sides_draw_nothing_and_leave_the_view_alone(heated) -> None:
    """None and infinite entries are no bound: no line, no band, no ring, and
    the axes range is the one of the data alone."""
    plain = plot_time_series({"run": heated})
    settings = MPCSettings(output_lower=(None, -np.inf), output_upper=(np.inf, None))
    fig = plot_time_series({"run": heated}, settings=settings)
    for ax, ref in zip(fig.axes[:2], plain.axes[:2], strict=True):
        assert _limit_lines(ax, "lower") == _limit_lines(ax, "upper") == []
        assert not [p for p in ax.patches if p.get_gid()]
        assert ax.get_ylim() == pytest.approx(ref.get_ylim())
        assert "limit" not in ax.get_legend_handles_labels()[1]
    assert len(_limit_lines(fig.axes[2], "upper")) == 1  # the input box still
    # limits={} draws none at all; without plant or settings, none either
    for fig in (plot_time_series({"run": heated}, settings=settings, limits={}), plain):
        assert not any(ln.get_gid() for ax in fig.axes for ln in ax.get_lines())


def test_phase_plane_draws_each_axis_limit(heated) -> None:
    """CA is the x axis (vertical limit lines), T the y axis (horizontal)."""
    settings = MPCSettings(
        output_lower=(1.8 - CAS, None), output_upper=(np.inf, 410.0 - TS)
    )
    fig = plot_phase_plane({"run": heated}, settings=settings)
    (ax,) = fig.axes
    (ca_line,) = _limit_lines(ax, "lower")
    (t_line,) = _limit_lines(ax, "upper")
    np.testing.assert_allclose(ca_line.get_xdata(), [-0.1537, -0.1537], atol=1e-9)
    np.testing.assert_allclose(t_line.get_ydata(), [8.1273, 8.1273], atol=1e-9)
    assert _band_extent(ax, "lower", axis=0) == pytest.approx(
        (ax.get_xlim()[0], -0.1537)
    )
    assert _band_extent(ax, "upper", axis=1) == pytest.approx(
        (8.1273, ax.get_ylim()[1])
    )
    # a point is ringed if beyond either limit: here the temperature decides
    (ring,) = _rings(ax)
    beyond = (heated["T"] + TS > 410.0) | (heated["CA"] + CAS < 1.8)
    np.testing.assert_allclose(ring.get_ydata(), heated["T"][beyond])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts.count("limit") == 1 and "stability region V(x) = 372" in texts
    # only T bounded: no vertical line
    fig = plot_phase_plane({"run": heated}, limits={"T": (None, 410.0 - TS)})
    (ax,) = fig.axes
    assert _limit_lines(ax, "lower") == [] and len(_limit_lines(ax, "upper")) == 1


def test_a_user_plants_input_bounds_are_drawn_in_its_absolute_units() -> None:
    """plant=... alone draws its input box (its own units, no deviations); an
    output bound from settings on its one state."""
    plant = Tank()
    frame = closed_loop(plant, Constant([10.0]), [300.0], 4)
    fig = plot_time_series(
        {"run": frame}, plant=plant, settings=MPCSettings(output_upper=(310.0,))
    )
    ax_t, ax_q = fig.axes
    (line,) = _limit_lines(ax_t, "upper")
    np.testing.assert_allclose(line.get_ydata(), [310.0, 310.0])
    np.testing.assert_allclose(_limit_lines(ax_q, "lower")[0].get_ydata(), [0, 0])
    np.testing.assert_allclose(_limit_lines(ax_q, "upper")[0].get_ydata(), [10, 10])
    fig = plot_time_series({"run": frame}, plant=plant)
    assert len(_limit_lines(fig.axes[1], "upper")) == 1
    assert _limit_lines(fig.axes[0], "upper") == []


def test_bounds_summary_records_the_limits_and_the_excess_by_hand() -> None:
    """For scripts: lower/upper per output and input (null when unbounded) and
    how far the closed loop went beyond them, after the initial state."""
    frame = pd.DataFrame(
        {
            "CA": [-1.5, -1.25, 0.0],  # initial state beyond: not the controller's
            "T": [-70.0, 7.0, 4.0],
            "CA0": [-3.5, 0.0, np.nan],
            "Q": [5e5, 0.0, np.nan],
        }
    )
    settings = MPCSettings(output_lower=(-1.0, None), output_upper=(None, 5.0))
    got = bounds_summary(frame, CSTR(), settings)
    assert got == {
        "outputs": {
            "CA": {"lower": -1.0, "upper": None, "max_excess": pytest.approx(0.25)},
            "T": {"lower": None, "upper": 5.0, "max_excess": pytest.approx(2.0)},
        },
        "inputs": {
            "CA0": {"lower": -3.5, "upper": 3.5, "max_excess": 0.0},
            "Q": {"lower": -5e5, "upper": 5e5, "max_excess": 0.0},
        },
    }
    json.dumps(got, allow_nan=False)  # strict JSON: no inf
    assert constraint_limits(CSTR(), None)["T"] == (None, None)
    # summarize with the settings carries it (the `iclcontrol mpc --json` keys)
    run = closed_loop(CSTR(), Constant([0.0, 2e5]), [0.0, 0.0], 2)
    summary = summarize(run, CSTR(), MPCSettings(output_upper=(None, 5.0)))
    assert summary["bounds"]["outputs"]["T"]["upper"] == 5.0
    assert summary["bounds"]["outputs"]["T"]["max_excess"] == pytest.approx(
        run["T"].iloc[1:].max() - 5.0
    )
    from iclcontrol.exceptions import DimensionError

    with pytest.raises(DimensionError, match="output_upper needs one entry per"):
        constraint_limits(Tank(), MPCSettings(output_upper=(1.0, 2.0)))
