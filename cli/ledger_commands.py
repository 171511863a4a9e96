"""Commands that change or check the ledger: cancel, reverse, correct, activity, users, verify, backup."""

from __future__ import annotations

import click

from cli.group import ISO_DATE, Settings, cli, fail, handles_refusals, pass_settings
from ledger import services
from ledger.inputs import (
    ActivityUpdate,
    CancellationIn,
    ReversalIn,
    ScheduleIn,
    SigningIn,
    UserIn,
    WithdrawalIn,
)
from ledger.money import format_amount
from ledger.roles import Role


@cli.group()
def pledge() -> None:
    """Pledges."""


@pledge.command("cancel")
@click.argument("reference")
@click.option("--amount", required=True, help="In the pledge's currency.")
@click.option("--on", "on", type=ISO_DATE, help="Date of the cancellation (default today).")
@click.option("--reason", required=True)
@click.option("--paragraph", type=int, help="Cancel from this paragraph's allocation only.")
@click.option("--unearmarked", is_flag=True, help="Cancel from the unearmarked allocation only.")
@pass_settings
@handles_refusals
def pledge_cancel(settings: Settings, reference, amount, on, reason, paragraph, unearmarked) -> None:
    """Cancel (write off) part or all of what is outstanding on a pledge."""
    import datetime as dt

    if paragraph is not None and unearmarked:
        raise click.UsageError("give --paragraph N or --unearmarked, not both")
    data = CancellationIn(pledge=reference, amount=amount, cancelled_on=on or dt.date.today(), reason=reason,
                          paragraph=paragraph, unearmarked=unearmarked)
    posted = services.cancel_pledge(settings.ledger(), data)
    click.echo(f"cancelled on {reference}: entry {posted.entry_id}, USD {format_amount(posted.usd_cents, 'USD')}")


@pledge.command("schedule")
@click.argument("reference")
@click.option("--instalment", "instalments", multiple=True, required=True, metavar="DATE=AMOUNT",
              help="One instalment: its due date and amount in the pledge's currency (repeat for each).")
@click.option("--reason", required=True, help="Why the schedule is re-planned (the donor's request, the agreement).")
@pass_settings
@handles_refusals
def pledge_schedule(settings: Settings, reference, instalments, reason) -> None:
    """Re-plan a pledge's instalments with the donor: the whole schedule, adding up to the pledge's amount."""
    items = []
    for given in instalments:
        due_on, sign, amount = given.partition("=")
        if not sign or not due_on.strip() or not amount.strip():
            raise click.UsageError(f"--instalment takes DATE=AMOUNT, got {given!r}")
        items.append({"due_on": due_on.strip(), "amount": amount.strip()})
    posted = services.schedule_pledge(settings.ledger(), ScheduleIn(pledge=reference, instalments=items, reason=reason))
    if posted is None:
        click.echo(f"pledge {reference}: this schedule is already in force; nothing recorded")
    else:
        click.echo(f"pledge {reference} re-planned: entry {posted.entry_id}, {posted.detail}")


@pledge.command("sign")
@click.argument("reference")
@click.option("--on", "on", type=ISO_DATE, required=True, help="Date of the signing: its rate becomes the pledge's rate.")
@click.option("--agreement", default="", help="The contribution agreement (number, title).")
@pass_settings
@handles_refusals
def pledge_sign(settings: Settings, reference, on, agreement) -> None:
    """Sign an announced pledge: its receivable and revenue at the rate of the signing date."""
    posted = services.sign_pledge(settings.ledger(), SigningIn(pledge=reference, signed_on=on, agreement=agreement))
    click.echo(f"signed {reference}: entry {posted.entry_id}, USD {format_amount(posted.usd_cents, 'USD')}")


@pledge.command("withdraw")
@click.argument("reference")
@click.option("--on", "on", type=ISO_DATE, required=True, help="Date of the withdrawal.")
@click.option("--reason", required=True)
@pass_settings
@handles_refusals
def pledge_withdraw(settings: Settings, reference, on, reason) -> None:
    """Withdraw an announced pledge (a signed one is cancelled instead)."""
    posted = services.withdraw_pledge(settings.ledger(), WithdrawalIn(pledge=reference, withdrawn_on=on, reason=reason))
    click.echo(f"withdrew {reference}: entry {posted.entry_id}, USD {format_amount(posted.usd_cents, 'USD')} announced")


@cli.command()
@click.argument("entry_id", type=click.IntRange(min=1))
@click.option("--reason", required=True)
@click.option("--on", "on", type=ISO_DATE, help="Date of the reversal (default today).")
@pass_settings
@handles_refusals
def reverse(settings: Settings, entry_id: int, reason: str, on) -> None:
    """Reverse a posted entry with a new entry that mirrors it exactly."""
    posted = services.reverse(settings.ledger(), ReversalIn(entry_id=entry_id, reason=reason, reversed_on=on))
    click.echo(f"entry {entry_id} reversed by entry {posted.entry_id}")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("entry_id", type=click.IntRange(min=1))
