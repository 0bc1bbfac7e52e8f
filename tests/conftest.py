"""Shared pytest setup: headless plotting and quiet progress bars."""

import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("ICLCONTROL_QUIET", "1")
