"""Build small ledgers in a few lines, through the service layer."""

from __future__ import annotations

import pytest

from ledger import services
from ledger.database import Ledger
from ledger.errors import LedgerError
from ledger.inputs import ActivityIn, DisbursementIn, DonorIn, PledgeIn, RateIn, ReceiptIn


def donor(ledger: Ledger, code: str, name: str | None = None, kind: str = "member-state", **extra) -> None:
    services.save_donor(ledger, DonorIn(code=code, name=name or code, kind=kind, **extra))


def rate(ledger: Ledger, currency: str, effective_from: str, units_per_usd: str, through: str | None = None) -> None:
    """One rate; with ``through`` (YYYY-MM), the same rate on the 1st of every month from
    ``effective_from``'s month through that month, as the UN sets them (one unit of work)."""
    if through is None:
        services.add_rate(ledger, RateIn(currency=currency, effective_from=effective_from, units_per_usd=units_per_usd))
        return
    from ledger import rates
    from ledger.roles import Act

    year, month = int(effective_from[:4]), int(effective_from[5:7])
    with ledger.writing(Act.MANAGE_DONORS_RATES) as uow:
        while f"{year:04d}-{month:02d}" <= through:
            day = effective_from if (year, month) == (int(effective_from[:4]), int(effective_from[5:7])) else f"{year:04d}-{month:02d}-01"
            rates.add_rate(uow, RateIn(currency=currency, effective_from=day, units_per_usd=units_per_usd))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def activity(ledger: Ledger, code: str, paragraph: int, budget: str, status: str = "planned", progress: int = 0) -> None:
    services.save_activity(ledger, ActivityIn(code=code, paragraph=paragraph, title=f"Activity {code}",
                                              budget_usd=budget, status=status, progress_pct=progress))


def pledge(ledger: Ledger, reference: str, donor: str, on: str, currency: str, allocations: dict, psc: str = "13", **extra):
    """allocations: {paragraph or None: amount}"""
    return services.record_pledge(ledger, PledgeIn(
        reference=reference, donor=donor, pledged_on=on, currency=currency, psc_rate=psc,
        allocations=[{"paragraph": p, "amount": a} for p, a in allocations.items()], **extra))


def receipt(ledger: Ledger, reference: str, pledge: str, on: str, amount: str, **extra):
    return services.record_receipt(ledger, ReceiptIn(reference=reference, pledge=pledge, received_on=on, amount=amount, **extra))


def disburse(ledger: Ledger, reference: str, activity: str, on: str, amount: str, **extra):
    return services.disburse(ledger, DisbursementIn(reference=reference, activity=activity, disbursed_on=on, amount=amount, **extra))


def worked_example(ledger: Ledger) -> None:
    """The worked example of docs/worked-example.md (a NOK rate on the 1st of every month)."""
    rate(ledger, "NOK", "2011-01-01", "5.80", through="2011-12")
    rate(ledger, "NOK", "2012-01-01", "6.00", through="2016-12")
    donor(ledger, "NOR", "Norway", country="NOR", currency="NOK")
    donor(ledger, "USA", "United States", country="USA", currency="USD")
    activity(ledger, "A1", 1, "500000", "ongoing", 40)
    activity(ledger, "A4", 4, "200000", "planned", 0)
    pledge(ledger, "P1", "NOR", "2011-06-01", "NOK", {1: "1000000.00", None: "500000.00"})
    pledge(ledger, "P2", "USA", "2011-07-01", "USD", {4: "250000"})
    receipt(ledger, "R1", "P1", "2011-08-01", "750000.00")
    receipt(ledger, "R2", "P2", "2011-08-15", "100000")
    disburse(ledger, "D1", "A1", "2011-09-01", "50000")


def cancel(ledger: Ledger, pledge: str, on: str, amount: str, reason: str = "written off", **extra):
    from ledger.inputs import CancellationIn

    return services.cancel_pledge(ledger, CancellationIn(pledge=pledge, cancelled_on=on, amount=amount, reason=reason, **extra))


