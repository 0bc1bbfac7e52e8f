"""Fitting sequence surrogates: the :class:`SurrogateModel` estimator, save and load.

``SurrogateModel(kind="iclrnn", hidden=64, layers=2).fit(dataset)`` trains on the
scaled training split of an :class:`iclcontrol.data.SequenceDataset` (its scalers are
fit on the training split only) with Adam minibatches, projection of the weight
constraints after every step, a validation split for early stopping and a
plateau learning-rate schedule, optional target noise (the noise-robustness protocol)
and a wall-clock budget. ``predict`` takes and returns physical units.

A saved model is a folder::

    model.safetensors   network weights (safetensors, no code execution on load)
    model.json          format version, estimator parameters, network config,
                        scalers, names/units, the training data's record
                        (source, time step, window, splits; not the data),
                        certificate, history, checksums

:func:`load` checks the weights against the checksum, the network config's
constraints and the stored certificate (recomputed from the weights and scalers),
so a hand-edited claim ("convex", a bound, the kind) is refused, not trusted.

Randomness is explicit: ``random_state`` seeds a ``torch.Generator`` (initialization,
minibatch order) and a ``numpy.random.Generator`` (target noise); no global seeding.
With ``time_budget_s`` set, the number of epochs depends on the machine's speed, so
results are reproducible only with ``time_budget_s=None``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclcontrol.data import (
    check_consistent,
    check_finite,
    make_dataset,
    provenance,
)
from iclcontrol.estimator import EstimatorMixin
from iclcontrol.exceptions import (
    ConfigError,
    DataError,
    DimensionError,
    ModelFileError,
    NotFittedError,
    warn,
)
from iclcontrol.modelfile import (
    META_FILE,
    WEIGHTS_FILE,
    check_constraints,
    make_folder,
    model_folder,
    model_path,
    read_meta,
    read_weights,
    reading,
    write_meta,
    write_weights,
)
from iclcontrol.models.averaging import WeightAverage, averaged_weights
from iclcontrol.models.certificate import (
    Certificate,
    certificate_differences,
    certify,
)
from iclcontrol.models.networks import KINDS, NetworkConfig, network_from_config
from iclcontrol.progress import progress_enabled as _progress_enabled

FORMAT_VERSION = 1
#: Sequences per forward pass of :meth:`SurrogateModel.predict_scaled`. One pass
#: over 100k CSTR sequences of a 2x64 ICLRNN took 5-7 s and 1.3 GB of hidden
#: states; blocks of 4096 took 1 s with the same output (2026-11-27, 1 thread).
PREDICT_BATCH = 4096


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _is_number(value: Any) -> bool:
    """A finite real number (``bool`` and strings excluded)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def default_names(role: str, n: int) -> list[str]:
    """The names ``fit(X, Y)`` gives the columns of unnamed arrays.

    Parameters
    ----------
    role : {"feature", "output"}
    n : int
        Number of columns.

    Returns
    -------
    list of str
        ``x0, x1, ...`` for features, ``y0, y1, ...`` for outputs.
    """
    prefix = "x" if role == "feature" else "y"
    return [f"{prefix}{i}" for i in range(n)]


def _column_order(found: Any, expected: Any, label: str, role: str) -> list[int]:
    """Positions in ``found`` of the names in ``expected``: columns matched by name.

    A model fit on arrays without names (its names are :func:`default_names`)
    takes columns of other names in order, with a warning, as scikit-learn does
    for an estimator fitted without feature names.

    Parameters
    ----------
    found : sequence of str
        Column names of the data given (a DataFrame's columns, a dataset's names).
    expected : sequence of str
        The model's names, in the order it was fit on.
    label : str
        What holds ``found``, for the message ("X", "the dataset").
    role : {"feature", "output"}

    Raises
    ------
    DataError
        A name of ``expected`` is missing from ``found``, ``found`` has another,
        or a name twice (for a model fit with names).

    Warns
    -----
    IclControlWarning
        The model was fit without names and ``found`` has other names: the
        columns are taken in order.
    """
    found, expected = list(found), list(expected)
    repeated = sorted({c for c in found if found.count(c) > 1})
    if repeated:
        raise DataError(
            f"{label} has the {role} column(s) {repeated} more than once; keep one "
            "of each"
        )
    if set(found) != set(expected) and expected == default_names(role, len(expected)):
        if len(found) == len(expected):  # otherwise the caller names the count
            warn(
                f"{label} has {role} names {found}, but SurrogateModel was fitted "
                f"without {role} names (fit(X, Y) on arrays called them "
                f"{expected}): the columns are taken in order, as for a numpy "
                f"array; pass {role}_names= to fit to match columns by name"
            )
        return list(range(len(found)))
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing or extra:
        raise DataError(
            f"{label} has {role} columns {found}, but SurrogateModel was fit on "
            f"{role}s {expected}: missing {missing}, unexpected {extra}; rename or "
            f"select the columns (a numpy array is taken in {role} order)"
        )
    return [found.index(c) for c in expected]


def _check_dataset(dataset: Any, method: str, alternative: str) -> None:
    """Raise :class:`DataError` unless ``dataset`` looks like a SequenceDataset."""
    for attr in ("X", "Y", "splits", "x_scaler", "y_scaler", "subset"):
        if not hasattr(dataset, attr):
            raise DataError(
                f"{method} expects an iclcontrol.data.SequenceDataset or "
                f"{alternative}; got {type(dataset).__name__} without attribute "
                f"{attr!r}"
            )


def _is_named_frame(data: Any) -> bool:
    """A DataFrame whose columns are all strings (matched by name, as in
    scikit-learn; other frames are taken in column order)."""
    return hasattr(data, "columns") and all(isinstance(c, str) for c in data.columns)


