"""scikit-learn's estimator protocol without importing scikit-learn at import time.

``sklearn.base`` pulls in scipy and takes seconds to import, which every CLI
command (``iclcontrol solar ...``) would pay. :class:`EstimatorMixin` gives the
parts of ``sklearn.base.BaseEstimator`` that users rely on: ``get_params`` /
``set_params`` from the constructor's signature (so ``sklearn.base.clone``
works), a ``repr`` listing the parameters that differ from their defaults, and
``__sklearn_tags__`` (so ``sklearn.utils.validation.check_is_fitted`` works),
which imports scikit-learn only when scikit-learn itself asks for it.
"""

from __future__ import annotations

import inspect
from typing import Any

from iclcontrol.exceptions import ConfigError

__all__ = ["EstimatorMixin"]


class EstimatorMixin:
    """Constructor parameters as estimator parameters, scikit-learn style.

    Every ``__init__`` argument must be stored unchanged under its own name.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        """Names of the constructor arguments, in signature order."""
        return [n for n in inspect.signature(cls.__init__).parameters if n != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments, as given.

        Parameters
        ----------
        deep : bool
            Accepted for scikit-learn compatibility; there are no sub-estimators.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set constructor arguments (checked at the next ``fit``).

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            A name that is not a constructor argument.
        """
        valid = self._param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {unknown} for {type(self).__name__}; valid "
                f"ones: {', '.join(valid)}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """``Name(a=1, b='x')`` with the parameters that differ from the defaults."""
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if repr(value) != repr(defaults.get(name, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's default estimator tags (scikit-learn >= 1.6 asks)."""
        from sklearn.base import BaseEstimator

        return BaseEstimator.__sklearn_tags__(self)  # type: ignore[arg-type]
