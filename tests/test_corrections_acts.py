"""Corrections of the acts on a pledge (docs/rules.md#corrections): reallocations, refunds,
signings, withdrawals, schedules and closings are reversed and posted again, corrected, under
their pledge's reference; a pledge with any of them left unreversed cannot be corrected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from ledger import queries, services, stages
from ledger.inputs import ScheduleIn, SigningIn, WithdrawalIn
from ledger.instalments import schedules
from ledger.schema import JournalEntry
from tests.builders import (
    activity,
    close,
    disburse,
    donor,
    funding_rows,
    invoke_cli,
    pledge,
    reallocate,
    receipt,
    refund,
    refused,
    table_counts,
)


def correct(ledger, entry_id: int, reason: str = "typed wrong", **changes):
    return services.correct(ledger, entry_id, reason, changes)


def entry(ledger, entry_id: int) -> tuple:
    with ledger.reading() as session:
        row = session.execute(select(JournalEntry).where(JournalEntry.id == entry_id)).scalar_one()
        return row.kind, row.event_date, row.reference, row.reverses_id, row.corrects_id


def allocations(ledger, reference: str = "P") -> dict:
    """{paragraph: (outstanding, pledged USD)} of the pledge's allocations."""
    detail = queries.pledge_detail(ledger, reference, dt.date(2020, 12, 31))
    return {a.paragraph: (a.outstanding, a.pledged_usd) for a in detail.allocations}


@pytest.fixture
def usd_pledge(ledger):
    """USD pledge P of 2020-01-10: ¶1 300,000.00, ¶2 100,000.00."""
    donor(ledger, "AAA")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "300000", 2: "100000"})
    return ledger


def test_a_reallocation_of_100000_corrected_to_60000(usd_pledge):
    ledger = usd_pledge
    moved = reallocate(ledger, "P", 1, 2, "100000", "2020-03-01")
    assert allocations(ledger) == {1: (Decimal("200000.00"), Decimal("200000.00")),
                                   2: (Decimal("200000.00"), Decimal("200000.00"))}
    done = correct(ledger, moved.entry_id, amount="60000")
    assert entry(ledger, done.reversal_id) == ("reversal", dt.date(2020, 3, 1), "P", moved.entry_id, None)
    assert entry(ledger, done.entry_id) == ("reallocation", dt.date(2020, 3, 1), "P", None, moved.entry_id)
    # ¶1 keeps 300,000 - 60,000, ¶2 gets 100,000 + 60,000; the pledge still carries 400,000.00
    assert allocations(ledger) == {1: (Decimal("240000.00"), Decimal("240000.00")),
                                   2: (Decimal("160000.00"), Decimal("160000.00"))}
    detail = queries.pledge_detail(ledger, "P", dt.date(2020, 12, 31))
    assert [(r.amount, r.corrects) for r in detail.reallocations if r.reversed_by is None] == [
        (Decimal("60000.00"), moved.entry_id)]
    assert services.verify_chain(ledger).ok


def test_a_reallocation_corrected_to_unearmarked_creates_the_allocation_and_its_content_round_trips(usd_pledge):
    ledger = usd_pledge
    moved = reallocate(ledger, "P", 2, "unearmarked", "40000", "2020-03-01")
    content = services.correction_content(ledger, moved.entry_id)
    assert (content.source, content.target, content.amount) == (2, None, Decimal("40000.00"))
    done = correct(ledger, moved.entry_id, target="1")  # the money goes to ¶1 instead
    assert allocations(ledger) == {1: (Decimal("340000.00"), Decimal("340000.00")),
                                   2: (Decimal("60000.00"), Decimal("60000.00")),
                                   None: (Decimal("0.00"), Decimal("0.00"))}
    assert services.correction_content(ledger, done.entry_id).target == 1


def test_a_reallocation_correction_refused_in_its_second_half_writes_nothing(usd_pledge):
    ledger = usd_pledge
    moved = reallocate(ledger, "P", 1, 2, "100000", "2020-03-01")
    receipt(ledger, "R1", "P", "2020-04-01", "400000")  # all received: ¶2 received 200,000
    before = table_counts(ledger)
    # less moved would leave ¶2 with more received than pledged (its outstanding below zero)
    assert refused(correct, ledger, moved.entry_id, amount="60000") == (
        "amount: correcting reallocation of P (entry 2) would leave more received or cancelled than pledged")
    # more than the reversal gave back to ¶1 (all else received)
    assert refused(correct, ledger, moved.entry_id, amount="100000.01") == (
        "amount: cannot reallocate USD 100,000.01: only USD 100,000.00 is outstanding on paragraph 1 of pledge P")
    assert table_counts(ledger) == before


