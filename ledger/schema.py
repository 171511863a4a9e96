"""The ledger's tables (SQLAlchemy 2 typed ORM).

Money columns are integer minor units (``*_minor`` in the row's currency, ``*_cents`` in
USD). Money documents (pledges, receipts, ...) are written once and never updated; their
per-allocation effects live in the hash-chained journal lines, which every report reads.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Text keys sort in Unicode code point order on every database (docs/rules.md#money).
Key = String(64).with_variant(String(64, collation="C"), "postgresql")
Code3 = String(3)


class Base(DeclarativeBase):
    pass


# The kinds of the entries that close and reopen periods (ledger/periods.py), and the condition
# of the partial index that holds only them: the same text in the index and in the query that
# reads them, so that SQLite's planner, too, sees that the index covers the query.
PERIOD_KINDS = ("period-close", "period-reopen")
PERIOD_ENTRIES = text(f"kind IN ({', '.join(repr(kind) for kind in PERIOD_KINDS)})")

STAMP = {"stamp": True}  # the ``info`` of a column holding a stamp (``UnitOfWork.stamp``)


def stamp_columns() -> list:
    """Every column holding a stamp: the latest of them all bounds the next stamp."""
    return [column for table in Base.metadata.sorted_tables for column in table.columns if column.info.get("stamp")]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Key, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, info=STAMP)
    created_by: Mapped[str] = mapped_column(Key)


class Mandate(Base):
    __tablename__ = "mandates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Key, unique=True)
    title: Mapped[str] = mapped_column(Text)


class Paragraph(Base):
    __tablename__ = "paragraphs"
    __table_args__ = (UniqueConstraint("mandate_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandates.id"))
    number: Mapped[int] = mapped_column(Integer)
    short_title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class Donor(Base):
    __tablename__ = "donors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Key, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(Code3)
    currency: Mapped[str | None] = mapped_column(Code3)
    iati_ref: Mapped[str | None] = mapped_column(String(100))  # IATI organisation identifier, e.g. XM-DAC-5


class Rate(Base):
    __tablename__ = "rates"
    __table_args__ = (Index("ix_rates_currency_effective_from", "currency", "effective_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(Code3)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    units_per_usd_micros: Mapped[int] = mapped_column(BigInteger)
    entered_by: Mapped[str] = mapped_column(Key)
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime, info=STAMP)  # the moment this version was recorded
    reason: Mapped[str | None] = mapped_column(Text)  # why a stored rate was corrected


class Activity(Base):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Key, unique=True)
    paragraph_id: Mapped[int] = mapped_column(ForeignKey("paragraphs.id"))
    title: Mapped[str] = mapped_column(String(500))
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    planned_start: Mapped[dt.date | None] = mapped_column(Date)
    planned_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    progress_pct: Mapped[int] = mapped_column(Integer)


class JournalEntry(Base):
    """One financial event. ``id`` is the position in the chain (1, 2, 3, ... no gaps)."""

    __tablename__ = "journal_entries"
    # the period closes and reopens, read before every dated act (migration 0015)
    __table_args__ = (Index("ix_journal_entries_periods", "id", postgresql_where=PERIOD_ENTRIES,
                            sqlite_where=PERIOD_ENTRIES),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[dt.date] = mapped_column(Date, index=True)
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True, info=STAMP)
    user_name: Mapped[str] = mapped_column(Key)
    reference: Mapped[str] = mapped_column(Key)
    memo: Mapped[str] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    # the reversed entry whose reference this event uses again (docs/rules.md#corrections); format 3
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # what the hash covers (docs/architecture.md "The hash of an entry"); entries written before
    # the column existed are format 1 (migration 0006)
    format_version: Mapped[int] = mapped_column(Integer, server_default="1")


class JournalLine(Base):
    """A debit (positive) or credit (negative) line, in the original currency and in USD.

    ``flow`` says which business quantity the line carries (pledge, cancel, receipt, fx,
    spend, psc) so that reports are sums over lines.
    """

    __tablename__ = "journal_lines"
    __table_args__ = (
        # covering the report sums (migration 0003)
        Index("ix_journal_lines_allocation", "allocation_id", "account", "flow", "usd_cents", "amount_minor"),
        Index("ix_journal_lines_activity", "activity_id", "account", "usd_cents"),
    )
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(8))
    flow: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(Code3)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    usd_cents: Mapped[int] = mapped_column(BigInteger)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"))
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"))
    paragraph_id: Mapped[int | None] = mapped_column(ForeignKey("paragraphs.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    disbursement_id: Mapped[int | None] = mapped_column(ForeignKey("disbursements.id"))


class Pledge(Base):
    __tablename__ = "pledges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reference: Mapped[str] = mapped_column(Key, index=True)  # unique among unreversed events: events.claim_reference
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    pledged_on: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Code3)
    rate_micros: Mapped[int] = mapped_column(BigInteger)
    psc_rate_bp: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    # as recorded (migration 0011; both NULL: signed on its pledge date): "announced", or "signed" with
    # its signing date after pledged_on (its entry is the announcement, a signing follows)
    stage: Mapped[str | None] = mapped_column(String(10))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)


class Allocation(Base):
    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("pledge_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    paragraph_id: Mapped[int | None] = mapped_column(ForeignKey("paragraphs.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    pledged_cents: Mapped[int] = mapped_column(BigInteger)
    # the reallocation that created it (amount and pledged USD 0: its money is in that entry's lines);
    # NULL for an allocation recorded with its pledge (migration 0013)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))


class Cancellation(Base):
    __tablename__ = "cancellations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"))
    cancelled_on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class Instalment(Base):
    """One instalment of a pledge's schedule, posted beside the ``schedule`` entry that re-planned it
    (ledger/instalments.py); a pledge's ``due_on`` is its schedule until one is posted."""

    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("entry_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1.. in due date order
    due_on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # in the pledge's currency


class Signing(Base):
    """An announced pledge signed: its receivable and revenue at ``rate_micros``, the rate of
    ``signed_on``, which becomes the pledge's rate (ledger/stages.py)."""

    __tablename__ = "signings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    rate_micros: Mapped[int] = mapped_column(BigInteger)
    agreement: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class Withdrawal(Base):
    """An announced pledge withdrawn: its memorandum lines reversed."""

    __tablename__ = "withdrawals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    withdrawn_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class Receipt(Base):
    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reference: Mapped[str] = mapped_column(Key, index=True)  # unique among unreversed events: events.claim_reference
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    usd_cents: Mapped[int] = mapped_column(BigInteger)
    usd_given: Mapped[bool]
    bank_reference: Mapped[str] = mapped_column(String(200))
    rate_micros: Mapped[int | None] = mapped_column(BigInteger)  # the rate of the receipt date (NULL: before 0007)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class Disbursement(Base):
    __tablename__ = "disbursements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reference: Mapped[str] = mapped_column(Key, index=True)  # unique among unreversed events: events.claim_reference
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Code3)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    usd_cents: Mapped[int] = mapped_column(BigInteger)
    payee: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"))
    rate_micros: Mapped[int | None] = mapped_column(BigInteger)  # the rate converted at (NULL: before 0007)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class Reallocation(Base):
    """X of what is still to be received moved from one allocation of a pledge to another
    (docs/rules.md#reallocations): the carrying value each side moved, in USD cents."""

    __tablename__ = "reallocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    from_allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"))
    to_allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"))
    reallocated_on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    from_usd_cents: Mapped[int] = mapped_column(BigInteger)  # the source's carrying move (its pledged USD falls by it)
    to_usd_cents: Mapped[int] = mapped_column(BigInteger)  # the target's carrying move (its pledged USD rises by it)
    consent: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class Refund(Base):
    """Unspent cash paid back to the donor (docs/rules.md#refunds); its split per allocation is in
    its entry's lines. A refund has no reference of its own: its entry carries the pledge's."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"))  # the one named, else split
    refunded_on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    usd_cents: Mapped[int] = mapped_column(BigInteger)
    usd_given: Mapped[bool]
    rate_micros: Mapped[int] = mapped_column(BigInteger)  # the rate of the refund date
    reason: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class PledgeClosing(Base):
    """A pledge closed (docs/rules.md#closing-a-pledge): it takes no further entry until this
    entry is reversed."""

    __tablename__ = "pledge_closings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    closed_on: Mapped[dt.date] = mapped_column(Date)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class AuditRecord(Base):
    """A change of reference data: who, when, which field, old and new value."""

    __tablename__ = "audit_trail"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, info=STAMP)
    user_name: Mapped[str] = mapped_column(Key)
    table_name: Mapped[str] = mapped_column(String(32))
    record_key: Mapped[str] = mapped_column(Key)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class Setting(Base):
    """One version of a ledger setting: its value from ``recorded_at`` on (docs/rules.md#ledger-settings)."""

    __tablename__ = "settings"
    __table_args__ = (Index("ix_settings_name_recorded_at", "name", "recorded_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, info=STAMP)
    user_name: Mapped[str] = mapped_column(Key)
    reason: Mapped[str] = mapped_column(Text)


# -- versions of reference data (docs/rules.md#reference-data-versions) -------------------------
# Every change of an activity, donor or user is a new version row: its values from then on, who
# recorded them, when (the ledger's stamp) and why. The rows of activities, donors and users
# hold the current state (the latest version); the versions are the history, append-only.
class ActivityVersion(Base):
    __tablename__ = "activity_versions"
    __table_args__ = (UniqueConstraint("activity_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    version: Mapped[int] = mapped_column(Integer)
    paragraph_id: Mapped[int] = mapped_column(ForeignKey("paragraphs.id"))
    title: Mapped[str] = mapped_column(String(500))
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    planned_start: Mapped[dt.date | None] = mapped_column(Date)
    planned_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    progress_pct: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True, info=STAMP)
    user_name: Mapped[str] = mapped_column(Key)
    reason: Mapped[str] = mapped_column(Text)


class DonorVersion(Base):
    __tablename__ = "donor_versions"
    __table_args__ = (UniqueConstraint("donor_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(Code3)
    currency: Mapped[str | None] = mapped_column(Code3)
    iati_ref: Mapped[str | None] = mapped_column(String(100))  # IATI organisation identifier, e.g. XM-DAC-5
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, info=STAMP)
    user_name: Mapped[str] = mapped_column(Key)
    reason: Mapped[str] = mapped_column(Text)


class UserVersion(Base):
    __tablename__ = "user_versions"
    __table_args__ = (UniqueConstraint("user_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, info=STAMP)
    user_name: Mapped[str] = mapped_column(Key)
    reason: Mapped[str] = mapped_column(Text)
