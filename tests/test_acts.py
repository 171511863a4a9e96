"""Reallocations, refunds and closing a pledge (docs/rules.md#reallocations, #refunds,
#closing-a-pledge): worked examples with every number written out, and the refusals."""

from __future__ import annotations

from decimal import Decimal

from ledger import services

from .builders import (
    activity,
    cancel,
    close,
    disburse,
    donor,
    entry_count,
    funding_rows,
    lines_of,
    pledge,
    rate,
    reallocate,
    receipt,
    refund,
    refused,
    reverse,
)


def _brl(ledger):
    rate(ledger, "BRL", "2020-01-01", "3", through="2020-12")
    donor(ledger, "BRA", "Brazil")
    pledge(ledger, "Q", "BRA", "2020-01-10", "BRL", {1: "1000.00"})


def _pledged(ledger, as_of="2020-12-31"):
    rows = funding_rows(ledger, as_of)
    return {key: row.pledged for key, row in rows.items()}


def test_a_reallocation_moves_each_sides_carrying_value_and_may_add_a_cent(ledger):
    _brl(ledger)  # BRL 1,000.00 at 3 BRL per USD: USD 333.33 on paragraph 1
    assert _pledged(ledger)[1] == 33333
    posted = reallocate(ledger, "Q", "1", "2", "2.00", "2020-02-01")
    # paragraph 1: 998.00 / 3 = 332.666.. -> 332.67, a move of 0.66; paragraph 2 (created): 2.00 / 3 -> 0.67
    assert [(line["account"], line["flow"], line["amount_minor"], line["usd_cents"]) for line in lines_of(ledger, posted.entry_id)] == [
        ("4000", "realloc", 200, 66), ("1100", "realloc", -200, -66),
        ("1100", "realloc", 200, 67), ("4000", "realloc", -200, -67),
    ]
    assert posted.detail == "the roundings of the two carrying values raise the pledge's pledged USD by 0.01"
    pledged = _pledged(ledger)
    assert (pledged[1], pledged[2], pledged["totals"]) == (33267, 67, 33334)  # one cent above the promised 333.33
    # a receipt after it splits over the allocations as they are now: 998.00 : 2.00
    received = receipt(ledger, "R1", "Q", "2020-03-01", "500.00")
    lines = lines_of(ledger, received.entry_id)
    cash = {line["paragraph_id"]: (line["amount_minor"], line["usd_cents"]) for line in lines if line["account"] == "1000"}
    # 499.00 clears 332.67 - round(499.00 / 3 = 166.33) = 166.34; 1.00 clears 0.67 - 0.33 = 0.34
    assert sorted(cash.values()) == [(100, 34), (49900, 16634)]
    detail = services_detail(ledger, "Q")
    assert [(a.paragraph, a.amount, a.reallocated, a.outstanding) for a in detail.allocations] == [
        (1, Decimal("1000.00"), Decimal("-2.00"), Decimal("499.00")),
        (2, Decimal("0.00"), Decimal("2.00"), Decimal("1.00")),
    ]
    assert [(r.source, r.target, r.amount, r.pledged_change) for r in detail.reallocations] == [
        (1, 2, Decimal("2.00"), Decimal("0.01"))]
    assert detail.cancellations == []  # shown as reallocated, never as cancelled
    assert services.verify_chain(ledger).ok


def services_detail(ledger, reference):
    from ledger.queries import pledge_detail

    return pledge_detail(ledger, reference)


def test_a_reallocation_above_the_source_outstanding_is_refused_naming_both(ledger):
    _brl(ledger)
    receipt(ledger, "R1", "Q", "2020-03-01", "600.00")
    message = refused(reallocate, ledger, "Q", "1", "unearmarked", "400.01", "2020-04-01")
    assert message == "amount: cannot reallocate BRL 400.01: only BRL 400.00 is outstanding on paragraph 1 of pledge Q"
    message = refused(reallocate, ledger, "Q", "3", "1", "1.00", "2020-04-01")
    assert message == "source: pledge Q has no ¶3 allocation"