def reverse(ledger: Ledger, entry_id: int, on: str | None = None, reason: str = "entered in error"):
    from ledger.inputs import ReversalIn

    return services.reverse(ledger, ReversalIn(entry_id=entry_id, reversed_on=on, reason=reason))


def entry_count(ledger: Ledger) -> int:
    """How many journal entries are posted (to prove that a refusal wrote nothing)."""
    from sqlalchemy import func, select

    from ledger.schema import JournalEntry

    with ledger.reading() as session:
        return session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()


def table_counts(ledger: Ledger) -> dict[str, int]:
    """Rows in every table: a refused act must leave every count as it was."""
    from sqlalchemy import func, select

    from ledger.schema import Base

    with ledger.reading() as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables}


def funding_rows(ledger: Ledger, as_of: str) -> dict:
    """The funding report as of a date: {paragraph or None: FundingRow, "totals": FundingRow}."""
    import datetime as dt

    from reports.funding import funding_report

    with ledger.reading() as session:
        report = funding_report(session, dt.date.fromisoformat(as_of))
    rows: dict = {row.paragraph: row for row in report.rows}
    rows["totals"] = report.totals
    return rows


def lines_of(ledger: Ledger, entry_id: int) -> list[dict]:
    """The stored journal lines of one entry, as dicts."""
    from sqlalchemy import select

    from ledger.schema import JournalLine

    with ledger.reading() as session:
        rows = session.execute(select(JournalLine).where(JournalLine.entry_id == entry_id).order_by(JournalLine.line_no))
        return [{c: getattr(line, c) for c in JournalLine.__table__.columns.keys()} for line in rows.scalars()]


def run_cli(*args: str, env: dict | None = None):
    """``donor-ledger ARGS`` in a real process: (exit code, stdout, stderr)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    program = Path(sys.executable).with_name("donor-ledger")
    done = subprocess.run([str(program), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})
    return done.returncode, done.stdout, done.stderr


def invoke_cli(*args: str):
    """``donor-ledger ARGS`` in this process (faster): (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from cli import commands  # noqa: F401  (registers the sub-commands)
    from cli.main import cli

    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def refused(fn, *args, **kwargs) -> str:
    """The message of the LedgerError that ``fn(*args, **kwargs)`` raises."""
    with pytest.raises(LedgerError) as error:
        fn(*args, **kwargs)
    return str(error.value)


def reallocate(ledger: Ledger, pledge: str, source, target, amount: str, on: str, consent: str = "donor's letter"):
    from ledger.inputs import ReallocationIn

    return services.reallocate(ledger, ReallocationIn(pledge=pledge, source=source, target=target, amount=amount,
                                                      reallocated_on=on, consent=consent))


def refund(ledger: Ledger, pledge: str, on: str, amount: str, reason: str = "unspent balance", **extra):
    from ledger.inputs import RefundIn

    return services.refund(ledger, RefundIn(pledge=pledge, refunded_on=on, amount=amount, reason=reason, **extra))


def close(ledger: Ledger, pledge: str, on: str):
    from ledger.inputs import PledgeCloseIn

    return services.close_pledge(ledger, PledgeCloseIn(pledge=pledge, closed_on=on))


def sign(ledger: Ledger, reference: str, on: str, agreement: str = ""):
    """Sign the announced pledge ``reference`` on ``on``."""
    from ledger.inputs import SigningIn

    return services.sign_pledge(ledger, SigningIn(pledge=reference, signed_on=on, agreement=agreement))


def withdraw(ledger: Ledger, reference: str, on: str, reason: str = "the donor changed its plans"):
    """Withdraw the announced pledge ``reference`` on ``on``."""
    from ledger.inputs import WithdrawalIn

    return services.withdraw_pledge(ledger, WithdrawalIn(pledge=reference, withdrawn_on=on, reason=reason))
