"""MPC benchmark: ICLRNN / RNN / LSTM surrogate LMPC vs do-mpc first-principles NMPC.

Run: python benchmarks/bench_mpc.py [--budget 60] [--steps 30] [--out DIR]
Same as ``iclcontrol bench mpc --json``: trains (or reuses cached) small surrogates,
runs every controller from both reference initial states in one process, and prints
one JSON object with the medians and the ratios (``ratio_iclrnn_to_dompc``, ...).
"""

import sys

from iclcontrol.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "mpc", "--json", *sys.argv[1:]]))