def test_reversing_a_reallocation_gives_back_the_figures_before_it(ledger):
    _brl(ledger)
    before = funding_rows(ledger, "2020-12-31")
    posted = reallocate(ledger, "Q", "1", "unearmarked", "2.00", "2020-02-01")
    reverse(ledger, posted.entry_id, "2020-02-02")
    after = funding_rows(ledger, "2020-12-31")
    assert {k: (r.pledged, r.outstanding) for k, r in after.items()} == {
        k: (r.pledged, r.outstanding) for k, r in before.items()}
    # the reallocated money received, the reversal would leave the target owing less than nothing
    posted = reallocate(ledger, "Q", "1", "unearmarked", "2.00", "2020-03-01")
    receipt(ledger, "R1", "Q", "2020-03-02", "1000.00")
    message = refused(reverse, ledger, posted.entry_id, "2020-03-03")
    assert message.startswith(f"entry: reversing reallocation of Q (entry {posted.entry_id}) on 2020-03-03 would leave "
                              "the unearmarked allocation of pledge Q with a negative outstanding amount (BRL -2.00)")


def _usd_pledge_with_spending(ledger):
    donor(ledger, "USA", "United States")
    activity(ledger, "A1", 1, "100000")
    pledge(ledger, "P", "USA", "2020-01-10", "USD", {1: "6000", None: "4000"})
    receipt(ledger, "R1", "P", "2020-02-01", "10000")
    disburse(ledger, "D1", "A1", "2020-03-01", "1000", pledge="P")  # 1,000.00 + PSC 130.00 from paragraph 1


def test_a_refund_is_split_pro_rata_to_available_cash_then_the_pledge_is_closed(ledger):
    _usd_pledge_with_spending(ledger)
    # available: paragraph 1 4,870.00 (6,000 - 1,000 - 130), unearmarked 4,000.00
    # 1,000.00 * 4,870 / 8,870 = 549.0417 and * 4,000 / 8,870 = 450.9583: the odd cent to the larger remainder
    posted = refund(ledger, "P", "2020-04-01", "1000")
    lines = lines_of(ledger, posted.entry_id)
    assert [(line["account"], line["flow"], line["usd_cents"]) for line in lines] == [
        ("4000", "refund", 54904), ("1000", "refund", -54904), ("4000", "refund", 45096), ("1000", "refund", -45096)]
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[1].pledged, rows[1].received, rows[1].refunded, rows[1].available) == (545096, 600000, 54904, 432096)
    assert (rows[None].pledged, rows[None].refunded, rows[None].available) == (354904, 45096, 354904)
    assert rows["totals"].fx_difference == 0  # received - refunded + outstanding - pledged
    # closing refused while cash remains, naming the allocation, the cash and the date
    message = refused(close, ledger, "P", "2020-05-01")
    assert message == ("pledge: cannot close pledge P: USD 4,320.96 cash on paragraph 1 on 2020-05-01; "
                       "spend or refund it first")
    message = refused(refund, ledger, "P", "2020-05-01", "7870.01")
    assert message == "amount: refund of USD 7,870.01 exceeds the USD 7,870.00 available on pledge P on 2020-05-01"
    refund(ledger, "P", "2020-05-01", "7870.00")
    closing = close(ledger, "P", "2020-05-02")
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows["totals"].pledged, rows["totals"].refunded, rows["totals"].available) == (113000, 887000, 0)
    # a closed pledge takes no further entry, reversals included, until the closing is reversed
    closed = (f"pledge P was closed on 2020-05-02 (entry {closing.entry_id}) and takes no further entry; "
              f"reverse the closing first (donor-ledger reverse {closing.entry_id})")
    assert refused(reverse, ledger, posted.entry_id, "2020-06-01") == f"entry: {closed}"
    assert refused(disburse, ledger, "D2", "A1", "2020-06-01", "1", pledge="P") == f"pledge: {closed}"
    reverse(ledger, closing.entry_id, "2020-06-01")
    reverse(ledger, posted.entry_id, "2020-06-01")  # reopened: the first refund comes back
    assert funding_rows(ledger, "2020-12-31")["totals"].refunded == 787000
    assert services.verify_chain(ledger).ok


def test_a_refund_from_one_allocation_is_limited_by_its_cash(ledger):
    _usd_pledge_with_spending(ledger)
    message = refused(refund, ledger, "P", "2020-04-01", "4870.01", paragraph=1)
    assert message == ("amount: refund of USD 4,870.01 from the ¶1 allocation of pledge P exceeds the USD 4,870.00 "
                       "of cash it holds from 2020-04-01 on")
    refund(ledger, "P", "2020-04-01", "4000", unearmarked=True)
    rows = funding_rows(ledger, "2020-12-31")
    assert (rows[None].pledged, rows[None].available) == (0, 0)