@pytest.fixture
def refunded(usd_pledge):
    """P received in full (2020-02-01), ¶1 spent 100,000 + PSC 13,000, USD 300.00 refunded from ¶2."""
    ledger = usd_pledge
    activity(ledger, "A1", 1, "500000")
    receipt(ledger, "R1", "P", "2020-02-01", "400000")
    disburse(ledger, "D1", "A1", "2020-02-10", "100000")
    posted = refund(ledger, "P", "2020-03-01", "300", paragraph=2)
    return ledger, posted


def test_a_refund_corrected_changes_what_is_refunded_and_available(refunded):
    ledger, posted = refunded
    assert services.correction_content(ledger, posted.entry_id).paragraph == 2
    done = correct(ledger, posted.entry_id, amount="200")
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[2].refunded, rows[2].available) == (20_000, 9_980_000)  # 100,000.00 - 200.00
    assert (rows[1].refunded, rows[1].available) == (0, 18_700_000)  # 300,000 - 100,000 - 13,000
    assert entry(ledger, done.entry_id)[4] == posted.entry_id
    # moved to ¶1, split no more: a paragraph replaces the one named
    correct(ledger, done.entry_id, paragraph="1")
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[1].refunded, rows[2].refunded) == (20_000, 0)
    assert services.verify_chain(ledger).ok


def test_a_refund_correction_refused_writes_nothing(refunded):
    ledger, posted = refunded
    before = table_counts(ledger)
    assert refused(correct, ledger, posted.entry_id, amount="100000.01") == (
        "amount: refund of USD 100,000.01 from the ¶2 allocation of pledge P exceeds the USD 100,000.00 of cash it "
        "holds from 2020-03-01 on")
    assert refused(correct, ledger, posted.entry_id, pledge="Q") == "pledge: a correction keeps the reference 'P'"
    assert table_counts(ledger) == before


def test_a_correction_of_an_act_in_a_closed_period_is_reversed_after_it(refunded):
    ledger, posted = refunded
    services.close_period(ledger, dt.date(2020, 3, 31), "Q1 closed")
    assert refused(correct, ledger, posted.entry_id, amount="200").startswith(
        "refunded_on: 2020-03-01 is in a closed period: the ledger is closed through 2020-03-31")
    done = correct(ledger, posted.entry_id, amount="200", refunded_on="2020-04-02")
    assert entry(ledger, done.reversal_id)[1] == dt.date(2020, 4, 1)
    assert entry(ledger, done.entry_id)[1] == dt.date(2020, 4, 2)
    assert funding_rows(ledger, "2020-03-31")[2].refunded == 30_000  # the closed quarter is as reported
    assert funding_rows(ledger, "2020-12-31")[2].refunded == 20_000


@pytest.fixture
def announced(ledger):
    donor(ledger, "AAA")
    pledge(ledger, "P", "AAA", "2020-01-10", "USD", {1: "1000"}, stage="announced")
    pledge(ledger, "Q", "AAA", "2020-01-10", "USD", {1: "500"}, stage="announced")
    return ledger


def test_a_signing_and_a_withdrawal_are_corrected_to_another_date(announced):
    ledger = announced
    signed = services.sign_pledge(ledger, SigningIn(pledge="P", signed_on="2020-02-01", agreement="CA-1"))
    done = correct(ledger, signed.entry_id, signed_on="2020-02-15")
    assert queries.pledge_detail(ledger, "P").signed_on == dt.date(2020, 2, 15)
    assert services.correction_content(ledger, done.entry_id).agreement == "CA-1"
    assert refused(receipt, ledger, "R1", "P", "2020-02-10", "1").startswith(
        "received_on: 2020-02-10 is before pledge P was signed (2020-02-15)")
    withdrawn = services.withdraw_pledge(ledger, WithdrawalIn(pledge="Q", withdrawn_on="2020-03-01", reason="no"))
    done = correct(ledger, withdrawn.entry_id, withdrawn_on="2020-03-20")
    detail = queries.pledge_detail(ledger, "Q", dt.date(2020, 12, 31))
    assert (detail.stage, detail.withdrawn_on) == ("withdrawn", dt.date(2020, 3, 20))
    assert services.verify_chain(ledger).ok


def test_a_signing_is_corrected_only_while_nothing_else_is_posted_on_its_pledge(announced):
    ledger = announced
    signed = services.sign_pledge(ledger, SigningIn(pledge="P", signed_on="2020-02-01"))
    r1 = receipt(ledger, "R1", "P", "2020-03-01", "100")
    before = table_counts(ledger)
    assert refused(correct, ledger, signed.entry_id, signed_on="2020-02-15") == (
        f"entry: the signing of pledge P still has receipt R1 (entry {r1.entry_id}): reverse those first")
    assert table_counts(ledger) == before


