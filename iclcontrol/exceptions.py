"""Exceptions raised by iclcontrol and plants, in one place.

Every error a user can trigger with bad input is a subclass of a built-in
(``ValueError``, ``TypeError``, ...) so that generic handlers keep working, and its
message says what was expected, what was found and how to fix it.
"""

from __future__ import annotations

import os
import sys
import warnings


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


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = IclControlWarning) -> None:
    """Issue a warning attributed to the first caller outside iclcontrol.

    A fixed ``stacklevel`` is right for one call path only: ``predict`` warned
    from inside ``train.py`` when it was reached through ``score``, or through a
    helper. The location is what Python's warning filters key on (the default
    filter shows a warning once per location, ``-W error::...:module`` selects by
    module) and what the user reads, so it is their line, wherever the warning is
    raised inside the library.

    Parameters
    ----------
    message : str
    category : type of Warning
        Default :class:`IclControlWarning`.
    """
    frame = sys._getframe(1)
    level = 2  # the caller of warn()
    while frame.f_back is not None and os.path.abspath(
        frame.f_code.co_filename
    ).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