def test_a_refund_worth_less_than_a_cent_is_refused_and_writes_nothing(ledger):
    """BRL 0.01 at 3 BRL per USD is USD 0.0033..., rounded to 0.00: there is no USD to pay back or to
    split over the allocations' cash (it raised ValueError on a pledge without cash; it posted a
    USD 0.00 refund from a named allocation). BRL 0.02 is USD 0.0066... -> 0.01 and is refunded."""
    _brl(ledger)
    worth_nothing = "amount: a refund of BRL 0.01 is worth less than one US cent"
    before = entry_count(ledger)
    assert refused(refund, ledger, "Q", "2020-02-01", "0.01") == worth_nothing  # no cash at all
    receipt(ledger, "R1", "Q", "2020-03-01", "600.00")
    before = entry_count(ledger)
    assert refused(refund, ledger, "Q", "2020-04-01", "0.01") == worth_nothing
    assert refused(refund, ledger, "Q", "2020-04-01", "0.01", paragraph=1) == worth_nothing
    assert entry_count(ledger) == before
    refund(ledger, "Q", "2020-04-01", "0.02")
    assert funding_rows(ledger, "2020-12-31")[1].refunded == 1


def test_closing_is_refused_while_money_is_outstanding(ledger):
    _brl(ledger)
    receipt(ledger, "R1", "Q", "2020-03-01", "600.00")
    assert refused(close, ledger, "Q", "2020-04-01") == (
        "pledge: cannot close pledge Q: BRL 400.00 is outstanding on paragraph 1; cancel or reallocate it first")
    cancel(ledger, "Q", "2020-04-01", "400.00")
    refund(ledger, "Q", "2020-04-02", "600.00")
    close(ledger, "Q", "2020-04-03")
    assert refused(receipt, ledger, "R2", "Q", "2020-04-04", "1.00").startswith("pledge: pledge Q was closed on 2020-04-03")


def test_the_commands_reallocate_refund_and_close(ledger, db_url):
    from .builders import run_cli, worked_example

    worked_example(ledger)  # P1: NOK ¶1 1,000,000.00 / unearmarked 500,000.00 at 5.80, NOK 750,000.00 received
    user = ("--db", db_url, "--user", "officer")
    code, out, err = run_cli(*user, "pledge", "reallocate", "P1", "--from", "1", "--to", "2", "--amount", "1000.00",
                             "--on", "2012-01-02", "--consent", "letter of 2011-12-20")
    # ¶1: 499,000.00 / 5.80 = 86,034.48 (a move of 172.42); ¶2: 1,000.00 / 5.80 = 172.41
    assert (code, out.strip()) == (0, "reallocated on P1: entry 6; the roundings of the two carrying values lower "
                                      "the pledge's pledged USD by 0.01")
    code, out, err = run_cli(*user, "refund", "P2", "--amount", "1000", "--on", "2012-01-03", "--reason", "unspent",
                             "--paragraph", "4")
    assert (code, out.strip()) == (0, "refunded on P2: entry 7, USD 1,000.00")
    code, out, err = run_cli(*user, "pledge", "close", "P2", "--on", "2012-01-04")
    assert code == 1 and "Traceback" not in err
    assert err.strip() == ("error: pledge: cannot close pledge P2: USD 150,000.00 is outstanding on paragraph 4; "
                           "cancel or reallocate it first")
    code, out, err = run_cli(*user, "refund", "P2", "--amount", "1", "--on", "2012-01-03", "--reason", "x",
                             "--paragraph", "4", "--unearmarked")
    assert code == 2 and "give --paragraph N or --unearmarked, not both" in err
    rows = funding_rows(ledger, "2016-12-31")
    assert (rows[2].pledged, rows[4].refunded, rows[4].pledged) == (17241, 100000, 24900000)


def test_closing_an_announced_pledge_is_refused(ledger):
    _brl(ledger)
    pledge(ledger, "A", "BRA", "2020-01-10", "BRL", {1: "100.00"}, stage="announced")
    assert refused(close, ledger, "A", "2020-02-01") == (
        "pledge: pledge A is announced, not signed: withdraw it instead "
        "(donor-ledger pledge withdraw A --on DATE --reason TEXT)")
    assert refused(refund, ledger, "A", "2020-02-01", "1.00").startswith("pledge: pledge A is announced, not signed")
