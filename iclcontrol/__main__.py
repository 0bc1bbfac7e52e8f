"""``python -m iclcontrol ...``: the console script, for environments without it
on PATH (a virtualenv not activated, ``PYTHONPATH`` on a source checkout)."""

import sys

from iclcontrol.cli import main

sys.exit(main())
