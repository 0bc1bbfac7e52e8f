"""Bring your own plant: a two-tank level system, its data, an ICLRNN and the MPC.

Run: python examples/own_plant_mpc.py [OUT_DIR] [EPOCHS]
You will see: the dataset and model sizes and the scaled test MSE, one line per
closed-loop step from empty-ish tanks to the levels a pump flow of 1.5 m^3/h
holds (absolute levels, not deviations), the same loop with the do-mpc NMPC on
the plant's own equations, and a PNG of both in OUT_DIR, labelled h1, h2 [m],
q [m^3/h].

What a plant needs is in the docstring of ``plants.Plant``: names, units, bounds,
the sampling period and ``rhs``; ``step`` integrates ``rhs`` (RK4 here, 20 steps
per period). The MPC settings' defaults (weights, the Lyapunov constraint) are the
reference CSTR's, so they are set here. The same class also runs from the command
line: ``iclcontrol data plant --plant examples/own_plant_mpc.py:TwoTanks ...`` and
``iclcontrol mpc --plant examples/own_plant_mpc.py:TwoTanks ...`` (README).
"""

import sys
from pathlib import Path
from typing import Any

import casadi as ca
import numpy as np

from iclcontrol.data import plant_dataset
from iclcontrol.mpc import (
    DoMPCController,
    MPCSettings,
    SurrogateMPC,
    closed_loop,
    summarize,
)
from iclcontrol.mpc.plots import plot_time_series
from iclcontrol.train import SurrogateModel
from plants import Plant


class TwoTanks(Plant):
    """Pump flow q into tank 1, which drains into tank 2 (Torricelli outflows)."""

    state_names = ("h1", "h2")
    state_units = ("m", "m")
    input_names = ("q",)
    input_units = ("m^3/h",)
    sampling_period = 0.1  # h
    area = 1.0  # tank cross-section [m^2]
    c1 = 1e-4 * np.sqrt(2 * 9.81) * 3600  # outlet 1 cm^2: [m^2.5/h]
    c2 = 1.2e-4 * np.sqrt(2 * 9.81) * 3600  # outlet 1.2 cm^2: [m^2.5/h]
    method, substeps = "rk4", 20  # the default step: RK4, 20 steps of 0.005 h

    @property
    def input_lower(self) -> np.ndarray:
        return np.array([0.0])

    @property
    def input_upper(self) -> np.ndarray:
        return np.array([4.0])

    @property
    def state_lower(self) -> np.ndarray:
        return np.zeros(self.n_states)

    @property
    def x_steady(self) -> np.ndarray:
        q = self.u_steady[0]
        return np.array([(q / self.c1) ** 2, (q / self.c2) ** 2])

    @property
    def u_steady(self) -> np.ndarray:
        return np.array([2.0])

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        if backend is ca:
            h1, h2, q = x[0], x[1], u[0]
        else:
            h1, h2, q = x[..., 0], x[..., 1], u[..., 0]
        out1 = self.c1 * backend.sqrt(backend.fmax(h1, 0))
        out2 = self.c2 * backend.sqrt(backend.fmax(h2, 0))
        d1 = (q - out1) / self.area
        d2 = (out1 - out2) / self.area
        return ca.vertcat(d1, d2) if backend is ca else np.stack([d1, d2], axis=-1)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/examples")
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    out.mkdir(parents=True, exist_ok=True)

    plant = TwoTanks()
    grid = np.linspace(0.1, 3.0, 8)
    data = plant_dataset(plant, [[a, b] for a in grid for b in grid], moves=2)
    model = SurrogateModel(
        "iclrnn", hidden=16, layers=2, max_epochs=epochs, random_state=0
    ).fit(data)
    print(
        f"dataset X {data.X.shape}, "
        f"scaled test MSE {model.evaluate(data)['scaled']:.2e}"
    )

    q_target = 1.5  # m^3/h
    target = (q_target / plant.c1) ** 2, (q_target / plant.c2) ** 2
    settings = MPCSettings(
        horizon=2,
        state_weights=(1.0, 1.0),
        input_weights=(0.0,),
        state_setpoint=target,
        lyapunov=False,  # the default Lyapunov matrix is the CSTR's
    )

    def show(k: int, row: dict) -> None:
        print(f"k={k:2d} h1={row['h1']:.3f} m h2={row['h2']:.3f} m q={row['q']:.3f}")

    frames = {
        "ICLRNN MPC": closed_loop(
            plant, SurrogateMPC(model, plant, settings), [0.5, 0.5], 20, callback=show
        ),
        "do-mpc NMPC": closed_loop(
            plant, DoMPCController(plant, settings), [0.5, 0.5], 20
        ),
    }
    for label, frame in frames.items():
        m = summarize(frame, plant, settings)
        print(
            f"{label}: final levels {np.round(m['final_state'], 3).tolist()} m "
            f"(target {np.round(target, 3).tolist()}), "
            f"cost {m['tracking']['cost']:.3g}, "
            f"median solve {m['median_solve_ms']:.2f} ms"
        )
    plot_time_series(  # with the limits: the plant's input bounds
        frames,
        plant=plant,
        setpoint=target,
        settings=settings,
        path=out / "own_plant_mpc.png",
    )
    print("wrote", out / "own_plant_mpc.png")


if __name__ == "__main__":  # importable: `--plant examples/own_plant_mpc.py:TwoTanks`
    main()
