"""The acts on a pledge's money after it is signed: reallocate, refund, close (docs/rules.md#reallocations)."""

from __future__ import annotations

import datetime as dt

import click

from cli.group import ISO_DATE, Settings, cli, handles_refusals, pass_settings
from cli.ledger_commands import pledge
from ledger import services
from ledger.inputs import PledgeCloseIn, ReallocationIn, RefundIn
from ledger.money import format_amount


@pledge.command("reallocate")
@click.argument("reference")
@click.option("--from", "source", required=True, metavar="N|unearmarked", help="The allocation the money leaves.")
@click.option("--to", "target", required=True, metavar="N|unearmarked",
              help="The allocation it goes to (created if the pledge has none for that paragraph).")
@click.option("--amount", required=True, help="In the pledge's currency, at most what is outstanding on --from.")
@click.option("--on", "on", type=ISO_DATE, help="Date of the reallocation (default today).")
@click.option("--consent", required=True, help="The donor's consent (letter, e-mail, reference).")
@pass_settings
@handles_refusals
def pledge_reallocate(settings: Settings, reference, source, target, amount, on, consent) -> None:
    """Move money still to be received from one allocation of a pledge to another, with the donor's consent."""
    data = ReallocationIn(pledge=reference, source=source, target=target, amount=amount,
                          reallocated_on=on or dt.date.today(), consent=consent)
    posted = services.reallocate(settings.ledger(), data)
    click.echo(f"reallocated on {reference}: entry {posted.entry_id}; {posted.detail}")


@pledge.command("close")
@click.argument("reference")
@click.option("--on", "on", type=ISO_DATE, help="Date of the closing (default today).")
@pass_settings
@handles_refusals
def pledge_close(settings: Settings, reference, on) -> None:
    """Close a pledge with nothing outstanding and no cash left: it takes no further entry."""
    posted = services.close_pledge(settings.ledger(), PledgeCloseIn(pledge=reference, closed_on=on or dt.date.today()))
    click.echo(f"pledge {reference} closed: entry {posted.entry_id} (reverse it to reopen the pledge)")


@cli.command("refund")
@click.argument("reference")
@click.option("--amount", required=True, help="In the pledge's currency.")
@click.option("--usd", "usd_amount", help="The USD actually paid (default: the amount at the refund date's rate).")
@click.option("--on", "on", type=ISO_DATE, help="Date of the refund (default today).")
@click.option("--reason", required=True)
@click.option("--paragraph", type=int, help="Refund from this paragraph's allocation only.")
@click.option("--unearmarked", is_flag=True, help="Refund from the unearmarked allocation only.")
@pass_settings
@handles_refusals
def refund(settings: Settings, reference, amount, usd_amount, on, reason, paragraph, unearmarked) -> None:
    """Pay unspent cash of a pledge back to its donor (split pro rata to available cash unless an allocation is named)."""
    if paragraph is not None and unearmarked:
        raise click.UsageError("give --paragraph N or --unearmarked, not both")
    data = RefundIn(pledge=reference, amount=amount, usd_amount=usd_amount, refunded_on=on or dt.date.today(),
                    reason=reason, paragraph=paragraph, unearmarked=unearmarked)
    posted = services.refund(settings.ledger(), data)
    click.echo(f"refunded on {reference}: entry {posted.entry_id}, USD {format_amount(posted.usd_cents, 'USD')}")
