"""Subcommands of the ``iclcontrol`` CLI, one module per area."""
