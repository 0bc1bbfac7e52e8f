"""Train a small ICLRNN on the CSTR and run the reference LMPC on it.

Run: python examples/cstr_mpc.py [OUT_DIR] [BUDGET_SECONDS]
You will see: training progress (on a terminal), the scaled test MSE, the convexity
report of the MPC problem, one line per closed-loop step from (CA, T) = (1.5, -70)
(states and inputs as deviations from the steady state), a summary (median solve
time, steps to the setpoint region, cost) and a PNG of the closed loop in OUT_DIR.
"""

import sys
from pathlib import Path

from iclcontrol.data import cstr_dataset
from iclcontrol.mpc import MPCSettings, SurrogateMPC, closed_loop, summarize
from iclcontrol.mpc.plots import plot_time_series
from iclcontrol.train import SurrogateModel
from plants import CSTR

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/examples")
budget = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
out.mkdir(parents=True, exist_ok=True)

# two moves per sample: the whole MPC horizon is one network evaluation
dataset = cstr_dataset(moves=2)
model = SurrogateModel("iclrnn", hidden=32, time_budget_s=budget).fit(dataset)
print("scaled test MSE", model.evaluate(dataset)["scaled"])

plant = CSTR()
mpc = SurrogateMPC(model, plant, MPCSettings(horizon=2, solver="gn_sqp"))
print(mpc.convexity)


def show(k, row):
    print(
        f"k={k:2d} CA={row['CA']:+.3f} T={row['T']:+7.2f} CA0={row['CA0']:+.3f} "
        f"Q={row['Q']:+.2e} {row['solve_ms']:.2f} ms {row['status']}"
    )


frame = closed_loop(plant, mpc, [1.5, -70.0], 30, callback=show)
m = summarize(frame, plant)
n = m["steps_to_region"]  # None: never reached
print(
    f"median solve {m['median_solve_ms']:.2f} ms (p95 {m['p95_solve_ms']:.2f} ms), "
    f"setpoint region {'not reached' if n is None else f'after {n} steps'}, "
    f"closed-loop cost {m['closed_loop_cost']:.4g}, {m['fallbacks']} fallbacks"
)
plot_time_series(
    {"ICLRNN LMPC": frame},
    path=out / "cstr_mpc.png",
    title="closed loop from (CA, T) = (1.5, -70)",
    settings=mpc.settings,  # its limits drawn: here the input bounds (red)
)
print("wrote", out / "cstr_mpc.png")
