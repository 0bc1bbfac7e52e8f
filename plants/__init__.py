"""Plant simulators (numpy and CasADi) that close the loop around iclcontrol models.

Every plant implements :class:`plants.base.Plant`: named states and inputs with units,
bounds, a steady state, a sampling period, a vectorized ``step``, ``simulate`` for a
sequence of inputs and a symbolic CasADi ODE for MPC and do-mpc.
"""

from plants.base import Plant, SimulationResult
from plants.cstr import CSTR, CSTRParameters
from plants.pv import BatteryParameters, PVArrayParameters, PVBatteryPlant

__all__ = [
    "CSTR",
    "BatteryParameters",
    "CSTRParameters",
    "PVArrayParameters",
    "PVBatteryPlant",
    "Plant",
    "SimulationResult",
]
