"""Your own CasADi problem around an exported surrogate (no iclcontrol MPC).

Run: python examples/casadi_own_problem.py [OUT_DIR] [BUDGET_SECONDS]
You will see: a short training, then an economic plan over four sampling periods
(multiple shooting in ``casadi.Opti``: the state after each period is a decision
variable tied to the surrogate by an equality) solved by IPOPT for a given initial
state and heat price, each planned state next to the CSTR simulator's, and the
check that the saved Function (``Function.save``/``load``) gives the same numbers.
The plan is written to OUT_DIR/casadi_plan.csv. Units: the training data's, the
CSTR's deviations from the steady state (kmol/m^3, K, kmol/m^3, kJ/h).
"""

import sys
from pathlib import Path

import casadi as ca
import numpy as np

from iclcontrol.data import cstr_dataset
from iclcontrol.export import get_spec, to_casadi
from iclcontrol.train import SurrogateModel
from plants import CSTR

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/examples")
budget = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
out.mkdir(parents=True, exist_ok=True)
model = SurrogateModel("iclrnn", hidden=16, time_budget_s=budget).fit(cstr_dataset())
spm = get_spec(model)["steps_per_move"]  # 10 network steps per 0.005 h period
exact = to_casadi(model, steps=spm)  # X (10, 4) -> Y (10, 2)
smooth = to_casadi(model, steps=spm, relu_smoothing=1e-3)  # for IPOPT (kinks)

plant, N = CSTR(), 4
u_max = plant.input_upper  # (3.5 kmol/m^3, 5e5 kJ/h)
opti = ca.Opti()
x0, price = opti.parameter(2), opti.parameter()  # initial state; price per kJ/h
X, V = opti.variable(2, N + 1), opti.variable(2, N)  # V: inputs / u_max
cost = 0
opti.subject_to(X[:, 0] == x0)
for k in range(N):
    u = V[:, k] * ca.DM(u_max)
    Y = smooth(ca.repmat(ca.horzcat(X[:, k].T, u.T), spm, 1))
    opti.subject_to(X[:, k + 1] == Y[-1, :].T)  # x[k+1] = last row
    cost += 100 * X[0, k + 1] ** 2 + 0.1 * X[1, k + 1] ** 2 + price * u[1]
opti.minimize(cost)
opti.subject_to(opti.bounded(-1, V, 1))
opti.set_value(x0, [1.2, -40.0])
opti.set_value(price, 1e-5)
opti.set_initial(X, np.tile([[1.2], [-40.0]], N + 1))
opti.solver("ipopt", {"print_time": False}, {"print_level": 0, "sb": "yes"})
sol = opti.solve()
stats = sol.stats()
U = (sol.value(V) * u_max[:, None]).T  # (N, 2) physical inputs
print(f"IPOPT: {stats['return_status']} in {stats['iter_count']} iterations")

path = str(out / "surrogate.casadi")
exact.save(path)
loaded = ca.Function.load(path)
rows = ["k,CA [kmol/m^3],T [K],CA0 [kmol/m^3],Q [kJ/h],plant CA,plant T"]
x_model = x_plant = np.array([1.2, -40.0])
for k in range(N):
    row = np.tile(np.r_[x_model, U[k]], (spm, 1))
    assert np.array_equal(np.asarray(loaded(row)), np.asarray(exact(row)))
    x_model = np.asarray(exact(row))[-1]  # the exact network checks the plan
    x_plant = plant.step(x_plant, np.clip(U[k], plant.input_lower, u_max))[0]
    print(
        f"k={k + 1} surrogate CA={x_model[0]:+.3f} T={x_model[1]:+7.2f} | "
        f"plant CA={x_plant[0]:+.3f} T={x_plant[1]:+7.2f} | "
        f"CA0={U[k, 0]:+.3f} Q={U[k, 1]:+.3e}"
    )
    rows.append(
        f"{k},{x_model[0]},{x_model[1]},{U[k, 0]},{U[k, 1]},{x_plant[0]},{x_plant[1]}"
    )
(out / "casadi_plan.csv").write_text("\n".join(rows) + "\n")
print("saved Function gives the same numbers; wrote", out / "casadi_plan.csv")
