"""The command line as shell scripts and CI pipelines drive it.

Pipes that close early, signals, ``--help`` texts, output paths in ``--json``.
"""

import os
import subprocess
import sys


def test_closed_stdout_pipe_ends_quietly_with_status_141():
    # `iclcontrol solar datasets | head -0`: the reader is gone before the first
    # write; like other command-line tools the command stops without a traceback
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "iclcontrol.cli", "solar", "datasets"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141  # 128 + SIGPIPE, the shell's convention
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