def test_a_schedule_and_a_closing_are_corrected(usd_pledge):
    ledger = usd_pledge
    plan = services.schedule_pledge(ledger, ScheduleIn(pledge="P", reason="annex 1", instalments=[
        {"due_on": "2020-06-30", "amount": "200000"}, {"due_on": "2020-12-31", "amount": "200000"}]))
    content = services.correction_content(ledger, plan.entry_id)
    assert (content.reason, [i.due_on for i in content.instalments]) == ("annex 1", [dt.date(2020, 6, 30),
                                                                                    dt.date(2020, 12, 31)])
    done = correct(ledger, plan.entry_id, instalments=[{"due_on": "2020-06-30", "amount": "100000"},
                                                       {"due_on": "2020-12-31", "amount": "300000"}])
    with ledger.reading() as session:
        assert schedules(session, [1])[1] == [(dt.date(2020, 6, 30), 10_000_000), (dt.date(2020, 12, 31), 30_000_000)]
    assert entry(ledger, done.entry_id)[4] == plan.entry_id
    # correcting it to its own content posts it again (it corrects the entry: never skipped)
    again = correct(ledger, done.entry_id)
    assert entry(ledger, again.entry_id)[:1] == ("schedule",)
    # a closing: only its date (C received and refunded in full: nothing outstanding, no cash)
    pledge(ledger, "C", "AAA", "2020-01-10", "USD", {1: "100"})
    receipt(ledger, "R1", "C", "2020-02-01", "100")
    refund(ledger, "C", "2020-02-05", "100")
    closed = close(ledger, "C", "2020-05-01")
    done = correct(ledger, closed.entry_id, closed_on="2020-06-01")
    assert entry(ledger, done.reversal_id)[:2] == ("reversal", dt.date(2020, 5, 1))
    assert entry(ledger, done.entry_id)[:2] == ("pledge-close", dt.date(2020, 6, 1))
    assert queries.pledge_detail(ledger, "C").closed == (done.entry_id, dt.date(2020, 6, 1))
    assert services.verify_chain(ledger).ok


def test_a_pledge_re_planned_or_signed_later_cannot_be_corrected_the_message_names_the_events(usd_pledge):
    ledger = usd_pledge
    plan = services.schedule_pledge(ledger, ScheduleIn(pledge="P", reason="annex 1", instalments=[
        {"due_on": "2020-06-30", "amount": "400000"}]))
    moved = reallocate(ledger, "P", 1, 2, "100", "2020-03-01")
    before = table_counts(ledger)
    assert refused(correct, ledger, 1, donor="AAA") == (
        f"entry: pledge P has schedule P (entry {plan.entry_id}), reallocation of P (entry {moved.entry_id}): a pledge "
        "with events posted against it cannot be corrected (reverse those first)")
    assert "schedule P (entry 2)" in refused(services.reverse, ledger, _reversal(1))
    assert table_counts(ledger) == before
    # recorded signed after its pledge date: the announcement and the signing, two entries
    pledge(ledger, "S", "AAA", "2020-01-10", "USD", {1: "1000"}, stage="signed", signed_on="2020-02-01")
    announcement = _entry_of(ledger, "S", "pledge")
    signing = _entry_of(ledger, "S", stages.SIGNING)
    assert refused(correct, ledger, announcement, donor="AAA") == (
        f"entry: pledge S has signing S (entry {signing}): a pledge with events posted against it cannot be "
        "corrected (reverse those first)")


def _reversal(entry_id: int):
    from ledger.inputs import ReversalIn

    return ReversalIn(entry_id=entry_id, reason="wrong")


def _entry_of(ledger, reference: str, kind: str) -> int:
    with ledger.reading() as session:
        return session.execute(select(JournalEntry.id).where(JournalEntry.reference == reference,
                                                             JournalEntry.kind == kind)).scalar_one()


def test_correct_the_acts_on_the_command_line(usd_pledge, monkeypatch):
    ledger = usd_pledge
    monkeypatch.setenv("DONOR_LEDGER_DB", ledger.url)
    monkeypatch.setenv("DONOR_LEDGER_USER", "officer")
    moved = reallocate(ledger, "P", 1, "unearmarked", "100000", "2020-03-01")
    # --from and --to as for pledge reallocate (the model's --source and --target too)
    code, out, err = invoke_cli("correct", str(moved.entry_id), "--reason", "letter misread",
                                "--amount", "60000", "--to", "2")
    assert (code, err) == (0, ""), err
    assert out == f"entry {moved.entry_id} reversed by entry {moved.entry_id + 1}, corrected by entry {moved.entry_id + 2} (P)\n"
    assert allocations(ledger)[2] == (Decimal("160000.00"), Decimal("160000.00"))
    plan = services.schedule_pledge(ledger, ScheduleIn(pledge="P", reason="annex 1", instalments=[
        {"due_on": "2020-06-30", "amount": "400000"}]))
    code, out, err = invoke_cli("correct", str(plan.entry_id), "--reason", "two instalments",
                                "--instalment", "2020-06-30=150000", "--instalment", "2020-12-31=250000")
    assert (code, err) == (0, ""), err
    with ledger.reading() as session:
        assert schedules(session, [1])[1] == [(dt.date(2020, 6, 30), 15_000_000), (dt.date(2020, 12, 31), 25_000_000)]
