"""The plant interface every simulator implements."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np
import pandas as pd

from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    SimulationError,
)

#: Tolerances of the ``"cvodes"`` scheme (CasADi integrator options).
CVODES_TOLERANCES = {"abstol": 1e-10, "reltol": 1e-10}


@dataclass(frozen=True)
class SimulationResult:
    """Trajectory of a plant driven by a sequence of inputs.

    Attributes
    ----------
    t : numpy.ndarray, shape (n_steps + 1,)
        Time of each state sample. [h]
    x : numpy.ndarray, shape (n_steps + 1, n_states)
        States, ``x[0]`` is the initial state.
    u : numpy.ndarray, shape (n_steps, n_inputs)
        Input applied from ``t[k]`` to ``t[k + 1]``.
    state_names, input_names : tuple of str
    """

    t: np.ndarray
    x: np.ndarray
    u: np.ndarray
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per state sample; inputs are NaN on the last row."""
        frame = pd.DataFrame(self.x, columns=list(self.state_names))
        frame.insert(0, "t", self.t)
        u = np.vstack([self.u, np.full((1, self.u.shape[1]), np.nan)])
        for j, name in enumerate(self.input_names):
            frame[name] = u[:, j]
        return frame


class Plant(ABC):
    """A sampled-data plant: ``x[k+1] = step(x[k], u[k])`` over one sampling period.

    To bring your own plant, subclass it and set or implement:

    * ``state_names``, ``state_units``, ``input_names``, ``input_units``: tuples
      of str, one unit per name (``""`` for none; checked when the class is
      defined). The names label closed-loop columns and plots and must match a
      surrogate's feature and output names.
    * ``sampling_period``: the period over which :meth:`step` holds the input.
      Time is in hours throughout: [h].
    * the properties :attr:`input_lower`, :attr:`input_upper` (the MPC's input
      box), :attr:`x_steady`, :attr:`u_steady` (``u_steady`` is the MPC's default
      safe input); all numpy arrays in the plant's units.
    * :meth:`rhs`: ``dx/dt`` [state unit / h], written once against ``backend``
      (numpy or casadi) so that the simulator, the do-mpc baseline and
      :meth:`casadi_ode` share the equations.
    * :meth:`step` comes with the class: it integrates :meth:`rhs` over one
      sampling period with the input held, by the scheme named in ``method``
      (``"rk4"``, the default, or ``"euler"`` with ``substeps`` explicit steps per
      period; ``"cvodes"``, CasADi's SUNDIALS integrator, for stiff plants).
      Override ``step`` only for a plant that is not an ODE (then start with
      :meth:`check_batch` and return shape (n, n_states)).

    Optional: :attr:`state_lower` / :attr:`state_upper` (None, the default: no
    limit; otherwise a closed loop stops with a SimulationError when the plant
    leaves the box), the plot/Lyapunov attributes below. States need not be
    deviations from the steady state: setpoints are given to the MPC as
    ``MPCSettings(state_setpoint=...)``. The MPC settings' defaults (weights,
    ``lyapunov=True`` with its matrix) are the reference CSTR's: set them for
    your plant.

    Examples
    --------
    A first-order heated tank, ``dT/dt = (Q / C - k (T - T_amb))``:

    >>> class Tank(Plant):                                    # doctest: +SKIP
    ...     state_names, state_units = ("T",), ("K",)
    ...     input_names, input_units = ("Q",), ("kW",)
    ...     sampling_period = 0.1  # h; step() integrates rhs over it (RK4)
    ...     input_lower = property(lambda self: np.array([0.0]))
    ...     input_upper = property(lambda self: np.array([10.0]))
    ...     x_steady = property(lambda self: np.array([320.0]))
    ...     u_steady = property(lambda self: np.array([5.0]))
    ...     def rhs(self, x, u, backend=np):
    ...         return 0.5 * u - 0.1 * (x - 293.15)
    >>> Tank().simulate([300.0], [[5.0]] * 10)              # doctest: +SKIP
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for names_attr, units_attr in (
            ("state_names", "state_units"),
            ("input_names", "input_units"),
        ):
            names, units = getattr(cls, names_attr), getattr(cls, units_attr)
            if isinstance(names, property) or isinstance(units, property):
                continue  # computed per instance: nothing to check here
            if len(units) != len(names):
                raise TypeError(
                    f"{cls.__name__}.{units_attr} has {len(units)} entries for "
                    f"{len(names)} {names_attr} {tuple(names)}: give one unit per "
                    "name ('' for a quantity without unit)"
                )
            if len(set(names)) != len(names):
                raise TypeError(
                    f"{cls.__name__}.{names_attr} {tuple(names)} repeats a name; "
                    "they become the columns of closed loops and datasets"
                )

    state_names: tuple[str, ...] = ()
    state_units: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()
    input_units: tuple[str, ...] = ()
    #: sampling period of ``step``. [h]
    sampling_period: float = 1.0
    #: integration scheme of the default :meth:`step`: ``"rk4"`` (classic
    #: Runge-Kutta, 4th order), ``"euler"`` (explicit, 1st order) or ``"cvodes"``
    #: (CasADi's SUNDIALS CVODES, adaptive BDF, tolerances 1e-10; for stiff plants)
    method: str = "rk4"
    #: explicit (``"euler"``, ``"rk4"``) steps per sampling period of the default
    #: :meth:`step`
    substeps: int = 10

    @property
    def n_states(self) -> int:
        return len(self.state_names)

    @property
    def n_inputs(self) -> int:
        return len(self.input_names)

    #: Level of the Lyapunov function ``lyapunov(x)`` bounding the region in which
    #: a Lyapunov-constrained controller is guaranteed to stabilize the plant
    #: (None: the plant defines none).
    stability_level: float | None = None
    #: Matrix P of that Lyapunov function ``V(x) = x' P x`` (centred at the
    #: origin), shape (n_states, n_states); None: the plant defines none.
    lyapunov_P: np.ndarray | None = None
    #: True if states and inputs are deviations from the steady state (plots
    #: then label the axes ``x - xs``).
    deviation_form: bool = False
    #: Half-widths of the setpoint region drawn around a setpoint in the plots,
    #: one per state (None: no region). [state units]
    setpoint_half_widths: tuple[float, ...] | None = None

    @property
    def state_lower(self) -> np.ndarray | None:
        """Lowest physically valid states, shape (n_states,) (None: no limit)."""
        return None

    @property
    def state_upper(self) -> np.ndarray | None:
        """Highest physically valid states, shape (n_states,) (None: no limit)."""
        return None

    @property
    @abstractmethod
    def input_lower(self) -> np.ndarray:
        """Lower input bounds, shape (n_inputs,)."""

    @property
    @abstractmethod
    def input_upper(self) -> np.ndarray:
        """Upper input bounds, shape (n_inputs,)."""

    @property
    @abstractmethod
    def x_steady(self) -> np.ndarray:
        """Steady state in the plant's coordinates, shape (n_states,)."""

    @property
    @abstractmethod
    def u_steady(self) -> np.ndarray:
        """Steady-state input, shape (n_inputs,)."""

    @abstractmethod
    def rhs(self, x: Any, u: Any, backend: Any = np) -> Any:
        """Continuous-time right-hand side ``dx/dt``. [state unit / h]

        ``backend`` is ``numpy`` (x, u of shape (n, n_states), (n, n_inputs)) or
        ``casadi`` (column vectors).
        """

    def step(self, x: Any, u: Any) -> np.ndarray:
        """Advance a batch of states by one sampling period with inputs held.

        Integrates :meth:`rhs` with the scheme of ``method`` (see
        :meth:`trajectory`).

        Parameters
        ----------
        x : array-like, shape (n, n_states) or (n_states,)
            States. [state units]
        u : array-like, shape (n, n_inputs) or (n_inputs,)
            Inputs held over the period; a single state or input is applied to
            the whole batch. [input units]

        Returns
        -------
        numpy.ndarray, shape (n, n_states)
            The states one ``sampling_period`` later. [state units]

        Raises
        ------
        SimulationError
            The integration diverged (see :meth:`trajectory`).
        """
        return self.trajectory(x, u, n_records=1)[:, -1, :]

    @property
    def integration_dt(self) -> float:
        """Step of the explicit schemes: ``sampling_period / substeps``. [h]"""
        return self.sampling_period / self.substeps

    def trajectory(self, x: Any, u: Any, n_records: int = 1) -> np.ndarray:
        """States recorded ``n_records`` times, evenly, over one sampling period.

        Parameters
        ----------
        x : array-like, shape (n, n_states) or (n_states,)
            Initial states. [state units]
        u : array-like, shape (n, n_inputs) or (n_inputs,)
            Inputs held over the period. [input units]
        n_records : int
            Records per period; must divide ``substeps`` for the explicit schemes.

        Returns
        -------
        numpy.ndarray, shape (n, n_records, n_states)
            ``[:, k]`` is the state at ``(k + 1) * sampling_period / n_records``.

        Raises
        ------
        ConfigError
            Unknown ``method``, ``substeps`` not a positive integer, ``n_records``
            not dividing it, or a plant that overrides :meth:`step` but not this
            method (its own step and these records would disagree).
        SimulationError
            A recorded state of some trajectory is NaN or infinite, or outside
            ``state_lower``/``state_upper``. Explicit schemes do this when the
            dynamics become too fast for their step (stiff), where
            ``method="cvodes"`` still integrates. The message names the first such
            trajectory, its state, inputs (and which are outside the bounds) and
            the fix; ``err.states`` holds every trajectory's final state as
            computed (shape (n, n_states)).
        """
        xb, ub = self.check_batch(x, u)
        records = self.integrate(xb, ub, n_records)
        self.check_records(xb, ub, records)
        return records

    def integrate(self, x: np.ndarray, u: np.ndarray, n_records: int) -> np.ndarray:
        """Unchecked records of :meth:`trajectory` for checked batches ``x``, ``u``.

        Returns
        -------
        numpy.ndarray, shape (n, n_records, n_states)
            May hold NaN or infinite states (see :meth:`check_records`).
        """
        if not self.has_own_records():
            raise ConfigError(
                f"{type(self).__name__} has no trajectory(x, u, n_records) of its "
                "own: it overrides step, so records of rhs integrated here could "
                "disagree with it; use one record per period or add trajectory to "
                "the plant"
            )
        method, substeps = self._integration_scheme()
        if isinstance(n_records, bool) or not (
            isinstance(n_records, (int, np.integer)) and n_records >= 1
        ):
            raise ConfigError(
                f"n_records must be a positive integer, got {n_records!r}"
            )
        if substeps % n_records and method != "cvodes":
            name = type(self).__name__
            divisors = [d for d in range(1, substeps + 1) if substeps % d == 0]
            raise ConfigError(
                f"n_records={n_records} must divide the {substeps} internal steps "
                f"({name}.substeps, {method} steps per sampling period): records "
                f"per period (steps_per_move) can be "
                f"{', '.join(map(str, divisors))}; or set {name}.substeps to a "
                f"multiple of {n_records} (e.g. "
                f"{math.lcm(substeps, n_records)}), or method='cvodes'"
            )
        every = substeps // n_records if method != "cvodes" else 1
        records = np.empty((x.shape[0], n_records, self.n_states))
        state = x
        # overflow is detected by check_records, once, with a message naming the
        # trajectory
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for k in range(n_records):
                if method == "cvodes":
                    state = self._cvodes(state, u, self.sampling_period / n_records)
                else:
                    for _ in range(every):
                        state = self._explicit_step(state, u, method)
                records[:, k] = state
        return records

    def _integration_scheme(self) -> tuple[str, int]:
        """The checked ``method`` and ``substeps``."""
        method, substeps = self.method, self.substeps
        if method not in ("euler", "rk4", "cvodes"):
            raise ConfigError(
                f"{type(self).__name__}.method={method!r} is not an integration "
                "scheme; choose 'rk4', 'euler' or 'cvodes'"
            )
        if isinstance(substeps, bool) or not (
            isinstance(substeps, (int, np.integer)) and substeps >= 1
        ):
            raise ConfigError(
                f"{type(self).__name__}.substeps must be a positive integer (explicit "
                f"steps per sampling period), got {substeps!r}"
            )
        return method, int(substeps)

    def _explicit_step(self, x: np.ndarray, u: np.ndarray, method: str) -> np.ndarray:
        h = self.integration_dt
        if method == "euler":
            return x + h * self.rhs(x, u)
        k1 = self.rhs(x, u)
        k2 = self.rhs(x + 0.5 * h * k1, u)
        k3 = self.rhs(x + 0.5 * h * k2, u)
        k4 = self.rhs(x + h * k3, u)
        return x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    def _cvodes(self, x: np.ndarray, u: np.ndarray, duration: float) -> np.ndarray:
        # one integrator per duration, kept on the instance (plants are often
        # stepped thousands of times)
        cache = self.__dict__.setdefault("_cvodes_integrators", {})
        if duration not in cache:
            xs = ca.SX.sym("x", self.n_states)
            us = ca.SX.sym("u", self.n_inputs)
            dae = {"x": xs, "p": us, "ode": self.casadi_ode()(xs, us)}
            one = ca.integrator(
                "plant", "cvodes", dae, 0.0, duration, CVODES_TOLERANCES
            )
            cache[duration] = one.map(1)
        integrator = cache[duration]
        out = np.empty_like(x)
        for i in range(x.shape[0]):  # CVODES is a per-trajectory solver
            out[i] = np.asarray(integrator(x0=x[i], p=u[i])["xf"]).ravel()
        return out

    def check_records(self, x: np.ndarray, u: np.ndarray, records: np.ndarray) -> None:
        """Raise :class:`SimulationError` if a trajectory diverged (see
        :meth:`trajectory`).

        Parameters
        ----------
        x, u : numpy.ndarray, shapes (n, n_states), (n, n_inputs)
            Initial states and inputs. [plant units]
        records : numpy.ndarray, shape (n, n_records, n_states)
            States recorded over one period. [state units]
        """
        lo, hi = self.state_lower, self.state_upper
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(records)
            if lo is not None:
                valid &= records >= lo
            if hi is not None:
                valid &= records <= hi
        bad = ~valid.all(axis=(1, 2))
        if not bad.any():
            return
        i = int(np.flatnonzero(bad)[0])
        k = int(np.flatnonzero(~valid[i].all(axis=1))[0])
        reached = records[i, k]
        why = "; ".join(outside_valid_states(self, reached)) or "not finite"

        def named(names: tuple[str, ...], values: np.ndarray) -> str:
            return ", ".join(f"{n}={v:.6g}" for n, v in zip(names, values, strict=True))

        outside = [
            f"{n}={v:.6g} {unit} not in [{lo:.6g}, {hi:.6g}]"
            for n, v, unit, lo, hi in zip(
                self.input_names,
                u[i],
                self.input_units,
                self.input_lower,
                self.input_upper,
                strict=True,
            )
            if not lo <= v <= hi
        ]
        fixes = []
        if outside:
            fixes.append(
                "the inputs are outside the plant's bounds (" + "; ".join(outside) + ")"
            )
        if self.method != "cvodes":
            fixes.append(
                f"the explicit {self.method!r} scheme with dt={self.integration_dt:g} "
                "h is unstable when the dynamics become fast (stiff): use "
                f"{type(self).__name__}(method='cvodes') or a smaller dt (more "
                "substeps)"
            )
        n = records.shape[0]
        which = f"trajectory {i} of {n} ({int(bad.sum())} diverged)" if n > 1 else ""
        raise SimulationError(
            f"the {type(self).__name__} simulation diverged"
            f"{' in ' + which if which else ''}: from "
            f"({named(self.state_names, x[i])}) with inputs "
            f"({named(self.input_names, u[i])}) it reached "
            f"({named(self.state_names, reached)}) after "
            f"{(k + 1) * self.sampling_period / records.shape[1]:g} h, "
            f"{why}; " + "; ".join(fixes or ["check the state and inputs"]),
            states=records[:, -1].copy(),
        )

    def has_own_step(self) -> bool:
        """True if the class overrides :meth:`step` with its own integration.

        Its ``method`` and ``substeps`` then do not change what ``step`` returns
        (they only drive the default step, which integrates :meth:`rhs`).
        """
        return type(self).step is not Plant.step

    def has_own_records(self) -> bool:
        """True if :meth:`trajectory` records the plant's own :meth:`step`.

        False for a plant that overrides ``step`` but not ``trajectory``.
        """
        return not self.has_own_step() or type(self).trajectory is not Plant.trajectory

    def casadi_ode(self) -> ca.Function:
        """Symbolic ODE ``xdot = f(x, u)`` as a named CasADi Function.

        Raises
        ------
        DimensionError
            :meth:`rhs` with the CasADi backend does not return a column of
            ``n_states`` derivatives.
        """
        x = ca.SX.sym("x", self.n_states)
        u = ca.SX.sym("u", self.n_inputs)
        xdot = self.rhs(x, u, backend=ca)
        shape = xdot.shape if hasattr(xdot, "shape") else np.shape(xdot)
        if tuple(shape) != (self.n_states, 1):
            raise DimensionError(
                f"{type(self).__name__}.rhs(x, u, backend=casadi) returned shape "
                f"{tuple(shape)}; expected a column of {self.n_states} derivatives "
                f"({self.n_states}, 1), one per state {self.state_names} "
                "(ca.vertcat(...))"
            )
        return ca.Function("f", [x, u], [xdot], ["x", "u"], ["xdot"])

    def simulate(self, x0: Any, inputs: Any) -> SimulationResult:
        """Apply ``inputs`` (shape (n_steps, n_inputs)) from ``x0`` (n_states,).

        Raises
        ------
        SimulationError
            A step diverged (see the plant's :meth:`step`); the message names the
            step, ``err.frame`` holds the trajectory up to and including the
            diverged state (:meth:`SimulationResult.to_frame` columns).
        """
        x0 = self.check_states(x0)
        if x0.shape[0] != 1:
            raise DimensionError(
                f"simulate takes one initial state of shape ({self.n_states},), got "
                f"{x0.shape[0]} states; call step() for a batch"
            )
        u = self.check_inputs(inputs)
        x = np.empty((u.shape[0] + 1, self.n_states))
        x[0] = x0[0]
        t = self.sampling_period * np.arange(u.shape[0] + 1)
        for k in range(u.shape[0]):
            try:
                x[k + 1] = checked_step(self, x[k], u[k])
            except SimulationError as err:
                if err.states is None:
                    raise
                x[k + 1] = np.asarray(err.states, dtype=float).reshape(-1)[
                    : self.n_states
                ]
                partial = SimulationResult(
                    t[: k + 2],
                    x[: k + 2],
                    u[: k + 1],
                    self.state_names,
                    self.input_names,
                )
                raise SimulationError(
                    f"step {k + 1} of {u.shape[0]} (t={t[k + 1]:g} h): {err}; "
                    "err.frame holds the states up to it",
                    frame=partial.to_frame(),
                    states=x[k + 1 : k + 2].copy(),
                ) from err
        return SimulationResult(t, x, u, self.state_names, self.input_names)

    # -- validation shared by subclasses -------------------------------------------
    def check_states(self, x: Any) -> np.ndarray:
        """Return ``x`` as a float array of shape (n, n_states) or raise."""
        return _as_batch(x, self.n_states, "state", self.state_names)

    def check_inputs(self, u: Any) -> np.ndarray:
        """Return ``u`` as a float array of shape (n, n_inputs) or raise."""
        return _as_batch(u, self.n_inputs, "input", self.input_names)

    def check_batch(self, x: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
        """Checked states (n, n_states) and inputs (n, n_inputs) of one batch.

        One state with a batch of inputs, or a batch of states with one input,
        is broadcast to the batch size (as numpy broadcasts).

        Raises
        ------
        DimensionError
            Batches of different sizes (both larger than one).
        """
        xb, ub = self.check_states(x), self.check_inputs(u)
        n_x, n_u = xb.shape[0], ub.shape[0]
        if n_x != n_u and 1 not in (n_x, n_u):
            raise DimensionError(
                f"{n_x} states but {n_u} inputs: give one input per state (n, "
                f"{self.n_inputs}), or a single state or input to apply to the "
                "whole batch"
            )
        n = max(n_x, n_u)
        return (
            np.broadcast_to(xb, (n, self.n_states)).copy(),
            np.broadcast_to(ub, (n, self.n_inputs)).copy(),
        )


def checked_step(plant: Any, x: Any, u: Any) -> np.ndarray:
    """One state advanced by ``plant.step``, its result checked.

    Parameters
    ----------
    plant : Plant
        Any object with ``step``, ``state_names`` and ``sampling_period``.
    x : array-like, shape (n_states,)
        State. [state units]
    u : array-like, shape (n_inputs,)
        Input held over the sampling period. [input units]

    Returns
    -------
    numpy.ndarray, shape (n_states,)
        The state one sampling period later. ``step`` may return it with shape
        (1, n_states) (a batch of one, as :meth:`Plant.step` documents) or
        (n_states,).

    Raises
    ------
    DimensionError
        ``step`` returned another shape (a user's ``step`` or ``rhs`` returning
        too few or too many values): indexing it would silently broadcast one
        value to every state.
    SimulationError
        ``step`` returned NaN or infinite values (``err.states`` holds them, shape
        (1, n_states)).
    """
    n = len(plant.state_names)
    out = np.asarray(plant.step(x, u), dtype=float)
    if out.shape not in ((1, n), (n,)):
        raise DimensionError(
            f"{type(plant).__name__}.step returned an array of shape {out.shape} "
            f"for one state; expected (1, {n}) (a batch of one) or ({n},), one "
            f"value per state {tuple(plant.state_names)}; check that step and rhs "
            "return every state"
        )
    out = out.reshape(n)
    if not np.all(np.isfinite(out)):
        names = ", ".join(
            f"{name}={v:.6g}" for name, v in zip(plant.state_names, out, strict=True)
        )
        raise SimulationError(
            f"{type(plant).__name__}.step returned non-finite states ({names}); "
            "check rhs (division by zero, sqrt or log of a negative level) and "
            "the integration step",
            states=out[None, :].copy(),
        )
    return out


def outside_valid_states(plant: Any, x: Any) -> list[str]:
    """Descriptions of the entries of one state outside the plant's valid box.

    Parameters
    ----------
    plant : Plant
        Any object with ``state_names`` and, optionally, ``state_lower``,
        ``state_upper`` (None: no limit) and ``state_units``.
    x : array-like, shape (n_states,)
        One state in the plant's coordinates. [state units]

    Returns
    -------
    list of str
        E.g. ``["CA=-3 < -1.9537 kmol/m^3"]``; empty when ``x`` is inside the box.
    """
    x = np.asarray(x, dtype=float)
    lo = getattr(plant, "state_lower", None)
    hi = getattr(plant, "state_upper", None)
    units = getattr(plant, "state_units", ("",) * len(x))
    out = []
    for i, name in enumerate(plant.state_names):
        if lo is not None and x[i] < lo[i]:
            out.append(f"{name}={x[i]:.6g} < {lo[i]:.6g} {units[i]}")
        if hi is not None and x[i] > hi[i]:
            out.append(f"{name}={x[i]:.6g} > {hi[i]:.6g} {units[i]}")
    return out


def _as_batch(values: Any, width: int, what: str, names: tuple[str, ...]) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:  # strings, ragged lists, objects
        raise DataError(f"{what}s must be numbers ordered as {names}: {exc}") from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != width:
        raise DimensionError(
            f"expected {what}s of shape ({width},) or (n, {width}) ordered as "
            f"{names}, got an array of shape {np.shape(values)}"
        )
    if not np.all(np.isfinite(array)):
        raise DataError(
            f"{what}s contain NaN or infinite values: {array[~np.isfinite(array)][:3]}"
        )
    return array
