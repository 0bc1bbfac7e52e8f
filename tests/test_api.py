"""The public surface of ``import iclcontrol``: what an application imports."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import iclcontrol
import iclcontrol.exceptions as exc_mod
import iclcontrol.train

ROOT = Path(__file__).parent.parent


def test_top_level_exports_the_estimator_load_and_every_exception():
    """A caller catching errors wrote ``from iclcontrol.exceptions import ...``
    because the top level exported only ``load`` and ``__version__``."""
    for name in iclcontrol.__all__:
        assert hasattr(iclcontrol, name), name
    assert iclcontrol.SurrogateModel is iclcontrol.train.SurrogateModel
    assert iclcontrol.load is iclcontrol.train.load
    exceptions = {
        name
        for name, obj in vars(exc_mod).items()
        if isinstance(obj, type) and issubclass(obj, (Exception, Warning))
    }
    assert exceptions <= set(iclcontrol.__all__)
    for name in exceptions - {"IclControlWarning"}:
        assert issubclass(getattr(iclcontrol, name), iclcontrol.IclControlError)
    assert issubclass(iclcontrol.IclControlWarning, UserWarning)
    assert "SurrogateModel" in dir(iclcontrol)


def test_load_has_resolvable_type_hints():
    """``iclcontrol.load`` was annotated ``(path: Any) -> Any``: a type checker
    saw nothing of the model it returns."""
    hints = typing.get_type_hints(iclcontrol.load)
    assert hints["return"] is iclcontrol.train.SurrogateModel
    assert os.PathLike in {typing.get_origin(a) for a in typing.get_args(hints["path"])}


def test_import_iclcontrol_stays_light():
    """The lazy exports must not import torch (seconds) on ``import iclcontrol``."""
    code = (
        "import sys, iclcontrol; from iclcontrol import NotFittedError; "
        "print(sorted({'torch', 'casadi', 'sklearn'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == "[]"
