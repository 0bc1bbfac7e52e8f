"""Put a trained surrogate into do-mpc and run do-mpc's own MPC on it.

Run: python examples/do_mpc_export.py [OUT_DIR] [BUDGET_SECONDS]
You will see: a short training, then five closed-loop steps of
``do_mpc.controller.MPC`` built on the surrogate (``iclcontrol.export.to_do_mpc``),
applied to the CSTR simulator, with the inputs and the IPOPT status of each step;
the steps are also written to OUT_DIR/do_mpc_steps.csv.
"""

import sys
import warnings
from pathlib import Path

import numpy as np

from iclcontrol.data import cstr_dataset
from iclcontrol.export import to_do_mpc
from iclcontrol.train import SurrogateModel
from plants import CSTR

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import do_mpc

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/examples")
budget = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
out.mkdir(parents=True, exist_ok=True)
# a one-move model: x[k+1] = last output of one sampling period
model = SurrogateModel("iclrnn", hidden=16, time_budget_s=budget).fit(cstr_dataset())
# discrete-time do-mpc model, states CA, T; inputs CA0, Q (deviations); the ReLU
# kinks softened for IPOPT, which may cycle on the exact piecewise-linear network
dm_model = to_do_mpc(model, relu_smoothing=1e-3)

mpc = do_mpc.controller.MPC(dm_model)
mpc.settings.n_horizon = 2
mpc.settings.t_step = 0.005
mpc.settings.store_full_solution = False
mpc.settings.supress_ipopt_output()
cost = 1000 * dm_model.x["CA"] ** 2 + dm_model.x["T"] ** 2
mpc.set_objective(lterm=cost, mterm=cost)
mpc.set_rterm(CA0=1.0, Q=3e-10)
for name, bound in (("CA0", 3.5), ("Q", 5e5)):
    mpc.bounds["lower", "_u", name] = -bound
    mpc.bounds["upper", "_u", name] = bound
mpc.scaling["_u", "Q"] = 5e5
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    mpc.setup()

plant = CSTR()
x = np.array([1.5, -70.0])
mpc.x0 = x
mpc.set_initial_guess()
rows = ["k,CA [kmol/m^3],T [K],CA0 [kmol/m^3],Q [kJ/h],status"]  # deviations
for k in range(5):
    u = np.asarray(mpc.make_step(x)).ravel()
    status = mpc.solver_stats["return_status"]
    # IPOPT may end a hair outside the bounds (bound_relax_factor, 1e-8 relative):
    # the plant gets inputs within its limits
    u = np.clip(u, plant.input_lower, plant.input_upper)
    print(f"k={k} CA={x[0]:+.3f} T={x[1]:+7.2f} CA0={u[0]:+.3f} Q={u[1]:+.3e} {status}")
    rows.append(f"{k},{x[0]},{x[1]},{u[0]},{u[1]},{status}")
    x = plant.step(x, u)[0]
(out / "do_mpc_steps.csv").write_text("\n".join(rows) + "\n")
print("wrote", out / "do_mpc_steps.csv")
