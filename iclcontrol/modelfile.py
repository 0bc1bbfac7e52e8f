"""Model folders on disk: safetensors weights and a JSON description, never pickle.

Every fitted estimator of iclcontrol that can be saved (:class:`iclcontrol.train.
SurrogateModel`, the solar forecasters of :mod:`iclcontrol.solar.persist`) writes
the same kind of folder::

    model.safetensors   tensors (safetensors: no code runs on load); absent for
                        estimators without a network
    model.json          "format" (which estimator), "format_version", what the
                        estimator needs, and "weights_sha256" of the tensors

This module holds what they share: the path argument, writing the two files
(JSON atomically) and reading them back with the checks every loader needs
(missing folder or file, invalid JSON, another estimator's folder, a newer format
version, a truncated or corrupted weights file). Each raises
:class:`~iclcontrol.exceptions.ModelFileError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from iclcontrol.data import json_default
from iclcontrol.exceptions import ModelFileError

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"

#: Which loader reads each ``format`` (to point a user at the right one).
LOADERS = {
    "iclcontrol.SurrogateModel": "iclcontrol.load",
    "iclcontrol.IrradianceForecaster": "iclcontrol.solar.load_forecaster",
    "iclcontrol.SmartPersistence": "iclcontrol.solar.load_forecaster",
    "iclcontrol.ClearSkyIndexClimatology": "iclcontrol.solar.load_forecaster",
    "iclcontrol.AnalogDayScenarios": "iclcontrol.solar.load_forecaster",
}


def model_path(path: Any, who: str) -> Path:
    """``path`` as a :class:`~pathlib.Path` with ``~`` expanded (as pandas reads
    ``'~/runs/a'``).

    Parameters
    ----------
    path : str or os.PathLike
    who : str
        The calling function, for the message (``"save"``, ``"load"``).

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike: a wrong argument, as ``open(3.5)``
        is, rather than a bad model file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{who} expects the path of a model folder as a str or os.PathLike "
            f"(e.g. pathlib.Path), got {type(path).__name__}"
        )
    return Path(path).expanduser()


def make_folder(path: Path) -> Path:
    """Create the model folder ``path`` (and its parents); return it.

    Raises
    ------
    ModelFileError
        ``path`` is an existing file (a model is a folder).
    """
    if path.exists() and not path.is_dir():
        raise ModelFileError(
            f"cannot save into {path}: it is a file, and a model is a folder "
            f"holding {WEIGHTS_FILE} and {META_FILE}; give a folder path "
            f"(for example {path.parent / path.stem})"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_weights(folder: Path, tensors: dict[str, Any]) -> str:
    """Write ``tensors`` (name -> torch.Tensor) to ``folder/model.safetensors``.

    Returns
    -------
    str
        SHA-256 of the file (hex), to store in the JSON as ``weights_sha256``.
    """
    from safetensors.torch import save_file

    contiguous = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    save_file(contiguous, str(folder / WEIGHTS_FILE))
    return hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest()


def write_meta(folder: Path, meta: dict[str, Any]) -> None:
    """Write ``meta`` to ``folder/model.json`` atomically (a reader never sees
    half a file). Floats are written with ``repr`` and read back exactly."""
    tmp = folder / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1, allow_nan=True, default=json_default))
    tmp.replace(folder / META_FILE)


def model_folder(path: Any, who: str = "load") -> Path:
    """The model folder of ``path`` (a file inside it stands for its folder).

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    ModelFileError
        The folder does not exist.
    """
    folder = model_path(path, who)
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise ModelFileError(f"model folder {folder} does not exist")
    return folder


def _missing(path: Path, writer: str) -> ModelFileError:
    """The error of a missing file of a model folder, pointing to the models of a
    run folder (``RUN/model``, or ``RUN/models/KIND`` of ``solar forecast``) when
    there are any."""
    folder = path.parent
    inner = [
        str(p.parent)
        for p in [
            folder / "model" / META_FILE,
            *sorted(folder.glob(f"models/*/{META_FILE}")),
        ]
        if p.is_file()
    ]
    hint = ""
    if len(inner) == 1:
        hint = f"; the model of this run folder is in {inner[0]}"
    elif inner:
        hint = f"; the models of this run folder are in {', '.join(inner)}"
    return ModelFileError(
        f"{path.name} is missing in {folder}; a model folder holds "
        f"{META_FILE} and {WEIGHTS_FILE} (written by {writer}){hint}"
    )


