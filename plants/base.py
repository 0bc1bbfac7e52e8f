"""The plant interface every simulator implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import casadi as ca
import numpy as np
import pandas as pd

from iclcontrol.exceptions import DataError, DimensionError, SimulationError


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
    * :meth:`step`: one sampling period for a batch of states (your integrator;
      start with :meth:`check_batch`), returning shape (n, n_states).

    Optional: :attr:`state_lower` / :attr:`state_upper` (None, the default: no
    limit; otherwise a closed loop stops with a SimulationError when the plant
    leaves the box), a ``trajectory(x, u, n_records)`` method (records inside a
    period, for :func:`iclcontrol.data.plant_dataset` with ``steps_per_move >
    1``), and the plot/Lyapunov attributes below. States need not be deviations
    from the steady state: setpoints are given to the MPC as
    ``MPCSettings(state_setpoint=...)``. The MPC settings' defaults (weights,
    ``lyapunov=True`` with its matrix) are the reference CSTR's: set them for
    your plant.

    Examples
    --------
    A first-order heated tank, ``dT/dt = (Q / C - k (T - T_amb))``:

    >>> class Tank(Plant):                                    # doctest: +SKIP
    ...     state_names, state_units = ("T",), ("K",)
    ...     input_names, input_units = ("Q",), ("kW",)
    ...     sampling_period = 0.1
    ...     input_lower = property(lambda self: np.array([0.0]))
    ...     input_upper = property(lambda self: np.array([10.0]))
    ...     x_steady = property(lambda self: np.array([320.0]))
    ...     u_steady = property(lambda self: np.array([5.0]))
    ...     def rhs(self, x, u, backend=np):
    ...         return 0.5 * u - 0.1 * (x - 293.15)
    ...     def step(self, x, u):
    ...         x, u = self.check_batch(x, u)
    ...         for _ in range(10):  # explicit Euler, 0.01 h
    ...             x = x + 0.01 * self.rhs(x, u)
    ...         return x
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

    @abstractmethod
    def step(self, x: Any, u: Any) -> np.ndarray:
        """Advance a batch of states by one sampling period with inputs held."""

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
