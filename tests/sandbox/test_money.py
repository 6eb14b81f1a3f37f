"""Money moves once per reference; failures with their reasons; returns; the statement; the ledger's guards."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy.exc

from disburse.payments.providers import ProviderStatus
from disburse.sandbox.bank import FAILURES, RETURNED
from disburse.sandbox.models import clear

from .conftest import PAYER, TOKEN, order


def _debits(bank) -> dict[str, int]:
    """Settlement debits of our account, per reference: the proof that nothing moved twice."""
    rows = bank.sql(
        "SELECT reference_id, count(*) FROM sandbox.ledger WHERE account = :payer AND kind = 'settlement' "
        "AND direction = 'debit' GROUP BY reference_id",
        payer=PAYER,
    )
    return dict(rows)


def test_the_same_reference_sent_again_is_never_moved_again(bank, make_provider, receiver):
    provider = make_provider(bank)
    batch = [order("R-1", 2_100_000), order("R-2", 3_300_000)]
    assert provider.send("B-1", batch).accepted
    bank.tick()
    first = receiver.wait_for(1)[0]
    assert {u.status for u in provider.parse_event(first.body, first.headers)} == {ProviderStatus.PAID}

    # The batch sent again (our retry after a timeout, say), with a new reference beside the old ones.
    again = provider.send("B-1", [*batch, order("R-3", 1_800_000)])
    assert again.accepted and again.correlation_id
    bank.tick()
    callbacks = receiver.wait_for(3)
    reasons = {
        item["reference_id"]: item.get("status_reason_code")
        for cb in callbacks[1:]
        for item in cb.json["message"]["disbursements_status"]
    }
    assert reasons == {"R-1": "rjct.reference_id.duplicate", "R-2": "rjct.reference_id.duplicate", "R-3": None}
    # Our side reads a duplicate as what the bank says of the reference itself: paid, not rejected.
    duplicate = next(cb for cb in callbacks[1:] if "duplicate" in cb.body.decode())
    updates = provider.parse_event(duplicate.body, duplicate.headers)
    assert {(u.reference, u.status) for u in updates} == {("R-1", ProviderStatus.PAID), ("R-2", ProviderStatus.PAID)}
    assert {u.event_id for u in updates} == {duplicate.headers["webhook-id"]}

    assert _debits(bank) == {"R-1": 1, "R-2": 1, "R-3": 1}
    assert bank.sandbox.balances()[PAYER] == -(2_100_000 + 3_300_000 + 1_800_000)


def test_a_reference_twice_in_one_message_moves_once(bank, make_provider):
    provider = make_provider(bank)
    assert provider.send("B-2", [order("R-1", 2_100_000), order("R-1", 9_999_000)]).accepted
    bank.tick()
    assert _debits(bank) == {"R-1": 1}
    assert bank.sandbox.balances()[PAYER] == -2_100_000


def test_the_same_batch_sent_concurrently_moves_money_once(bank, make_provider):
    providers = [make_provider(bank) for _ in range(4)]
    batch = [order(f"R-{i}", 1_000_000 + i) for i in range(50)]
    start = threading.Barrier(len(providers))
    acks = []

    def send(provider):
        start.wait()
        acks.append(provider.send("B-3", batch))

    threads = [threading.Thread(target=send, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(acks) == 4 and all(a.accepted for a in acks)
    assert bank.sql("SELECT count(*) FROM sandbox.transfers")[0][0] == 50
    bank.tick()
    bank.tick()
    assert _debits(bank) == {f"R-{i}": 1 for i in range(50)}
    assert bank.sandbox.balances()[PAYER] == -sum(o.amount_vnd for o in batch)
    # Three of the four senders were told, by callback, that every reference was a duplicate.
    duplicates = bank.sql("SELECT count(*) FROM sandbox.callbacks WHERE body LIKE '%reference_id.duplicate%'")
    assert duplicates[0][0] == 3


def test_failures_carry_each_realistic_reason_and_move_nothing(make_bank, make_provider, receiver):
    bank = make_bank(failure_rate=1.0, seed=7)
    provider = make_provider(bank)
    provider.send("B-4", [order(f"R-{i}") for i in range(40)])
    bank.tick()
    [callback] = receiver.wait_for(1)
    updates = provider.parse_event(callback.body, callback.headers)
    assert {u.status for u in updates} == {ProviderStatus.REJECTED}
    assert {u.reason_code for u in updates} == {code for code, _ in FAILURES}
    assert all(u.reason_message for u in updates)
    assert bank.sql("SELECT count(*) FROM sandbox.ledger")[0][0] == 0
    assert {u.status for u in provider.status([u.reference for u in updates])} == {ProviderStatus.REJECTED}


def test_a_seed_decides_the_same_way_every_time(make_bank, make_provider):
    outcomes = []
    for _ in range(2):
        bank = make_bank(failure_rate=0.5, seed=42)
        clear(bank.sandbox.engine)
        provider = make_provider(bank)
        provider.send("B-5", [order(f"R-{i}") for i in range(20)])
        bank.sandbox.settle_due()
        outcomes.append([u.status for u in provider.status([f"R-{i}" for i in range(20)])])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {ProviderStatus.PAID, ProviderStatus.REJECTED}


def test_returns_reverse_the_ledger_and_are_reported_returned(make_bank, make_provider, receiver):
    bank = make_bank(return_rate=1.0)
    provider = make_provider(bank)
    provider.send("B-6", [order("R-1", 2_100_000), order("R-2", 3_300_000)])
    bank.sandbox.settle_due()
    assert bank.sandbox.return_due() == 2
    assert bank.sandbox.return_due() == 0  # considered once, never returned twice
    bank.sandbox.deliver_due()
    paid, returned = receiver.wait_for(2)
    assert {u.status for u in provider.parse_event(paid.body, paid.headers)} == {ProviderStatus.PAID}
    updates = provider.parse_event(returned.body, returned.headers)
    assert {(u.reference, u.status, u.reason_code) for u in updates} == {
        ("R-1", ProviderStatus.RETURNED, RETURNED),
        ("R-2", ProviderStatus.RETURNED, RETURNED),
    }
    assert [u.status for u in provider.status(["R-1"])] == [ProviderStatus.RETURNED]
    assert all(balance == 0 for balance in bank.sandbox.balances().values())


def test_the_statement_lists_exactly_the_settled_and_returned_transfers(make_bank, make_provider):
    bank = make_bank(failure_rate=0.4, return_rate=0.3, seed=3)
    provider = make_provider(bank)
    orders = [order(f"R-{i}", 1_000_000 + i * 1000) for i in range(30)]
    provider.send("B-7", orders)
    bank.sandbox.settle_due()
    bank.sandbox.return_due()
    statuses = {u.reference: u for u in provider.status([o.reference for o in orders])}
    settled = {r for r, u in statuses.items() if u.status in (ProviderStatus.PAID, ProviderStatus.RETURNED)}
    returned = {r for r, u in statuses.items() if u.status is ProviderStatus.RETURNED}
    assert settled and returned and len(settled) < 30

    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    answer = httpx.get(f"{bank.url}/statement", params={"date": today}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    statement = answer.json()
    entries = statement["entries"]
    assert {e["reference_id"] for e in entries if e["type"] == "settlement"} == settled
    assert {e["reference_id"] for e in entries if e["type"] == "return"} == returned
    amounts = {o.reference: o.amount_vnd for o in orders}
    assert all(int(e["amount"]) == amounts[e["reference_id"]] for e in entries)
    assert int(statement["totals"]["settled"]) == sum(amounts[r] for r in settled)
    assert int(statement["totals"]["net_debit"]) == sum(amounts[r] for r in settled - returned)

    other_day = httpx.get(
        f"{bank.url}/statement", params={"date": "2021-07-01"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert other_day.json()["entries"] == []
    for wrong in ("01/07/2021", "9999-12-31", "0001-01-01"):
        bad = httpx.get(f"{bank.url}/statement", params={"date": wrong}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid"


def test_the_database_refuses_a_second_booking_and_any_change_to_the_ledger(bank, make_provider):
    provider = make_provider(bank)
    provider.send("B-8", [order("R-1")])
    bank.sandbox.settle_due()
    with pytest.raises(sqlalchemy.exc.IntegrityError), bank.sandbox.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sandbox.ledger (transfer_id, reference_id, kind, account, direction, amount_vnd, booked_at) "
            "SELECT transfer_id, reference_id, kind, account, direction, amount_vnd, now() FROM sandbox.ledger LIMIT 1"
        )
    # replica: how the bulk mode books, its per-row foreign-key checks skipped; the guard fires all the same.
    for role, statement in itertools.product(
        ("origin", "replica"), ("UPDATE sandbox.ledger SET amount_vnd = 1", "DELETE FROM sandbox.ledger")
    ):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), bank.sandbox.engine.begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL session_replication_role = {role}")
            conn.exec_driver_sql(statement)
    with pytest.raises(sqlalchemy.exc.IntegrityError), bank.sandbox.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO sandbox.transfers (batch_id, reference_id, payer_fa, payee_fa, payee_name, amount_vnd,"
            " currency_code, status, received_at) SELECT batch_id, reference_id, payer_fa, payee_fa, payee_name,"
            " amount_vnd, currency_code, 'rcvd', now() FROM sandbox.transfers LIMIT 1"
        )


def test_a_batch_of_ten_thousand_is_taken_whole(bank, make_provider):
    """10,000 transfers are more parameters than one PostgreSQL statement takes: the bank inserts them in parts."""
    provider = make_provider(bank)
    orders = [order(f"R-{i:05d}", 1_000_000 + i) for i in range(10_000)]
    assert provider.send("B-big", orders).accepted
    assert provider.send("B-big", orders[:3]).accepted  # duplicates, still never moved twice
    assert bank.sql("SELECT count(*), sum(amount_vnd) FROM sandbox.transfers")[0] == (
        10_000,
        sum(o.amount_vnd for o in orders),
    )


def test_the_return_pass_reads_its_partial_index(bank):
    """The return pass's read is served by ``ix_transfers_return_due`` (its condition implies the index's predicate),
    never by a walk of every transfer the bank took."""
    from datetime import UTC

    from sqlalchemy.dialects import postgresql

    from disburse.sandbox.bank import returns_due

    query = returns_due(datetime(2030, 1, 1, tzinfo=UTC), 0, 10_000)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with bank.sandbox.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_transfers_return_due" in plan, plan
