"""Bulk mode decides and books exactly as the normal mode: the same transfers through both, the same seed, the same
clock, compared row for row (statuses, reasons, times, ledger entries, callbacks' statuses, balances)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from disburse.sandbox.models import clear

from .conftest import PAYER, order

TRANSFERS = """SELECT id, reference_id, status, reason_code, reason_message, settled_at, returned_at, return_checked
               FROM sandbox.transfers ORDER BY id"""
#: The same clock for both runs, later than any transfer's arrival.
CLOCK = datetime(2030, 1, 1, tzinfo=UTC)
LEDGER = """SELECT transfer_id, reference_id, kind, account, direction, amount_vnd, booked_at
            FROM sandbox.ledger ORDER BY id"""


def _orders() -> list[list[Any]]:
    """Three batches, amounts of every tier, banks of several kinds, one reference sent twice."""
    amounts = (1_800_000, 2_100_000, 2_400_000, 2_650_000, 2_900_000, 3_300_000)
    banks = ("VCB", "BIDV", "ICB", "TCB")
    first = [
        order(f"NQ116-{i}-1", amounts[i % 6], bank_code=banks[i % 4], account=f"{1000000 + i:013d}")
        for i in range(1200)
    ]
    second = [order(f"NQ116-{i}-1", amounts[i % 6]) for i in range(1200, 1900)] + [first[5]]
    third = [order(f"NQ116-{i}-2", 3_300_000) for i in range(30)]
    return [first, second, third]


def _run(make_bank, make_provider, receiver, *, bulk: bool, limit: int | None) -> dict[str, Any]:
    bank = make_bank(failure_rate=0.3, return_rate=0.2, seed=11, bulk=bulk)
    clear(bank.sandbox.engine)
    provider = make_provider(bank)
    seen = len(receiver.received)
    for number, orders in enumerate(_orders(), start=1):
        assert provider.send(f"NQ116-B{number}", orders).accepted
    now, passes = CLOCK, 0
    for _ in range(100):  # one stopped clock for both modes: whatever the pass sizes, the same moments
        settled = bank.sandbox.settle_due(now, limit=limit)
        returned = bank.sandbox.return_due(now, limit=limit)
        delivered = 0
        while bank.sandbox.deliver_due(now, limit=50):
            delivered += 1
        passes += 1
        if not (settled or returned or delivered):
            break
    callbacks = receiver.wait_for(seen + 1)[seen:]
    statuses = Counter(
        (item["reference_id"], item["status"], item.get("status_reason_code"), item.get("amount"))
        for callback in callbacks
        for item in callback.json["message"]["disbursements_status"]
    )
    return {
        "transfers": [tuple(row) for row in bank.sql(TRANSFERS)],
        "ledger": [tuple(row) for row in bank.sql(LEDGER)],
        "callbacks": statuses,
        "balances": bank.sandbox.balances(),
        "passes": passes,
        "callback_count": len(callbacks),
    }


@pytest.mark.parametrize("bulk_limit", [None, 600])
def test_bulk_mode_moves_and_books_exactly_as_the_normal_mode(make_bank, make_provider, receiver, bulk_limit):
    normal = _run(make_bank, make_provider, receiver, bulk=False, limit=500)
    bulk = _run(make_bank, make_provider, receiver, bulk=True, limit=bulk_limit)

    assert bulk["transfers"] == normal["transfers"]
    # The same entries; their order interleaves settlements and returns pass by pass, so it follows the pass size.
    assert sorted(bulk["ledger"]) == sorted(normal["ledger"])
    assert bulk["callbacks"] == normal["callbacks"]
    assert bulk["balances"] == normal["balances"]

    # The scenario exercises what it claims: successes, each failure reason, returns, the duplicate refused.
    statuses = Counter((status, code) for _, _, status, code, *_ in normal["transfers"])
    assert statuses[("succ", None)] > 0 and statuses[("rjct", "rjct.returned")] > 0
    assert len({code for status, code in statuses if status == "rjct"}) == 5
    assert normal["callbacks"][("NQ116-5-1", "rjct", "rjct.reference_id.duplicate", None)] == 1
    settled = sum(1 for row in normal["ledger"] if row[2] == "settlement" and row[4] == "debit")
    assert settled == sum(1 for row in normal["transfers"] if row[5] is not None)
    assert normal["balances"][PAYER] < 0 and sum(normal["balances"].values()) == 0
    # Bulk mode took it in fewer passes and callbacks (one per batch per pass).
    if bulk_limit is None:
        assert bulk["callback_count"] < normal["callback_count"]


def test_bulk_mode_never_moves_a_reference_twice(make_bank, make_provider):
    bank = make_bank(bulk=True, seed=3, failure_rate=0.1)
    provider = make_provider(bank)
    orders = [order(f"R-{i}") for i in range(50)]
    provider.send("B-1", orders)
    now = datetime.now(UTC) + timedelta(seconds=5)
    assert bank.sandbox.settle_due(now) == 50
    provider.send("B-2", orders)  # the same references again: refused as duplicates, never taken
    assert bank.sandbox.settle_due(now) == 0
    debits = bank.sql(
        "SELECT reference_id, count(*) FROM sandbox.ledger WHERE account = :payer AND direction = 'debit' "
        "GROUP BY reference_id HAVING count(*) > 1",
        payer=PAYER,
    )
    assert debits == []
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 50


@pytest.mark.parametrize("bulk", [False, True])
def test_a_pass_starts_where_the_last_one_took_and_from_the_first_id_again_in_time(
    make_bank, make_provider, monkeypatch, bulk
):
    """Each pass walks the open transfers from the lowest id the last one took (the entries before it are settled
    ones the index still holds); a transfer left below that (one that came in later with a lower id) is taken when
    the walk starts from the first id again, ``WALK_RESET_S`` later; and at once when the ids start again."""
    from disburse.sandbox import bank as bank_module

    clock = [1_000.0]
    monkeypatch.setattr(bank_module, "monotonic", lambda: clock[0])
    bank = make_bank(bulk=bulk, seed=3)
    provider = make_provider(bank)
    provider.send("B-late", [order(f"L-{i}") for i in range(5)])  # the lower ids...
    provider.send("B-early", [order(f"E-{i}") for i in range(5)])
    now = datetime.now(UTC)
    with bank.sandbox.engine.begin() as conn:
        conn.execute(
            text("UPDATE sandbox.transfers SET received_at = :at WHERE reference_id LIKE 'L-%'"),
            {"at": now + timedelta(hours=1)},
        )
    assert bank.sandbox.settle_due(now + timedelta(minutes=1)) == 5  # ...came in later: not due yet
    later = now + timedelta(hours=2)
    assert bank.sandbox.settle_due(later) == 0  # below where the walk starts
    clock[0] += bank_module.WALK_RESET_S
    assert bank.sandbox.settle_due(later) == 5
    assert bank.sql("SELECT count(*) FROM sandbox.transfers WHERE status IN ('rcvd', 'pdng')")[0][0] == 0

    clear(bank.sandbox.engine)  # the ids start again from 1: taken at once, no wait for the clock
    provider.send("B-again", [order(f"A-{i}") for i in range(3)])
    assert bank.sandbox.settle_due(later) == 3
