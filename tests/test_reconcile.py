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


def to_format_1(url: str) -> str:
    """The ledger at ``url`` as one written before migration 0006: every entry of format 1."""
    engine = attacker_engine(url)
    with engine.begin() as conn:
        conn.execute(text("update journal_entries set format_version = 1"))
        rehash_from(conn, 1)
    engine.dispose()
    return url


@pytest.fixture
def example_format_1(example):
    """The same ledger as one written before migration 0006: every entry of format 1."""
    return to_format_1(example)


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


@pytest.fixture
def acts_format_1(example):
    """The example plus a row of every act on a pledge (entries 7-18), every entry rewritten to
    format 1 (its hash covers no posted row): the row reconciliation alone must name a change."""
    from ledger.inputs import ScheduleIn, SigningIn, WithdrawalIn

    ledger = Ledger(example, user="officer")
    b.reallocate(ledger, "P2", 4, 5, "1000", "2011-10-02")  # 7: creates P2's ¶5 allocation
    b.refund(ledger, "P2", "2011-10-03", "500", paragraph=4)  # 8
    services.schedule_pledge(ledger, ScheduleIn(pledge="P2", reason="annex", instalments=[  # 9
        {"due_on": "2011-12-31", "amount": "100000"}, {"due_on": "2012-06-30", "amount": "150000"}]))
    b.pledge(ledger, "P3", "NOR", "2011-10-03", "NOK", {2: "1000.00"}, stage="announced")  # 10
    services.sign_pledge(ledger, SigningIn(pledge="P3", signed_on="2011-11-01"))  # 11
    b.pledge(ledger, "P4", "NOR", "2011-10-03", "NOK", {None: "2000.00"}, stage="announced")  # 12
    services.withdraw_pledge(ledger, WithdrawalIn(pledge="P4", withdrawn_on="2011-11-01", reason="not this year"))  # 13
    b.pledge(ledger, "P5", "USA", "2011-10-04", "USD", {1: "100"})  # 14
    b.receipt(ledger, "R3", "P5", "2011-10-04", "100")  # 15
    b.refund(ledger, "P5", "2011-10-05", "100")  # 16
    b.close(ledger, "P5", "2011-10-06")  # 17
    assert services.verify_chain(ledger).ok
    ledger.close()
    return to_format_1(example)


P2 = "(select id from pledges where reference = 'P2')"
ACT_ATTACKS = {
    "reallocation amount": (
        "update reallocations set amount_minor = amount_minor + 100",
        "reallocation of pledge P2 does not match journal entry 7 (its amount, allocations or the carrying values "
        f"they moved): {CHANGED}"),
    "reallocation's carrying move": (
        "update reallocations set to_usd_cents = to_usd_cents - 1",
        "reallocation of pledge P2 does not match journal entry 7 (its amount, allocations or the carrying values "
        f"they moved): {CHANGED}"),
    "reallocation source": (
        "update reallocations set from_allocation_id = to_allocation_id",
        "reallocation of pledge P2 does not match journal entry 7 (its amount, allocations or the carrying values "
        f"they moved): {CHANGED}"),
    "reallocation date": (
        "update reallocations set reallocated_on = '2011-10-09'",
        f"reallocation of pledge P2 does not match journal entry 7 (its kind, reference or date): {CHANGED}"),
    "refund from another allocation": (
        f"update refunds set allocation_id = (select max(id) from allocations where pledge_id = {P2}) "
        f"where pledge_id = {P2}",
        "refund 1 does not match journal entry 8 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "refund USD": (
        f"update refunds set usd_cents = usd_cents + 1 where pledge_id = {P2}",
        "refund 1 does not match journal entry 8 (its kind, reference, date, amount or what it concerns): "
        f"{CHANGED}"),
    "refund rate": (
        f"update refunds set rate_micros = 2000000 where pledge_id = {P2}",
        f"refund in entry 8: its rate is not the USD rate in force on 2011-10-03 when it was posted: a rate was {CHANGED}"),
    "instalment amount": (
        "update instalments set amount_minor = amount_minor + 100 where position = 1",
        f"schedule of pledge P2 in journal entry 9: its instalments do not add up to the pledge's amount: {CHANGED}"),
    "schedule moved to another pledge": (
        "update instalments set pledge_id = (select id from pledges where reference = 'P1')",
        f"schedule of pledge P1 does not match journal entry 9 (its kind, reference or date): {CHANGED}"),
    "signing date": (
        "update signings set signed_on = '2011-11-02'",
        f"signing of pledge P3 does not match journal entry 11 (its kind, reference or date): {CHANGED}"),
    "withdrawal moved to another pledge": (
        "update withdrawals set pledge_id = (select id from pledges where reference = 'P3')",
        f"withdrawal of pledge P3 does not match journal entry 13 (its kind, reference or date): {CHANGED}"),
    "closing date": (
        "update pledge_closings set closed_on = '2011-10-07'",
        f"closing of pledge P5 does not match journal entry 17 (its kind, reference or date): {CHANGED}"),
}