def _by_name(data: Any, expected: Any, label: str, role: str) -> Any:
    """``data`` with its columns in the model's order, for named DataFrames.

    A DataFrame with string column names is reordered by name
    (:func:`_column_order`), and so is each one of a list or tuple of them (one
    per sequence, stacked into an (n, steps, columns) array); anything else is
    returned unchanged (numpy arrays are taken in column order).

    Raises
    ------
    DataError
        Names that do not match (see :func:`_column_order`).
    DimensionError
        A list of DataFrames of different lengths.
    """
    if _is_named_frame(data):
        order = _column_order(data.columns, expected, label, role)
        return data.iloc[:, order].to_numpy()
    if (
        isinstance(data, (list, tuple))
        and len(data) > 0
        and all(_is_named_frame(frame) for frame in data)
    ):
        frames = [
            _by_name(frame, expected, f"{label}[{i}]", role)
            for i, frame in enumerate(data)
        ]
        lengths = sorted({len(frame) for frame in frames})
        if len(lengths) > 1:
            raise DimensionError(
                f"the DataFrames of {label} have {lengths} rows: the sequences of "
                "one batch need the same number of steps; call once per length"
            )
        return np.stack(frames)
    return data


def _scaler_from_dict(d: dict[str, Any]) -> Any:
    from iclcontrol.data import MinMaxScaler

    return MinMaxScaler.from_dict(d)


