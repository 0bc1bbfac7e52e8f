"""``save`` and ``load`` of the solar forecasters and scenarios, shared by their
classes; the folder format is :mod:`iclcontrol.solar.persist` (imported when
used, since it imports the forecaster classes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from iclcontrol.exceptions import ModelFileError


class SavedModelMixin:
    """Adds :meth:`save` and the classmethod :meth:`load` (model folders, no pickle)."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted object to a model folder: ``model.json``, plus
        ``model.safetensors`` for a network forecaster.

        See :func:`iclcontrol.solar.persist.save_forecaster`; read it back with
        :func:`iclcontrol.solar.load_forecaster` (or the class's ``load``), which
        gives the same floats.

        Parameters
        ----------
        path : str or os.PathLike
            The folder, created with its missing parents.

        Returns
        -------
        pathlib.Path
            The folder (``~`` expanded).

        Raises
        ------
        TypeError
            ``path`` is not a str or os.PathLike.
        NotFittedError
        ModelFileError
            ``path`` is an existing file.
        """
        from iclcontrol.solar.persist import save_forecaster

        return save_forecaster(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Read a folder written by :meth:`save`.

        Raises
        ------
        TypeError
            ``path`` is not a str or os.PathLike.
        ModelFileError
            Missing, truncated, corrupted or inconsistent folder, or one that
            holds another kind of forecaster.
        """
        from iclcontrol.solar.persist import load_forecaster

        model = load_forecaster(path)
        if not isinstance(model, cls):
            raise ModelFileError(
                f"{path} holds a {type(model).__name__}, not a {cls.__name__}; "
                "read it with iclcontrol.solar.load_forecaster(path)"
            )
        return model
