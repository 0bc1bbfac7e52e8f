"""``python -m iclcontrol ...``: the console script, for environments without it
on PATH (a virtualenv not activated, ``PYTHONPATH`` on a source checkout)."""

import sys

from iclcontrol.cli import main

if __name__ == "__main__":  # importing it (tools that walk the package) runs nothing
    sys.exit(main())