class SurrogateModel(EstimatorMixin):
    """Sequence surrogate estimator in the scikit-learn spirit.

    scikit-learn's estimator protocol (:class:`iclcontrol.estimator.EstimatorMixin`):
    ``repr`` lists the changed parameters, ``sklearn.base.clone`` and
    ``sklearn.utils.validation.check_is_fitted`` work, ``fit(X, Y)`` takes arrays
    as well as a dataset, ``score(X, Y)`` is R^2.

    Parameters
    ----------
    kind : {"iclrnn", "icrnn", "lrnn", "rnn", "lstm", "ficnn"}
        Network kind (:mod:`iclcontrol.models.networks`).
    hidden, layers : int
        Units per layer and number of layers.
    lr : float
        Initial Adam learning rate. [-]
    batch_size : int
        Minibatch size (samples).
    max_epochs : int
        Upper bound on epochs.
    time_budget_s : float or None
        Wall-clock training budget. [s] None: no limit (reproducible).
    noise_std : float
        Standard deviation of Gaussian noise added to the scaled training and
        validation targets (REFERENCE.md protocol; test targets stay clean). [-]
    patience : int
        Epochs without validation improvement before stopping.
    schedule : {"cosine", "plateau"}
        Learning-rate schedule. "cosine": from ``lr`` down to ``min_lr`` over the
        run, the progress being the larger of ``epoch / max_epochs`` and
        ``elapsed / time_budget_s`` (updated every minibatch). "plateau": multiply
        by ``lr_factor`` after ``lr_patience`` epochs without improvement.
    lr_patience : int
        Epochs without improvement before the learning rate is multiplied by
        ``lr_factor``.
    lr_factor : float
        In (0, 1].
    min_lr : float
        Final (cosine) or smallest (plateau) learning rate, in [0, ``lr``].
    spectral_bound : float or None
        Override of the kind's spectral bound (None: kind default).
    learn_initial_state : bool or None
        Train the initial hidden state of Elman networks (None: kind default,
        True for iclrnn and icrnn; see
        :class:`iclcontrol.models.networks.NetworkConfig`).
    clip_grad_norm : float or None
        Clip the global gradient norm per step to this positive value (None: no
        clipping); keeps ReLU units alive through occasional large gradients.
    ema_decay : float or None
        Decay per optimizer step of the exponential moving average of the weights,
        in [0, 1) (warmed up over the first steps,
        :class:`iclcontrol.models.averaging.WeightAverage`); the averaged weights
        are validated, early-stopped on and returned. None or 0: no averaging.
    random_state : int
        Seed of initialization, minibatch order and target noise (an integer:
        fits are always seeded, so that they are reproducible).
    n_threads : int or None
        torch intra-op threads while fitting and predicting (restored afterwards).
        1 is fastest for these small matrices, especially on a shared machine where
        multi-threaded small matrix products wait on each other; None: leave
        torch's setting.
    verbose : bool or None
        Progress bar; None: only on a terminal and not under CI.

    Attributes
    ----------
    network_ : torch.nn.Module
    config_ : NetworkConfig
    x_scaler_, y_scaler_ : iclcontrol.data.MinMaxScaler
    feature_names_, output_names_, feature_units_, output_units_ : tuple of str
    steps_ : int
        Input sequence length seen in training.
    output_steps_ : int
        Output steps per sample (the last ``output_steps_`` network outputs).
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``lr``, ``seconds``.
    certificate_ : Certificate
    training_data_ : dict
        What the training data was, without the data
        (:func:`iclcontrol.data.provenance`): source file, time column, sample
        interval [s], window, stride, resampling, split sizes, as far as the
        dataset's card knows them; empty for models saved before it was recorded.
        ``moves`` (sampling periods per training sequence) and
        ``steps_per_move`` (sequence steps per sampling period) tell the MPC
        and :func:`~iclcontrol.export.to_do_mpc` how the model's steps relate
        to the plant's period; None (or absent, in models saved before they
        were recorded) when the data did not say.
    fit_info_ : dict
        ``train_seconds``, ``epochs``, ``samples_per_second``, ``stop_reason``,
        ``best_epoch``, ``best_val_loss``.

    Examples
    --------
    >>> from iclcontrol.data import cstr_dataset
    >>> ds = cstr_dataset(n_grid=20)
    >>> model = SurrogateModel("iclrnn", hidden=16, max_epochs=2).fit(ds)
    >>> model.predict(ds.X[:3]).shape
    (3, 10, 2)
    """

    def __init__(
        self,
        kind: str = "iclrnn",
        hidden: int = 64,
        layers: int = 2,
        lr: float = 5e-3,
        batch_size: int = 64,
        max_epochs: int = 1000,
        time_budget_s: float | None = None,
        noise_std: float = 0.0,
        patience: int = 40,
        schedule: str = "cosine",
        lr_patience: int = 10,
        lr_factor: float = 0.5,
        min_lr: float = 1e-5,
        spectral_bound: float | None = None,
        learn_initial_state: bool | None = None,
        clip_grad_norm: float | None = 1.0,
        ema_decay: float | None = 0.99,
        random_state: int = 0,
        n_threads: int | None = 1,
        verbose: bool | None = None,
    ) -> None:
        self.kind = kind
        self.hidden = hidden
        self.layers = layers
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.time_budget_s = time_budget_s
        self.noise_std = noise_std
        self.patience = patience
        self.schedule = schedule
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.min_lr = min_lr
        self.spectral_bound = spectral_bound
        self.learn_initial_state = learn_initial_state
        self.clip_grad_norm = clip_grad_norm
        self.ema_decay = ema_decay
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def _validate_params(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"unknown model kind {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        for name in ("hidden", "layers", "batch_size", "max_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        for name in ("patience", "lr_patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
        if not (_is_number(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        if not (_is_number(self.min_lr) and 0 <= self.min_lr <= self.lr):
            raise ConfigError(
                f"min_lr must be a number in [0, lr={self.lr!r}], got {self.min_lr!r}"
            )
        if self.schedule not in ("cosine", "plateau"):
            raise ConfigError(
                f"schedule must be 'cosine' or 'plateau', got {self.schedule!r}"
            )
        if not (_is_number(self.lr_factor) and 0 < self.lr_factor <= 1):
            raise ConfigError(f"lr_factor must be in (0, 1], got {self.lr_factor!r}")
        if not (_is_number(self.noise_std) and self.noise_std >= 0):
            raise ConfigError(f"noise_std must be >= 0, got {self.noise_std!r}")
        if self.ema_decay is not None and not (
            _is_number(self.ema_decay) and 0 <= self.ema_decay < 1
        ):
            raise ConfigError(
                f"ema_decay must be in [0, 1) or None, got {self.ema_decay!r}"
            )
        if self.time_budget_s is not None and not (
            _is_number(self.time_budget_s) and self.time_budget_s > 0
        ):
            raise ConfigError(
                f"time_budget_s must be positive or None, got {self.time_budget_s!r}"
            )
        if self.clip_grad_norm is not None and not (
            _is_number(self.clip_grad_norm) and self.clip_grad_norm > 0
        ):
            raise ConfigError(
                "clip_grad_norm must be positive, or None to disable clipping; got "
                f"{self.clip_grad_norm!r}"
            )
        n_threads = self.n_threads
        if n_threads is not None and (
            isinstance(n_threads, bool)
            or not isinstance(n_threads, (int, np.integer))
            or n_threads < 1
        ):
            raise ConfigError(
                f"n_threads must be a positive integer or None, got {n_threads!r}"
            )
        seed = self.random_state
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ConfigError(
                "random_state must be an integer seed (fits are always seeded, so "
                f"that they are reproducible); got {seed!r}"
            )

    # --------------------------------------------------------------------- fit
    def fit(
        self,
        dataset: Any,
        Y: Any = None,
        *,
        feature_names: Any = None,
        output_names: Any = None,
    ) -> SurrogateModel:
        """Train on ``dataset`` (an :class:`iclcontrol.data.SequenceDataset`) or on
        arrays ``fit(X, Y)``.

        Parameters
        ----------
        dataset : SequenceDataset or array-like, shape (n, steps, n_features)
            A dataset: its "train" split for gradient steps, "val" for early
            stopping (the training split's last 10% if "val" is empty, which needs
            at least two training samples) and its scalers. An array: the input
            sequences ``X`` in physical units, with ``Y``.
        Y : array-like, shape (n, output_steps, n_outputs), optional
            Target sequences in physical units when ``dataset`` is an array ``X``
            (:func:`dataset_from_arrays`: every sample trains, the last 10% of them
            validate for early stopping).
        feature_names, output_names : sequence of str, optional
            Names of the columns of ``X`` and ``Y`` with arrays (default
            ``x0, x1, ...`` and ``y0, y1, ...``; a model with these names takes
            DataFrames of other column names in order, with a warning, as
            scikit-learn does). For MPC and do-mpc export name the states alike
            in both: features = states then inputs, outputs = states.

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            Invalid hyperparameter or unknown kind.
        DataError
            NaN or inf in the training or validation split, an empty training
            split, too few training samples to hold out a validation split, or a
            feature (output) name given to two columns.
        DimensionError
            Names that do not match the data's columns, or targets with more
            steps than the inputs.

        Notes
        -----
        Refitting starts from scratch. Invalid settings or data raise before the
        model changes (a fitted model keeps its previous fit); a fit interrupted
        during training (an error, ``KeyboardInterrupt``) leaves the model
        unfitted, so that it cannot predict with parts of two fits.
        """
        self._validate_params()
        if Y is not None:
            dataset = dataset_from_arrays(dataset, Y, feature_names, output_names)
        with _threads(self.n_threads):
            return self._fit(dataset)

    def _fit(self, dataset: Any) -> SurrogateModel:
        _check_dataset(dataset, "fit", "arrays fit(X, Y)")
        check_consistent(dataset)
        check_finite(dataset, ("train", "val"))
        Xtr, _ = dataset.scaled("train")
        Ytr = dataset.noisy_scaled_targets(
            self.noise_std, np.random.default_rng([self.random_state, 0])
        )
        if len(Xtr) == 0:
            raise DataError("the dataset's training split is empty")
        if len(dataset.splits.get("val", [])) > 0:
            Xva, Yva = dataset.scaled("val")
        else:  # hold out the end of the training split
            if len(Xtr) < 2:
                sizes = {k: len(v) for k, v in dataset.splits.items()}
                raise DataError(
                    f"too few samples: split sizes {sizes}; with an empty validation "
                    "split fit holds out the end of the training split, which needs "
                    "at least 2 training samples. Use a smaller stride or window, or "
                    "more data"
                )
            n_val = max(1, len(Xtr) // 10)
            Xtr, Xva, Ytr, Yva = Xtr[:-n_val], Xtr[-n_val:], Ytr[:-n_val], Ytr[-n_val:]
        if self.noise_std > 0:  # validation targets are as noisy as training ones
            rng = np.random.default_rng([self.random_state, 1])
            Yva = Yva + rng.normal(0.0, self.noise_std, size=Yva.shape)
        for name, arr in (("X", Xtr), ("Y", Ytr), ("X(val)", Xva), ("Y(val)", Yva)):
            if not np.all(np.isfinite(arr)):
                raise DataError(f"training data {name} contains NaN or inf")
        if Ytr.shape[1] > Xtr.shape[1]:
            raise DimensionError(
                f"targets have {Ytr.shape[1]} steps but inputs only "
                f"{Xtr.shape[1]}; a causal model needs output steps <= input steps"
            )

        # The data is valid: from here on the model is being refit. Forget the
        # previous fit, and on an interruption the partial new one, so that the
        # model is never new scalers around old or half-trained weights.
        self._clear_fitted()
        try:
            self._fit_valid(dataset, Xtr, Ytr, Xva, Yva)
        except BaseException:
            self._clear_fitted()
            raise
        return self

    def _fit_valid(
        self,
        dataset: Any,
        Xtr: np.ndarray,
        Ytr: np.ndarray,
        Xva: np.ndarray,
        Yva: np.ndarray,
    ) -> None:
        """Fit on checked, scaled splits (the part of fit that sets state)."""
        self.x_scaler_ = dataset.x_scaler
        self.y_scaler_ = dataset.y_scaler
        self.feature_names_ = tuple(dataset.feature_names)
        self.output_names_ = tuple(dataset.output_names)
        self.feature_units_ = tuple(getattr(dataset, "feature_units", ()))
        self.output_units_ = tuple(getattr(dataset, "output_units", ()))
        self.training_data_ = provenance(dataset)
        self.steps_ = int(Xtr.shape[1])
        self.output_steps_ = int(Ytr.shape[1])
        self.config_ = NetworkConfig(
            self.kind,
            n_features=Xtr.shape[2],
            n_outputs=Ytr.shape[2],
            hidden=int(self.hidden),
            layers=int(self.layers),
            spectral_bound=self.spectral_bound,
            learn_initial_state=self.learn_initial_state,
        )
        gen = torch.Generator().manual_seed(int(self.random_state))
        net = network_from_config(self.config_, gen)
        xt = torch.as_tensor(Xtr, dtype=torch.float32)
        yt = torch.as_tensor(Ytr, dtype=torch.float32)
        xv = torch.as_tensor(Xva, dtype=torch.float32)
        yv = torch.as_tensor(Yva, dtype=torch.float32)
        data_init = getattr(net, "data_init_", None)
        if callable(data_init):
            idx = torch.randperm(len(xt), generator=gen)[:1024]
            data_init(xt[idx])
            net.project_()
        self.network_ = net
        pick = torch.randperm(len(xt), generator=gen)[:32].numpy()
        self._certify_sample = Xtr[np.sort(pick)]
        self._train_loop(net, xt, yt, xv, yv, gen)
        self.certificate_ = self.certify()

    def _clear_fitted(self) -> None:
        """Delete what a previous fit learned: the attributes ending in ``_``
        (scikit-learn's convention for fitted state) and the stored certificate
        sample; constructor parameters stay."""
        for name in list(vars(self)):
            if name.endswith("_") or name == "_certify_sample":
                delattr(self, name)

    def _forward(self, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        y = net(x)
        return y[:, -self.output_steps_ :] if y.dim() == 3 else y

    def _train_loop(
        self,
        net: torch.nn.Module,
        xt: torch.Tensor,
        yt: torch.Tensor,
        xv: torch.Tensor,
        yv: torch.Tensor,
        gen: torch.Generator,
    ) -> None:
        from tqdm.auto import tqdm

        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=self.lr)
        lr = float(self.lr)
        n = len(xt)
        bs = min(int(self.batch_size), n)
        best_val = math.inf
        best_state = {k: v.clone() for k, v in net.state_dict().items()}
        averaged = WeightAverage(params, self.ema_decay) if self.ema_decay else None
        best_epoch = 0
        since_best = 0
        since_lr = 0
        history: list[dict[str, Any]] = []
        stop_reason = "max_epochs"
        start = time.perf_counter()
        budget = self.time_budget_s
        seen = 0
        recoveries = 0
        lr_scale = 1.0
        if budget is None:
            bar = tqdm(
                total=self.max_epochs,
                disable=not _progress_enabled(self.verbose),
                desc=f"train {self.kind}",
                unit="epoch",
                leave=False,
            )
        else:  # the budget, not max_epochs, usually ends training: show seconds
            bar = tqdm(
                total=float(budget),
                disable=not _progress_enabled(self.verbose),
                desc=f"train {self.kind}",
                bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}"
                "{postfix}]",
                leave=False,
            )
        try:
            for epoch in range(1, self.max_epochs + 1):
                net.train()
                perm = torch.randperm(n, generator=gen)
                total, count = 0.0, 0
                out_of_time = False
                for i in range(0, n, bs):
                    idx = perm[i : i + bs]
                    if self.schedule == "cosine":
                        progress = (epoch - 1 + i / n) / self.max_epochs
                        if budget is not None:
                            elapsed = time.perf_counter() - start
                            progress = max(progress, elapsed / budget)
                        progress = min(progress, 1.0)
                        lr = self.min_lr + 0.5 * (self.lr * lr_scale - self.min_lr) * (
                            1 + math.cos(math.pi * progress)
                        )
                        for group in opt.param_groups:
                            group["lr"] = lr
                    opt.zero_grad(set_to_none=True)
                    try:
                        pred = self._forward(net, xt[idx])
                        loss = torch.mean((pred - yt[idx]) ** 2)
                        loss.backward()
                        if self.clip_grad_norm:
                            torch.nn.utils.clip_grad_norm_(params, self.clip_grad_norm)
                        opt.step()
                        diverged = not all(
                            bool(torch.isfinite(p).all()) for p in params
                        )
                    except torch.linalg.LinAlgError:  # SVD of non-finite weights
                        diverged = True
                    if diverged:
                        # divergence guard: back to the best weights, fresh Adam
                        # state, half the learning rate
                        recoveries += 1
                        net.load_state_dict(best_state)
                        lr_scale *= 0.5
                        lr *= 0.5
                        opt = torch.optim.Adam(params, lr=lr)
                        continue
                    net.after_step_()  # type: ignore[operator]
                    if averaged is not None:
                        averaged.update()
                    total += loss.item() * len(idx)
                    count += len(idx)
                    if budget is not None and time.perf_counter() - start > budget:
                        out_of_time = True
                        break
                seen += count
                net.eval()
                with torch.no_grad(), averaged_weights(averaged):
                    val = float(torch.mean((self._forward(net, xv) - yv) ** 2))
                    improved = val < best_val
                    if improved:  # the weights validated: averaged ones if any
                        best_state = {k: v.clone() for k, v in net.state_dict().items()}
                history.append(
                    {
                        "epoch": epoch,
                        "train_loss": total / max(count, 1),
                        "val_loss": val,
                        "lr": lr,
                        "seconds": time.perf_counter() - start,
                    }
                )
                if budget is None:
                    bar.update(1)
                    bar.set_postfix(val=f"{val:.2e}", lr=f"{lr:.0e}")
                else:
                    bar.update(min(time.perf_counter() - start, budget) - bar.n)
                    bar.set_postfix(epoch=epoch, val=f"{val:.2e}", lr=f"{lr:.0e}")
                if improved:
                    best_val, best_epoch = val, epoch
                    since_best = since_lr = 0
                else:
                    since_best += 1
                    since_lr += 1
                if out_of_time:
                    stop_reason = "time_budget"
                    break
                if since_best > self.patience:
                    stop_reason = "early_stopping"
                    break
                if (
                    self.schedule == "plateau"
                    and since_lr > self.lr_patience
                    and lr > self.min_lr
                ):
                    lr = max(lr * self.lr_factor, self.min_lr)
                    for group in opt.param_groups:
                        group["lr"] = lr
                    since_lr = 0
                if budget is not None and time.perf_counter() - start > budget:
                    stop_reason = "time_budget"
                    break
        finally:
            bar.close()
        net.load_state_dict(best_state)
        net.project_()  # type: ignore[operator]
        net.eval()
        elapsed = time.perf_counter() - start
        self.history_ = history
        self.fit_info_: dict[str, Any] = {
            "train_seconds": elapsed,
            "epochs": len(history),
            "samples_per_second": seen / elapsed if elapsed > 0 else None,
            "stop_reason": stop_reason,
            "best_epoch": best_epoch,
            "best_val_loss": best_val,
            "divergence_recoveries": recoveries,
            "n_train": len(xt),
            "n_val": len(xv),
        }

    # ----------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError(
                "this SurrogateModel is not fitted yet; call fit(dataset) or "
                "iclcontrol.load(path) first"
            )

    def _check_X(self, X: Any) -> np.ndarray:
        if isinstance(X, torch.Tensor):  # also a tensor that requires grad
            X = X.detach().cpu().numpy()
        X = _by_name(X, self.feature_names_, "X", "feature")
        if hasattr(X, "to_numpy"):
            X = X.to_numpy()
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"X must be numeric: {exc}") from None
        n_f = len(self.feature_names_)
        if arr.ndim == 2 and arr.shape[-1] == n_f:
            arr = arr[None]
        if arr.ndim != 3:
            raise DimensionError(
                f"X must have shape (n_samples, steps, {n_f}) or (steps, {n_f}); "
                f"got shape {arr.shape}"
            )
        if arr.shape[-1] != n_f:
            raise DimensionError(
                f"X has {arr.shape[-1]} features, but SurrogateModel is expecting "
                f"{n_f} features as input ({', '.join(self.feature_names_)})"
            )
        if arr.shape[1] == 0:
            raise DimensionError(
                f"X has 0 steps (shape {arr.shape}); give at least one step per "
                "sequence"
            )
        if not np.all(np.isfinite(arr)):
            raise DataError(
                f"X contains {int(np.sum(~np.isfinite(arr)))} NaN or inf values; "
                "remove or impute them before predict"
            )
        return arr

    def predict_scaled(self, X_scaled: Any) -> np.ndarray:
        """Network output for scaled input sequences (no checks besides fitted).

        Sequences go through the network in blocks of :data:`PREDICT_BATCH`; the
        output does not depend on the blocks (each sequence is computed alone).
        """
        self._check_fitted()
        x = torch.as_tensor(np.asarray(X_scaled), dtype=torch.float32)
        # a 2-D input is one unbatched sequence: its first axis is time
        size = PREDICT_BATCH if x.dim() == 3 else max(len(x), 1)
        with torch.no_grad(), _threads(getattr(self, "n_threads", None)):
            parts = [
                self._forward(self.network_, x[s : s + size])
                for s in range(0, max(len(x), 1), size)
            ]
        y = parts[0] if len(parts) == 1 else torch.cat(parts)
        return y.numpy().astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Predict output sequences in physical units.

        Parameters
        ----------
        X : array-like, shape (n, steps, n_features) or (steps, n_features)
            Input sequences in physical units, in the feature order
            ``feature_names_``. A DataFrame with string column names is matched by
            name (reordered), and so is each DataFrame of a list of them (one
            sequence each, all of the same length); missing or unexpected columns
            are an error, except for a model fit on arrays without names (``x0,
            x1, ...``), which takes the columns in order with a warning (as
            scikit-learn does). Any number of steps is accepted.

        Returns
        -------
        numpy.ndarray, shape (n, min(steps, output_steps_), n_outputs)
            Physical units (``output_names_``); a 2-D input gives ``n = 1``.
            The last ``output_steps_`` steps of the network's output, the steps
            that had targets in training, whatever the input length: a model
            trained on 10-step targets returns the last 10 steps of a 20-step
            input (the MPC export relies on this shape); an input shorter than
            ``output_steps_`` gives one output per input step. For the outputs of
            every step, fit on targets as long as the inputs you will give.

        Raises
        ------
        NotFittedError, DimensionError, DataError
        """
        self._check_fitted()
        arr = self._check_X(X)
        Ys = self.predict_scaled(self.x_scaler_.transform(arr))
        return self.y_scaler_.inverse_transform(Ys)

    def score(self, X: Any, Y: Any) -> float:
        """Coefficient of determination R^2 of ``predict(X)`` against ``Y``.

        scikit-learn's regressor convention: 1 is a perfect fit, 0 the fit of the
        constant mean, negative worse. R^2 is computed per output over all samples
        and scored steps, then averaged uniformly over the outputs
        (``sklearn.metrics.r2_score``'s default).

        Parameters
        ----------
        X : array-like, shape (n, steps, n_features) or (steps, n_features)
            Input sequences in physical units (as for :meth:`predict`).
        Y : array-like, shape (n, steps_y, n_outputs) or (steps_y, n_outputs)
            True output sequences in physical units; their last steps, as many as
            :meth:`predict` returns for ``X``, are scored. A DataFrame with string
            column names is matched by name to ``output_names_``, as ``X`` is.

        Returns
        -------
        float
            R^2. [-]

        Raises
        ------
        NotFittedError, DimensionError, DataError
        """
        from sklearn.metrics import r2_score

        pred = self.predict(X)
        Y = _by_name(Y, self.output_names_, "Y", "output")
        if hasattr(Y, "to_numpy"):
            Y = Y.to_numpy()
        true = np.asarray(Y, dtype=np.float64)
        if true.ndim == 2:
            true = true[None]
        n_out = len(self.output_names_)
        n, steps = pred.shape[0], pred.shape[1]
        if (
            true.ndim != 3
            or true.shape[0] != n
            or true.shape[1] < steps
            or true.shape[2] != n_out
        ):
            raise DimensionError(
                f"Y must have shape ({n}, >= {steps}, {n_out}) for these X "
                f"(samples, steps, outputs {', '.join(self.output_names_)}); got "
                f"{np.shape(Y)}"
            )
        if not np.all(np.isfinite(true)):
            raise DataError("Y contains NaN or inf values")
        true = true[:, -steps:]
        return float(r2_score(true.reshape(-1, n_out), pred.reshape(-1, n_out)))

    def evaluate(self, dataset: Any, split: str = "test") -> dict[str, Any]:
        """Test MSE on clean targets: scaled (all outputs) and physical per output.

        Parameters
        ----------
        dataset : SequenceDataset
            Data with the model's features and outputs, matched by name (a
            dataset built with its columns in another order is reordered); scaled
            with the model's scalers.
        split : {"train", "val", "test"}

        Returns
        -------
        dict
            ``{"scaled": float, "physical": {output_name: float}, "n": int}``.

        Raises
        ------
        NotFittedError, DimensionError
            Another number of features or outputs than the model's.
        DataError
            NaN or inf in the split (the message names the samples), or feature
            or output names other than the model's.
        """
        self._check_fitted()
        _check_dataset(dataset, "evaluate", "arrays score(X, Y)")
        X, Y = dataset.subset(split)
        n_out = len(self.output_names_)
        if np.shape(Y)[-1] != n_out:
            raise DimensionError(
                f"the dataset has {np.shape(Y)[-1]} outputs, but SurrogateModel "
                f"predicts {n_out} ({', '.join(self.output_names_)})"
            )
        check_finite(dataset, [split])
        X = self._check_X(X)  # the feature count first
        # a dataset built with the columns in another order is matched by name
        label = "the dataset"
        fi = _column_order(dataset.feature_names, self.feature_names_, label, "feature")
        oi = _column_order(dataset.output_names, self.output_names_, label, "output")
        Xs = self.x_scaler_.transform(X[..., fi])
        Ys = self.y_scaler_.transform(np.asarray(Y)[..., oi])
        pred = self.predict_scaled(Xs)
        Ys = Ys[:, -self.output_steps_ :]
        scaled = float(np.mean((pred - Ys) ** 2))
        phys_pred = self.y_scaler_.inverse_transform(pred)
        phys_true = self.y_scaler_.inverse_transform(Ys)
        per = np.mean((phys_pred - phys_true) ** 2, axis=(0, 1))
        return {
            "scaled": scaled,
            "physical": {
                name: float(v) for name, v in zip(self.output_names_, per, strict=True)
            },
            "n": len(Xs),
        }

    # ------------------------------------------------------------- certificate
    def certify(
        self, X: Any = None, max_samples: int = 32, empirical: bool = True
    ) -> Certificate:
        """Certificate of the fitted network (:mod:`iclcontrol.models.certificate`).

        Parameters
        ----------
        X : array-like, optional, shape (n, steps_, n_features), physical units
            Data for the empirical lower bound; default: the model's stored sample.
            The sequences must have the ``steps_`` steps the bound is stated for.
        max_samples : int
            Samples of ``X`` used for the empirical bound (>= 1).
        empirical : bool
            Compute the empirical lower bound (False: only what follows from the
            weights and scalers, a few SVDs).

        Raises
        ------
        NotFittedError, DataError
        DimensionError
            ``X`` with another number of steps or features.
        ConfigError
            ``max_samples`` not a positive integer.
        """
        self._check_fitted()
        if (
            isinstance(max_samples, bool)
            or not isinstance(max_samples, (int, np.integer))
            or max_samples < 1
        ):
            raise ConfigError(
                f"max_samples must be a positive integer, got {max_samples!r}"
            )
        if X is not None:
            X = self._check_X(X)
            if X.shape[1] != self.steps_:
                raise DimensionError(
                    f"X has {X.shape[1]} steps, but the certificate is stated for "
                    f"the {self.steps_}-step sequences the model was fit on (the "
                    "empirical Jacobian norm of longer sequences can exceed that "
                    f"bound); give sequences of {self.steps_} steps"
                )
            Xs = self.x_scaler_.transform(X)
        else:
            Xs = getattr(self, "_certify_sample", None)
        if not empirical:
            Xs = None
        with _threads(getattr(self, "n_threads", None)):
            return certify(
                self.network_,
                steps=self.steps_,
                X_scaled=Xs,
                x_scale=np.asarray(self.x_scaler_.scale_),
                y_scale=np.asarray(self.y_scaler_.scale_),
                output_steps=self.output_steps_,
                max_samples=max_samples,
                feature_names=self.feature_names_,
                output_names=self.output_names_,
                feature_units=getattr(self, "feature_units_", ()),
                output_units=getattr(self, "output_units_", ()),
            )

    def export_spec(self) -> dict[str, Any]:
        """Network spec plus scalers, names, sequence lengths and the training
        data's ``moves``, ``steps_per_move`` and ``sample_interval_s`` [s] (None
        if not recorded)
        (docs/INTERFACES.md)."""
        self._check_fitted()
        spec = self.network_.export_spec()
        data = getattr(self, "training_data_", None) or {}
        spec["moves"] = data.get("moves")
        spec["steps_per_move"] = data.get("steps_per_move")
        spec["sample_interval_s"] = data.get("sample_interval_s")
        spec["x_scaler"] = self.x_scaler_.to_dict()
        spec["y_scaler"] = self.y_scaler_.to_dict()
        spec["feature_names"] = list(self.feature_names_)
        spec["output_names"] = list(self.output_names_)
        spec["steps"] = self.steps_
        spec["output_steps"] = self.output_steps_
        return spec

    # ---------------------------------------------------------------- save/load
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the fitted model to a folder (safetensors + JSON, no pickle).

        Parameters
        ----------
        directory : str or os.PathLike
            The model folder, created with its missing parents; a relative path
            is relative to the current working directory, ``~`` is the user's
        home. In an existing folder
            ``model.safetensors`` and ``model.json`` are replaced (a model saved
            there before is overwritten) and other files are left alone.

        Returns
        -------
        pathlib.Path
            The folder, as given (``~`` expanded).

        Raises
        ------
        TypeError
            ``directory`` is not a str or os.PathLike.
        NotFittedError
            The model is not fitted.
        ModelFileError
            ``directory`` is an existing file (give its folder).
        OSError
            The folder cannot be created or written (permissions, disk full).
        """
        path = model_path(directory, "save")
        self._check_fitted()
        make_folder(path)
        tensors = self.network_.state_dict()
        digest = write_weights(path, tensors)
        params = self.get_params()
        meta = {
            "format": "iclcontrol.SurrogateModel",
            "format_version": FORMAT_VERSION,
            "params": params,
            "network": self.config_.to_dict(),
            "x_scaler": self.x_scaler_.to_dict(),
            "y_scaler": self.y_scaler_.to_dict(),
            "feature_names": list(self.feature_names_),
            "feature_units": list(self.feature_units_),
            "output_names": list(self.output_names_),
            "output_units": list(self.output_units_),
            "steps": self.steps_,
            "output_steps": self.output_steps_,
            "training_data": getattr(self, "training_data_", {}),
            "certificate": self.certificate_.to_dict()
            if hasattr(self, "certificate_")
            else None,
            "fit_info": getattr(self, "fit_info_", None),
            "history": getattr(self, "history_", []),
            "certify_sample_scaled": np.asarray(
                getattr(self, "_certify_sample", np.zeros((0,)))
            ).tolist(),
            "weights_sha256": digest,
            "tensors": {k: list(v.shape) for k, v in tensors.items()},
        }
        write_meta(path, meta)
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> SurrogateModel:
        """Read a folder written by :meth:`save`.

        Raises
        ------
        TypeError
            ``directory`` is not a str or os.PathLike.
        ModelFileError
            Missing, truncated, corrupted or inconsistent folder.
        """
        return load(directory)


def dataset_from_arrays(
    X: Any, Y: Any, feature_names: Any = None, output_names: Any = None
) -> Any:
    """A :class:`~iclcontrol.data.SequenceDataset` of plain arrays, for ``fit(X, Y)``.

    Every sample is in the "train" split (the scalers are fit on all of them);
    "val" and "test" are empty, so :meth:`SurrogateModel.fit` validates on the
    last 10% of the samples. Units are empty.

    Parameters
    ----------
    X : array-like, shape (n, steps, n_features)
        Input sequences. [physical units]
    Y : array-like, shape (n, output_steps, n_outputs)
        Target sequences, ``output_steps <= steps``. [physical units]
    feature_names, output_names : sequence of str, optional
        Column names (default ``x0, x1, ...`` and ``y0, y1, ...``).

    Raises
    ------
    DimensionError
        Arrays that are not 3-D or have different numbers of samples.
    DataError
        Non-numeric values.
    """
    arrays: list[np.ndarray] = []
    for name, values in (("X", X), ("Y", Y)):
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name} must be numeric: {exc}") from None
        if array.ndim != 3:
            if name == "Y" and array.ndim == 2 and len(array) == len(arrays[0]):
                # one target row per sample, as scikit-learn's y: the last step
                hint = (
                    "one target per sample, for the last step of its sequence: "
                    "add a step axis, Y[:, None, :]"
                )
            else:
                hint = f"one sequence: add a leading axis, {name}[None]"
            raise DimensionError(
                f"fit(X, Y) needs 3-D arrays (n_samples, steps, columns); {name} has "
                f"shape {array.shape} ({hint})"
            )
        arrays.append(array)
    Xa, Ya = arrays
    if len(Xa) != len(Ya):
        raise DimensionError(
            f"X has {len(Xa)} samples but Y has {len(Ya)}; they must match"
        )
    n = len(Xa)
    n_f, n_out = Xa.shape[2], Ya.shape[2]
    if feature_names is None:
        feature_names = default_names("feature", n_f)
    if output_names is None:
        output_names = default_names("output", n_out)
    return make_dataset(
        Xa,
        Ya,
        feature_names=[str(name) for name in feature_names],
        feature_units=[""] * n_f,
        output_names=[str(name) for name in output_names],
        output_units=[""] * n_out,
        card={"source": "arrays given to SurrogateModel.fit(X, Y)"},
        splits={
            "train": np.arange(n),
            "val": np.zeros(0, dtype=int),
            "test": np.zeros(0, dtype=int),
        },
    )


