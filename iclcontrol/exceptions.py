"""Exceptions raised by iclcontrol and plants, in one place.

Every error a user can trigger with bad input is a subclass of a built-in
(``ValueError``, ``TypeError``, ...) so that generic handlers keep working, and its
message says what was expected, what was found and how to fix it.
"""

from __future__ import annotations


class IclControlError(Exception):
    """Base class of every error raised on purpose by iclcontrol."""


class DimensionError(IclControlError, ValueError):
    """An array has the wrong shape or the wrong number of features."""


class DataError(IclControlError, ValueError):
    """Input data is unusable: NaN, unknown columns, too short for a window."""


class NotFittedError(IclControlError, ValueError, AttributeError):
    """A model or scaler is used before ``fit``."""


class ModelFileError(IclControlError, ValueError):
    """A saved model, dataset or study folder is missing, truncated or inconsistent."""


class SolverUnavailableError(IclControlError, RuntimeError):
    """A requested optimization solver is not installed on this machine."""


class ConfigError(IclControlError, ValueError):
    """An invalid configuration value (unknown model kind, negative horizon, ...)."""


class LayoutError(ConfigError, DimensionError):
    """A model's features or outputs do not match a plant's states and inputs.

    Both a :class:`ConfigError` and a :class:`DimensionError`: wrong counts and
    wrong names are reported by the same check
    (:func:`iclcontrol.export.check_layout`).
    """


class SimulationError(IclControlError, RuntimeError):
    """A plant simulation diverged (non-finite or physically invalid states).

    Attributes
    ----------
    frame : pandas.DataFrame or None
        What was computed before the divergence (a closed loop's rows), so that
        callers can still save it.
    states : numpy.ndarray or None
        The states the simulator reached, as computed (NaN or outside the valid
        box where it diverged), shape (n, n_states): a plant's ``step`` gives one
        row per trajectory of its batch.
    """

    def __init__(
        self, message: str, frame: object = None, states: object = None
    ) -> None:
        super().__init__(message)
        self.frame = frame
        self.states = states


class IclControlWarning(UserWarning):
    """A questionable but usable setting or input (the CLI prints these on stderr
    and lists them under ``warnings`` in its JSON)."""
