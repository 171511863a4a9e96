"""Registers every command module on the ``cli`` group of cli/group.py (one module per area)."""

from cli import (  # noqa: F401
    acts_commands,
    demo_commands,
    export_commands,
    import_commands,
    ledger_commands,
    report_commands,
    time_commands,
)