def load(path: str | os.PathLike[str]) -> SurrogateModel:
    """Load a fitted :class:`SurrogateModel` from a model folder.

    Parameters
    ----------
    path : str or os.PathLike (pathlib.Path)
        Folder written by :meth:`SurrogateModel.save` (or a file inside it);
        a relative path is relative to the current working directory, ``~`` is
        the user's home.

    Returns
    -------
    SurrogateModel
        Its ``certificate_`` is recomputed from the weights and scalers (the
        empirical lower bound is the stored one).

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike (a wrong argument, not a bad file).
    ModelFileError
        The folder or a file is missing, truncated, corrupted (checksum), the
        weights do not match the stored configuration (tensor shapes, or the
        constraints of the network config), or the stored certificate claims
        what the weights do not give (the message names each difference). A
        saved solar forecaster's folder is refused too, naming its loader
        (:func:`iclcontrol.solar.load_forecaster`): the two return different
        estimators, and ``load`` keeps returning a SurrogateModel.
    """
    folder = model_folder(path, "load")
    meta_path, weights_path = folder / META_FILE, folder / WEIGHTS_FILE
    meta = read_meta(
        folder, ("iclcontrol.SurrogateModel",), FORMAT_VERSION, "SurrogateModel.save"
    )
    tensors = read_weights(folder, meta, "SurrogateModel.save")
    with reading(meta_path):
        params = dict(meta["params"])
        model = SurrogateModel(**params)
        model.config_ = NetworkConfig.from_dict(meta["network"])
        net = network_from_config(model.config_, 0)
        expected = {k: list(v.shape) for k, v in net.state_dict().items()}
        found = {k: list(v.shape) for k, v in tensors.items()}
        if expected != found:
            raise ModelFileError(
                f"weights in {weights_path} do not match the network config "
                f"{meta['network']}: expected tensors {expected}, found {found}"
            )
        net.load_state_dict(tensors)
        net.eval()
        model.network_ = net
        model.x_scaler_ = _scaler_from_dict(meta["x_scaler"])
        model.y_scaler_ = _scaler_from_dict(meta["y_scaler"])
        model.feature_names_ = tuple(meta["feature_names"])
        model.output_names_ = tuple(meta["output_names"])
        model.feature_units_ = tuple(meta.get("feature_units", ()))
        model.output_units_ = tuple(meta.get("output_units", ()))
        model.steps_ = int(meta["steps"])
        model.output_steps_ = int(meta["output_steps"])
        model.history_ = list(meta.get("history", []))
        model.training_data_ = dict(meta.get("training_data") or {})
        if model.training_data_:  # saved before these were recorded: unknown
            model.training_data_.setdefault("moves", None)
            model.training_data_.setdefault("steps_per_move", None)
        model.fit_info_ = dict(meta.get("fit_info") or {})
        sample = np.asarray(meta.get("certify_sample_scaled", []), dtype=float)
        if sample.ndim == 3 and sample.shape[-1] == model.config_.n_features:
            model._certify_sample = sample
        stored = meta.get("certificate")
        if stored is not None:
            stored = Certificate.from_dict(stored)
    _check_model_parts(model, meta_path)
    check_constraints(model.network_, meta_path)
    model.certificate_ = _checked_certificate(model, stored, meta_path)
    return model


