"""Registers every command module on the ``cli`` group (one module per area)."""

from cli import ledger_commands, report_commands  # noqa: F401

for optional in ("import_commands", "export_commands", "demo_commands"):
    try:
        __import__(f"cli.{optional}")
    except ModuleNotFoundError as exc:  # an area not built yet
        if exc.name != f"cli.{optional}":
            raise
