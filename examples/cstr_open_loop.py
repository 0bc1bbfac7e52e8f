"""Simulate the reference CSTR open loop and plot a few trajectories.

Run: python examples/cstr_open_loop.py [OUT_DIR]
You will see: a PNG with CA and T (deviations) for four constant inputs from the two
reference initial states, and the stability-region check printed per trajectory.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from plants import CSTR

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/examples")
out.mkdir(parents=True, exist_ok=True)
plant = CSTR(method="rk4")
steps = 40
fig, axes = plt.subplots(2, 1, sharex=True, figsize=(7, 6), layout="constrained")
for x0 in ([1.5, -70.0], [-1.5, 70.0]):
    for u in ([0.0, 0.0], [3.5, 0.0], [0.0, 5e5], [-3.5, -5e5]):
        result = plant.simulate(x0, np.tile(u, (steps, 1)))
        label = f"x0 = ({x0[0]:g}, {x0[1]:g}), u = ({u[0]:g} kmol/m^3, {u[1]:g} kJ/h)"
        axes[0].plot(result.t, result.x[:, 0], label=label)
        axes[1].plot(result.t, result.x[:, 1])
        stable = CSTR.in_stability_region(result.x).all()
        print(
            f"{label}: final (CA, T) = {np.round(result.x[-1], 3)}, "
            f"stays in the stability region: {stable}"
        )
axes[0].set_ylabel("CA - CAs [kmol/m^3]")
axes[1].set_ylabel("T - Ts [K]")
axes[1].set_xlabel("time [h]")
axes[0].set_title("CSTR open loop, constant inputs (deviations CA0 - CA0s, Q - Qs)")
# below the axes: the trajectories fill the whole plot
fig.legend(loc="outside lower center", ncol=2, fontsize=7, frameon=False)
fig.savefig(out / "cstr_open_loop.png", dpi=120)
print(f"plot: {out / 'cstr_open_loop.png'}")
