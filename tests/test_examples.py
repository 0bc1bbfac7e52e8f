"""Every example script runs to completion (slow: they train and solve for real)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(tmp_path.iterdir()), "the example wrote nothing into its output folder"


def test_open_loop_example_legend_covers_no_data(tmp_path, monkeypatch):
    """examples/cstr_open_loop.py: the legend of its eight trajectories sat inside
    the CA axes, over the curves; it now lies outside both axes."""
    import runpy

    import matplotlib.pyplot as plt

    script = Path(__file__).parent.parent / "examples" / "cstr_open_loop.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path)])
    plt.close("all")
    runpy.run_path(str(script), run_name="__main__")
    fig = plt.gcf()
    assert (tmp_path / "cstr_open_loop.png").is_file()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + fig.legends
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    assert len(legends[0].get_texts()) == 8
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer))
    plt.close("all")
