"""The reference CSTR of the ICLRNN paper: a second-order exothermic reaction.

States and inputs are deviations from the steady state (REFERENCE.md):
``x = (CA - CAs, T - Ts)`` and ``u = (CA0 - CA0s, Q - Qs)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import casadi as ca
import numpy as np

from iclcontrol.exceptions import ConfigError
from plants.base import Plant

Method = Literal["euler", "rk4", "cvodes"]


@dataclass(frozen=True)
class CSTRParameters:
    """Physical constants of the reactor (REFERENCE.md)."""

    T0: float = 300.0  #: feed temperature [K]
    V: float = 1.0  #: reactor volume [m^3]
    k0: float = 8.46e6  #: pre-exponential factor [m^3/(kmol h)]
    Cp: float = 0.231  #: heat capacity [kJ/(kg K)]
    rho_L: float = 1000.0  #: liquid density [kg/m^3]
    F: float = 5.0  #: volumetric flow [m^3/h]
    E: float = 5e4  #: activation energy [kJ/kmol]
    R: float = 8.314  #: gas constant [kJ/(kmol K)]
    dH: float = -1.15e4  #: reaction enthalpy [kJ/kmol]
    CA0s: float = 4.0  #: steady-state feed concentration [kmol/m^3]
    Qs: float = 0.0  #: steady-state heat input [kJ/h]
    CAs: float = 1.9537  #: steady-state concentration [kmol/m^3]
    Ts: float = 401.8727  #: steady-state temperature [K]


#: Lyapunov matrix of the reference LMPC, for x = (CA, T) deviations.
LYAPUNOV_P = np.array([[1060.0, 22.0], [22.0, 0.52]])
#: Level of V(x) = x' P x bounding the stability region.
STABILITY_LEVEL = 372.0
#: Half-widths of the setpoint region (CA/0.1)^2 + (T/3)^2 <= 1. [kmol/m^3, K]
SETPOINT_HALF_WIDTHS = np.array([0.1, 3.0])


@dataclass
class CSTR(Plant):
    """Reference CSTR in deviation form with a sampling period of 0.005 h.

    Parameters
    ----------
    method : {"euler", "rk4", "cvodes"}
        Integration scheme. ``"euler"`` with ``dt=1e-4`` h reproduces the paper's
        data; ``"rk4"`` and ``"cvodes"`` (CasADi's SUNDIALS integrator) are accurate.
    dt : float
        Internal step of the Euler and RK4 schemes. [h]
    process_noise : sequence of 2 floats or None
        Bounds of uniform noise added to (CA, T) at the end of every sampling period.
        [kmol/m^3, K]
    random_state : int or numpy.random.Generator or None
        Seed of the process noise.
    params : CSTRParameters
    """

    method: Method = "euler"
    dt: float = 1e-4
    process_noise: tuple[float, float] | None = None
    random_state: int | np.random.Generator | None = None
    params: CSTRParameters = field(default_factory=CSTRParameters)

    state_names = ("CA", "T")
    state_units = ("kmol/m^3", "K")
    input_names = ("CA0", "Q")
    input_units = ("kmol/m^3", "kJ/h")
    sampling_period = 0.005
    stability_level = STABILITY_LEVEL
    lyapunov_P = LYAPUNOV_P
    deviation_form = True
    setpoint_half_widths = tuple(SETPOINT_HALF_WIDTHS.tolist())

    def __post_init__(self) -> None:
        if self.method not in ("euler", "rk4", "cvodes"):
            raise ConfigError(
                f"unknown integration method {self.method!r}; "
                "choose 'euler', 'rk4' or 'cvodes'"
            )
        try:
            dt = float(self.dt)
        except (TypeError, ValueError):
            dt = float("nan")
        if not (np.isfinite(dt) and dt > 0):
            raise ConfigError(
                f"dt must be a positive number of hours, got {self.dt!r}; the "
                f"reference is 1e-4 h ({self.sampling_period} h / 50)"
            )
        n_sub = self.sampling_period / self.dt
        if abs(n_sub - round(n_sub)) > 1e-9:
            raise ConfigError(
                f"dt={self.dt} h must divide the sampling period "
                f"{self.sampling_period} h into a whole number of steps"
            )
        self.substeps = round(n_sub)
        if self.process_noise is not None:
            bound = np.asarray(self.process_noise, dtype=float)
            if bound.ndim > 1 or bound.size not in (1, 2):
                raise ConfigError(
                    "process_noise needs two half-widths (CA [kmol/m^3], T [K]) or "
                    f"one for both; got {self.process_noise!r}"
                )
            if not (np.all(np.isfinite(bound)) and np.all(bound >= 0)):
                raise ConfigError(
                    "process_noise half-widths must be finite and >= 0, got "
                    f"{self.process_noise!r}"
                )
        self._rng = np.random.default_rng(self.random_state)

    # -- plant interface -----------------------------------------------------------
    @property
    def state_lower(self) -> np.ndarray:
        """Physical limits in deviation form: concentration >= 0 kmol/m^3 and
        temperature >= 0 K, i.e. (-CAs, -Ts). [kmol/m^3, K]"""
        return np.array([-self.params.CAs, -self.params.Ts])

    @property
    def state_upper(self) -> np.ndarray:
        """No upper physical limit. [kmol/m^3, K]"""
        return np.array([np.inf, np.inf])

    @property
    def input_lower(self) -> np.ndarray:
        return np.array([-3.5, -5e5])

    @property
    def input_upper(self) -> np.ndarray:
        return np.array([3.5, 5e5])

    @property
    def x_steady(self) -> np.ndarray:
        return np.zeros(2)

    @property
    def u_steady(self) -> np.ndarray:
        return np.zeros(2)

    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        p = self.params
        if backend is ca:
            ca_dev, t_dev, u1, u2 = x[0], x[1], u[0], u[1]
        else:
            ca_dev, t_dev, u1, u2 = x[..., 0], x[..., 1], u[..., 0], u[..., 1]
        conc = ca_dev + p.CAs
        temp = t_dev + p.Ts
        rate = p.k0 * backend.exp(-p.E / (p.R * temp)) * conc**2
        dca = p.F / p.V * (u1 + p.CA0s - conc) - rate
        dtemp = (
            p.F / p.V * (p.T0 - temp)
            - p.dH / (p.rho_L * p.Cp) * rate
            + (u2 + p.Qs) / (p.rho_L * p.Cp * p.V)
        )
        if backend is ca:
            return ca.vertcat(dca, dtemp)
        return np.stack([dca, dtemp], axis=-1)

    @property
    def integration_dt(self) -> float:
        """Step of the explicit schemes: ``dt``. [h]"""
        return self.dt

    def trajectory(self, x: Any, u: Any, n_records: int = 10) -> np.ndarray:
        """States recorded ``n_records`` times, evenly, over one sampling period.

        :meth:`plants.base.Plant.trajectory` with the process noise added to the
        last record. With the defaults this is the paper's data protocol: 50 Euler
        steps of 1e-4 h, one record every 5 steps.

        Returns
        -------
        numpy.ndarray, shape (n, n_records, 2)
            ``[:, k]`` is the state at ``(k + 1) * sampling_period / n_records``.
            [kmol/m^3, K]

        Raises
        ------
        SimulationError
            A recorded state of some trajectory is NaN or infinite, or outside the
            physically valid states (absolute concentration or temperature below
            0). The explicit schemes do this far from the operating region, e.g.
            with inputs far outside ``input_lower``/``input_upper``: the reaction
            becomes too fast for ``dt``, where ``method="cvodes"`` still
            integrates (see :meth:`plants.base.Plant.trajectory`).
        """
        xb, ub = self.check_batch(x, u)
        records = self.integrate(xb, ub, n_records)
        if self.process_noise is not None:
            bound = np.asarray(self.process_noise, dtype=float)
            records[:, -1] += self._rng.uniform(-bound, bound, size=xb.shape)
        self.check_records(xb, ub, records)
        return records

    # -- Lyapunov and regions ------------------------------------------------------
    @staticmethod
    def lyapunov(x: Any) -> np.ndarray:
        """V(x) = x' P x for states of shape (..., 2) in deviation form."""
        xa = np.asarray(x, dtype=float)
        return np.einsum("...i,ij,...j->...", xa, LYAPUNOV_P, xa)

    @classmethod
    def in_stability_region(cls, x: Any) -> np.ndarray:
        """True where V(x) < 372."""
        return cls.lyapunov(x) < STABILITY_LEVEL

    @staticmethod
    def in_setpoint_region(x: Any, center: Any = None) -> np.ndarray:
        """True where ((CA - c_CA)/0.1)^2 + ((T - c_T)/3)^2 <= 1.

        Parameters
        ----------
        x : array-like, shape (..., 2)
            States in deviation form. [kmol/m^3, K]
        center : array-like of 2 floats or None
            Centre of the region (a setpoint in deviation form); None: the origin,
            the steady state (the reference protocol's region). [kmol/m^3, K]
        """
        xa = np.asarray(x, dtype=float)
        if center is not None:
            xa = xa - np.asarray(center, dtype=float)
        return np.sum((xa / SETPOINT_HALF_WIDTHS) ** 2, axis=-1) <= 1.0
