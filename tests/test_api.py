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


def _public_functions():
    """Every public function and method of the library's modules (``__all__``, or
    the module's own public functions and classes where it has none)."""
    import importlib
    import inspect
    import pkgutil

    import plants

    found = []
    for package in (iclcontrol, plants):
        names = [package.__name__] + [
            info.name
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
            if ".commands" not in info.name and not info.name.endswith(".cli")
        ]
        for module_name in names:
            module = importlib.import_module(module_name)
            public = getattr(module, "__all__", None) or [
                name
                for name, obj in vars(module).items()
                if not name.startswith("_")
                and getattr(obj, "__module__", None) == module_name
            ]
            for name in public:
                obj = getattr(module, name)
                if inspect.isclass(obj):
                    found += [
                        (f"{module_name}.{name}.{attr}", member)
                        for attr, member in vars(obj).items()
                        if inspect.isfunction(member)
                        and (attr == "__init__" or not attr.startswith("_"))
                    ]
                elif inspect.isfunction(obj):
                    found.append((f"{module_name}.{name}", obj))
    return found


def test_type_hints_of_public_functions_resolve():
    """py.typed is shipped, but four functions of iclcontrol.solar.features
    annotated with names imported only under TYPE_CHECKING: get_type_hints
    (and so pydantic, typeguard, sphinx-autodoc-typehints) raised NameError."""
    functions = _public_functions()
    assert len(functions) > 100
    failures = []
    for qualname, function in functions:
        try:
            typing.get_type_hints(function)
        except Exception as exc:  # collect every failure, not just the first
            failures.append(f"{qualname}: {exc!r}")
    assert failures == []
