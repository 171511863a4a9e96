"""The ``donor-ledger`` command group (README.md, "Use"; exit codes in docs/rules.md#the-command-line):
its options, the settings every command receives, refusals turned into exit status 1, and its
own commands ``tui`` and ``init``. The command modules (cli/*_commands.py) add theirs to it.

Exit status: 0 done; 1 refused (one message per problem on stderr, nothing written);
2 usage error. Never a traceback: unexpected errors are one line too.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from dataclasses import dataclass

import click

from ledger.errors import LedgerError, problems_of


@dataclass
class Settings:
    db: str | None
    user: str | None
    _ledger: object = None

    def ledger(self):
        if self._ledger is None:
            from ledger.services import open_ledger

            self._ledger = open_ledger(self.db, self.user)
        return self._ledger


def fail(*messages: str) -> None:
    for message in messages:
        click.echo(f"error: {message}", err=True)
    sys.exit(1)


def handles_refusals(fn):
    """Turn refusals and bad input into one line per problem and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LedgerError as exc:
            fail(*(str(p) for p in exc.problems))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted; nothing was written by the unfinished step")
        except OSError as exc:
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
            from pydantic import ValidationError  # (not loaded before the TUI's first paint)
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, ValidationError):
                fail(*(str(p) for p in problems_of(exc)))

            if isinstance(exc, SQLAlchemyError):
                from ledger.database import describe_db_error

                fail(describe_db_error(exc, str(click.get_current_context().find_object(Settings).db or "")))
            fail(f"unexpected error ({type(exc).__name__}): {exc}")

    return wrapper


pass_settings = click.make_pass_decorator(Settings)


class IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date as YYYY-MM-DD", param, ctx)


ISO_DATE = IsoDate()


class Moment(click.ParamType):
    name = "YYYY-MM-DDTHH:MM:SSZ"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.datetime):
            return value
        from ledger.clock import parse_moment

        try:
            return parse_moment(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


MOMENT = Moment()
AS_RECORDED_AT = click.option(
    "--as-recorded-at", "recorded_at", type=MOMENT,
    help="Only what was recorded at or before this UTC moment (a date: the end of that day); the report prints "
         "the moment it used. Without --as-of, the as-of date is this moment's date.")


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="DONOR_LEDGER_DB", help="SQLAlchemy URL or SQLite file path (default: your data folder).")
@click.option("--user", envvar="DONOR_LEDGER_USER", help="Acting user (default: your OS login; PostgreSQL: the login).")
@click.version_option(package_name="donor-ledger")
@click.pass_context
def cli(ctx: click.Context, db: str | None, user: str | None) -> None:
    """donor-ledger: the extrabudgetary funding ledger of resolution 20/7 on combating cybercrime."""
    ctx.obj = Settings(db, user)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


@cli.command()
@pass_settings
@handles_refusals
def tui(settings: Settings) -> None:
    """Open the terminal UI."""
    from tui.app import run

    run(settings.ledger)  # opened by the app once its first screen is on the terminal


@cli.command()
@pass_settings
@handles_refusals
def init(settings: Settings) -> None:
    """Create or upgrade the database and seed resolution 20/7 (idempotent)."""
    ledger = settings.ledger()
    from ledger.migrate import head_revision

    click.echo(f"ledger ready at {ledger.url.split('@')[-1]} (schema {head_revision()}), acting user {ledger.actor.name}")
