"""Weight constraints of the convex / Lipschitz networks and their exact norms.

One implementation of each constraint, used by training (projection after every
optimizer step) and by the certificate (checking the weights afterwards):

* non-negativity: ``W <- max(W, 0)``;
* spectral norm: ``W <- W * bound / sigma`` when ``sigma = ||W||_2 > bound``.

The order is fixed: clamp first, then rescale. Rescaling by a positive factor keeps
the signs, so both constraints hold at the end. The reverse order would not work:
clamping can increase the spectral norm (``[[1, -1], [1, 1]]`` has norm 1.414, its
clamped version ``[[1, 0], [1, 1]]`` has norm 1.618).

The spectral norm is always the exact largest singular value computed by an SVD in
float64 (LAPACK, relative error about 1e-15), never a power-iteration estimate. The
projection aims at ``bound * (1 - SAFETY)`` so that rounding the rescaled matrix back
to float32 (relative error at most 6e-8 per entry, hence at most 6e-8 * ||W||_F <=
6e-8 * sqrt(rank) * ||W||_2 in norm) still leaves the stored matrix below ``bound``.
"""

from __future__ import annotations

import numpy as np
import torch

#: Relative margin kept below the spectral bound by :func:`project_spectral_`.
#: float32 rounding moves the norm by at most 6e-8 * sqrt(min(m, n)) relative,
#: i.e. < 1e-6 for matrices up to 256 wide; 1e-5 covers that with room.
SAFETY = 1e-5


def spectral_norm(weight: torch.Tensor | np.ndarray) -> float:
    """Exact spectral norm (largest singular value) of a matrix, in float64.

    Parameters
    ----------
    weight : torch.Tensor or numpy.ndarray, shape (m, n)

    Returns
    -------
    float
        ``||weight||_2``; 0.0 for an empty matrix.
    """
    if isinstance(weight, torch.Tensor):
        w = weight.detach().to(dtype=torch.float64, device="cpu")
    else:
        w = torch.as_tensor(np.asarray(weight, dtype=np.float64))
    if w.numel() == 0:
        return 0.0
    return float(torch.linalg.matrix_norm(w, ord=2))


@torch.no_grad()
def clamp_nonnegative_(weight: torch.Tensor) -> torch.Tensor:
    """Set negative entries of ``weight`` to zero, in place."""
    return weight.clamp_(min=0.0)


@torch.no_grad()
def project_spectral_(weight: torch.Tensor, bound: float) -> float:
    """Rescale ``weight`` in place so that ``||weight||_2 <= bound`` holds exactly.

    Parameters
    ----------
    weight : torch.Tensor, shape (m, n)
    bound : float
        Upper bound on the spectral norm. [-]

    Returns
    -------
    float
        The spectral norm before the projection.
    """
    sigma = spectral_norm(weight)
    if sigma > bound * (1.0 - SAFETY):
        weight.mul_(bound * (1.0 - SAFETY) / sigma)
    return sigma


@torch.no_grad()
def project_(weight: torch.Tensor, nonnegative: bool, bound: float | None) -> None:
    """Apply the constraints of one matrix: clamp (if asked), then rescale."""
    if nonnegative:
        clamp_nonnegative_(weight)
    if bound is not None:
        project_spectral_(weight, bound)
