"""Load a user's plant class named as ``module:Class`` or ``path/to/file.py:Class``.

This is how the command line (``iclcontrol mpc --plant``, ``iclcontrol data
plant``) reaches a plant it does not ship: the class is imported, checked to be a
:class:`plants.base.Plant` subclass and built with no arguments.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from iclcontrol.exceptions import ConfigError
from plants.base import Plant


def load_plant(spec: str) -> Plant:
    """The plant ``spec`` names, built with no arguments.

    Parameters
    ----------
    spec : str
        ``"package.module:Class"`` (a module importable from ``sys.path``) or
        ``"path/to/file.py:Class"`` (a Python file, loaded as a module).

    Returns
    -------
    plants.base.Plant
        ``Class()``.

    Raises
    ------
    ConfigError
        ``spec`` is not of that form; the module or file is not found or fails
        to import; it has no ``Class`` (the message lists its Plant subclasses);
        ``Class`` is not a Plant subclass, is abstract (the message names the
        methods to write), needs constructor arguments, or its constructor fails.

    Examples
    --------
    >>> plant = load_plant("examples/own_plant_mpc.py:TwoTanks")  # doctest: +SKIP
    """
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ConfigError(
            f"--plant {spec!r}: expected cstr, module:Class (a module on sys.path) "
            "or path/to/file.py:Class"
        )
    module = _import(where, spec)
    cls = getattr(module, name, None)
    if cls is None:
        found = sorted(
            key
            for key, value in vars(module).items()
            if isinstance(value, type)
            and issubclass(value, Plant)
            and not inspect.isabstract(value)
        )
        listed = ", ".join(found) if found else "none"
        raise ConfigError(
            f"--plant {spec}: {where} has no {name}; its (non-abstract) Plant "
            f"subclasses: {listed}"
        )
    if not (isinstance(cls, type) and issubclass(cls, Plant)):
        raise ConfigError(
            f"--plant {spec}: {name} is not a plants.base.Plant subclass (it is "
            f"{type(cls).__name__} {cls!r}); subclass Plant and give names, units, "
            "bounds, the sampling period and rhs"
        )
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ConfigError(
            f"--plant {spec}: {name} is abstract: define {missing} (see the "
            "plants.base.Plant docstring)"
        )
    needed = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if needed:
        raise ConfigError(
            f"--plant {spec}: {name}() needs arguments ({', '.join(needed)}); the "
            "command line builds the plant with none: give them defaults, or name a "
            "subclass that sets them"
        )
    try:
        return cls()
    except Exception as err:
        raise ConfigError(
            f"--plant {spec}: {name}() failed: {type(err).__name__}: {err}"
        ) from err


def _import(where: str, spec: str) -> ModuleType:
    """The module of ``where``: a file path (ends in .py or has a slash) or a
    module name."""
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise ConfigError(
                f"--plant {spec}: no file {path} (resolved from {Path.cwd()})"
            )
        module_name = f"_iclcontrol_plant_{path.stem}"
        file_spec = importlib.util.spec_from_file_location(module_name, path)
        if file_spec is None or file_spec.loader is None:
            raise ConfigError(f"--plant {spec}: {path} is not a Python file")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[module_name] = module  # dataclasses look their module up
        try:
            file_spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[module_name]
            raise ConfigError(
                f"--plant {spec}: importing {path} failed: {type(err).__name__}: {err}"
            ) from err
        return module
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as err:
        if err.name and (where == err.name or where.startswith(err.name + ".")):
            shown = ", ".join(repr(p) for p in sys.path[:4])
            raise ConfigError(
                f"--plant {spec}: no module named {where!r} on sys.path ({shown}, "
                "...); add its folder to PYTHONPATH or give a file, "
                "path/to/file.py:Class"
            ) from err
        raise ConfigError(f"--plant {spec}: importing {where} failed: {err}") from err
    except Exception as err:
        raise ConfigError(
            f"--plant {spec}: importing {where} failed: {type(err).__name__}: {err}"
        ) from err
