"""When to show progress bars (tqdm on stderr), shared by training, studies and
solar quality control; free of heavy imports so that light commands can use it."""

from __future__ import annotations

import os
import sys


def progress_enabled(verbose: bool | None) -> bool:
    """Whether to show a progress bar.

    Parameters
    ----------
    verbose : bool or None
        True or False decide; None shows progress only when stderr is a terminal
        and the ``CI`` environment variable is not set.
    """
    if verbose is not None:
        return bool(verbose)
    if os.environ.get("CI"):
        return False
    return sys.stderr.isatty()
