"""verify also checks the rows posted beside the journal (ledger/reconcile.py).

Each attack changes one fact a report reads from a posted row (around the append-only
triggers, as only someone with the database's owner rights can), and verify must name it:
on entries of format 1 (written before the hash covered the posted rows) the row
reconciliation names the row; on entries of format 2 the hash names the entry first.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger import services
from ledger.database import Ledger
from tests import builders as b
from tests.test_reliability_tamper import attacker_engine, rehash_from

CHANGED = "changed after posting"


@pytest.fixture
def example(db_url):
    """The worked example (P1 NOR: paragraph 1 + unearmarked; P2 USA: paragraph 4; R1, R2; D1
    paid by P1's paragraph-1 allocation) plus a cancellation on P2."""
    ledger = Ledger(db_url, user="officer")
    b.worked_example(ledger)
    b.cancel(ledger, "P2", "2011-10-01", "1000")
    assert services.verify_chain(ledger).ok
    ledger.close()
    return db_url


@pytest.fixture
def example_format_1(example):
    """The same ledger as one written before migration 0006: every entry of format 1."""
    engine = attacker_engine(example)
    with engine.begin() as conn:
        conn.execute(text("update journal_entries set format_version = 1"))
        rehash_from(conn, 1)
    engine.dispose()
    return example


def verify_after(url: str, *statements: str, rehash: int | None = None) -> str:
    engine = attacker_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
        if rehash:
            rehash_from(conn, rehash)
    engine.dispose()
    ledger = Ledger(url, user="officer")
    try:
        result = services.verify_chain(ledger)
    finally:
        ledger.close()
    assert not result.ok
    return result.message


ATTACKS = {
    "allocation moved to another paragraph": (
        ["update allocations set paragraph_id = (select id from paragraphs where number = 2) "
         "where pledge_id = (select id from pledges where reference = 'P2')"],
        f"allocation 3 of pledge P2 does not match line 1 of journal entry 2 (its pledge, donor, paragraph or "
        f"currency): {CHANGED}"),
    "allocation amount": (
        ["update allocations set amount_minor = amount_minor + 100 where id = 1"],
        f"allocation 1 of pledge P1 does not match journal entry 1 (its amount or pledged USD): {CHANGED}"),
    "pledge given to another donor": (
        ["update pledges set donor_id = (select id from donors where code = 'USA') where reference = 'P1'"],
        f"allocation 1 of pledge P1 does not match line 1 of journal entry 1 (its pledge, donor, paragraph or "
        f"currency): {CHANGED}"),
    "pledge PSC rate": (
        ["update pledges set psc_rate_bp = 0 where reference = 'P2'"],
        f"pledge P2: its PSC rate is not the one its journal entry records: {CHANGED}"),
    "pledge due date": (
        ["update pledges set due_on = '2011-12-31' where reference = 'P2'"],
        f"pledge P2: its due date is not the one its journal entry records: {CHANGED}"),
    "pledge date": (
        ["update pledges set pledged_on = '2011-06-02' where reference = 'P1'"],
        f"pledge P1 does not match journal entry 1 (its kind, reference or date): {CHANGED}"),
    "pledge exchange rate": (
        ["update pledges set rate_micros = 6000000 where reference = 'P1'"],
        f"pledge P1: its exchange rate is not the NOK rate in force on 2011-06-01: one of them was {CHANGED}"),
    "receipt amount": (
        ["update receipts set amount_minor = amount_minor - 100 where reference = 'R1'"],
        f"receipt R1 does not match journal entry 3 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "receipt moved to another pledge": (
        ["update receipts set pledge_id = (select id from pledges where reference = 'P1') where reference = 'R2'"],
        f"receipt R2 does not match journal entry 4 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "disbursement moved to another activity": (
        ["update disbursements set activity_id = (select id from activities where code = 'A4') "
         "where reference = 'D1'"],
        f"disbursement D1 does not match journal entry 5 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "cancellation amount": (
        ["update cancellations set amount_minor = 1"],
        f"cancellation 1 does not match journal entry 6 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "a rate added under a posted receipt (no trigger in the way)": (
        # a second value of the August rate, as if recorded at the very moment R1 was posted
        ["insert into rates (currency, effective_from, units_per_usd_micros, entered_by, entered_at) "
         "values ('NOK', '2011-08-01', 3000000, 'x', (select posted_at from journal_entries where reference = 'R1'))"],
        f"receipt R1: its rate is not the NOK rate in force on 2011-08-01 when it was posted: a rate was {CHANGED}"),
    "activity moved to another paragraph (no trigger in the way)": (
        ["update activities set paragraph_id = (select id from paragraphs where number = 4) where code = 'A1'"],
        f"activity A1: its paragraph is not the one journal entry 5 spent on: {CHANGED}"),
    "disbursement currency": (
        ["update disbursements set currency = 'NOK' where reference = 'D1'"],
        f"disbursement D1 does not match journal entry 5 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "PSC rate and memo forged together, chain rehashed": (
        ["update pledges set psc_rate_bp = 700 where reference = 'P1'",
         "update journal_entries set memo = replace(memo, 'PSC 13.00%', 'PSC 7.00%') where id = 1"],
        f"pledge P1: its PSC rate does not give the PSC journal entry 5 charged on it: {CHANGED}"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_verify_names_a_posted_row_that_no_longer_matches_the_journal(example_format_1, attack):
    statements, expected = ATTACKS[attack]
    rehash = 1 if "rehashed" in attack else None
    assert verify_after(example_format_1, *statements, rehash=rehash) == expected


# format 2: the entry whose hash covers the changed row (None: a table no entry hashes, or a
# forger who rehashed the chain: the reconciliation still names it)
ENTRY_OF_ATTACK = {
    "allocation moved to another paragraph": 2, "allocation amount": 1, "pledge given to another donor": 1,
    "pledge PSC rate": 2, "pledge due date": 2, "pledge date": 1, "pledge exchange rate": 1, "receipt amount": 3,
    "receipt moved to another pledge": 4, "disbursement moved to another activity": 5, "cancellation amount": 6,
    "a rate added under a posted receipt (no trigger in the way)": None,
    "activity moved to another paragraph (no trigger in the way)": None, "disbursement currency": 5,
    "PSC rate and memo forged together, chain rehashed": None,
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_on_format_2_the_hash_names_the_entry_of_a_changed_row(example, attack):
    statements, expected = ATTACKS[attack]
    rehash = 1 if "rehashed" in attack else None
    entry = ENTRY_OF_ATTACK[attack]
    if entry is not None:
        expected = f"journal entry {entry}: its content does not match its hash ({CHANGED})"
    assert verify_after(example, *statements, rehash=rehash) == expected


def test_an_allocation_of_a_pledge_that_does_not_exist_is_caught_on_format_1(example_format_1):
    """It would add its amount to the funding report's total pledged."""
    message = verify_after(example_format_1, "update allocations set pledge_id = 999 where id = 3")
    assert message == f"allocation 3 names pledge id 999, which does not exist: {CHANGED}"


def test_a_pledge_entry_records_the_psc_rate_and_due_date(example):
    engine = attacker_engine(example)
    with engine.connect() as conn:
        memos = conn.execute(text("select memo from journal_entries where kind = 'pledge' order by id")).scalars().all()
    engine.dispose()
    assert memos == ["pledge of NOR; PSC 13.00%; no due date", "pledge of USA; PSC 13.00%; no due date"]


def test_rates_are_append_only_in_the_database(example):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(example)
    try:
        for statement in ("update rates set units_per_usd_micros = 1 where currency = 'NOK'",
                          "delete from rates where currency = 'NOK'"):
            with pytest.raises(DBAPIError, match="rates are append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_the_mandate_and_its_paragraphs_are_fixed_in_the_database(example):
    """A paragraph renumbered would relabel a whole row of the funding report: refused."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(example)
    try:
        for statement in ("update paragraphs set number = 101 where number = 1",
                          "delete from paragraphs where number = 6", "update mandates set code = 'X'"):
            with pytest.raises(DBAPIError, match="fixed once seeded"), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()
