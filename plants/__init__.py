"""Plant simulators (numpy and CasADi) that close the loop around iclcontrol models.

Every plant implements :class:`plants.base.Plant`: named states and inputs with units,
bounds, a steady state, a sampling period, a vectorized ``step``, ``simulate`` for a
sequence of inputs and a symbolic CasADi ODE for MPC and do-mpc. A user's plant
class is reached by name with :func:`load_plant` (``module:Class`` or
``path/to/file.py:Class``).
"""

from plants.base import Plant, SimulationResult
from plants.cstr import CSTR, CSTRParameters
from plants.loader import load_plant
from plants.pv import BatteryParameters, PVArrayParameters, PVBatteryPlant

__all__ = [
    "CSTR",
    "BatteryParameters",
    "CSTRParameters",
    "PVArrayParameters",
    "PVBatteryPlant",
    "Plant",
    "SimulationResult",
    "load_plant",
]
