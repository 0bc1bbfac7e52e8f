"""The ``iclcontrol`` command: a thin layer over the Python API.

Each area registers its subcommands from ``iclcontrol.commands.<area>``. User errors
(:class:`iclcontrol.exceptions.IclControlError`) print one line on stderr and exit
with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from iclcontrol import __version__
from iclcontrol.exceptions import IclControlError

#: Modules under ``iclcontrol.commands`` that register subcommands, in help order.
COMMAND_MODULES = ("data", "models", "mpc", "solar")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: ...)`` to options that have a meaningful default.

    No default is shown for required options, flags (``False``), and unset (None)
    or empty values; a default of ``0`` or ``0.0`` is shown.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        # identity checks: `0 in (None, False)` is True, but 0 is a real default
        if action.required or default is None or default is False or default == "":
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Shows defaults in ``--help``; subcommand parsers inherit the class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """A usage error: one line on stderr (no usage block), exit status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="iclcontrol",
        description=(
            "Input Convex Lipschitz RNN surrogates: datasets, training, certificates, "
            "CasADi MPC against plant simulators, solar forecasting and PV planning."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"iclcontrol {__version__}"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks on errors"
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"iclcontrol.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"iclcontrol.commands.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


#: Exit statuses of the shell's convention (128 + signal number).
EXIT_INTERRUPTED = 130  # SIGINT, Ctrl-C
EXIT_TERMINATED = 143  # SIGTERM (kill, timeout, a cancelled CI job)


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that a command stops like on Ctrl-C.

    A ``BaseException`` (like ``KeyboardInterrupt``): ``except Exception`` blocks
    do not swallow it, ``finally`` blocks and context managers run.
    """


def _raise_terminated(signum: int, frame: Any) -> NoReturn:
    """SIGTERM handler: raise :class:`Terminated` where the main thread is."""
    raise Terminated(signum)


#: Exit status after the reader of stdout went away (``| head``): 128 + SIGPIPE, what
#: a tool killed by SIGPIPE reports.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status.

    A closed stdout (``iclcontrol ... | head -1``) ends the command quietly with
    status 141 instead of a ``BrokenPipeError`` traceback.
    """
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
    except BrokenPipeError:
        # stop writing to the closed pipe, also when Python flushes at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, not only first
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    # SIGTERM stops a command like Ctrl-C (instead of killing it mid-write);
    # signal handlers can only be set from the main thread
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = (
        signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    )
    try:
        return int(args.func(args) or 0)
    except (
        IclControlError,
        FileNotFoundError,
        FileExistsError,
        NotADirectoryError,
        PermissionError,
    ) as err:
        if args.debug:
            raise
        print(f"iclcontrol: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("iclcontrol: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("iclcontrol: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        if in_main_thread:  # previous None: a handler not set from Python
            signal.signal(signal.SIGTERM, previous or signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