@pytest.mark.parametrize("attack", ACT_ATTACKS)
def test_verify_names_a_changed_row_of_an_act_on_a_pledge(acts_format_1, attack):
    statement, expected = ACT_ATTACKS[attack]
    assert verify_after(acts_format_1, statement) == expected


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_on_postgresql_the_row_checks_join_whole_tables_even_on_stale_statistics(pg_server, tmp_path):
    """An import rolled back (a dry run, or one killed), then vacuumed without giving its pages
    back (autovacuum skips that step while another session holds the table): the planner's
    statistics say the receipts table holds (almost) no rows on pages it still has. The next import
    fills those pages, and before its statistics are refreshed a ``verify`` that joined row by row
    took 64 s for 20,000 receipts (0.5 s with fresh statistics). The checks read every row, so
    they must join whole tables (hash or merge joins) whatever the statistics say."""
    import csv
    import threading

    from sqlalchemy import create_engine, event

    from imports.importer import import_file
    from ledger.reconcile import verify_ledger

    url = pg_server.new_database()
    ledger = Ledger(url, user="officer")
    b.worked_example(ledger)
    path = tmp_path / "receipts.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "pledge", "received_on", "amount", "bank_reference"])
        w.writerows([f"RX{i:05d}", ("P1", "P2")[i % 2], "2012-03-15", f"{10 + i % 97}.{i % 100:02d}", f"B-{i}"]
                    for i in range(2000))
    owner = create_engine(url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        for table in conn.execute(text("select tablename from pg_tables where schemaname = 'public'")).scalars():
            conn.execute(text(f'alter table "{table}" set (autovacuum_enabled = false)'))
        import_file(ledger, "receipts", path, dry_run=True)
        conn.execute(text("vacuum (truncate false)"))
        stale = conn.execute(text("select reltuples, relpages from pg_class where relname = 'receipts'")).one()
        assert stale.reltuples == 2 and stale.relpages >= 10  # R1 and R2 on the pages of 2,002 rows
    owner.dispose()
    import_file(ledger, "receipts", path)
    ledger.close()

    auditor = Ledger(url, user="auditor", migrate=False)
    reader = threading.get_ident()
    plans: list[tuple[str, list[str]]] = []

    @event.listens_for(auditor.engine, "before_cursor_execute")
    def explain(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().lower().startswith("select") and threading.get_ident() != reader:
            plan = cursor.connection.execute("explain (format json) " + statement, parameters).fetchone()[0][0]["Plan"]
            plans.append((statement, [node["Node Type"] for node in _nodes(plan)]))

    try:
        with auditor.reading() as session:
            assert verify_ledger(session).ok
    finally:
        auditor.close()
    assert len(plans) >= 20  # every check of ledger/reconcile.py ran, in the second transaction
    joined_row_by_row = [statement for statement, nodes in plans if "Nested Loop" in nodes]
    assert joined_row_by_row == []