@click.option("--reason", required=True)
@pass_settings
@click.pass_context
@handles_refusals
def correct(ctx: click.Context, settings: Settings, entry_id: int, reason: str) -> None:
    """Reverse a posted event and post it again, corrected, under the same reference: --FIELD VALUE
    for each field that changes (the fields of the event's import row, e.g. --amount 1200
    --received-on 2026-11-20; a pledge's allocations as --allocation N=AMOUNT or unearmarked=AMOUNT,
    repeated; a reallocation's --from/--to N or unearmarked; a schedule's whole new plan as
    --instalment DATE=AMOUNT, repeated; a refund's --paragraph N or --unearmarked true)."""
    posted = services.correct(settings.ledger(), entry_id, reason, _changes(ctx.args))
    undone = f"reversed by entry {posted.reversal_id}, " if posted.reversal_id else "already reversed, "
    click.echo(f"entry {entry_id} {undone}corrected by entry {posted.posted.entry_id} ({posted.posted.reference})")


# the options of the commands that post an event, as the fields of its input model
_FIELDS = {"from": "source", "to": "target"}


def _changes(args: list[str]) -> dict:
    """``--FIELD VALUE`` pairs as {field: value}; ``--allocation N=AMOUNT`` (repeated) as a pledge's
    allocations, ``--instalment DATE=AMOUNT`` (repeated) as a schedule's instalments; a paragraph
    named replaces an unearmarked allocation (a refund's, a cancellation's) unless that is given too."""
    changes: dict = {}
    parts: dict[str, list] = {}
    pairs = iter(args)
    for option in pairs:
        value = next(pairs, None)
        if not option.startswith("--") or value is None:
            raise click.UsageError(f"expected --FIELD VALUE, got {option!r}" + ("" if value is None else f" {value!r}"))
        field = option[2:].replace("-", "_")
        key, sign, amount = value.partition("=")
        if field in ("allocation", "instalment") and not sign:
            raise click.UsageError(f"--{field} takes {'N' if field == 'allocation' else 'DATE'}=AMOUNT, got {value!r}")
        if field == "allocation":
            parts.setdefault("allocations", []).append(
                {"paragraph": None if key == "unearmarked" else key, "amount": amount})
        elif field == "instalment":
            parts.setdefault("instalments", []).append({"due_on": key.strip(), "amount": amount.strip()})
        else:
            changes[_FIELDS.get(field, field)] = value
    if "paragraph" in changes:
        changes.setdefault("unearmarked", False)
    return {**changes, **parts}


@cli.group()
def activity() -> None:
    """Activities implementing the operative paragraphs."""


@activity.command("update")
@click.argument("code")
@click.option("--progress", type=int, help="Progress in whole percent, 0-100.")
@click.option("--status", type=click.Choice(["planned", "ongoing", "completed", "cancelled"]))
@click.option("--budget", help="A revised budget in USD (needs --reason; never below what is spent).")
@click.option("--reason", default="", help="Why: kept with the new version (a budget revision needs one).")
@pass_settings
@handles_refusals
def activity_update(settings: Settings, code: str, progress, status, budget, reason: str) -> None:
    """Update an activity's status, progress or budget (each change a new version in its history)."""
    result = services.update_activity(settings.ledger(), ActivityUpdate(
        code=code, progress_pct=progress, status=status, budget_usd=budget, reason=reason))
    click.echo(f"activity {code}: {result}")


@cli.group()
def user() -> None:
    """Users and roles."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@pass_settings
@handles_refusals
def user_add(settings: Settings, name: str, role: str) -> None:
    """Add a user, or change a user's role (admin only)."""
    result = services.add_user(settings.ledger(), UserIn(name=name, role=role))
    click.echo(f"user {name} ({role}): {result}")


@user.command("list")
@pass_settings
@handles_refusals
def user_list(settings: Settings) -> None:
    """List the users and their roles."""
    from ledger.queries import users

    for row in users(settings.ledger()):
        click.echo(f"{row.name}\t{row.role}\tsince {row.created_at:%Y-%m-%d} by {row.created_by}")


@cli.command()
@click.option("--checkpoint", help="A head hash printed by an earlier verify: prove it is still in the chain.")
@pass_settings
@handles_refusals
def verify(settings: Settings, checkpoint: str | None) -> None:
    """Recompute the hash chain and the balance of every journal entry."""
    result = services.verify_chain(settings.ledger(), checkpoint)
    if not result.ok:
        entries, head_hash = result.stored
        fail(f"verification failed: {result.message}",
             f"head {head_hash} entries {entries} as stored; {result.intact}")
    click.echo(f"OK: {result.verdict(head=False)}")
    click.echo(f"head {result.head_hash} entries {result.entries}")


@cli.command()
@click.argument("file")
@pass_settings
@handles_refusals
def backup(settings: Settings, file: str) -> None:
    """Write a consistent copy of the ledger to an SQLite FILE (while others keep writing)."""
    from ledger.backup import backup_to

    count = backup_to(settings.ledger(), file)
    click.echo(f"backup written to {file}: {count} journal entries; "
               f"check it with: donor-ledger --db {file} --user {settings.ledger().user_name} verify")




@cli.group()
def admin() -> None:
    """Database administration (PostgreSQL)."""


@admin.command("grant-roles")
@pass_settings
@handles_refusals
def admin_grant_roles(settings: Settings) -> None:
    """Create the finance/programme/auditor/admin database roles and grant them (run as the owner)."""
    ledger = settings.ledger()
    if not ledger.is_postgres:
        fail("grant-roles is for PostgreSQL ledgers: on an SQLite file the role check is the application's")
    from ledger.pg_roles import grant_roles

    with ledger.engine.begin() as conn:
        granted = grant_roles(conn)
    click.echo("database roles ready: donor_ledger_finance, donor_ledger_programme, donor_ledger_auditor, donor_ledger_admin")
    for login, group in granted:
        click.echo(f"  {login} -> {group}")
