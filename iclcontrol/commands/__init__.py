"""Subcommands of the ``iclcontrol`` CLI, one module per area, each with ``register``."""
