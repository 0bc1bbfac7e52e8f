"""Plotting leaves the caller's matplotlib state alone (iclcontrol.figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent

# A user's session: pyplot in use with a backend of their choice (a notebook's
# inline backend or a window; here "template", a non-interactive stand-in
# matplotlib ships), one figure of their own open, then the library's plots.
USER_SESSION = """
import json, sys
import matplotlib.pyplot as plt
from iclcontrol.mpc.plots import plot_solve_times
from iclcontrol.solar.plots import plot_skill_by_horizon

mine = plt.figure()
fig = plot_solve_times({"a": [1.0, 2.0, 4.0]}, path=sys.argv[1] + "/st.png")
plot_skill_by_horizon(
    {"m": [{"steps": 1, "skill_vs_smart_persistence": 0.1},
           {"steps": 2, "skill_vs_smart_persistence": 0.2}]},
    sys.argv[1] + "/skill.png",
)
print(json.dumps({
    "backend": plt.get_backend(),
    "open": plt.get_fignums(),
    "mine_open": plt.fignum_exists(mine.number),
    "returned_axes": len(fig.axes),
}))
"""


def test_plots_keep_the_users_backend_and_open_figures(tmp_path):
    """The plotting modules switched any backend outside a short list to Agg
    for the whole process (a notebook stopped showing figures), registered
    every figure in pyplot (never closed by the MPC plots: "More than 20
    figures" warnings in a loop) and solar's plots closed figures through
    pyplot."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MPLBACKEND": "template",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", USER_SESSION, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state["backend"] == "template"
    assert state["open"] == [1]  # the user's figure, and only it
    assert state["mine_open"] is True
    assert state["returned_axes"] == 1
    for name in ("st.png", "skill.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