def _checked_certificate(
    model: SurrogateModel, stored: Certificate | None, meta_path: Path
) -> Certificate:
    """The certificate recomputed from the loaded weights and scalers; raise
    :class:`ModelFileError` if the stored one claims anything else.

    The empirical lower bound is kept from the file (recomputing it takes a
    backward pass per output value); without a stored certificate it is
    recomputed from the stored sample.
    """
    if stored is None:
        return model.certify()
    fresh = model.certify(empirical=False)
    differences = certificate_differences(stored, fresh)
    if differences:
        raise ModelFileError(
            f"{meta_path}: the certificate does not match the weights and the "
            f"network config ({'; '.join(differences)}); the file was edited or "
            "mixed with another model's. Restore the model folder as saved (or "
            'train again); to keep other edits, delete the "certificate" entry '
            "of model.json and load recomputes it from the weights"
        )
    fresh.lipschitz_lower_empirical = stored.lipschitz_lower_empirical
    fresh.n_samples_empirical = stored.n_samples_empirical
    return fresh


def _check_model_parts(model: SurrogateModel, meta_path: Path) -> None:
    """Raise :class:`ModelFileError` if the parts of a loaded model disagree."""
    config = model.config_
    for name in ("kind", "hidden", "layers"):
        if getattr(model, name) != getattr(config, name):
            raise ModelFileError(
                f"{meta_path}: params.{name} is {getattr(model, name)!r} but the "
                f"network has {name} {getattr(config, name)!r}"
            )
    for role, width, scaler in (
        ("feature", config.n_features, model.x_scaler_),
        ("output", config.n_outputs, model.y_scaler_),
    ):
        names = getattr(model, f"{role}_names_")
        units = getattr(model, f"{role}_units_")
        if len(names) != width or (units and len(units) != width):
            raise ModelFileError(
                f"{meta_path}: {len(names)} {role} names and {len(units)} units for "
                f"a network with {width} {role}s"
            )
        for part in ("data_min_", "data_max_", "scale_", "offset_"):
            if np.shape(getattr(scaler, part)) != (width,):
                raise ModelFileError(
                    f"{meta_path}: the {role} scaler's {part.rstrip('_')} has shape "
                    f"{np.shape(getattr(scaler, part))} for a network with {width} "
                    f"{role}s"
                )
    if not 1 <= model.output_steps_ <= model.steps_:
        raise ModelFileError(
            f"{meta_path}: output_steps {model.output_steps_} is not in "
            f"1..steps ({model.steps_})"
        )