def read_meta(
    folder: Path,
    formats: tuple[str, ...],
    version: int,
    writer: str,
    weights: bool = True,
) -> dict[str, Any]:
    """Read and check ``folder/model.json``.

    Parameters
    ----------
    folder : pathlib.Path
        From :func:`model_folder`.
    formats : tuple of str
        The ``format`` values the caller reads, e.g.
        ``("iclcontrol.SurrogateModel",)``.
    version : int
        The newest ``format_version`` the caller reads (older ones are refused
        too: there are none yet).
    writer : str
        What writes such folders, for the messages (``"SurrogateModel.save"``).
    weights : bool
        Also require ``model.safetensors`` (checked before the JSON is read).

    Returns
    -------
    dict
        The description.

    Raises
    ------
    ModelFileError
        A missing file, invalid JSON, a description of another estimator (the
        message names its loader) or another format version.
    """
    meta_path = folder / META_FILE
    for p in (meta_path, folder / WEIGHTS_FILE) if weights else (meta_path,):
        if not p.is_file():
            raise _missing(p, writer)
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{meta_path} is not valid JSON ({exc})") from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if found not in formats:
        loader = LOADERS.get(found) if isinstance(found, str) else None
        hint = f"; it holds a {found}: read it with {loader}(path)" if loader else ""
        raise ModelFileError(
            f"{meta_path} is not an iclcontrol model description of the kind "
            f"{' or '.join(formats)} (format {found!r}){hint}"
        )
    if meta.get("format_version") != version:
        raise ModelFileError(
            f"{meta_path} has format version {meta.get('format_version')!r}; this "
            f"iclcontrol reads version {version}"
            + (
                " (the folder was written by a newer iclcontrol: upgrade it)"
                if isinstance(meta.get("format_version"), int)
                and meta["format_version"] > version
                else ""
            )
        )
    return meta


def read_weights(folder: Path, meta: dict[str, Any], writer: str) -> dict[str, Any]:
    """The tensors of ``folder/model.safetensors``, checked against the
    ``weights_sha256`` of ``meta``; ``writer`` as in :func:`read_meta`.

    Returns
    -------
    dict
        Tensor name -> torch.Tensor (in the dtype saved).

    Raises
    ------
    ModelFileError
        The file is missing, truncated, corrupted or another model's (checksum),
        or unreadable.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise _missing(weights_path, writer)
    raw = weights_path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != meta.get("weights_sha256"):
        raise ModelFileError(
            f"{weights_path} does not match the checksum in {META_FILE}: the file is "
            "truncated, corrupted or from another model"
        )
    try:
        return load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read {weights_path}: {exc}") from None


def check_constraints(network: Any, meta_path: Path) -> None:
    """Raise :class:`ModelFileError` if the weights break the constraints of the
    network config (edited by hand, or another model's weights): the forward pass
    would then rescale them while the exported weights and the certificate do
    not."""
    from iclcontrol.models.constraints import spectral_norm

    config = network.config
    for name, weight in network.constrained_weights():
        smallest = float(weight.detach().min()) if weight.numel() else 0.0
        bound = config.spectral_bound
        norm = spectral_norm(weight) if bound is not None else 0.0
        if config.nonnegative and smallest < 0:
            problem = f"has a negative entry ({smallest:.3g})"
        elif bound is not None and norm > bound * (1 + 1e-6):  # float32 rounding
            problem = f"has spectral norm {norm:.6g} above the bound {bound:g}"
        else:
            continue
        raise ModelFileError(
            f"{meta_path}: the weights in {WEIGHTS_FILE} do not satisfy its network "
            f"config (kind {config.kind}, nonnegative {config.nonnegative}, "
            f"spectral_bound {config.spectral_bound}): {name} {problem}; the file "
            "was edited or belongs to other weights. Restore the model folder as "
            "saved (or train again)"
        )


@contextmanager
def reading(meta_path: Path) -> Iterator[None]:
    """Turn a KeyError, TypeError or ValueError raised while a loader reads the
    parts of ``meta_path`` into a :class:`ModelFileError` naming the file (a
    ModelFileError passes through unchanged)."""
    try:
        yield
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(
            f"{meta_path} is inconsistent or incomplete ({type(exc).__name__}: {exc})"
        ) from None
